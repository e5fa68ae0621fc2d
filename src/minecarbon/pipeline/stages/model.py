"""Stage `model`: training table, feature selection, learners compared per forest type, saved models.

Reads the plot AGC (stage ``plots``) and the yearly feature stacks (stage
``features``); the forest type of a plot is the plot sheet's ``forest_type``
where given, else the forest-type map of its survey year at the plot centre.
Writes the training table, the excluded plots, the feature-selection report,
the comparison of every learner (pooled and per type), the model card (JSON),
a residual plot (PNG) and the chosen models (skops + manifest).  Methods:
``docs/model.md`` and :mod:`minecarbon.model`.
"""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pandas as pd

from ... import model
from ...config import ModelConfig, ProjectConfig
from ...io import open_raster, read_table, write_table
from ...io.atomic import atomic_path, atomic_write_text
from ...model import temporal
from ...model.calibration import InverseCalibration, cross_calibrate, year_factors
from ...model.learners import LEARNERS
from ...model.per_type import FitOptions, ModelSet
from ...model.persist import json_default
from ..core import Context, Output, Stage
from ._common import forest_type_year, group_nonforest, group_pattern, group_upstream
from ._stand_state import RECLAIMED, plot_groups

log = logging.getLogger(__name__)


def fit_options(m: ModelConfig, nonforest: int | None = None) -> FitOptions:
    """The library options of a ``[model]`` section (``nonforest``: code that never gets its own model)."""
    from ...model.learners import DEFAULT_GRIDS

    grids = {k: dict(v) for k, v in DEFAULT_GRIDS.items()}
    grids.update({k: dict(v) for k, v in m.grids.items()})
    return FitOptions(learners=tuple(m.learner_list), selection=m.selection, max_collinearity=m.max_collinearity,
                      min_abs_r=m.min_abs_r, max_features=m.max_features, pca_variance=m.pca_variance,
                      grid_search=m.grid_search, grids=grids, folds=m.cv_folds, repeats=m.cv_repeats,
                      inner_folds=m.cv_inner_folds, n_estimators=m.n_estimators, seed=m.seed, per_type=m.per_type,
                      min_plots_per_type=m.min_plots_per_type, own_margin_se=m.own_model_margin_se, n_jobs=m.n_jobs,
                      pooled_types=() if nonforest is None or m.nonforest_in_units == "own" else (int(nonforest),))


def type_names(cfg: ProjectConfig) -> dict[int, str]:
    """Group code -> name: forest types (``[forest_type_codes]``) or, with ``[model].groups = "species"``, the
    species of ``[classify].species_codes`` (Latin names; 0 non-forest)."""
    if cfg.model.groups == "species":
        from ...inputs.samples import species_table

        tab, _ = species_table(cfg)
        names = {int(r["code"]): str(r.get("name_latin", r["code"])) for r in tab.to_dict("records")}
        return {0: "nonforest", **names}
    return {int(v): k for k, v in cfg.forest_type_codes.model_dump().items()}


def _map_types(cfg: ProjectConfig, tab: pd.DataFrame) -> np.ndarray:
    """Forest type of each plot from the forest-type map of its survey year (NaN off the map)."""
    out = np.full(len(tab), np.nan)
    for year, idx in tab.groupby("survey_year").groups.items():
        y = forest_type_year(cfg, int(year)) if cfg.model.groups != "species" else int(year)
        ft = open_raster(cfg.year_path(group_pattern(cfg), y), what=f"forest-type map {y}", chunks=None,
                         masked=False).isel(band=0)
        sub = tab.loc[idx]
        vals = ft.sel(x=xr_index(sub["x"]), y=xr_index(sub["y"]), method="nearest").values
        l, b, r, t = ft.rio.bounds()
        inside = (sub["x"].between(l, r) & sub["y"].between(b, t)).to_numpy()
        pos = tab.index.get_indexer(idx)
        out[pos] = np.where(inside, np.asarray(vals, dtype=float), np.nan)
    return out


def xr_index(s: pd.Series):
    import xarray as xr

    return xr.DataArray(s.to_numpy(float), dims="plot")


def plot_types(cfg: ProjectConfig, tab: pd.DataFrame) -> np.ndarray:
    """Forest-type code per plot: the plot sheet's where given, else the map's (see module docstring)."""
    have = pd.to_numeric(tab["forest_type"], errors="coerce").to_numpy(float) \
        if "forest_type" in tab and cfg.model.groups != "species" else np.full(len(tab), np.nan)
    if np.isnan(have).any() and len(tab):
        have = np.where(np.isnan(have), _map_types(cfg, tab), have)
    return have


def _codes_object(types: np.ndarray) -> np.ndarray:
    return np.array([None if not np.isfinite(t) else int(t) for t in types], dtype=object)


def build_card(ms: ModelSet, y: np.ndarray, names_by_code: dict[int, str], cfg: ProjectConfig, n_groups: int,
               interval: model.ResidualIntervalModel | None, n_excluded: int, pca: dict) -> dict:
    """The model card (JSON): data, features, learners, hyper-parameters, CV and training metrics per type."""
    m = cfg.model
    best = ms.pooled[ms.pooled_best]
    scheme = (f"spatial blocks of {m.cv_block_m:g} m (plots closer than {m.cv_link_m:g} m share a fold; "
              f"{n_groups} groups)" if m.cv_scheme == "spatial" else "random (plain shuffled k-fold)")
    scheme += f", {m.cv_folds}-fold, {m.cv_repeats} repeat(s)"
    scheme += f", nested {m.cv_inner_folds}-fold grid search" if m.grid_search else ", no grid search"
    types = []
    for code, ch in sorted(ms.choices.items(), key=lambda kv: kv[0]):
        fit = ms.own[code][ch.learner] if ch.source == "own" else ms.pooled[ch.learner]
        types.append({
            "code": code, "name": names_by_code.get(code, str(code)), "n_plots": ch.n_plots,
            "source": ch.source, "model_key": ch.model_key, "learner": ch.learner,
            "learner_about": LEARNERS[ch.learner], "reason": ch.reason,
            "hyper_parameters": {k.removeprefix("learner__"): v for k, v in fit.params.items()},
            "features_used": fit.features, "cv_metrics": ch.cv_metrics,
            "cv_metrics_with_selection": model.metrics(y[ms.plot_codes == code], ms.oof[ms.plot_codes == code]),
            "training_metrics": ch.training_metrics,
            "cv_metrics_sd_over_repeats": fit.cv.metrics_sd if ch.source == "own" else {},
        })
    if types and any(t["source"] == "own" or t["learner"] != ms.pooled_best for t in types):
        summary = "; ".join(f"{t['name']}: {t['learner']} ({t['source']})" for t in types)
        learner = f"per forest type, by cross-validated RMSE - {summary}; other types: pooled {ms.pooled_best}"
    else:
        learner = f"pooled {ms.pooled_best} for every forest type: {LEARNERS[ms.pooled_best]}"
    card = {
        "learner": learner,
        "hyper_parameters": {k.removeprefix("learner__"): v for k, v in best.params.items()},
        "features": ms.feature_names,
        "n_plots": len(y),
        "n_excluded_plots": int(n_excluded),
        "target": "agc_t_ha (t C/ha)",
        "cv": {"folds": m.cv_folds, "repeats": m.cv_repeats, "inner_folds": m.cv_inner_folds,
               "scheme": scheme, "n_groups": n_groups, "seed": m.seed},
        "cv_metrics": model.metrics(y, ms.oof),
        "training_metrics": model.metrics(y, ms.fitted),
        "note": ("cv_metrics: each plot predicted by a model that never saw it, hyper-parameters tuned in inner "
                 "folds, and the learner / own-or-pooled choice for its type made without it (the honest estimate "
                 "of the whole procedure). Per type, cv_metrics is the chosen model's own CV score, optimistic "
                 "because it won a comparison on those very scores; cv_metrics_with_selection is the honest one. "
                 "Training metrics are the most optimistic."),
        "selection": {"method": m.selection, "max_collinearity": m.max_collinearity, "pca": pca,
                      "applied": "inside every cross-validation fold"},
        "pooled": {"learner": ms.pooled_best, "learner_about": LEARNERS[ms.pooled_best],
                   "hyper_parameters": {k.removeprefix("learner__"): v for k, v in best.params.items()},
                   "features_used": best.features, "cv_metrics": best.cv.metrics,
                   "cv_metrics_sd_over_repeats": best.cv.metrics_sd, "tuned_metrics": best.tuned_metrics,
                   "training_metrics": best.training_metrics},
        "learners": {L: {"about": LEARNERS[L], "cv_metrics": f.cv.metrics, "tuned_metrics": f.tuned_metrics,
                         "training_metrics": f.training_metrics,
                         "hyper_parameters": {k.removeprefix("learner__"): v for k, v in f.params.items()}}
                     for L, f in ms.pooled.items()},
        "types": types,
        "uncertainty": None if interval is None else {
            "method": "cv_residual", "level": interval.level, "parameters": interval.to_dict(),
            "about": "interval = prediction + [q_lo, q_hi] x max(a + b x prediction, sigma_min); see docs/model.md"},
        "model_file": "agc_models.skops",
    }
    return card


def residual_plot(path, tab: pd.DataFrame, names_by_code: dict[int, str], interval) -> None:
    """Observed vs cross-validated prediction, and residuals vs prediction, coloured by forest type (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 4.0))
    obs, pred = tab["agc_t_ha"].to_numpy(float), tab["agc_cv_pred_t_ha"].to_numpy(float)
    codes = tab["forest_type"].to_numpy()
    for code in pd.unique(codes):
        missing = pd.isna(code)
        sel = pd.isna(codes) if missing else codes == code
        lab = "unknown" if missing else names_by_code.get(int(code), str(code))
        axes[0].scatter(obs[sel], pred[sel], s=14, label=lab)
        axes[1].scatter(pred[sel], obs[sel] - pred[sel], s=14, label=lab)
    hi = float(np.nanmax([obs.max(), pred.max()])) * 1.05 if len(obs) else 1.0
    axes[0].plot([0, hi], [0, hi], "k--", linewidth=0.8)
    axes[0].set_xlabel("plot AGC (t C/ha)")
    axes[0].set_ylabel("cross-validated prediction (t C/ha)")
    axes[0].set_title("observed vs cross-validated", fontsize=10)
    axes[0].legend(fontsize=7)
    axes[1].axhline(0, color="k", linewidth=0.8)
    if interval is not None and len(pred):
        grid = np.linspace(0, max(float(np.nanmax(pred)), 1.0), 50)
        sig = interval.scale(grid)
        axes[1].fill_between(grid, interval.q_lo * sig, interval.q_hi * sig, color="0.85", zorder=0,
                             label=f"{interval.level:.0%} interval")
    axes[1].set_xlabel("cross-validated prediction (t C/ha)")
    axes[1].set_ylabel("residual: observed - predicted (t C/ha)")
    axes[1].set_title("residuals", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)


def _run_model(ctx: Context) -> None:
    cfg = ctx.cfg
    m = cfg.model
    plots = read_table(ctx.out("plots", stage="plots"), required=("plot_id", "x", "y", "survey_year", "size_m",
                                                                  "agc_t_ha"), what="plot AGC table")
    plots["plot_id"] = plots["plot_id"].astype(str)
    years = sorted({int(v) for v in pd.to_numeric(plots["survey_year"], errors="coerce").dropna()})
    stacks = {}
    for yr in years:
        p = ctx.out("stack", year=yr, stage="features")
        if p.exists():
            stacks[yr] = open_raster(p, what=f"feature stack {yr}", chunks=cfg.run.chunk_px)
    tab, excluded, names = model.training_table(plots, stacks, what=str(ctx.out("plots", stage="plots")))
    if len(excluded):
        log.warning("%d plot(s) excluded from training (see excluded_plots.csv): %s", len(excluded),
                    ", ".join(f"{r.plot_id} ({r.reason})" for r in excluded.itertuples()))
    model.check_training_data(tab["agc_t_ha"].to_numpy(float), m.cv_folds)
    X = tab[names].to_numpy(dtype=float)
    y = tab["agc_t_ha"].to_numpy(dtype=float)
    tab["forest_type"] = plot_types(cfg, tab)
    fit_types = tab["forest_type"].to_numpy(float)
    if m.nonforest_in_units == "own" and len(tab):  # reclaimed young stands: the pooled model (_stand_state)
        crs = next(iter(stacks.values())).rio.crs if stacks else None
        fit_types = plot_groups(cfg, tab, fit_types, group_nonforest(cfg), crs)
        fit_types = np.where(fit_types == RECLAIMED, np.nan, fit_types)
    codes = _codes_object(fit_types)
    groups = model.spatial_groups(tab["x"].to_numpy(float), tab["y"].to_numpy(float), m.cv_block_m, m.cv_link_m) \
        if m.cv_scheme == "spatial" else None
    tab["cv_group"] = groups if groups is not None else np.arange(len(tab))
    names_by_code = type_names(cfg)
    ctx.progress("feature selection report")
    sel_table, pca = model.selection_report(X, y, names, max_collinearity=m.max_collinearity, seed=m.seed,
                                            n_estimators=m.n_estimators, pca_variance=m.pca_variance)
    ctx.progress("cross-validating learners")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", model.PooledFallbackWarning)
        ms = model.fit_model_set(X, y, names, codes, groups, fit_options(m, group_nonforest(cfg)),
                                 type_names=names_by_code)
    for w in caught:  # into the run log (and the terminal) once
        if issubclass(w.category, model.PooledFallbackWarning):
            log.warning("%s", w.message)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    cal = InverseCalibration.fit(y, ms.oof) if m.calibration == "inverse" else \
        InverseCalibration(reason="[model].calibration = \"none\"")
    if m.calibration == "inverse" and not cal.applied:
        log.warning("inverse calibration not applied: %s", cal.reason)
    oof_cal = cross_calibrate(y, ms.oof, groups) if cal.applied else np.clip(ms.oof, 0, None)
    interval = model.ResidualIntervalModel.fit(oof_cal, y, m.interval) if m.uncertainty == "cv_residual" else None
    tab["model"] = [ms.choices[c].model_key if c in ms.choices else model.POOLED for c in codes]
    tab["agc_cv_pred_t_ha"] = ms.oof
    tab["agc_cv_residual_t_ha"] = y - ms.oof
    tab["agc_cv_pred_chosen_t_ha"] = ms.oof_chosen
    tab["agc_cv_pred_calibrated_t_ha"] = oof_cal
    tab["agc_fit_t_ha"] = ms.fitted
    if interval is not None:
        _, lo, hi = interval.predict(oof_cal)
        tab["agc_cv_lo_t_ha"], tab["agc_cv_hi_t_ha"] = lo, hi
    factors = year_factors(tab["survey_year"].to_numpy(int), y, cal.apply(np.clip(ms.fitted, 0, None))) \
        if m.year_adjustment == "ratio" else {}
    ctx.progress("temporal validation")
    temporal = _temporal_validation(ctx, tab, X, y, ms, cal, oof_cal, factors)
    ctx.produced(write_table(tab, ctx.out("training")))
    ctx.produced(write_table(excluded, ctx.out("excluded")))
    ctx.produced(write_table(sel_table, ctx.out("selection")))
    ctx.produced(write_table(ms.comparison, ctx.out("comparison")))
    n_groups = int(np.unique(tab["cv_group"]).size)
    card = build_card(ms, y, names_by_code, cfg, n_groups, interval, len(excluded), pca)
    card["calibration"] = {**cal.to_dict(), "method": m.calibration,
                           "about": "map = max((prediction - a) / b, 0), a and b from the out-of-fold predictions "
                                    "regressed on plot AGC; see docs/model.md"}
    card["cv_metrics_calibrated"] = model.metrics(y, oof_cal)
    card["year_adjustment"] = {"method": m.year_adjustment, "factors": {str(k): v for k, v in factors.items()},
                               "about": "each survey year's map x (plot AGC sum / map AGC sum at that year's plots); "
                                        "interpolated between survey years; see docs/model.md"}
    card["temporal_validation"] = temporal
    residual_plot(ctx.out("residuals"), tab, names_by_code, interval)
    ctx.produced(ctx.out("residuals"))
    info = {"type_models": {str(c): ch.model_key for c, ch in ms.choices.items()},
            "type_learners": {str(c): ch.learner for c, ch in ms.choices.items()},
            "pooled_learner": ms.pooled_best, "target": "agc_t_ha",
            "interval": None if interval is None else interval.to_dict(), "calibration": cal.to_dict(),
            "year_factors": {str(k): v for k, v in factors.items()},
            "forest_type_codes": cfg.forest_type_codes.model_dump()}
    mpath, manpath = model.save_models(ctx.out("models"), ms.models, names, info)
    ctx.produced(mpath)
    ctx.produced(manpath)
    card["model_sha256"] = json.loads(manpath.read_text(encoding="utf-8"))["sha256"]
    ctx.produced(atomic_write_text(ctx.out("card"), json.dumps(card, indent=2, ensure_ascii=False,
                                                               default=json_default)))


def _temporal_validation(ctx: Context, tab: pd.DataFrame, X: np.ndarray, y: np.ndarray, ms: ModelSet,
                         cal: InverseCalibration, oof_cal: np.ndarray, factors: dict[int, float]) -> dict:
    """Re-measured plots (observed vs predicted change) and leave-one-survey-year-out CV; writes both tables and
    returns their summary for the model card."""
    pairs = temporal.remeasured_pairs(tab, oof_cal)
    summary = temporal.remeasured_summary(pairs)
    ctx.produced(write_table(pairs, ctx.out("remeasured")))
    years = tab["survey_year"].to_numpy(int)

    def post(train: np.ndarray, p: np.ndarray) -> np.ndarray:
        return InverseCalibration.fit(y[train], ms.oof[train]).apply(p) if cal.applied else p

    lyo_pred, lyo = temporal.leave_year_out(ms.models[model.POOLED], X, y, years, post)
    per_year = pd.DataFrame([{"survey_year": int(yr), "n": int((years == yr).sum()),
                              **{k: v for k, v in model.metrics(y[years == yr], oof_cal[years == yr]).items()
                                 if k in ("r2", "rmse", "bias")}} for yr in np.unique(years)])
    both = per_year.merge(lyo, on=["survey_year", "n"], how="left", suffixes=("_cv", "_leave_year_out"))
    both["map_ratio_factor"] = both["survey_year"].map(factors)
    ctx.produced(write_table(both, ctx.out("by_year")))
    overall = model.metrics(y, lyo_pred) if np.isfinite(lyo_pred).any() else {}
    return {"remeasured_pairs": int(len(pairs)),
            "remeasured_by_period": summary.to_dict(orient="records"),
            "leave_year_out": {"learner": ms.pooled_best, "metrics": overall},
            "about": ("Re-measured plots: observed AGC change between visits of the same permanent plot vs the "
                      "change of the calibrated out-of-fold predictions. Leave-one-survey-year-out: each survey "
                      "year's plots predicted by the pooled model refitted on the other years only.")}


STAGE = Stage(
    name="model",
    about="Training table, feature selection, learners compared per forest type by nested spatial CV, models",
    func=_run_model,
    inputs=("inputs.forest_type", "inputs.reclamation"),
    upstream=("plots", "features"),
    upstream_if=group_upstream,
    settings=("model", "forest_type_codes"),
    outputs=(
        Output("training", "training_table.csv", "t C/ha + features",
               "Plots with the features of their survey year, forest type, CV prediction and residual"),
        Output("excluded", "excluded_plots.csv", "table", "Plots that could not be used, with the reason"),
        Output("selection", "feature_selection.csv", "table",
               "Feature selection report: correlation with AGC, collinearity, RF and permutation importance, PCA"),
        Output("comparison", "model_comparison.csv", "table",
               "Every learner, pooled and per forest type: CV, tuned and training metrics"),
        Output("card", "model_card.json", "json", "Model cards: data, features, learners, hyper-parameters, metrics"),
        Output("residuals", "residuals.png", "image", "Observed vs cross-validated AGC and residuals per forest type"),
        Output("models", "agc_models.skops", "skops", "Fitted models (skops, no code runs on load)"),
        Output("models_manifest", "agc_models.json", "json", "Checksum, features and versions of the models"),
        Output("remeasured", "remeasured_change.csv", "t C/ha",
               "Re-measured permanent plots: observed vs predicted AGC change between visits"),
        Output("by_year", "cv_by_survey_year.csv", "t C/ha",
               "Per survey year: CV scores and leave-one-survey-year-out scores (R2, RMSE, bias)"),
    ),
)

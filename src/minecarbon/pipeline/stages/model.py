"""Stage `model`."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd

from ... import model
from ...io import open_raster, write_table
from ...io.atomic import atomic_write_text
from ..core import Context, Output, Stage, register

log = logging.getLogger(__name__)


def training_table(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Plots joined to the features of their survey year (footprint means) and the excluded plots."""
    res = pd.read_csv(ctx.out("plots", stage="plots"), dtype={"plot_id": str})
    rows, excluded, names = [], [], None
    for year, grp in res.groupby("survey_year"):
        path = ctx.out("stack", year=int(year), stage="features")
        stack = open_raster(path, what=f"feature stack {year}", chunks=None)
        names = [str(b) for b in stack["band"].values]
        vals = model.footprint_means(stack, grp["x"].to_numpy(), grp["y"].to_numpy(), grp["size_m"].to_numpy())
        for (_, r), v in zip(grp.iterrows(), vals):
            if not np.all(np.isfinite(v)):
                excluded.append({"plot_id": r["plot_id"], "survey_year": int(year),
                                 "reason": "outside the imagery or on masked pixels"})
                continue
            rows.append({**{c: r[c] for c in ("plot_id", "x", "y", "survey_year", "unit_l1", "unit_l2",
                                                "agc_t_ha", "agc_sd_t_ha")}, **dict(zip(names, v))})
    return pd.DataFrame(rows), pd.DataFrame(excluded, columns=["plot_id", "survey_year", "reason"]), names or []


def _run_model(ctx: Context) -> None:
    cfg = ctx.cfg
    tab, excluded, names = training_table(ctx)
    if len(excluded):
        log.warning("%d plot(s) excluded from training: %s", len(excluded), ", ".join(excluded["plot_id"]))
    X = tab[names].to_numpy(dtype=float)
    y = tab["agc_t_ha"].to_numpy(dtype=float)
    cv, train, oof = model.cross_validate(X, y, cfg.model.n_estimators, cfg.model.cv_folds, cfg.model.seed)
    tab["agc_cv_pred_t_ha"] = oof
    ctx.produced(write_table(tab, ctx.out("training")))
    ctx.produced(write_table(excluded, ctx.out("excluded")))
    card = {"learner": "random forest (scikit-learn RandomForestRegressor)",
            "hyper_parameters": {"n_estimators": cfg.model.n_estimators, "min_samples_leaf": 2,
                                 "random_state": cfg.model.seed},
            "features": names, "n_plots": int(len(y)), "cv": {"folds": cfg.model.cv_folds,
                                                               "scheme": "k-fold, shuffled, seeded"},
            "cv_metrics": cv, "training_metrics": train,
            "note": "Cross-validated metrics are the honest estimate; training metrics are optimistic."}
    ctx.produced(atomic_write_text(ctx.out("card"), json.dumps(card, indent=2, ensure_ascii=False)))


register(Stage(
    name="model",
    about="Training table and random-forest AGC model with k-fold cross-validation",
    func=_run_model,
    upstream=("plots", "features"),
    settings=("model",),
    outputs=(
        Output("training", "training_table.csv", "t C/ha + features", "Plots with features of their survey year"),
        Output("excluded", "excluded_plots.csv", "table", "Plots that could not be used, with the reason"),
        Output("card", "model_card.json", "json", "Learner, features, CV and training metrics"),
    ),
))


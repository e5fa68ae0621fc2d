"""Model per forest type: pick the best learner per type by cross-validated RMSE, pooled fallback.

The standard (section 4.3/4.4) finds models per forest type or species group more
accurate.  :func:`fit_model_set` therefore

1. fits every learner on *all* plots (the pooled models), each with nested,
   repeated, grouped cross-validation (:func:`.nested.nested_cv`) and a final grid
   search + refit on all plots (:func:`.nested.tune_and_fit`), every fit of every learner
   and type scheduled together (:func:`.nested.run_jobs`);
2. for each forest type with at least ``min_plots_per_type`` plots, fits every
   learner on that type's plots alone the same way, and compares, *on that
   type's plots*, the out-of-fold predictions of these own models with those
   of the pooled models.  The lowest cross-validated RMSE wins - so a type only
   gets its own model when it predicts that type's plots better than the
   pooled ones do; otherwise it is mapped by the pooled learner that did best
   on its plots (model key ``"pooled_<learner>"`` unless it is the overall best);
3. gives a type with fewer plots (or a constant AGC, or too few spatial groups
   for its own cross-validation) the best pooled model, with a
   :class:`PooledFallbackWarning` naming the type and the reason;
4. never gives the codes of ``FitOptions.pooled_types`` (e.g. non-forest) their
   own model: their plots train the pooled models only.

Forest-type codes that have no plots at all (but appear on the map) use the best
pooled model too (:meth:`ModelSet.model_for`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MinecarbonWarning
from .cv import CVResult, check_training_data, n_groups
from .learners import DEFAULT_GRIDS, LEARNERS, make_model, pipeline_grid, single_thread
from .metrics import mean_metrics, metrics
from .nested import FitJob, FitResult, run_jobs
from .selection import make_selector, selected_features

log = logging.getLogger(__name__)

POOLED = "pooled"


class PooledFallbackWarning(MinecarbonWarning):
    """A forest type has too few plots for its own model and uses the pooled model."""


@dataclass(frozen=True)
class FitOptions:
    """How models are built and evaluated (the library side of ``[model]`` in the project file)."""

    learners: tuple[str, ...] = ("svm", "rf", "gbdt", "xgb", "mlr")
    selection: str = "correlation"
    max_collinearity: float = 0.9
    min_abs_r: float = 0.0
    max_features: int | None = None
    pca_variance: float = 0.95
    grid_search: bool = True
    grids: Mapping[str, Mapping[str, list]] = field(default_factory=lambda: dict(DEFAULT_GRIDS))
    folds: int = 5
    repeats: int = 1
    inner_folds: int = 3
    n_estimators: int = 100
    seed: int = 0
    per_type: bool = True
    min_plots_per_type: int = 15
    own_margin_se: float = 1.0
    """A type gets its own model only if its CV MSE beats the best pooled model's by more than this many
    standard errors of the paired difference (1: the one-standard-error rule; 0: plain lowest RMSE)."""
    pooled_types: tuple = ()
    """Codes that never get their own model (e.g. non-forest): their plots train the pooled models only."""
    n_jobs: int = -1
    clip_min: float | None = 0.0
    """Predictions are clipped at this value (AGC is never negative); None: no clipping."""

    def clip(self, pred):
        pred = np.asarray(pred, dtype=float)
        return pred if self.clip_min is None else np.maximum(pred, self.clip_min)

    def model(self, learner: str):
        sel = make_selector(self.selection, max_collinearity=self.max_collinearity, min_abs_r=self.min_abs_r,
                            max_features=self.max_features, pca_variance=self.pca_variance, seed=self.seed)
        return make_model(learner, sel, seed=self.seed, n_estimators=self.n_estimators)

    def grid(self, learner: str) -> dict[str, list]:
        if not self.grid_search:
            return {}
        return pipeline_grid(dict(self.grids.get(learner, DEFAULT_GRIDS.get(learner, {}))))


@dataclass
class LearnerFit:
    """One learner evaluated and fitted on one set of plots."""

    learner: str
    cv: CVResult
    params: dict
    tuned_metrics: dict
    training_metrics: dict
    model: Any
    features: list[str]


@dataclass
class GroupChoice:
    """The model chosen for one forest type."""

    code: Any
    n_plots: int
    source: str
    """``"own"`` (fitted on the type's plots) or ``"pooled"``."""
    learner: str
    reason: str
    cv_metrics: dict
    """Cross-validated metrics on the type's plots (mean over repeats)."""
    training_metrics: dict
    model_key: str
    oof: np.ndarray
    """Out-of-fold predictions of the chosen model on the type's plots (mean over repeats)."""


@dataclass
class ModelSet:
    """Pooled and per-type models, their evaluations and the choice for every type."""

    feature_names: list[str]
    options: FitOptions
    pooled: dict[str, LearnerFit]
    pooled_best: str
    own: dict[Any, dict[str, LearnerFit]]
    choices: dict[Any, GroupChoice]
    comparison: pd.DataFrame
    oof: np.ndarray
    """Out-of-fold prediction of every plot by the whole selection procedure (:func:`honest_oof`): the honest
    basis of the headline scores and of the uncertainty model."""
    oof_chosen: np.ndarray
    """Out-of-fold prediction of every plot by the model finally chosen for its type (optimistic: the choice
    saw these errors)."""
    fitted: np.ndarray
    """Prediction of every plot by the final (all-data) model that maps its type."""
    plot_codes: np.ndarray

    @property
    def models(self) -> dict[str, Any]:
        """Fitted models by key: ``"pooled"`` (the best pooled learner), ``"pooled_<learner>"`` for other
        pooled learners chosen by a type, and ``"type_<code>"`` for types with their own model."""
        out = {POOLED: self.pooled[self.pooled_best].model}
        for code in self.choices:
            out[self.choices[code].model_key] = self.model_for(code)
        return out

    def model_for(self, code) -> Any:
        """The fitted model mapping forest-type ``code`` (the best pooled one for types without plots)."""
        ch = self.choices.get(code)
        if ch is None:
            return self.pooled[self.pooled_best].model
        if ch.source == "own":
            return self.own[code][ch.learner].model
        return self.pooled[ch.learner].model

    def type_keys(self) -> dict[Any, str]:
        """Forest-type code -> model key, for every type with plots."""
        return {code: ch.model_key for code, ch in self.choices.items()}


def pooled_key(learner: str, best: str) -> str:
    """Model key of a pooled learner: ``"pooled"`` for the overall best, else ``"pooled_<learner>"``."""
    return POOLED if learner == best else f"{POOLED}_{learner}"


def _job(opts: FitOptions, learner: str, X, y, groups, tune: bool = True) -> FitJob:
    """Nested CV, then the final model on all of X (:class:`.nested.FitJob`).

    With ``tune`` the final hyper-parameters come from a grid search on all plots
    (which also gives the optimistic tuned score); without, from a vote of the
    outer folds' inner searches (no extra fits).
    """
    folds = min(opts.folds, n_groups(groups, len(y)))
    return FitJob(opts.model(learner), opts.grid(learner), X, y, groups, folds=folds, repeats=opts.repeats,
                  inner_folds=opts.inner_folds, seed=opts.seed, clip_min=opts.clip_min, nested=True,
                  final="tune" if tune else "vote")


def _learner_fit(opts: FitOptions, learner: str, res: FitResult, X, y, names) -> LearnerFit:
    est = single_thread(res.model)
    train = metrics(y, opts.clip(est.predict(X)))
    return LearnerFit(learner, res.cv, res.params, res.tuned, train, est, selected_features(est, names))


def _fit_learners(opts: FitOptions, X, y, groups, names, own: Mapping[Any, np.ndarray]
                  ) -> tuple[dict[str, LearnerFit], dict[Any, dict[str, LearnerFit]]]:
    """Every learner on all plots (tuned final models) and on the plots ``own[code]`` of each type (voted final
    models), all fits in one schedule (:func:`.nested.run_jobs`)."""
    sets = [(None, X, y, groups, True)] + [(code, X[idx], y[idx], None if groups is None else groups[idx], False)
                                           for code, idx in own.items()]
    jobs = [_job(opts, L, Xs, ys, gs, tune) for _, Xs, ys, gs, tune in sets for L in opts.learners]
    results = iter(run_jobs(jobs, n_jobs=opts.n_jobs, label=f"model fits ({len(sets)} plot set(s) x "
                                                            f"{len(opts.learners)} learners)"))
    fits = [{L: _learner_fit(opts, L, next(results), Xs, ys, names) for L in opts.learners}
            for _, Xs, ys, _, _ in sets]
    return fits[0], {code: f for (code, *_), f in zip(sets[1:], fits[1:])}


def mse_gain(y: np.ndarray, pred_own: np.ndarray, pred_pooled: np.ndarray) -> tuple[float, float]:
    """How much lower the own model's CV mean squared error is than the pooled one's, and its standard error.

    Paired over plots: d_i = (pooled error_i)² − (own error_i)²; returns (mean d, SD(d)/√n).
    """
    d = (np.asarray(pred_pooled) - y) ** 2 - (np.asarray(pred_own) - y) ** 2
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("inf")


def _loo_argmin(sq: np.ndarray) -> np.ndarray:
    """For each sample i, the candidate (row of ``sq``, (candidates, n) squared errors) with the lowest mean
    squared error over the other samples (ties: the first)."""
    tot = sq.sum(axis=1, keepdims=True)
    return np.argmin(tot - sq, axis=0)


def _loo_gain(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of ``d`` leaving each sample out in turn."""
    n = d.size
    s1, s2 = d.sum(), (d ** 2).sum()
    m = (s1 - d) / (n - 1)
    var = ((s2 - d ** 2) - (n - 1) * m ** 2) / max(n - 2, 1)
    return m, np.sqrt(np.maximum(var, 0) / (n - 1))


def honest_oof(y: np.ndarray, pooled_oof: dict[str, np.ndarray], own_oof: dict[Any, dict[str, np.ndarray]],
               codes: np.ndarray, own_types: set, learners: tuple[str, ...], margin_se: float) -> np.ndarray:
    """Out-of-fold predictions of the whole per-type *selection procedure*, free of the winner's curse.

    The model chosen for a plot's type is re-chosen without that plot - same rules
    as :func:`fit_model_set` (lowest CV MSE; own vs pooled by the ``margin_se``
    rule; the overall best pooled learner for types without own candidates),
    applied to the other plots' out-of-fold errors - and the plot gets that
    candidate's out-of-fold prediction.  Choosing the best of many candidates on
    the same scores makes the winner's score optimistic; this does not, because
    no plot's own error takes part in the choice that predicts it.  No model is
    refitted (every candidate's out-of-fold predictions exist already).
    """
    P = np.stack([pooled_oof[L] for L in learners])
    sqP = (P - y) ** 2
    out = P[_loo_argmin(sqP), np.arange(y.size)]
    for code in own_types:
        idx = np.flatnonzero(codes == code)
        if idx.size < 3:
            continue
        yt = y[idx]
        O = np.stack([own_oof[code][L] for L in learners])
        sqO, sqPt = (O - yt) ** 2, sqP[:, idx]
        lo, lp = _loo_argmin(sqO), _loo_argmin(sqPt)
        pick = np.empty(idx.size)
        for i in range(idx.size):  # the paired difference depends on the candidates chosen without plot i
            di = sqPt[lp[i]] - sqO[lo[i]]
            m, se = _loo_gain(di)
            pick[i] = O[lo[i], i] if m[i] > margin_se * se[i] else P[lp[i], idx[i]]
        out[idx] = pick
    return out


def _no_own_model(opts: FitOptions, code, y: np.ndarray, groups: np.ndarray | None, idx: np.ndarray) -> str | None:
    """Why type ``code`` (plots ``idx``) cannot get its own model, or None when it can be fitted."""
    yt = y[idx]
    g_t = None if groups is None else groups[idx]
    if code in opts.pooled_types:
        return "not a forest type: mapped with the pooled model"
    if idx.size < opts.min_plots_per_type:
        return f"only {idx.size} plot(s), fewer than [model].min_plots_per_type = {opts.min_plots_per_type}"
    if np.std(yt) == 0:
        return f"AGC is the same ({yt[0]:g} t C/ha) on all its {idx.size} plots"
    if n_groups(g_t, idx.size) < 2 or idx.size < 2 * min(opts.folds, n_groups(g_t, idx.size)):
        return f"its {idx.size} plots fall in too few spatial groups for cross-validation"
    return None


def _subset_metrics(cv: CVResult, y: np.ndarray, idx: np.ndarray) -> dict:
    mean, _ = mean_metrics([metrics(y[idx], cv.oof[r, idx]) for r in range(cv.oof.shape[0])])
    return mean


def _warn(msg: str) -> None:
    warnings.warn(msg, PooledFallbackWarning, stacklevel=3)


def fit_model_set(X: np.ndarray, y: np.ndarray, feature_names: list[str], types: np.ndarray | None = None,
                  groups: np.ndarray | None = None, options: FitOptions | None = None,
                  type_names: Mapping[Any, str] | None = None) -> ModelSet:
    """Evaluate every learner pooled and per forest type, and choose a model for each type.

    Parameters
    ----------
    X : (n_plots, n_features) features.
    y : (n_plots,) target, e.g. plot AGC in t C/ha.
    feature_names : names of the columns of X.
    types : forest-type code of each plot (None: pooled only). NaN/None codes use the pooled model.
    groups : spatial group of each plot (:func:`.cv.spatial_groups`); None: plain k-fold.
    options : :class:`FitOptions`.
    type_names : code -> readable name, for warnings.

    Raises
    ------
    InputError
        Too few plots for the folds, a constant or missing target, an unknown learner.
    """
    opts = options or FitOptions()
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"X has shape {X.shape} but y has {y.size} values")
    for name in opts.learners:
        if name not in LEARNERS:
            from ..errors import InputError

            raise InputError(f"Unknown learner {name!r} in [model].learners; use any of {', '.join(LEARNERS)}.")
    check_training_data(y, opts.folds)
    names = list(feature_names)
    type_names = dict(type_names or {})
    codes = np.full(y.size, None, dtype=object) if types is None else np.asarray(types, dtype=object)
    valid = np.array([c is not None and not (isinstance(c, float) and np.isnan(c)) for c in codes])
    type_codes = sorted({c for c, v in zip(codes, valid) if v}, key=lambda c: (str(type(c)), c)) \
        if opts.per_type and types is not None else []
    reasons = {code: _no_own_model(opts, code, y, groups, np.flatnonzero(valid & (codes == code)))
               for code in type_codes}
    pooled, own_fits = _fit_learners(opts, X, y, groups, names,
                                     {code: np.flatnonzero(valid & (codes == code))
                                      for code in type_codes if reasons[code] is None})
    best = min(opts.learners, key=lambda L: (pooled[L].cv.metrics["rmse"], opts.learners.index(L)))
    rows = []
    for L, f in pooled.items():
        rows.append(_row("all plots", POOLED, L, f.cv.metrics, f.training_metrics, f, y.size))
    own: dict[Any, dict[str, LearnerFit]] = {}
    choices: dict[Any, GroupChoice] = {}
    oof = pooled[best].cv.oof_mean.copy()
    fitted = opts.clip(pooled[best].model.predict(X))
    if type_codes:
        for code in type_codes:
            idx = np.flatnonzero(valid & (codes == code))
            label = type_names.get(code, str(code))
            yt = y[idx]
            pooled_on = {L: _subset_metrics(pooled[L].cv, y, idx) for L in opts.learners}
            for L in opts.learners:
                rows.append(_row(label, f"pooled model on type {label}", L, pooled_on[L],
                                 metrics(yt, opts.clip(pooled[L].model.predict(X[idx]))), pooled[L], idx.size,
                                 code=code))
            reason = reasons[code]
            if reason is not None:
                if code not in opts.pooled_types:
                    _warn(f"Forest type {label}: {reason}; it uses the pooled model ({best}). Add plots of this "
                          f"type (or lower [model].min_plots_per_type) to give it its own model.")
                choices[code] = GroupChoice(code, idx.size, "pooled", best, reason, pooled_on[best],
                                            metrics(yt, fitted[idx]), POOLED, pooled[best].cv.oof_mean[idx])
                continue
            own[code] = own_fits[code]
            cands = [("own", L, own[code][L].cv.metrics["rmse"]) for L in opts.learners] + \
                    [("pooled", L, pooled_on[L]["rmse"]) for L in opts.learners]
            for L in opts.learners:
                rows.append(_row(label, f"own model of type {label}", L, own[code][L].cv.metrics,
                                 own[code][L].training_metrics, own[code][L], idx.size, code=code))
            key = lambda c: (c[2], opts.learners.index(c[1]))
            _, L_own, _ = min((c for c in cands if c[0] == "own"), key=key)
            _, L_pool, _ = min((c for c in cands if c[0] == "pooled"), key=key)
            gain, se = mse_gain(yt, own[code][L_own].cv.oof_mean, pooled[L_pool].cv.oof_mean[idx])
            src, L = ("own", L_own) if gain > opts.own_margin_se * se else ("pooled", L_pool)
            fit = own[code][L] if src == "own" else pooled[L]
            if src == "own":
                choices[code] = GroupChoice(code, idx.size, "own", L, f"its own {L_own} predicts its plots better "
                                            f"than the best pooled model ({L_pool}): CV MSE lower by {gain:.3g} "
                                            f"(SE {se:.3g})", fit.cv.metrics,
                                            fit.training_metrics, f"type_{code}", fit.cv.oof_mean)
            else:
                why = ("the pooled model predicts its plots better" if gain <= 0 else
                       f"its own {L_own} is not better than the pooled {L_pool} by more than "
                       f"{opts.own_margin_se:g} SE of the CV MSE difference ({gain:.3g} vs SE {se:.3g})")
                choices[code] = GroupChoice(code, idx.size, "pooled", L, why, pooled_on[L],
                                            metrics(yt, opts.clip(fit.model.predict(X[idx]))), pooled_key(L, best),
                                            fit.cv.oof_mean[idx])
            oof[idx] = choices[code].oof
            fitted[idx] = opts.clip(fit.model.predict(X[idx]))
    own_types = {c for c in own if c in choices}
    honest = honest_oof(y, {L: pooled[L].cv.oof_mean for L in opts.learners},
                        {c: {L: own[c][L].cv.oof_mean for L in opts.learners} for c in own_types}, codes, own_types,
                        tuple(opts.learners), opts.own_margin_se)
    comp = pd.DataFrame(rows)
    for code, ch in choices.items():
        scope = f"own model of type {type_names.get(code, str(code))}" if ch.source == "own" else \
            f"pooled model on type {type_names.get(code, str(code))}"
        comp.loc[(comp["scope"] == scope) & (comp["learner"] == ch.learner), "chosen"] = True
    comp.loc[(comp["scope"] == POOLED) & (comp["learner"] == best), "chosen"] = True
    return ModelSet(names, opts, pooled, best, own, choices, comp, honest, oof, fitted, codes)


def _row(group: str, scope: str, learner: str, cvm: dict, trainm: dict, fit: LearnerFit, n: int, code=None) -> dict:
    whole = scope == POOLED or scope.startswith("own")
    return {"group": group, "code": code, "scope": scope, "learner": learner, "n_plots": n,
            **{f"cv_{k}": v for k, v in cvm.items() if k != "n"},
            "cv_rmse_sd_repeats": fit.cv.metrics_sd.get("rmse", 0.0) if whole else float("nan"),
            "tuned_r2": fit.tuned_metrics.get("r2", float("nan")) if whole else float("nan"),
            "tuned_rmse": fit.tuned_metrics.get("rmse", float("nan")) if whole else float("nan"),
            "training_r2": trainm["r2"], "training_rmse": trainm["rmse"],
            "params": ";".join(f"{k.removeprefix('learner__')}={v}" for k, v in fit.params.items()),
            "features": ";".join(fit.features), "chosen": False}

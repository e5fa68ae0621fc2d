"""Nested cross-validation and final fits of many (learner, plot set) jobs, all their fits scheduled together.

What is computed is defined in :mod:`.cv` (folds, grid search by pooled
out-of-fold RMSE, nested grid search in every outer fold); this module only
decides *when* each fit runs.  A :class:`FitJob` is one learner evaluated on
one set of plots: its nested, repeated cross-validation and its final model.
:func:`run_jobs` takes every job of a model stage (all learners, pooled and per
forest type) and runs their fits in two rounds, each a single ``joblib`` call
(:func:`minecarbon.parallel.joblib_parallel`):

1. every grid-search fit (each grid point x inner fold of each outer fold, and
   each grid point x fold of the search on all plots behind a tuned final
   model), plus every fit whose hyper-parameters are known already (outer
   folds and final models of learners without a grid);
2. the fits that need round 1's choice: each outer fold refitted with its
   inner search's parameters, and the final models.

So the cores wait for the slowest fit twice per stage, not once per learner,
type and fold.  Each fit is the same call on the same arrays as when the jobs
run one after another (learners are seeded and single-threaded, see
:mod:`.learners`), so the results do not depend on the scheduling: identical
predictions, parameters and scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import delayed
from sklearn.base import clone

from ..parallel import joblib_parallel
from ..progress import steps
from .cv import CVResult, _fit_predict, best_point, fold_splits, n_groups, param_points
from .metrics import mean_metrics, metrics

FINALS = ("tune", "vote", None)
"""How a job's final model gets its hyper-parameters: ``"tune"`` a grid search on all plots (which also gives
the optimistic tuned score), ``"vote"`` the point the outer folds' inner searches chose most often (no extra
fits), None: no final model."""


@dataclass(frozen=True)
class FitJob:
    """One learner on one set of plots: nested CV (when ``nested``) and a final model (see :data:`FINALS`).

    Parameters as for :func:`nested_cv`; ``folds`` also sets the folds of the ``"tune"`` search.
    """

    model: Any
    grid: Mapping[str, Sequence] | None
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None
    folds: int = 5
    repeats: int = 1
    inner_folds: int = 3
    seed: int = 0
    clip_min: float | None = None
    nested: bool = True
    final: str | None = "tune"


@dataclass
class FitResult:
    """A job's cross-validation (None without ``nested``), final model (None without ``final``), its
    hyper-parameters and tuned score (empty unless ``final="tune"`` searched a grid)."""

    cv: CVResult | None
    model: Any
    params: dict
    tuned: dict


def vote_params(fold_params: list[dict], grid: Mapping[str, list]) -> dict:
    """The hyper-parameters chosen most often by the outer folds' inner searches (ties: grid order)."""
    points = param_points(dict(grid)) if grid else [{}]
    counts = [sum(1 for p in fold_params if p == pt) for pt in points]
    return points[int(np.argmax(counts))]


def _fit_final(model, params: dict, X: np.ndarray, y: np.ndarray):
    return clone(model).set_params(**params).fit(X, y)


@dataclass
class _Search:
    """One grid search: its points, splits and the arrays it runs on."""

    job: int
    points: list[dict]
    splits: list
    X: np.ndarray
    y: np.ndarray
    best: dict | None = None
    best_metrics: dict | None = None


@dataclass
class _Plan:
    """One job's fits: outer folds (repeat, train, test, search index or None) and the final search."""

    X: np.ndarray
    y: np.ndarray
    grid: dict
    first: dict
    outer: list
    final_search: int | None


def _plan(jobs: Sequence[FitJob]) -> tuple[list[_Plan], list[_Search]]:
    plans, searches = [], []

    def search(j, grid, X, y, splits) -> int:
        searches.append(_Search(j, param_points(grid), splits, X, y))
        return len(searches) - 1

    for j, job in enumerate(jobs):
        if job.final not in FINALS:
            raise ValueError(f"FitJob.final must be one of {FINALS}, not {job.final!r}")
        X = np.asarray(job.X, dtype=float)
        y = np.asarray(job.y, dtype=float)
        grid = dict(job.grid or {})
        searching = bool(grid) and any(len(v) > 1 for v in grid.values())
        first = param_points(grid)[0] if grid else {}
        outer = []
        if job.nested:
            for r in range(job.repeats):
                for f, (tr, te) in enumerate(fold_splits(len(y), job.groups, job.folds, [job.seed, r])):
                    sid = None
                    if searching:
                        g_tr = None if job.groups is None else job.groups[tr]
                        k = min(job.inner_folds, n_groups(g_tr, len(tr)))
                        if k >= 2:  # else too few groups for an inner search: the grid's first point
                            sid = search(j, grid, X[tr], y[tr], fold_splits(len(tr), g_tr, k, [job.seed, r, f, 1]))
                    outer.append((r, tr, te, sid))
        final_sid = None
        if job.final == "tune" and searching:
            k = min(job.folds, n_groups(job.groups, len(y)))
            if k >= 2:
                final_sid = search(j, grid, X, y, fold_splits(len(y), job.groups, k, [job.seed, 0]))
        plans.append(_Plan(X, y, grid, first, outer, final_sid))
    return plans, searches


def run_jobs(jobs: Sequence[FitJob], n_jobs: int = 1, label: str = "model fits") -> list[FitResult]:
    """Run every job's fits in two joblib rounds (see the module docstring); results in the order of ``jobs``.

    ``n_jobs``: loky worker processes of this machine (or the workers of the active dask.distributed cluster, see
    :func:`minecarbon.parallel.joblib_parallel`); the results do not depend on it.
    """
    plans, searches = _plan(jobs)
    grid_tasks = [(s, p, tr, te) for s, srch in enumerate(searches) for p in srch.points for tr, te in srch.splits]
    # (job, outer fold or None for the final model): known = parameters known before any search, pending = not
    known, pending = [], []
    for j, (job, plan) in enumerate(zip(jobs, plans)):
        for o, (_, _, _, sid) in enumerate(plan.outer):
            (pending if sid is not None else known).append((j, o))
        if job.final is not None:
            ready = (job.final == "tune" and plan.final_search is None) or \
                    (job.final == "vote" and all(sid is None for *_, sid in plan.outer))
            (known if ready else pending).append((j, None))

    def params_of(j: int, o: int | None) -> dict:
        plan, job = plans[j], jobs[j]
        if o is not None:
            sid = plan.outer[o][3]
            return plan.first if sid is None else searches[sid].best
        if job.final == "vote":
            return vote_params([params_of(j, i) for i in range(len(plan.outer))], plan.grid)
        return plan.first if plan.final_search is None else searches[plan.final_search].best

    def task(j: int, o: int | None):
        job, plan = jobs[j], plans[j]
        if o is None:
            return delayed(_fit_final)(job.model, params_of(j, o), plan.X, plan.y)
        _, tr, te, _ = plan.outer[o]
        return delayed(_fit_predict)(job.model, params_of(j, o), plan.X, plan.y, tr, te, job.clip_min)

    done: dict[tuple[int, int | None], Any] = {}
    with steps(label, len(grid_tasks) + len(known) + len(pending), "fits") as step:
        out = joblib_parallel(n_jobs)(
            [delayed(_fit_predict)(jobs[searches[s].job].model, p, searches[s].X, searches[s].y, tr, te,
                                   jobs[searches[s].job].clip_min) for s, p, tr, te in grid_tasks]
            + [task(j, o) for j, o in known])
        step(len(out))
        k = 0
        for srch in searches:
            n = len(srch.points) * len(srch.splits)
            srch.best, srch.best_metrics, _ = best_point(srch.points, srch.splits, out[k:k + n], srch.y)
            k += n
        done.update(zip(known, out[k:]))
        if pending:
            done.update(zip(pending, joblib_parallel(n_jobs)([task(j, o) for j, o in pending])))
            step(len(pending))
    return [_result(j, job, plans[j], searches, done, params_of) for j, job in enumerate(jobs)]


def _result(j: int, job: FitJob, plan: _Plan, searches: list[_Search], done: dict, params_of) -> FitResult:
    cv = None
    if job.nested:
        oof = np.full((job.repeats, len(plan.y)), np.nan)
        for o, (r, _, te, _) in enumerate(plan.outer):
            oof[r, te] = done[(j, o)]
        per = [metrics(plan.y, oof[r]) for r in range(job.repeats)]
        mean, sd = mean_metrics(per)
        cv = CVResult(oof=oof, metrics=mean, metrics_sd=sd, per_repeat=per,
                      fold_params=[params_of(j, o) for o in range(len(plan.outer))], folds=job.folds,
                      repeats=job.repeats)
    if job.final is None:
        return FitResult(cv, None, {}, {})
    tuned = searches[plan.final_search].best_metrics if plan.final_search is not None else {}
    return FitResult(cv, done[(j, None)], params_of(j, None), dict(tuned))


def nested_cv(model, grid: dict[str, Sequence] | None, X: np.ndarray, y: np.ndarray,
              groups: np.ndarray | None = None, folds: int = 5, repeats: int = 1, inner_folds: int = 3,
              seed: int = 0, n_jobs: int = 1, clip_min: float | None = None) -> CVResult:
    """Repeated (grouped) k-fold cross-validation with a grid search nested in every outer fold.

    Parameters
    ----------
    model : unfitted scikit-learn estimator (typically a :func:`.learners.make_model` pipeline).
    grid : parameter grid of ``model`` (``learner__C`` style); None or {} for no search.
    X, y : features (n, p) and target (n,).
    groups : group label of each sample (see :func:`.cv.spatial_groups`); None: plain k-fold.
    folds, repeats, inner_folds : outer folds, repeats with new fold assignments, inner folds.
    seed : seeds fold assignment (learners carry their own seed).
    n_jobs : fits run in this many loky worker processes (1: in this process; results do not depend on it).
    clip_min : predictions are clipped at this value (e.g. 0: AGC is never negative).
    """
    job = FitJob(model, grid, X, y, groups, folds=folds, repeats=repeats, inner_folds=inner_folds, seed=seed,
                 clip_min=clip_min, nested=True, final=None)
    return run_jobs([job], n_jobs=n_jobs, label="nested CV")[0].cv


def tune_and_fit(model, grid: dict[str, Sequence] | None, X: np.ndarray, y: np.ndarray,
                 groups: np.ndarray | None = None, folds: int = 5, seed: int = 0, n_jobs: int = 1,
                 clip_min: float | None = None) -> tuple[Any, dict, dict]:
    """Grid search on all data (grouped k-fold), then refit the best point on all data.

    Returns
    -------
    fitted model, best parameters, tuned metrics (the best point's out-of-fold
    score - optimistic, since the point was chosen for it; empty without a grid).
    """
    job = FitJob(model, grid, X, y, groups, folds=folds, seed=seed, clip_min=clip_min, nested=False, final="tune")
    res = run_jobs([job], n_jobs=n_jobs, label="grid search")[0]
    return res.model, res.params, res.tuned

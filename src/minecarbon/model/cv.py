"""Honest evaluation: (spatial-)block k-fold cross-validation, repeated, with nested grid search.

Folds
    Plots are put in *groups* that never straddle training and test data.
    With coordinates, groups are square spatial blocks of side ``block_m``
    (default 1000 m) merged wherever two plots of different blocks are closer
    than ``link_m`` (union-find on the pairs), so that plots close together -
    which share pixels, stands and image artefacts - are always on the same
    side.  Without coordinates each plot is its own group (plain k-fold).
    Groups are assigned to ``k`` folds at random (seeded) and balanced by plot
    count: groups are taken largest first (ties in random order), each into
    the fold holding the fewest plots so far.  A repeat draws a new random
    assignment.

Nested grid search
    In each outer fold the hyper-parameters are chosen by an inner grid search
    (``inner_folds``-fold CV on the outer training plots only, grouped the same
    way); the model refitted with them predicts the outer test plots.  The
    out-of-fold predictions of all outer folds give the reported score, which
    therefore never saw the data it was tuned on.  The *tuned* score (the best
    grid point's cross-validated score on all plots) is also reported: it is
    optimistic, because the grid point was picked for that very score.

The grid search picks the grid point with the lowest RMSE of its pooled
out-of-fold predictions (ties: the first in grid order).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from ..errors import InputError
from ..parallel import joblib_parallel
from .metrics import metrics

Split = tuple[np.ndarray, np.ndarray]


def spatial_groups(x: np.ndarray, y: np.ndarray, block_m: float, link_m: float = 0.0) -> np.ndarray:
    """Group label of each plot: square blocks of side ``block_m``, merged across pairs closer than ``link_m``.

    Parameters
    ----------
    x, y : plot coordinates (m, projected CRS).
    block_m : block side (m); > 0.
    link_m : plots of different blocks closer than this (m, centre to centre) join one group.

    Returns
    -------
    ndarray of int, labels 0..g-1 in order of first appearance.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if block_m <= 0:
        raise InputError(f"Spatial block size must be positive, not {block_m} m ([model].cv_block_m).")
    bx = np.floor(x / block_m).astype(np.int64)
    by = np.floor(y / block_m).astype(np.int64)
    _, block = np.unique(np.stack([bx, by], axis=1), axis=0, return_inverse=True)
    parent = np.arange(block.max() + 1 if block.size else 0)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    if link_m > 0 and x.size > 1:
        from scipy.spatial import cKDTree

        for i, j in cKDTree(np.stack([x, y], axis=1)).query_pairs(r=link_m):
            ri, rj = find(int(block[i])), find(int(block[j]))
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([find(int(b)) for b in block], dtype=np.int64)
    _, first = np.unique(roots, return_index=True)
    relabel = {r: k for k, r in enumerate(roots[np.sort(first)])}
    return np.array([relabel[r] for r in roots], dtype=np.int64)


def n_groups(groups: np.ndarray | None, n: int) -> int:
    return n if groups is None else int(np.unique(groups).size)


def fold_splits(n: int, groups: np.ndarray | None, folds: int, seed: Any) -> list[Split]:
    """Train/test index pairs of one random, balanced assignment of groups to ``folds`` folds.

    Parameters
    ----------
    n : number of samples.
    groups : group label per sample (None: each sample is its own group).
    folds : number of folds (2 <= folds <= number of groups).
    seed : anything :func:`numpy.random.default_rng` accepts.
    """
    g = np.arange(n) if groups is None else np.asarray(groups)
    labels, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    if labels.size < 2:
        raise InputError(f"All {n} plots fall into one spatial group, so cross-validation has nothing to hold out "
                         f"(plots are grouped in square blocks of [model].cv_block_m, and plots closer than "
                         f"[model].cv_link_m share a group). Use smaller blocks ([model].cv_block_m) or "
                         f"cv_scheme = 'random'.")
    if labels.size < folds:
        raise InputError(f"Only {labels.size} spatial group(s) of plots for {folds}-fold cross-validation. Lower "
                         f"[model].cv_folds, use smaller blocks ([model].cv_block_m) or cv_scheme = 'random'.")
    if folds < 2:
        raise InputError(f"Cross-validation needs at least 2 folds, not {folds} ([model].cv_folds).")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(labels.size)
    order = perm[np.argsort(-counts[perm], kind="stable")]
    load = np.zeros(folds, dtype=np.int64)
    fold_of = np.empty(labels.size, dtype=np.int64)
    for gi in order:
        f = int(np.argmin(load))
        fold_of[gi] = f
        load[f] += counts[gi]
    sample_fold = fold_of[inverse]
    idx = np.arange(n)
    return [(idx[sample_fold != f], idx[sample_fold == f]) for f in range(folds)]


def param_points(grid: dict[str, Sequence]) -> list[dict]:
    """Every combination of a grid, in a fixed order (keys sorted); [{}] for an empty grid."""
    keys = sorted(grid)
    return [dict(zip(keys, vals)) for vals in itertools.product(*(list(grid[k]) for k in keys))]


def _fit_predict(model, params: dict, X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray,
                 clip_min: float | None = None) -> np.ndarray:
    est = clone(model).set_params(**params)
    est.fit(X[tr], y[tr])
    pred = np.asarray(est.predict(X[te]), dtype=float)
    return pred if clip_min is None else np.maximum(pred, clip_min)


def grid_search(model, grid: dict[str, Sequence], X: np.ndarray, y: np.ndarray, splits: list[Split],
                n_jobs: int = 1, clip_min: float | None = None) -> tuple[dict, dict, list[dict]]:
    """Cross-validated grid search by pooled out-of-fold RMSE.

    ``clip_min``: predictions are clipped at this value before scoring (e.g. 0 for AGC).

    Returns
    -------
    best_params, best_metrics (of the best point's pooled out-of-fold predictions),
    table (one dict per grid point: params and metrics).
    """
    points = param_points(grid)
    tasks = [(p, tr, te) for p in points for tr, te in splits]
    preds = _parallel(n_jobs)(delayed(_fit_predict)(model, p, X, y, tr, te, clip_min) for p, tr, te in tasks)
    return best_point(points, splits, preds, y)


def best_point(points: list[dict], splits: list[Split], preds: Sequence[np.ndarray], y: np.ndarray
               ) -> tuple[dict, dict, list[dict]]:
    """The grid search's choice from its fits' predictions (``preds``: point-major, then split).

    Returns what :func:`grid_search` returns.
    """
    table, best, best_rmse = [], 0, np.inf
    k = 0
    for i, p in enumerate(points):
        oof = np.full(len(y), np.nan)
        for tr, te in splits:
            oof[te] = preds[k]
            k += 1
        m = metrics(y, oof)
        table.append({"params": p, **m})
        if m["rmse"] < best_rmse:
            best, best_rmse = i, m["rmse"]
    return points[best], {k2: v for k2, v in table[best].items() if k2 != "params"}, table


def _parallel(n_jobs: int) -> Parallel:
    """Threads of this process, or the workers of the active dask.distributed cluster (``--scheduler
    local:N`` / ``tcp://``) through joblib's dask backend; results do not depend on which."""
    return joblib_parallel(n_jobs)


@dataclass
class CVResult:
    """Out-of-fold predictions and scores of a (nested, repeated) cross-validation."""

    oof: np.ndarray
    """(repeats, n) out-of-fold predictions."""
    metrics: dict
    """Mean over repeats of each repeat's metrics (see :mod:`.metrics`)."""
    metrics_sd: dict
    """Standard deviation over repeats (empty values with one repeat: 0)."""
    per_repeat: list[dict]
    fold_params: list[dict] = field(default_factory=list)
    """Hyper-parameters chosen by the inner search in each outer fold (repeat-major)."""
    folds: int = 0
    repeats: int = 0

    @property
    def oof_mean(self) -> np.ndarray:
        """Out-of-fold prediction of each sample, averaged over repeats."""
        return np.nanmean(self.oof, axis=0)


MIN_SAMPLES = 10
"""Fewest plots a model is fitted on (and at least one per fold): our choice."""


def check_training_data(y: np.ndarray, folds: int, what: str = "plots") -> None:
    """Raise :class:`InputError` for fewer than max(folds, 10) samples, a missing or a constant target."""
    y = np.asarray(y, dtype=float)
    need = max(folds, MIN_SAMPLES)
    if len(y) < need:
        raise InputError(f"Only {len(y)} usable {what} for {folds}-fold cross-validation; the model needs at least "
                         f"{need}. Add plots or lower [model].cv_folds (see excluded_plots.csv for plots "
                         f"that could not be used).")
    if not np.all(np.isfinite(y)):
        raise InputError(f"The target has missing or infinite values on {int((~np.isfinite(y)).sum())} {what}. "
                         f"Remove those rows or fill in their AGC.")
    if np.nanstd(y) == 0:
        raise InputError(f"Plot AGC is the same on every plot ({len(y)} {what}, all {y[0]:g}); a model cannot be "
                         f"fitted. Check the tree table and the plot AGC.")


def cross_validate(X: np.ndarray, y: np.ndarray, n_estimators: int, folds: int, seed: int
                   ) -> tuple[dict[str, float], dict[str, float], np.ndarray]:
    """k-fold CV of a random forest (shuffled, seeded) - the walking skeleton's API, kept.

    Returns (cv_metrics, training_metrics, out-of-fold predictions).
    """
    from .learners import fit_forest

    check_training_data(y, folds)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    oof = np.full(len(y), np.nan)
    for tr, te in fold_splits(len(y), None, folds, seed):
        oof[te] = fit_forest(X[tr], y[tr], n_estimators, seed).predict(X[te])
    full = fit_forest(X, y, n_estimators, seed)
    return metrics(y, oof), metrics(y, full.predict(X)), oof

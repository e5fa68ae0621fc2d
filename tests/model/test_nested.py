"""All fits of many (learner, plot set) jobs scheduled together give what fitting them one by one gives."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from minecarbon.model import FitJob, make_model, nested_cv, run_jobs, spatial_groups, tune_and_fit
from minecarbon.model.cv import fold_splits, grid_search, n_groups, param_points
from minecarbon.model.learners import pipeline_grid
from minecarbon.model.metrics import metrics
from minecarbon.model.nested import vote_params


def _data(n=90, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = 20 + 6 * X[:, 0] - 3 * X[:, 1] ** 2 + rng.normal(0, 2, n)
    xy = rng.uniform(0, 5000, size=(n, 2))
    return X, y, spatial_groups(xy[:, 0], xy[:, 1], 1000.0)


def _loop(model, grid, X, y, groups, folds, repeats, inner, seed, clip_min, final):
    """Nested CV written as the textbook loop: each outer fold's inner search, then its refit, one at a time."""
    grid = dict(grid or {})
    oof = np.full((repeats, len(y)), np.nan)
    chosen = []
    for r in range(repeats):
        for f, (tr, te) in enumerate(fold_splits(len(y), groups, folds, [seed, r])):
            g_tr = None if groups is None else groups[tr]
            k = min(inner, n_groups(g_tr, len(tr)))
            params = param_points(grid)[0] if grid else {}
            if len(param_points(grid)) > 1 and k >= 2:
                params, _, _ = grid_search(model, grid, X[tr], y[tr], fold_splits(len(tr), g_tr, k, [seed, r, f, 1]),
                                           clip_min=clip_min)
            est = clone(model).set_params(**params).fit(X[tr], y[tr])
            oof[r, te] = np.maximum(est.predict(X[te]), clip_min)
            chosen.append(params)
    if final == "vote":
        params, tuned = vote_params(chosen, grid), {}
    else:
        params, tuned = param_points(grid)[0] if grid else {}, {}
        k = min(folds, n_groups(groups, len(y)))
        if len(param_points(grid)) > 1 and k >= 2:
            params, tuned, _ = grid_search(model, grid, X, y, fold_splits(len(y), groups, k, [seed, 0]),
                                           clip_min=clip_min)
    return oof, chosen, params, tuned, clone(model).set_params(**params).fit(X, y)


def test_one_schedule_equals_fitting_each_job_alone():
    X, y, groups = _data()
    sub = np.flatnonzero(X[:, 2] > -0.3)
    cases = [("svm", {"C": [1.0, 30.0], "epsilon": [0.1, 1.0]}, X, y, groups, "tune"),
             ("rf", {"max_features": [0.4, 1.0]}, X, y, groups, "tune"),
             ("mlr", {}, X, y, groups, "tune"),
             ("gbdt", {"max_depth": [2, 3]}, X[sub], y[sub], groups[sub], "vote"),
             ("svm", {"C": [1.0, 30.0]}, X[sub], y[sub], None, "vote")]
    jobs = [FitJob(make_model(L, seed=1, n_estimators=20), pipeline_grid(g), Xs, ys, gs, folds=4, repeats=2,
                   inner_folds=3, seed=5, clip_min=0.0, final=final) for L, g, Xs, ys, gs, final in cases]
    results = run_jobs(jobs, n_jobs=2)
    for job, res in zip(jobs, results):
        oof, chosen, params, tuned, est = _loop(job.model, job.grid, job.X, job.y, job.groups, 4, 2, 3, 5, 0.0,
                                                job.final)
        np.testing.assert_array_equal(res.cv.oof, oof)  # bit for bit
        assert res.cv.fold_params == chosen
        assert res.cv.metrics["rmse"] == pytest.approx(np.mean([metrics(job.y, o)["rmse"] for o in oof]))
        assert res.params == params and res.tuned == tuned
        np.testing.assert_array_equal(res.model.predict(job.X), est.predict(job.X))
    assert len({str(r.params) for r in results[:2]}) == 2  # the grids were searched (different learners)


def test_nested_cv_and_tune_and_fit_are_the_loop():
    X, y, groups = _data(seed=8)
    model, grid = make_model("svm"), pipeline_grid({"C": [1.0, 10.0, 100.0]})
    cv = nested_cv(model, grid, X, y, groups, folds=5, repeats=1, inner_folds=3, seed=2, n_jobs=2, clip_min=0.0)
    est, params, tuned = tune_and_fit(model, grid, X, y, groups, folds=5, seed=2, n_jobs=2, clip_min=0.0)
    oof, chosen, p2, t2, est2 = _loop(model, grid, X, y, groups, 5, 1, 3, 2, 0.0, "tune")
    np.testing.assert_array_equal(cv.oof, oof)
    assert cv.fold_params == chosen and params == p2 and tuned == t2
    assert cv.metrics["rmse"] == metrics(y, oof[0])["rmse"]
    np.testing.assert_array_equal(est.predict(X), est2.predict(X))

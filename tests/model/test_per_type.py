"""Per-forest-type model choice: own models where they beat the pooled one, pooled fallback with a warning."""

import numpy as np
import pytest

from minecarbon.model import POOLED, FitOptions, PooledFallbackWarning, fit_model_set, metrics


def _two_types(seed=0, n_a=40, n_b=40, n_c=5):
    """Type 1: y rises with x0; type 2: y falls with x0 (a pooled model cannot fit both); type 3: few plots."""
    rng = np.random.default_rng(seed)
    n = n_a + n_b + n_c
    X = rng.uniform(0, 1, size=(n, 3))
    t = np.array([1] * n_a + [2] * n_b + [3] * n_c, dtype=object)
    y = np.where(t == 1, 50 * X[:, 0], 50 * (1 - X[:, 0])) + rng.normal(0, 1.0, n) + 5
    return X, y, t


OPTS = FitOptions(learners=("mlr", "svm"), folds=4, grid_search=False, min_plots_per_type=10, n_jobs=1)


def test_types_with_a_different_relationship_get_their_own_model():
    X, y, t = _two_types()
    with pytest.warns(PooledFallbackWarning, match="type mixed: only 5 plot"):
        ms = fit_model_set(X, y, ["a", "b", "c"], t, None, OPTS, type_names={3: "mixed"})
    assert ms.choices[1].source == "own" and ms.choices[2].source == "own"
    assert ms.choices[3].source == "pooled" and ms.choices[3].model_key == POOLED
    assert set(ms.models) == {POOLED, "type_1", "type_2"}
    # each own model was chosen because it beats every pooled model on its plots
    idx = np.flatnonzero(t == 1)
    pooled_rmse = min(metrics(y[idx], ms.pooled[L].cv.oof_mean[idx])["rmse"] for L in OPTS.learners)
    assert ms.choices[1].cv_metrics["rmse"] < pooled_rmse
    # the assigned out-of-fold predictions are those of the chosen models
    np.testing.assert_array_equal(ms.oof[idx], ms.own[1][ms.choices[1].learner].cv.oof_mean)
    assert metrics(y, ms.oof)["rmse"] < ms.pooled[ms.pooled_best].cv.metrics["rmse"]
    # models map their own types; unknown codes get the pooled model
    assert ms.model_for(1) is ms.own[1][ms.choices[1].learner].model
    assert ms.model_for(99) is ms.pooled[ms.pooled_best].model
    chosen = ms.comparison[ms.comparison["chosen"]]
    assert len(chosen) == 1 + 3


def test_pooled_types_and_constant_types_use_the_pooled_model():
    X, y, t = _two_types(n_c=12)
    y[t == 3] = 0.0  # e.g. non-forest plots: no carbon at all
    opts = FitOptions(learners=("mlr",), folds=4, grid_search=False, n_jobs=1, pooled_types=(2,), min_plots_per_type=10)
    with pytest.warns(PooledFallbackWarning, match="AGC is the same"):
        ms = fit_model_set(X, y, ["a", "b", "c"], t, None, opts)
    assert ms.choices[2].source == "pooled" and "not a forest type" in ms.choices[2].reason
    assert ms.choices[3].source == "pooled"
    assert 2 not in ms.own


def test_fit_is_reproducible_and_pooled_only_without_types():
    X, y, _t = _two_types(seed=2)
    a = fit_model_set(X, y, ["a", "b", "c"], None, None, OPTS)
    b = fit_model_set(X, y, ["a", "b", "c"], None, None, OPTS)
    np.testing.assert_array_equal(a.oof, b.oof)
    assert a.choices == {} and set(a.models) == {POOLED}
    assert a.comparison.equals(b.comparison)


def test_grid_search_and_selection_run_inside(tmp_path):
    X, y, t = _two_types(seed=3, n_c=0)
    opts = FitOptions(learners=("svm",), folds=3, inner_folds=2, grid_search=True, per_type=False,
                      grids={"svm": {"C": [1.0, 100.0]}}, selection="correlation", n_jobs=1)
    ms = fit_model_set(X, y, ["a", "b", "c"], t, None, opts)
    fit = ms.pooled["svm"]
    assert set(fit.params) == {"learner__C"} and len(fit.cv.fold_params) == 3
    assert fit.tuned_metrics["n"] == len(y)
    assert fit.training_metrics["r2"] >= fit.cv.metrics["r2"]


def test_honest_oof_re_chooses_without_each_plot_by_hand():
    from minecarbon.model.per_type import honest_oof

    rng = np.random.default_rng(0)
    y = rng.uniform(0, 50, 12)
    preds = {"a": y + rng.normal(0, 3, 12), "b": y + rng.normal(0, 3, 12)}
    codes = np.array([None] * 12, dtype=object)
    out = honest_oof(y, preds, {}, codes, set(), ("a", "b"), 1.0)
    for i in range(12):  # by hand: the learner with the lower MSE on the other 11 plots predicts plot i
        keep = np.arange(12) != i
        best = min(("a", "b"), key=lambda L: np.mean((preds[L][keep] - y[keep]) ** 2))
        assert out[i] == preds[best][i]


def test_selection_optimism_is_removed_from_the_headline_score():
    """Pure noise: the best of many candidates looks good on its own CV scores; the honest score does not."""
    rng = np.random.default_rng(3)
    n = 60
    X = rng.normal(size=(n, 4))
    y = rng.normal(50, 10, n)
    t = np.array([1] * 30 + [2] * 30, dtype=object)
    opts = FitOptions(learners=("mlr", "svm", "rf"), folds=5, grid_search=False, min_plots_per_type=10,
                      own_margin_se=0.0, n_estimators=20, n_jobs=1)
    ms = fit_model_set(X, y, ["a", "b", "c", "d"], t, None, opts)
    assert metrics(y, ms.oof)["rmse"] >= metrics(y, ms.oof_chosen)["rmse"]

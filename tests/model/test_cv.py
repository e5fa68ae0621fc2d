"""Cross-validation: spatial groups, fold assignment, nested grid search, reproducibility, bad input."""

import numpy as np
import pytest

from minecarbon.errors import InputError
from minecarbon.model import fold_splits, grid_search, make_model, nested_cv, spatial_groups, tune_and_fit
from minecarbon.model.cv import check_training_data, param_points
from minecarbon.model.learners import pipeline_grid


def test_spatial_groups_by_hand():
    x = np.array([10.0, 990.0, 1010.0, 2500.0, 2550.0, 5000.0])
    y = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 10.0])
    # 1000 m blocks: {0,1}, {2}, {3,4}, {5}
    g = spatial_groups(x, y, 1000.0)
    assert g.tolist() == [0, 0, 1, 2, 2, 3]
    # plots 1 and 2 are 20 m apart across a block edge: linked into one group
    g = spatial_groups(x, y, 1000.0, link_m=50.0)
    assert g.tolist() == [0, 0, 0, 1, 1, 2]
    with pytest.raises(InputError, match="positive"):
        spatial_groups(x, y, 0.0)


def test_folds_keep_groups_together_balance_and_are_seeded():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 23, size=100)
    splits = fold_splits(100, groups, 5, seed=4)
    test_sets = [te for _, te in splits]
    assert sorted(np.concatenate(test_sets).tolist()) == list(range(100))  # a partition
    for tr, te in splits:
        assert not set(groups[tr]) & set(groups[te])  # no group straddles train and test
    sizes = [len(te) for te in test_sets]
    assert max(sizes) - min(sizes) <= np.bincount(groups).max()  # greedy balance
    again = fold_splits(100, groups, 5, seed=4)
    assert all((a[1] == b[1]).all() for a, b in zip(splits, again))
    other = fold_splits(100, groups, 5, seed=5)
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(splits, other))
    # without groups: plain k-fold with folds of equal size
    plain = fold_splits(10, None, 5, seed=0)
    assert [len(te) for _, te in plain] == [2, 2, 2, 2, 2]
    with pytest.raises(InputError, match="Only 3 spatial group"):
        fold_splits(10, np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2]), 5, seed=0)


def test_param_points_order():
    assert param_points({"b": [1, 2], "a": ["x"]}) == [{"a": "x", "b": 1}, {"a": "x", "b": 2}]
    assert param_points({}) == [{}]


def _noisy(seed, n=40):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = 2.0 * X[:, 0] + rng.normal(0, 3.0, n)  # weak signal, much noise
    return X, y


def test_nested_score_is_below_the_tuned_and_training_scores_on_noisy_data():
    """The tuned score (best grid point's CV score) is optimistic; nested CV is not."""
    model = make_model("svm")
    grid = pipeline_grid({"C": [1.0, 100.0, 1000.0], "epsilon": [0.01, 2.0], "gamma": [0.1, 1.0]})
    gaps = []
    for seed in (1, 2, 3):
        X, y = _noisy(seed)
        cv = nested_cv(model, grid, X, y, folds=5, inner_folds=3, seed=seed)
        est, params, tuned = tune_and_fit(model, grid, X, y, folds=5, seed=seed)
        train_rmse = float(np.sqrt(np.mean((est.predict(X) - y) ** 2)))
        assert cv.metrics["rmse"] > train_rmse
        gaps.append(cv.metrics["rmse"] - tuned["rmse"])
        assert set(params) == set(grid)
    assert np.mean(gaps) > 0  # the tuned score (same outer folds) is better than the honest one
    assert sum(g > 0 for g in gaps) >= 2


def test_identical_folds_give_identical_results_whatever_the_threads():
    X, y = _noisy(7, n=50)
    groups = np.arange(50) // 3
    model = make_model("gbdt", seed=1, n_estimators=20)
    grid = pipeline_grid({"max_depth": [1, 3]})
    a = nested_cv(model, grid, X, y, groups, folds=5, repeats=2, inner_folds=3, seed=11, n_jobs=1)
    b = nested_cv(model, grid, X, y, groups, folds=5, repeats=2, inner_folds=3, seed=11, n_jobs=2)
    np.testing.assert_array_equal(a.oof, b.oof)
    assert a.metrics == b.metrics and a.fold_params == b.fold_params
    assert a.oof.shape == (2, 50) and np.isfinite(a.oof).all()
    assert a.metrics_sd["rmse"] >= 0
    c = nested_cv(model, grid, X, y, groups, folds=5, repeats=2, inner_folds=3, seed=12)
    assert not np.array_equal(a.oof, c.oof)


def test_grid_search_picks_lowest_pooled_rmse_by_hand():
    X, y = _noisy(3)
    splits = fold_splits(len(y), None, 4, seed=0)
    model = make_model("svm")
    grid = pipeline_grid({"C": [0.01, 10.0]})
    best, best_m, table = grid_search(model, grid, X, y, splits)
    rmses = [t["rmse"] for t in table]
    assert best == table[int(np.argmin(rmses))]["params"]
    assert best_m["rmse"] == min(rmses)
    # by hand for the first point
    from sklearn.base import clone

    oof = np.empty(len(y))
    for tr, te in splits:
        oof[te] = clone(model).set_params(learner__C=0.01).fit(X[tr], y[tr]).predict(X[te])
    assert table[0]["rmse"] == pytest.approx(np.sqrt(np.mean((oof - y) ** 2)))


def test_clip_min_clips_predictions():
    X, y = _noisy(1)
    y = y - 10  # mostly negative target: clipped predictions are all >= 0
    cv = nested_cv(make_model("mlr"), None, X, y, folds=5, seed=0, clip_min=0.0)
    assert (cv.oof >= 0).all()


def test_bad_training_data_is_a_clear_error():
    with pytest.raises(InputError, match="at least 10"):
        check_training_data(np.arange(8.0), 5)
    with pytest.raises(InputError, match="same on every plot"):
        check_training_data(np.ones(20), 5)
    with pytest.raises(InputError, match="missing or infinite"):
        check_training_data(np.r_[np.arange(19.0), np.nan], 5)

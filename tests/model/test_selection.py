"""Feature selection: correlation + collinearity pruning, importance, PCA - by hand and against sklearn."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestRegressor
from sklearn.inspection import permutation_importance
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from minecarbon.errors import InputError
from minecarbon.model import CorrelationSelector, ImportanceSelector, make_model, make_selector, selection_report
from minecarbon.model.selection import selected_features


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 120
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    X = np.column_stack([a, a + rng.normal(0, 0.05, n), b, rng.normal(size=n), -a + rng.normal(0, 0.5, n)])
    y = 3 * a + 1.0 * b + rng.normal(0, 0.5, n)
    return X, y


def test_correlation_selector_by_hand(data):
    X, y = data
    sel = CorrelationSelector(max_collinearity=0.9).fit(X, y)
    r = np.array([np.corrcoef(X[:, j], y)[0, 1] for j in range(X.shape[1])])
    np.testing.assert_allclose(sel.target_r_, r, atol=1e-12)
    R = np.corrcoef(X, rowvar=False)
    # greedy by hand: visit by |r| with y, keep if |r| with every kept feature <= 0.9
    kept = []
    for j in np.argsort(-np.abs(r), kind="stable"):
        if all(abs(R[j, k]) <= 0.9 for k in kept):
            kept.append(j)
    assert sorted(kept) == list(np.flatnonzero(sel.get_support()))
    # features 0 and 1 are near copies: exactly one of them survives, named as collinear with the other
    assert sel.get_support()[0] != sel.get_support()[1]
    dropped = 1 if sel.get_support()[0] else 0
    assert sel.collinear_with_[dropped] == 1 - dropped
    assert CorrelationSelector(max_features=2).fit(X, y).get_support().sum() == 2
    assert CorrelationSelector(min_abs_r=0.3).fit(X, y).get_support()[3] == False


def test_importance_selectors_match_sklearn(data):
    X, y = data
    imp = ImportanceSelector(method="impurity", max_features=2, n_estimators=50, random_state=2).fit(X, y)
    rf = RandomForestRegressor(n_estimators=50, min_samples_leaf=2, random_state=2, n_jobs=1).fit(X, y)
    np.testing.assert_allclose(imp.importances_, rf.feature_importances_)
    assert set(np.flatnonzero(imp.get_support())) == set(np.argsort(-rf.feature_importances_)[:2])
    perm = ImportanceSelector(method="permutation", max_features=None, n_estimators=50, random_state=2).fit(X, y)
    ref = []  # by hand: sklearn's permutation importance on each held-out third
    for tr, te in KFold(3, shuffle=True, random_state=2).split(X):
        f = RandomForestRegressor(n_estimators=50, min_samples_leaf=2, random_state=2, n_jobs=1).fit(X[tr], y[tr])
        ref.append(permutation_importance(f, X[te], y[te], n_repeats=5, random_state=2,
                                          scoring="neg_mean_squared_error").importances_mean)
    np.testing.assert_allclose(perm.importances_, np.mean(ref, axis=0))
    assert perm.importances_[3] < 0.05 * perm.importances_[0]  # pure noise: (almost) no held-out importance
    assert perm.importances_[2] > perm.importances_[3]
    with pytest.raises(InputError):
        ImportanceSelector(method="gini").fit(X, y)


def test_pca_keeps_the_requested_variance(data):
    X, y = data
    t = make_selector("pca", pca_variance=0.9).fit(X, y)
    ref = PCA(n_components=0.9, svd_solver="full").fit(StandardScaler().fit_transform(X))
    assert t.transform(X).shape[1] == ref.n_components_
    with pytest.raises(InputError, match="Unknown feature selection"):
        make_selector("lasso")


def test_selection_happens_inside_the_pipeline(data):
    X, y = data
    m = make_model("mlr", make_selector("correlation", max_collinearity=0.9)).fit(X, y)
    names = ["a", "a2", "b", "noise", "neg_a"]
    kept = selected_features(m, names)
    assert "b" in kept and len(kept) < 5
    assert selected_features(make_model("rf").fit(X, y), names) == names


def test_selection_report_columns(data):
    X, y = data
    tab, pca = selection_report(X, y, ["a", "a2", "b", "noise", "neg_a"], n_estimators=30)
    assert list(tab["feature"]) == ["a", "a2", "b", "noise", "neg_a"]
    assert tab["rank_abs_r"].tolist() and sorted(tab["rank_abs_r"]) == [1, 2, 3, 4, 5]
    assert abs(sum(pca["explained_variance_ratio"]) - 1) < 1e-9
    assert (tab["collinear_with"] != "").sum() >= 1


@parametrize_with_checks([CorrelationSelector(), ImportanceSelector(n_estimators=5, max_features=2)])
def test_selectors_pass_sklearn_checks(estimator, check):
    check(estimator)

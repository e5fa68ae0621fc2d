"""Learners: scikit-learn contract, scaling, MLR against least squares."""

import numpy as np
import pytest
from sklearn.base import clone

from minecarbon.errors import InputError
from minecarbon.model import LEARNERS, make_learner, make_model
from minecarbon.model.learners import pipeline_grid, single_thread


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, size=(80, 4))
    y = 40 * X[:, 0] + 10 * X[:, 1] ** 2 + rng.normal(0, 1.0, 80)
    return X, y


@pytest.mark.parametrize("name", list(LEARNERS))
def test_learner_follows_the_sklearn_contract(name, data):
    X, y = data
    m = make_model(name, seed=3)
    c = clone(m)
    assert c.get_params()["learner"].get_params() == m.get_params()["learner"].get_params()
    p1 = c.fit(X, y).predict(X)
    p2 = clone(m).fit(X, y).predict(X)
    np.testing.assert_array_equal(p1, p2)  # seeded: refitting gives the same model
    assert np.corrcoef(p1, y)[0, 1] > 0.9
    assert single_thread(c) is c


def test_svm_is_scaled_so_units_do_not_matter(data):
    X, y = data
    a = make_model("svm").fit(X, y).predict(X)
    Xs = X * np.array([1000.0, 1.0, 0.001, 1.0])  # e.g. elevation in m next to reflectance
    b = make_model("svm").fit(Xs, y).predict(Xs)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_mlr_is_least_squares(data):
    X, y = data
    A = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    np.testing.assert_allclose(make_model("mlr").fit(X, y).predict(X), A @ coef, rtol=1e-9)


def test_unknown_learner_and_grid_names():
    with pytest.raises(InputError, match="Unknown learner 'knn'"):
        make_learner("knn")
    assert pipeline_grid({"C": [1, 10]}) == {"learner__C": [1, 10]}

"""Metrics against hand arithmetic and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from minecarbon.model import metrics
from minecarbon.model.metrics import mean_metrics


def test_metrics_by_hand_and_against_sklearn():
    y = np.array([10.0, 20.0, 30.0, 40.0])
    yhat = np.array([12.0, 18.0, 33.0, 37.0])
    m = metrics(y, yhat)
    assert m["n"] == 4
    assert m["rmse"] == pytest.approx(np.sqrt((4 + 4 + 9 + 9) / 4))
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, yhat)))
    assert m["bias"] == pytest.approx((2 - 2 + 3 - 3) / 4)
    assert m["rrmse_pct"] == pytest.approx(np.sqrt(26 / 4) / 25 * 100)
    assert m["r2"] == pytest.approx(r2_score(y, yhat))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, yhat))
    assert m["mre_pct"] == pytest.approx((2 / 10 + 2 / 20 + 3 / 30 + 3 / 40) / 4 * 100)
    assert m["rbias_pct"] == pytest.approx(0.0)


def test_metrics_skip_nan_and_zero_observations_in_relative_error():
    y = np.array([0.0, 10.0, np.nan, 20.0])
    yhat = np.array([1.0, 12.0, 5.0, np.nan])
    m = metrics(y, yhat)
    assert m["n"] == 2  # pairs with a NaN are left out
    assert m["bias"] == pytest.approx((1 + 2) / 2)
    assert m["rbias_pct"] == pytest.approx(1.5 / 5 * 100)
    assert m["mre_pct"] == pytest.approx(2 / 10 * 100)  # y = 0 has no relative error
    assert np.isnan(metrics([5.0, 5.0], [4.0, 6.0])["r2"])  # constant observations: R2 undefined
    assert metrics([], [])["n"] == 0


def test_mean_metrics_over_repeats():
    a = {"n": 3, "rmse": 1.0, "r2": 0.5}
    b = {"n": 3, "rmse": 3.0, "r2": 0.7}
    mean, sd = mean_metrics([a, b])
    assert mean == {"n": 3, "rmse": 2.0, "r2": pytest.approx(0.6)}
    assert sd["rmse"] == pytest.approx(1.0) and "n" not in sd

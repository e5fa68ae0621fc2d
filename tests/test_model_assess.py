"""Metrics, change and zonal statistics against hand arithmetic."""

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import mean_absolute_error, r2_score

from minecarbon.assess import change_amount, change_degree, zonal_stats
from minecarbon.errors import InputError
from minecarbon.model import cross_validate, metrics


def test_metrics_by_hand_and_against_sklearn():
    y = np.array([10.0, 20.0, 30.0, 40.0])
    yhat = np.array([12.0, 18.0, 33.0, 37.0])
    m = metrics(y, yhat)
    assert m["rmse"] == pytest.approx(np.sqrt((4 + 4 + 9 + 9) / 4))
    assert m["bias"] == pytest.approx((2 - 2 + 3 - 3) / 4)
    assert m["rrmse_pct"] == pytest.approx(np.sqrt(26 / 4) / 25 * 100)
    assert m["r2"] == pytest.approx(r2_score(y, yhat))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, yhat))


def test_cross_validation_is_seeded_and_honest():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = 3 * X[:, 0] + rng.normal(0, 2.0, 60)
    cv1, tr1, oof1 = cross_validate(X, y, 50, 5, seed=3)
    cv2, _, oof2 = cross_validate(X, y, 50, 5, seed=3)
    np.testing.assert_array_equal(oof1, oof2)
    assert cv1["r2"] < tr1["r2"]  # training fit is optimistic on noisy data
    with pytest.raises(InputError, match="at least 10"):
        cross_validate(X[:8], y[:8], 10, 5, seed=0)
    with pytest.raises(InputError, match="same on every plot"):
        cross_validate(X, np.ones(60), 10, 5, seed=0)


def test_change_amount_and_degree():
    a1 = xr.DataArray(np.array([[10.0, 0.5, np.nan, 40.0]]), dims=("y", "x"))
    a2 = xr.DataArray(np.array([[15.0, 2.0, 3.0, 10.0]]), dims=("y", "x"))
    np.testing.assert_allclose(change_amount(a1, a2).values, [[5.0, 1.5, np.nan, -30.0]])
    # degree is nodata where the reference is below 1 t C/ha (no division by ~0)
    np.testing.assert_allclose(change_degree(a1, a2, 1.0).values, [[50.0, np.nan, np.nan, -75.0]])


def test_zonal_stats_by_hand():
    v = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])
    z = np.array([[1, 1, 2], [2, 2, 0]])
    out = zonal_stats(v, z, pixel_area_ha=0.09).set_index("zone")
    assert list(out.index) == [1, 2]
    assert out.loc[1, "count"] == 2 and out.loc[1, "mean"] == 1.5
    assert out.loc[1, "variance"] == pytest.approx(0.25)        # population variance of [1, 2]
    assert out.loc[2, "count"] == 2 and out.loc[2, "min"] == 3 and out.loc[2, "max"] == 4  # NaN skipped
    assert out.loc[2, "sum_t"] == pytest.approx(7 * 0.09)

"""Running median in time: keeps steps and linear trends, removes one-year shocks; numpy and dask agree."""

import numpy as np
import pytest
import xarray as xr

from minecarbon.errors import InputError
from minecarbon.model.temporal_filter import running_median, running_median_np


def test_linear_trend_and_step_are_kept():
    years = np.arange(20.0)
    trend = 10 + 0.8 * years
    assert np.allclose(running_median_np(trend, 5), trend)  # ends too (odd reflection)
    step = np.where(years < 8, 40.0, 0.0)  # excavation in year 8
    assert np.array_equal(running_median_np(step, 5), step)


def test_one_year_shock_removed_by_hand():
    x = np.array([10.0, 11, 12, 20, 14, 15, 16])
    # window 3 at index 3: median(12, 20, 14) = 14; index 2: median(11, 12, 20) = 12; index 4: median(20, 14, 15) = 15
    got = running_median_np(x, 3)
    assert got[3] == 14 and got[2] == 12 and got[4] == 15
    # end: odd reflection 2*10 - 11 = 9 -> median(9, 10, 11) = 10 (the end value is kept)
    assert got[0] == 10 and got[-1] == 16


def test_nan_is_skipped_within_window_and_kept_where_missing():
    x = np.array([1.0, 2, np.nan, 4, 5])
    got = running_median_np(x, 3)
    assert np.isnan(got[2]) and got[1] == 1.5 and got[3] == 4.5


def test_dask_equals_numpy_and_clips():
    rng = np.random.default_rng(0)
    a = rng.normal(5, 4, (12, 30, 40))
    da = xr.DataArray(a, dims=("year", "y", "x"), coords={"year": np.arange(2005, 2017)})
    ref = running_median(da, 5).values
    got = running_median(da.chunk({"year": 4, "y": 16, "x": 16}), 5).values
    assert np.array_equal(ref, got) and (ref >= 0).all()
    assert np.allclose(np.maximum(running_median_np(a, 5, axis=0), 0), ref)


def test_even_window_refused():
    with pytest.raises(InputError, match="odd"):
        running_median_np(np.arange(5.0), 4)


def test_window_median_equals_numpys_nanmedian_and_all_nan_gives_nan_without_a_warning():
    import warnings

    from minecarbon.model.temporal_filter import _nanmedian_last

    rng = np.random.default_rng(3)
    for shape in [(20, 60, 5), (9, 4, 3), (6, 7)]:  # odd and even counts of valid values per window
        a = rng.normal(10, 5, shape)
        a[rng.random(shape) < 0.4] = np.nan
        a[..., :2, :] = np.nan  # whole windows missing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = np.nanmedian(a, axis=-1)  # the peer: numpy
        assert np.array_equal(_nanmedian_last(a), ref, equal_nan=True)
    x = np.full((20, 30), np.nan)  # pixels without any year, and a pixel with a 9-year gap
    x[:, 5:] = rng.normal(10, 5, (20, 25))
    x[3:12, 7] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "All-NaN slice encountered" would fail here
        got = running_median_np(x, 5)
    assert np.isnan(got[:, :5]).all() and np.isnan(got[3:12, 7]).all() and np.isfinite(got[:, 8:]).all()

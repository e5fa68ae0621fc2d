"""Gap filling and phenology features against hand arithmetic and analytic curves."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from minecarbon.classify.phenology import FEATURES, phenology
from minecarbon.classify.series import fill_gaps
from minecarbon.errors import InputError


def test_fill_gaps_hand_values():
    t = pd.to_datetime(["2020-01-01", "2020-01-11", "2020-01-21", "2020-02-10", "2020-02-20"])
    v = xr.DataArray([[0.9, 0.2, 0.4, 0.8, 0.1]], dims=("px", "time"), coords={"time": t})
    clear = xr.DataArray([[False, True, False, True, False]], dims=("px", "time"), coords={"time": t})
    ds = fill_gaps(v, clear, min_clear=2)
    # clear: 0.2 at day 10, 0.8 at day 40 -> day 20: 0.2 + 10/30 * 0.6; ends carry the nearest clear value
    np.testing.assert_allclose(ds.filled.values[0], [0.2, 0.2, 0.4, 0.8, 0.8], rtol=1e-6)
    assert int(ds.n_clear[0]) == 2
    ds3 = fill_gaps(v, clear, min_clear=3)
    assert np.isnan(ds3.filled.values).all() and int(ds3.n_clear[0]) == 2


def test_cloudy_values_never_leak_and_dask_identical():
    rng = np.random.default_rng(3)
    t = pd.date_range("2021-01-01", periods=24, freq="15D")
    truth = 0.5 + 0.3 * np.sin(2 * np.pi * np.arange(24) / 24)
    v = np.broadcast_to(truth, (8, 9, 24)).copy()
    clear = rng.random((8, 9, 24)) > 0.4
    clear[0, 0] = False  # no clear observation at all
    v[~clear] = 99.0  # clouds: absurd values that must not enter
    da_ = xr.DataArray(np.moveaxis(v, -1, 0), dims=("time", "y", "x"), coords={"time": t})
    cl = xr.DataArray(np.moveaxis(clear, -1, 0), dims=("time", "y", "x"), coords={"time": t})
    a = fill_gaps(da_, cl, min_clear=3)
    b = fill_gaps(da_.chunk({"y": 3, "x": 4, "time": 5}), cl.chunk({"y": 3, "x": 4, "time": 5}), min_clear=3)
    xr.testing.assert_identical(a, b.compute())
    f = a.filled.values
    assert np.nanmax(f) < 0.81  # interpolation between clear values only
    assert np.isnan(f[:, 0, 0]).all() and int(a.n_clear[0, 0]) == 0
    np.testing.assert_array_equal(a.n_clear.values, clear.sum(-1))


def _curve(doy, base=0.2, amp=0.6, sos=120, eos=280, k=0.1):
    return base + amp * (1 / (1 + np.exp(-k * (doy - sos))) - 1 / (1 + np.exp(-k * (doy - eos))))


def test_phenology_of_a_double_logistic():
    t = pd.date_range("2019-01-01", "2019-12-31", freq="D")
    doy = np.arange(1, len(t) + 1, dtype=float)
    v = _curve(doy)
    da_ = xr.DataArray(v[:, None], dims=("time", "px"), coords={"time": t})
    f = phenology(da_).sel(px=0)
    g = dict(zip(FEATURES, f.values.astype(float)))
    # half-amplitude crossings of a symmetric double logistic: at its inflection points (120, 280)
    assert g["sos_doy"] == pytest.approx(120, abs=1.0) and g["eos_doy"] == pytest.approx(280, abs=1.0)
    assert g["los_days"] == pytest.approx(160, abs=2.0)
    assert g["peak_doy"] == pytest.approx(200, abs=2.0)
    assert g["amplitude"] == pytest.approx(v.max() - v.min(), rel=1e-5)
    assert g["integral"] == pytest.approx(np.trapezoid(v - v.min(), doy), rel=1e-5)
    assert g["mean_jja"] == pytest.approx(v[(t.month >= 6) & (t.month <= 8)].mean(), rel=1e-5)
    assert g["h1_peak_doy"] == pytest.approx(200, abs=5)


def test_harmonics_of_an_exact_sinusoid_and_nan_pixel():
    t = pd.date_range("2020-01-05", periods=23, freq="16D")
    doy = ((t - pd.Timestamp("2020-01-01")) / pd.Timedelta(days=1)).to_numpy() + 1
    w = 2 * np.pi * doy / 365.25
    v = 0.4 + 0.25 * np.cos(w - 2 * np.pi * 190 / 365.25) + 0.05 * np.sin(2 * w)
    arr = np.stack([v, v]).T.copy()
    arr[3, 1] = np.nan
    f = phenology(xr.DataArray(arr, dims=("time", "px"), coords={"time": t}))
    g = dict(zip(FEATURES, f.sel(px=0).values.astype(float)))
    assert g["h0"] == pytest.approx(0.4, abs=1e-5)
    assert g["h1_amp"] == pytest.approx(0.25, abs=1e-5)
    assert g["h1_peak_doy"] == pytest.approx(190, abs=0.05)
    assert g["h2_amp"] == pytest.approx(0.05, abs=1e-5)
    assert np.isnan(f.sel(px=1).values).all()


def test_phenology_needs_dates():
    with pytest.raises(InputError, match="at least 5 dates"):
        phenology(xr.DataArray(np.ones((3, 2)), dims=("time", "px"),
                               coords={"time": pd.date_range("2020-01-01", periods=3)}))

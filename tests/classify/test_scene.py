"""Per-year scene features from monthly composites (classify.scene): hand values, masked observations, dask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from minecarbon.classify.scene import NO_SEASON, scene_features
from minecarbon.errors import InputError

BANDS = ["blue", "green", "red", "nir", "swir1", "swir2"]
TIMES = pd.to_datetime([f"2020-{m:02d}-15" for m in range(1, 13)])


def _cube(h=6, w=5, seed=0):
    rng = np.random.default_rng(seed)
    green = np.array([0.1, 0.1, 0.2, 0.5, 0.8, 1.0, 1.0, 1.0, 0.9, 0.5, 0.2, 0.1])
    base = rng.uniform(0.02, 0.1, (6, h, w))
    cube = np.empty((12, 6, h, w))
    for t in range(12):
        cube[t] = base
        cube[t, 3] = base[3] + 0.3 * green[t]  # nir follows the season
    cube += rng.normal(0, 0.003, cube.shape)
    return xr.DataArray(cube, dims=("time", "band", "y", "x"), coords={"time": TIMES, "band": BANDS})


def test_hand_values_and_shapes():
    mon = _cube()
    mon[2, :, 1, 1] = np.nan  # March cloudy at (1, 1)
    f = scene_features(mon, mon.isel(time=6), leaf_off_month=1, leaf_on_month=7, min_clear=4)
    assert f.species.sizes["band"] == 12 + 16 + 72 and f.forest.sizes["band"] == 6 + 1 + 100
    nd = (mon.sel(band="nir") - mon.sel(band="red")) / (mon.sel(band="nir") + mon.sel(band="red"))
    s = f.species.sel(band=[f"ndvi_m{m:02d}" for m in range(1, 13)]).values
    assert np.allclose(s[:, 0, 0], nd.values[:, 0, 0], atol=1e-6)
    # the cloudy March is filled linearly between February and April (equal spacing in days: close to the mean)
    t = (TIMES - TIMES[0]).days.to_numpy(float)
    w = (t[2] - t[1]) / (t[3] - t[1])
    assert s[2, 1, 1] == pytest.approx(nd.values[1, 1, 1] + w * (nd.values[3, 1, 1] - nd.values[1, 1, 1]), abs=1e-6)
    assert int(f.n_clear.values[1, 1]) == 11 and int(f.n_clear.values[0, 0]) == 12
    assert np.allclose(f.rvi_off.values, mon.isel(time=0).sel(band="nir") / mon.isel(time=0).sel(band="red"))
    assert np.allclose(f.leaf_on.values, mon.isel(time=6).values, atol=1e-6)


def test_masked_observations_never_enter_and_dask_is_identical():
    mon = _cube(8, 7, seed=3)
    cloud = np.random.default_rng(1).random((12, 8, 7)) < 0.3
    a = mon.where(~xr.DataArray(cloud, dims=("time", "y", "x")))
    f1 = scene_features(a, a.isel(time=5))
    f2 = scene_features(a.chunk({"y": 3, "x": 4}), a.isel(time=5).chunk({"y": 3, "x": 4}))
    for name in ("forest", "species", "leaf_off", "leaf_on", "rvi_off", "n_clear"):
        xr.testing.assert_identical(getattr(f1, name), getattr(f2, name).compute())
    # one band cloudy masks the observation for all bands (one clear mask): the filled red of a pixel whose only
    # masked value is its July nir equals the interpolation of its June and August red, not its own July red
    b = mon.copy()
    b[6, 3, 0, 0] = np.nan
    red = scene_features(b).species.sel(band="red_m07").values[0, 0]
    assert red == pytest.approx(0.5 * (mon.values[5, 2, 0, 0] + mon.values[7, 2, 0, 0]), rel=0.02)
    assert red != mon.values[6, 2, 0, 0]


def test_flagged_pixels_and_no_season_sentinel():
    mon = _cube()
    mon[:10, :, 0, 0] = np.nan  # 2 clear months < min_clear 4: flagged
    flat = mon.copy()
    flat[:, :, 2, 2] = flat.values[0, :, 2, 2]  # the same spectrum all year: a flat NDVI series, no season
    f = scene_features(flat, min_clear=4)
    assert np.isnan(f.species.values[:, 0, 0]).all() and int(f.n_clear.values[0, 0]) == 2
    assert np.isfinite(f.species.values[:, 2, 2]).all()
    for name in ("ndvi_sos_doy", "ndvi_eos_doy", "ndvi_los_days"):
        assert f.species.sel(band=name).values[2, 2] == NO_SEASON


def test_missing_leaf_month_is_an_error():
    with pytest.raises(InputError, match="leaf-off month 1"):
        scene_features(_cube().isel(time=slice(1, 12)), leaf_off_month=1)

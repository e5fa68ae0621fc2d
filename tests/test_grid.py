"""minecarbon.grid: the chunk-by-chunk warp of a small source onto a dask template equals the whole-grid warp."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.enums import Resampling

from minecarbon import grid


def _coarse(crs="EPSG:32649"):
    """A 40 x 50 grid of 960-m cells (a climate grid) with one NaN cell."""
    rng = np.random.default_rng(0)
    da = xr.DataArray(rng.normal(10, 3, (40, 50)), dims=("y", "x"),
                      coords={"y": 500000 - (np.arange(40) + 0.5) * 960, "x": 300000 + (np.arange(50) + 0.5) * 960})
    da[5, 5] = np.nan
    da = da.rio.write_crs("EPSG:32649").rio.write_transform(Affine(960, 0, 300000, 0, -960, 500000))
    return da if crs == "EPSG:32649" else da.rio.reproject(crs)


def _template(h=700, w=650):
    t = Affine(30, 0, 302345, 0, -30, 499000)
    tm = xr.DataArray(np.zeros((h, w), np.float32), dims=("y", "x"),
                      coords={"y": 499000 - (np.arange(h) + 0.5) * 30, "x": 302345 + (np.arange(w) + 0.5) * 30})
    return tm.rio.write_crs("EPSG:32649").rio.write_transform(t)


@pytest.mark.parametrize("categorical", [False, True])
def test_align_to_a_dask_template_is_lazy_and_equals_the_whole_warp(categorical):
    src, tm = _coarse(), _template()
    whole = grid.align(src, tm, categorical=categorical)  # numpy template: rioxarray, whole grid
    lazy = grid.align(src, tm.chunk(128), categorical=categorical)
    assert isinstance(whole.data, np.ndarray)
    assert lazy.chunks == tm.chunk(128).chunks  # one warp per template chunk
    with dask.config.set(scheduler="synchronous"):
        got = lazy.values
    np.testing.assert_array_equal(got, whole.values)
    assert np.isnan(got).sum() > 0  # the NaN cell and the edges beyond the coarse pixel centres stay NaN
    assert lazy.rio.transform() == tm.rio.transform() and lazy.rio.crs == tm.rio.crs
    # bilinear between cell centres by hand: pixel (row 100, col 100) of the template
    if not categorical:
        x = 302345 + 100.5 * 30
        y = 499000 - 100.5 * 30
        fc, fr = (x - 300000) / 960 - 0.5, (500000 - y) / 960 - 0.5
        c0, r0 = int(np.floor(fc)), int(np.floor(fr))
        wx, wy = fc - c0, fr - r0
        v = src.values
        want = ((1 - wy) * ((1 - wx) * v[r0, c0] + wx * v[r0, c0 + 1])
                + wy * ((1 - wx) * v[r0 + 1, c0] + wx * v[r0 + 1, c0 + 1]))
        assert np.isclose(got[100, 100], want, rtol=1e-6)


def test_another_crs_is_warped_whole():
    """Across CRSs GDAL's approximate transform depends on the window: such sources are warped whole."""
    src, tm = _coarse("EPSG:4326"), _template()
    lazy = grid.align(src, tm.chunk(128))
    np.testing.assert_array_equal(lazy.values, grid.align(src, tm).values)

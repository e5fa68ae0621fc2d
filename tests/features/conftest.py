"""Helpers for the feature tests: small georeferenced rasters."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from rasterio.transform import from_origin


def make_raster(data: np.ndarray, res: float = 30.0, chunks=None, crs: str | None = "EPSG:32649",
                x0: float = 500000.0, y0: float = 4000000.0) -> xr.DataArray:
    """A (y, x) DataArray on a north-up grid, numpy- or dask-backed."""
    h, w = data.shape
    arr = da.from_array(data, chunks=chunks) if chunks else data
    out = xr.DataArray(arr, dims=("y", "x"),
                       coords={"y": y0 - (np.arange(h) + 0.5) * res, "x": x0 + (np.arange(w) + 0.5) * res})
    out = out.rio.write_transform(from_origin(x0, y0, res, res))
    if crs is not None:
        out = out.rio.write_crs(crs)
    return out


@pytest.fixture
def raster():
    return make_raster


def smooth_field(shape, seed=0, sigma=3.0, scale=1.0, offset=0.0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    return gaussian_filter(rng.normal(size=shape), sigma) * scale + offset

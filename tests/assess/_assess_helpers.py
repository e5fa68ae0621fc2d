"""Helpers of the assessment tests (imported by the test modules)."""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine


def make_da(values: np.ndarray, pixel_m: float = 30.0, x0: float = 500_000.0, y0: float = 4_000_000.0,
            crs: str = "EPSG:32649") -> xr.DataArray:
    """A (y, x) or (year, y, x) DataArray on a north-up grid with CRS and transform."""
    values = np.asarray(values)
    h, w = values.shape[-2:]
    xs = x0 + (np.arange(w) + 0.5) * pixel_m
    ys = y0 - (np.arange(h) + 0.5) * pixel_m
    dims = ("y", "x") if values.ndim == 2 else ("year", "y", "x")
    coords = {"y": ys, "x": xs}
    da = xr.DataArray(values, dims=dims, coords=coords)
    da = da.rio.write_crs(crs).rio.write_transform(Affine(pixel_m, 0, x0, 0, -pixel_m, y0))
    return da

"""Feature stacks (many-band float32 rasters) written as Cloud-Optimized GeoTIFFs.

Used by the features stage and by the file-in/file-out tools
(``minecarbon tool features``, ``minecarbon tool classify``).
"""

from __future__ import annotations

from pathlib import Path

import rasterio
import xarray as xr

from .raster import write_raster

__all__ = ["WRITE_TILE", "write_stack"]


WRITE_TILE = 256
"""Tile size of the GeoTIFFs written by :func:`minecarbon.io.write_raster`."""


def _write_chunks(stack: xr.DataArray, chunk_px: int) -> xr.DataArray:
    """Chunks for writing: every band in one chunk (the GeoTIFF is pixel-interleaved) and window edges on
    tile edges (after the halo crop they are not), so that each tile is compressed and written once."""
    if stack.chunks is None:
        return stack
    side = max(WRITE_TILE, chunk_px // WRITE_TILE * WRITE_TILE)
    return stack.chunk({"band": -1, "y": side, "x": side})


def write_stack(stack: xr.DataArray, path: Path) -> Path:
    """Write a feature stack as a Cloud-Optimized GeoTIFF without overviews, atomically.

    :func:`minecarbon.io.write_raster` (float32, NaN nodata, band descriptions, compressed on every core)
    with **no overviews**: GDAL's overview building on a pixel-interleaved stack of ~50 float32
    bands thrashes its block cache once the stack is larger than the cache (measured: 18 s
    without overviews, 745 s with them, for 1620 x 1620 x 48 with a 256 MB cache).  Feature
    stacks are model inputs, not maps to browse, so they need no overviews.  The block cache
    setting below is read by rasterio as bytes (an int goes to GDAL's ``GDALSetCacheMax`` as is),
    so the stack is written with practically no block cache, as it was when the times above were
    measured; a cache of 512 MB as once intended has not been measured (session 9 found the unit).
    """
    with rasterio.Env(GDAL_CACHEMAX=512):
        return write_raster(stack, Path(path), dtype="float32", units="mixed", overviews=False)

"""The classify stage's reflectance read one spatial chunk per dask task (memory bounded by the chunk, not the area).

A year's inputs are 13 files (12 monthly composites and the yearly one) of 6 bands. Opened lazily band by band
(``open_raster`` with dask chunks, scaling and masking, put on the grid) they cost about a thousand dask tasks per
spatial chunk, and the graph of a year grows with the number of chunks: on the medium scene (36 chunks of 128 px)
50,000 tasks, 24 MiB of graph before dask's scheduler copies it; on the large one (over 800 chunks) a million.
:func:`chunked_reflectance` builds the same (file, band, y, x) cube with **one task per spatial chunk**: the task
reads the chunk's window of each file (kept open while the cube lives, as rioxarray keeps its files open, so that
GDAL's block cache serves the neighbouring chunks of a decoded tile), masks nodata as ``open_raster(masked=True)``,
pads with NaN beyond the raster (:func:`~minecarbon.grid.align_to`, as for the whole grid) and scales and masks it
with :func:`~minecarbon.features.surface_reflectance`. Every step is per pixel, so the values equal those of the whole-grid
path bit for bit (``tests/pipeline/test_classify_chunked_read.py``). Rasters off the grid's pixel lattice (which
need resampling) keep the whole-grid path (:func:`on_lattice`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import dask.array as da
import numpy as np
import rasterio
import xarray as xr
from rasterio.transform import Affine
from rasterio.windows import Window

from ...grid import align_to


def on_lattice(path: str | Path, tmpl: xr.DataArray) -> bool:
    """True when the raster shares the template's CRS and pixel lattice (:func:`~minecarbon.grid.align_to` then only
    crops and pads); False for a file that does not exist (the whole-grid path reports it)."""
    if not Path(path).is_file():
        return False
    with rasterio.open(path) as src:
        t, crs = src.transform, src.crs
    d = tmpl.rio.transform()
    if crs is None or crs != tmpl.rio.crs or not (np.isclose(t.a, d.a) and np.isclose(t.e, d.e)) or t.b or t.d:
        return False
    col0, row0 = (d.c - t.c) / t.a, (d.f - t.f) / t.e
    return bool(np.isclose(col0, round(col0), atol=1e-6) and np.isclose(row0, round(row0), atol=1e-6))


def window_template(tmpl: xr.DataArray, r0: int, r1: int, c0: int, c1: int) -> xr.DataArray:
    """The rows r0:r1, columns c0:c1 of the template grid, with their transform and CRS."""
    sub = tmpl.isel(y=slice(r0, r1), x=slice(c0, c1))
    return sub.rio.write_transform(tmpl.rio.transform() * Affine.translation(c0, r0)).rio.write_crs(tmpl.rio.crs)


def chunked_reflectance(paths: Sequence[str | Path], whats: Sequence[str], tmpl: xr.DataArray, chunk: int,
                        reflectance: Callable[[xr.DataArray, str], dict[str, xr.DataArray]],
                        bands: Sequence[str]) -> da.Array:
    """(file, band, y, x) float32 reflectance of ``paths`` on the template grid, one dask task per spatial chunk.

    ``reflectance(image, what)`` scales and masks a (band, y, x) image (the stage's
    :func:`~minecarbon.features.surface_reflectance` call) and returns the common band names -> (y, x) arrays.
    """
    paths, whats, bands = [str(p) for p in paths], list(whats), list(bands)
    h, w = tmpl.shape[-2:]
    files = _Files(paths)

    def block(block_info=None) -> np.ndarray:
        (r0, r1), (c0, c1) = block_info[None]["array-location"][-2:]
        wt = window_template(tmpl, r0, r1, c0, c1)
        out = np.empty((len(paths), len(bands), r1 - r0, c1 - c0), np.float32)
        for i, (path, what) in enumerate(zip(paths, whats)):
            img = files.window(path, wt)
            if img is None:  # the window lies wholly beyond the raster: no data
                out[i] = np.nan
                continue
            refl = reflectance(align_to(img, wt), what)
            for j, b in enumerate(bands):
                out[i, j] = refl[b].values
        return out

    chunks = ((len(paths),), (len(bands),), _split(h, chunk), _split(w, chunk))
    return da.map_blocks(block, chunks=chunks, dtype=np.float32, meta=np.empty((0, 0, 0, 0), np.float32))


class _Files:
    """The files of one cube, each opened once and kept open while the cube lives (GDAL's block cache then serves
    the neighbouring chunks of a decoded tile; a file opened per chunk decodes its tiles again and again), read
    under one lock per file (a GDAL dataset is not thread-safe)."""

    def __init__(self, paths: Sequence[str]):
        self._lock = threading.Lock()
        self._open: dict[str, tuple] = {}
        self.paths = list(paths)

    def __getstate__(self) -> dict:
        # shipped to another process (a cluster's worker, the processes scheduler): the paths only; the worker
        # opens the files itself (open datasets and locks cannot be pickled)
        return {"paths": self.paths}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["paths"])

    def _get(self, path: str):
        with self._lock:
            if path not in self._open:
                src = rasterio.open(path)
                names = [d if d else f"band_{i + 1}" for i, d in enumerate(src.descriptions)]
                self._open[path] = (src, threading.Lock(), names)
            return self._open[path]

    def window(self, path: str, wt: xr.DataArray) -> xr.DataArray | None:
        """The part of the raster inside the window template ``wt`` (same lattice) as ``open_raster(masked=True)``
        gives it (nodata -> NaN, 8/16-bit integers as float32), or None when they share no pixel."""
        src, lock, names = self._get(path)
        t, d = src.transform, wt.rio.transform()
        c0, r0 = round((d.c - t.c) / t.a), round((d.f - t.f) / t.e)
        h, w = wt.shape[-2:]
        rs, re_, cs, ce = max(r0, 0), min(r0 + h, src.height), max(c0, 0), min(c0 + w, src.width)
        if rs >= re_ or cs >= ce:
            return None
        with lock:
            data = src.read(window=Window(cs, rs, ce - cs, re_ - rs))
            nodata, crs = src.nodata, src.crs
        if nodata is not None:  # rioxarray's masked=True: CF decoding of _FillValue
            ftype = data.dtype if data.dtype.kind == "f" else (np.float32 if data.dtype.itemsize <= 2 else np.float64)
            data = np.where(data == nodata, np.nan, data).astype(ftype)
        xs = t.c + (np.arange(cs, ce) + 0.5) * t.a
        ys = t.f + (np.arange(rs, re_) + 0.5) * t.e
        out = xr.DataArray(data, dims=("band", "y", "x"), coords={"band": names, "y": ys, "x": xs})
        return out.rio.write_crs(crs).rio.write_transform(t * Affine.translation(cs, rs))


def _split(n: int, chunk: int) -> tuple[int, ...]:
    return tuple(min(chunk, n - i) for i in range(0, n, chunk))

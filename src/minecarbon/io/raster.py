"""Rasters: open with checks, write Cloud-Optimized GeoTIFF atomically.

Rasters are opened lazily (dask chunks) through rioxarray; band descriptions
become the ``band`` coordinate so that bands are addressed by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.errors import RasterioIOError
from rasterio.io import MemoryFile

from ..errors import CRSError, GridError, InputError
from .atomic import atomic_path
from .geotiff import (  # noqa: F401  (the codec and COG settings, defined beside the numpy reader / writer)
    BLOCK_PX,
    CODECS,
    DEFAULT_CODEC,
    IN_MEMORY_MAX_BYTES,
    OVERVIEW_MIN_PX,
    ZSTD_LEVEL,
    check_projected,
    compression_options,
    damaged,
    require_file,
    unreadable,
)
from .geotiff import cog_options as _cog_options
from .locks import chunk_write_lock

__all__ = ["open_raster", "open_raster_fitting", "damaged_block", "band", "write_raster", "write_rasters",
           "strips", "STRIP_CHUNKS", "check_overlap", "compression_options", "CODECS", "DEFAULT_CODEC", "ZSTD_LEVEL",
           "BLOCK_PX", "IN_MEMORY_MAX_BYTES", "OVERVIEW_MIN_PX"]


def open_raster(path: str | Path, what: str = "raster", chunks: int | bool | None = 512,
                require_projected: bool = True, masked: bool = True) -> xr.DataArray:
    """Open a GeoTIFF as a (band, y, x) DataArray with band names from the band descriptions.

    Parameters
    ----------
    path : path of the raster.
    what : what the raster is, for error messages ("DEM", "image 2010", ...).
    chunks : dask chunk size in pixels per side; None/False for numpy.
    require_projected : raise :class:`CRSError` for a missing or geographic CRS.
    masked : nodata -> NaN (float).

    Raises
    ------
    MissingInputError, InputError, CRSError
    """
    path = Path(path)
    require_file(path, what)
    try:
        with rasterio.open(path) as src:
            descriptions = list(src.descriptions)
            crs = src.crs
        da = rioxarray.open_rasterio(path, masked=masked,
                                     chunks={"band": 1, "x": chunks, "y": chunks} if chunks else None)
    except (RasterioIOError, rasterio.errors.RasterioError) as exc:
        raise unreadable(path, what, exc) from None
    if require_projected:
        check_projected(crs, path, what)
    names = [d if d else f"band_{i + 1}" for i, d in enumerate(descriptions)]
    da = da.assign_coords(band=names)
    da.attrs["source_path"] = str(path)
    return da


def open_raster_fitting(path: str | Path, what: str = "raster", chunks: int = 512, require_projected: bool = True,
                        masked: bool = True, max_bytes: int | None = None) -> xr.DataArray:
    """:func:`open_raster`, read into memory (numpy-backed, one read of the file) when the raster fits.

    A raster of at most ``max_bytes`` (default :data:`IN_MEMORY_MAX_BYTES`, as read: after the nodata
    mask) is read whole, so that the functions given it run their numpy path - no dask graph, no
    scheduler - as the file tools do for one-file inputs; a larger one is opened lazily in ``chunks``
    px dask chunks exactly as ``open_raster(path, what, chunks, ...)`` does.  The values are the
    same either way.
    """
    limit = IN_MEMORY_MAX_BYTES if max_bytes is None else max_bytes
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):  # the whole-raster read decompresses its blocks on every core
        da = open_raster(path, what=what, chunks=None, require_projected=require_projected, masked=masked)
        if da.nbytes <= limit:
            try:
                return da.load()
            except Exception as exc:  # noqa: BLE001 - GDAL's read errors (rasterio._err.CPLE_*) name no file
                if not type(exc).__module__.startswith("rasterio"):
                    raise
                raise damaged(path, what, exc) from None
    da.close()
    return open_raster(path, what=what, chunks=chunks, require_projected=require_projected, masked=masked)


def damaged_block(path: str | Path) -> str | None:
    """Where a GeoTIFF is damaged, in words, or None when every block reads back intact.

    Every tile/strip is read: a Deflate-compressed block is decompressed with
    zlib, which verifies the Adler-32 checksum each block carries (GDAL's
    reader stops once the block is full and so does not notice flipped bytes
    that still decode); a block reaching past the end of the file is a
    truncated file; other compressions are read in full through GDAL with its
    errors raised.  Costs one read of the file.
    """
    import zlib

    path = Path(path)
    size = path.stat().st_size
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path) as src:
        compress = str(src.profile.get("compress") or "").lower()
        if src.driver != "GTiff" or compress != "deflate":
            try:
                for bidx in range(1, src.count + 1):
                    for _, window in src.block_windows(bidx):
                        src.read(bidx, window=window)
            except rasterio.errors.RasterioError as exc:
                cause = exc.__cause__ or exc
                return f"it cannot be read completely ({cause})"
            return None
        per_band = src.profile.get("interleave") == "band" and src.count > 1
        with open(path, "rb") as raw:
            for bidx in (range(1, src.count + 1) if per_band else (1,)):
                for (row, col), _ in src.block_windows(bidx):
                    off = src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=bidx)
                    n = src.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=bidx)
                    if not off or not n or int(n) == 0:
                        continue  # a sparse (empty) block
                    where = f"block (row {row}, column {col})" + (f" of band {bidx}" if per_band else "")
                    if int(off) + int(n) > size:
                        return f"it is truncated: {where} lies past the end of the file ({size} bytes)"
                    raw.seek(int(off))
                    try:
                        zlib.decompress(raw.read(int(n)))
                    except zlib.error as exc:
                        return f"{where} fails its Deflate checksum ({exc})"
    return None


def band(da: xr.DataArray, name: str, what: str = "raster") -> xr.DataArray:
    """Select one band by description; a missing band is an error that names it."""
    names = [str(b) for b in da["band"].values]
    if name not in names:
        src = da.attrs.get("source_path", what)
        raise InputError(f"{what} {src} has no band {name!r} (bands: {', '.join(names)}). Set the band "
                         f"description in the file or map it in the project file ([images].bands).")
    return da.sel(band=name)


def write_raster(da: xr.DataArray, path: str | Path, band_names: Sequence[str] | None = None,
                 nodata: float | None = None, dtype: str | None = None, cog: bool = True,
                 units: str | None = None, codec: str | None = None,
                 overviews: bool | None = None) -> Path:
    """Write a DataArray (2-D or band, y, x) as a (Cloud-Optimized) GeoTIFF, atomically.

    Parameters
    ----------
    codec : ``"ZSTD"`` (default, :data:`DEFAULT_CODEC`), ``"DEFLATE"`` or ``"LERC"``; all lossless,
        with the floating-point predictor for floats and horizontal differencing for integers.
    overviews : build COG overviews; None (default) builds them only for rasters with a side longer
        than :data:`OVERVIEW_MIN_PX` (average for floats, nearest for integer classes).

    An array of up to :data:`IN_MEMORY_MAX_BYTES` is computed once (dask, on the active scheduler)
    and written in one pass: a tiled GeoTIFF in memory (``/vsimem``), then GDAL's COG driver
    compresses it on every core into the file.  Larger dask arrays are written chunk by chunk into
    a tiled GeoTIFF on disk (ZSTD level 1, under the lock of :func:`.locks.chunk_write_lock` so that
    any scheduler's workers can write it), which the COG driver then copies.  Either way the
    COG's bytes are GDAL's re-encoding of the pixel values, so they do not depend on the path or
    on the scheduler.  Files that may pass 4 GB become BigTIFF (GDAL's ``BIGTIFF=IF_SAFER``).
    """
    path = Path(path)
    da, names = _prepared(da, path, band_names, nodata, dtype)
    in_memory = da.chunks is None or da.nbytes <= IN_MEMORY_MAX_BYTES
    with atomic_path(path) as tmp:
        if not cog:
            _write_tiled(da, tmp, names, units, compression_options(da.dtype, codec), streamed=not in_memory)
            return path
        opts = _cog_options(da.dtype, codec, overviews, (da.sizes["y"], da.sizes["x"]))
        if in_memory:
            with MemoryFile(ext=".tif") as mem:
                _write_tiled(da, Path(mem.name), names, units, {"compress": "NONE"}, streamed=False)
                rasterio.shutil.copy(mem.name, tmp, driver="COG", **opts)
        else:
            tiled = tmp.with_name(tmp.name + ".tiled.tif")
            try:
                _write_tiled(da, tiled, names, units, compression_options(da.dtype, "ZSTD"), streamed=True)
                rasterio.shutil.copy(tiled, tmp, driver="COG", **opts)
            finally:
                if tiled.exists():
                    tiled.unlink()
    return path


def _prepared(da: xr.DataArray, path: Path, band_names: Sequence[str] | None, nodata: float | None,
              dtype: str | None) -> tuple[xr.DataArray, list[str]]:
    """The array as written (band dim, dtype, nodata, band numbers 1..n) and its band names."""
    if da.ndim == 2:
        da = da.expand_dims(band=[band_names[0] if band_names else "band_1"])
    if dtype is not None:
        da = da.astype(dtype)
    if da.rio.crs is None:
        raise CRSError(f"Output {path} would have no CRS; the array lost its CRS upstream. "
                       f"This is a bug: please report it.")
    da = da.copy()
    da.attrs.pop("_FillValue", None)
    da.encoding.pop("_FillValue", None)
    da.encoding.pop("missing_value", None)
    if nodata is None:
        nodata = np.nan if np.issubdtype(da.dtype, np.floating) else None
    if nodata is not None:
        if np.issubdtype(da.dtype, np.floating):
            da = da.fillna(nodata)
        da = da.rio.write_nodata(nodata, encoded=False)
    names = list(band_names) if band_names else [str(b) for b in da["band"].values]
    if len(names) != da.sizes["band"]:
        raise ValueError(f"{len(names)} band names for {da.sizes['band']} bands writing {path}")
    da = da.assign_coords(band=np.arange(1, len(names) + 1))
    for key in ("long_name", "source_path", "scale_factor", "add_offset", "units"):
        da.attrs.pop(key, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    return da, names


STRIP_CHUNKS = 64
"""Chunks :func:`write_rasters` computes per pass (whole rows of chunks, at least one row): one dask graph per strip
of the rasters, so the graph the scheduler holds, and what it keeps of it, is bounded by the chunk size rather than
growing with the scene (benchmarks/README.md, "Session 10: the classify stage's maps in strips")."""


def strips(row_chunks: Sequence[int], n_cols: int, max_chunks: int | None = STRIP_CHUNKS) -> list[slice]:
    """Pixel-row slices of whole chunk rows, each holding at most ``max_chunks`` chunks (at least one row).

    ``row_chunks``: the chunk heights along y; ``n_cols``: chunks per row; None: one strip of every row.
    """
    edges = np.concatenate([[0], np.cumsum(row_chunks)]).astype(int)
    n_rows = len(row_chunks)
    per = n_rows if max_chunks is None else max(1, int(max_chunks) // max(1, n_cols))
    return [slice(int(edges[i]), int(edges[min(i + per, n_rows)])) for i in range(0, n_rows, per)]


def write_rasters(outputs: Sequence[tuple[xr.DataArray, str | Path, dict]],
                  also: Sequence | Callable[[slice], Sequence] = (),
                  max_chunks: int | None = STRIP_CHUNKS) -> tuple[list[Path], tuple]:
    """Write several rasters computed by one dask graph, chunk by chunk, in strips; compute ``also`` with them.

    ``outputs``: ``(da, path, options)`` with the options of :func:`write_raster` (``band_names``, ``nodata``,
    ``dtype``, ``units``, ``codec``, ``overviews``). The arrays may share their upstream tasks (e.g. the layers of
    one classification) and must share their chunks along y. Each strip of whole chunk rows (:func:`strips`, at most
    ``max_chunks`` chunks; None: the whole raster in one pass) is one ``dask.compute`` that stores every chunk of
    every array of the strip into a tiled GeoTIFF (windowed, under :func:`.locks.chunk_write_lock`) and evaluates
    the strip's summaries: ``also(rows)`` when ``also`` is a function of the strip's pixel rows (a slice) returning
    dask objects, whose values are returned in strip order; a sequence of dask objects is evaluated with a single
    pass of the whole raster. So each shared chunk is computed once, no array is ever held whole, and the graph in
    flight is bounded by ``max_chunks``. Then GDAL's COG driver copies each tiled file into its final path,
    atomically. Pixel values and files are those :func:`write_raster` writes. Returns the paths and the computed
    values of ``also``.
    """
    import contextlib

    import dask
    import dask.array as dsa
    from rioxarray.raster_writer import RasterioWriter

    prepared = []
    for da, path, opts in outputs:
        path = Path(path)
        arr, names = _prepared(da, path, opts.get("band_names"), opts.get("nodata"), opts.get("dtype"))
        prepared.append((arr, path, names, opts))
    streamed = [arr for arr, *_ in prepared if arr.chunks is not None]
    if (also and not callable(also)) or not streamed or len({a.chunks[-2] for a in streamed}) > 1:
        max_chunks = None
    parts = strips(streamed[0].chunks[-2], len(streamed[0].chunks[-1]), max_chunks) if streamed else [slice(None)]
    with contextlib.ExitStack() as stack:
        tiled, sources, targets, cleanups = [], [], [], []
        for arr, path, names, opts in prepared:
            tmp = stack.enter_context(atomic_path(path))
            t = tmp.with_name(tmp.name + ".tiled.tif")
            stack.callback(lambda t=t: t.unlink() if t.exists() else None)
            tiled.append((tmp, t))
            lock, unlock = chunk_write_lock(t)
            cleanups.append(unlock)
            comp = compression_options(arr.dtype, "ZSTD")
            kw = dict(driver="GTiff", tiled=True, blockxsize=BLOCK_PX, blockysize=BLOCK_PX, BIGTIFF="IF_SAFER",
                      **comp)
            if arr.chunks is None:
                arr.rio.to_raster(t, **kw)
            else:
                # rioxarray creates the file (profile, nodata, tags); its own store of the whole array is not used:
                # the strips store what it would (the CF-encoded data in the file's data type), strip by strip
                arr.rio.to_raster(t, lock=lock, windowed=True, compute=False, **kw)
                with rasterio.open(t) as made:
                    file_dtype = made.dtypes[0]
                sources.append(xr.conventions.encode_cf_variable(arr.variable).data.astype(file_dtype))
                targets.append((RasterioWriter(str(t)), lock))
        results: list = []
        try:
            for rows in parts:
                stores = [dsa.store(src[..., rows, :], w, lock=lk, compute=False,
                                    regions=(slice(None),) * (src.ndim - 2) + (rows, slice(None)))
                          for src, (w, lk) in zip(sources, targets)]
                extra = list(also(rows) if callable(also) else also)
                results += list(dask.compute(*stores, *extra)[len(stores):])
        finally:
            for unlock in cleanups:
                unlock()
        for (arr, path, names, opts), (tmp, t) in zip(prepared, tiled):
            _describe_bands(t, names, opts.get("units"))
            cog = _cog_options(arr.dtype, opts.get("codec"), opts.get("overviews"), (arr.sizes["y"], arr.sizes["x"]))
            rasterio.shutil.copy(t, tmp, driver="COG", **cog)
    return [p for _, p, _, _ in prepared], tuple(results)


def _write_tiled(da: xr.DataArray, path: Path, names: list[str], units: str | None, compression: dict,
                 streamed: bool) -> None:
    """A tiled GeoTIFF with band descriptions and units; ``streamed``: dask chunk by chunk, under the write lock."""
    lock, unlock_file = chunk_write_lock(path) if streamed else (None, lambda: None)
    try:
        if not streamed:
            da = da.compute()
        da.rio.to_raster(path, driver="GTiff", tiled=True, blockxsize=BLOCK_PX, blockysize=BLOCK_PX,
                         BIGTIFF="IF_SAFER", lock=lock, windowed=streamed, **compression)
        _describe_bands(path, names, units)
    finally:
        unlock_file()


def _describe_bands(path: Path, names: list[str], units: str | None) -> None:
    """Band descriptions and (when given) units written into a GeoTIFF in place."""
    with rasterio.open(path, "r+") as dst:
        for i, n in enumerate(names, start=1):
            dst.set_band_description(i, n)
        if units:
            dst.update_tags(units=units)
            for i in range(1, len(names) + 1):
                dst.set_band_unit(i, units)


def check_overlap(da: xr.DataArray, bounds: tuple[float, float, float, float], what: str) -> None:
    """Raise :class:`GridError` unless the raster covers the area's bounding box (minx, miny, maxx, maxy)."""
    l, b, r, t = da.rio.bounds()
    minx, miny, maxx, maxy = bounds
    if r <= minx or l >= maxx or t <= miny or b >= maxy:
        raise GridError(f"{what} {da.attrs.get('source_path', '')} (bounds {l:.0f}, {b:.0f}, {r:.0f}, "
                        f"{t:.0f}) does not overlap the monitoring area ({minx:.0f}, {miny:.0f}, {maxx:.0f}, "
                        f"{maxy:.0f}). Check its CRS and that it is the right file.")

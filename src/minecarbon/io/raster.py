"""Rasters: open with checks, write Cloud-Optimized GeoTIFF atomically.

Rasters are opened lazily (dask chunks) through rioxarray; band descriptions
become the ``band`` coordinate so that bands are addressed by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.errors import RasterioIOError

from ..errors import CRSError, GridError, InputError, MissingInputError
from .atomic import atomic_path
from .locks import chunk_write_lock


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
    if not path.is_file():
        raise MissingInputError(f"{what} {path} does not exist. Check the path (or {{year}} pattern) "
                                f"in the project file.")
    try:
        with rasterio.open(path) as src:
            descriptions = list(src.descriptions)
            crs = src.crs
        da = rioxarray.open_rasterio(path, masked=masked,
                                     chunks={"band": 1, "x": chunks, "y": chunks} if chunks else None)
    except (RasterioIOError, rasterio.errors.RasterioError) as exc:
        raise InputError(f"{what} {path} cannot be read as a raster ({exc}). Check that it is a "
                         f"GeoTIFF and not truncated (re-export it from the GIS).") from None
    if require_projected:
        if crs is None:
            raise CRSError(f"{what} {path} has no CRS. Assign the right projected CRS, e.g. "
                           f"'gdal_edit.py -a_srs EPSG:32649 {path.name}'.")
        if crs.is_geographic:
            raise CRSError(f"{what} {path} is in a geographic CRS ({crs.to_string()}, degrees); areas and "
                           f"distances need metres. Reproject it to a projected CRS (e.g. UTM, "
                           f"'gdalwarp -t_srs EPSG:32649').")
    names = [d if d else f"band_{i + 1}" for i, d in enumerate(descriptions)]
    da = da.assign_coords(band=names)
    da.attrs["source_path"] = str(path)
    return da


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
                 units: str | None = None) -> Path:
    """Write a DataArray (2-D or band, y, x) as a (Cloud-Optimized) GeoTIFF, atomically.

    Dask-backed arrays are written chunk by chunk into a tiled GeoTIFF, then
    turned into a COG by GDAL's COG driver (which streams from disk).  Files
    that may pass 4 GB become BigTIFF (GDAL's ``BIGTIFF=IF_SAFER``).
    """
    path = Path(path)
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
    with atomic_path(path) as tmp:
        tiled = tmp.with_name(tmp.name + ".tiled.tif") if cog else tmp
        lock, unlock_file = chunk_write_lock(tiled) if da.chunks else (None, lambda: None)
        try:
            da.rio.to_raster(tiled, driver="GTiff", tiled=True, blockxsize=256, blockysize=256,
                             compress="DEFLATE", BIGTIFF="IF_SAFER", lock=lock, windowed=bool(da.chunks))
            with rasterio.open(tiled, "r+") as dst:
                for i, n in enumerate(names, start=1):
                    dst.set_band_description(i, n)
                if units:
                    dst.update_tags(units=units)
                    for i in range(1, len(names) + 1):
                        dst.set_band_unit(i, units)
            if cog:
                rasterio.shutil.copy(tiled, tmp, driver="COG", compress="DEFLATE", blocksize=256,
                                     overview_resampling="average", BIGTIFF="IF_SAFER")
        finally:
            unlock_file()
            if cog and tiled.exists():
                tiled.unlink()
    return path


def check_overlap(da: xr.DataArray, bounds: tuple[float, float, float, float], what: str) -> None:
    """Raise :class:`GridError` unless the raster covers the area's bounding box (minx, miny, maxx, maxy)."""
    l, b, r, t = da.rio.bounds()
    minx, miny, maxx, maxy = bounds
    if r <= minx or l >= maxx or t <= miny or b >= maxy:
        raise GridError(f"{what} {da.attrs.get('source_path', '')} (bounds {l:.0f}, {b:.0f}, {r:.0f}, "
                        f"{t:.0f}) does not overlap the monitoring area ({minx:.0f}, {miny:.0f}, {maxx:.0f}, "
                        f"{maxy:.0f}). Check its CRS and that it is the right file.")

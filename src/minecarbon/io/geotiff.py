"""GeoTIFFs as numpy arrays: read one whole, write a COG - without xarray, rioxarray nor dask.

For a file tool whose input fits in memory (:data:`IN_MEMORY_MAX_BYTES`), so that its process need not
import the array stack (xarray, rioxarray and the ``dask.array`` that rioxarray imports: about a second
and a half of a short process).  What it reads and writes is what :mod:`.raster` gives and writes:

* :func:`read_array`: the values :func:`.raster.open_raster` loads (``masked``: nodata and GDAL's mask ->
  NaN, integers promoted as xarray promotes them), the band names, CRS and transform, and the tags that a
  result derived from it carries into its output file (see :func:`read_array`); the same errors for a
  missing file, an unreadable one and a missing or geographic CRS.
* :func:`write_cog`: the file :func:`.raster.write_raster` writes for the same pixels, band names, CRS,
  transform and tags, byte for byte (one pass: a tiled GeoTIFF in ``/vsimem``, then GDAL's COG driver
  compresses it on every core).

The codec, tile size and COG options of every raster written by the package are defined here (and used
by :mod:`.raster`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import rasterio
import rasterio.crs
import rasterio.enums
import rasterio.shutil
from rasterio.errors import RasterioIOError
from rasterio.io import MemoryFile

from ..errors import CRSError, InputError, MissingInputError
from .atomic import atomic_path

CODECS = ("ZSTD", "DEFLATE", "LERC")
"""GeoTIFF codecs :func:`.raster.write_raster` offers.  All are lossless (LERC with ``MAX_Z_ERROR=0``)."""

DEFAULT_CODEC = "ZSTD"
"""The codec of every output raster unless a caller picks another.  Measured by
``benchmarks/bench_write.py`` (see benchmarks/README.md, "GeoTIFF writing"): ZSTD level 1
with GDAL's floating-point / horizontal-differencing predictor writes several times faster
than DEFLATE at equal or smaller size."""

ZSTD_LEVEL = 1
"""ZSTD level: levels above 1 cost several times the time for a few per cent of size."""

BLOCK_PX = 256
"""Tile size of every GeoTIFF written here."""

IN_MEMORY_MAX_BYTES = 128 * 2**20
"""Arrays up to this size (uncompressed) are computed once and written straight to the COG; larger
dask arrays are written chunk by chunk into a tiled GeoTIFF on disk, which GDAL then copies into the COG."""

OVERVIEW_MIN_PX = 1024
"""Overviews only for rasters with a side longer than this: a smaller raster is at most
4 x 4 tiles, which a viewer draws at full resolution without them."""


def compression_options(dtype, codec: str | None = None, level: bool = True) -> dict:
    """GDAL creation options of ``codec`` for ``dtype``: the floating-point predictor for floats,
    horizontal differencing for integers (LERC has its own, lossless with ``MAX_Z_ERROR=0``)."""
    codec = (codec or DEFAULT_CODEC).upper()
    if codec not in CODECS:
        raise ValueError(f"Unknown GeoTIFF codec {codec!r}; use one of {', '.join(CODECS)}.")
    if codec == "LERC":
        return {"compress": "LERC_ZSTD", "max_z_error": 0}
    floating = np.issubdtype(np.dtype(dtype), np.floating)
    opts = {"compress": codec, "predictor": 3 if floating else 2}
    if codec == "ZSTD" and level:
        opts["zstd_level"] = ZSTD_LEVEL
    return opts


def cog_options(dtype, codec: str | None, overviews: bool | None, shape: tuple[int, int]) -> dict:
    """Creation options of GDAL's COG driver (its option names: ``LEVEL``, ``PREDICTOR=FLOATING_POINT``...)."""
    gt = compression_options(dtype, codec)
    opts = {"compress": gt["compress"], "blocksize": BLOCK_PX, "num_threads": "ALL_CPUS", "BIGTIFF": "IF_SAFER"}
    if "predictor" in gt:
        opts["predictor"] = "FLOATING_POINT" if gt["predictor"] == 3 else "STANDARD"
    if "zstd_level" in gt:
        opts["level"] = gt["zstd_level"]
    if "max_z_error" in gt:
        opts["max_z_error"] = 0
    if overviews is None:
        overviews = max(shape) > OVERVIEW_MIN_PX
    opts["overviews"] = "AUTO" if overviews else "NONE"
    if overviews:
        floating = np.issubdtype(np.dtype(dtype), np.floating)
        opts["overview_resampling"] = "average" if floating else "nearest"
    return opts


# ---------------------------------------------------------------------------
# reading: the checks and messages of open_raster
# ---------------------------------------------------------------------------
def require_file(path: Path, what: str) -> None:
    """:class:`MissingInputError` unless ``path`` is a file."""
    if not path.is_file():
        raise MissingInputError(f"{what} {path} does not exist. Check the path (or {{year}} pattern) "
                                f"in the project file.")


def unreadable(path: Path, what: str, exc: Exception) -> InputError:
    """The error for a file GDAL cannot open as a raster."""
    return InputError(f"{what} {path} cannot be read as a raster ({exc}). Check that it is a "
                      f"GeoTIFF and not truncated (re-export it from the GIS).")


def damaged(path: Path, what: str, exc: Exception) -> InputError:
    """The error for a raster whose header opens but whose blocks GDAL cannot decode."""
    return InputError(f"{what} {path} cannot be read: it is damaged or truncated ({exc}). Copy it "
                      f"again, or re-export it from the GIS.")


def check_projected(crs, path: Path, what: str) -> None:
    """:class:`CRSError` for a missing or geographic CRS."""
    if crs is None:
        raise CRSError(f"{what} {path} has no CRS. Assign the right projected CRS, e.g. "
                       f"'gdal_edit.py -a_srs EPSG:32649 {path.name}'.")
    if crs.is_geographic:
        raise CRSError(f"{what} {path} is in a geographic CRS ({crs.to_string()}, degrees); areas and "
                       f"distances need metres. Reproject it to a projected CRS (e.g. UTM, "
                       f"'gdalwarp -t_srs EPSG:32649').")


def masked_dtype(dtype) -> np.dtype:
    """The dtype of a raster read with nodata as NaN: floats keep theirs, integers of up to 2 bytes become
    float32 and wider ones float64 (xarray's promotion, which :func:`.raster.open_raster` applies)."""
    dt = np.dtype(dtype)
    if np.issubdtype(dt, np.floating):
        return dt
    return np.dtype(np.float32) if dt.itemsize <= 2 else np.dtype(np.float64)


# the tags of an input that a DataArray opened by open_raster does not carry as attributes, or that a result
# derived from it does not write back (rioxarray's fill-value and reader names; assess._common.finish's and
# write_raster's dropped attributes; those rioxarray's writer writes elsewhere)
_NOT_CARRIED = frozenset((
    "_FillValue", "missing_value", "fill_value", "nodata", "nodatavals", "is_tiled", "res",
    "units", "long_name", "source_path", "scale_factor", "add_offset",
    "crs", "transform", "scales", "offsets", "grid_mapping",
))


def _as_attribute(value: str):
    """A tag's value as rioxarray reads it into an attribute: an int, else a float, else the string."""
    for kind in (int, float):
        try:
            return kind(value)
        except (TypeError, ValueError):
            pass
    return value


def _carried_tags(src) -> dict[str, str] | None:
    """The input's tags as a result derived from it writes them (None: ones only rioxarray reads faithfully)."""
    if len(set(src.scales)) > 1 or len(set(src.offsets)) > 1:
        return None  # band-wise scales or offsets: attributes rioxarray's writer applies to the output
    out = {}
    for key, value in {**src.tags(), **src.tags(1)}.items():
        if "#" in key or key == "NETCDF_VARNAME" or (value.startswith("{") and value.endswith("}")):
            return None  # netCDF-style attributes, number lists
        if key not in _NOT_CARRIED:
            out[key] = str(_as_attribute(value))
    return out


@dataclass
class GeoArray:
    """A raster read whole: ``values`` (band, y, x) with nodata as NaN, and what describes them."""

    values: np.ndarray
    names: list[str]
    crs: object
    transform: object
    path: Path
    tags: dict[str, str] | None = field(default=None)
    """The tags a result derived from this raster writes (:func:`read_array`); None where only
    :func:`.raster.open_raster` reads them faithfully."""


def read_array(path: str | Path, what: str = "raster", require_projected: bool = True,
               max_bytes: int | None = None) -> GeoArray | None:
    """A raster read whole into numpy, as :func:`.raster.open_raster_fitting` reads one that fits.

    None when it does not fit in ``max_bytes`` (default :data:`IN_MEMORY_MAX_BYTES`, as read: after the
    nodata mask).  Values, band names (descriptions, ``band_i`` when empty), CRS and transform are those
    of the DataArray :func:`.raster.open_raster` gives; ``tags`` are the input's tags as a result derived
    from it writes them through :func:`.raster.write_raster` (rioxarray reads numbers as int / float and
    writes them back with ``str``), or None for tags only rioxarray reads faithfully (band-wise scales,
    netCDF-style keys, number lists), for which the caller takes the DataArray path.

    Raises
    ------
    MissingInputError, InputError (unreadable, damaged), CRSError (``require_projected``)
    """
    path = Path(path)
    require_file(path, what)
    limit = IN_MEMORY_MAX_BYTES if max_bytes is None else max_bytes
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):  # the whole-raster read decompresses its blocks on every core
        try:
            src = rasterio.open(path)
        except (RasterioIOError, rasterio.errors.RasterioError) as exc:
            raise unreadable(path, what, exc) from None
        with src:
            if require_projected:
                check_projected(src.crs, path, what)
            dtype = masked_dtype(src.dtypes[0])
            if src.count * src.height * src.width * dtype.itemsize > limit:
                return None
            all_valid = src.nodata is None and all(flags == [rasterio.enums.MaskFlags.all_valid]
                                                   for flags in src.mask_flag_enums)
            try:
                raw = src.read(masked=not all_valid)
            except Exception as exc:  # noqa: BLE001 - GDAL's read errors (rasterio._err.CPLE_*) name no file
                if not type(exc).__module__.startswith("rasterio"):
                    raise
                raise damaged(path, what, exc) from None
            if np.ma.isMaskedArray(raw):
                values = np.ma.filled(raw.astype(dtype, copy=False), np.nan)
            else:
                values = raw.astype(dtype, copy=False)
            names = [d if d else f"band_{i + 1}" for i, d in enumerate(src.descriptions)]
            # the CRS as a DataArray carries it (its WKT) and write_raster hands it back to GDAL
            crs = rasterio.crs.CRS.from_wkt(src.crs.to_wkt()) if src.crs is not None else None
            return GeoArray(values, names, crs, src.transform, path, _carried_tags(src))


def write_cog(values: np.ndarray, path: str | Path, band_names: Sequence[str], crs, transform,
              tags: dict | None = None, nodata: float | None = None, codec: str | None = None,
              overviews: bool | None = None) -> Path:
    """Write a (band, y, x) array as a Cloud-Optimized GeoTIFF, atomically: the file :func:`.raster.write_raster`
    writes for a DataArray with these values, band names, CRS, transform and attributes ``tags``.

    ``nodata``: default NaN for floats (NaN pixels are nodata), none for integers.  ``codec``, ``overviews``:
    as :func:`.raster.write_raster`.
    """
    path = Path(path)
    values = np.asarray(values)
    if values.ndim != 3 or len(band_names) != values.shape[0]:
        raise ValueError(f"{len(band_names)} band names for an array of shape {values.shape} writing {path}")
    if crs is None:
        raise CRSError(f"Output {path} would have no CRS; the array lost its CRS upstream. "
                       f"This is a bug: please report it.")
    if nodata is None and np.issubdtype(values.dtype, np.floating):
        nodata = np.nan
    count, height, width = values.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, MemoryFile(ext=".tif") as mem:
        # the creation options and the order of the calls of rioxarray's writer, which write_raster uses
        with rasterio.open(mem.name, "w", driver="GTiff", height=height, width=width, count=count,
                           dtype=values.dtype.name, crs=crs, transform=transform, gcps=None, nodata=nodata,
                           tiled=True, blockxsize=BLOCK_PX, blockysize=BLOCK_PX, BIGTIFF="IF_SAFER",
                           compress="NONE") as dst:
            if tags:
                dst.update_tags(**tags)
            for i, name in enumerate(band_names, start=1):
                dst.set_band_description(i, name)
            dst.write(values)
        rasterio.shutil.copy(mem.name, tmp, driver="COG", **cog_options(values.dtype, codec, overviews,
                                                                         (height, width)))
    return path

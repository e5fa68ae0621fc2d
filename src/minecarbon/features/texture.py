"""GLCM (grey-level co-occurrence) texture in a moving window, with a compiled kernel.

The 8 ENVI co-occurrence measures (``DOMAIN.md`` 2.5) are computed with the
definitions of scikit-image's ``graycoprops`` (``P`` = the symmetric,
normalised co-occurrence matrix of the window, grey levels ``i, j`` counted
from 0):

=================  ==========================================================
``mean``           sum_ij i P(i,j)
``variance``       sum_ij (i - mean)^2 P(i,j)
``homogeneity``    sum_ij P(i,j) / (1 + (i - j)^2)
``contrast``       sum_ij (i - j)^2 P(i,j)
``dissimilarity``  sum_ij |i - j| P(i,j)
``entropy``        -sum_ij P(i,j) ln P(i,j)  (natural log, P > 0)
``second_moment``  sum_ij P(i,j)^2 (angular second moment, ASM)
``correlation``    sum_ij (i - mean)(j - mean) P(i,j) / variance; 1 where the
                   variance is 0 (as scikit-image)
=================  ==========================================================

Conventions
-----------
* Window: ``window x window`` pixels centred on the pixel (odd, 3-31;
  the standard's practice is 3-15).  Pixels outside the raster and NaN
  pixels are *missing*: pairs that involve them are not counted, so at the
  edges the matrix is that of the part of the window inside the raster.  The
  output is NaN where the centre pixel is missing or the window has no pair.
* Directions: offsets (0, d), (d, d), (d, 0), (d, -d) (rows, columns) for
  distance ``d`` -- 0, 45, 90 and 135 degrees; each counted symmetrically
  (i, j and j, i).  The measures are computed per direction and **averaged
  over the four directions** (the measures, not the matrices).  For d = 1
  these are scikit-image's angles 0, pi/4, pi/2, 3 pi/4; for d > 1 the
  diagonal offset is (d, d) (scikit-image rounds d sin(pi/4) instead).
* Quantisation to ``levels`` grey levels (default 32): an input whose finite
  values are all integers in [0, levels) is used as is; otherwise
  ``q = floor((x - lo) / (hi - lo) * levels)`` clipped to [0, levels - 1],
  with ``lo, hi`` = ``value_range`` if given, else the 2nd and 98th
  percentiles of the band (on a regular sub-sample of at most about one
  million pixels, so that every chunking gives the same range).  Give a fixed
  ``value_range`` to compare texture between years.

Kernel
------
A numba kernel slides the window along each row: when it moves one column the
pairs of the column that leaves are removed and those of the column that
enters are added.  All running sums are integers (pair counts, sums of i, i^2,
i j, (i - j)^2, |i - j|, the sum of squared cell counts, and fixed-point
sums, scaled by 2^40, of c ln c and 1 / (1 + (i - j)^2)); each measure is then
computed from these integers alone, so the value of a pixel depends only on
its window, not on where the row or the block started.  Hence chunked ==
unchunked exactly.  The fixed-point rounding is below 1e-11 on entropy and
homogeneity.  Rows run in parallel (``numba.prange``).  Tested equal to
scikit-image ``graycomatrix`` + ``graycoprops`` on every window of test
images.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..errors import InputError

log = logging.getLogger(__name__)

MEASURES = ("mean", "variance", "homogeneity", "contrast", "dissimilarity", "entropy", "second_moment",
            "correlation")
"""The 8 ENVI co-occurrence measures, in kernel order."""

SKIMAGE_PROPS = {"mean": "mean", "variance": "variance", "homogeneity": "homogeneity", "contrast": "contrast",
                 "dissimilarity": "dissimilarity", "entropy": "entropy", "second_moment": "ASM",
                 "correlation": "correlation"}
"""Our measure name -> scikit-image ``graycoprops`` property."""

_FIX_BITS = 40
_FIX = float(2**_FIX_BITS)
SAMPLE_PX = 1_000_000


def directions(distance: int) -> np.ndarray:
    """(4, 2) int64 offsets (row, column) of the 0, 45, 90 and 135 degree directions."""
    d = int(distance)
    return np.array([[0, d], [d, d], [d, 0], [d, -d]], dtype=np.int64)


@functools.cache
def _kernel():
    """The compiled numba GLCM kernel (imported on first use: numba loads only when texture is computed)."""
    from ._glcm_kernel import glcm_kernel

    return glcm_kernel


def _tables(window: int, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point tables: c ln c for counts 0..2 w^2 + 2, and 1/(1 + k^2) for k < levels."""
    cmax = 2 * window * window + 3
    c = np.arange(cmax, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        xlogx = np.where(c > 0, c * np.log(np.where(c > 0, c, 1.0)), 0.0)
    k = np.arange(levels, dtype=np.float64)
    return np.round(xlogx * _FIX).astype(np.int64), np.round(_FIX / (1.0 + k * k)).astype(np.int64)


def _check_args(window: int, levels: int, distance: int, max_window: int = 31) -> None:
    if not (isinstance(window, (int, np.integer)) and window % 2 == 1 and 3 <= window <= max_window):
        raise InputError(f"GLCM window {window!r} must be an odd number of pixels from 3 to 31 (typical 3-15). "
                         f"Fix [features].texture_window (or --window).")
    if not 2 <= int(levels) <= 256:
        raise InputError(f"GLCM grey levels {levels!r} must be 2-256 (default 32). Fix "
                         f"[features].texture_levels (or --levels).")
    if not 1 <= int(distance) < int(window):
        raise InputError(f"GLCM distance {distance!r} must be at least 1 and smaller than the window ({window}). "
                         f"Fix [features].texture_distance (or --distance).")


def glcm_numpy(q: np.ndarray, window: int = 7, levels: int = 32, distance: int = 1,
               dtype=np.float64) -> np.ndarray:
    """All 8 measures for every pixel of a quantised band (numpy in, numpy out).

    Parameters
    ----------
    q : (h, w) integer grey levels in [0, levels); negative = missing.
    window, levels, distance : see :func:`glcm_texture`; here the window may
        be any odd size >= 3 (a window of 2 max(h, w) + 1 gives, at every
        pixel, the matrix of the whole image).

    Returns
    -------
    numpy.ndarray
        (8, h, w) in the order of :data:`MEASURES`.
    """
    _check_args(window, levels, distance, max_window=1_000_001)
    half = window // 2
    qp = np.pad(np.asarray(q, dtype=np.int64), half, mode="constant", constant_values=-1)
    return _glcm_padded(qp, window, levels, distance).astype(dtype, copy=False)


def _glcm_padded(qp: np.ndarray, window: int, levels: int, distance: int) -> np.ndarray:
    """Kernel on a block already padded by ``window // 2`` -> (8, h, w) float64."""
    half = window // 2
    qp = np.ascontiguousarray(qp, dtype=np.int64)
    if qp.size and qp.max() >= levels:
        raise InputError(f"Quantised grey level {int(qp.max())} is not below levels={levels}.")
    h, w = qp.shape[0] - 2 * half, qp.shape[1] - 2 * half
    out = np.empty((8, max(h, 0), max(w, 0)), dtype=np.float64)
    if h <= 0 or w <= 0:
        return out
    xlogx, homfix = _tables(window, levels)
    _kernel()(qp, int(window), int(levels), directions(distance), xlogx, homfix, out)
    return out


def _block(qp: np.ndarray, window: int, levels: int, distance: int, select: tuple[int, ...]) -> np.ndarray:
    return _glcm_padded(qp, window, levels, distance)[list(select)].astype(np.float32)


def _min_chunks(data, depth: int):
    """Rechunk a 2-D dask array so that every chunk is at least ``depth`` wide (needed by the halo)."""
    from dask.array.overlap import ensure_minimum_chunksize

    chunks = tuple(ensure_minimum_chunksize(max(depth, 1), c) if len(c) > 1 else c for c in data.chunks)
    return data if chunks == data.chunks else data.rechunk(chunks)


def _single_band(da: xr.DataArray, many_bands: str, what: str) -> xr.DataArray:
    """``da`` as a (y, x) array: a length-1 ``band`` dimension is dropped; more bands raise
    :class:`InputError` with ``"<n> bands; " + many_bands``, other shapes with ``what`` and the dimensions."""
    if "band" in da.dims:
        if da.sizes["band"] != 1:
            raise InputError(f"{what} {da.attrs.get('source_path', '')} has {da.sizes['band']} bands; {many_bands}")
        da = da.isel(band=0, drop=True)
    if da.ndim != 2:
        raise InputError(f"{what} must be a (y, x) raster, got dimensions {da.dims}.")
    return da


def _strided(da: xr.DataArray, max_px: int = SAMPLE_PX) -> xr.DataArray:
    n = da.sizes[da.dims[-2]] * da.sizes[da.dims[-1]]
    k = max(1, int(np.ceil(np.sqrt(n / max_px))))
    return da.isel({da.dims[-2]: slice(None, None, k), da.dims[-1]: slice(None, None, k)})


def quantize(band: xr.DataArray, levels: int = 32, value_range: tuple[float, float] | None = None,
             percentiles: tuple[float, float] = (2.0, 98.0)) -> tuple[xr.DataArray, tuple[float, float] | None]:
    """Grey levels of a band for the GLCM (see the module docstring).

    Returns
    -------
    (q, range)
        ``q``: int16 (y, x) levels, -1 where the band is NaN; ``range``: the
        (lo, hi) used, or None when the values were used as they are.

    Raises
    ------
    InputError
        The band has no finite value.
    """
    src = band.attrs.get("source_path", band.name or "band")
    x = band.astype("float64")
    finite = np.isfinite(x)
    lo_hi: tuple[float, float] | None
    if value_range is not None:
        lo_hi = (float(value_range[0]), float(value_range[1]))
        if not lo_hi[1] > lo_hi[0]:
            raise InputError(f"Texture value range {value_range} must have max > min.")
    else:
        off_grid = (finite & ((x != np.floor(x)) | (x < 0) | (x >= levels))).any()
        anyfinite = finite.any()
        import dask

        # one pass over the band: the integer test, the emptiness test and the sub-sample
        off_grid, anyfinite, sample = dask.compute(off_grid.data, anyfinite.data, _strided(x).data)
        if not bool(anyfinite):
            raise InputError(f"{src}: every pixel is nodata, so there is no texture to compute. Check the "
                             f"nodata value and the mask of the raster.")
        if not bool(off_grid):
            lo_hi = None
        else:
            sample = np.asarray(sample, dtype=np.float64)
            sample = sample[np.isfinite(sample)]
            if sample.size == 0:  # finite values only between the sampled rows/columns
                sample = np.asarray(x.values, dtype=np.float64)
                sample = sample[np.isfinite(sample)]
            lo, hi = np.percentile(sample, [percentiles[0], percentiles[1]])
            lo_hi = (float(lo), float(hi))
    if lo_hi is None:
        q = xr.where(finite, x, -1)
    else:
        lo, hi = lo_hi
        span = hi - lo
        if span <= 0:
            scaled = xr.zeros_like(x)
        else:
            scaled = np.floor((x - lo) / span * levels)
        q = xr.where(finite, np.clip(scaled, 0, levels - 1), -1)
    return q.astype("int16"), lo_hi


def glcm_texture(band: xr.DataArray, window: int = 7, levels: int = 32, distance: int = 1,
                 measures: Sequence[str] = MEASURES, value_range: tuple[float, float] | None = None,
                 percentiles: tuple[float, float] = (2.0, 98.0), prefix: str | None = None) -> xr.DataArray:
    """GLCM texture measures of one band in a moving window.

    Parameters
    ----------
    band : (y, x) band (reflectance, an index, or integer grey levels);
        numpy- or dask-backed.
    window : window size in pixels (odd, 3-31).
    levels : number of grey levels (2-256, default 32).
    distance : pixel distance of the pairs (>= 1, < window).
    measures : any of :data:`MEASURES`.
    value_range : fixed (lo, hi) for the quantisation (default: 2nd-98th
        percentile of the band, or the values as they are if they are integer
        levels already).
    percentiles : percentiles used without ``value_range``.
    prefix : band-name prefix; output bands are ``{prefix}_glcm_{measure}``
        (just ``glcm_{measure}`` without a prefix).

    Returns
    -------
    xarray.DataArray
        (band, y, x) float32 on the grid of ``band``.  Dask input gives a
        lazy result computed block by block with a ``window // 2`` halo.

    Raises
    ------
    InputError
        Bad window / levels / distance, unknown measure, or an all-NaN band.
    """
    _check_args(window, levels, distance)
    measures = tuple(measures)
    bad = [m for m in measures if m not in MEASURES]
    if bad:
        raise InputError(f"Unknown GLCM measure(s) {', '.join(bad)}; known: {', '.join(MEASURES)}. "
                         f"Fix [features].texture_measures (or --measures).")
    band = _single_band(band, "texture is computed on one band. Select one band (--band).", "Texture band")
    q, lo_hi = quantize(band, levels, value_range, percentiles)
    select = tuple(MEASURES.index(m) for m in measures)
    half = window // 2
    data = q.data
    if hasattr(data, "map_blocks"):
        import dask.array as dsa

        data = _min_chunks(data, half)
        g = dsa.overlap.overlap(data, depth={0: half, 1: half}, boundary={0: -1, 1: -1})
        out = g.map_blocks(_block, window, levels, distance, select, new_axis=0,
                           chunks=((len(select),),) + data.chunks, dtype=np.float32,
                           meta=np.empty((0, 0, 0), np.float32))
    else:
        qp = np.pad(np.asarray(data, dtype=np.int64), half, mode="constant", constant_values=-1)
        out = _block(qp, window, levels, distance, select)
    pre = f"{prefix}_" if prefix else ""
    names = [f"{pre}glcm_{m}" for m in measures]
    coords = {k: v for k, v in band.coords.items() if k != "band"}
    res = xr.DataArray(out, dims=("band",) + band.dims, coords={**coords, "band": names})
    res.attrs = {"glcm_window": window, "glcm_levels": levels, "glcm_distance": distance,
                 "glcm_range": "as is" if lo_hi is None else f"{lo_hi[0]!r},{lo_hi[1]!r}"}
    return res

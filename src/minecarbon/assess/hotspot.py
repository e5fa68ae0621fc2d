"""Getis-Ord Gi* hot and cold spots on a raster (the standard, section 5 'spatial clustering').

Weights are binary: pixel j is a neighbour of pixel i when j is valid and its
centre lies within ``distance_m`` metres of i's centre (inclusive), or inside
the ``window`` x ``window`` square centred on i; i itself is included (that is
the "star").  NaN (nodata) pixels are left out of n, of the mean and standard
deviation, and of every neighbourhood; their outputs are NaN (bin 0).

With n valid pixels, mean xbar, population standard deviation
s = sqrt(sum x^2 / n - xbar^2), and for pixel i the weight sum W_i (number of
valid neighbours, i included) and local sum L_i = sum_j w_ij x_j:

    z_i = (L_i - xbar W_i) / (s sqrt((n W_i - W_i^2) / (n - 1)))

(Ord & Getis 1995; for binary weights sum_j w_ij^2 = W_i).  This equals
``esda.G_Local(y, w, transform='B', star=True).Zs`` (``DOMAIN.md`` section
3.3), which the tests check to 1e-9.  The p-value is two-sided,
p = erfc(|z| / sqrt 2).  The bin follows ArcGIS's Gi_Bin: +-3, +-2, +-1 for
significance at the 99, 95 and 90 % confidence levels (sign of z), 0 otherwise.
With ``fdr=True`` each level uses the Benjamini-Hochberg false-discovery-rate
cut-off over all valid pixels instead of the plain p < alpha.

L_i and W_i are sums over the footprint, computed by ``scipy.ndimage.correlate``
(zeros outside the raster); dask-backed rasters use ``map_overlap`` with a halo
of the footprint radius, so chunked and unchunked results are identical.
"""

from __future__ import annotations

import math

import dask
import numba
import numpy as np
import xarray as xr
from scipy import ndimage

from ..errors import InputError
from ._common import describe, finish, is_dask, pixel_size_m, require_2d

STATS = ("z", "p", "bin")
"""Names along the ``stat`` dimension of :func:`gi_star`."""

LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))
"""(bin, alpha) pairs: 99, 95 and 90 % confidence (ArcGIS Gi_Bin convention)."""


def footprint(distance_m: float | None = None, window: int | None = None,
              pixel_size: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Boolean neighbourhood (focal pixel at the centre) for a distance band or a square window.

    Parameters
    ----------
    distance_m : neighbours are pixels whose centres are within this distance (CRS units, metres
        for projected CRSs), inclusive.
    window : odd side length of a square window in pixels (3 = queen neighbours + self).
    pixel_size : (x, y) pixel size in CRS units.
    """
    if (distance_m is None) == (window is None):
        raise InputError("Give either a distance band (distance_m / --distance) or a square window "
                         "(window / --window), not both or neither.")
    if window is not None:
        if int(window) != window or window < 1 or window % 2 == 0:
            raise InputError(f"The window must be an odd number of pixels (3, 5, ...), not {window}.")
        return np.ones((int(window), int(window)), dtype=bool)
    if not distance_m > 0 or not math.isfinite(distance_m):
        raise InputError(f"The distance band must be a positive number of metres, not {distance_m}.")
    px, py = pixel_size
    rx, ry = int(math.floor(distance_m / px)), int(math.floor(distance_m / py))
    dx = np.arange(-rx, rx + 1) * px
    dy = np.arange(-ry, ry + 1) * py
    d2 = dy[:, None] ** 2 + dx[None, :] ** 2
    return d2 <= distance_m ** 2 * (1 + 1e-12)


def _sums(x: np.ndarray, valid: np.ndarray | None, fp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local sum of x and number of valid neighbours over the footprint (zeros outside the raster).

    ``valid`` None means every pixel is valid: the counts then only drop at the edges, and for a
    square window they are the outer product of the row and column counts.
    """
    w = fp.astype(np.float64)
    if fp.all():  # square window: separable box sums (two 1-D passes instead of k x k products)
        local = x
        for axis, k in ((0, fp.shape[0]), (1, fp.shape[1])):
            local = ndimage.correlate1d(local, np.ones(k), axis=axis, mode="constant", cval=0.0)
    else:
        local = ndimage.correlate(x, w, mode="constant", cval=0.0)
    if valid is None and fp.all():
        h, wd = x.shape
        ry, rx = fp.shape[0] // 2, fp.shape[1] // 2
        rows = ndimage.correlate1d(np.ones(h), np.ones(2 * ry + 1), mode="constant", cval=0.0)
        cols = ndimage.correlate1d(np.ones(wd), np.ones(2 * rx + 1), mode="constant", cval=0.0)
        return local, np.outer(rows, cols)
    ok = np.ones(x.shape, np.float64) if valid is None else valid.astype(np.float64)
    if fp.all():
        count = ok
        for axis, k in ((0, fp.shape[0]), (1, fp.shape[1])):
            count = ndimage.correlate1d(count, np.ones(k), axis=axis, mode="constant", cval=0.0)
    else:
        count = ndimage.correlate(ok, w, mode="constant", cval=0.0)
    return local, np.rint(count)


@numba.njit(cache=True, nogil=True)
def _finish_row(local, count, x, mean, den_table, cut3, cut2, cut1, out, i):
    """z, p and bin of row i into out[0..2, i] (NaN, NaN, 0 where x is NaN or z is undefined).

    Written without data-dependent branches (selects and boolean sums), which
    the CPU runs several times faster than if/else chains on random data.
    """
    r2 = 1.0 / math.sqrt(2.0)
    kmax = den_table.size - 1
    for j in range(x.shape[1]):
        wi = count[i, j]
        # the denominator depends only on the (integer) number of neighbours: looked up, not recomputed
        den = den_table[min(int(wi), kmax)]
        ok = abs(x[i, j]) < np.inf and den > 0.0
        z = (local[i, j] - mean * wi) / den if ok else np.nan
        p = math.erfc(abs(z) * r2)
        level = np.float64(p <= cut3) + np.float64(p <= cut2) + np.float64(p <= cut1)
        out[0, i, j] = z
        out[1, i, j] = p
        out[2, i, j] = level if z > 0 else -level


@numba.njit(cache=True, nogil=True)
def _p_bin_row(z, cut3, cut2, cut1, out, i):
    """p and bin of row i from z into out[0, i], out[1, i] (the arithmetic of :func:`_finish_row`)."""
    r2 = 1.0 / math.sqrt(2.0)
    for j in range(z.shape[1]):
        zz = z[i, j]
        p = math.erfc(abs(zz) * r2)
        level = np.float64(p <= cut3) + np.float64(p <= cut2) + np.float64(p <= cut1)
        out[0, i, j] = p
        out[1, i, j] = level if zz > 0 else -level


# parallel versions for whole numpy rasters; serial (nogil) ones inside dask blocks, which dask already
# runs in parallel (and numba's workqueue threading layer must not be entered from several threads)
@numba.njit(cache=True, parallel=True)
def _finish(local, count, x, mean, den_table, cut3, cut2, cut1, out):
    for i in numba.prange(x.shape[0]):
        _finish_row(local, count, x, mean, den_table, cut3, cut2, cut1, out, i)


@numba.njit(cache=True, nogil=True)
def _finish_serial(local, count, x, mean, den_table, cut3, cut2, cut1, out):
    for i in range(x.shape[0]):
        _finish_row(local, count, x, mean, den_table, cut3, cut2, cut1, out, i)


@numba.njit(cache=True, parallel=True)
def _p_bin(z, cut3, cut2, cut1, out):
    for i in numba.prange(z.shape[0]):
        _p_bin_row(z, cut3, cut2, cut1, out, i)


@numba.njit(cache=True, nogil=True)
def _p_bin_serial(z, cut3, cut2, cut1, out):
    for i in range(z.shape[0]):
        _p_bin_row(z, cut3, cut2, cut1, out, i)


def _p_bin_block(z: np.ndarray, cuts: tuple[float, float, float], which: int, parallel: bool = False
                 ) -> np.ndarray:
    out = np.empty((2,) + z.shape)
    (_p_bin if parallel else _p_bin_serial)(np.ascontiguousarray(z, dtype=np.float64), *cuts, out)
    return out[which]


def _gi_block(x: np.ndarray, fp: np.ndarray, n: float, mean: float, s: float, cuts: tuple[float, float, float],
              all_valid: bool = False, parallel: bool = False) -> np.ndarray:
    """(3, h, w) z, p, bin of a block (with its halo, for dask)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if all_valid:
        local, count = _sums(x, None, fp)
    else:
        valid = np.isfinite(x)
        local, count = _sums(np.where(valid, x, 0.0), valid, fp)
    out = np.empty((3,) + x.shape)
    w = np.arange(int(fp.sum()) + 1, dtype=np.float64)  # possible numbers of neighbours
    with np.errstate(invalid="ignore"):
        den_table = s * np.sqrt((n * w - w * w) / (n - 1.0))
    den_table[~np.isfinite(den_table)] = 0.0
    (_finish if parallel else _finish_serial)(local, count, x, float(mean), den_table, *cuts, out)
    return out


def _z_block(x: np.ndarray, fp: np.ndarray, n: float, mean: float, s: float) -> np.ndarray:
    """z only (dask blocks, before the FDR cut-offs are known)."""
    return _gi_block(x, fp, n, mean, s, (-1.0, -1.0, -1.0))[0]


def bh_cutoff(p: np.ndarray, alpha: float) -> float:
    """Benjamini-Hochberg cut-off: the largest p_(k) with p_(k) <= k alpha / m (0 when none).

    ``p`` holds the p-values of the m tests (NaN ignored).
    """
    ps = np.sort(p[np.isfinite(p)])
    m = ps.size
    if m == 0:
        return 0.0
    ok = ps <= alpha * np.arange(1, m + 1) / m
    if not ok.any():
        return 0.0
    return float(ps[np.flatnonzero(ok)[-1]])


def gi_star(values: xr.DataArray, distance_m: float | None = None, window: int | None = None,
            fdr: bool = False) -> xr.DataArray:
    """Getis-Ord Gi* z-scores, two-sided p-values and confidence bins.

    Parameters
    ----------
    values : (y, x) DataArray (numpy- or dask-backed), e.g. AGC (t C/ha) or its change; NaN = nodata.
    distance_m : distance band in metres (centre to centre, inclusive); or
    window : odd square window in pixels (3 = the 8 queen neighbours and the pixel).
    fdr : Benjamini-Hochberg false-discovery-rate control of the bins (per confidence level).

    Returns
    -------
    float64 DataArray (stat, y, x), ``stat`` = ``z``, ``p``, ``bin`` (-3..3); attributes give n, the
    mean, the standard deviation, the neighbourhood and the p cut-offs used for the bins.

    Raises
    ------
    InputError
        Fewer than 3 valid pixels, or bad neighbourhood parameters.
    """
    values = require_2d(values, "raster")
    fp = footprint(distance_m, window, pixel_size_m(values) if distance_m is not None else (1.0, 1.0))
    data = values.data
    lazy = is_dask(values)
    if lazy:
        import dask.array as dsa

        x64 = data.astype(np.float64)
        ok = dsa.isfinite(x64)
        n, total = dask.compute(ok.sum(), dsa.where(ok, x64, 0.0).sum())
        n = int(n)
        mean = float(total) / n if n else np.nan
        var = float(dsa.where(ok, (x64 - mean) ** 2, 0.0).sum().compute()) / n if n else np.nan
        all_valid = False
    else:
        x64 = np.asarray(data, dtype=np.float64)
        ok = np.isfinite(x64)
        n = int(ok.sum())
        all_valid = n == x64.size
        xv = x64 if all_valid else x64[ok]
        mean = float(xv.mean()) if n else np.nan
        var = float(((xv - mean) ** 2).mean()) if n else np.nan
    if n < 3:
        raise InputError(f"{describe(values, 'The raster')} has {n} valid pixel(s); Gi* needs at least 3 "
                         f"(is it all nodata?).")
    s = math.sqrt(var)
    plain = {b: float(np.nextafter(a, 0)) for b, a in LEVELS}  # p < alpha == p <= the double below alpha
    ry, rx = fp.shape[0] // 2, fp.shape[1] // 2
    if lazy:
        z = x64.map_overlap(_z_block, depth={0: ry, 1: rx}, boundary=np.nan, dtype=np.float64,
                            fp=fp, n=float(n), mean=mean, s=s)
        pcuts = (plain[3], plain[2], plain[1])
        p = z.map_blocks(_p_bin_block, cuts=pcuts, which=0, dtype=np.float64)
        cutoffs = plain
        if fdr:
            pv = np.asarray(p.compute()).ravel()
            cutoffs = {b: bh_cutoff(pv, a) for b, a in LEVELS}
        b = z.map_blocks(_p_bin_block, cuts=(cutoffs[3], cutoffs[2], cutoffs[1]), which=1, dtype=np.float64)
        out = xr.concat([values.copy(data=z), values.copy(data=p), values.copy(data=b)], dim="stat")
    else:
        res = _gi_block(x64, fp, n, mean, s, (plain[3], plain[2], plain[1]), all_valid, parallel=True)
        cutoffs = plain
        if fdr:
            cutoffs = {b: bh_cutoff(res[1].ravel(), a) for b, a in LEVELS}
            res[2] = _p_bin_block(res[0], (cutoffs[3], cutoffs[2], cutoffs[1]), 1, parallel=True)
        out = xr.DataArray(res, dims=("stat",) + values.dims, coords=values.coords)
    out = out.assign_coords(stat=list(STATS))
    nb = "distance {:g} m".format(distance_m) if distance_m is not None else f"window {window}x{window}"
    return finish(out, values, "gi_star", "z: standard deviations; p: probability; bin: -3..3",
                  "Getis-Ord Gi* hot and cold spots", n=n, mean=mean, std=s, neighbourhood=nb,
                  neighbours_max=int(fp.sum()), fdr=int(bool(fdr)),
                  p_cutoffs=[cutoffs[b] for b, _ in LEVELS],
                  bins="3/-3: 99 %, 2/-2: 95 %, 1/-1: 90 % confidence hot/cold spot; 0 not significant")

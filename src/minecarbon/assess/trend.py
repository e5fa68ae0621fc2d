"""Per-pixel trend: Sen's slope with the Mann-Kendall test (the standard, section 5).

For each pixel, over the years with a finite value (missing years are skipped;
the real year spacing is used):

* ``n``: number of valid years;
* ``s``: Mann-Kendall S = sum over i < j of sign(x_j - x_i);
* ``var_s``: variance of S with the tie correction,
  [n(n-1)(2n+5) - sum_p t_p(t_p-1)(2t_p+5)] / 18 (t_p = size of tie group p,
  exact equality of values);
* ``z``: (S-1)/sqrt(var_s) if S > 0, 0 if S = 0, (S+1)/sqrt(var_s) if S < 0;
* ``p``: two-sided p-value 2(1 - Phi(|z|)) = erfc(|z|/sqrt 2);
* ``tau``: Kendall's tau = S / (n(n-1)/2);
* ``slope``: Sen's slope, the median over i < j of (x_j - x_i)/(t_j - t_i), in
  value units per year (t C/ha/yr for AGC);
* ``intercept``: Conover (1980), median(x) - median(t) x slope, with t counted
  in years from the first year of the stack (so it is the trend line's value
  in the first year);
* ``trend``: class code (see :data:`TREND_CLASSES`).

These are the formulas of ``pymannkendall.original_test`` / ``sens_slope``
(v1.4.3, ``DOMAIN.md`` section 3.2), which the tests reproduce on every pixel.

Trend classes (the project's choice, after the usual Sen + MK grading in the
Chinese literature): with ``alpha`` (default 0.05) and a stable-slope band
``stable_slope`` (value units per year, default 0):

====  ======================  ==========================================
code  class                   rule
====  ======================  ==========================================
 2    significant increase    slope > stable_slope and p < alpha
 1    slight increase         slope > stable_slope and p >= alpha
 0    stable                  abs(slope) <= stable_slope (incl. S = 0 series with slope 0)
-1    slight decrease         slope < -stable_slope and p >= alpha
-2    significant decrease    slope < -stable_slope and p < alpha
====  ======================  ==========================================

"p < alpha" is the test of ``pymannkendall`` (|z| > Phi^-1(1 - alpha/2)).
Pixels with fewer than ``min_years`` valid years get NaN for every statistic
except ``n``.

The kernel is compiled with numba (pairwise loops; Sen's median from a sorted
bracket of the pairwise slopes, exact); for dask-backed stacks it runs block by
block through ``xarray.apply_ufunc`` (the ``year`` dimension must be in one
chunk), so chunked and unchunked results are identical.  :func:`mann_kendall_sen_stack`
is the same computation on a numpy (year, y, x) stack; this module imports
xarray only when a DataArray function runs, so that numpy path (the file tool's
for a stack that fits in memory) needs neither xarray nor dask.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    import xarray as xr

STATS = ("slope", "intercept", "z", "p", "tau", "s", "var_s", "n", "trend")
"""Names along the ``stat`` dimension of :func:`mann_kendall_sen`."""

TREND_BANDS = ("slope", "intercept", "z", "p", "tau", "s", "n", "trend")
"""The bands of a written trend raster (the stage's ``trend`` output and ``minecarbon tool trend``)."""

TREND_CLASSES = {2: ("significant increase", "显著增加"), 1: ("slight increase", "轻微增加"),
                 0: ("stable", "稳定"), -1: ("slight decrease", "轻微减少"),
                 -2: ("significant decrease", "显著减少")}
"""Trend class codes and their names (English, Chinese)."""

_NSTAT = len(STATS)


@numba.njit(cache=True, nogil=True)
def _select(a, b, n, k):
    """k-th smallest (0-based) of a[0:n]; a and b (scratch, same size) are overwritten.

    Quickselect with a branch-free three-way partition (less / equal / greater
    than a median-of-three pivot), which keeps the CPU's branch predictor out
    of the inner loop; small remainders are finished by insertion sort.
    """
    src = a
    dst = b
    while n > 12:
        x0 = src[0]
        x1 = src[n // 2]
        x2 = src[n - 1]
        if x0 > x1:
            x0, x1 = x1, x0
        if x1 > x2:
            x1 = x2
        p = x0 if x0 > x1 else x1
        lo = 0
        hi = n - 1
        for i in range(n):
            v = src[i]
            dst[lo] = v
            dst[hi] = v
            lo += v < p
            hi -= v > p
        if k < lo:
            n = lo
        elif k > hi:
            m = n - 1 - hi
            for i in range(m):
                dst[i] = dst[hi + 1 + i]
            k -= hi + 1
            n = m
        else:
            return p
        src, dst = dst, src
    _insertion_sort(src, n)
    return src[k]


@numba.njit(cache=True, nogil=True)
def _insertion_sort(a, n):
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@numba.njit(cache=True, nogil=True)
def _median_select(keep, n, a, b):
    """Median of keep[0:n] by quickselect (left intact; a, b scratch): the mean of the two middle values for even n."""
    for i in range(n):
        a[i] = keep[i]
    if n % 2 == 1:
        return _select(a, b, n, n // 2)
    k = n // 2 - 1
    lo = _select(a, b, n, k)
    c = 0
    nxt = np.inf
    for i in range(n):
        v = keep[i]
        c += v <= lo
        if v > lo and v < nxt:
            nxt = v
    hi = lo if c >= k + 2 else nxt
    return (lo + hi) / 2.0


@numba.njit(cache=True, nogil=True)
def _count_below(keep, n, p):
    c = np.int64(0)
    for i in range(n):
        c += keep[i] < p
    return c


@numba.njit(cache=True, nogil=True)
def _count_upto(keep, n, p):
    c = np.int64(0)
    for i in range(n):
        c += keep[i] <= p
    return c


_SAMPLE = 15
"""Sample size of :func:`_median`'s bracket."""

_BRACKET_MAX = 48
"""Largest bracket :func:`_median` sorts; a wider one (rare) goes to the quickselect."""


@numba.njit(cache=True, nogil=True)
def _median(keep, n, a, b):
    """Median of keep[0:n] (left intact; a, b scratch): the mean of the two middle values for even n.

    Exact, whatever the values: the middle ranks are bracketed between two values of a sample of
    keep (counts of the values below / up to each, which the compiler vectorises), the values inside
    the bracket (a few) are copied and sorted, and the middle ones read off; a bracket wider than
    :data:`_BRACKET_MAX` values falls back to :func:`_median_select`.  The same values as a full sort
    gives, so the same median.
    """
    if n < 2 * _SAMPLE:
        return _median_select(keep, n, a, b)
    k1 = (n - 1) // 2  # the middle ranks (equal for odd n)
    k2 = n // 2
    # a sample at a regular stride, sorted (insertion: 15 values)
    for q in range(_SAMPLE):
        v = keep[(2 * q + 1) * n // (2 * _SAMPLE)]
        j = q - 1
        while j >= 0 and b[j] > v:
            b[j + 1] = b[j]
            j -= 1
        b[j + 1] = v
    # lo: the largest sample value with at most k1 values below it (-inf when none)
    q = _SAMPLE // 2
    c = _count_below(keep, n, b[q])
    if c <= k1:
        while q + 1 < _SAMPLE:
            c2 = _count_below(keep, n, b[q + 1])
            if c2 > k1:
                break
            q += 1
            c = c2
        lo = b[q]
        below = c
    else:
        lo = -np.inf
        below = np.int64(0)
        while q > 0:
            q -= 1
            c = _count_below(keep, n, b[q])
            if c <= k1:
                lo = b[q]
                below = c
                break
    # hi: the smallest sample value with more than k2 values up to it (+inf when none)
    q = _SAMPLE // 2
    c = _count_upto(keep, n, b[q])
    if c > k2:
        while q > 0:
            c2 = _count_upto(keep, n, b[q - 1])
            if c2 <= k2:
                break
            q -= 1
            c = c2
        hi = b[q]
        upto = c
    else:
        hi = np.inf
        upto = n
        while q + 1 < _SAMPLE:
            q += 1
            c = _count_upto(keep, n, b[q])
            if c > k2:
                hi = b[q]
                upto = c
                break
    # the values in [lo, hi]: ranks below..upto-1 of keep, k1 and k2 among them
    m = upto - below
    if m > _BRACKET_MAX:
        return _median_select(keep, n, a, b)
    j = np.int64(0)
    for i in range(n):
        v = keep[i]
        a[j] = v
        j += (v >= lo) & (v <= hi)
    _insertion_sort(a, m)
    if k1 == k2:
        return a[k1 - below]
    return (a[k1 - below] + a[k2 - below]) / 2.0


@numba.njit(cache=True, nogil=True)
def _pixel(y, t, min_n, out, xv, tv, keep, sa, sb, work):
    """Statistics of one series y(t) into out[0:_NSTAT]."""
    # counters start as np.int64(0), not 0: a literal 0 makes numba compile every callee twice (for
    # Literal[int](0) while typing, then for int64), which a fresh install pays for in time
    m = np.int64(0)
    for i in range(y.size):
        v = y[i]
        if np.isfinite(v):
            xv[m] = v
            tv[m] = t[i]
            m += 1
    n = m
    for k in range(_NSTAT):
        out[k] = np.nan
    out[7] = n
    if n < min_n or n < 2:
        return
    si = 0
    k = np.int64(0)
    for i in range(n - 1):
        xi = xv[i]
        ti = tv[i]
        for j in range(i + 1, n):
            d = xv[j] - xi
            si += (d > 0) - (d < 0)
            keep[k] = d / (tv[j] - ti)
            k += 1
    s = float(si)
    # tie groups (exact equality) and the middle values of x, from each value's counts of smaller and equal
    # values (its place in a stable sort: smaller ones, then equal ones before it)
    ties = 0.0
    h = n // 2
    xlo = np.nan
    xhi = np.nan
    for j in range(n):
        v = xv[j]
        lt = np.int64(0)
        eq = np.int64(0)
        for i in range(n):
            w = xv[i]
            lt += w < v
            eq += w == v
        eqb = np.int64(0)
        for i in range(j):
            eqb += xv[i] == v
        ties += (eq - 1.0) * (2.0 * eq + 5.0)
        pos = lt + eqb
        if pos == h:
            xhi = v
        if pos == h - 1:
            xlo = v
    var_s = (n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0
    if s > 0:
        z = (s - 1.0) / math.sqrt(var_s)
    elif s < 0:
        z = (s + 1.0) / math.sqrt(var_s)
    else:
        z = 0.0
    p = math.erfc(abs(z) / math.sqrt(2.0))
    tau = s / (0.5 * n * (n - 1))
    slope = _median(keep, k, sa, sb)
    # medians of x (work is sorted) and of t - t0 (tv is increasing)
    if n % 2 == 1:
        med_x = xhi
        med_t = tv[h] - t[0]
    else:
        med_x = (xlo + xhi) / 2.0
        med_t = ((tv[h - 1] - t[0]) + (tv[h] - t[0])) / 2.0
    out[0] = slope
    out[1] = med_x - med_t * slope
    out[2] = z
    out[3] = p
    out[4] = tau
    out[5] = s
    out[6] = var_s


@numba.njit(cache=True, nogil=True)
def _classify(out, alpha, stable):
    slope = out[0]
    p = out[3]
    if slope != slope:
        out[8] = np.nan
    elif abs(slope) <= stable:
        out[8] = 0.0
    elif slope > 0:
        out[8] = 2.0 if p < alpha else 1.0
    else:
        out[8] = -2.0 if p < alpha else -1.0


@numba.njit(cache=True, nogil=True)
def _run_range(data, t, min_n, alpha, stable, res, lo, hi):
    ny = data.shape[1]
    xv = np.empty(ny)
    tv = np.empty(ny)
    npair = max(1, ny * (ny - 1) // 2)
    keep = np.empty(npair)
    sa = np.empty(npair)
    sb = np.empty(npair)
    work = np.empty(ny)
    for i in range(lo, hi):
        _pixel(data[i], t, min_n, res[i], xv, tv, keep, sa, sb, work)
        _classify(res[i], alpha, stable)


@numba.njit(cache=True, parallel=True)
def _run_parallel(data, t, min_n, alpha, stable, nchunks):
    npx = data.shape[0]
    res = np.empty((npx, _NSTAT))
    step = (npx + nchunks - 1) // nchunks
    for c in numba.prange(nchunks):
        lo = c * step
        hi = min(npx, lo + step)
        if lo < hi:
            _run_range(data, t, min_n, alpha, stable, res, lo, hi)
    return res


@numba.njit(cache=True, nogil=True)
def _run_serial(data, t, min_n, alpha, stable):
    res = np.empty((data.shape[0], _NSTAT))
    _run_range(data, t, min_n, alpha, stable, res, np.int64(0), data.shape[0])  # int64: one compiled variant
    return res


def mann_kendall_sen_array(values: np.ndarray, years, min_years: int = 3, alpha: float = 0.05,
                           stable_slope: float = 0.0, parallel: bool = True) -> np.ndarray:
    """Trend statistics of series along the last axis.

    Parameters
    ----------
    values : (..., n_years) array; non-finite values are missing years.
    years : (n_years,) increasing years (any real spacing).
    min_years, alpha, stable_slope : see :func:`mann_kendall_sen`.
    parallel : use all numba threads (False inside dask blocks, which are already parallel).

    Returns
    -------
    (..., len(STATS)) float64 array, statistics in the order of :data:`STATS`.
    """
    t = np.asarray(years, dtype=np.float64)
    a = np.asarray(values)
    if a.shape[-1] != t.size:
        raise InputError(f"{a.shape[-1]} layers but {t.size} years were given; give one year per layer.")
    lead = a.shape[:-1]
    # float32 stays float32 (the kernel widens each value to float64, exactly): half the copy of a float64 one
    dtype = a.dtype if a.dtype in (np.float32, np.float64) else np.float64
    flat = np.ascontiguousarray(a.reshape(-1, t.size), dtype=dtype)
    if parallel and flat.shape[0] >= 256:
        nchunks = max(1, min(flat.shape[0], 64 * numba.get_num_threads()))
        res = _run_parallel(flat, t, int(min_years), float(alpha), float(stable_slope), nchunks)
    else:
        res = _run_serial(flat, t, int(min_years), float(alpha), float(stable_slope))
    return res.reshape(*lead, _NSTAT)


def check_trend_options(min_years: int, alpha: float, stable_slope: float) -> None:
    """Raise :class:`InputError` for a ``min_years``, ``alpha`` or ``stable_slope`` out of range."""
    if min_years < 3:
        raise InputError(f"min_years must be at least 3, not {min_years}.")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, not {alpha}.")
    if stable_slope < 0:
        raise InputError(f"stable_slope must be >= 0, not {stable_slope}.")


def check_years(years, n_layers: int, what: str = "The stack") -> np.ndarray:
    """The years as float64, checked: one per layer, at least 3, finite and strictly increasing."""
    t = np.asarray(years, dtype=np.float64).ravel()
    if t.size != n_layers:
        raise InputError(f"{what} has {n_layers} layers but {t.size} years were given; give exactly one year "
                         f"per layer.")
    if t.size < 3:
        raise InputError(f"{what} has {t.size} year(s); a Mann-Kendall trend needs at least 3. Use the two-date "
                         f"change instead, or add years.")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise InputError(f"The years {t.tolist()} of {what[0].lower() + what[1:]} must be finite and strictly "
                         f"increasing; order the layers by year.")
    return t


def trend_attrs(years: np.ndarray, min_years: int, alpha: float, stable_slope: float) -> dict:
    """The attributes of a trend result (also the tags of a written trend raster), in their order."""
    return dict(alpha=float(alpha), stable_slope=float(stable_slope), min_years=int(min_years),
                years=[float(v) for v in years],
                trend_classes="2 significant increase, 1 slight increase, 0 stable, -1 slight decrease, "
                              "-2 significant decrease")


def mann_kendall_sen_stack(stack: np.ndarray, years, min_years: int = 3, alpha: float = 0.05,
                           stable_slope: float = 0.0, what: str = "The stack") -> np.ndarray:
    """:func:`mann_kendall_sen` of a numpy (year, y, x) stack: a (stat, y, x) float64 array, ``stat`` = :data:`STATS`.

    The same checks and the same kernel (every numba thread) as :func:`mann_kendall_sen` on a numpy-backed
    DataArray, so the same numbers; ``what`` names the stack in error messages.
    """
    check_trend_options(min_years, alpha, stable_slope)
    a = np.asarray(stack)
    t = check_years(years, a.shape[0], what)
    res = mann_kendall_sen_array(np.moveaxis(a, 0, -1), t, min_years, alpha, stable_slope)
    return np.moveaxis(res, -1, 0)


def _years_of(stack: xr.DataArray, dim: str, years) -> np.ndarray:
    from ._common import describe

    if years is not None:
        t = years
    else:
        try:
            t = np.asarray(stack[dim].values, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"The {dim!r} coordinate of {describe(stack, 'the stack')} is not numeric "
                             f"({stack[dim].values[:3]}...); give the years explicitly.") from None
    return check_years(t, stack.sizes[dim], describe(stack, "The stack"))


def mann_kendall_sen(stack: xr.DataArray, years=None, dim: str = "year", min_years: int = 3,
                     alpha: float = 0.05, stable_slope: float = 0.0) -> xr.DataArray:
    """Sen's slope and the Mann-Kendall test per pixel of a yearly stack.

    Parameters
    ----------
    stack : (year, y, x) DataArray (numpy- or dask-backed), e.g. AGC in t C/ha; NaN = missing year.
    years : the year of each layer; default: the numeric ``dim`` coordinate.
    dim : name of the time dimension.
    min_years : pixels with fewer valid years get NaN statistics (>= 3; default 3).
    alpha : significance level of the test for the trend classes (default 0.05).
    stable_slope : half-width of the "stable" slope band, value units per year (default 0).

    Returns
    -------
    float64 DataArray (stat, y, x) with ``stat`` = :data:`STATS`; attributes give alpha,
    stable_slope, the years and the class codes.

    Raises
    ------
    InputError
        Fewer than 3 years, years not increasing, bad parameters.
    """
    import xarray as xr

    from ._common import describe, finish, is_dask

    if dim not in stack.dims:
        raise InputError(f"{describe(stack, 'The stack')} has no {dim!r} dimension (dims: {stack.dims}).")
    check_trend_options(min_years, alpha, stable_slope)
    t = _years_of(stack, dim, years)
    dask_backed = is_dask(stack)
    if dask_backed and len(stack.chunks[stack.get_axis_num(dim)]) > 1:
        stack = stack.chunk({dim: -1})

    def _block(a: np.ndarray) -> np.ndarray:
        return mann_kendall_sen_array(a, t, min_years, alpha, stable_slope, parallel=not dask_backed)

    out = xr.apply_ufunc(_block, stack, input_core_dims=[[dim]], output_core_dims=[["stat"]],
                         dask="parallelized", output_dtypes=[np.float64],
                         dask_gufunc_kwargs={"output_sizes": {"stat": _NSTAT}})
    out = out.assign_coords(stat=list(STATS)).transpose("stat", *[d for d in stack.dims if d != dim])
    units = stack.attrs.get("units", "")
    return finish(out, stack, "mann_kendall_sen", f"{units}/yr (slope)" if units else "per year (slope)",
                  "Sen's slope and Mann-Kendall test", **trend_attrs(t, min_years, alpha, stable_slope))

"""Natural breaks: exact Fisher-Jenks optimal classification (the standard, section 5).

The k classes minimise the within-class sum of squared deviations
SDCM = sum_c sum_{x in c} (x - mean_c)^2 over all partitions of the sorted
values into k contiguous groups (Fisher 1958; Jenks 1977) - the optimum that
``jenkspy`` and ``mapclassify.FisherJenks`` compute in O(k n^2), not a sample
or a k-means approximation.

Method: the values are sorted and collapsed to distinct values with counts
(an optimal partition never separates equal values, because each value
belongs to the class with the nearest mean); the dynamic programme
D_q(j) = min_i D_{q-1}(i) + cost(i, j) uses prefix sums of the counts, of the
(centred) values and of their squares, and is solved layer by layer by
divide and conquer: the cost satisfies the quadrangle inequality, so the
optimal split index is monotone in j (Gronlund et al. 2017, "Fast exact
k-means, k-medians and Bregman divergence clustering in 1D",
arXiv:1701.07204).  That is O(k m log m) for m distinct values - under a
second for a million values.

Breaks follow ``jenkspy``: k + 1 values [min, upper bound of class 1, ...,
upper bound of class k-1, max]; a value x is in class c (1-based) when
breaks[c-1] < x <= breaks[c] (class 1 also takes the minimum).  Values below
the minimum go to class 1 and above the maximum to class k, so every finite
value gets a class.  Goodness of variance fit GVF = 1 - SDCM / SDAM with
SDAM = sum (x - mean)^2 (standard form; ``DOMAIN.md`` section 3.4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import xarray as xr

from ..errors import InputError
from ._common import describe, finish, is_dask, require_2d


@dataclass(frozen=True)
class NaturalBreaks:
    """Result of a natural-breaks classification.

    Attributes
    ----------
    breaks : k + 1 values [min, upper bounds of classes 1..k-1, max] (``jenkspy`` convention).
    counts : number of values in each class (k).
    means : mean of each class (k).
    sdcm : within-class sum of squared deviations (value units squared).
    sdam : sum of squared deviations from the overall mean.
    gvf : goodness of variance fit, 1 - sdcm / sdam (1 when sdam is 0).
    """

    breaks: np.ndarray
    counts: np.ndarray
    means: np.ndarray
    sdcm: float
    sdam: float
    gvf: float

    @property
    def k(self) -> int:
        return int(self.counts.size)

    @property
    def upper_bounds(self) -> np.ndarray:
        """Upper bound of each class (k values; the last is the maximum)."""
        return np.asarray(self.breaks[1:])

    def to_dict(self) -> dict:
        """JSON-friendly summary."""
        return {"k": self.k, "breaks": [float(b) for b in self.breaks],
                "upper_bounds": [float(b) for b in self.upper_bounds],
                "counts": [int(c) for c in self.counts], "means": [float(m) for m in self.means],
                "sdcm": float(self.sdcm), "sdam": float(self.sdam), "gvf": float(self.gvf)}


@numba.njit(cache=True, nogil=True)
def _cost(cw, c1, c2, i, j):
    w = cw[j] - cw[i]
    s = c1[j] - c1[i]
    v = (c2[j] - c2[i]) - s * s / w
    return v if v > 0.0 else 0.0


@numba.njit(cache=True, nogil=True)
def _layer(prev, cur, arg, cw, c1, c2, q, m):
    """cur[j] = min_{q-1 <= i < j} prev[i] + cost(i, j) for j in [q, m], by divide and conquer."""
    # explicit stack of (jlo, jhi, olo, ohi)
    stack = np.empty((64 + 2 * 64, 4), np.int64)
    top = 0
    stack[0, 0] = q
    stack[0, 1] = m
    stack[0, 2] = q - 1
    stack[0, 3] = m - 1
    top = 1
    while top > 0:
        top -= 1
        jlo = stack[top, 0]
        jhi = stack[top, 1]
        olo = stack[top, 2]
        ohi = stack[top, 3]
        if jlo > jhi:
            continue
        mid = (jlo + jhi) // 2
        best = np.inf
        besti = olo
        hi = min(ohi, mid - 1)
        for i in range(olo, hi + 1):
            v = prev[i] + _cost(cw, c1, c2, i, mid)
            if v < best:
                best = v
                besti = i
        cur[mid] = best
        arg[mid] = besti
        if top + 2 > stack.shape[0]:
            new = np.empty((stack.shape[0] * 2, 4), np.int64)
            new[:top] = stack[:top]
            stack = new
        stack[top, 0] = jlo
        stack[top, 1] = mid - 1
        stack[top, 2] = olo
        stack[top, 3] = besti
        top += 1
        stack[top, 0] = mid + 1
        stack[top, 1] = jhi
        stack[top, 2] = besti
        stack[top, 3] = ohi
        top += 1


@numba.njit(cache=True, nogil=True)
def _fisher(u, c, k):
    """Optimal k-partition of distinct sorted values u with counts c; returns the class end indices."""
    m = u.size
    cw = np.zeros(m + 1)
    c1 = np.zeros(m + 1)
    c2 = np.zeros(m + 1)
    for i in range(m):
        cw[i + 1] = cw[i] + c[i]
        c1[i + 1] = c1[i] + c[i] * u[i]
        c2[i + 1] = c2[i] + c[i] * u[i] * u[i]
    prev = np.full(m + 1, np.inf)
    for j in range(1, m + 1):
        prev[j] = _cost(cw, c1, c2, np.int64(0), j)  # int64, not a literal 0: one compiled variant of _cost
    args = np.zeros((k + 1, m + 1), np.int64)
    cur = np.full(m + 1, np.inf)
    for q in range(2, k + 1):
        cur[:] = np.inf
        _layer(prev, cur, args[q], cw, c1, c2, q, m)
        prev, cur = cur, prev
    ends = np.empty(k, np.int64)  # class q covers distinct values [ends[q-1], ends[q]) ; ends[k-1] = m
    j = m
    for q in range(k, 0, -1):
        ends[q - 1] = j
        if q > 1:
            j = args[q, j]
    return ends, prev[m]


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return v, np.zeros(0, np.int64)
    v.sort()
    new = np.empty(v.size, bool)
    new[0] = True
    np.not_equal(v[1:], v[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, v.size))
    return v[starts], counts


def fisher_jenks(values, k: int) -> NaturalBreaks:
    """Exact optimal natural breaks of the finite values.

    Parameters
    ----------
    values : array-like of any shape (NaN / inf ignored), or a DataArray (dask-backed arrays are
        computed: every valid value is needed for the exact optimum, 8 bytes each).
    k : number of classes (>= 2).

    Returns
    -------
    :class:`NaturalBreaks`.

    Raises
    ------
    InputError
        k < 2, no finite value, or fewer distinct values than classes.
    """
    if isinstance(values, xr.DataArray):
        what = describe(values, "the raster")
        values = values.values
    else:
        what = "the values"
    if int(k) != k or k < 2:
        raise InputError(f"The number of classes must be an integer >= 2, not {k}.")
    k = int(k)
    u, c = _distinct(values)
    if u.size == 0:
        raise InputError(f"{what} has no valid value (all nodata?); natural breaks need data.")
    if u.size < k:
        raise InputError(f"{what} has only {u.size} distinct value(s) ({', '.join(f'{x:g}' for x in u[:8])}); "
                         f"{k} natural-breaks classes need at least {k}. Use fewer classes.")
    cf = c.astype(np.float64)
    n = cf.sum()
    mean = float((u * cf).sum() / n)
    uc = u - mean  # centred: smaller prefix sums, less cancellation
    ends, _ = _fisher(uc, cf, k)
    starts = np.concatenate([[0], ends[:-1]])
    counts = np.array([int(c[s:e].sum()) for s, e in zip(starts, ends)], dtype=np.int64)
    means = np.array([float((u[s:e] * cf[s:e]).sum() / cf[s:e].sum()) for s, e in zip(starts, ends)])
    sdcm = float(sum(((u[s:e] - mu) ** 2 * cf[s:e]).sum() for s, e, mu in zip(starts, ends, means)))
    sdam = float(((u - mean) ** 2 * cf).sum())
    breaks = np.concatenate([[u[0]], u[ends - 1]])
    gvf = 1.0 - sdcm / sdam if sdam > 0 else 1.0
    return NaturalBreaks(breaks=breaks, counts=counts, means=means, sdcm=sdcm, sdam=sdam, gvf=gvf)


def classify(values: xr.DataArray, breaks) -> xr.DataArray:
    """Class 1..k of each value for breaks in the ``jenkspy`` convention (NaN stays NaN).

    A value x is in class c when breaks[c-1] < x <= breaks[c]; values outside
    [breaks[0], breaks[-1]] go to the first / last class.  Works on numpy and
    dask arrays alike (elementwise).

    Returns
    -------
    float32 DataArray of class numbers (NaN where the value is NaN).
    """
    b = np.asarray(breaks.breaks if isinstance(breaks, NaturalBreaks) else breaks, dtype=np.float64)
    if b.ndim != 1 or b.size < 3 or np.any(np.diff(b) < 0):
        raise InputError(f"Breaks must be k + 1 >= 3 increasing values, not {b.tolist()}.")
    inner = b[1:-1]

    def _cls(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        out = (np.searchsorted(inner, a, side="left") + 1).astype(np.float32)
        out[~np.isfinite(a)] = np.nan
        return out

    if isinstance(values, xr.DataArray):
        out = xr.apply_ufunc(_cls, values, dask="parallelized", output_dtypes=[np.float32])
        return finish(out, values, "class", "class number", "natural-breaks class (1 = lowest)",
                      breaks=[float(x) for x in b])
    return _cls(values)


def natural_breaks(values: xr.DataArray, k: int) -> tuple[xr.DataArray, NaturalBreaks]:
    """Exact Fisher-Jenks breaks of a raster and the class (1..k) of every pixel.

    Parameters
    ----------
    values : (y, x) DataArray, numpy- or dask-backed; NaN = nodata (stays NaN).
    k : number of classes.

    Returns
    -------
    (classes, result): float32 DataArray of classes 1..k, and the :class:`NaturalBreaks`.
    """
    values = require_2d(values, "raster")
    data = values.data
    if is_dask(values):
        flat = data.ravel()
        flat = flat[np.isfinite(flat)].compute()
    else:
        flat = np.asarray(data)
    res = fisher_jenks(flat if not isinstance(flat, xr.DataArray) else flat.values, k)
    if res.counts.sum() == 0:  # pragma: no cover - guarded in fisher_jenks
        raise InputError(f"{describe(values, 'The raster')} has no valid value.")
    cls = classify(values, res)
    cls.attrs.update({"gvf": res.gvf, "counts": [int(c) for c in res.counts]})
    return cls, res

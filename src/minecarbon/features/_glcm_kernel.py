"""The numba GLCM kernel of :mod:`minecarbon.features.texture` (see there for the method).

State per direction ``st[d]`` (all int64): 0 pair count N, 1 sum(i + j),
2 sum(i^2 + j^2), 3 sum(2 i j), 4 sum(2 (i - j)^2), 5 sum(2 |i - j|),
6 sum(2 round(2^40 / (1 + (i - j)^2))), 7 sum over cells of count^2,
8 sum over cells of round(2^40 c ln c).  ``counts[d, a, b]`` (a <= b) is the
count of cell (a, b) of the symmetric matrix (equal to that of (b, a)).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(inline="always")
def _update(counts, st, dd, i, j, sgn, xlogx, homfix):
    a, b = (i, j) if i <= j else (j, i)
    c = counts[dd, a, b]
    if a == b:
        n = c + 2 * sgn
        st[dd, 7] += n * n - c * c
        st[dd, 8] += xlogx[n] - xlogx[c]
    else:
        n = c + sgn
        st[dd, 7] += 2 * (n * n - c * c)
        st[dd, 8] += 2 * (xlogx[n] - xlogx[c])
    counts[dd, a, b] = n
    diff = i - j
    adiff = diff if diff >= 0 else -diff
    st[dd, 0] += sgn
    st[dd, 1] += sgn * (i + j)
    st[dd, 2] += sgn * (i * i + j * j)
    st[dd, 3] += sgn * 2 * i * j
    st[dd, 4] += sgn * 2 * diff * diff
    st[dd, 5] += sgn * 2 * adiff
    st[dd, 6] += sgn * 2 * homfix[adiff]

@numba.njit(inline="always")
def _column(q, counts, st, offs, r, entering, w, col, sgn, xlogx, homfix):
    # pairs involving column ``col`` of the window whose top row is r
    for dd in range(offs.shape[0]):
        dr = offs[dd, 0]
        dc = offs[dd, 1]
        if entering:
            x = col - dc if dc >= 0 else col
        else:
            x = col if dc >= 0 else col - dc
        for y in range(r, r + w - dr):
            i = q[y, x]
            j = q[y + dr, x + dc]
            if i >= 0 and j >= 0:
                _update(counts, st, dd, i, j, sgn, xlogx, homfix)

@numba.njit(parallel=True, cache=True)
def glcm_kernel(q, w, levels, offs, xlogx, homfix, out):
    h_out = out.shape[1]
    w_out = out.shape[2]
    nd = offs.shape[0]
    half = w // 2
    for r in numba.prange(h_out):
        counts = np.zeros((nd, levels, levels), dtype=np.int64)
        st = np.zeros((nd, 9), dtype=np.int64)
        # initial window: columns [0, w)
        for dd in range(nd):
            dr = offs[dd, 0]
            dc = offs[dd, 1]
            x0 = 0 if dc >= 0 else -dc
            x1 = w - dc if dc >= 0 else w
            for y in range(r, r + w - dr):
                for x in range(x0, x1):
                    i = q[y, x]
                    j = q[y + dr, x + dc]
                    if i >= 0 and j >= 0:
                        _update(counts, st, dd, i, j, 1, xlogx, homfix)
        for c in range(w_out):
            if c > 0:
                _column(q, counts, st, offs, r, False, w, c - 1, -1, xlogx, homfix)
                _column(q, counts, st, offs, r, True, w, c + w - 1, 1, xlogx, homfix)
            if q[r + half, c + half] < 0:
                for m in range(8):
                    out[m, r, c] = np.nan
                continue
            acc = np.zeros(8)
            nvalid = 0
            for dd in range(nd):
                npairs = st[dd, 0]
                if npairs <= 0:
                    continue
                nvalid += 1
                t = 2 * npairs
                tf = float(t)
                s1 = st[dd, 1]
                s2 = st[dd, 2]
                sij = st[dd, 3]
                var_num = t * s2 - s1 * s1
                acc[0] += s1 / tf
                acc[1] += var_num / (tf * tf)
                acc[2] += st[dd, 6] / 1099511627776.0 / tf
                acc[3] += st[dd, 4] / tf
                acc[4] += st[dd, 5] / tf
                acc[5] += np.log(tf) - (st[dd, 8] / 1099511627776.0) / tf
                acc[6] += st[dd, 7] / (tf * tf)
                if var_num == 0:
                    acc[7] += 1.0
                else:
                    acc[7] += (t * sij - s1 * s1) / var_num
            if nvalid == 0:
                for m in range(8):
                    out[m, r, c] = np.nan
            else:
                for m in range(8):
                    out[m, r, c] = acc[m] / nvalid


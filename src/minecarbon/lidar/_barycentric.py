"""Barycentric transforms of a 2-D Delaunay triangulation, the numbers scipy computes, in one compiled loop.

``scipy.spatial.Delaunay.transform`` (used by ``LinearNDInterpolator`` to locate and interpolate) inverts each
triangle's 2 x 2 edge matrix with three LAPACK calls (LU, condition estimate, solve).  On the DTM of an ALS tile
(100,000-200,000 triangles) that took about a quarter of the TIN's time, against a few milliseconds for the
same arithmetic in a loop: LU with partial pivoting, the multiplier by the reciprocal of the pivot, the two
triangular solves by reciprocals with fused multiply-adds in the back substitution, as OpenBLAS does it.
:func:`set_transforms` stores the result as the triangulation's transform, so the interpolation that follows
gives exactly scipy's values (``tests/lidar/test_lidar_barycentric.py`` compares every number).

Safeguards, so the values are scipy's wherever this cannot be sure of them:

* triangles whose condition number is within a factor 1000 of scipy's degeneracy limit (or not finite) are
  computed by scipy's own routine;
* once per process the loop is compared with scipy on a test triangulation; if one bit differs (another
  BLAS, another CPU), scipy computes every transform, as before.
"""

from __future__ import annotations

import functools
import logging

import numba
import numpy as np

log = logging.getLogger(__name__)

EPS = float(np.finfo(float).eps)
RCOND_LIMIT = 1000.0 * EPS
"""scipy's limit: a triangle with a smaller reciprocal condition number is degenerate (its transform is NaN)."""
SAFETY = 1000.0
"""Triangles with a reciprocal condition number below ``SAFETY * RCOND_LIMIT`` are left to scipy."""


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _back(y0: float, y1: float, p00: float, p01: float, u11: float) -> tuple[float, float]:  # pragma: no cover
    x1 = y1 * (1.0 / u11)
    x0 = (y0 - p01 * x1) * (1.0 / p00)  # a fused multiply-add, as the BLAS kernel
    return x0, x1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _transforms(points: np.ndarray, simplices: np.ndarray, out: np.ndarray,
                suspect: np.ndarray) -> None:  # pragma: no cover - compiled
    for s in range(simplices.shape[0]):
        r0 = points[simplices[s, 2], 0]
        r1 = points[simplices[s, 2], 1]
        a00 = points[simplices[s, 0], 0] - r0
        a01 = points[simplices[s, 0], 1] - r1
        a10 = points[simplices[s, 1], 0] - r0
        a11 = points[simplices[s, 1], 1] - r1
        swap = abs(a10) > abs(a00)
        if swap:
            p00, p01, p10, p11 = a10, a11, a00, a01
        else:
            p00, p01, p10, p11 = a00, a01, a10, a11
        inv = 1.0 / p00
        lmul = p10 * inv
        u11 = p11 - lmul * p01
        for c in range(2):
            e0 = 1.0 if ((c == 0) != swap) else 0.0
            y1 = (1.0 - e0) - lmul * e0
            x0, x1 = _back(e0, y1, p00, p01, u11)
            out[s, c, 0] = x0
            out[s, c, 1] = x1
        out[s, 2, 0] = r0
        out[s, 2, 1] = r1
        # 1-norms of the matrix and of its inverse: the reciprocal condition number
        an = max(abs(a00) + abs(a10), abs(a01) + abs(a11))
        bn = max(abs(out[s, 0, 0]) + abs(out[s, 1, 0]), abs(out[s, 0, 1]) + abs(out[s, 1, 1]))
        rc = 1.0 / (an * bn)
        suspect[s] = not (rc >= SAFETY * RCOND_LIMIT and np.isfinite(bn))


def _scipy(points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    from scipy.spatial._qhull import _get_barycentric_transforms

    return _get_barycentric_transforms(points, simplices, EPS)


def transforms(points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """(nsimplex, 3, 2) barycentric transforms of 2-D triangles, as ``Delaunay.transform``."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    simplices = np.ascontiguousarray(simplices)
    out = np.empty((simplices.shape[0], 3, 2))
    suspect = np.zeros(simplices.shape[0], dtype=np.bool_)
    _transforms(points, simplices, out, suspect)
    if suspect.any():
        out[suspect] = _scipy(points, simplices[suspect])
    return out


@functools.lru_cache(maxsize=1)
def matches_scipy() -> bool:
    """Whether :func:`transforms` gives scipy's numbers bit for bit here (checked once per process)."""
    try:
        from scipy.spatial import Delaunay

        rng = np.random.default_rng(20261205)
        pts = np.vstack([rng.uniform(0.0, 1000.0, (3000, 2)),
                         np.round(rng.uniform(0.0, 1000.0, (1000, 2)), 1)])  # plus points on a 0.1 m lattice
        tri = Delaunay(pts)
        ref = _scipy(tri.points, tri.simplices)
        ok = bool(np.array_equal(transforms(tri.points, tri.simplices), ref, equal_nan=True))
    except Exception:  # noqa: BLE001 - any failure: use scipy
        ok = False
    if not ok:
        log.info("barycentric transforms: the compiled loop differs from scipy here; scipy computes them")
    return ok


def set_transforms(tri) -> None:
    """Give a 2-D ``scipy.spatial.Delaunay`` its barycentric transforms (scipy's numbers; see the module text).

    Does nothing when the loop does not match scipy here, for other dimensions, or when this scipy keeps its
    transforms elsewhere: ``tri.transform`` then computes them itself."""
    if tri.ndim != 2 or getattr(tri, "_transform", False) is not None or not matches_scipy():
        return
    try:
        t = transforms(tri.points, tri.simplices)
    except Exception:  # noqa: BLE001 - scipy computes them when asked
        log.debug("barycentric transforms: the compiled loop failed; scipy computes them", exc_info=True)
        return
    tri._transform = t

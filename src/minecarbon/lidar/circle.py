"""Circle fitting for stem cross-sections: RANSAC, Taubin, geometric least squares.

A terrestrial scan from one position sees about half of each stem, so the fit
has to be unbiased on half arcs and robust to stray points (branches, leaves,
mixed-pixel "ghosts" behind the silhouette).  The procedure is

1. **RANSAC** (Fischler & Bolles 1981): circles through random triplets of
   points; the one with most points within ``inlier_m`` and a plausible radius
   wins.  The random generator is seeded, so results are reproducible.
2. **Taubin** algebraic fit (Taubin 1991, IEEE PAMI 13(11):1115-1138) of the
   inliers, in the SVD form given by Chernov (2010, *Circular and Linear
   Regression*, CRC Press, section 5.10).  Unlike the Kasa fit it is nearly
   unbiased on partial arcs (the Kasa fit shrinks the radius of a noisy half
   arc by a few millimetres).
3. **Geometric least squares** (orthogonal distances, Levenberg-Marquardt /
   trust-region through :func:`scipy.optimize.least_squares`) started from the
   Taubin circle, with a soft-L1 loss so that remaining outliers weigh little.

All lengths are in the units of the input (metres for point clouds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

__all__ = [
    "CircleFit",
    "arc_coverage_deg",
    "fit_circle",
    "fit_circle_geometric",
    "fit_circle_taubin",
    "ransac_circle",
]


@dataclass(frozen=True)
class CircleFit:
    """A fitted circle and how well it fits."""

    x: float
    """Centre x (m)."""
    y: float
    """Centre y (m)."""
    r: float
    """Radius (m)."""
    rmse: float
    """Root mean square of the orthogonal residuals of the inliers (m)."""
    n: int
    """Number of points given."""
    n_inliers: int
    """Points within the inlier distance of the final circle."""
    arc_deg: float
    """Angular coverage of the inliers around the centre (degrees, 0-360)."""
    interior: int = 0
    """Points inside the circle by more than the interior margin (a stem section has none)."""

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.r) and self.r > 0)


def fit_circle_taubin(xy: np.ndarray) -> tuple[float, float, float]:
    """Taubin's algebraic circle fit (SVD form, Chernov 2010).

    Parameters
    ----------
    xy : (n, 2) array of point coordinates (m), n >= 3.

    Returns
    -------
    (x, y, r) : centre and radius (m); NaNs if the points are collinear.
    """
    xy = np.asarray(xy, dtype=float)
    if xy.shape[0] < 3:
        return (math.nan, math.nan, math.nan)
    centroid = xy.mean(axis=0)
    u = xy - centroid
    z = (u * u).sum(axis=1)
    zmean = z.mean()
    if zmean <= 0:
        return (math.nan, math.nan, math.nan)
    z0 = (z - zmean) / (2.0 * math.sqrt(zmean))
    m = np.column_stack([z0, u[:, 0], u[:, 1]])
    _, _, vt = np.linalg.svd(m, full_matrices=False)
    a = vt[-1].copy()
    a0 = a[0] / (2.0 * math.sqrt(zmean))
    if abs(a0) < 1e-15:
        return (math.nan, math.nan, math.nan)
    a3 = -zmean * a0
    cx, cy = -a[1] / a0 / 2.0, -a[2] / a0 / 2.0
    r2 = a[1] ** 2 + a[2] ** 2 - 4.0 * a0 * a3
    if r2 <= 0:
        return (math.nan, math.nan, math.nan)
    r = math.sqrt(r2) / abs(a0) / 2.0
    return (float(cx + centroid[0]), float(cy + centroid[1]), float(r))


def fit_circle_geometric(xy: np.ndarray, start: tuple[float, float, float],
                         loss: str = "soft_l1", f_scale: float = 0.005) -> tuple[float, float, float]:
    """Geometric (orthogonal-distance) circle fit started from ``start``.

    Parameters
    ----------
    xy : (n, 2) points (m).
    start : initial (x, y, r), e.g. from :func:`fit_circle_taubin`.
    loss : robust loss of :func:`scipy.optimize.least_squares` ("linear" for plain least squares).
    f_scale : residual scale (m) where the robust loss starts to down-weight points.
    """
    xy = np.asarray(xy, dtype=float)
    if xy.shape[0] < 3 or not np.all(np.isfinite(start)):
        return (math.nan, math.nan, math.nan)
    x0 = np.asarray(start, dtype=float)

    def resid(p: np.ndarray) -> np.ndarray:
        return np.hypot(xy[:, 0] - p[0], xy[:, 1] - p[1]) - p[2]

    def jac(p: np.ndarray) -> np.ndarray:
        dx, dy = xy[:, 0] - p[0], xy[:, 1] - p[1]
        d = np.maximum(np.hypot(dx, dy), 1e-12)
        return np.column_stack([-dx / d, -dy / d, -np.ones_like(d)])

    sol = least_squares(resid, x0, jac=jac, loss=loss, f_scale=f_scale, method="trf", x_scale="jac",
                        max_nfev=100)
    x, y, r = (float(v) for v in sol.x)
    return (x, y, abs(r))


def _circumcircles(p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> tuple[np.ndarray, ...]:
    ax, ay = p1[:, 0], p1[:, 1]
    bx, by = p2[:, 0], p2[:, 1]
    cx, cy = p3[:, 0], p3[:, 1]
    d = 2.0 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    with np.errstate(divide="ignore", invalid="ignore"):
        a2, b2, c2 = ax * ax + ay * ay, bx * bx + by * by, cx * cx + cy * cy
        ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d
        uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d
    r = np.hypot(ax - ux, ay - uy)
    return ux, uy, r


def ransac_circle(xy: np.ndarray, inlier_m: float = 0.01, r_min: float = 0.01, r_max: float = 1.0,
                  trials: int = 300, seed: int = 0, interior_margin: float | None = None) -> np.ndarray:
    """Boolean inlier mask of the best RANSAC circle (all False if none is plausible).

    Circles through ``trials`` random triplets are scored by the number of
    points within ``inlier_m`` (m); radii outside ``[r_min, r_max]`` are
    rejected.  With ``interior_margin`` (m), every point more than that inside
    a circle is subtracted from its score: a stem section has an empty
    interior, a circle drawn through foliage or a branch whorl does not.
    Vectorised; at most 3000 points are scored (a seeded subsample).
    """
    xy = np.asarray(xy, dtype=float)
    n = xy.shape[0]
    if n < 3:
        return np.zeros(n, dtype=bool)
    rng = np.random.default_rng(seed)
    score_idx = np.arange(n) if n <= 3000 else np.sort(rng.choice(n, 3000, replace=False))
    pts = xy[score_idx]
    tri = rng.integers(0, n, size=(trials, 3))
    ux, uy, r = _circumcircles(xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]])
    ok = np.isfinite(r) & (r >= r_min) & (r <= r_max)
    if not ok.any():
        return np.zeros(n, dtype=bool)
    ux, uy, r = ux[ok], uy[ok], r[ok]
    # score: inlier count, ties broken by the smaller sum of inlier residuals (MSAC-like)
    scores = np.empty(ux.size)
    chunk = max(1, 2_000_000 // max(len(pts), 1))
    for s in range(0, ux.size, chunk):
        signed = (np.hypot(pts[None, :, 0] - ux[s:s + chunk, None], pts[None, :, 1] - uy[s:s + chunk, None])
                  - r[s:s + chunk, None])
        d = np.abs(signed)
        inl = d < inlier_m
        scores[s:s + chunk] = inl.sum(axis=1) - np.where(inl, d, 0.0).sum(axis=1) / (inlier_m * (len(pts) + 1))
        if interior_margin is not None:
            scores[s:s + chunk] -= (signed < -interior_margin).sum(axis=1)
    best = int(np.argmax(scores))
    d_all = np.abs(np.hypot(xy[:, 0] - ux[best], xy[:, 1] - uy[best]) - r[best])
    return d_all < inlier_m


def arc_coverage_deg(xy: np.ndarray, cx: float, cy: float, bin_deg: float = 10.0,
                     min_per_bin: int = 1) -> float:
    """Angular coverage of points around a centre (degrees), counted in ``bin_deg`` bins."""
    xy = np.asarray(xy, dtype=float)
    if xy.shape[0] == 0 or not (np.isfinite(cx) and np.isfinite(cy)):
        return 0.0
    ang = np.degrees(np.arctan2(xy[:, 1] - cy, xy[:, 0] - cx)) % 360.0
    nb = round(360.0 / bin_deg)
    counts = np.bincount(np.minimum((ang / bin_deg).astype(int), nb - 1), minlength=nb)
    return float((counts >= min_per_bin).sum() * bin_deg)


def fit_circle(xy: np.ndarray, inlier_m: float = 0.01, r_min: float = 0.01, r_max: float = 1.0,
               trials: int = 300, seed: int = 0, robust: bool = True, geometric: bool = True,
               interior_margin: float | None = None) -> CircleFit:
    """RANSAC -> Taubin -> geometric least squares; see the module docstring.

    Parameters
    ----------
    xy : (n, 2) points of one stem cross-section (m).
    inlier_m : RANSAC and final inlier distance (m).
    r_min, r_max : plausible radius range (m).
    trials : RANSAC triplets.
    seed : seed of the RANSAC sampler.
    robust : run RANSAC first (False: Taubin + geometric fit of all points).
    geometric : finish with the geometric least-squares fit (False: Taubin on the
        points near the RANSAC circle, refitted once; faster, for stem following).
    interior_margin : penalise RANSAC circles with points inside them (see
        :func:`ransac_circle`); ``interior`` of the result counts them.

    Returns
    -------
    CircleFit (radius NaN when no plausible circle was found).
    """
    xy = np.asarray(xy, dtype=float)
    n = xy.shape[0]
    nan = CircleFit(math.nan, math.nan, math.nan, math.nan, n, 0, 0.0, 0)
    if n < 5:
        return nan
    inl = (ransac_circle(xy, inlier_m, r_min, r_max, trials, seed, interior_margin) if robust
           else np.ones(n, dtype=bool))
    if inl.sum() < 5:
        return nan
    start = fit_circle_taubin(xy[inl])
    if not np.all(np.isfinite(start)):
        return nan
    # a wider band around the Taubin circle lets the geometric fit use every stem point
    d = np.abs(np.hypot(xy[:, 0] - start[0], xy[:, 1] - start[1]) - start[2])
    use = d < 2.0 * inlier_m if robust else inl
    if use.sum() < 5:
        use = inl
    if geometric:
        cx, cy, r = fit_circle_geometric(xy[use], start, loss="soft_l1" if robust else "linear",
                                         f_scale=max(inlier_m / 2.0, 1e-4))
    else:
        near = np.abs(np.hypot(xy[:, 0] - start[0], xy[:, 1] - start[1]) - start[2]) < inlier_m
        cx, cy, r = fit_circle_taubin(xy[near]) if near.sum() >= 5 else start
    if not (np.isfinite(r) and r_min * 0.5 <= r <= r_max * 1.5):
        cx, cy, r = start
    res = np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) - r
    final = np.abs(res) < inlier_m
    rmse = float(np.sqrt(np.mean(res[final] ** 2))) if final.any() else math.nan
    margin = interior_margin if interior_margin is not None else 2.0 * inlier_m
    return CircleFit(float(cx), float(cy), float(r), rmse, n, int(final.sum()),
                     arc_coverage_deg(xy[final], cx, cy), int((res < -margin).sum()))

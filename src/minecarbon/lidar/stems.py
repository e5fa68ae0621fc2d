"""Stem detection and DBH from a height-normalised terrestrial scan.

1. **Candidates**: points in the breast-height band (``band_m``, default
   1.0-1.6 m above the DTM) on vertical surfaces (:func:`vertical_structure`:
   branches and foliage crossing the band are left out) are binned on a fine 2-D grid
   (``cluster_cell_m``) and grouped into connected components
   (:func:`scipy.ndimage.label`, 8-connectivity).  Each component with enough
   points gets a robust circle (:func:`minecarbon.lidar.circle.fit_circle`);
   after a circle is found its inliers are removed and the rest of the
   component is tried again, so two touching stems give two candidates.
2. **Stem following**: around each candidate, thin slices (``slice_m`` thick)
   from ``slice_from_m`` to ``slice_to_m`` above the ground at the stem are
   fitted with circles.  Slices whose circle is consistent with the others
   define the stem axis (robust straight line of centre against height: the
   lean) and the taper (robust straight line of radius against height).  A
   candidate seen consistently in fewer than ``min_slices`` slices and with a
   poor breast-height fit is not a stem (shrubs, branches, leaves); it is
   listed with its reason among the rejected candidates, never dropped
   silently.
3. **DBH** at 1.3 m: the band points are fitted with a short cone: centre on
   the lean axis, radius ``r0 + taper * (h - 1.3)``; parameters (centre,
   ``r0``) by robust geometric least squares with the lean and taper of step
   2 fixed.  DBH = 2 ``r0``.  The radius predicted at 1.3 m by the taper line
   of the *other* slices is the independent check (``dbh_taper_cm``).  A stem
   section has an empty interior: RANSAC penalises circles with points inside,
   and a section with more than ``max_interior_frac`` of its points inside the
   circle is rejected as foliage or a branch whorl (cf. the ``inner_circle_empty``
   check of ITSMe).
4. **QC** per stem, with reasons: ``arc`` (angular coverage of the band
   inliers below ``min_arc_deg``: the stem is partly hidden), ``residual``
   (fit RMSE above ``max_rmse_m``), ``taper`` (band DBH and taper-line DBH
   differ by more than ``max_taper_diff_cm``, or an implausible taper),
   ``leaning`` (lean above ``max_lean_deg``), ``occluded`` (fewer than
   ``min_slices`` consistent slices or fewer than ``min_band_points`` band
   points).

Heights are measured along the vertical from the DTM at the stem centre, so a
stem on a slope is measured at 1.3 m above the ground at its centre.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.optimize import least_squares

from ._index import GridIndex
from ._threads import single_threaded_blas
from .circle import CircleFit, arc_coverage_deg, fit_circle, fit_circle_taubin
from .cloud import col_min
from .ground import Surface

log = logging.getLogger(__name__)

__all__ = ["Stem", "StemParams", "detect_stems"]

BREAST_HEIGHT_M = 1.3
"""Breast height (m) at which DBH is measured (Chinese and international forestry convention)."""


@dataclass(frozen=True)
class StemParams:
    """Settings of stem detection and DBH fitting (lengths in metres)."""

    band_m: tuple[float, float] = (1.0, 1.6)
    """Height band above ground in which stems are detected and DBH is fitted."""
    cluster_cell_m: float = 0.04
    """Grid cell for grouping band points into candidate stems."""
    vertical_cell_m: float = 0.03
    vertical_span_m: float = 0.2
    """Candidates use only band points whose ``vertical_cell_m`` column spans this height (0: off)."""
    min_points: int = 15
    """Fewest band points for a candidate."""
    inlier_m: float = 0.015
    """Circle inlier distance (bark roughness + scanner noise)."""
    dbh_min_cm: float = 4.0
    dbh_max_cm: float = 150.0
    slice_m: float = 0.2
    """Thickness of the slices used to follow the stem."""
    slice_from_m: float = 0.7
    """Lowest slice centre (above the butt flare)."""
    slice_to_m: float = 3.3
    """Highest slice centre."""
    min_slices: int = 4
    """Consistent slices needed to accept a candidate on its own."""
    min_arc_deg: float = 90.0
    max_rmse_m: float = 0.01
    max_taper_diff_cm: float = 2.0
    max_lean_deg: float = 10.0
    min_band_points: int = 30
    max_interior_frac: float = 0.2
    """A section with more points inside its circle than this share of the points on it is not a stem."""
    ransac_trials: int = 200
    max_fit_points: int = 800
    """Points per breast-height fit (a seeded subsample above this)."""
    slice_fit_points: int = 400
    slice_trials: int = 120
    """Points and RANSAC triplets per slice fit when following the stem."""
    seed: int = 0


@dataclass
class Stem:
    """One measured stem (positions in the cloud's frame, metres)."""

    x: float
    y: float
    z_base: float
    dbh_cm: float
    rmse_cm: float
    arc_deg: float
    n_band_points: int
    n_slices: int
    lean_deg: float
    lean_azimuth_deg: float
    lean_xy: tuple[float, float]
    taper_cm_per_m: float
    dbh_taper_cm: float
    qc_flags: list[str] = field(default_factory=list)
    point_index: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    slices: pd.DataFrame | None = None

    def axis_xy(self, h: np.ndarray | float) -> np.ndarray:
        """Stem axis position (x, y) at height ``h`` (m above the base)."""
        h = np.asarray(h, dtype=float) - BREAST_HEIGHT_M
        return np.stack([self.x + self.lean_xy[0] * h, self.y + self.lean_xy[1] * h], axis=-1)


def _subsample(idx: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    return idx if idx.size <= k else np.sort(rng.choice(idx, k, replace=False))


def vertical_structure(xy: np.ndarray, z: np.ndarray, cell_m: float, min_span_m: float,
                       min_points: int = 3) -> np.ndarray:
    """Mask of points on vertical surfaces: their ``cell_m`` column holds points spanning ``min_span_m`` in height.

    In the breast-height band a stem surface is seen at every height, so each
    small (x, y) column on it spans most of the band; branches, needles and
    leaves crossing the band do not.
    """
    if xy.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    ij = np.floor((xy - col_min(xy)) / cell_m).astype(np.int64)
    key = ij[:, 1] * (int(ij[:, 0].max()) + 1) + ij[:, 0]
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    zs = z[order]
    zmin = np.minimum.reduceat(zs, starts)
    zmax = np.maximum.reduceat(zs, starts)
    cnt = np.diff(np.r_[starts, ks.size])
    good_cell = ((zmax - zmin) >= min_span_m) & (cnt >= min_points)
    mask = np.empty(xy.shape[0], dtype=bool)
    mask[order] = np.repeat(good_cell, cnt)
    return mask


def _band_candidates(xy: np.ndarray, p: StemParams, rng: np.random.Generator) -> tuple[list, list]:
    """Circles found in the band points: list of (CircleFit, member indices into xy) and rejects."""
    if xy.shape[0] == 0:
        return [], []
    cell = p.cluster_cell_m
    lo = col_min(xy)
    ij = np.floor((xy - lo) / cell).astype(np.int64)
    shape = (int(ij[:, 1].max()) + 1, int(ij[:, 0].max()) + 1)
    occ = np.zeros(shape, dtype=bool)
    occ[ij[:, 1], ij[:, 0]] = True
    labels, nlab = ndimage.label(occ, structure=np.ones((3, 3), dtype=bool))
    pl = labels[ij[:, 1], ij[:, 0]]
    order = np.argsort(pl, kind="stable")
    bounds = np.searchsorted(pl[order], np.arange(1, nlab + 2))
    r_min, r_max = p.dbh_min_cm / 200.0, p.dbh_max_cm / 200.0
    found, rejected = [], []
    for lab in range(nlab):
        members = order[bounds[lab]:bounds[lab + 1]]
        if members.size < p.min_points:
            continue
        remaining = members
        for attempt in range(3):
            if remaining.size < p.min_points:
                break
            use = _subsample(remaining, p.max_fit_points, rng)
            fit = fit_circle(xy[use], p.inlier_m, r_min, r_max, p.ransac_trials, seed=int(rng.integers(1 << 31)),
                             geometric=False, interior_margin=2.0 * p.inlier_m)
            if not fit.ok or fit.n_inliers < p.min_points:
                if attempt == 0:
                    c = xy[remaining].mean(axis=0)
                    rejected.append({"x": c[0], "y": c[1], "n_points": int(remaining.size),
                                     "reason": "no circle with enough points in the breast-height band"})
                break
            d = np.abs(np.hypot(xy[remaining, 0] - fit.x, xy[remaining, 1] - fit.y) - fit.r)
            inl = d < 2.0 * p.inlier_m
            found.append((fit, remaining[inl]))
            remaining = remaining[~inl]
    return found, rejected


def _robust_line(h: np.ndarray, v: np.ndarray, tol: float, iters: int = 4) -> tuple[float, float, np.ndarray]:
    """Straight line v = a + b (h - 1.3) with iterative rejection of residuals > max(tol, 3 MAD)."""
    keep = np.isfinite(v)
    a, b = (float(np.nanmedian(v)) if keep.any() else math.nan), 0.0
    for _ in range(iters):
        if keep.sum() >= 2 and np.ptp(h[keep]) > 0:
            b, a = np.polyfit(h[keep] - BREAST_HEIGHT_M, v[keep], 1)
        elif keep.sum() >= 1:
            a, b = float(np.median(v[keep])), 0.0
        res = v - (a + b * (h - BREAST_HEIGHT_M))
        mad = 1.4826 * float(np.median(np.abs(res[keep]))) if keep.any() else 0.0
        new = np.isfinite(v) & (np.abs(res) <= max(tol, 3.0 * mad))
        if np.array_equal(new, keep):
            break
        keep = new
    return float(a), float(b), keep


def _cone_fit(pts: np.ndarray, h: np.ndarray, start: tuple[float, float, float], lean: tuple[float, float],
              taper: float, f_scale: float) -> tuple[float, float, float]:
    """Centre (at 1.3 m) and radius r0 of a cone with fixed lean and taper; robust geometric LS."""
    dh = h - BREAST_HEIGHT_M
    ox, oy = lean[0] * dh, lean[1] * dh
    tr = taper * dh

    def resid(q: np.ndarray) -> np.ndarray:
        return np.hypot(pts[:, 0] - q[0] - ox, pts[:, 1] - q[1] - oy) - (q[2] + tr)

    sol = least_squares(resid, np.asarray(start, dtype=float), loss="soft_l1", f_scale=f_scale,
                        method="trf", max_nfev=100)
    return float(sol.x[0]), float(sol.x[1]), float(abs(sol.x[2]))


def _measure(fit0: CircleFit, xyz: np.ndarray, tree_zone: GridIndex, zone_idx: np.ndarray, zone_xy: np.ndarray,
             dtm: Surface, p: StemParams, rng: np.random.Generator) -> tuple[Stem | None, str]:
    """Follow one candidate over slices and fit its DBH; (None, reason) if it is not a stem."""
    z0 = float(dtm(np.array([fit0.x]), np.array([fit0.y]))[0])
    reach = fit0.r + 0.05 + math.tan(math.radians(max(p.max_lean_deg, 15.0))) * max(
        p.slice_to_m - BREAST_HEIGHT_M, BREAST_HEIGHT_M - p.slice_from_m)
    near = zone_idx[tree_zone.disc(fit0.x, fit0.y, reach, zone_xy)]
    if near.size == 0:
        return None, "no points around the candidate"
    h_near = xyz[near, 2] - z0
    by_h = np.argsort(h_near, kind="stable")
    near = near[by_h]
    pts = xyz[near]
    h = h_near[by_h]  # sorted: slices are found by binary search
    r_lo, r_hi = max(p.dbh_min_cm / 200.0, 0.5 * fit0.r), min(p.dbh_max_cm / 200.0, 1.6 * fit0.r + 0.01)
    rows = []
    centres = np.arange(p.slice_from_m, p.slice_to_m + 1e-9, p.slice_m)
    guess = np.array([fit0.x, fit0.y])
    # go upwards from breast height, then downwards, predicting the centre from the last good slice
    order = np.r_[np.flatnonzero(centres >= BREAST_HEIGHT_M - 1e-9), np.flatnonzero(centres < BREAST_HEIGHT_M - 1e-9)[::-1]]
    last_up = guess.copy()
    last_down = guess.copy()
    for k in order:
        hc = centres[k]
        pred = last_up if hc >= BREAST_HEIGHT_M - 1e-9 else last_down
        i0, i1 = np.searchsorted(h, [hc - p.slice_m / 2.0, hc + p.slice_m / 2.0], side="left")
        if i1 - i0 < 8:
            rows.append((hc, math.nan, math.nan, math.nan, math.nan, 0.0, int(i1 - i0)))
            continue
        d = np.hypot(pts[i0:i1, 0] - pred[0], pts[i0:i1, 1] - pred[1])
        win = i0 + np.flatnonzero(d < fit0.r * 1.6 + 0.08)
        if win.size < 8:
            rows.append((hc, math.nan, math.nan, math.nan, math.nan, 0.0, int(win.size)))
            continue
        use = _subsample(win, p.slice_fit_points, rng)
        f = fit_circle(pts[use, :2], p.inlier_m, r_lo, r_hi, p.slice_trials, seed=int(rng.integers(1 << 31)),
                       geometric=False, interior_margin=2.0 * p.inlier_m)
        if (f.ok and f.n_inliers >= 8 and np.hypot(f.x - pred[0], f.y - pred[1]) < 0.5 * fit0.r + 0.08
                and f.interior <= p.max_interior_frac * f.n_inliers):
            rows.append((hc, f.x, f.y, f.r, f.rmse, f.arc_deg, f.n_inliers))
            if hc >= BREAST_HEIGHT_M - 1e-9:
                last_up = np.array([f.x, f.y])
            else:
                last_down = np.array([f.x, f.y])
        else:
            rows.append((hc, math.nan, math.nan, math.nan, math.nan, 0.0, int(win.size)))
    sl = pd.DataFrame(rows, columns=["h_m", "x", "y", "r_m", "rmse_m", "arc_deg", "n"]).sort_values("h_m")
    hs = sl["h_m"].to_numpy()
    tol_c = max(0.02, 0.2 * fit0.r)
    ax_, bx, kx = _robust_line(hs, sl["x"].to_numpy(), tol_c)
    ay_, by, ky = _robust_line(hs, sl["y"].to_numpy(), tol_c)
    ar, br, kr = _robust_line(hs, sl["r_m"].to_numpy(), max(0.01, 0.08 * fit0.r))
    good = kx & ky & kr
    sl["consistent"] = good
    n_good = int(good.sum())
    if n_good < 2:
        bx = by = 0.0
        br = 0.0
        ax_, ay_ = fit0.x, fit0.y
    lean_xy = (bx, by)
    taper = br if n_good >= 3 else 0.0
    # DBH: cone fit of the band points
    b0, b1 = np.searchsorted(h, [p.band_m[0], p.band_m[1]], side="left")
    if b1 - b0 < 8:
        return None, "too few points in the breast-height band"
    bidx = np.arange(b0, b1)
    dh = h[bidx] - BREAST_HEIGHT_M
    cx_pred = ax_ + bx * dh
    cy_pred = ay_ + by * dh
    rad = np.hypot(pts[bidx, 0] - cx_pred, pts[bidx, 1] - cy_pred)
    r_guess = fit0.r if not np.isfinite(ar) else ar
    near_band = bidx[np.abs(rad - (r_guess + taper * dh)) < 0.5 * r_guess + 0.05]
    if near_band.size < 8:
        return None, "too few points near the stem in the breast-height band"
    use = _subsample(near_band, 3 * p.max_fit_points, rng)
    hu = h[use]
    # de-lean and de-taper for a robust start, then the cone fit
    dhu = hu - BREAST_HEIGHT_M
    flat = np.column_stack([pts[use, 0] - bx * dhu, pts[use, 1] - by * dhu])
    f_start = fit_circle(flat, p.inlier_m, r_lo, r_hi, p.ransac_trials, seed=int(rng.integers(1 << 31)),
                         geometric=False, interior_margin=2.0 * p.inlier_m)
    start = (f_start.x, f_start.y, f_start.r) if f_start.ok else fit_circle_taubin(flat)
    if not np.all(np.isfinite(start)):
        return None, "no circle fits the breast-height band"
    cx, cy, r0 = _cone_fit(pts[use], hu, start, lean_xy, taper, p.inlier_m / 2.0)
    if not (p.dbh_min_cm / 200.0 * 0.8 <= r0 <= p.dbh_max_cm / 200.0 * 1.2):
        return None, f"fitted DBH {200 * r0:.1f} cm outside {p.dbh_min_cm}-{p.dbh_max_cm} cm"
    res = np.hypot(pts[use, 0] - cx - bx * dhu, pts[use, 1] - cy - by * dhu) - (r0 + taper * dhu)
    inl = np.abs(res) < p.inlier_m
    interior = int((res < -2.0 * p.inlier_m).sum())
    if interior > p.max_interior_frac * max(int(inl.sum()), 1):
        return None, (f"{interior} points inside the fitted breast-height circle (DBH {200 * r0:.0f} cm) for "
                      f"{int(inl.sum())} on it: foliage or branches, not a stem surface")
    rmse = float(np.sqrt(np.mean(res[inl] ** 2))) if inl.any() else math.nan
    arc = arc_coverage_deg(np.column_stack([pts[use[inl], 0] - bx * dhu[inl], pts[use[inl], 1] - by * dhu[inl]]),
                           cx, cy)
    n_band = int(inl.sum() * (near_band.size / max(use.size, 1)))
    # independent check: taper line of the slices outside the band
    outside = good & ((hs < p.band_m[0]) | (hs > p.band_m[1]))
    if outside.sum() >= 2:
        a_o, _, _ = _robust_line(hs[outside], sl["r_m"].to_numpy()[outside], max(0.01, 0.08 * r0))
        dbh_taper = 200.0 * a_o
    elif outside.sum() == 1:
        dbh_taper = 200.0 * float(sl["r_m"].to_numpy()[outside][0])
    else:
        dbh_taper = math.nan
    lean_deg = math.degrees(math.atan(math.hypot(bx, by)))
    flags = []
    if arc < p.min_arc_deg:
        flags.append("arc")
    if not np.isfinite(rmse) or rmse > p.max_rmse_m:
        flags.append("residual")
    if (np.isfinite(dbh_taper) and abs(dbh_taper - 200.0 * r0) > p.max_taper_diff_cm) or \
            not (-0.06 <= taper <= 0.01):
        flags.append("taper")
    if lean_deg > p.max_lean_deg:
        flags.append("leaning")
    if n_good < p.min_slices or n_band < p.min_band_points:
        flags.append("occluded")
    fit_quality_ok = (np.isfinite(rmse) and rmse <= 1.5 * p.max_rmse_m and arc >= 45.0
                      and n_band >= p.min_points)
    if n_good < 3 and not fit_quality_ok:
        return None, (f"not followed as a stem (consistent in {n_good} slice(s)) and poor breast-height fit "
                      f"(arc {arc:.0f} deg, RMSE {100 * rmse:.1f} cm)")
    # points of the stem (within the inlier band of the axis/taper model, up to the highest slice)
    dh_all = h - BREAST_HEIGHT_M
    rr = np.hypot(pts[:, 0] - cx - bx * dh_all, pts[:, 1] - cy - by * dh_all) - (r0 + taper * dh_all)
    stem_pts = near[(np.abs(rr) < 2.0 * p.inlier_m) & (h >= 0.0) & (h <= p.slice_to_m + p.slice_m)]
    stem = Stem(x=cx, y=cy, z_base=z0, dbh_cm=200.0 * r0, rmse_cm=100.0 * rmse, arc_deg=arc, n_band_points=n_band,
                n_slices=n_good, lean_deg=lean_deg,
                lean_azimuth_deg=(math.degrees(math.atan2(bx, by)) % 360.0) if lean_deg > 0 else 0.0,
                lean_xy=lean_xy, taper_cm_per_m=100.0 * 2.0 * taper, dbh_taper_cm=dbh_taper, qc_flags=flags,
                point_index=stem_pts, slices=sl)
    return stem, ""


@single_threaded_blas
def detect_stems(xyz: np.ndarray, hag: np.ndarray, dtm: Surface,
                 params: StemParams | None = None) -> tuple[list[Stem], pd.DataFrame]:
    """Find and measure the stems of a height-normalised scan.

    Parameters
    ----------
    xyz : (n, 3) points (m).
    hag : (n,) height above ground of each point (m).
    dtm : the terrain model (for the ground height at each stem).
    params : settings; defaults as in :class:`StemParams`.

    Returns
    -------
    stems : measured stems (QC flags set, never dropped for quality).
    rejected : one row per candidate that is not a stem (x, y, n_points, reason).
    """
    p = params or StemParams()
    rng = np.random.default_rng(p.seed)
    band = np.flatnonzero((hag >= p.band_m[0]) & (hag <= p.band_m[1]))
    if p.vertical_span_m > 0:
        band = band[vertical_structure(xyz[band, :2], hag[band], p.vertical_cell_m, p.vertical_span_m)]
    found, rejected = _band_candidates(xyz[band, :2], p, rng)
    zone_top = p.slice_to_m + p.slice_m
    zone_idx = np.flatnonzero((hag >= min(p.slice_from_m, p.band_m[0]) - p.slice_m - 0.3) & (hag <= zone_top + 0.5))
    zone_xy = xyz[zone_idx, :2]
    tree_zone = GridIndex(zone_xy, 1.0)
    stems: list[Stem] = []
    for fit, _members in found:
        stem, reason = _measure(fit, xyz, tree_zone, zone_idx, zone_xy, dtm, p, rng)
        if stem is None:
            rejected.append({"x": fit.x, "y": fit.y, "n_points": int(fit.n_inliers), "reason": reason})
        else:
            stems.append(stem)
    stems = _merge_duplicates(stems, rejected)
    log.info("stems: %d found, %d candidates rejected", len(stems), len(rejected))
    return stems, pd.DataFrame(rejected, columns=["x", "y", "n_points", "reason"])


def _merge_duplicates(stems: list[Stem], rejected: list[dict]) -> list[Stem]:
    """Candidates that measured the same stem (centres closer than the larger radius): keep the best."""
    if len(stems) < 2:
        return stems
    score = np.array([s.n_band_points * (1.0 if not s.qc_flags else 0.5) for s in stems])
    order = np.argsort(-score, kind="stable")
    kept: list[Stem] = []
    for k in order:
        s = stems[k]
        dup = next((t for t in kept if math.hypot(s.x - t.x, s.y - t.y) < max(s.dbh_cm, t.dbh_cm) / 200.0), None)
        if dup is None:
            kept.append(s)
        else:
            rejected.append({"x": s.x, "y": s.y, "n_points": s.n_band_points,
                             "reason": "duplicate of a stem measured better nearby"})
    return kept

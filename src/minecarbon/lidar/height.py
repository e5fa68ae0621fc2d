"""Tree heights in a terrestrial scan, and the points of each tree.

A single scan sees the canopy from below; tops of suppressed trees are often
inside or under a neighbour's crown.  Heights are found in two ways:

1. **Treetops**: stray returns are removed (a point counts only when its
   ``voxel_m`` voxel and the 26 around it hold at least
   ``max(min_voxel_neighbourhood, relative_neighbourhood * median count)``
   points), a canopy height model is built
   (``chm_cell_m``, highest return per cell) and its treetops are found with
   the variable-window filter of :mod:`minecarbon.lidar.treetops`
   (``window_slope * h + window_intercept``).  Each stem is matched to at most
   one treetop, one-to-one (Hungarian assignment), when the stem axis,
   extended with its lean to the treetop's height, passes within
   ``max(match_min_m, match_rel * h)`` of it.  The height is the treetop's
   elevation minus the ground elevation at the stem (``height_source = "treetop"``).
2. **Axis column** for stems without a treetop (their top is below a
   neighbour's crown): the highest point within ``column_radius_m`` of the
   stem axis that has at least ``column_support`` other column points less
   than 0.5 m below it (``height_source = "column"``).  Where a taller crown
   covers the axis this may reach into that crown, so such a top counts as
   reliable only when no point lies within ``clear_radius_m`` of the axis from
   0.3 m to ``clear_above_m`` above it (``top_clear``); otherwise the tree is
   flagged ``top_hidden``.
3. **QC against the plot's height-diameter curve**: Naslund's curve
   ``H = 1.3 + D^2 / (a + b D)^2`` fitted robustly (Tukey biweight) to the
   plot's trees with a reliable top; a height whose log residual exceeds
   ``max(hd_k * robust SD, ln(1 + hd_min_rel))`` is flagged ``height`` and the
   curve's value is given as ``height_hd_m``.  Needs at least ``hd_min_trees`` trees.

:func:`label_points` attributes canopy points to trees (nearest stem axis at
the point's height, within a crown-radius bound, not above the tree's top)
for the classified output cloud.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from ._index import GridIndex
from ._threads import single_threaded_blas
from .chm import grid_for_points, rasterize_max
from .cloud import col_max, col_min
from .ground import Surface
from .stems import Stem
from .treetops import _mask_block

log = logging.getLogger(__name__)

__all__ = ["HeightParams", "canopy_points", "height_diameter_check", "label_points", "tree_heights"]


@dataclass(frozen=True)
class HeightParams:
    """Settings of height measurement (lengths in metres)."""

    voxel_m: float = 0.2
    min_voxel_neighbourhood: int = 3
    relative_neighbourhood: float = 0.03
    chm_cell_m: float = 0.25
    window_slope: float = 0.07
    window_intercept: float = 0.5
    min_height_m: float = 2.0
    match_min_m: float = 0.6
    match_rel: float = 0.08
    column_radius_m: float = 0.15
    column_support: int = 2
    clear_radius_m: float = 0.5
    clear_above_m: float = 3.0
    hd_min_trees: int = 8
    hd_k: float = 3.0
    hd_min_rel: float = 0.2


def canopy_points(xyz: np.ndarray, hag: np.ndarray, voxel_m: float = 0.2, min_neighbourhood: int = 3,
                  min_hag_m: float = 0.5, relative: float = 0.03) -> np.ndarray:
    """Indices of points above ``min_hag_m`` that are not isolated returns.

    A point is kept when its voxel and the 26 neighbouring voxels (edge
    ``voxel_m``) hold at least ``max(min_neighbourhood, relative * median)``
    points, the median being taken over all points: the threshold follows the
    density of the scan, so stray returns are removed from dense scans as well
    as from sparse ones.
    """
    sel = np.flatnonzero(np.isfinite(hag) & (hag > min_hag_m))
    if sel.size == 0:
        return sel
    v = np.floor(xyz[sel] / voxel_m).astype(np.int64)
    v -= col_min(v) - 1
    dims = col_max(v) + 2
    n_vox = int(dims[0]) * int(dims[1]) * int(dims[2])
    key = (v[:, 2] * dims[1] + v[:, 1]) * dims[0] + v[:, 0]
    del v
    if n_vox <= 20_000_000:
        # dense voxel grid: counts by bincount, 27-neighbourhood sums by a box filter (no sorting)
        from scipy import ndimage

        grid = np.bincount(key, minlength=n_vox).reshape(int(dims[2]), int(dims[1]), int(dims[0]))
        total_grid = ndimage.uniform_filter(grid.astype(np.float32), size=3, mode="constant") * 27.0
        per_point = np.rint(total_grid.ravel()[key]).astype(np.int64)
        threshold = max(float(min_neighbourhood), relative * float(np.median(per_point)))
        return sel[per_point >= threshold]
    uk, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    total = np.zeros(uk.size, dtype=np.int64)
    for dz in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                k2 = uk + (dz * dims[1] + dy) * dims[0] + dx
                pos = np.minimum(np.searchsorted(uk, k2), uk.size - 1)
                hit = uk[pos] == k2
                total[hit] += cnt[pos[hit]]
    per_point = total[inv]
    threshold = max(float(min_neighbourhood), relative * float(np.median(per_point)))
    return sel[per_point >= threshold]


def _column_top(xyz: np.ndarray, index: GridIndex, canopy: np.ndarray, stem: Stem, hmax: float,
                p: HeightParams) -> tuple[float, bool]:
    """Top of the points along the stem axis, and whether the sky above it is clear.

    Returns (height above the stem base, clear); ``clear`` is False when points lie within
    ``clear_radius_m`` of the axis between 0.3 m and ``clear_above_m`` above the top, i.e. the top may be
    under or inside another crown.
    """
    hs = np.array([0.0, hmax])
    ax = stem.axis_xy(hs)
    r = max(p.column_radius_m, p.clear_radius_m)
    cand = index.box(ax[:, 0].min() - r, ax[:, 0].max() + r, ax[:, 1].min() - r, ax[:, 1].max() + r)
    if cand.size == 0:
        return math.nan, False
    pts = xyz[canopy[cand]]
    h = pts[:, 2] - stem.z_base
    a = stem.axis_xy(h)
    dist = np.hypot(pts[:, 0] - a[:, 0], pts[:, 1] - a[:, 1])
    inside = (dist <= p.column_radius_m) & (h > 1.0)
    zz = np.sort(h[inside])
    if zz.size == 0:
        return math.nan, False
    # highest point with enough column points less than 0.5 m below it
    below = np.searchsorted(zz, zz - 0.5, side="left")
    support = np.arange(zz.size) - below
    ok = np.flatnonzero(support >= p.column_support)
    top = float(zz[ok[-1]]) if ok.size else float(zz[-1])
    above = (dist <= p.clear_radius_m) & (h > top + 0.3) & (h <= top + p.clear_above_m)
    return top, not bool(above.any())


@single_threaded_blas
def tree_heights(xyz: np.ndarray, hag: np.ndarray, stems: list[Stem], dtm: Surface,
                 params: HeightParams | None = None, canopy: np.ndarray | None = None) -> pd.DataFrame:
    """Height (m) of every stem: treetop match, else axis column (see the module docstring).

    Returns
    -------
    DataFrame, one row per stem in the order given: ``height_m``,
    ``height_source`` ("treetop", "column" or "none"), ``top_x``, ``top_y`` and
    ``top_clear`` (False when the top found along the axis has points above it,
    i.e. may be under or inside another crown).
    """
    p = params or HeightParams()
    n = len(stems)
    out = pd.DataFrame({"height_m": np.full(n, np.nan), "height_source": ["none"] * n,
                        "top_x": np.full(n, np.nan), "top_y": np.full(n, np.nan), "top_clear": np.zeros(n, bool)})
    if n == 0:
        return out
    if canopy is None:
        canopy = canopy_points(xyz, hag, p.voxel_m, p.min_voxel_neighbourhood,
                               relative=p.relative_neighbourhood)
    if canopy.size == 0:
        return out
    cx, cy = xyz[canopy, 0], xyz[canopy, 1]
    left, top, nx, ny = grid_for_points(cx, cy, p.chm_cell_m)
    chm = rasterize_max(cx, cy, hag[canopy], left, top, nx, ny, p.chm_cell_m)
    tops = _mask_block(chm, p.chm_cell_m, p.window_slope, p.window_intercept, p.min_height_m, "exact")
    iy, ix = np.nonzero(tops)
    tz = chm[iy, ix]
    tx = left + (ix + 0.5) * p.chm_cell_m
    ty = top - (iy + 0.5) * p.chm_cell_m
    tz_abs = tz + dtm(tx, ty)  # treetop elevation; tree height is measured from the stem base
    if tz.size:
        tree = cKDTree(np.column_stack([tx, ty]))
        cost = np.full((n, tz.size), np.inf)
        for k, s in enumerate(stems):
            # candidate treetops near the axis (the axis moves with the lean, at most ~30 m up)
            reach = p.match_min_m + p.match_rel * 60.0 + 60.0 * math.hypot(*s.lean_xy)
            near = np.asarray(tree.query_ball_point([s.x, s.y], reach), dtype=np.int64)
            if near.size == 0:
                continue
            h_top = tz_abs[near] - s.z_base
            ax = s.axis_xy(h_top)
            d = np.hypot(ax[:, 0] - tx[near], ax[:, 1] - ty[near])
            ok = d <= np.maximum(p.match_min_m, p.match_rel * h_top)
            cost[k, near[ok]] = d[ok]
        finite = np.isfinite(cost)
        r, c = linear_sum_assignment(np.where(finite, cost, 1e9))
        good = finite[r, c]
        for k, j in zip(r[good], c[good]):
            out.loc[k, ["height_m", "top_x", "top_y"]] = [float(tz_abs[j] - stems[k].z_base), float(tx[j]),
                                                          float(ty[j])]
            out.loc[k, "height_source"] = "treetop"
            out.loc[k, "top_clear"] = True
    hmax = float(np.nanmax(hag[canopy]))
    index = GridIndex(xyz[canopy, :2], 1.0)
    for k, s in enumerate(stems):
        if out.loc[k, "height_source"] == "treetop":
            continue
        h, clear = _column_top(xyz, index, canopy, s, hmax, p)
        if np.isfinite(h):
            a = s.axis_xy(h)
            out.loc[k, ["height_m", "top_x", "top_y"]] = [h, float(a[0]), float(a[1])]
            out.loc[k, "height_source"] = "column"
            out.loc[k, "top_clear"] = clear
    return out


def height_diameter_check(dbh_cm: np.ndarray, height_m: np.ndarray, min_trees: int = 8, k: float = 3.0,
                          min_rel: float = 0.2, fit_mask: np.ndarray | None = None
                          ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Flag heights that disagree with the plot's own height-diameter curve.

    Model: Naslund (1936), ``H = 1.3 + D^2 / (a + b D)^2`` (D in cm, H in m),
    a saturating curve common in forest inventory; fitted in its linear form
    ``D / sqrt(H - 1.3) = a + b D`` by Tukey-biweight iteratively reweighted
    least squares to the trees selected by ``fit_mask`` (default: all), and
    applied to all.  Residuals are compared on the log scale of ``H - 1.3``.

    Returns
    -------
    flag : (n,) bool, True where ``|ln(H - 1.3) - ln(H_curve - 1.3)| > max(k * robust SD, ln(1 + min_rel))``.
    h_model : (n,) heights from the curve (m); NaN when there are too few trees.
    info : ``a``, ``b``, ``robust_sd`` (of the log residuals), ``n``.
    """
    d = np.asarray(dbh_cm, dtype=float)
    h = np.asarray(height_m, dtype=float)
    n = d.size
    valid = np.isfinite(d) & np.isfinite(h) & (d > 0) & (h > 1.3)
    ok = valid & (np.ones(n, dtype=bool) if fit_mask is None else np.asarray(fit_mask, dtype=bool))
    flag = np.zeros(n, dtype=bool)
    h_model = np.full(n, np.nan)
    if ok.sum() < min_trees:
        return flag, h_model, {"n": int(ok.sum())}
    x = d[ok]
    y = x / np.sqrt(h[ok] - 1.3)
    a_mat = np.column_stack([np.ones_like(x), x])
    w = np.ones_like(x)
    coef = np.zeros(2)
    for _ in range(50):
        sw = np.sqrt(w)
        coef = np.linalg.lstsq(a_mat * sw[:, None], y * sw, rcond=None)[0]
        res = y - a_mat @ coef
        s_lin = max(1.4826 * float(np.median(np.abs(res))), 1e-6)
        u = res / (4.685 * s_lin)
        w_new = np.where(np.abs(u) < 1.0, (1.0 - u * u) ** 2, 0.0)
        if np.allclose(w_new, w, atol=1e-8):
            break
        w = w_new
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = coef[0] + coef[1] * d
        h_model = np.where((denom > 0) & (d > 0), 1.3 + d * d / (denom * denom), np.nan)
        log_res = np.log(h - 1.3) - np.log(h_model - 1.3)
    s = max(1.4826 * float(np.median(np.abs(log_res[ok & np.isfinite(log_res)]))), 1e-3)
    flag = valid & np.isfinite(log_res) & (np.abs(log_res) > max(k * s, math.log(1.0 + min_rel)))
    return flag, h_model, {"a": float(coef[0]), "b": float(coef[1]), "robust_sd": s, "n": int(ok.sum()),
                           "model": "Naslund 1936: H = 1.3 + D^2 / (a + b D)^2"}


def label_points(xyz: np.ndarray, hag: np.ndarray, stems: list[Stem], heights_m: np.ndarray,
                 canopy: np.ndarray, tree_ids: np.ndarray, layer_m: float = 1.0,
                 max_crown_rel: float = 0.3, max_crown_m: float = 6.0) -> np.ndarray:
    """Tree id of every point (0: none).

    Stem points get their stem's id; canopy points get the id of the nearest
    stem axis at their height among trees not shorter than the point, within
    ``min(max_crown_m, max_crown_rel * height)`` (a crown-radius bound).
    """
    labels = np.zeros(xyz.shape[0], dtype=np.uint32)
    if not stems:
        return labels
    hts = np.asarray(heights_m, dtype=float)
    z_base = np.array([s.z_base for s in stems])
    zc = xyz[canopy, 2]
    z_lo, z_hi = float(zc.min()), float(zc.max())
    for z0 in np.arange(math.floor(z_lo), z_hi + layer_m, layer_m):
        in_layer = np.flatnonzero((zc >= z0) & (zc < z0 + layer_m))
        if in_layer.size == 0:
            continue
        zm = z0 + layer_m / 2.0
        alive = np.flatnonzero(np.nan_to_num(hts, nan=0.0) + z_base + 0.3 >= z0)
        if alive.size == 0:
            continue
        ax = np.array([stems[k].axis_xy(zm - stems[k].z_base) for k in alive])
        tree = cKDTree(ax)
        pts = canopy[in_layer]
        d, j = tree.query(xyz[pts, :2], k=1)
        k = alive[j]
        bound = np.minimum(max_crown_m, max_crown_rel * np.nan_to_num(hts[k], nan=0.0) + 0.5)
        ok = (d <= bound) & (xyz[pts, 2] <= z_base[k] + np.nan_to_num(hts[k], nan=0.0) + 0.3)
        labels[pts[ok]] = tree_ids[k[ok]]
    for s, tid in zip(stems, tree_ids):
        labels[s.point_index] = tid
    return labels

"""Ground classification, digital terrain model (DTM) and height normalisation.

Steps (all in the cloud's metric frame):

1. **Lowest supported point per cell** (``cell_m``, default 0.5 m): the
   ground can only be the bottom of the cloud, and working on one candidate
   per cell makes the rest independent of the point count (a 20-million-point
   scan has the same few thousand candidates as a 300-thousand-point one).
   "Supported": a few points of the cell lie within 10 cm above it
   (:func:`lowest_points`) - the ground is a dense thin layer, while stray
   returns below it stay sparse however dense the scan is.
2. **Low outliers** (multipath returns below the ground) are removed: each
   candidate is compared with a robust local plane (Tukey-biweight weighted
   least squares over the candidates within ``outlier_radius_m``) and dropped,
   in favour of the next-lowest point of its cell, when it lies more than
   ``outlier_depth_m`` below it.  A local plane, not a median, keeps this
   correct on steep slopes and at the edge of the scan.
3. **Ground filter** on the cleaned candidates:

   * ``"csf"`` (default): cloth simulation filter, Zhang W. et al. (2016),
     *Remote Sensing* 8(6):501, doi:10.3390/rs8060501, through the maintained
     ``cloth-simulation-filter`` package (``CSF``).  Slope smoothing is on.
   * ``"pmf"``: progressive morphological filter, Zhang K. et al. (2003),
     *IEEE TGRS* 41(4):872-882, doi:10.1109/TGRS.2003.810682, with
     :func:`scipy.ndimage.grey_opening` (window doubling, elevation threshold
     growing with the slope parameter).

4. **DTM**: linear interpolation (Delaunay TIN, :class:`scipy.interpolate.LinearNDInterpolator`)
   of the ground candidates onto a regular grid, nearest-neighbour outside
   their convex hull.
5. **Height above ground** of every point: z minus the bilinear DTM value.

Errors: :class:`~minecarbon.errors.InputError` when no coherent ground
surface is found (no ground in the cloud, or a cloud of noise).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr
from scipy import ndimage
from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator
from scipy.spatial import Delaunay, cKDTree

from ..errors import InputError
from ._barycentric import set_transforms
from ._threads import single_threaded_blas
from .cloud import col_max, col_min

log = logging.getLogger(__name__)

__all__ = ["GroundResult", "Surface", "classify_ground", "height_above_ground", "lowest_points"]

GroundMethod = Literal["csf", "pmf"]


@dataclass
class Surface:
    """A regular grid of heights (e.g. a DTM) with bilinear evaluation.

    ``z[i, j]`` is the value at the cell centre ``(x0 + j*cell, y0 + i*cell)``;
    row 0 is the *southern* edge (y increases with the row index).
    """

    x0: float
    y0: float
    cell: float
    z: np.ndarray
    crs: Any = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.z.shape  # type: ignore[return-value]

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear value at (x, y) (m); points outside take the nearest edge value."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        ny, nx = self.z.shape
        fx = np.clip((x - self.x0) / self.cell, 0.0, nx - 1.0)
        fy = np.clip((y - self.y0) / self.cell, 0.0, ny - 1.0)
        return ndimage.map_coordinates(self.z, [fy.ravel(), fx.ravel()], order=1, mode="nearest",
                                       prefilter=False).reshape(x.shape)

    def to_dataarray(self, name: str = "elevation") -> xr.DataArray:
        """North-up (y, x) DataArray with CRS and transform (rioxarray) for writing as GeoTIFF."""
        from rasterio.transform import from_origin

        ny, nx = self.z.shape
        xs = self.x0 + np.arange(nx) * self.cell
        ys = self.y0 + np.arange(ny) * self.cell
        da = xr.DataArray(self.z[::-1].astype(np.float32), dims=("y", "x"),
                          coords={"y": ys[::-1], "x": xs}, name=name, attrs={"units": "m"})
        da = da.rio.write_transform(from_origin(self.x0 - self.cell / 2, ys[-1] + self.cell / 2,
                                                self.cell, self.cell))
        if self.crs is not None:
            da = da.rio.write_crs(self.crs)
        return da


@dataclass
class GroundResult:
    """What :func:`classify_ground` found."""

    dtm: Surface
    """The terrain model."""
    candidates: np.ndarray
    """(k, 3) lowest points per cell after outlier removal (m)."""
    is_ground: np.ndarray
    """(k,) which candidates the ground filter kept."""
    low_outliers: np.ndarray
    """Indices (into the cloud) of the points removed as below-ground outliers."""
    method: str
    info: dict = field(default_factory=dict)


def lowest_points(xyz: np.ndarray, cell_m: float, support_m: float = 0.1, support_frac: float = 0.05,
                  support_max: int = 5, look: int = 64,
                  dense_cell: int = 20, max_skip_m: float = 1.5, keep_m: float = 3.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points of each ``cell_m`` grid cell ordered by height, and the lowest *supported* point of each cell.

    A point is supported when at least ``min(support_max, max(2, support_frac * n))``
    points of its cell (n points) lie within ``support_m`` above it: the ground is
    a dense thin layer, stray returns below it are sparse, however dense the scan.
    Cells with fewer than ``dense_cell`` points need no support (a sparse cell on a
    slope may hold a single ground point; the local-plane test judges those), and
    no more than ``max_skip_m`` is skipped (a supported point far above the lowest
    one is a crown over sparse ground, not ground above noise).
    Only the ``look`` lowest points of a cell are examined (if none is supported,
    the one with the most support is taken).

    Only points less than ``keep_m`` above their cell's lowest point are sorted.

    Returns
    -------
    order : indices of those points sorted by (cell, z).
    starts : position in ``order`` of the lowest point of each occupied cell.
    ends : position one past the last point of each cell.
    first : position in ``order`` of the lowest supported point of each cell.
    """
    xy0 = col_min(xyz[:, :2])
    ij = np.floor((xyz[:, :2] - xy0) / cell_m).astype(np.int64)
    nx = int(ij[:, 0].max()) + 1
    key = ij[:, 1] * nx + ij[:, 0]
    del ij
    # only the bottom of each cell matters: drop points more than ``keep_m`` above the cell minimum
    # (np.minimum.at is O(n); sorting the whole cloud is not)
    cell_min = np.full(int(key.max()) + 1, np.inf)
    np.minimum.at(cell_min, key, xyz[:, 2])
    low = np.flatnonzero(xyz[:, 2] <= cell_min[key] + keep_m)
    key = key[low]
    zr = np.round((xyz[low, 2] - xyz[low, 2].min()) * 1000.0).astype(np.int64)  # mm
    span = int(zr.max()) + 1
    comp = key * span + zr
    del zr
    order_low = np.argsort(comp, kind="stable")
    order = low[order_low]
    comp = comp[order_low]
    ks = key[order_low]
    del order_low, low
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    ends = np.r_[starts[1:], ks.size]
    del ks, key
    n_cell = ends - starts
    pos = starts[:, None] + np.arange(look)[None, :]
    valid = pos < ends[:, None]
    pos = np.minimum(pos, ends[:, None] - 1)
    comp_sorted_at = comp[pos]
    # points of the same cell within support_m above: search the sorted (cell, z) keys
    upper = np.searchsorted(comp, comp_sorted_at + round(support_m * 1000.0), side="right")
    upper = np.minimum(upper, ends[:, None])
    support = np.where(valid, upper - pos, -1)
    need = np.minimum(support_max, np.maximum(2, np.ceil(support_frac * n_cell)))
    need = np.where(n_cell < dense_cell, 1, need)  # sparse cells: the plane test of step 2 judges them
    ok = support >= need[:, None]
    k = np.where(ok.any(axis=1), ok.argmax(axis=1), support.argmax(axis=1))
    # skip at most ``max_skip_m`` of unsupported points: multipath noise lies a few decimetres to ~1.5 m
    # below the ground; a supported point far above the lowest one is a crown over sparse ground
    rise_mm = comp_sorted_at[np.arange(k.size), k] - comp_sorted_at[:, 0]
    k = np.where(rise_mm <= max_skip_m * 1000.0, k, 0)
    first = starts + k
    return order, starts, ends, first


def _local_plane_residuals(p: np.ndarray, radius: float, scale: float = 0.1, n_iter: int = 5,
                           min_neighbours: int = 5) -> np.ndarray:
    """Residual (m) of each point to a robust plane fitted to its neighbours within ``radius`` (m).

    The point itself is left out of its own plane (leave-one-out), so a lone
    outlier cannot pull the plane to itself.  Tukey-biweight iteratively
    reweighted least squares, vectorised through sums over the neighbour
    pairs.  Points with fewer than ``min_neighbours`` neighbours are judged
    against a plane of twice the radius (and so on, up to 8x); if still too
    isolated, their residual is NaN.
    """
    n = p.shape[0]
    out = np.full(n, np.nan)
    todo = np.arange(n)
    tree = cKDTree(p[:, :2])
    r = radius
    for _ in range(4):
        if todo.size == 0:
            break
        res, count = _plane_residuals_for(p, tree, todo, r, scale, n_iter)
        enough = count >= min_neighbours
        out[todo[enough]] = res[enough]
        todo = todo[~enough]
        r *= 2.0
    return out


def _plane_residuals_for(p: np.ndarray, tree: cKDTree, which: np.ndarray, radius: float, scale: float,
                         n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    m = which.size
    nb = tree.query_ball_point(p[which, :2], radius)
    counts = np.fromiter((len(v) for v in nb), dtype=np.int64, count=m)
    i = np.repeat(np.arange(m), counts)
    j = np.fromiter((k for v in nb for k in v), dtype=np.int64, count=int(counts.sum()))
    keep = j != which[i]
    i, j = i[keep], j[keep]
    nn = np.bincount(i, minlength=m)
    d = p[j] - p[which[i]]
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    w = np.ones(i.size)
    coef = np.zeros((m, 3))
    # annealed biweight scale: a first wide scale discards far outliers (crowns above the ground)
    # without letting them break the fit, then it narrows to ``scale``
    scales = np.geomspace(max(2.0, scale), scale, n_iter) if n_iter > 0 else np.array([])
    for it in range(n_iter + 1):
        def s(v: np.ndarray, w: np.ndarray = w) -> np.ndarray:
            return np.bincount(i, weights=w * v, minlength=m)

        a = np.empty((m, 3, 3))
        b = np.empty((m, 3))
        a[:, 0, 0] = s(np.ones_like(dx))
        a[:, 0, 1] = a[:, 1, 0] = s(dx)
        a[:, 0, 2] = a[:, 2, 0] = s(dy)
        a[:, 1, 1] = s(dx * dx)
        a[:, 1, 2] = a[:, 2, 1] = s(dx * dy)
        a[:, 2, 2] = s(dy * dy)
        b[:, 0] = s(dz)
        b[:, 1] = s(dx * dz)
        b[:, 2] = s(dy * dz)
        a += np.eye(3) * 1e-9
        solvable = a[:, 0, 0] > 3.0 * 1e-3
        new = np.linalg.solve(a, b[..., None])[..., 0]
        coef = np.where(solvable[:, None], new, coef)  # keep the previous plane where weights vanished
        if it == n_iter:
            break
        r = dz - (coef[i, 0] + coef[i, 1] * dx + coef[i, 2] * dy)
        u = r / (4.685 * scales[it])
        w = np.where(np.abs(u) < 1.0, (1.0 - u * u) ** 2, 0.0)
    # relative coordinates: the plane passes at height coef0 above the point -> point - plane = -coef0
    return -coef[:, 0], nn


def _remove_low_outliers(xyz: np.ndarray, order: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                         first: np.ndarray, radius: float, depth: float,
                         max_iter: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the cleaned lowest point per cell and of the points removed below it."""
    rank = first - starts
    alive = np.ones(starts.size, dtype=bool)
    skipped = rank > 0
    removed: list[np.ndarray] = []
    if skipped.any():  # unsupported points below the lowest supported one
        cnt = rank[skipped]
        base = np.repeat(starts[skipped], cnt) + (np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        removed.append(order[base])
    for _ in range(max_iter):
        idx = np.flatnonzero(alive)
        cand = order[starts[idx] + rank[idx]]
        if cand.size < 4:
            break
        res = _local_plane_residuals(xyz[cand], radius)
        bad = np.nan_to_num(res, nan=0.0) < -depth
        if not bad.any():
            break
        removed.append(cand[bad])
        ai = idx[bad]
        rank[ai] += 1
        alive[ai[starts[ai] + rank[ai] >= ends[ai]]] = False
    idx = np.flatnonzero(alive)
    cand = order[starts[idx] + rank[idx]]
    return cand, (np.concatenate(removed) if removed else np.empty(0, dtype=np.int64))


_CSF_LOCK = threading.Lock()
"""One cloth simulation at a time in a process: silencing stdout swaps file descriptor 1 for the whole
process, so two overlapping swaps (plots or tiles in threads) could leave stdout on /dev/null; and
OpenMP's thread limit is changed around the call.  A cloth takes well under a second."""


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C++ writes to stdout (the CSF library prints progress with std::cout)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 1
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            try:
                yield
            finally:
                _flush_c_stdio()  # std::cout shares C stdio's buffer: empty it into /dev/null
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _flush_c_stdio() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library to flush
        pass


@contextlib.contextmanager
def _single_openmp_thread() -> Iterator[None]:
    """Run OpenMP code on one thread.

    The cloth simulation of ``cloth-simulation-filter`` (2.x) updates each
    particle's neighbours inside an ``omp parallel for`` loop without
    synchronisation (``Cloth::timeStep`` -> ``satisfyConstraintSelf``; CloudCompare
    disabled that pragma as "not thread safe at all").  With several threads the
    cloth - hence the ground points, the DTM and the tree list - depends on thread
    scheduling: two runs of the same scan on a busy machine gave different trees.
    One thread makes it deterministic; a plot's cloth takes well under a second.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _csf(p: np.ndarray, cloth_m: float, rigidness: int, threshold_m: float, iterations: int = 200) -> np.ndarray:
    try:
        import CSF  # cloth-simulation-filter
    except ImportError:
        raise InputError("Ground method 'csf' needs the package cloth-simulation-filter "
                         "('pip install cloth-simulation-filter'); install it or choose the ground "
                         "method 'pmf'.") from None
    csf = CSF.CSF()
    csf.params.bSloopSmooth = True
    csf.params.cloth_resolution = float(cloth_m)
    csf.params.rigidness = int(rigidness)
    csf.params.class_threshold = float(threshold_m)
    csf.params.time_step = 0.65
    csf.params.interations = int(iterations)
    offset = p.mean(axis=0)
    csf.setPointCloud(np.ascontiguousarray(p - offset))
    ground, off = CSF.VecInt(), CSF.VecInt()
    with _CSF_LOCK, _quiet_stdout(), _single_openmp_thread():
        csf.do_filtering(ground, off, False)  # False: never write cloth_nodes.txt
    mask = np.zeros(p.shape[0], dtype=bool)
    mask[np.asarray(ground, dtype=np.int64)] = True
    return mask


def _pmf(p: np.ndarray, cell: float, slope: float, dh0: float, dh_max: float, max_window_m: float) -> np.ndarray:
    """Progressive morphological filter (Zhang et al. 2003) on the candidate grid."""
    xy0 = col_min(p[:, :2])
    ij = np.floor((p[:, :2] - xy0) / cell).astype(np.int64)
    nx, ny = int(ij[:, 0].max()) + 1, int(ij[:, 1].max()) + 1
    grid = np.full((ny, nx), np.nan)
    grid[ij[:, 1], ij[:, 0]] = p[:, 2]
    missing = np.isnan(grid)
    if missing.any():
        _, (ii, jj) = ndimage.distance_transform_edt(missing, return_indices=True)
        grid = grid[ii, jj]
    surface = grid.copy()
    nonground = np.zeros_like(grid, dtype=bool)
    w_prev = 1
    k = 0
    while True:
        w = 2 * (2 ** k) + 1
        if w * cell > max_window_m:
            break
        opened = ndimage.grey_opening(surface, size=(w, w), mode="nearest")
        dh = dh0 if k == 0 else min(dh0 + slope * (w - w_prev) * cell, dh_max)
        nonground |= (grid - opened) > dh
        surface = opened
        w_prev = w
        k += 1
    return ~nonground[ij[:, 1], ij[:, 0]]


@single_threaded_blas
def classify_ground(xyz: np.ndarray, *, method: GroundMethod = "csf", cell_m: float = 0.5,
                    dtm_cell_m: float | None = None, outlier_radius_m: float = 1.5,
                    outlier_depth_m: float = 0.2, csf_rigidness: int = 2, csf_threshold_m: float = 0.3,
                    csf_iterations: int = 200,
                    pmf_slope: float = 1.0, pmf_dh0_m: float = 0.3, pmf_dh_max_m: float = 3.0,
                    pmf_max_window_m: float = 8.0, max_roughness_m: float = 0.25, crs: Any = None,
                    what: str = "point cloud") -> GroundResult:
    """Find the ground of a point cloud and build its DTM.

    Parameters
    ----------
    xyz : (n, 3) points (m).
    method : "csf" (cloth simulation) or "pmf" (progressive morphological filter).
    cell_m : candidate cell (m): one lowest point per cell.
    dtm_cell_m : DTM cell (m); default ``cell_m``.
    outlier_radius_m, outlier_depth_m : low-outlier test (local plane radius, depth below it).
    csf_rigidness : CSF cloth rigidness (1 steep slopes, 2 relief, 3 flat).
    csf_threshold_m : CSF distance to the cloth within which a point is ground.
    csf_iterations : maximum cloth iterations.
    pmf_slope, pmf_dh0_m, pmf_dh_max_m, pmf_max_window_m : PMF parameters
        (slope as rise/run; initial and maximum elevation thresholds, m;
        largest window, m).
    max_roughness_m : robust SD (m) of the ground candidates around the
        local planes above which the "ground" is not a surface (noise).
    crs : CRS stored with the DTM.
    what : name of the cloud for messages.

    Raises
    ------
    InputError : no coherent ground surface (too few ground cells, or a rough cloud of noise).
    """
    xyz = np.asarray(xyz, dtype=float)
    if xyz.shape[0] < 10:
        raise InputError(f"{what}: only {xyz.shape[0]} points; a ground surface needs many more. Check that "
                         f"the file is the whole scan.")
    order, starts, ends, first = lowest_points(xyz, cell_m)
    cand, removed = _remove_low_outliers(xyz, order, starts, ends, first, outlier_radius_m, outlier_depth_m)
    p = xyz[cand]
    if p.shape[0] < 10:
        raise InputError(f"{what}: no ground found (only {p.shape[0]} ground cells). The cloud may have been "
                         f"cut above the ground or be a single object; scans must include the ground.")
    if method == "csf":
        ground = _csf(p, cell_m, csf_rigidness, csf_threshold_m, csf_iterations)
    elif method == "pmf":
        ground = _pmf(p, cell_m, pmf_slope, pmf_dh0_m, pmf_dh_max_m, pmf_max_window_m)
    else:
        raise InputError(f"Unknown ground method {method!r}; use 'csf' or 'pmf'.")
    g = p[ground]
    if g.shape[0] < max(10, int(0.05 * p.shape[0])):
        raise InputError(f"{what}: no ground found ({g.shape[0]} of {p.shape[0]} cells look like ground). "
                         f"The cloud may not include the terrain (cut above the ground) or be mostly noise. "
                         f"Check the export; for a normalised cloud without ground, ground removal is not possible.")
    rough = _local_plane_residuals(g, max(outlier_radius_m, 3 * cell_m))
    rough = rough[np.isfinite(rough)]
    robust_sd = 1.4826 * float(np.median(np.abs(rough - np.median(rough))))
    if robust_sd > max_roughness_m:
        raise InputError(f"{what}: the lowest points do not form a ground surface (their robust scatter "
                         f"around local planes is {robust_sd:.2f} m, more than {max_roughness_m} m). The cloud "
                         f"looks like noise, or its units are not metres. Check the file and its units.")
    dcell = float(dtm_cell_m or cell_m)
    dtm = tin_surface(g, col_min(xyz[:, :2]), col_max(xyz[:, :2]), dcell, crs)
    info = {"candidates": int(p.shape[0]), "ground_cells": int(g.shape[0]), "low_outliers": int(removed.size),
            "ground_roughness_m": robust_sd, "cell_m": cell_m, "dtm_cell_m": dcell}
    log.info("ground (%s): %d of %d cells are ground, %d low outliers removed, roughness %.3f m",
             method, g.shape[0], p.shape[0], removed.size, robust_sd)
    return GroundResult(dtm, p, ground, removed, method, info)


def tin_surface(g: np.ndarray, lo: np.ndarray, hi: np.ndarray, cell: float, crs: Any) -> Surface:
    """Grid of ``cell`` (m) over [lo, hi] sampled from the TIN of the points ``g`` (n, 3).

    Cells outside the triangulation take the nearest point's height; a degenerate (collinear) set gives
    the nearest heights everywhere.  The triangulation works in coordinates relative to the points'
    lower-left corner: with raw projected coordinates (10^5-10^6 m) qhull loses precision (up to ~1 mm)
    and locating the cells in the triangulation took 100 x longer (``benchmarks/results/als.md``).
    """
    x0 = math.floor(lo[0] / cell) * cell + cell / 2
    y0 = math.floor(lo[1] / cell) * cell + cell / 2
    nx = math.floor((hi[0] - x0) / cell) + 2
    ny = math.floor((hi[1] - y0) / cell) + 2
    origin = col_min(g[:, :2]) if g.shape[0] else np.zeros(2)
    gxy = g[:, :2] - origin
    xx, yy = np.meshgrid(x0 - origin[0] + np.arange(nx) * cell, y0 - origin[1] + np.arange(ny) * cell)
    z = np.full(xx.shape, np.nan)
    if g.shape[0] >= 3:
        try:
            tri = Delaunay(gxy)  # as LinearNDInterpolator(gxy, ...) builds it
            set_transforms(tri)  # scipy's barycentric transforms, computed in one loop (._barycentric)
            z = LinearNDInterpolator(tri, g[:, 2])(np.column_stack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
        except Exception:  # noqa: BLE001 - degenerate (collinear) ground
            pass
    miss = ~np.isfinite(z)
    if miss.any() and g.shape[0]:
        z[miss] = NearestNDInterpolator(gxy, g[:, 2])(np.column_stack([xx[miss], yy[miss]]))
    return Surface(float(x0), float(y0), float(cell), z, crs)


def height_above_ground(xyz: np.ndarray, dtm: Surface) -> np.ndarray:
    """Height of each point above the DTM (m)."""
    return xyz[:, 2] - dtm(xyz[:, 0], xyz[:, 1])

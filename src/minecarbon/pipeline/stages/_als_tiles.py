"""The airborne scan tile by tile, never pooled (issue #18): a spatial index of the tiles and their returns on disk.

:class:`TileStore` keeps, per tile, in a temporary folder: its class-2 (ground) returns and, once normalised,
its usable returns (x, y, height above ground, return number), plus in memory only the tile extents and the
pixels each tile reaches.  Every step reads the few tiles it needs, in tile order, so its numbers equal those
of the pooled returns (see :mod:`._als`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ...errors import CRSError, InputError
from ...lidar import PointCloud, normalize_heights, read_cloud
from ...lidar.chm import GROUND_CLASS, chm_dataarray, grid_for_points, max_into
from ...lidar.metrics import group_metrics, metric_names, pixel_index
from ...parallel import map_ordered
from ...progress import track


def workers(n_tiles: int) -> int:
    """Tiles normalised at once: one per core."""
    return max(1, min(n_tiles, os.cpu_count() or 1))


log = logging.getLogger(__name__)

FIELDS = ("x", "y", "hag", "rn")


@dataclass
class TileStore:
    """Per-tile files in ``folder`` and the index of the tiles (extents in the project CRS)."""

    paths: list[Path]
    folder: Path
    ground_box: np.ndarray = field(init=False)  # (n, 4) extent of all returns of a tile (minx, miny, maxx, maxy)
    kept_box: np.ndarray = field(init=False)  # (n, 4) extent of its usable returns (NaN: none)
    kept: np.ndarray = field(init=False)  # usable returns per tile
    pixels: list[np.ndarray] = field(init=False)  # project-grid pixels each tile's usable returns reach
    keep_decoded: bool = False  # the first pass keeps the decoded returns for the second (see decoded_fit)

    def __post_init__(self) -> None:
        n = len(self.paths)
        self.ground_box = np.full((n, 4), np.nan)
        self.kept_box = np.full((n, 4), np.nan)
        self.kept = np.zeros(n, np.int64)
        self.pixels = [np.empty(0, np.int64)] * n

    def _file(self, i: int, what: str) -> Path:
        return self.folder / f"{i:06d}_{what}.npy"

    def ground(self, i: int) -> np.ndarray:
        return np.load(self._file(i, "ground"))

    def returns(self, i: int) -> dict[str, np.ndarray]:
        return {f: np.load(self._file(i, f)) for f in FIELDS}

    def save_tile(self, i: int, xyz: np.ndarray, cls: np.ndarray, rn: np.ndarray) -> None:
        """Keep a tile's decoded returns (project CRS) until :meth:`pop_tile`: the second pass reads them
        instead of decompressing and reprojecting the LAZ file again."""
        for what, arr in (("xyz", xyz), ("cls", cls), ("rn0", rn)):
            np.save(self._file(i, what), arr)

    def pop_tile(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The returns kept by :meth:`save_tile` (the files are removed)."""
        out = []
        for what in ("xyz", "cls", "rn0"):
            f = self._file(i, what)
            out.append(np.load(f))
            f.unlink()
        return out[0], out[1], out[2]

    def near(self, box: tuple[float, float, float, float], boxes: np.ndarray) -> list[int]:
        """Tiles whose extent meets the box (closed intervals), in tile order."""
        minx, miny, maxx, maxy = box
        hit = (boxes[:, 0] <= maxx) & (boxes[:, 2] >= minx) & (boxes[:, 1] <= maxy) & (boxes[:, 3] >= miny)
        return [int(i) for i in np.flatnonzero(hit)]


DECODED_BYTES_PER_RETURN = 26
"""Disk per return of a decoded tile kept between the passes: x, y, z (float64), class and return number."""


def decoded_fit(paths: list[Path], folder: Path, share: float = 0.25) -> bool:
    """Whether the decoded returns of all tiles (counts from the headers) fit in ``share`` of the free disk
    of ``folder``; else the second pass decompresses the tiles again."""
    import laspy

    n = 0
    for p in paths:
        try:
            with laspy.open(str(p)) as reader:
                n += int(reader.header.point_count)
        except Exception:  # noqa: BLE001 - unreadable tiles are reported by read_cloud with the file named
            pass
    return n * DECODED_BYTES_PER_RETURN <= share * shutil.disk_usage(folder).free


def read_tile(path: Path, crs, to_crs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A tile's returns in the project CRS with their classification and return number (1 where absent)."""
    what = f"ALS tile {path}"
    # only what the stage uses: intensity, number_of_returns and extra dimensions are not kept
    cloud = read_cloud(path, crs=crs, what=what, fields=("classification", "return_number"), extra_dims=False)
    if cloud.crs is None:
        raise CRSError(f"{what} has no CRS and the project names none; set [project].crs or write the CRS into "
                       f"the tile headers.")
    n = len(cloud)
    cls = cloud.fields.get("classification")
    rn = cloud.fields.get("return_number")
    return (to_crs(cloud, crs, what), np.zeros(n, np.uint8) if cls is None else np.asarray(cls),
            np.ones(n, np.uint8) if rn is None else np.asarray(rn))


def _index_one(store: TileStore, crs, to_crs, i: int) -> tuple[float, float, float, float]:
    """A tile's extent; its class-2 returns (and its decoded returns, see :func:`decoded_fit`) to the store."""
    xyz, cls, rn = read_tile(store.paths[i], crs, to_crs)
    np.save(store._file(i, "ground"), xyz[cls == GROUND_CLASS])
    if store.keep_decoded:
        store.save_tile(i, xyz, cls, rn)
    lo, hi = xyz[:, :2].min(axis=0), xyz[:, :2].max(axis=0)
    return (lo[0], lo[1], hi[0], hi[1])


def index_tiles(store: TileStore, crs, to_crs, progress) -> None:
    """First pass: each tile's extent, class-2 returns and decoded returns (to the store), one tile per core
    (or per worker of a dask.distributed cluster that adds cores, :func:`minecarbon.parallel.map_ordered`)."""
    progress(f"ALS: index of {len(store.paths)} tiles")
    store.keep_decoded = decoded_fit(store.paths, store.folder)
    n = len(store.paths)
    boxes = map_ordered(_index_one, range(n), shared=(store, crs, to_crs))
    for i, box in enumerate(track(boxes, "ALS tiles (index)", total=n, unit="tiles")):
        store.ground_box[i] = box


def _normalise_one(store: TileStore, cfg, crs, to_crs, buffer_m: float, max_height_m: float, dtm_cell, grid,
                   i: int) -> tuple[np.ndarray, int, int, tuple | None]:
    """A tile's heights above ground with its neighbours' ground returns; its usable returns to the store.
    Returns the project-grid pixels its returns hit, its first returns on the grid, its usable returns and
    their extent (None: none)."""
    t, nx, ny = grid
    path = store.paths[i]
    what = f"ALS tile {path}"
    # as read by the first pass when they were kept
    xyz, cls, rn = store.pop_tile(i) if store.keep_decoded else read_tile(path, crs, to_crs)
    lo, hi = xyz[:, :2].min(axis=0) - buffer_m, xyz[:, :2].max(axis=0) + buffer_m
    # the ground returns of the other tiles within the buffer, in tile order (as pooled)
    parts = []
    for j in store.near((lo[0], lo[1], hi[0], hi[1]), store.ground_box):
        if j == i:
            continue
        g = store.ground(j)
        parts.append(g[np.all((g[:, :2] >= lo) & (g[:, :2] <= hi), axis=1)])
    other = np.concatenate(parts) if parts else np.empty((0, 3))
    both = PointCloud(np.vstack([xyz, other]), crs,
                      {"classification": np.concatenate([cls, np.full(len(other), GROUND_CLASS, np.uint8)])})
    hag = normalize_heights(both, use_classification=True, ground_method=cfg.lidar.ground_method,
                            ground_cell_m=1.0, dtm_cell_m=dtm_cell(int((cls == GROUND_CLASS).sum()), lo, hi),
                            what=what)[0][:len(xyz)]
    del both, other, parts
    ok = np.isfinite(hag) & (hag <= max_height_m) & (hag >= -0.5)
    if (~ok).any():
        log.info("%s: %d noise returns (noise class, > %g m or below the ground) left out", what,
                 int((~ok).sum()), max_height_m)
    x, y, h, r = xyz[ok, 0].copy(), xyz[ok, 1].copy(), np.maximum(hag[ok], 0.0), rn[ok]
    for name, arr in zip(FIELDS, (x, y, h, r)):
        np.save(store._file(i, name), arr)
    box = (x.min(), y.min(), x.max(), y.max()) if x.size else None
    pix, inside = pixel_index(x, y, t, nx, ny)
    return np.unique(pix[inside]), int((inside & (r == 1)).sum()), int(x.size), box


def normalise_tiles(store: TileStore, cfg, crs, to_crs, buffer_m: float, max_height_m: float, dtm_cell,
                    tmpl, progress) -> tuple[np.ndarray, int]:
    """Second pass: heights above ground of each tile with its neighbours' ground returns; the usable returns
    to the store.  Returns the project-grid pixels hit by any return and the first returns on the grid."""
    t = tmpl.rio.transform()
    ny, nx = tmpl.shape[-2:]
    progress(f"ALS: heights above ground of {len(store.paths)} tiles")

    hit = np.zeros(nx * ny, dtype=bool)
    n_first = 0
    # tiles are independent: the triangulations (qhull, without the GIL) run on every core, or on the workers
    # of a cluster that adds cores; results come back in tile order
    # (one BLAS thread per tile, set for this whole process: threadpool limits are not per thread)
    done = map_ordered(_normalise_one, range(len(store.paths)),
                       shared=(store, cfg, crs, to_crs, buffer_m, max_height_m, dtm_cell, (t, nx, ny)))
    with threadpool_limits(limits=1, user_api="blas"):
        for i, (pix, first, kept, box) in enumerate(track(done, "ALS tiles", total=len(store.paths),
                                                          unit="tiles")):
            store.pixels[i] = pix
            store.kept[i] = kept
            if box is not None:
                store.kept_box[i] = box
            hit[pix] = True
            n_first += first
    return hit, n_first


def chm(store: TileStore, resolution_m: float, crs, pit_threshold_m: float, max_height_m: float):
    """The CHM: the highest return per cell, tile after tile (the maximum does not depend on the order)."""
    have = store.kept > 0
    if not have.any():
        raise InputError(f"ALS: no point lies between the ground and {max_height_m} m above it; "
                         f"the cloud has no canopy (or its heights are not in metres).")
    b = store.kept_box[have]
    left, top, nx, ny = grid_for_points(np.array([b[:, 0].min(), b[:, 2].max()]),
                                        np.array([b[:, 1].min(), b[:, 3].max()]), resolution_m,
                                        bytes_per_cell=16, what="CHM of ALS")
    out = np.full(nx * ny, -np.inf)
    for i in np.flatnonzero(have):
        r = store.returns(int(i))
        max_into(out, r["x"], r["y"], r["hag"], left, top, nx, ny, resolution_m)
    out[~np.isfinite(out)] = np.nan
    return chm_dataarray(out.reshape(ny, nx), left, top, resolution_m, crs, pit_fill=True,
                         pit_threshold_m=pit_threshold_m)


def _metrics_one(store: TileStore, owner: np.ndarray, reaches: dict, grid, names, cover_threshold_m: float,
                 i: int) -> tuple[np.ndarray, np.ndarray]:
    """Canopy metrics of the pixels tile ``i`` owns, from the returns of every tile that reaches them."""
    t, nx, ny = grid
    mine = store.pixels[i][owner[store.pixels[i]] == i]  # sorted (np.unique)
    pix_parts, hag_parts, rn_parts = [], [], []
    for j in reaches[i]:
        r = store.returns(j)
        pix, inside = pixel_index(r["x"], r["y"], t, nx, ny)
        sel = inside & (owner[np.where(inside, pix, 0)] == i)
        pix_parts.append(pix[sel])
        hag_parts.append(r["hag"][sel])
        rn_parts.append(r["rn"][sel])
    pix = np.concatenate(pix_parts)
    hag = np.concatenate(hag_parts)
    group = np.searchsorted(mine, pix)  # mine is sorted (np.unique)
    stats = group_metrics(group, np.ones(pix.size, bool), hag, mine.size, names, cover_threshold_m, 0.0,
                          np.concatenate(rn_parts))
    return mine, np.stack([stats[m] for m in names]).astype(np.float32)


def pixel_metrics(store: TileStore, tmpl, metrics, cover_threshold_m: float):
    """Canopy metrics per pixel of the project grid: each pixel belongs to the first tile that reaches it and is
    computed from the returns of every tile that reaches it, read on demand, in tile order."""
    import xarray as xr

    names = metric_names(metrics)
    t = tmpl.rio.transform()
    ny, nx = tmpl.shape[-2:]
    npx = nx * ny
    owner = np.full(npx, -1, np.int64)
    for i in range(len(store.paths)):  # in tile order: the first tile wins
        p = store.pixels[i]
        free = owner[p] < 0
        owner[p[free]] = i
    reaches: dict[int, list[int]] = {}  # owner tile -> the tiles whose returns reach its pixels, in tile order
    for j in range(len(store.paths)):
        for i in np.unique(owner[store.pixels[j]]):
            reaches.setdefault(int(i), []).append(j)
    out = np.full((len(names), npx), np.nan, np.float32)

    done = map_ordered(_metrics_one, sorted(reaches),
                       shared=(store, owner, reaches, (t, nx, ny), names, cover_threshold_m))
    for mine, vals in done:
        out[:, mine] = vals
    data = out.reshape(len(names), ny, nx)
    if "count" in names:
        data[names.index("count")] = np.nan_to_num(data[names.index("count")], nan=0.0)
    tmpl2 = tmpl.isel(band=0, drop=True) if "band" in tmpl.dims else tmpl
    da = xr.DataArray(data, dims=("band", "y", "x"),
                      coords={"band": names, "y": tmpl2["y"].values, "x": tmpl2["x"].values}, name="canopy_metrics")
    da = da.rio.write_transform(t)
    if tmpl2.rio.crs is not None:
        da = da.rio.write_crs(tmpl2.rio.crs)
    return da


def plot_returns(store: TileStore, x: float, y: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Heights and return numbers of the returns inside the plot square (centre x, y, half side h), in tile order."""
    hs, rns = [], []
    for j in store.near((x - h, y - h, x + h, y + h), store.kept_box):
        r = store.returns(j)
        sel = (r["x"] >= x - h) & (r["x"] <= x + h) & (np.abs(r["y"] - y) <= h)
        hs.append(r["hag"][sel])
        rns.append(r["rn"][sel])
    if not hs:
        return np.empty(0), np.empty(0, np.uint8)
    return np.concatenate(hs), np.concatenate(rns)


class tile_folder:
    """A temporary folder for the tile files, inside the workspace (removed on exit, also after an error)."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(workspace)

    def __enter__(self) -> Path:
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=".als-tiles-", dir=self.workspace))
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

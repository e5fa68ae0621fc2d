"""Airborne scans (``[lidar].als``) in the `lidar` stage: CHM, treetops, canopy metrics on the project grid.

Every tile is read (CRS from its header, else the project's), its heights are
normalised (class-2 ground points when the tile has them, else the ground
filter of ``[lidar].ground_method``; the class-2 returns of the neighbouring
tiles within ``TILE_BUFFER_M`` join the tile's terrain model), noise classes and
returns above ``MAX_HEIGHT_M`` are dropped.  Then:

* ``als_chm.tif``: the canopy height model (highest return per
  ``[lidar].chm_resolution_m`` cell, pits and empty cells filled);
* ``als_treetops.gpkg``: treetops by variable-window local maxima of the CHM;
* ``als_canopy_metrics.tif``: the ``[lidar].canopy_metrics`` of the returns in
  every pixel of the project grid (bands named ``als_<metric>``), the layer
  ``[features].lidar_canopy`` adds to the feature stack; NaN where no return;
* ``als_plots.csv``: the same metrics of the returns inside each plot square.

Streaming (issue #18): the returns of all tiles are never pooled.  A first pass
reads each tile and keeps only its class-2 returns and its extent (the spatial
index of the tiles, in the project CRS) in files of a temporary folder; a second
pass normalises the tiles in parallel, each with the ground returns of the
tiles whose extent lies within the buffer, and keeps the usable returns (x, y,
height, return number) per tile on disk.  The CHM is the running maximum of the
tiles' returns per cell; each pixel of the project grid (and each plot) is
computed from the returns of the tiles that reach it, read on demand, in tile
order.  A pixel's metrics depend only on its own returns in that order, and the
maximum not at all on the order, so the outputs are identical to pooling all
returns (``pooled_returns``, kept as the reference).  Memory: a few tiles
(``BYTES_PER_RETURN`` per return of the tiles in flight) plus the output grids,
whatever the number of tiles; disk: about 25 bytes per return while the stage runs.
"""

from __future__ import annotations

import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ...config import ProjectConfig
from ...errors import CRSError, InputError, MissingInputError
from ...inputs.pointclouds import ALS_TILE
from ...io import write_raster, write_table, write_vector
from ...lidar import (
    PointCloud,
    find_treetops,
    normalize_heights,
    plot_metrics,
)
from ...lidar.chm import GROUND_CLASS
from ...memory import available_memory_bytes
from ...progress import track
from ..core import Context, Output
from ._als_tiles import read_tile, workers
from ...inputs.grid import project_grid

log = logging.getLogger(__name__)

MAX_HEIGHT_M = 80.0
"""Returns higher above the ground than this are noise (birds, clouds, multipath); this project's choice."""

OUTPUTS = (
    Output("als_chm", "als_chm.tif", "m", "Canopy height model of the airborne scans (pits filled)"),
    Output("als_treetops", "als_treetops.gpkg", "m", "Treetops of the CHM (variable-window local maxima) with "
           "their heights"),
    Output("als_metrics", "als_canopy_metrics.tif", "m, fraction",
           "Canopy metrics of the ALS returns per pixel of the project grid (bands als_<metric>)"),
    Output("als_plots", "als_plots.csv", "m, fraction", "Canopy metrics of the ALS returns inside each plot"),
)


def als_paths(cfg: ProjectConfig) -> list[Path]:
    """The ALS tiles matched by ``[lidar].als`` (an error when the pattern matches nothing)."""
    if not cfg.lidar.als:
        return []
    paths = [p for k, p in cfg.input_paths().items() if k.startswith("lidar.als[")]
    if not paths:
        raise MissingInputError(f"[lidar].als = {cfg.lidar.als!r} matches no file (relative to {cfg.root}). Check "
                                f"the pattern (e.g. \"inputs/als/*.laz\") or remove the key.")
    return paths


BYTES_PER_RETURN = 210
"""Peak memory per return of the ALS tiles in flight, measured when all returns were pooled
(``benchmarks/results/als.md``: 4.19 GiB for 20 M returns), an upper bound per tile now."""


def tile_counts(paths: list[Path]) -> list[int]:
    """Returns per tile, from the tile headers (0 for a header that cannot be read; read_cloud names it later)."""
    import laspy

    counts = []
    for p in paths:
        try:
            with laspy.open(str(p)) as reader:
                counts.append(int(reader.header.point_count))
        except Exception:  # noqa: BLE001 - unreadable tiles are reported by read_cloud with the file named
            counts.append(0)
    return counts


def check_memory(paths: list[Path], available: int | None = None) -> int:
    """Total returns of the tiles (from their headers); an error when the largest tiles processed at once
    (one per core) would not fit in memory.  The number of tiles does not matter: they are streamed."""
    counts = tile_counts(paths)
    n = sum(counts)
    k = workers(len(paths))
    at_once = sum(sorted(counts, reverse=True)[:k])
    need = at_once * BYTES_PER_RETURN
    available = available_memory_bytes() if available is None else available
    if available is not None and need > 0.8 * available:
        raise InputError(f"The {len(paths)} ALS tiles of [lidar].als hold {n:,} returns; the {k} largest, processed "
                         f"at once, hold {at_once:,} and need about {need / 2**30:.1f} GiB of memory "
                         f"({BYTES_PER_RETURN} bytes per return, measured), and {available / 2**30:.1f} GiB are "
                         f"available. Thin the tiles (e.g. keep first and last returns, or a lower density with "
                         f"PDAL/LAStools), split them into smaller tiles (PDAL 'splitter', LAStools 'lastile'), "
                         f"or run on a machine with more memory.")
    return n


def _to_crs(cloud: PointCloud, crs, what: str) -> np.ndarray:
    """x, y, z of a tile in the project CRS (reprojected when the header names another CRS)."""
    if cloud.crs is None or crs is None:
        return cloud.xyz
    from pyproj import CRS, Transformer

    dst = CRS.from_user_input(crs)
    if cloud.crs.equals(dst):
        return cloud.xyz
    if not dst.is_projected:
        raise CRSError(f"{what}: the project CRS {dst.name} is not projected; canopy metrics need metres.")
    log.info("%s: reprojecting from %s to %s", what, cloud.crs.name, dst.name)
    tr = Transformer.from_crs(cloud.crs, dst, always_xy=True)
    x, y = tr.transform(cloud.xyz[:, 0], cloud.xyz[:, 1])
    return np.column_stack([x, y, cloud.xyz[:, 2]])


TILE_BUFFER_M = 30.0
"""Ground returns of neighbouring tiles within this distance join a tile's terrain model, so the heights of
returns near a tile edge are interpolated across the edge rather than extrapolated."""


def dtm_cell_m(n_ground: int, lo: np.ndarray, hi: np.ndarray) -> float:
    """DTM cell of a tile: half the mean spacing of its ground returns, within 1-5 m (our choice).

    A grid finer than the ground returns adds nothing to the TIN it samples, only cells to evaluate.
    """
    area = float(np.prod(np.maximum(hi - lo, 1.0)))
    if n_ground < 3:
        return 1.0
    return float(np.clip(0.5 * np.sqrt(area / n_ground), 1.0, 5.0))


def pooled_returns(cfg: ProjectConfig, paths: list[Path], crs, progress=lambda msg: None) -> dict[str, np.ndarray]:
    """(n, 3) ``xyz`` (with its columns as views ``x``, ``y``, ``z``), height above ground ``hag`` and
    ``return_number`` of the usable returns of all tiles."""
    tiles = []
    for path in track(paths, "ALS tiles", unit="tiles"):
        progress(f"ALS tile {path.name}")
        tiles.append((path, *read_tile(path, crs, _to_crs)))
    ground = np.concatenate([xyz[c == GROUND_CLASS] for _, xyz, c, _ in tiles])
    ground_tile = np.concatenate([np.full(int((c == GROUND_CLASS).sum()), i, np.int32)
                                  for i, (_, _, c, _) in enumerate(tiles)])

    def normalise(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        path, xyz, cls, rn = tiles[i]
        what = f"ALS tile {path}"
        lo, hi = xyz[:, :2].min(axis=0) - TILE_BUFFER_M, xyz[:, :2].max(axis=0) + TILE_BUFFER_M
        # the tile's returns plus the ground returns of the other tiles around it
        near = np.all((ground[:, :2] >= lo) & (ground[:, :2] <= hi), axis=1) & (ground_tile != i)
        both = PointCloud(np.vstack([xyz, ground[near]]), crs,
                          {"classification": np.concatenate([cls, np.full(int(near.sum()), GROUND_CLASS, np.uint8)])})
        hag = normalize_heights(both, use_classification=True, ground_method=cfg.lidar.ground_method,
                                ground_cell_m=1.0, dtm_cell_m=dtm_cell_m(int((cls == GROUND_CLASS).sum()), lo, hi),
                                what=what)[0][:len(xyz)]
        ok = np.isfinite(hag) & (hag <= MAX_HEIGHT_M) & (hag >= -0.5)
        if (~ok).any():
            log.info("%s: %d noise returns (noise class, > %g m or below the ground) left out", what,
                     int((~ok).sum()), MAX_HEIGHT_M)
        return xyz[ok], np.maximum(hag[ok], 0.0), rn[ok]

    # tiles are independent: the triangulations (qhull, without the GIL) run on every core; results keep the
    # order of the tiles, so the output does not depend on scheduling
    progress(f"ALS: heights above ground of {len(tiles)} tiles")
    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=max(1, min(len(tiles), os.cpu_count() or 1))) as pool:
        done = list(pool.map(normalise, range(len(tiles))))
    xyz = np.concatenate([d[0] for d in done])
    return {"xyz": xyz, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], "hag": np.concatenate([d[1] for d in done]),
            "return_number": np.concatenate([d[2] for d in done])}


def run_als(ctx: Context, sheet: pd.DataFrame | None) -> None:
    """The ALS part of the `lidar` stage (nothing when ``[lidar].als`` is unset), tile by tile (module text)."""
    from . import _als_tiles as tiles

    cfg = ctx.cfg
    paths = als_paths(cfg)
    if not paths:
        return
    lid = cfg.lidar
    check_memory(paths)
    tmpl, _, area = project_grid(cfg)
    crs = tmpl.rio.crs
    for p in paths:  # the rules check applies to each tile's header (inputs.ALS_TILE)
        ALS_TILE.read(p, target_crs=crs)
    with tiles.tile_folder(cfg.workspace) as folder:
        store = tiles.TileStore(paths, folder)
        tiles.index_tiles(store, crs, _to_crs, ctx.progress)
        hit, n_first = tiles.normalise_tiles(store, cfg, crs, _to_crs, TILE_BUFFER_M, MAX_HEIGHT_M, dtm_cell_m,
                                             tmpl, ctx.progress)
        n = int(store.kept.sum())
        ctx.progress(f"ALS: CHM, treetops and canopy metrics of {n:,} returns")
        chm = tiles.chm(store, lid.chm_resolution_m, crs, lid.pit_fill_threshold_m, MAX_HEIGHT_M)
        ctx.produced(write_raster(chm, ctx.out("als_chm"), nodata=np.nan, band_names=["chm_m"]))
        tops = find_treetops(chm, window_slope=lid.treetop_window_slope,
                             window_intercept=lid.treetop_window_intercept, min_height_m=lid.treetop_min_height_m)
        del chm
        ctx.produced(write_vector(tops, ctx.out("als_treetops"), layer="treetops"))
        metrics = tiles.pixel_metrics(store, tmpl, lid.canopy_metrics, lid.cover_threshold_m)
        names = [f"als_{m}" for m in metrics["band"].values]
        metrics = metrics.assign_coords(band=names)
        _log_coverage(hit, n_first, tmpl, area, lid.chm_resolution_m)
        ctx.produced(write_raster(metrics, ctx.out("als_metrics"), nodata=np.nan, band_names=names))
        del metrics
        rows = []
        if sheet is not None:
            for r in sheet.itertuples(index=False):
                h = float(r.size_m) / 2.0
                hag, rn = tiles.plot_returns(store, r.x, r.y, h)
                row = {"plot_id": r.plot_id, "n_returns": int(hag.size)}
                if hag.size:
                    m = plot_metrics(hag, lid.canopy_metrics, cover_threshold_m=lid.cover_threshold_m,
                                     return_number=rn)
                    row.update({f"als_{k}": v for k, v in m.items()})
                rows.append(row)
    ctx.produced(write_table(pd.DataFrame(rows).reindex(columns=["plot_id", "n_returns"] + names),
                             ctx.out("als_plots")))
    log.info("ALS: %d tiles, %d returns, %d treetops", len(paths), n, len(tops))


def _log_coverage(hit: np.ndarray, n_first: int, tmpl, area, chm_cell_m: float) -> None:
    """Warn when the scans leave pixels of the monitoring area without returns, or are too sparse for the CHM.

    ``hit``: pixels of the project grid (flat) with a return; ``n_first``: first returns on the grid."""
    from ...grid import rasterize

    t = tmpl.rio.transform()
    inside = rasterize(area, tmpl, dtype="uint8").ravel() > 0
    share = float((inside & ~hit).sum()) / max(int(inside.sum()), 1)
    covered_m2 = float(hit.sum()) * abs(t.a * t.e)
    density = float(n_first) / covered_m2 if covered_m2 else 0.0
    per_cell = density * chm_cell_m ** 2
    log.info("ALS: %.2f first returns per m2 on the scanned pixels, %.2f per CHM cell", density, per_cell)
    if 0 < per_cell < 1.0:
        log.warning("the airborne scans have %.2f first returns per m2, %.2f per %g m CHM cell: most CHM cells are "
                    "empty and only filled by pit filling, and treetops follow the fill. Set [lidar].chm_resolution_m "
                    "to at least %.1f m", density, per_cell, chm_cell_m, math.ceil(2.0 / math.sqrt(density)) / 2.0)
    if share > 0.01:
        log.warning("the airborne scans leave %.1f %% of the monitoring area without returns; canopy metrics are "
                    "NaN there (maps need features everywhere: scan the whole area or leave "
                    "[features].lidar_canopy off)", 100.0 * share)

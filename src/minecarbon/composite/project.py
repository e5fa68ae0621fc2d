"""The composites of a project whose ``[images].scenes`` names scenes: the grid, the run, the paths.

The composite grid covers the monitoring area (boundary + ``[area].buffer_m``)
plus :data:`MARGIN_PX` pixels on every side (the features stage pads its
template for texture windows), in ``[project].crs`` or else the CRS of the
first scene, with the first scene's pixel size, snapped to the first scene's
pixel grid (so that scenes already on that grid are not resampled).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import rasterio

from ..grid import monitoring_area
from ..io import read_vector
from .compose import CompositeResult, TargetGrid
from .scene import Scene
from .series import composite_series, find_scenes

COMPOSITE_PATTERN = "composite_{year}.tif"
"""File name of a yearly composite in ``<workspace>/outputs/images/`` (``composite_2010-07.tif`` for a month)."""
MARGIN_PX = 20


def scenes_source(cfg) -> Path:
    return cfg.path(cfg.images.scenes)


def project_scenes(cfg) -> list[Scene]:
    """Every scene of the project (SceneError listing every problem)."""
    return find_scenes(scenes_source(cfg))[0]


def project_target_grid(cfg, scenes: list[Scene]) -> TargetGrid:
    """The grid the project's composites are written on (see the module docstring)."""
    with rasterio.open(scenes[0].bands[next(iter(scenes[0].bands))]) as src:
        s_crs, s_t = src.crs, src.transform
    crs = cfg.project.crs or s_crs.to_string()
    boundary = read_vector(cfg.path(cfg.area.boundary), what="mine boundary", target_crs=crs)
    area = monitoring_area(boundary, cfg.area.buffer_m)
    res = abs(s_t.a)
    minx, miny, maxx, maxy = area.total_bounds
    m = MARGIN_PX * res
    same = rasterio.crs.CRS.from_user_input(crs) == s_crs
    ox, oy = (s_t.c % res, s_t.f % res) if same else (0.0, 0.0)
    x0 = math.floor((minx - m - ox) / res) * res + ox
    x1 = math.ceil((maxx + m - ox) / res) * res + ox
    y1 = math.ceil((maxy + m - oy) / res) * res + oy
    y0 = math.floor((miny - m - oy) / res) * res + oy
    from affine import Affine

    return TargetGrid(str(crs), Affine(res, 0.0, x0, 0.0, -res, y1), int(round((x1 - x0) / res)),
                      int(round((y1 - y0) / res)))


def run_project_composites(cfg, out_dir: Path, progress: Callable[[str], None] | None = None,
                           chunk_px: int = 512) -> list[CompositeResult]:
    """Composite the project's scenes: every project year (and the end year's months with ``monthly``)."""
    scenes = project_scenes(cfg)
    grid = project_target_grid(cfg, scenes)
    months = [(cfg.project.end_year, m) for m in range(1, 13)] if cfg.images.monthly else []
    h = cfg.images.harmonisation
    return composite_series(scenes, grid, out_dir, cfg.project.years, tuple(cfg.images.season_months), months,
                            method=cfg.images.composite, chunk_px=chunk_px,
                            transform=None if h in ("none", "") else h,
                            name=COMPOSITE_PATTERN.replace("{year}", "{label}"),
                            fill_years=cfg.images.fill_years, progress=progress)

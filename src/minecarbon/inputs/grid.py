"""The project grid: the base year's image grid over the monitoring area (boundary + buffer).

What the stages align every raster to, and what the labelled layers of ``[classify]`` must lie inside
(:mod:`minecarbon.inputs.samples`); ``check`` and ``run`` build it the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import ProjectConfig

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import xarray as xr

__all__ = ["project_grid"]


def project_grid(cfg: ProjectConfig) -> tuple["xr.DataArray", "gpd.GeoDataFrame", "gpd.GeoDataFrame"]:
    """(template grid, boundary, monitoring area) of a project."""
    from ..grid import grid_from_reference, monitoring_area
    from ..io import open_raster
    from ..io.crs import same_crs, to_pyproj
    from ..io.raster import check_overlap
    from .polygons import BOUNDARY_RULES, read_polygons, run_target_from

    ref_path = cfg.year_path(cfg.images.path, cfg.project.base)
    ref = open_raster(ref_path, what=f"image {cfg.project.base} (reference grid)")
    crs = cfg.project.crs or ref.rio.crs
    boundary, _, _ = read_polygons(cfg.path(cfg.area.boundary), BOUNDARY_RULES, file=str(cfg.area.boundary),
                                   target_crs=crs, target_from=run_target_from(cfg, crs))  # check's rules
    area = monitoring_area(boundary, cfg.area.buffer_m)
    bounds = tuple(area.total_bounds)
    if not same_crs(ref.rio.crs, crs):
        ref = ref.rio.reproject(to_pyproj(crs, "[project].crs").to_wkt())
    check_overlap(ref, bounds, f"image {cfg.project.base}")
    return grid_from_reference(ref, bounds), boundary, area

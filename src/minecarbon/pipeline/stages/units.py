"""Stage `units`: assessment units level 1 and level 2 (rules in :mod:`minecarbon.units`)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ... import units
from ...errors import InputError
from ...grid import pixel_area_m2, rasterize
from ...io import write_raster, write_table, write_vector
from ...inputs import DISTURBANCE, PLANNED, RECLAMATION
from ...inputs.grid import project_grid
from ..core import Context, Output, Stage
from ._common import L1_NODATA, _as_da, _read_optional_layer, classify_upstream, is_forest, read_forest_type

log = logging.getLogger(__name__)


def _until(gdf, column: str, end: int, path) -> object:
    """Features whose ``column`` year is <= ``end``; a non-numeric year is an error naming the rows."""
    if gdf is None:
        return None
    yrs = pd.to_numeric(gdf[column], errors="coerce")
    bad = yrs.isna().to_numpy()
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad)[:8])
        raise InputError(f"{path}: attribute {column!r} is not a year on feature(s) {rows}. Give every feature "
                         f"an integer year.")
    return gdf[(yrs <= end).to_numpy()]


def _run_units(ctx: Context) -> None:
    cfg = ctx.cfg
    tmpl, boundary, area = project_grid(cfg)
    crs = tmpl.rio.crs
    end = cfg.project.end_year
    in_area = rasterize(area, tmpl, dtype="uint8").astype(bool)
    if not in_area.any():
        raise InputError(f"The monitoring area ({cfg.area.boundary} + {cfg.area.buffer_m} m) covers no pixel "
                         f"centre of the project grid. Check the boundary and the images' CRS.")
    f0 = is_forest(cfg, read_forest_type(cfg, cfg.project.base, tmpl))
    f1 = is_forest(cfg, read_forest_type(cfg, end, tmpl))
    dist, dpath = _read_optional_layer(cfg, DISTURBANCE, crs, area)
    dist = _until(dist, "year", end, dpath)
    plan, ppath = _read_optional_layer(cfg, PLANNED, crs, area)
    rec, rpath = _read_optional_layer(cfg, RECLAMATION, crs, area)
    rec = _until(rec, "year", end, rpath)
    rec_codes = np.zeros(tmpl.shape, dtype=np.uint8)
    rec_mask = np.zeros(tmpl.shape, dtype=bool)
    if rec is not None and len(rec):
        rec_mask = rasterize(rec, tmpl, dtype="uint8") > 0
        if "damage_type" in rec.columns:
            typed = rec[rec["damage_type"].notna() & (rec["damage_type"].astype(str).str.strip() != "")]
            rec_codes = units.burn_damage(typed, tmpl, f"reclamation layer {rpath}")
    dist_codes = units.burn_damage(dist, tmpl, f"disturbance layer {dpath}")
    plan_codes = units.burn_damage(plan, tmpl, f"planned mining layer {ppath}")
    l1, l2 = units.assign_units(in_area, f0, f1, dist_codes, plan_codes, rec_codes, reclaimed=rec_mask)
    l1_da = _as_da(np.where(in_area, l1, L1_NODATA).astype(np.uint8), tmpl)
    l2_da = _as_da(np.where(in_area, l2, L1_NODATA).astype(np.uint8), tmpl)
    ctx.produced(write_raster(l1_da, ctx.out("level1"), ["unit_level1"], nodata=L1_NODATA, dtype="uint8",
                              units="class code"))
    ctx.produced(write_raster(l2_da, ctx.out("level2"), ["unit_level2"], nodata=L1_NODATA, dtype="uint8",
                              units="class code"))
    ctx.produced(write_vector(area, ctx.out("area"), layer="monitoring_area"))
    px_ha = pixel_area_m2(tmpl) / 10000.0
    ctx.produced(write_vector(units.unit_polygons(l2, tmpl, level=2), ctx.out("polygons"), layer="units"))
    ctx.produced(write_vector(units.unit_polygons(l1, tmpl, level=1), ctx.out("polygons_l1"),
                              layer="units_level1"))
    ctx.produced(write_table(units.unit_areas(l2, px_ha, level=2), ctx.out("areas")))
    ctx.produced(write_table(units.unit_areas(l1, px_ha, level=1), ctx.out("areas_l1")))
    log.info("units: %d forest-unit pixels of %d in the monitoring area", int((l1 > 0).sum()), int(in_area.sum()))


STAGE = Stage(
    name="units",
    about="Assessment units level 1 (stage of damage) and level 2 (damage type)",
    func=_run_units,
    inputs=("area.boundary", "images.path", "inputs.forest_type", "inputs.disturbance", "inputs.planned",
            "inputs.reclamation"),
    upstream_if=classify_upstream,
    settings=("area", "images", "inputs", "forest_type_codes"),
    outputs=(
        Output("level1", "units_level1.tif", "class code", "Level-1 assessment units (1-5; 0 none; 255 outside)"),
        Output("level2", "units_level2.tif", "class code", "Level-2 units = 10 x level 1 + damage type"),
        Output("area", "monitoring_area.gpkg", "polygon", "Mine boundary buffered by [area].buffer_m"),
        Output("polygons", "units.gpkg", "polygon", "Dissolved level-2 unit polygons with areas (ha)"),
        Output("polygons_l1", "units_level1.gpkg", "polygon", "Dissolved level-1 unit polygons with areas (ha)"),
        Output("areas", "unit_areas.csv", "ha", "Area of each level-2 assessment unit"),
        Output("areas_l1", "unit_areas_level1.csv", "ha", "Area of each level-1 assessment unit"),
    ),
)

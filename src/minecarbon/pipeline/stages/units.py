"""Stage `units`."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
from shapely.geometry import shape

from ... import units
from ...grid import pixel_area_m2, rasterize
from ...io import write_raster, write_table, write_vector
from ..core import Context, Output, Stage, register
from ._common import L1_NODATA, _as_da, _burn_damage, _read_optional_layer, is_forest, project_grid, read_forest_type

log = logging.getLogger(__name__)


def _run_units(ctx: Context) -> None:
    cfg = ctx.cfg
    tmpl, boundary, area = project_grid(cfg)
    crs = tmpl.rio.crs
    end = cfg.project.end_year
    in_area = rasterize(area, tmpl, dtype="uint8").astype(bool)
    f0 = is_forest(cfg, read_forest_type(cfg, cfg.project.base, tmpl))
    f1 = is_forest(cfg, read_forest_type(cfg, end, tmpl))
    dist, dpath = _read_optional_layer(cfg, cfg.inputs.disturbance, "disturbance layer", crs,
                                       ("year", "damage_type"))
    if dist is not None:
        dist = dist[pd.to_numeric(dist["year"], errors="coerce") <= end]
    plan, ppath = _read_optional_layer(cfg, cfg.inputs.planned, "planned mining layer", crs,
                                       ("planned_year", "damage_type"))
    rec, rpath = _read_optional_layer(cfg, cfg.inputs.reclamation, "reclamation layer", crs, ("year",))
    rec_codes = np.zeros(tmpl.shape, dtype=np.uint8)
    if rec is not None:
        rec = rec[pd.to_numeric(rec["year"], errors="coerce") <= end]
        if len(rec):
            if "damage_type" in rec.columns:
                rec_codes = _burn_damage(rec, tmpl, rpath)
            else:
                rec_codes = np.where(rasterize(rec, tmpl, dtype="uint8") > 0, 255, 0).astype(np.uint8)
    dist_codes = _burn_damage(dist, tmpl, dpath)
    plan_codes = _burn_damage(plan, tmpl, ppath)
    l1, l2 = units.assign_units(in_area, f0, f1, dist_codes, plan_codes, rec_codes)
    l2 = np.where((l2 % 10) == 5, (l2 // 10) * 10, l2).astype(np.uint8)  # 255-marked reclaimed w/o type
    l1_da = _as_da(np.where(in_area, l1, L1_NODATA).astype(np.uint8), tmpl)
    l2_da = _as_da(np.where(in_area, l2, L1_NODATA).astype(np.uint8), tmpl)
    ctx.produced(write_raster(l1_da, ctx.out("level1"), ["unit_level1"], nodata=L1_NODATA, dtype="uint8",
                              units="class code"))
    ctx.produced(write_raster(l2_da, ctx.out("level2"), ["unit_level2"], nodata=L1_NODATA, dtype="uint8",
                              units="class code"))
    ctx.produced(write_vector(area, ctx.out("area"), layer="monitoring_area"))
    # dissolved polygons per level-2 unit with areas
    px_ha = pixel_area_m2(tmpl) / 10000.0
    recs = []
    for geom, val in rasterio.features.shapes(l2.astype(np.int32), mask=(l2 > 0) & in_area,
                                              transform=tmpl.rio.transform()):
        recs.append({"unit_l2": int(val), "geometry": shape(geom)})
    if recs:
        polys = gpd.GeoDataFrame(recs, crs=crs).dissolve(by="unit_l2", as_index=False)
    else:
        polys = gpd.GeoDataFrame({"unit_l2": []}, geometry=[], crs=crs)
    polys["unit_l1"] = polys["unit_l2"] // 10
    polys["name_en"] = [units.unit_name(c, "en") for c in polys["unit_l2"]]
    polys["name_zh"] = [units.unit_name(c, "zh") for c in polys["unit_l2"]]
    counts = pd.Series(l2[(l2 > 0) & in_area]).value_counts()
    polys["area_ha"] = [float(counts.get(c, 0)) * px_ha for c in polys["unit_l2"]]
    ctx.produced(write_vector(polys, ctx.out("polygons"), layer="units"))
    table = polys.drop(columns="geometry")[["unit_l1", "unit_l2", "name_en", "name_zh", "area_ha"]]
    ctx.produced(write_table(table, ctx.out("areas")))


register(Stage(
    name="units",
    about="Assessment units level 1 (stage of damage) and level 2 (damage type)",
    func=_run_units,
    inputs=("area.boundary", "images.path", "inputs.forest_type", "inputs.disturbance", "inputs.planned",
            "inputs.reclamation"),
    settings=("area", "images", "inputs", "forest_type_codes"),
    outputs=(
        Output("level1", "units_level1.tif", "class code", "Level-1 assessment units (1-5; 255 outside)"),
        Output("level2", "units_level2.tif", "class code", "Level-2 units = 10 x level 1 + damage type"),
        Output("area", "monitoring_area.gpkg", "polygon", "Mine boundary buffered by [area].buffer_m"),
        Output("polygons", "units.gpkg", "polygon", "Dissolved level-2 unit polygons with areas (ha)"),
        Output("areas", "unit_areas.csv", "ha", "Area of each assessment unit"),
    ),
))


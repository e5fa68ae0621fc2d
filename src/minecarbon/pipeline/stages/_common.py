"""Readers shared by the stages: project grid, images, forest-type maps, damage layers."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from ... import features, units
from ...config import DAMAGE_TYPE_ALIASES, ProjectConfig
from ...errors import InputError
from ...grid import align, grid_from_reference, monitoring_area, rasterize
from ...io import open_raster, read_vector
from ...io.raster import band as select_band
from ...io.raster import check_overlap

log = logging.getLogger(__name__)

L1_NODATA = 255

def project_grid(cfg: ProjectConfig) -> tuple[xr.DataArray, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(template grid, boundary, monitoring area) of a project."""
    ref_path = cfg.year_path(cfg.images.path, cfg.project.base)
    ref = open_raster(ref_path, what=f"image {cfg.project.base} (reference grid)")
    crs = cfg.project.crs or ref.rio.crs
    boundary = read_vector(cfg.path(cfg.area.boundary), what="mine boundary", target_crs=crs)
    area = monitoring_area(boundary, cfg.area.buffer_m)
    bounds = tuple(area.total_bounds)
    if str(ref.rio.crs) != str(crs) and not ref.rio.crs.equals(crs):
        ref = ref.rio.reproject(crs)
    check_overlap(ref, bounds, f"image {cfg.project.base}")
    return grid_from_reference(ref, bounds), boundary, area


def read_image_bands(cfg: ProjectConfig, year: int, template: xr.DataArray) -> dict[str, xr.DataArray]:
    """Reflectance bands of one year's image, aligned to the grid, nodata masked (NaN)."""
    what = f"image {year}"
    img = open_raster(cfg.year_path(cfg.images.path, year), what=what, chunks=cfg.run.chunk_px,
                      masked=True)
    check_overlap(img, tuple(template.rio.bounds()), what)
    out = {}
    names = [str(b) for b in img["band"].values]
    for common, desc in cfg.images.bands.items():
        if desc.isdigit() and desc not in names:
            b = img.isel(band=int(desc) - 1)
        else:
            b = select_band(img, desc, what=what)
        b = align(b, template)
        if cfg.images.nodata is not None:
            b = b.where(b != cfg.images.nodata)
        out[common] = features.reflectance(b, cfg.images.scale, cfg.images.offset)
    return out


def forest_type_year(cfg: ProjectConfig, year: int) -> int:
    """The available forest-type map year closest to ``year`` (preferring earlier)."""
    avail = [y for y in cfg.project.years if cfg.year_path(cfg.inputs.forest_type, y).exists()]
    if not avail:
        raise InputError(f"No forest-type map found for pattern {cfg.inputs.forest_type} in "
                         f"{cfg.project.start_year}-{cfg.project.end_year}. Provide at least the base year.")
    before = [y for y in avail if y <= year]
    return max(before) if before else min(avail)


def read_forest_type(cfg: ProjectConfig, year: int, template: xr.DataArray) -> np.ndarray:
    y = forest_type_year(cfg, year)
    ft = open_raster(cfg.year_path(cfg.inputs.forest_type, y), what=f"forest-type map {y}", chunks=None,
                     masked=False)
    return np.asarray(align(ft.isel(band=0), template, categorical=True).values)


def is_forest(cfg: ProjectConfig, ft: np.ndarray) -> np.ndarray:
    c = cfg.forest_type_codes
    return np.isin(ft, [c.coniferous, c.broadleaf, c.mixed, c.sparse])


def _damage_codes(gdf: gpd.GeoDataFrame, path, column: str = "damage_type") -> np.ndarray:
    raw = gdf[column].astype(str).str.strip()
    mapped = raw.str.lower().map(lambda s: DAMAGE_TYPE_ALIASES.get(s, DAMAGE_TYPE_ALIASES.get(s.strip(), None)))
    bad = mapped.isna()
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:8])
        raise InputError(f"{path}: damage_type {sorted(set(raw[bad]))} on feature(s) {rows} is not one of "
                         f"excavation/subsidence/occupation (挖损/塌陷/压占). Correct the attribute.")
    return mapped.map(units.DAMAGE_CODES).to_numpy()


def _burn_damage(gdf: gpd.GeoDataFrame | None, template: xr.DataArray, path) -> np.ndarray:
    if gdf is None or len(gdf) == 0:
        return np.zeros(template.shape, dtype=np.uint8)
    codes = _damage_codes(gdf, path)
    rank = pd.Series(codes).map({units.DAMAGE_CODES[k]: v for k, v in units.DAMAGE_PRECEDENCE.items()})
    order = np.argsort(rank.to_numpy(), kind="stable")  # higher precedence burned last, wins
    return rasterize(gdf.iloc[order], template, values=codes[order], dtype="uint8")


def _read_optional_layer(cfg: ProjectConfig, key: str | None, what: str, crs, required=()):
    if key is None:
        return None, None
    p = cfg.path(key)
    return read_vector(p, what=what, target_crs=crs, required=required), p


def _as_da(arr: np.ndarray, template: xr.DataArray) -> xr.DataArray:
    return template.copy(data=arr)


"""Readers shared by the stages: project grid, images, forest-type maps, damage layers."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import xarray as xr

from ...config import ProjectConfig
from ...errors import InputError
from ...grid import align
from ...inputs.polygons import run_target_from
from ...inputs.rasters import FOREST_TYPE
from ...io import open_raster
from ...units import L1_NODATA  # noqa: F401  (re-exported for the stages)

log = logging.getLogger(__name__)


def forest_type_pattern(cfg: ProjectConfig) -> str:
    """The ``{year}`` pattern of the forest-type maps: ``[inputs].forest_type``, or, when it is absent, the
    yearly maps of the classify stage."""
    if cfg.inputs.forest_type:
        return cfg.inputs.forest_type
    return str(cfg.workspace / "outputs" / "classify" / "forest_type_{year}.tif")


def classify_upstream(cfg: ProjectConfig) -> tuple[str, ...]:
    """``("classify",)`` for a project whose forest-type maps the classify stage makes, else ``()``."""
    return () if cfg.inputs.forest_type else ("classify",)


def group_upstream(cfg: ProjectConfig) -> tuple[str, ...]:
    """Upstream of the model and map stages: ``classify`` also when the model groups are species."""
    return ("classify",) if not cfg.inputs.forest_type or cfg.model.groups == "species" else ()


def group_pattern(cfg: ProjectConfig) -> str:
    """The ``{year}`` pattern of the maps whose codes are the model groups: forest type or dominant species."""
    if cfg.model.groups == "species":
        return str(cfg.workspace / "outputs" / "classify" / "dominant_species_{year}.tif")
    return forest_type_pattern(cfg)


def group_nonforest(cfg: ProjectConfig) -> int:
    """The non-forest code of the group maps (species maps: 0)."""
    return 0 if cfg.model.groups == "species" else cfg.forest_type_codes.nonforest


def read_groups(cfg: ProjectConfig, year: int, template: xr.DataArray) -> np.ndarray:
    """The model-group codes of a year on the template grid (forest type or dominant species)."""
    if cfg.model.groups != "species":
        return read_forest_type(cfg, year, template)
    path = cfg.year_path(group_pattern(cfg), year)
    da = open_raster(path, what=f"dominant-species map {year}", chunks=None, masked=False)
    return np.asarray(align(da.isel(band=0), template, categorical=True).values)


def forest_type_year(cfg: ProjectConfig, year: int) -> int:
    """The available forest-type map year closest to ``year`` (preferring earlier)."""
    pattern = forest_type_pattern(cfg)
    avail = [y for y in cfg.project.years if cfg.year_path(pattern, y).exists()]
    if not avail:
        raise InputError(f"No forest-type map found for pattern {pattern} in "
                         f"{cfg.project.start_year}-{cfg.project.end_year}. Provide at least the base year.")
    before = [y for y in avail if y <= year]
    return max(before) if before else min(avail)


def read_forest_type(cfg: ProjectConfig, year: int, template: xr.DataArray) -> np.ndarray:
    y = forest_type_year(cfg, year)
    path = cfg.year_path(forest_type_pattern(cfg), y)
    if cfg.inputs.forest_type:  # an input: read with its declared rules (inputs.FOREST_TYPE), as check
        ft = FOREST_TYPE.read(path, year=y, cfg=cfg, chunks=None, masked=False)
    else:
        ft = open_raster(path, what=f"forest-type map {y}", chunks=None, masked=False)
    return np.asarray(align(ft.isel(band=0), template, categorical=True).values)


def is_forest(cfg: ProjectConfig, ft: np.ndarray) -> np.ndarray:
    c = cfg.forest_type_codes
    return np.isin(ft, [c.coniferous, c.broadleaf, c.mixed, c.sparse])



def _read_optional_layer(cfg: ProjectConfig, spec, crs, area: gpd.GeoDataFrame | None = None):
    """A layer of :data:`minecarbon.inputs.LAYERS` read through its spec (the rules ``check`` runs, in the
    monitoring area ``area`` when given), and its path; (None, None) when not set."""
    section, name = spec.key.split(".")
    value = getattr(getattr(cfg, section), name)
    if value is None:
        return None, None
    p = cfg.path(value)
    where = {} if area is None else {"area": area.geometry.union_all(), "area_crs": area.crs}
    return spec.read(p, target_crs=crs, file=str(value), target_from=run_target_from(cfg, crs), cfg=cfg,
                     **where), p


def _as_da(arr: np.ndarray, template: xr.DataArray) -> xr.DataArray:
    return template.copy(data=arr)


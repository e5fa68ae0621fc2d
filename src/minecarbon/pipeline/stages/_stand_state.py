"""Model groups brought up to date with the disturbance and reclamation layers (``[model].nonforest_in_units =
"own"``).

Forest-type maps are often years old (the simulator ships the base- and end-year maps only; the stages use the
nearest earlier map), while the disturbance and reclamation layers give the year of every change. With a model of
its own for non-forest land (trained on the non-forest plots: farmland, bare and cleared land, AGC about 0), a pixel
must be called non-forest only where it is non-forest *that year*. For a pixel (or plot) in year ``y`` whose
group comes from a map of year ``m``:

1. reclaimed (planted) in year ``r <= y``, where the map is older than the planting (``m < r``) or calls the pixel
   non-forest: :data:`RECLAIMED` - no group model, the pooled model maps it (a young stand grows after the map was
   made, and a model of bare land cannot follow it: docs/model.md section 6);
2. otherwise cleared by excavation or occupation in year ``d`` with ``m < d <= y``: the non-forest code
   (subsidence damages a stand but does not clear it, so it keeps the map's group);
3. otherwise the map's code.

Plots use the same rules with ``m`` = their survey year (the plot sheet's forest type is recorded at the visit).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...config import ProjectConfig
from ...grid import rasterize
from ...inputs.layers import DISTURBANCE, RECLAMATION
from ...units import DAMAGE_TYPE_ALIASES
from ._common import _read_optional_layer

RECLAIMED = -1
"""Group code of reclaimed pixels and plots: not a key of any group model, so the pooled model maps them."""

CLEARING = ("excavation", "occupation")
"""Damage types that remove the stand (GB/T 43935-2024 挖损, 压占); subsidence (塌陷) does not."""


def _first_year(gdf, template, keep=None) -> np.ndarray:
    """Earliest ``year`` of the polygons over each pixel (0: none); ``keep``: boolean row filter."""
    if gdf is None or len(gdf) == 0:
        return np.zeros(template.shape[-2:], dtype=np.int16)
    g = gdf if keep is None else gdf[np.asarray(keep, dtype=bool)]
    years = pd.to_numeric(g["year"], errors="coerce")
    g = g[years.notna()].assign(_y=years[years.notna()].astype(int)).sort_values("_y", ascending=False)
    return rasterize(g, template, values=g["_y"].to_numpy(), fill=0, dtype="int16")  # earliest drawn last (years fit int16)


def _clearing_rows(gdf) -> np.ndarray:
    kind = gdf["damage_type"].astype(str).str.strip()
    kind = kind.map(lambda v: DAMAGE_TYPE_ALIASES.get(v.lower(), DAMAGE_TYPE_ALIASES.get(v, v)))
    return kind.isin(CLEARING).to_numpy()


class StandState:
    """The years of clearing and reclamation on a grid, read once, applied to every year's group map."""

    def __init__(self, cfg: ProjectConfig, template) -> None:
        crs = template.rio.crs
        dist, _ = _read_optional_layer(cfg, DISTURBANCE, crs)
        recl, _ = _read_optional_layer(cfg, RECLAMATION, crs)
        self.cleared = _first_year(dist, template, None if dist is None else _clearing_rows(dist))
        self.reclaimed = _first_year(recl, template)

    def update(self, groups: np.ndarray, year: int, map_year: int, nonforest: int) -> np.ndarray:
        """The group codes of ``year`` from a group map of ``map_year`` (rules in the module docstring)."""
        return update_groups(groups, year, map_year, nonforest, self.cleared, self.reclaimed)


def update_groups(groups: np.ndarray, year, map_year, nonforest: int, cleared: np.ndarray,
                  reclaimed: np.ndarray) -> np.ndarray:
    """Apply the rules of the module docstring; ``cleared`` / ``reclaimed``: first year per pixel or plot (0: none);
    ``year`` and ``map_year`` scalars or arrays of the same shape."""
    g = np.asarray(groups)
    g = g.astype(np.int32) if g.dtype.kind in "iu" else g.astype(float)  # room for RECLAIMED (-1) next to uint8 codes
    year, map_year = np.asarray(year), np.asarray(map_year)
    is_recl = (reclaimed > 0) & (reclaimed <= year) & ((map_year < reclaimed) | (g == nonforest))
    is_cleared = (cleared > 0) & (cleared > map_year) & (cleared <= year)
    g = np.where(is_cleared, nonforest, g)
    return np.where(is_recl, RECLAIMED, g).astype(g.dtype)


def plot_groups(cfg: ProjectConfig, tab: pd.DataFrame, groups: np.ndarray, nonforest: int, crs) -> np.ndarray:
    """Group code of every plot visit (``tab``: x, y in ``crs``, survey_year) with the rules applied at the visit's
    year (NaN stays NaN)."""
    import geopandas as gpd

    recl, _ = _read_optional_layer(cfg, RECLAMATION, crs)
    first = np.zeros(len(tab), dtype=np.int64)
    if recl is not None and len(recl):
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(tab["x"], tab["y"]), crs=recl.crs)
        years = pd.to_numeric(recl["year"], errors="coerce")
        for geom, yr in zip(recl.geometry, years):
            if geom is None or not np.isfinite(yr):
                continue
            inside = pts.within(geom).to_numpy()
            first = np.where(inside & ((first == 0) | (first > yr)), int(yr), first)
    yrs = tab["survey_year"].to_numpy(int)
    g = np.asarray(groups, dtype=float)
    out = update_groups(g, yrs, yrs, nonforest, np.zeros(len(tab), dtype=np.int64), first)
    return np.where(np.isnan(g), np.nan, out)

"""What the report reads: tables and documents from the monitoring database, rasters from the catalogued files.

Every accessor returns None when an output does not exist (a stage that is not
part of this version or of this project, an optional output), so a chapter or
a figure appears exactly when its outputs exist.  Outputs are addressed by
(stage, output id) as declared by the stages, never by file name.
"""

from __future__ import annotations

import json
import logging
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from ..catalog.backend import CatalogBackend
from ..config import ProjectConfig

log = logging.getLogger(__name__)

MAX_MAP_PX = 900
"""Rasters are decimated to at most this many pixels per side for display."""


class DeclaredOutput(NamedTuple):
    """A stage output as the catalog records it (id, units, description, one file per year)."""

    id: str
    units: str
    about: str
    per_year: bool


class ReportData:
    """Access to a project's results for the report.

    Parameters
    ----------
    cfg : the project.
    db : the monitoring database (read-only backend).
    """

    def __init__(self, cfg: ProjectConfig, db: CatalogBackend) -> None:
        self.cfg = cfg
        self.db = db
        self._tables: dict[tuple[str, str], pd.DataFrame | None] = {}
        self._rasters: dict[tuple, xr.DataArray | None] = {}

    # -- declarations ----------------------------------------------------------------
    def declared_outputs(self, stage: str) -> list[DeclaredOutput]:
        """The outputs of a stage the catalog holds (from the stages' manifests), in the catalog's order."""
        d = self.datasets
        sel = d[(d["kind"] == "output") & (d["stage"] == stage) & d["output_id"].notna()]
        out = []
        for oid, g in sel.groupby("output_id", sort=False):
            first = g.iloc[0]
            out.append(DeclaredOutput(str(oid), str(first["units"] or ""), str(first["about"] or ""),
                                      bool(g["year"].notna().any())))
        return out

    @cached_property
    def datasets(self) -> pd.DataFrame:
        return self.db.datasets()

    def path(self, stage: str, output_id: str, year: int | None = None) -> Path | None:
        """Workspace path of a catalogued output (None when it was not produced)."""
        d = self.datasets
        sel = d[(d["stage"] == stage) & (d["output_id"] == output_id)]
        if year is not None:
            sel = sel[sel["year"] == year]
        if not len(sel):
            return None
        p = self.cfg.workspace / str(sel["path"].iloc[0])
        return p if p.is_file() else None

    def years_of(self, stage: str, output_id: str) -> list[int]:
        d = self.datasets
        sel = d[(d["stage"] == stage) & (d["output_id"] == output_id) & d["year"].notna()]
        return sorted(int(y) for y in sel["year"])

    # -- tables and documents -----------------------------------------------------------
    def table(self, stage: str, output_id: str) -> pd.DataFrame | None:
        """An output table from the database (None when absent); empty tables are returned as they are."""
        key = (stage, output_id)
        if key not in self._tables:
            try:
                self._tables[key] = self.db.output_table(stage, output_id)
            except KeyError:
                self._tables[key] = None
        return self._tables[key]

    def nonempty(self, stage: str, output_id: str) -> pd.DataFrame | None:
        t = self.table(stage, output_id)
        return t if t is not None and len(t) else None

    def document(self, stage: str, output_id: str):
        """A JSON output (parsed) from the database, or None."""
        if not self.db.has_table("documents"):
            return None
        docs = self.db.read_table("documents")
        hit = docs[(docs["stage"] == stage) & (docs["output_id"] == output_id)]
        return json.loads(hit["json"].iloc[0]) if len(hit) else None

    @cached_property
    def model_cards(self) -> list[tuple[str, dict]]:
        """(model id, card) of every model card in the database."""
        if not self.db.has_table("models"):
            return []
        m = self.db.read_table("models")
        return [(str(r["model_id"]), json.loads(r["card"])) for _, r in m.iterrows()]

    # -- rasters and vectors ----------------------------------------------------------------
    def raster(self, stage: str, output_id: str, year: int | None = None, band: int | str = 0,
               display: bool = True) -> xr.DataArray | None:
        """One band of a raster output (numpy-backed), decimated for display unless ``display=False``."""
        key = (stage, output_id, year, band, display)
        if key in self._rasters:
            return self._rasters[key]
        p = self.path(stage, output_id, year)
        da = None
        if p is not None:
            from ..io import open_raster

            full = open_raster(p, what=f"{stage} output {output_id}", chunks=None if not display else 1024)
            da = full.sel(band=band) if isinstance(band, str) else full.isel(band=band)
            if display:
                step = max(1, int(np.ceil(max(da.sizes["y"], da.sizes["x"]) / MAX_MAP_PX)))
                if step > 1:
                    da = da.isel(y=slice(None, None, step), x=slice(None, None, step))
            da = da.load()
        self._rasters[key] = da
        return da

    def bands(self, stage: str, output_id: str, year: int | None = None) -> list[str]:
        d = self.datasets
        sel = d[(d["stage"] == stage) & (d["output_id"] == output_id)]
        if year is not None:
            sel = sel[sel["year"] == year]
        if not len(sel):
            return []
        try:
            return list(json.loads(sel["details"].iloc[0]).get("bands", []))
        except (TypeError, ValueError):
            return []

    @cached_property
    def crs(self):
        l1 = self.raster("units", "level1")
        return l1.rio.crs if l1 is not None else self.cfg.project.crs

    @cached_property
    def boundary(self) -> gpd.GeoDataFrame | None:
        """The mine boundary (a catalogued raw input) in the project CRS."""
        from ..io import read_vector

        p = self.cfg.path(self.cfg.area.boundary)
        if p is None or not p.exists():
            return None
        return read_vector(p, what="mine boundary", target_crs=self.crs)

    def vector_output(self, stage: str, output_id: str) -> gpd.GeoDataFrame | None:
        t = self.table(stage, output_id)
        return t if isinstance(t, gpd.GeoDataFrame) else None

    def raw_vector(self, key: str, required: tuple[str, ...] = ()) -> gpd.GeoDataFrame | None:
        """A raw input layer of the project file (e.g. 'inputs.disturbance'), or None when not given."""
        from ..io import read_vector

        section, name = key.split(".")
        value = getattr(getattr(self.cfg, section), name, None)
        p = self.cfg.path(value) if value else None
        if p is None or not p.exists():
            return None
        gdf = read_vector(p, what=key, target_crs=self.crs)
        missing = [c for c in required if c not in gdf.columns]
        return None if missing else gdf

    def raw_dataset(self, key: str) -> dict | None:
        d = self.datasets
        hit = d[d["id"] == f"input:{key}"]
        return hit.iloc[0].to_dict() if len(hit) else None

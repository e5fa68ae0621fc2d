"""The plot-layout back-ends of ``minecarbon plots plan`` and ``minecarbon plots check``.

:func:`plan_plots` proposes a plot layout from the assessment units before
the field work; :func:`check_plot_counts` counts the plots of a sheet per
unit against the standard's minimum.  Both run the ``units`` stage first when
it is not up to date.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from .. import plot_design
from ..config import ProjectConfig
from ..errors import InputError
from ..inputs import RECLAMATION
from ..inputs.polygons import (
    PLAN_RESTORATION_RULES,
    project_area,
    read_polygons,
    run_target_from,
)
from ..io import atomic_path, open_raster, write_table, write_vector
from ..units import L1_NODATA
from .readers import distinct_plots, read_plot_sheet

__all__ = ["PLAN_DIR", "check_plot_counts", "plan_plots"]

PLAN_DIR = "plot_design"
"""Folder of ``outputs/`` where ``minecarbon plots plan`` writes the layout."""


def _units_raster(cfg: ProjectConfig, run_units: bool = True):
    """The level-2 units raster of the project (running the units stage first if needed)."""
    from ..pipeline import STAGES_BY_NAME, run_pipeline

    if run_units:
        run_pipeline(cfg, ["units"])
    level2 = next(o for o in STAGES_BY_NAME["units"].outputs if o.id == "level2")
    path = cfg.workspace / "outputs" / "units" / level2.path
    return open_raster(path, what="level-2 units (run 'minecarbon run PROJECT --stages units')",
                       chunks=None, masked=False), path


def _restoration_mask(cfg: ProjectConfig, units) -> tuple[object | None, list[str]]:
    """True where restoration is planned: [plots].plan_restoration and reclamation after the end year."""
    from ..grid import rasterize

    layers, used = [], []
    crs = units.rio.crs
    if cfg.plots.plan_restoration:
        p = cfg.path(cfg.plots.plan_restoration)
        layers.append(read_polygons(p, PLAN_RESTORATION_RULES, file=str(cfg.plots.plan_restoration), target_crs=crs,
                                    target_from=run_target_from(cfg, crs), **project_area(cfg, crs)))  # as check
        used.append(str(p))
    if cfg.inputs.reclamation:
        p = cfg.path(cfg.inputs.reclamation)
        if p.exists():
            rec = RECLAMATION.read(p, target_crs=crs)  # no cfg: features planned after the period are the point here
            future = rec[pd.to_numeric(rec["year"], errors="coerce") > cfg.project.end_year]
            if len(future):
                layers.append(future)
                used.append(f"{p} (features after {cfg.project.end_year})")
    if not layers:
        return None, used
    gdf = gpd.GeoDataFrame(pd.concat([g[["geometry"]] for g in layers], ignore_index=True), crs=crs)
    mask = rasterize(gdf, units.isel(band=0), dtype="uint8")
    return units.isel(band=0).copy(data=mask), used


def _write_xlsx(df: pd.DataFrame, path: Path) -> Path:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise InputError(f"Writing the field sheet {path} as Excel needs the package openpyxl "
                         f"('pip install openpyxl'); the CSV beside it has the same content.") from None
    with atomic_path(path) as tmp:
        df.to_excel(tmp, index=False, sheet_name="plots")
    return path


def plan_plots(cfg: ProjectConfig, out_dir: Path | None = None, xlsx: bool = True) -> dict:
    """Propose a plot layout for a project and write it.

    Runs the ``units`` stage if it is not up to date, designs the plots with
    :func:`minecarbon.plot_design.design_plots` using ``[plots]`` settings,
    and writes ``plot_design.gpkg`` (plot squares), ``plot_centres.gpkg``
    (centres, for GNSS devices), ``plot_design.csv`` and (``xlsx``)
    ``plot_design.xlsx`` (field sheet) to ``out_dir`` (default
    ``<workspace>/outputs/plot_design``).  Returns a summary.
    """
    out_dir = Path(out_dir) if out_dir else cfg.workspace / "outputs" / PLAN_DIR
    inputs = {p.resolve().parent for p in cfg.input_paths().values()}
    if out_dir.resolve() in inputs:
        raise InputError(f"{out_dir} holds input files of the project; minecarbon never writes into input "
                         f"folders. Choose another --out folder.")
    units, upath = _units_raster(cfg)
    restoration, rest_used = _restoration_mask(cfg, units)
    p = cfg.plots
    design = plot_design.design_plots(
        units, plot_size_m=p.plan_plot_size_m, min_per_unit=p.min_per_unit,
        extra_to_be_damaged=p.plan_extra_to_be_damaged, edge_margin_m=p.plan_edge_margin_m,
        min_spacing_m=p.plan_min_spacing_m, ha_per_plot=p.plan_ha_per_plot, max_per_unit=p.plan_max_per_unit,
        restoration=restoration, nodata=L1_NODATA, seed=p.plan_seed, method=p.plan_method)
    sheet, squares = plot_design.field_sheet(design, units.rio.crs)
    counts = plot_design.count_plots_per_unit(units, design["x"].to_numpy(), design["y"].to_numpy(),
                                              p.min_per_unit, nodata=L1_NODATA)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_vector(squares, out_dir / "plot_design.gpkg", layer="plot_squares")]
    centres = gpd.GeoDataFrame(sheet.copy(), geometry=gpd.points_from_xy(sheet["x"], sheet["y"]),
                               crs=units.rio.crs)
    written.append(write_vector(centres, out_dir / "plot_centres.gpkg", layer="plot_centres"))
    written.append(write_table(sheet, out_dir / "plot_design.csv"))
    if xlsx:
        written.append(_write_xlsx(sheet, out_dir / "plot_design.xlsx"))
    written.append(write_table(counts, out_dir / "plot_design_per_unit.csv"))
    short = counts[~counts["enough"]]
    return {"units_raster": str(upath), "n_plots": len(design), "n_units": int((counts["unit_l2"] > 0).sum()),
            "plot_size_m": float(design["size_m"].iloc[0]) if len(design) else None,
            "restoration_layers": rest_used,
            "per_unit": counts.to_dict(orient="records"),
            "units_short": short["unit_l2"].tolist(), "files": [str(w) for w in written]}


def check_plot_counts(cfg: ProjectConfig, sheet: Path | None = None) -> pd.DataFrame:
    """Plots of a sheet (default ``[inputs].plots``) per level-2 unit against ``[plots].min_per_unit``.

    Runs the ``units`` stage if it is not up to date.  See
    :func:`minecarbon.plot_design.count_plots_per_unit` for the columns.
    """
    path = Path(sheet) if sheet else cfg.path(cfg.inputs.plots)
    df = distinct_plots(read_plot_sheet(cfg, path, check_years=False))
    units, _ = _units_raster(cfg)
    return plot_design.count_plots_per_unit(units, df["x"].to_numpy(), df["y"].to_numpy(),
                                            cfg.plots.min_per_unit, nodata=L1_NODATA)

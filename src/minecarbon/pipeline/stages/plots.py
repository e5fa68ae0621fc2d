"""Stage `plots`."""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
from shapely.geometry import Point

from ... import plots
from ...allometry import AllometryTable
from ...config import ProjectConfig
from ...errors import InputError, MinecarbonWarning
from ...io import open_raster, read_table, write_table, write_vector
from ..core import Context, Output, Stage, register
from ._common import L1_NODATA

log = logging.getLogger(__name__)


def load_allometry(cfg: ProjectConfig) -> AllometryTable:
    overrides = {k: (v.value, v.source) for k, v in cfg.plots.carbon_fractions.items()}
    if cfg.plots.allometry:
        return AllometryTable.from_csv(cfg.path(cfg.plots.allometry), carbon_fractions=overrides)
    return AllometryTable.default(carbon_fractions=overrides)


def read_plot_sheet(cfg: ProjectConfig) -> pd.DataFrame:
    path = cfg.path(cfg.inputs.plots)
    df = read_table(path, plots.PLOT_COLUMNS, what="plot sheet")
    df["plot_id"] = df["plot_id"].astype(str)
    problems = []
    dup = df["plot_id"].duplicated(keep=False)
    if dup.any():
        problems.append(f"duplicate plot_id {sorted(set(df.loc[dup, 'plot_id']))} on line(s) "
                        f"{', '.join(str(i + 2) for i in np.flatnonzero(dup))}")
    yr = pd.to_numeric(df["survey_year"], errors="coerce")
    bad = yr.isna() | (yr < cfg.project.start_year) | (yr > cfg.project.end_year)
    if bad.any():
        problems.append(f"survey_year outside {cfg.project.start_year}-{cfg.project.end_year} on line(s) "
                        f"{', '.join(str(i + 2) for i in np.flatnonzero(bad))}")
    for c in ("x", "y", "size_m"):
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any():
            problems.append(f"{c} is not a number on line(s) "
                            f"{', '.join(str(i + 2) for i in np.flatnonzero(v.isna()))}")
        df[c] = v
    if problems:
        raise InputError(f"Plot sheet {path}: " + "; ".join(problems) + ". Correct these rows.")
    df["survey_year"] = yr.astype(int)
    return df


def _sample_raster(path, x: np.ndarray, y: np.ndarray, nodata: int = L1_NODATA) -> np.ndarray:
    with rasterio.open(path) as src:
        vals = np.array([v[0] for v in src.sample(list(zip(x, y)))])
    return np.where(vals == nodata, 0, vals)


def _run_plots(ctx: Context) -> None:
    cfg = ctx.cfg
    table = load_allometry(cfg)
    sheet = read_plot_sheet(cfg)
    tpath = cfg.path(cfg.inputs.trees)
    trees = plots.validate_trees(read_table(tpath, plots.TREE_COLUMNS, what="tree table"), sheet, str(tpath))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MinecarbonWarning)
        trees = plots.tree_carbon(trees, table, cfg.plots.dbh_out_of_range)
    for w in caught:
        log.warning("%s", w.message)
    res = plots.plot_carbon(sheet, trees, table, cfg.plots.dbh_error_cm, cfg.plots.height_error_rel,
                            cfg.plots.mc_draws, seed=cfg.model.seed)
    l1p = ctx.out("level1", stage="units")
    res["unit_l1"] = _sample_raster(l1p, res["x"].to_numpy(), res["y"].to_numpy())
    res["unit_l2"] = _sample_raster(ctx.out("level2", stage="units"), res["x"].to_numpy(), res["y"].to_numpy())
    ctx.produced(write_table(trees, ctx.out("trees")))
    ctx.produced(write_table(res, ctx.out("plots")))
    crs = cfg.project.crs or open_raster(cfg.year_path(cfg.images.path, cfg.project.base), chunks=None).rio.crs
    half = res["size_m"].to_numpy() / 2.0
    squares = [Point(x, y).buffer(h, cap_style=3) for x, y, h in zip(res["x"], res["y"], half)]
    ctx.produced(write_vector(gpd.GeoDataFrame(res, geometry=squares, crs=crs), ctx.out("plots_gpkg"),
                              layer="plots"))
    groups = sorted(set(trees["species_group"]))
    prov = table.provenance(groups)
    prov.insert(0, "table", table.name)
    ctx.produced(write_table(prov, ctx.out("allometry")))
    areas = pd.read_csv(ctx.out("areas", stage="units"))
    counts = res[res["unit_l2"] > 0].groupby("unit_l2").size()
    areas["n_plots"] = areas["unit_l2"].map(counts).fillna(0).astype(int)
    areas["enough_plots"] = areas["n_plots"] >= cfg.plots.min_per_unit
    short = areas[~areas["enough_plots"]]
    for _, r in short.iterrows():
        log.warning("unit %s (%s) has %d plot(s); the standard asks for at least %d", r["unit_l2"],
                    r["name_en"], r["n_plots"], cfg.plots.min_per_unit)
    ctx.produced(write_table(areas, ctx.out("counts")))


register(Stage(
    name="plots",
    about="Plot AGC from tree tallies with allometry, carbon fractions and Monte Carlo uncertainty",
    func=_run_plots,
    inputs=("inputs.plots", "inputs.trees", "plots.allometry", "images.path"),
    upstream=("units",),
    settings=("plots", "model"),
    outputs=(
        Output("trees", "trees_agc.csv", "kg, kg C", "Per-tree AGB (kg) and AGC (kg C) with the equation rows used"),
        Output("plots", "plots_agc.csv", "t C/ha", "Per-plot AGC density with Monte Carlo SD and 95 % interval"),
        Output("plots_gpkg", "plots_agc.gpkg", "t C/ha", "Plot squares with their AGC"),
        Output("allometry", "allometry_used.csv", "table", "Allometry rows and carbon fractions used, with sources"),
        Output("counts", "plots_per_unit.csv", "count", "Plots per assessment unit vs the minimum of the standard"),
    ),
))


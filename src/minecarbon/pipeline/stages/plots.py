"""Stage `plots`, and the project-level plot layout design and plot-count check.

The stage turns the plot sheet and the tree tally into plot AGC with Monte
Carlo uncertainty.  :func:`plan_plots` (``minecarbon plots plan``) proposes a
plot layout from the assessment units before the field work;
:func:`check_plot_counts` (``minecarbon plots check``) counts the plots of a
sheet per unit against the standard's minimum.
"""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from ... import plot_design, plots
from ...allometry import AllometryTable
from ...config import ProjectConfig
from ...errors import InputError, MinecarbonWarning
from ...inputs import TREE_SHEET
from ...io import open_raster, read_table, write_table, write_vector
from ...project.readers import distinct_plots, load_allometry, read_plot_sheet
from ..core import Context, Output, Stage
from ._common import L1_NODATA

log = logging.getLogger(__name__)

def _forest_type_names(cfg: ProjectConfig) -> dict[int, str]:
    return {int(v): k for k, v in cfg.forest_type_codes.model_dump().items()}


TLS_COMPARISON_COLUMNS = ("plot_id", "n_trees_tally", "n_trees_tls", "n_trees_tls_unusable", "agc_t_ha_tally",
                          "agc_sd_t_ha_tally", "agc_t_ha_tls", "agc_sd_t_ha_tls", "agc_diff_t_ha", "agc_diff_pct")


def _carbon(trees: pd.DataFrame, table: AllometryTable, cfg: ProjectConfig, source: str) -> pd.DataFrame:
    """Per-tree AGB/AGC, the allometry's warnings logged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MinecarbonWarning)
        out = plots.tree_carbon(trees, table, cfg.plots.dbh_out_of_range, source=source)
    for w in caught:
        log.warning("%s", w.message)
    return out


def _plot_agc(sheet: pd.DataFrame, trees: pd.DataFrame, table: AllometryTable, cfg: ProjectConfig) -> pd.DataFrame:
    return plots.plot_carbon(sheet, trees, table, cfg.plots.dbh_error_cm, cfg.plots.height_error_rel,
                             cfg.plots.mc_draws, seed=cfg.plots.mc_seed, residual_error=cfg.plots.residual_error)


def _tls_trees(ctx: Context, sheet: pd.DataFrame) -> tuple[pd.DataFrame, list[str], dict[str, int]]:
    """The lidar stage's in-plot trees of the scanned plots, ready for the allometry.

    Returns the usable trees (tree-table columns + ``qc``), the scanned plot
    ids, and per plot the number of scanned trees left out (no species or no
    usable height; each is logged).
    """
    lidar_plots = read_table(ctx.out("plots", stage="lidar"), ("plot_id",), what="TLS plot summary")
    scanned = sorted(set(lidar_plots["plot_id"].astype(str)))
    path = ctx.out("tree_table", stage="lidar")
    tls = read_table(path, plots.TREE_COLUMNS, what="TLS tree table")
    tls["plot_id"] = tls["plot_id"].astype(str)
    tls["species"] = tls["species"].fillna("").astype(str)
    for c in ("dbh_cm", "height_m"):
        tls[c] = pd.to_numeric(tls[c], errors="coerce")
    bad = (tls["species"].str.strip() == "") | ~np.isfinite(tls["height_m"]) | (tls["height_m"] <= plots.BREAST_HEIGHT_M)
    unusable = tls[bad].groupby("plot_id").size().to_dict()
    none_left = sorted(set(tls["plot_id"]) - set(tls.loc[~bad, "plot_id"]))
    if none_left:
        raise InputError(f"[plots].tree_source = \"tls\": no scanned tree of plot(s) {', '.join(none_left)} can be used "
                         f"(no species known, or no usable height; see {ctx.out('trees', stage='lidar')}), so their "
                         f"AGC would be 0. Give these plots a species: tree-table rows, a tape tally, or a "
                         f"dominant_species column in the plot sheet {ctx.cfg.path(ctx.cfg.inputs.plots)}.")
    for pid, n in sorted(unusable.items()):
        log.warning("TLS plot %s: %d scanned tree(s) without species or usable height are left out of the plot "
                    "AGC (see %s); give the plot a tally or tree-table rows so species can be assigned", pid, n,
                    ctx.out("trees", stage="lidar"))
    return tls[~bad].reset_index(drop=True), scanned, {str(k): int(v) for k, v in unusable.items()}


def _tls_comparison(sheet: pd.DataFrame, tally_carbon: pd.DataFrame, tls_carbon: pd.DataFrame, scanned: list[str],
                    unusable: dict[str, int], table: AllometryTable, cfg: ProjectConfig) -> pd.DataFrame:
    """Plot AGC of every scanned plot from the tree table and from the scan, and their difference."""
    sub = sheet[sheet["plot_id"].isin(scanned)].reset_index(drop=True)
    if len(sub) == 0:
        return pd.DataFrame(columns=list(TLS_COMPARISON_COLUMNS))
    tal = _plot_agc(sub, tally_carbon[tally_carbon["plot_id"].isin(scanned)], table, cfg).set_index("plot_id")
    tls = _plot_agc(sub, tls_carbon[tls_carbon["plot_id"].isin(scanned)], table, cfg).set_index("plot_id")
    n_tal = tally_carbon.groupby("plot_id").size()
    n_tls = tls_carbon.groupby("plot_id").size()
    rows = []
    for pid in sub["plot_id"]:
        a, b = float(tal.at[pid, "agc_t_ha"]), float(tls.at[pid, "agc_t_ha"])
        rows.append({"plot_id": pid, "n_trees_tally": int(n_tal.get(pid, 0)), "n_trees_tls": int(n_tls.get(pid, 0)),
                     "n_trees_tls_unusable": unusable.get(pid, 0),
                     "agc_t_ha_tally": a, "agc_sd_t_ha_tally": float(tal.at[pid, "agc_sd_t_ha"]),
                     "agc_t_ha_tls": b, "agc_sd_t_ha_tls": float(tls.at[pid, "agc_sd_t_ha"]),
                     "agc_diff_t_ha": b - a, "agc_diff_pct": 100.0 * (b - a) / a if a > 0 else np.nan})
    return pd.DataFrame(rows, columns=list(TLS_COMPARISON_COLUMNS))


def _run_plots(ctx: Context) -> None:
    cfg = ctx.cfg
    table = load_allometry(cfg)
    sheet = read_plot_sheet(cfg)
    tpath = cfg.path(cfg.inputs.trees)
    trees = TREE_SHEET.read(tpath, plot_ids=set(sheet["plot_id"])).reset_index(drop=True)
    trees = _carbon(trees, table, cfg, str(tpath))
    trees["tree_source"] = "tally"
    comparison = pd.DataFrame(columns=list(TLS_COMPARISON_COLUMNS))
    scanned: list[str] = []
    if cfg.plots.tree_source == "tls":
        tls, scanned, unusable = _tls_trees(ctx, sheet)
        src = str(ctx.out("tree_table", stage="lidar"))
        tls_carbon = _carbon(plots.validate_trees(tls, sheet, src), table, cfg, src)
        tls_carbon["tree_source"] = "tls"
        comparison = _tls_comparison(sheet, trees, tls_carbon, scanned, unusable, table, cfg)
        for _, r in comparison.iterrows():
            log.info("plot %s: AGC %.2f t C/ha from %d scanned trees, %.2f from %d tree-table trees (%+.1f %%)",
                     r["plot_id"], r["agc_t_ha_tls"], r["n_trees_tls"], r["agc_t_ha_tally"], r["n_trees_tally"],
                     r["agc_diff_pct"])
        trees = pd.concat([trees[~trees["plot_id"].isin(scanned)], tls_carbon], ignore_index=True)
    res = _plot_agc(sheet, trees, table, cfg)
    res["tree_source"] = np.where(res["plot_id"].isin(scanned), "tls", "tally")
    l1 = open_raster(ctx.out("level1", stage="units"), what="level-1 units", chunks=None, masked=False)
    l2 = open_raster(ctx.out("level2", stage="units"), what="level-2 units", chunks=None, masked=False)
    xs, ys = res["x"].to_numpy(), res["y"].to_numpy()
    res["unit_l1"] = plot_design.sample_units(l1, xs, ys, nodata=L1_NODATA)
    res["unit_l2"] = plot_design.sample_units(l2, xs, ys, nodata=L1_NODATA)
    ctx.produced(write_table(trees, ctx.out("trees")))
    ctx.produced(write_table(res, ctx.out("plots")))
    ctx.produced(write_table(plots.plot_carbon_by_group(res, trees), ctx.out("by_group")))
    ctx.produced(write_table(plots.summary_by_forest_type(res, names=_forest_type_names(cfg)),
                             ctx.out("by_forest_type")))
    crs = l2.rio.crs
    half = res["size_m"].to_numpy() / 2.0
    squares = [Point(x, y).buffer(h, cap_style=3) for x, y, h in zip(res["x"], res["y"], half)]
    ctx.produced(write_vector(gpd.GeoDataFrame(res, geometry=squares, crs=crs), ctx.out("plots_gpkg"),
                              layer="plots"))
    groups = sorted(set(trees["species_group"]))
    prov = table.provenance(groups)
    prov.insert(0, "table", table.name)
    ctx.produced(write_table(prov, ctx.out("allometry")))
    once = distinct_plots(res)
    counts = plot_design.count_plots_per_unit(l2, once["x"].to_numpy(), once["y"].to_numpy(),
                                              cfg.plots.min_per_unit, nodata=L1_NODATA)
    counts = counts[counts["unit_l2"] > 0].reset_index(drop=True)
    counts = counts.rename(columns={"enough": "enough_plots"})
    for _, r in counts[~counts["enough_plots"]].iterrows():
        log.warning("unit %s (%s) has %d plot(s); the standard asks for at least %d", r["unit_l2"],
                    r["name_en"], r["n_plots"], cfg.plots.min_per_unit)
    ctx.produced(write_table(counts, ctx.out("counts")))
    ctx.produced(write_table(comparison, ctx.out("tls_vs_tally")))


STAGE = Stage(
    name="plots",
    about="Plot AGC from tree tallies with allometry, carbon fractions and Monte Carlo uncertainty",
    func=_run_plots,
    inputs=("inputs.plots", "inputs.trees", "plots.allometry"),
    upstream=("units",),
    upstream_if=lambda cfg: ("lidar",) if cfg.plots.tree_source == "tls" else (),
    settings=("plots", "forest_type_codes"),
    outputs=(
        Output("trees", "trees_agc.csv", "kg, kg C", "Per-tree AGB (kg) and AGC (kg C) with the equation rows used"),
        Output("plots", "plots_agc.csv", "t C/ha", "Per-plot AGB/AGC with Monte Carlo mean, SD and 95 % interval"),
        Output("by_group", "plots_by_group.csv", "t C/ha", "AGB/AGC per plot and species group"),
        Output("by_forest_type", "plots_by_forest_type.csv", "t C/ha", "Plot AGC statistics per forest type"),
        Output("plots_gpkg", "plots_agc.gpkg", "t C/ha", "Plot squares with their AGC"),
        Output("allometry", "allometry_used.csv", "table", "Allometry rows and carbon fractions used, with sources"),
        Output("counts", "plots_per_unit.csv", "count", "Plots per assessment unit vs the minimum of the standard"),
        Output("tls_vs_tally", "plots_tls_vs_tally.csv", "t C/ha",
               "With [plots].tree_source = \"tls\": AGC of each scanned plot from its scanned trees and from the "
               "tree table, and the difference (empty otherwise)"),
    ),
)


# ---------------------------------------------------------------------------
# plot layout design and plot-count check (project level, not stages)
# ---------------------------------------------------------------------------

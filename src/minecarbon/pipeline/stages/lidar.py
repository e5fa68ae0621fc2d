"""Stage `lidar`: TLS plot scans -> tree lists, validation against the tape tally, TLS plot AGC;
airborne scans -> CHM, treetops and canopy metrics (:mod:`._als`).

For every scan matched by ``[inputs].tls`` (named ``<plot_id>.laz``):

1. :func:`minecarbon.lidar.process_tls_plot` gives the tree list in the
   scanner frame (settings from ``[lidar]``).
2. The tree list is georeferenced from the plot centre of the plot sheet.
   The scan is taken as levelled; by default the scanner stood at the plot
   centre and the scan's +y axis points to grid north.  ``[lidar].scan_positions``
   gives, per plot, the plot centre in the scan frame and the rotation of the
   scan (clockwise from its +y axis to grid north).  A tree is in the plot when
   its stem lies in the plot square (``size_m``, axis-aligned on the grid).
3. Species: a scanned tree matched to a tallied tree takes its species;
   other trees take the plot's dominant species (largest basal area) of the
   tally, or else of the tree table ``[inputs].trees``, or else the plot
   sheet's optional ``dominant_species`` column (plots only scanned).
4. Plots with a tally (``[inputs].tally``, positions ``x_local_m``,
   ``y_local_m`` in the scan frame) are validated: one-to-one matching by
   position and DBH, detection and commission rates, DBH and height bias,
   RMSE and rRMSE, and a scatter plot.
5. Plot AGC from the scanned trees (``height_used_m``; allometry and Monte
   Carlo as in the `plots` stage) and, where a tally exists, from the tally,
   with their difference.

``tls_trees_table.csv`` holds the in-plot scanned trees in the format of the
tree table (plot_id, tree_id, species, dbh_cm, height_m) so that the plot
stage can use scanned trees as the plot's tree list.
"""

from __future__ import annotations

import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ... import plots
from ...config import ProjectConfig
from ...errors import InputError, MinecarbonWarning
from ...inputs import TALLY_SHEET, TREE_SHEET
from ...inputs.pointclouds import TLS_SCAN
from ...io import write_table, write_vector
from ...io.atomic import atomic_path
from ...lidar import georeference, process_tls_plot, read_cloud
from ...lidar.validate import match_trees, paired_table, scatter_figure, validation_stats
from ...progress import track
from ...project.plans import tls_params
from ...project.readers import load_allometry, read_plot_sheet, read_scan_positions, scan_paths
from ..core import Context, Output, Stage
from ._als import OUTPUTS as ALS_OUTPUTS
from ._als import run_als, tile_counts, workers

TLS_BYTES_PER_POINT = 100
"""Peak memory per point of a TLS plot being processed, rounded up from ``benchmarks/results/lidar.md``
(1.7-1.8 GiB for 20.3 M points, interpreter included)."""


def tls_workers(paths: list[Path], available: int | None = None) -> int:
    """TLS plots processed at once: one per core, fewer when the largest scans would not fit side by side
    in half the available memory (point counts from the LAS headers)."""
    from ...memory import available_memory_bytes

    k = workers(len(paths))
    biggest = max(tile_counts(paths), default=0)
    available = available_memory_bytes() if available is None else available
    while k > 1 and available is not None and k * biggest * TLS_BYTES_PER_POINT > 0.5 * available:
        k -= 1
    return k

log = logging.getLogger(__name__)

TALLY_POSITION_COLUMNS = ("x_local_m", "y_local_m")


def assign_species(scanned: pd.DataFrame, tally: pd.DataFrame | None, pairs: pd.DataFrame | None,
                   fallback: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Species and its source for each scanned tree: the matched tally tree's, else ``fallback``."""
    species = np.full(len(scanned), fallback if fallback is not None else "", dtype=object)
    source = np.full(len(scanned), "plot_dominant" if fallback is not None else "unknown", dtype=object)
    if tally is not None and pairs is not None and len(pairs):
        species[pairs["det_index"].to_numpy()] = tally["species"].astype(str).to_numpy()[pairs["ref_index"].to_numpy()]
        source[pairs["det_index"].to_numpy()] = "tally_match"
    return species, source


def _plot_agc(sheet_row: pd.DataFrame, trees: pd.DataFrame, table, cfg: ProjectConfig,
              what: str) -> pd.Series | None:
    """AGC of one plot from a tree table (plot_id, tree_id, species, dbh_cm, height_m); None if impossible."""
    if len(trees) == 0:
        res = plots.plot_carbon(sheet_row, trees.assign(agb_kg=[], agc_kg=[], carbon_fraction=[],
                                                        species_group=[]), table, 0.0, 0.0, 10, 0)
        return res.iloc[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MinecarbonWarning)
        carbon = plots.tree_carbon(trees, table, cfg.plots.dbh_out_of_range)
    for w in caught:
        log.warning("%s: %s", what, w.message)
    res = plots.plot_carbon(sheet_row, carbon, table, cfg.plots.dbh_error_cm, cfg.plots.height_error_rel,
                            cfg.plots.mc_draws, seed=cfg.model.seed)
    return res.iloc[0]


def _run_lidar(ctx: Context) -> None:
    cfg = ctx.cfg
    scans = scan_paths(cfg)
    tree_rows: list[pd.DataFrame] = []
    plot_rows: list[dict] = []
    val_rows: list[dict] = []
    pair_rows: list[pd.DataFrame] = []
    table_rows: list[pd.DataFrame] = []
    crs = None
    sheet = read_plot_sheet(cfg) if scans or cfg.lidar.als else None
    if scans:
        table = load_allometry(cfg)
        crs = cfg.project.crs
        if crs is None:
            from ...io import open_raster

            crs = open_raster(cfg.year_path(cfg.images.path, cfg.project.base), chunks=None).rio.crs
        tally = None
        if cfg.inputs.tally:
            tpath = cfg.path(cfg.inputs.tally)
            tally = TALLY_SHEET.read(tpath)  # the tape tally's declared rules (inputs.TALLY_SHEET), as check
        ttable = None
        if cfg.inputs.trees and cfg.path(cfg.inputs.trees).is_file():
            ttable = TREE_SHEET.read(cfg.path(cfg.inputs.trees), plot_ids=set(sheet["plot_id"]))
        positions = read_scan_positions(cfg, list(scans))
        params = tls_params(cfg)
        items = list(scans.items())
        for plot_id, path in items:
            if not (sheet["plot_id"] == plot_id).any():
                raise InputError(f"TLS scan {path} is named after plot {plot_id!r}, which is not in the plot sheet "
                                 f"{cfg.path(cfg.inputs.plots)}. Name each scan <plot_id>.laz or add the plot.")
            TLS_SCAN.read(path)  # the scan's header rules (inputs.TLS_SCAN), as check

        def scan(i: int):
            """Trees and summary of one scan (the per-point arrays are dropped here: only these are kept)."""
            plot_id, path = items[i]
            row = sheet[sheet["plot_id"] == plot_id]
            sx, sy, _ = positions.get(plot_id, (0.0, 0.0, 0.0))
            what = f"TLS scan of plot {plot_id} ({path})"
            res = process_tls_plot(read_cloud(path, what=what), params, plot_size_m=float(row["size_m"].iloc[0]),
                                   plot_centre=(sx, sy), what=what)
            return res.trees, res.summary

        ctx.progress(f"TLS scans of {len(items)} plots")
        # plots are independent and single-threaded: one per core when the largest scans fit in memory side by
        # side; results in plot order (each plot's random draws are seeded by itself), so outputs do not depend
        # on scheduling
        with threadpool_limits(limits=1, user_api="blas"), \
                ThreadPoolExecutor(max_workers=tls_workers([p for _, p in items])) as pool:
            done = track(pool.map(scan, range(len(items))), "TLS scans", len(items), "plots")
            for (plot_id, path), (trees, summary) in zip(items, done):
                row = sheet[sheet["plot_id"] == plot_id]
                size = float(row["size_m"].iloc[0])
                cx, cy = float(row["x"].iloc[0]), float(row["y"].iloc[0])
                sx, sy, rot = positions.get(plot_id, (0.0, 0.0, 0.0))
                what = f"TLS scan of plot {plot_id} ({path})"
                # east/north offsets of each stem from the plot centre: the plot square is axis-aligned on the grid
                geo = georeference(trees, cx, cy, crs=crs, rotation_deg=rot, scanner_offset=(sx, sy))
                off = np.maximum(np.abs(geo["x"].to_numpy(dtype=float) - cx), np.abs(geo["y"].to_numpy(dtype=float) - cy))
                trees["in_plot"] = off <= size / 2.0
                geo["in_plot"] = trees["in_plot"].to_numpy()
                ptally = None
                if tally is not None:
                    ptally = tally[tally["plot_id"] == plot_id].reset_index(drop=True)
                    if len(ptally) == 0:
                        ptally = None
                pairs = None
                if ptally is not None:
                    missing = [c for c in TALLY_POSITION_COLUMNS if c not in ptally.columns]
                    if missing:
                        raise InputError(f"Tape tally {cfg.path(cfg.inputs.tally)} lacks column(s) {', '.join(missing)}; "
                                         f"TLS validation needs each tallied tree's position in the scan frame "
                                         f"(metres along the scan's x and y axes from the scanner). Add them.")
                    # scanned trees in the plot or within the matching distance of its edge may pair with
                    # tallied trees; commission counts only the scanned trees inside the plot
                    near = off <= size / 2.0 + 1.0
                    pairs = match_trees(ptally, trees[near].reset_index(drop=True))
                    pairs["det_index"] = np.flatnonzero(near)[pairs["det_index"].to_numpy()]
                    inplot = trees["in_plot"].to_numpy(dtype=bool)
                    st = validation_stats(ptally, trees, pairs, commission_mask=inplot)
                    st_ok = validation_stats(ptally, trees, pairs, qc_ok_only=True, commission_mask=inplot)
                    val_rows.append(_validation_row(plot_id, st, st_ok))
                    pt = paired_table(ptally, trees, pairs)
                    pt.insert(0, "plot_id", plot_id)
                    pair_rows.append(pt)
                fallback = plots.dominant_species(ptally) if ptally is not None else None
                if fallback is None and ttable is not None:
                    fallback = plots.dominant_species(ttable[ttable["plot_id"] == plot_id])
                if fallback is None and "dominant_species" in row.columns:
                    sp = str(row["dominant_species"].iloc[0]).strip() if pd.notna(row["dominant_species"].iloc[0]) else ""
                    fallback = sp or None
                species, source = assign_species(trees, ptally, pairs, fallback)
                geo.insert(0, "plot_id", plot_id)
                geo["species"] = species
                geo["species_source"] = source
                tree_rows.append(geo)
                inplot = geo[geo["in_plot"].astype(bool)]
                as_table = pd.DataFrame({"plot_id": plot_id, "tree_id": inplot["tree_id"].to_numpy(),
                                         "species": inplot["species"].to_numpy(),
                                         "dbh_cm": inplot["dbh_cm"].to_numpy(dtype=float),
                                         "height_m": inplot["height_used_m"].to_numpy(dtype=float),
                                         "height_source": inplot["height_used_source"].to_numpy(),
                                         "qc": inplot["qc"].to_numpy()})
                table_rows.append(as_table)
                _check_plausible(cfg, as_table, ptally if ptally is not None else (
                    ttable[ttable["plot_id"] == plot_id] if ttable is not None else None),
                    what, "tape tally" if ptally is not None else "tree table")
                prow = {"plot_id": plot_id, "scan": str(path), "points": summary["points"],
                        "ground_method": summary["ground_method"], "trees_detected": len(trees),
                        "trees_in_plot": len(inplot), "trees_in_plot_qc_ok": int((inplot["qc"] == "ok").sum()),
                        "rejected_candidates": summary["rejected_candidates"], "size_m": size}
                usable = as_table[np.isfinite(as_table["height_m"]) & (as_table["height_m"] > 1.3)
                                  & (as_table["species"] != "")]
                if len(usable) < len(as_table):
                    log.warning("%s: %d in-plot tree(s) without species or usable height are left out of the TLS AGC",
                                what, len(as_table) - len(usable))
                if fallback is None and len(as_table):
                    log.warning("%s: no species known for the plot (no tally, no tree-table rows, no dominant_species "
                                "in the plot sheet); TLS AGC not computed", what)
                    prow.update(agc_t_ha_tls=np.nan, agc_sd_t_ha_tls=np.nan)
                else:
                    r = _plot_agc(row, usable[list(plots.TREE_COLUMNS)], table, cfg, what)
                    prow.update(agc_t_ha_tls=float(r["agc_t_ha"]), agc_sd_t_ha_tls=float(r["agc_sd_t_ha"]))
                if ptally is not None:
                    r = _plot_agc(row, ptally[list(plots.TREE_COLUMNS)], table, cfg, f"tally of plot {plot_id}")
                    prow.update(agc_t_ha_tally=float(r["agc_t_ha"]), agc_sd_t_ha_tally=float(r["agc_sd_t_ha"]))
                    tls_v, tal_v = prow["agc_t_ha_tls"], prow["agc_t_ha_tally"]
                    prow["agc_diff_t_ha"] = tls_v - tal_v
                    prow["agc_diff_pct"] = 100.0 * (tls_v - tal_v) / tal_v if tal_v else np.nan
                    from ...lidar.plausibility import agc_plausibility

                    _raise_implausible(cfg, agc_plausibility(tls_v, tal_v, what))
                plot_rows.append(prow)
    # write (empty tables with headers when there are no scans)
    trees_all = (pd.concat(tree_rows, ignore_index=True) if tree_rows
                 else gpd.GeoDataFrame({"plot_id": pd.Series(dtype=str)}, geometry=gpd.points_from_xy([], []),
                                       crs=crs))
    ctx.produced(write_table(pd.DataFrame(trees_all.drop(columns="geometry")), ctx.out("trees")))
    if len(trees_all):
        ctx.produced(write_vector(gpd.GeoDataFrame(trees_all, geometry="geometry", crs=trees_all.crs),
                                  ctx.out("trees_gpkg"), layer="tls_trees"))
    ctx.produced(write_table(pd.concat(table_rows, ignore_index=True) if table_rows else
                             pd.DataFrame(columns=list(plots.TREE_COLUMNS) + ["height_source", "qc"]),
                             ctx.out("tree_table")))
    ctx.produced(write_table(pd.DataFrame(plot_rows) if plot_rows else
                             pd.DataFrame(columns=["plot_id", "agc_t_ha_tls", "agc_t_ha_tally", "agc_diff_t_ha"]),
                             ctx.out("plots")))
    ctx.produced(write_table(pd.DataFrame(val_rows) if val_rows else
                             pd.DataFrame(columns=["plot_id", "detection_rate", "commission_rate"]),
                             ctx.out("validation")))
    pairs_all = pd.concat(pair_rows, ignore_index=True) if pair_rows else pd.DataFrame(
        columns=["plot_id", "ref_tree_id", "det_tree_id", "status"])
    ctx.produced(write_table(pairs_all, ctx.out("pairs")))
    if pair_rows:
        fig = scatter_figure(pairs_all, title="TLS vs tape tally (" + ", ".join(r["plot_id"] for r in val_rows) + ")")
        with atomic_path(ctx.out("scatter")) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
        ctx.produced(ctx.out("scatter"))
    run_als(ctx, sheet)


def _validation_row(plot_id: str, st: dict, st_ok: dict) -> dict:
    row = {"plot_id": plot_id, "n_tally": st["n_reference"], "n_tls": st["n_detected"], "n_matched": st["n_matched"],
           "detection_rate": st["detection_rate"], "commission_rate": st["commission_rate"]}
    for name, unit in (("dbh_cm", "cm"), ("height_m", "m")):
        for tag, s in (("", st), ("_qc_ok", st_ok)):
            e = s.get(name, {})
            short = name.split("_")[0]
            row[f"{short}_n{tag}"] = e.get("n", 0)
            row[f"{short}_bias_{unit}{tag}"] = e.get("bias", np.nan)
            row[f"{short}_rmse_{unit}{tag}"] = e.get("rmse", np.nan)
            row[f"{short}_rrmse_pct{tag}"] = e.get("rrmse_pct", np.nan)
    return row


def _check_plausible(cfg: ProjectConfig, scanned: pd.DataFrame, reference: pd.DataFrame | None, what: str,
                     reference_name: str) -> None:
    """Implausible scans (feet, cut) stop the stage unless [check].accept lists "tls-plausibility"."""
    from ...lidar.plausibility import tls_plausibility

    _raise_implausible(cfg, tls_plausibility(scanned, reference, what, reference_name))


def _raise_implausible(cfg: ProjectConfig, problems: list[str]) -> None:
    if not problems:
        return
    if "tls-plausibility" in cfg.check.accept:
        for p in problems:
            log.warning("%s (accepted: [check].accept has \"tls-plausibility\")", p)
        return
    raise InputError(" ".join(problems) + " If the scan is right, accept it in the project file: [check] accept = "
                     "[\"tls-plausibility\"].")


STAGE = Stage(
    name="lidar",
    about="TLS scans -> tree lists (DBH, height, QC), validation against the tape tally, TLS plot AGC; "
          "ALS -> CHM, treetops, canopy metrics on the project grid",
    func=_run_lidar,
    inputs=("inputs.tls", "inputs.tally", "inputs.plots", "inputs.trees", "plots.allometry", "images.path",
            "lidar.scan_positions", "lidar.als", "area.boundary"),
    settings=("inputs", "plots", "model", "lidar"),
    outputs=(
        Output("trees", "tls_trees.csv", "cm, m", "Scanned trees of every plot: position, DBH, height, QC flags"),
        Output("trees_gpkg", "tls_trees.gpkg", "cm, m", "Scanned trees as points in the project CRS"),
        Output("tree_table", "tls_trees_table.csv", "cm, m",
               "In-plot scanned trees in the tree-table format (plot_id, tree_id, species, dbh_cm, height_m)"),
        Output("plots", "tls_plots.csv", "t C/ha", "Per scan: trees found, TLS plot AGC and, with a tally, "
               "the tally AGC and the difference"),
        Output("validation", "tls_validation.csv", "cm, m, %", "TLS vs tape tally: detection, commission, DBH and "
               "height bias, RMSE, rRMSE (all matched trees and QC-ok trees)"),
        Output("pairs", "tls_pairs.csv", "cm, m", "Matched, omitted and committed trees of the validation plots"),
        Output("scatter", "tls_validation.png", "figure", "Scatter of TLS vs tally DBH and height"),
    ) + ALS_OUTPUTS,
)

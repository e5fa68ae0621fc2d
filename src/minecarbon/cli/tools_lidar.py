"""``minecarbon tool tls | tls-validate | chm | treetops | canopy-metrics``: laser-scanning tools.

Each command parses its arguments, calls :mod:`minecarbon.tools.lidar` and prints its summary.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..tools.lidar import (run_canopy_metrics_tool, run_chm_tool, run_tls_tool, run_tls_validate_tool,
                           run_treetops_tool)
from .main import handle_errors, tool
from .options import json_option


def _echo(summary: dict, as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=float))
    else:
        for line in lines:
            click.echo(line)


def _stats_lines(st: dict, label: str) -> list[str]:
    lines = [(f"{label}: {st['n_matched']} of {st['n_reference']} tallied trees matched "
              f"(detection {100 * st['detection_rate']:.1f} %, commission {100 * st['commission_rate']:.1f} %)")]
    for name, unit in (("dbh_cm", "cm"), ("height_m", "m")):
        e = st.get(name)
        if e and e["n"]:
            lines.append(f"  {name.split('_')[0].upper():<6} n={e['n']:<4} bias {e['bias']:+.2f} {unit}  "
                         f"RMSE {e['rmse']:.2f} {unit}  rRMSE {e['rrmse_pct']:.1f} %")
    return lines


@tool.command("tls")
@click.argument("plot_laz", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tally", type=click.Path(dir_okay=False, path_type=Path),
              help="Tape tally CSV (tree_id, dbh_cm, height_m, x_local_m, y_local_m) to validate against.")
@click.option("--plot-id", help="Plot of the tally to use (when the tally holds several plots).")
@click.option("--plot-size", type=float, help="Side (m) of the square plot centred on the scanner; marks in_plot.")
@click.option("--ground", type=click.Choice(["csf", "pmf"]), default="csf", show_default=True,
              help="Ground filter: cloth simulation or progressive morphological filter.")
@click.option("--band", nargs=2, type=float, default=(1.0, 1.6), show_default=True,
              help="Height band (m) for stem detection and DBH.")
@click.option("--labelled", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the scan with classification (2 ground) and a tree_id extra dimension.")
@click.option("--centre", nargs=2, type=float, help="Plot centre X Y in --crs, for a GeoPackage OUT.")
@click.option("--crs", help="CRS of --centre (e.g. EPSG:32649), for a GeoPackage OUT.")
@click.option("--rotation", type=float, default=0.0, show_default=True,
              help="Clockwise angle (deg) from the scan's +y axis to grid north, for a GeoPackage OUT.")
@click.option("--max-distance", type=float, default=1.0, show_default=True,
              help="Largest distance (m) between a scanned and a tallied tree of a pair.")
@json_option
@handle_errors
def tls_cmd(plot_laz: Path, out: Path, tally: Path | None, plot_id: str | None, plot_size: float | None,
            ground: str, band: tuple[float, float], labelled: Path | None, centre, crs: str | None,
            rotation: float, max_distance: float, as_json: bool) -> None:
    """Tree list (DBH, height, QC) of a terrestrial scan of a plot.

    OUT is a CSV (scanner coordinates) or a GeoPackage (with --centre/--crs).
    With --tally, also writes OUT_pairs.csv and OUT_validation.png and prints
    detection, commission, and DBH / height bias and RMSE.
    """
    summary = run_tls_tool(plot_laz, out, tally, plot_id, plot_size, ground, band, labelled, centre, crs, rotation,
                           max_distance)
    lines = [f"{summary['trees']} trees ({summary['trees_qc_ok']} QC ok) from {summary['points']:,} points -> {out}"]
    if labelled is not None:
        lines.append(f"Labelled scan -> {labelled}")
    if tally is not None:
        v = summary["validation"]
        lines += _stats_lines(v["all_matched"], "Validation") + _stats_lines(v["qc_ok_matched"], "QC-ok trees")
        lines.append("Pairs and scatter plot -> " + ", ".join(v["files"]))
    _echo(summary, as_json, lines)


@tool.command("tls-validate")
@click.argument("trees_csv", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("tally_csv", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_prefix", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plot-id", help="Plot of the tally (and of TREES_CSV, if it has a plot_id column).")
@click.option("--max-distance", type=float, default=1.0, show_default=True,
              help="Largest distance (m) between a scanned and a tallied tree of a pair.")
@json_option
@handle_errors
def tls_validate_cmd(trees_csv: Path, tally_csv: Path, out_prefix: Path, plot_id: str | None,
                     max_distance: float, as_json: bool) -> None:
    """Validate a TLS tree list against a tape tally (每木检尺).

    Trees are matched one to one by position (x, y in the scan frame vs the
    tally's x_local_m, y_local_m) and DBH.  Writes OUT_PREFIX_pairs.csv and
    OUT_PREFIX_validation.png; prints detection, commission and DBH / height
    bias, RMSE and rRMSE.
    """
    v = run_tls_validate_tool(trees_csv, tally_csv, out_prefix, plot_id, max_distance)
    lines = _stats_lines(v["all_matched"], "Validation") + _stats_lines(v["qc_ok_matched"], "QC-ok trees")
    lines.append("Pairs and scatter plot -> " + ", ".join(v["files"]))
    _echo(v, as_json, lines)


@tool.command("chm")
@click.argument("cloud_laz", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_tif", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--resolution", type=float, required=True, help="Cell size (m).")
@click.option("--subcircle", type=float, default=0.0, show_default=True,
              help="Replace each return by a small disc of this radius (m) to close gaps.")
@click.option("--no-pit-fill", is_flag=True, help="Keep pits and empty cells (no median pit filling).")
@click.option("--pit-threshold", type=float, default=1.0, show_default=True, help="Pit depth (m).")
@click.option("--ground", type=click.Choice(["csf", "pmf"]), default="csf", show_default=True,
              help="Ground filter when the cloud has no ground class (2).")
@click.option("--reclassify-ground", is_flag=True, help="Ignore class 2 and classify the ground again.")
@click.option("--crs", help="CRS to assume when the file has none (e.g. EPSG:32649).")
@click.option("--dtm", "dtm_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the terrain model used (GeoTIFF).")
@json_option
@handle_errors
def chm_cmd(cloud_laz: Path, out_tif: Path, resolution: float, subcircle: float, no_pit_fill: bool,
            pit_threshold: float, ground: str, reclassify_ground: bool, crs: str | None, dtm_out: Path | None,
            as_json: bool) -> None:
    """Canopy height model (m) of an airborne (or terrestrial) point cloud, as a COG."""
    summary = run_chm_tool(cloud_laz, out_tif, resolution, subcircle, not no_pit_fill, pit_threshold, ground,
                           reclassify_ground, crs, dtm_out)
    shape = summary["shape"]
    _echo(summary, as_json, [(f"CHM {shape[1]} x {shape[0]} cells of {resolution} m, highest "
                              f"{summary['max_height_m']:.1f} m -> {out_tif}")])


@tool.command("treetops")
@click.argument("chm_tif", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_gpkg", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--window-slope", type=float, default=0.07, show_default=True,
              help="Window radius (m) = slope x height (m) + intercept.")
@click.option("--window-intercept", type=float, default=0.8, show_default=True, help="See --window-slope (m).")
@click.option("--min-height", type=float, default=2.0, show_default=True, help="Lowest treetop height (m).")
@click.option("--radius-convention", type=click.Choice(["exact", "forest_tools"]), default="exact",
              show_default=True, help="'forest_tools' rounds radii to whole cells as ForestTools::vwf does.")
@json_option
@handle_errors
def treetops_cmd(chm_tif: Path, out_gpkg: Path, window_slope: float, window_intercept: float, min_height: float,
                 radius_convention: str, as_json: bool) -> None:
    """Treetops (points with height_m) of a canopy height model by a variable-window filter."""
    summary = run_treetops_tool(chm_tif, out_gpkg, window_slope, window_intercept, min_height, radius_convention)
    _echo(summary, as_json, [f"{summary['treetops']} treetops -> {out_gpkg}"])


@tool.command("canopy-metrics")
@click.argument("cloud_laz", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("template_tif", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_tif", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--metrics", default="max,mean,std,p25,p50,p75,p90,p95,cover_2m,count", show_default=True,
              help="Comma-separated metrics.")
@click.option("--cover-threshold", type=float, default=2.0, show_default=True,
              help="Height (m) above which a return counts as canopy cover.")
@click.option("--ground", type=click.Choice(["csf", "pmf"]), default="csf", show_default=True)
@json_option
@handle_errors
def canopy_metrics_cmd(cloud_laz: Path, template_tif: Path, out_tif: Path, metrics: str, cover_threshold: float,
                       ground: str, as_json: bool) -> None:
    """Pixel canopy metrics of a point cloud on the grid of TEMPLATE_TIF (e.g. the project image)."""
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    summary = run_canopy_metrics_tool(cloud_laz, template_tif, out_tif, names, cover_threshold, ground)
    _echo(summary, as_json, [f"{len(names)} canopy metrics -> {out_tif}"])

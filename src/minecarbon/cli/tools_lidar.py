"""``minecarbon tool tls | tls-validate | chm | treetops | canopy-metrics``: laser-scanning tools.

Each command parses its arguments and calls the library (:mod:`minecarbon.lidar`).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .main import handle_errors, tool
from .options import json_option


def _no_overwrite_input(out: Path, *inputs: Path) -> None:
    from ..errors import InputError

    for p in inputs:
        if p is not None and Path(out).resolve() == Path(p).resolve():
            raise InputError(f"The output {out} is the input file; choose another output path "
                             f"(inputs are never overwritten).")


def _echo(summary: dict, as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=float))
    else:
        for line in lines:
            click.echo(line)


def _write_trees(trees, out: Path, crs=None, centre: tuple[float, float] | None = None,
                 rotation: float = 0.0) -> None:
    from ..io import write_table, write_vector
    from ..lidar import georeference

    if out.suffix.lower() in (".gpkg", ".geojson", ".shp"):
        cx, cy = centre if centre is not None else (0.0, 0.0)
        write_vector(georeference(trees, cx, cy, crs=crs, rotation_deg=rotation), out, layer="trees")
    else:
        write_table(trees, out)


def _stats_lines(st: dict, label: str) -> list[str]:
    lines = [(f"{label}: {st['n_matched']} of {st['n_reference']} tallied trees matched "
              f"(detection {100 * st['detection_rate']:.1f} %, commission {100 * st['commission_rate']:.1f} %)")]
    for name, unit in (("dbh_cm", "cm"), ("height_m", "m")):
        e = st.get(name)
        if e and e["n"]:
            lines.append(f"  {name.split('_')[0].upper():<6} n={e['n']:<4} bias {e['bias']:+.2f} {unit}  "
                         f"RMSE {e['rmse']:.2f} {unit}  rRMSE {e['rrmse_pct']:.1f} %")
    return lines


def _validate(trees, tally_path: Path, plot_id: str | None, max_distance: float, prefix: Path) -> dict:
    """Match, compute statistics, write ``<prefix>_pairs.csv`` and ``<prefix>_validation.png``."""
    import pandas as pd

    from ..errors import InputError
    from ..io import read_table, write_table
    from ..io.atomic import atomic_path
    from ..lidar.validate import match_trees, paired_table, scatter_figure, validation_stats

    tally = read_table(tally_path, ("tree_id", "dbh_cm", "height_m", "x_local_m", "y_local_m"), what="tape tally")
    if plot_id is not None:
        if "plot_id" not in tally.columns:
            raise InputError(f"--plot-id given but the tally {tally_path} has no plot_id column.")
        tally = tally[tally["plot_id"].astype(str) == str(plot_id)].reset_index(drop=True)
        if len(tally) == 0:
            raise InputError(f"The tally {tally_path} has no tree of plot {plot_id!r}. Check --plot-id.")
    elif "plot_id" in tally.columns and tally["plot_id"].astype(str).nunique() > 1:
        raise InputError(f"The tally {tally_path} holds several plots "
                         f"({', '.join(sorted(tally['plot_id'].astype(str).unique())[:6])}); choose one with --plot-id.")
    for c in ("dbh_cm", "height_m"):
        tally[c] = pd.to_numeric(tally[c], errors="coerce")
    in_plot = trees["in_plot"].astype(str).str.lower().isin(("true", "1")).to_numpy() if "in_plot" in trees else None
    pairs = match_trees(tally, trees, max_distance_m=max_distance)
    st = validation_stats(tally, trees, pairs, commission_mask=in_plot)
    st_ok = validation_stats(tally, trees, pairs, qc_ok_only=True, commission_mask=in_plot)
    pt = paired_table(tally, trees, pairs)
    write_table(pt, prefix.with_name(prefix.name + "_pairs.csv"))
    fig = scatter_figure(pt, title=f"TLS vs tape tally{' - plot ' + str(plot_id) if plot_id else ''}")
    png = prefix.with_name(prefix.name + "_validation.png")
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    return {"all_matched": st, "qc_ok_matched": st_ok,
            "files": [str(prefix.with_name(prefix.name + "_pairs.csv")), str(png)]}


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
    import dataclasses

    from ..lidar import TLSParams, process_tls_plot, read_cloud, write_cloud
    from ..lidar.stems import StemParams

    _no_overwrite_input(out, plot_laz)
    if tally is not None and not tally.is_file():
        from ..errors import MissingInputError

        raise MissingInputError(f"Tape tally {tally} does not exist. Check the --tally path.")
    if labelled is not None:
        _no_overwrite_input(labelled, plot_laz)
    params = TLSParams(ground_method=ground, stems=dataclasses.replace(StemParams(), band_m=tuple(band)))
    cloud = read_cloud(plot_laz, what="TLS scan")
    res = process_tls_plot(cloud, params, plot_size_m=plot_size, label=labelled is not None, what=f"TLS scan {plot_laz}")
    _write_trees(res.trees, out, crs=crs, centre=centre, rotation=rotation)
    summary = dict(res.summary)
    summary["output"] = str(out)
    lines = [f"{len(res.trees)} trees ({summary['trees_qc_ok']} QC ok) from {len(cloud):,} points -> {out}"]
    if labelled is not None:
        import numpy as np

        cls = np.zeros(len(cloud), dtype=np.uint8)
        cls[np.abs(res.hag) <= 0.15] = 2
        write_cloud(labelled, cloud, extra={"tree_id": res.labels.astype(np.uint32)}, classification=cls)
        summary["labelled"] = str(labelled)
        lines.append(f"Labelled scan -> {labelled}")
    if tally is not None:
        v = _validate(res.trees, tally, plot_id, max_distance, out.with_suffix(""))
        summary["validation"] = v
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
    from ..errors import InputError
    from ..io import read_table

    trees = read_table(trees_csv, ("x", "y", "dbh_cm"), what="TLS tree list")
    if "x_local_m" in trees.columns and "y_local_m" in trees.columns:  # a georeferenced list: use the scan frame
        trees = trees.assign(x=trees["x_local_m"], y=trees["y_local_m"])
    if plot_id is not None and "plot_id" in trees.columns:
        trees = trees[trees["plot_id"].astype(str) == str(plot_id)].reset_index(drop=True)
        if len(trees) == 0:
            raise InputError(f"The tree list {trees_csv} has no tree of plot {plot_id!r}.")
    v = _validate(trees, tally_csv, plot_id, max_distance, out_prefix)
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
    import numpy as np

    from ..errors import CRSError
    from ..io import write_raster
    from ..lidar import canopy_height_model, normalize_heights, read_cloud

    _no_overwrite_input(out_tif, cloud_laz)
    cloud = read_cloud(cloud_laz, crs=crs)
    if cloud.crs is None:
        raise CRSError(f"{cloud_laz} has no CRS, and a GeoTIFF needs one. Give it with --crs (e.g. --crs EPSG:32649).")
    hag, dtm = normalize_heights(cloud, use_classification=not reclassify_ground, ground_method=ground,
                                 ground_cell_m=max(1.0, resolution), what=str(cloud_laz))
    chm = canopy_height_model(cloud, resolution, hag=hag, subcircle_m=subcircle, pit_fill=not no_pit_fill,
                              pit_threshold_m=pit_threshold, what=str(cloud_laz))
    write_raster(chm, out_tif, band_names=["canopy_height"], units="m")
    summary = {"output": str(out_tif), "shape": list(chm.shape), "resolution_m": resolution,
               "max_height_m": float(np.nanmax(chm.values)), "points": len(cloud)}
    if dtm_out is not None:
        _no_overwrite_input(dtm_out, cloud_laz)
        write_raster(dtm.to_dataarray(), dtm_out, band_names=["elevation"], units="m")
        summary["dtm"] = str(dtm_out)
    _echo(summary, as_json, [(f"CHM {chm.shape[1]} x {chm.shape[0]} cells of {resolution} m, highest "
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
    from ..io import open_raster, write_vector
    from ..lidar import find_treetops

    _no_overwrite_input(out_gpkg, chm_tif)
    chm = open_raster(chm_tif, what="canopy height model", chunks=None).isel(band=0)
    tops = find_treetops(chm, window_slope, window_intercept, min_height, radius_convention)
    write_vector(tops, out_gpkg, layer="treetops")
    summary = {"output": str(out_gpkg), "treetops": len(tops),
               "mean_height_m": float(tops["height_m"].mean()) if len(tops) else None}
    _echo(summary, as_json, [f"{len(tops)} treetops -> {out_gpkg}"])


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
    from ..errors import CRSError
    from ..io import open_raster, write_raster
    from ..lidar import normalize_heights, pixel_metrics, read_cloud

    _no_overwrite_input(out_tif, cloud_laz, template_tif)
    tmpl = open_raster(template_tif, what="template grid", chunks=None).isel(band=0)
    cloud = read_cloud(cloud_laz, crs=tmpl.rio.crs)
    if cloud.crs is None or not cloud.crs.equals(tmpl.rio.crs):
        raise CRSError(f"{cloud_laz} ({getattr(cloud.crs, 'name', 'no CRS')}) is not in the CRS of the template "
                       f"{template_tif} ({tmpl.rio.crs}). Reproject the cloud first.")
    hag, _ = normalize_heights(cloud, ground_method=ground, what=str(cloud_laz))
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    da = pixel_metrics(cloud.x, cloud.y, hag, tmpl, names, cover_threshold_m=cover_threshold,
                       return_number=cloud.fields.get("return_number"))
    write_raster(da, out_tif, band_names=names)
    _echo({"output": str(out_tif), "metrics": names}, as_json, [f"{len(names)} canopy metrics -> {out_tif}"])

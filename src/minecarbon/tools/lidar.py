"""The laser-scanning tools on files: TLS tree lists (and their validation), CHM, treetops, canopy metrics.

Each ``run_*_tool`` reads its inputs, calls :mod:`minecarbon.lidar`, writes
its outputs and returns a summary (a dict). ``minecarbon tool tls |
tls-validate | chm | treetops | canopy-metrics`` (:mod:`minecarbon.cli.tools_lidar`)
only parses options and prints it.
"""

from __future__ import annotations

from pathlib import Path


def no_overwrite_input(out: Path, *inputs: Path) -> None:
    """Raise :class:`InputError` when ``out`` is one of ``inputs`` (inputs are never overwritten)."""
    from ..errors import InputError

    for p in inputs:
        if p is not None and Path(out).resolve() == Path(p).resolve():
            raise InputError(f"The output {out} is the input file; choose another output path "
                             f"(inputs are never overwritten).")


def write_trees(trees, out: Path, crs=None, centre: tuple[float, float] | None = None,
                rotation: float = 0.0) -> None:
    """Write a tree list as a table (scanner coordinates) or, for .gpkg/.geojson/.shp, georeferenced points."""
    from ..io import write_table, write_vector
    from ..lidar import georeference

    if out.suffix.lower() in (".gpkg", ".geojson", ".shp"):
        cx, cy = centre if centre is not None else (0.0, 0.0)
        write_vector(georeference(trees, cx, cy, crs=crs, rotation_deg=rotation), out, layer="trees")
    else:
        write_table(trees, out)


def validate_tls(trees, tally_path: Path, plot_id: str | None, max_distance: float, prefix: Path) -> dict:
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


def run_tls_tool(plot_laz: Path, out: Path, tally: Path | None = None, plot_id: str | None = None,
                 plot_size: float | None = None, ground: str = "csf", band: tuple[float, float] = (1.0, 1.6),
                 labelled: Path | None = None, centre=None, crs: str | None = None, rotation: float = 0.0,
                 max_distance: float = 1.0) -> dict:
    """Tree list (DBH, height, QC) of a terrestrial scan of a plot, written to ``out``; returns the summary.

    ``out`` is a CSV (scanner coordinates) or a GeoPackage (with ``centre``/``crs``).
    With ``tally``, also writes ``<out stem>_pairs.csv`` and ``<out stem>_validation.png``
    and adds the validation statistics under ``"validation"``.
    """
    import dataclasses

    from ..lidar import TLSParams, process_tls_plot, read_cloud, write_cloud
    from ..lidar.stems import StemParams

    plot_laz, out = Path(plot_laz), Path(out)
    no_overwrite_input(out, plot_laz)
    if tally is not None and not Path(tally).is_file():
        from ..errors import MissingInputError

        raise MissingInputError(f"Tape tally {tally} does not exist. Check the --tally path.")
    if labelled is not None:
        no_overwrite_input(labelled, plot_laz)
    params = TLSParams(ground_method=ground, stems=dataclasses.replace(StemParams(), band_m=tuple(band)))
    cloud = read_cloud(plot_laz, what="TLS scan")
    res = process_tls_plot(cloud, params, plot_size_m=plot_size, label=labelled is not None, what=f"TLS scan {plot_laz}")
    write_trees(res.trees, out, crs=crs, centre=centre, rotation=rotation)
    summary = dict(res.summary)
    summary["output"] = str(out)
    if labelled is not None:
        import numpy as np

        cls = np.zeros(len(cloud), dtype=np.uint8)
        cls[np.abs(res.hag) <= 0.15] = 2
        write_cloud(labelled, cloud, extra={"tree_id": res.labels.astype(np.uint32)}, classification=cls)
        summary["labelled"] = str(labelled)
    if tally is not None:
        summary["validation"] = validate_tls(res.trees, tally, plot_id, max_distance, out.with_suffix(""))
    return summary


def run_tls_validate_tool(trees_csv: Path, tally_csv: Path, out_prefix: Path, plot_id: str | None = None,
                          max_distance: float = 1.0) -> dict:
    """Validate a TLS tree list against a tape tally (每木检尺); returns the statistics and the files written.

    Trees are matched one to one by position (x, y in the scan frame vs the
    tally's x_local_m, y_local_m) and DBH.  Writes ``<out_prefix>_pairs.csv`` and
    ``<out_prefix>_validation.png``.
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
    return validate_tls(trees, tally_csv, plot_id, max_distance, Path(out_prefix))


def run_chm_tool(cloud_laz: Path, out_tif: Path, resolution: float, subcircle: float = 0.0,
                 pit_fill: bool = True, pit_threshold: float = 1.0, ground: str = "csf",
                 reclassify_ground: bool = False, crs: str | None = None, dtm_out: Path | None = None) -> dict:
    """Canopy height model (m) of a point cloud written as a COG (and the terrain model to ``dtm_out``)."""
    import numpy as np

    from ..errors import CRSError
    from ..io import write_raster
    from ..lidar import canopy_height_model, normalize_heights, read_cloud

    no_overwrite_input(out_tif, cloud_laz)
    cloud = read_cloud(cloud_laz, crs=crs)
    if cloud.crs is None:
        raise CRSError(f"{cloud_laz} has no CRS, and a GeoTIFF needs one. Give it with --crs (e.g. --crs EPSG:32649).")
    hag, dtm = normalize_heights(cloud, use_classification=not reclassify_ground, ground_method=ground,
                                 ground_cell_m=max(1.0, resolution), what=str(cloud_laz))
    chm = canopy_height_model(cloud, resolution, hag=hag, subcircle_m=subcircle, pit_fill=pit_fill,
                              pit_threshold_m=pit_threshold, what=str(cloud_laz))
    write_raster(chm, out_tif, band_names=["canopy_height"], units="m")
    summary = {"output": str(out_tif), "shape": list(chm.shape), "resolution_m": resolution,
               "max_height_m": float(np.nanmax(chm.values)), "points": len(cloud)}
    if dtm_out is not None:
        no_overwrite_input(dtm_out, cloud_laz)
        write_raster(dtm.to_dataarray(), dtm_out, band_names=["elevation"], units="m")
        summary["dtm"] = str(dtm_out)
    return summary


def run_treetops_tool(chm_tif: Path, out_gpkg: Path, window_slope: float = 0.07, window_intercept: float = 0.8,
                      min_height: float = 2.0, radius_convention: str = "exact") -> dict:
    """Treetops (points with height_m) of a canopy height model by a variable-window filter, to ``out_gpkg``."""
    from ..io import open_raster, write_vector
    from ..lidar import find_treetops

    no_overwrite_input(out_gpkg, chm_tif)
    chm = open_raster(chm_tif, what="canopy height model", chunks=None).isel(band=0)
    tops = find_treetops(chm, window_slope, window_intercept, min_height, radius_convention)
    write_vector(tops, out_gpkg, layer="treetops")
    return {"output": str(out_gpkg), "treetops": len(tops),
            "mean_height_m": float(tops["height_m"].mean()) if len(tops) else None}


def run_canopy_metrics_tool(cloud_laz: Path, template_tif: Path, out_tif: Path, names: list[str],
                            cover_threshold: float = 2.0, ground: str = "csf") -> dict:
    """Pixel canopy metrics ``names`` of a point cloud on the grid of ``template_tif``, written to ``out_tif``."""
    from ..errors import CRSError
    from ..io import open_raster, write_raster
    from ..lidar import normalize_heights, pixel_metrics, read_cloud

    no_overwrite_input(out_tif, cloud_laz, template_tif)
    tmpl = open_raster(template_tif, what="template grid", chunks=None).isel(band=0)
    cloud = read_cloud(cloud_laz, crs=tmpl.rio.crs)
    if cloud.crs is None or not cloud.crs.equals(tmpl.rio.crs):
        raise CRSError(f"{cloud_laz} ({getattr(cloud.crs, 'name', 'no CRS')}) is not in the CRS of the template "
                       f"{template_tif} ({tmpl.rio.crs}). Reproject the cloud first.")
    hag, _ = normalize_heights(cloud, ground_method=ground, what=str(cloud_laz))
    da = pixel_metrics(cloud.x, cloud.y, hag, tmpl, names, cover_threshold_m=cover_threshold,
                       return_number=cloud.fields.get("return_number"))
    write_raster(da, out_tif, band_names=names)
    return {"output": str(out_tif), "metrics": names}

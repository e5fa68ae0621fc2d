"""CLI: ``minecarbon tool classify | accuracy | unmix | phenology`` (see docs/classify.md).

Each command parses its arguments, calls :mod:`minecarbon.tools.classify` and prints its summary.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..tools.classify import run_accuracy_tool, run_classify_tool, run_phenology_tool, run_unmix_tool
from .main import handle_errors, tool
from .options import json_option


def _names(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _fmt(v: float) -> str:
    return "  nan" if v != v else f"{v:5.3f}"


@tool.command("classify")
@click.argument("table", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--label", required=True, help="Column of the class label (e.g. dominant_species, leaf_habit).")
@click.option("--features", required=True, help="Comma-separated feature columns.")
@click.option("--cv", "folds", type=click.IntRange(2, 100), default=5, show_default=True, help="Folds (k).")
@click.option("--cv-scheme", type=click.Choice(["auto", "spatial", "random"]), default="auto", show_default=True,
              help="auto/spatial: spatially blocked CV (headline) and random CV beside it; random: random only.")
@click.option("--x", "x_col", default="x", show_default=True, help="Easting column (m) for spatial blocks.")
@click.option("--y", "y_col", default="y", show_default=True, help="Northing column (m) for spatial blocks.")
@click.option("--block-m", type=click.FloatRange(min=0, min_open=True), default=1000.0, show_default=True,
              help="Spatial block side (m).")
@click.option("--classes", help="Comma-separated code list: labels outside it are an error.")
@click.option("--min-per-class", type=click.IntRange(2, None), default=5, show_default=True,
              help="Fewest samples per class.")
@click.option("--trees", "n_estimators", type=click.IntRange(10, 5000), default=200, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@json_option
@handle_errors
def classify_cmd(table: Path, label: str, features: str, folds: int, cv_scheme: str, x_col: str, y_col: str,
                 block_m: float, classes: str | None, min_per_class: int, n_estimators: int, seed: int,
                 as_json: bool) -> None:
    """Cross-validated balanced random forest on a samples TABLE: OA, kappa, UA/PA, confusion matrix."""
    out = run_classify_tool(table, label, _names(features), folds, cv_scheme, x_col, y_col, block_m,
                            _names(classes) or None, min_per_class, n_estimators, seed)
    if as_json:
        click.echo(json.dumps(out, indent=2, ensure_ascii=False, default=float))
        return
    click.echo(f"{out['n']} samples ({out['n_dropped']} with missing values left out), {len(out['classes'])} "
               f"classes; majority-class OA {out['majority_baseline_oa']:.3f}")
    for name, cv in out["cv"].items():
        head = " (headline)" if name == out["headline"] else ""
        click.echo(f"{name} {folds}-fold CV{head}, {cv['groups']} groups: OA {cv['oa']:.3f}, kappa {cv['kappa']:.3f}")
        click.echo(f"  {'class':<20}{'UA':>7}{'PA':>7}")
        for c in out["classes"]:
            click.echo(f"  {c:<20}{_fmt(cv['ua'][c]):>7}{_fmt(cv['pa'][c]):>7}")


@tool.command("accuracy")
@click.argument("matrix", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Instead of MATRIX: a class map (GeoTIFF of integer codes); needs --points.")
@click.option("--points", "points_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Reference points (GeoPackage/Shapefile) with the reference class in --ref-col.")
@click.option("--ref-col", default="class", show_default=True, help="Reference class column of --points.")
@click.option("--areas", "areas_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Table of mapped area per map class (columns: class, area); else MATRIX's 'mapped_area' column.")
@click.option("--unit-factor", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Multiply areas by this (e.g. 0.09 for 30 m pixel counts to ha).")
@click.option("--z", type=click.FloatRange(min=0, min_open=True), default=1.96, show_default=True,
              help="Normal quantile of the intervals (1.96: 95 %).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the per-class table (CSV/XLSX/Parquet).")
@json_option
@handle_errors
def accuracy_cmd(matrix: Path | None, map_path: Path | None, points_path: Path | None, ref_col: str,
                 areas_path: Path | None, unit_factor: float, z: float, out_path: Path | None,
                 as_json: bool) -> None:
    """OA, UA, PA and area estimates with intervals (Olofsson et al. 2014) from a confusion-matrix CSV.

    MATRIX: first column the map class, then one column per reference class (sample counts; rows = map,
    columns = reference), optionally a 'mapped_area' column. Or --map and --points: the matrix from the map
    at the points, mapped areas from the map's pixel counts x pixel area (ha; --unit-factor multiplies).
    """
    res = run_accuracy_tool(matrix, map_path, points_path, ref_col, areas_path, unit_factor, z, out_path)
    _emit_accuracy(res, as_json)


def _emit_accuracy(res: dict, as_json: bool) -> None:
    table = res.pop("table")
    if as_json:
        click.echo(json.dumps(res, indent=2, ensure_ascii=False, default=float))
        return
    click.echo(f"{res['n']} samples; OA {res['oa']:.4f} +/- {res['oa_ci']:.4f} (area-weighted)")
    click.echo(f"{'class':<20}{'UA':>8}{'+/-':>8}{'PA':>8}{'+/-':>8}{'mapped':>14}{'area':>14}{'+/-':>12}")
    for c, r in table.iterrows():
        click.echo(f"{c:<20}{r.ua:>8.4f}{r.ua_ci:>8.4f}{r.pa:>8.4f}{r.pa_ci:>8.4f}{r.mapped_area:>14.6g}"
                   f"{r.area:>14.6g}{r.area_ci:>12.5g}")


@tool.command("unmix")
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--endmembers", "em_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Table: column 'endmember', then one column per band (named as IMAGE's band descriptions).")
@click.option("--chunk-px", type=click.IntRange(64, 8192), default=1024, show_default=True)
@json_option
@handle_errors
def unmix_cmd(image: Path, out: Path, em_path: Path, chunk_px: int, as_json: bool) -> None:
    """Fully constrained unmixing of IMAGE: one fraction band per endmember, then rmse, into OUT (COG)."""
    summary = run_unmix_tool(image, out, em_path, chunk_px)
    click.echo(json.dumps(summary) if as_json else f"Wrote {out}: {', '.join(summary['bands'])}")


@tool.command("phenology")
@click.argument("table", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--date", "date_col", default="date", show_default=True, help="Date column.")
@click.option("--value", "value_col", required=True, help="Vegetation-index column (e.g. ndvi).")
@click.option("--id", "id_col", help="Series id column (one series per id).")
@click.option("--clear", "clear_col", help="Column true/1 where the observation is clear (else all are clear).")
@click.option("--min-clear", type=click.IntRange(1, None), default=3, show_default=True,
              help="Series-years with fewer clear observations are flagged.")
@click.option("--frac", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.5, show_default=True,
              help="Season threshold as a fraction of the amplitude.")
@json_option
@handle_errors
def phenology_cmd(table: Path, out: Path, date_col: str, value_col: str, id_col: str | None, clear_col: str | None,
                  min_clear: int, frac: float, as_json: bool) -> None:
    """Gap-fill each series' cloudy observations and write phenology features per series and year to OUT."""
    summary = run_phenology_tool(table, out, date_col, value_col, id_col, clear_col, min_clear, frac)
    click.echo(json.dumps(summary) if as_json else
               f"Wrote {out}: {summary['series_years']} series-years, {summary['flagged']} flagged")

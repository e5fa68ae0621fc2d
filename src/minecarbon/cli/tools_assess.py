"""CLI: the assessment tools on plain files - ``minecarbon tool trend | hotspot | breaks | zonal | change``.

Each command parses its arguments and calls one ``run_*_tool`` function of
:mod:`minecarbon.tools.assess`, which opens the files through :mod:`minecarbon.io`, calls the science function
of :mod:`minecarbon.assess` and writes the result atomically; ``--json``
prints a machine-readable summary.  Errors are one message without a
traceback (:func:`minecarbon.cli.main.handle_errors`).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..tools.assess import (
    parse_years,
    run_breaks_tool,
    run_change_tool,
    run_hotspot_tool,
    run_trend_tool,
    run_zonal_tool,
)
from .main import handle_errors, tool
from .options import config_default, json_option

def _emit(summary: dict, as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=float))
    else:
        for line in lines:
            click.echo(line)


@tool.command("trend")
@click.argument("stack", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--years", help="Year of each band, e.g. 2005-2024 or 2005,2006,2008 (default: from the band "
              "descriptions).")
@click.option("--alpha", type=float, default=config_default("assess", "trend_alpha"), show_default=True,
              help="Significance level of the test.")
@click.option("--stable-slope", type=float, default=config_default("assess", "trend_stable_slope_t_ha_yr"),
              show_default=True,
              help="Half-width of the 'stable' slope band (value units per year).")
@click.option("--min-years", type=int, default=config_default("assess", "trend_min_years"), show_default=True,
              help="Fewer valid years: no trend.")
@json_option
@handle_errors
def trend_cmd(stack: Path, out: Path, years: str | None, alpha: float, stable_slope: float, min_years: int,
              as_json: bool) -> None:
    """Sen's slope + Mann-Kendall per pixel of STACK (one band per year) into OUT.

    OUT bands: slope, intercept, z, p, tau, s, n, trend (2 significant increase .. -2 significant decrease).
    """
    from ..errors import InputError

    if not 0 < alpha < 1:
        raise InputError(f"--alpha must be between 0 and 1, not {alpha}.")
    s = run_trend_tool(stack, out, parse_years(years) if years else None, alpha, stable_slope, min_years)
    _emit(s, as_json, [f"Wrote {out} (bands {', '.join(s['bands'])}); {s['pixels_with_trend']} of {s['pixels']} "
                       f"pixels have a trend over {len(s['years'])} years.",
                       "Classes: " + ", ".join(f"{k} {v}" for k, v in s["class_counts"].items())])


@tool.command("hotspot")
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--distance", type=float, help="Distance band in metres (centre to centre, inclusive).")
@click.option("--window", type=int, help="Odd square window in pixels (3 = queen neighbours + the pixel).")
@click.option("--fdr", is_flag=True, help="Benjamini-Hochberg false-discovery-rate control of the bins.")
@click.option("--band", type=int, help="Band number (1-based) of a multi-band raster.")
@json_option
@handle_errors
def hotspot_cmd(in_path: Path, out: Path, distance: float | None, window: int | None, fdr: bool,
                band: int | None, as_json: bool) -> None:
    """Getis-Ord Gi* hot and cold spots of IN into OUT (bands z, p, bin -3..3 at 99/95/90 %)."""
    s = run_hotspot_tool(in_path, out, distance, window, fdr, band)
    _emit(s, as_json, [f"Wrote {out} (z, p, bin); n = {s['n']} valid pixels, {s['neighbourhood']}"
                       f"{', FDR' if fdr else ''}.",
                       "Bins: " + ", ".join(f"{k}: {v}" for k, v in s["bin_counts"].items())])


@tool.command("breaks")
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--classes", "-k", type=int, required=True, help="Number of classes.")
@click.option("--band", type=int, help="Band number (1-based) of a multi-band raster.")
@json_option
@handle_errors
def breaks_cmd(in_path: Path, out: Path, classes: int, band: int | None, as_json: bool) -> None:
    """Exact natural breaks (Fisher-Jenks) of every valid pixel of IN; class raster 1..K into OUT."""
    s = run_breaks_tool(in_path, out, classes, band)
    _emit(s, as_json, [f"Wrote {out} (classes 1..{s['classes']}, 0 = nodata).",
                       "Upper bounds: " + ", ".join(f"{b:.6g}" for b in s["upper_bounds"]),
                       "Counts: " + ", ".join(str(c) for c in s["counts"]),
                       f"Goodness of variance fit: {s['goodness_of_variance_fit']:.4f}"])


@tool.command("zonal")
@click.argument("values", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("zones", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--field", help="Attribute naming the zones (polygons sharing a value form one zone).")
@click.option("--all-touched", is_flag=True, help="Count every pixel a polygon touches (default: centre inside).")
@click.option("--band", type=int, help="Band number (1-based) of a multi-band VALUES raster.")
@json_option
@handle_errors
def zonal_cmd(values: Path, zones: Path, out: Path, field: str | None, all_touched: bool, band: int | None,
              as_json: bool) -> None:
    """Zonal statistics of VALUES per zone of ZONES (polygon layer or integer raster) into OUT (.csv or .gpkg).

    Columns: zone, count, mean, min, max, variance (population), std, sum, sum_t (= sum x pixel area in ha),
    area_ha.
    """
    s = run_zonal_tool(values, zones, out, field, all_touched, band)
    _emit(s, as_json, [f"Wrote {out}: {s['n_zones']} zones ({s['zones_with_data']} with valid pixels)."])


@tool.command("change")
@click.argument("a", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("b", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--degree-min", type=float, default=config_default("assess", "degree_min_agc_t_ha"),
              show_default=True,
              help="Change degree is nodata where A is below this.")
@click.option("--band", type=int, help="Band number (1-based) of multi-band rasters.")
@json_option
@handle_errors
def change_cmd(a: Path, b: Path, out: Path, degree_min: float, band: int | None, as_json: bool) -> None:
    """Change amount B - A and degree (B - A) / A x 100 % into OUT (two bands)."""
    s = run_change_tool(a, b, out, degree_min, band)
    _emit(s, as_json, [f"Wrote {out} (change_amount, change_degree_pct); mean change {s['mean_change']:.4g} over "
                       f"{s['pixels_both_valid']} pixels."])

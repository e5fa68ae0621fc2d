"""CLI: ``minecarbon tool composite`` - scenes -> yearly (and monthly) composites on a grid."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .main import handle_errors, tool
from .options import json_option


@tool.command("composite")
@click.argument("scenes", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for composite_<year>.tif (+ _scenes.csv) and composites.csv.")
@click.option("--grid", "grid_raster", type=click.Path(dir_okay=False, path_type=Path),
              help="A raster whose grid (CRS, transform, size) the composites take. Default: --bounds.")
@click.option("--bounds", help="minx,miny,maxx,maxy of the output grid (in --crs).")
@click.option("--crs", help="CRS of --bounds (e.g. EPSG:32649). Default: the first scene's.")
@click.option("--res", "res_m", type=float, default=30.0, show_default=True, help="Pixel size with --bounds (m).")
@click.option("--years", required=True, help="Years, e.g. 2005-2024 or 2010,2015.")
@click.option("--season", default="5-9", show_default=True, help="First-last month of each year's window.")
@click.option("--months", "monthly_year", type=int, help="Also one composite per month of this year.")
@click.option("--method", type=click.Choice(["median", "medoid"]), default="median", show_default=True)
@click.option("--harmonisation", default="roy2016_ols_etm_to_oli", show_default=True,
              help="Sensor transformation of data/harmonisation.csv, or 'none'.")
@click.option("--fill-years", type=click.IntRange(0, 5), default=0, show_default=True,
              help="Fill pixels with no clear observation from the nearest year up to this many years away.")
@click.option("--keep-snow", is_flag=True, help="Do not mask snow.")
@click.option("--chunk", "chunk_px", type=click.IntRange(256, 4096), default=512, show_default=True,
              help="Chunk side (px); memory ~ chunk^2 x bands x scenes of one window x 4 bytes.")
@json_option
@handle_errors
def composite_cmd(scenes: Path, out_dir: Path, grid_raster: Path | None, bounds: str | None, crs: str | None,
                  res_m: float, years: str, season: str, monthly_year: int | None, method: str, harmonisation: str,
                  fill_years: int, keep_snow: bool, chunk_px: int, as_json: bool) -> None:
    """Composite SCENES (a folder of Landsat C2 L2 / Sentinel-2 L2A scenes, or a STAC catalog.json)."""
    from ..tools.composite import run_composite_tool

    out = run_composite_tool(scenes, out_dir, years=years, grid_raster=grid_raster, bounds=bounds, crs=crs,
                             res_m=res_m, season=season, monthly_year=monthly_year, method=method,
                             harmonisation=harmonisation, fill_years=fill_years, keep_snow=keep_snow,
                             chunk_px=chunk_px)
    rows = out["composites"]
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    for r in rows:
        click.echo(f"{r['composite']}: {r['scenes_used']}/{r['scenes']} scenes, clear obs min {r['clear_count_min']} "
                   f"median {r['clear_count_median']:.0f}, {100 * r['share_no_clear']:.2f} % without any -> {r['path']}")

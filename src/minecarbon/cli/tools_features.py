"""CLI: ``minecarbon tool indices | tasseled-cap | texture | terrain`` on plain GeoTIFFs.

Each command reads one raster, calls the feature library and writes one
Cloud-Optimized GeoTIFF (float32, NaN = nodata, no overviews: see
``pipeline.stages.features.write_stack``) whose band descriptions name the
layers.  Rasters are processed in dask chunks (``--chunk-px``), so memory
stays bounded by the chunk size.  Without ``--sensor``, band values are taken as
surface reflectance already scaled and bands are found by their descriptions
(common names: blue, green, red, nir, swir1, swir2, rededge1-3, ...).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from ..tools.features import run_indices, run_tasseled_cap, run_terrain, run_texture
from .main import handle_errors, tool
from .options import json_option

log = logging.getLogger(__name__)

chunk_option = click.option("--chunk-px", type=click.IntRange(64, 8192), default=1024, show_default=True,
                            help="Dask chunk size in pixels per side (memory is bounded by it).")
sensor_option = click.option("--sensor", help="landsat5, landsat7, landsat8, landsat9, sentinel2 (L2A >= 04.00), "
                             "sentinel2_pre04, sentinel2_l1c: sets scale/offset/nodata, band ids and QA band.")
bands_option = click.option("--bands", "band_map", help="Explicit band map, e.g. 'red=3,nir=4' or "
                            "'nir=SR_B5' (1-based numbers or band descriptions).")
scale_option = click.option("--scale", type=float, help="Reflectance = DN x scale + offset (default: the "
                            "sensor's; without a sensor 1).")
offset_option = click.option("--offset", type=float, help="See --scale (default: the sensor's; else 0).")
nodata_option = click.option("--nodata", type=float, help="DN marking missing pixels (default: the sensor's).")
qa_option = click.option("--no-qa-mask", "no_qa", is_flag=True, help="Do not mask with the QA_PIXEL / SCL band.")


def image_options(fn):
    """The options every command on a reflectance image takes: band map, scaling, nodata, QA mask, chunks."""
    for option in (chunk_option, qa_option, nodata_option, offset_option, scale_option, bands_option):
        fn = option(fn)
    return fn


def _names(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _band_map(text: str | None) -> dict[str, str]:
    from ..errors import InputError

    out: dict[str, str] = {}
    for item in _names(text):
        key, sep, val = item.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise InputError(f"--bands item {item!r} must be COMMON=BAND, e.g. 'nir=4' or 'nir=SR_B5'.")
        out[key.strip().lower()] = val.strip()
    return out


def _emit(summary: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(f"Wrote {summary['output']} ({summary['width']} x {summary['height']} px): "
                   f"{', '.join(summary['bands'])}")


@tool.command("indices")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--indices", "names", required=True, help="Comma-separated index names, e.g. NDVI,EVI,NDMI "
              "(see docs/features.md; RVI = NIR/Red).")
@sensor_option
@image_options
@json_option
@handle_errors
def indices_cmd(src, out, names, sensor, band_map, scale, offset, nodata, no_qa, chunk_px, as_json):
    """Spectral indices of image SRC, written to OUT (one band per index)."""
    _emit(run_indices(src, out, _names(names), sensor, _band_map(band_map), scale, offset, nodata, not no_qa,
                      chunk_px), as_json)


@tool.command("tasseled-cap")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@sensor_option
@click.option("--coefficients", help="Coefficient set: baig2014, huang2002, crist1985, shi_xu2019, nedkov2017 "
              "(default: the sensor's).")
@click.option("--vars", "variables", default="TCB,TCG,TCW", show_default=True,
              help="Any of TCB, TCG, TCW, TCA (rad), TCD, DI.")
@image_options
@json_option
@handle_errors
def tasseled_cap_cmd(src, out, sensor, coefficients, variables, band_map, scale, offset, nodata, no_qa, chunk_px,
                     as_json):
    """Tasseled-cap brightness, greenness, wetness (and TCA, TCD, DI) of image SRC, written to OUT."""
    _emit(run_tasseled_cap(src, out, sensor, coefficients, _names(variables), _band_map(band_map), scale, offset,
                           nodata, not no_qa, chunk_px), as_json)


@tool.command("texture")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--window", type=int, default=7, show_default=True, help="Moving window (odd, 3-31 px).")
@click.option("--levels", type=int, default=32, show_default=True, help="Grey levels (2-256).")
@click.option("--distance", type=int, default=1, show_default=True,
              help="Pair distance (px); 0/45/90/135 degrees averaged.")
@click.option("--measures", help="Comma-separated subset of mean, variance, homogeneity, contrast, "
              "dissimilarity, entropy, second_moment, correlation (default: all 8).")
@click.option("--band", help="Only this band (description or 1-based number); default: every band.")
@click.option("--range", "value_range", help="Fixed quantisation range MIN,MAX (default: 2nd-98th percentile; "
              "integer bands already in [0, levels) are used as they are).")
@chunk_option
@json_option
@handle_errors
def texture_cmd(src, out, window, levels, distance, measures, band, value_range, chunk_px, as_json):
    """GLCM texture of raster SRC (one band per measure, per input band), written to OUT."""
    from ..errors import InputError

    rng = None
    if value_range:
        try:
            lo, hi = (float(v) for v in value_range.split(","))
        except ValueError:
            raise InputError(f"--range {value_range!r} must be MIN,MAX, e.g. 0,0.5.") from None
        rng = (lo, hi)
    _emit(run_texture(src, out, window, levels, distance, _names(measures) or None, band, rng, chunk_px), as_json)


@tool.command("terrain")
@click.argument("dem", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--vars", "variables", default="slope,aspect", show_default=True,
              help="Comma-separated: elevation, slope, aspect, aspect_sin, aspect_cos, tpi, tri, roughness, "
              "curvature, plan_curvature, profile_curvature.")
@chunk_option
@json_option
@handle_errors
def terrain_cmd(dem, out, variables, chunk_px, as_json):
    """Terrain variables of DEM (metres, projected CRS), written to OUT (one band per variable)."""
    _emit(run_terrain(dem, out, _names(variables), chunk_px), as_json)

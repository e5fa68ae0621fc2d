"""Stage `features`."""

from __future__ import annotations

import logging


from ... import features
from ...grid import align
from ...io import open_raster, write_raster
from ...io.raster import check_overlap
from ..core import Context, Output, Stage, register
from ._common import project_grid, read_image_bands

log = logging.getLogger(__name__)


def _run_features(ctx: Context) -> None:
    cfg = ctx.cfg
    tmpl, _, _ = project_grid(cfg)
    dem = open_raster(cfg.path(cfg.inputs.dem), what="DEM", chunks=cfg.run.chunk_px)
    check_overlap(dem, tuple(tmpl.rio.bounds()), "DEM")
    dem = align(dem.isel(band=0), tmpl)
    for year in cfg.project.years:
        ctx.progress(f"features {year}")
        bands = read_image_bands(cfg, year, tmpl)
        stack = features.feature_stack(bands, dem, cfg.features.bands, cfg.features.indices,
                                       cfg.features.terrain)
        ctx.produced(write_raster(stack, ctx.out("stack", year=year), dtype="float32", units="mixed"))


register(Stage(
    name="features",
    about="Feature variables per year: reflectance bands, spectral indices and terrain (Appendix A)",
    func=_run_features,
    inputs=("images.path", "inputs.dem", "area.boundary"),
    settings=("features", "images", "area", "run"),
    outputs=(Output("stack", "features_{year}.tif", "reflectance / index / m / deg",
                    "Feature stack of one year, band descriptions = feature names", per_year=True),),
))


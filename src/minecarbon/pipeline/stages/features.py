"""Stage `features`: one feature stack (multi-band COG) per year on the project grid.

Inputs are aligned to the project grid widened by the halo the texture and
terrain windows need (so pixels at the edge of the grid see real neighbours
where the rasters extend beyond it), the features are computed chunk by chunk,
and the halo is cropped off before writing.

Resampling per variable type (only when a raster is not on the grid's pixel
lattice; rasters on the lattice are cropped by index, lazily):

* reflectance, DEM: bilinear;
* canopy-structure rasters (CHM, lidar metrics): average when their pixels are
  finer than the grid, else bilinear;
* QA bands are applied on the image's own grid, before any resampling;
* the forest-type map (for the disturbance index): nearest.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr
from rasterio.enums import Resampling

from ... import features
from ...errors import InputError
from ...features import normalize
from ...grid import align_to, pad_template, rasterize  # noqa: F401  (their home is minecarbon.grid)
from ...inputs.grid import project_grid
from ...inputs.rasters import DEM, IMAGE
from ...io import open_raster, read_vector, write_table
from ...io.stack import _write_chunks, write_stack  # noqa: F401  (write_stack: also this module's name)
from ...io.raster import check_overlap
from ...progress import track
from ...project.plans import stack_spec
from ..core import Context, Output, Stage
from ._common import classify_upstream, forest_type_pattern, is_forest, read_forest_type

log = logging.getLogger(__name__)


def _crop(stack: xr.DataArray, tmpl: xr.DataArray, margin: int) -> xr.DataArray:
    if margin > 0:
        stack = stack.isel(y=slice(margin, -margin), x=slice(margin, -margin))
    stack = stack.assign_coords(x=tmpl.x.values, y=tmpl.y.values)
    return stack.rio.write_transform(tmpl.rio.transform()).rio.write_crs(tmpl.rio.crs)


def _check_not_empty(layer: xr.DataArray, what: str, path) -> None:
    if not bool(np.isfinite(layer).any().compute()):
        raise InputError(f"{what} {path}: every pixel of the monitoring area is nodata or masked (clouds, "
                         f"shadow, fill). Check the nodata value ([images].nodata), the scale/offset, and that "
                         f"the composite covers the area; or set [features].qa_mask = false if the QA band is "
                         f"wrong.")


def _canopy_layers(ctx: Context, ptmpl: xr.DataArray) -> dict[str, xr.DataArray]:
    """Bands of the ``[features].canopy`` rasters and, with ``lidar_canopy``, of the lidar stage's ALS metrics."""
    cfg = ctx.cfg
    out: dict[str, xr.DataArray] = {}
    res_dst = abs(ptmpl.rio.transform().a)
    paths = [(cfg.path(p), "canopy raster") for p in cfg.features.canopy]
    if cfg.features.lidar_canopy:
        paths.append((ctx.out("als_metrics", stage="lidar"), "ALS canopy metrics of the lidar stage"))
    for path, what in paths:
        da = open_raster(path, what=what, chunks=cfg.run.chunk_px)
        check_overlap(da, tuple(ptmpl.rio.bounds()), "canopy raster")
        finer = abs(da.rio.transform().a) < res_dst / 1.5
        for name in [str(b) for b in da["band"].values]:
            if name in out:
                raise InputError(f"Canopy raster {path}: band {name!r} is also in another canopy raster; give "
                                 f"the bands distinct descriptions.")
            layer = da.sel(band=name, drop=True)
            out[name] = align_to(layer, ptmpl, Resampling.average if finer else Resampling.bilinear)
    return out


def invariant_candidates(cfg, tmpl: xr.DataArray, area) -> np.ndarray:
    """Pixels expected to keep their surface: inside the monitoring area, non-forest in the base- and end-year
    forest-type maps, and outside every disturbance, planned and reclamation polygon (any year)."""
    cand = rasterize(area, tmpl, dtype="uint8").astype(bool)
    for year in sorted({cfg.project.base, cfg.project.end_year}):
        cand &= ~is_forest(cfg, read_forest_type(cfg, year, tmpl))
    for key, what in ((cfg.inputs.disturbance, "disturbance layer"), (cfg.inputs.planned, "planned mining layer"),
                      (cfg.inputs.reclamation, "reclamation layer")):
        if key:
            gdf = read_vector(cfg.path(key), what=what, target_crs=tmpl.rio.crs)
            cand &= rasterize(gdf, tmpl, dtype="uint8", all_touched=True) == 0
    return cand


NORM_COLUMNS = ["year", "reference_year", "band", "gain", "n_pif", "mad_log", "applied"]


class _Normaliser:
    """Per-year band gains relative to the reference year on pseudo-invariant pixels (``[features].normalize``)."""

    def __init__(self, cfg, tmpl: xr.DataArray, area, margin: int) -> None:
        self.ref_year = cfg.features.normalize_reference_year or cfg.project.base
        cand = invariant_candidates(cfg, tmpl, area)
        rows, cols = normalize.sample_pixels(cand)
        self.rows, self.cols = rows + margin, cols + margin  # on the padded grid
        self.ref: dict[str, np.ndarray] | None = None
        self.records: list[dict] = []

    def sample(self, refl: dict[str, xr.DataArray]) -> dict[str, np.ndarray]:
        return {b: normalize.values_at(da, self.rows, self.cols) for b, da in refl.items()}

    def __call__(self, year: int, refl: dict[str, xr.DataArray]) -> dict[str, xr.DataArray]:
        assert self.ref is not None
        gains = normalize.estimate_gains(self.sample(refl), self.ref) if year != self.ref_year else \
            [normalize.BandGain(b, 1.0, len(self.rows), 0.0) for b in refl]
        if gains is None:
            log.warning("radiometric normalisation: fewer than %d stable pixels usable between %d and %d (non-forest, "
                        "undisturbed, unmasked); year %d is left as it is", normalize.MIN_PIF, year, self.ref_year,
                        year)
            self.records += [{"year": year, "reference_year": self.ref_year, "band": b, "gain": np.nan, "n_pif": 0,
                              "mad_log": np.nan, "applied": False} for b in refl]
            return refl
        self.records += [{"year": year, "reference_year": self.ref_year, "band": g.band, "gain": g.gain,
                          "n_pif": g.n_pif, "mad_log": g.mad_log, "applied": True} for g in gains]
        return normalize.apply_gains(refl, gains)


def _run_features(ctx: Context) -> None:
    cfg = ctx.cfg
    spec = stack_spec(cfg)
    sensor = cfg.images.sensor
    tmpl, _, area = project_grid(cfg)
    margin = spec.halo
    ptmpl = pad_template(tmpl, margin)
    bounds = tuple(tmpl.rio.bounds())
    dem = None
    if spec.terrain:
        dem_path = cfg.path(cfg.inputs.dem)
        dem_da = DEM.read(dem_path, cfg=cfg, chunks=cfg.run.chunk_px)
        if dem_da.sizes["band"] != 1:
            raise InputError(f"DEM {dem_path} has {dem_da.sizes['band']} bands; it must have one band of "
                             f"elevations (m). Point [inputs].dem at a single-band raster.")
        check_overlap(dem_da, bounds, "DEM")
        dem = align_to(dem_da.isel(band=0, drop=True), ptmpl)
    canopy = _canopy_layers(ctx, ptmpl)
    need = features.required_bands(spec, sensor)
    if spec.tasseled_cap:
        log.info("tasseled cap: coefficient set %s", features.resolve_set(spec.tc_coefficients, sensor).name)

    def reflectance(year: int) -> dict[str, xr.DataArray]:
        what = f"image {year}"
        path = cfg.year_path(cfg.images.path, year)
        img = IMAGE.read(path, year=year, cfg=cfg, need_bands=need, chunks=cfg.run.chunk_px, masked=True)
        check_overlap(img, bounds, what)
        refl = features.surface_reflectance(img, list(need), sensor=sensor, band_map=cfg.images.bands,
                                            scale=cfg.images.scale, offset=cfg.images.offset,
                                            nodata=cfg.images.nodata, qa_mask=cfg.features.qa_mask,
                                            snow=cfg.features.mask_snow, what=what, why=need)
        return {k: align_to(v, ptmpl) for k, v in refl.items()}

    norm = None
    if cfg.features.normalize != "none" and need:
        # the given forest-type maps, or the classify stage's yearly maps when [inputs].forest_type is absent
        pattern = forest_type_pattern(cfg)
        have_maps = any(cfg.year_path(pattern, y).exists() for y in cfg.project.years)
        if have_maps:
            norm = _Normaliser(cfg, tmpl, area, margin)
            norm.ref = norm.sample(reflectance(norm.ref_year))
        else:
            log.warning("radiometric normalisation skipped: it needs the forest-type maps ([inputs].forest_type) to "
                        "keep forest, whose reflectance changes as it grows, out of the invariant pixels")
    for year in track(cfg.project.years, "feature stacks", unit="years"):
        ctx.progress(f"features {year}")
        what = f"image {year}"
        path = cfg.year_path(cfg.images.path, year)
        refl = reflectance(year)
        if norm is not None:
            refl = norm(year, refl)
        if refl:
            first = next(iter(refl.values()))
            inner = first.isel(y=slice(margin, first.sizes["y"] - margin), x=slice(margin, first.sizes["x"] - margin))
            _check_not_empty(inner, what, path)
        forest = None
        if "DI" in spec.tasseled_cap:
            ft = read_forest_type(cfg, year, tmpl)
            forest = np.pad(is_forest(cfg, ft), margin, constant_values=False)
        stack = features.feature_stack(
            refl, dem, spec.bands, spec.indices, spec.terrain, tasseled_cap_vars=spec.tasseled_cap,
            tc_coefficients=spec.tc_coefficients, sensor=sensor, texture=spec.texture, canopy=canopy,
            forest=forest)
        stack = _write_chunks(_crop(stack, tmpl, margin), cfg.run.chunk_px)
        ctx.produced(write_stack(stack, ctx.out("stack", year=year)))
    records = norm.records if norm is not None else []
    ctx.produced(write_table(pd.DataFrame(records, columns=NORM_COLUMNS), ctx.out("normalization")))


STAGE = Stage(
    name="features",
    about="Feature variables per year: reflectance bands, spectral indices, tasseled cap, GLCM texture, "
          "terrain and canopy layers (Appendix A)",
    func=_run_features,
    inputs=("images.path", "inputs.dem", "area.boundary", "inputs.forest_type", "features.canopy",
            "inputs.disturbance", "inputs.planned", "inputs.reclamation"),
    upstream_if=lambda cfg: (("lidar",) if cfg.features.lidar_canopy else ()) + classify_upstream(cfg),
    settings=("features", "images", "area", "run"),
    outputs=(Output("stack", "features_{year}.tif", "reflectance / index / m / deg (per band: docs/features.md)",
                    "Feature stack of one year, band descriptions = feature names", per_year=True),
             Output("normalization", "normalization.csv", "table",
                    "Radiometric normalisation: per year and band the gain relative to the reference year, "
                    "the number of pseudo-invariant pixels and their scatter")),
)

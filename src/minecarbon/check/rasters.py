"""Checks of the rasters: files of every year, readable, georeferenced, in the area, bands, values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..features.sensors import get_sensor
from ..inputs._text import fmt as _fmt
from ..inputs._text import one_line as _one_line
from ..inputs._text import values as _values
from ..inputs._text import years_text as _years_text
from ._context import (
    _SAMPLE_PX,
    _GDAL_READONLY,
    _Raster,
    _Context,
    _pyproj,
    _crs_name,
    _same_crs,
    _transform_bounds,
)


def _check_files_exist(ctx: _Context) -> None:
    cfg, pf = ctx.cfg, ctx.project_file
    single: list[tuple[str, str | None]] = [
        ("[area].boundary", cfg.area.boundary), ("[inputs].dem", cfg.inputs.dem),
        ("[inputs].plots", cfg.inputs.plots), ("[inputs].trees", cfg.inputs.trees),
        ("[inputs].disturbance", cfg.inputs.disturbance), ("[inputs].planned", cfg.inputs.planned),
        ("[inputs].reclamation", cfg.inputs.reclamation), ("[inputs].tally", cfg.inputs.tally),
        ("[plots].allometry", cfg.plots.allometry), ("[plots].plan_restoration", cfg.plots.plan_restoration),
        ("[assess].zones", cfg.assess.zones),
    ] + [("[features].canopy", c) for c in cfg.features.canopy]
    for key, value in single:  # optional ones (None) are skipped; a named file must exist
        if value is None:
            continue
        p = cfg.path(value)
        assert p is not None
        if not p.exists():
            ctx.add(ctx.show(p), "(file)", f"file named by {key} does not exist",
                    f"Check the path {value!r} in {pf} (relative paths are relative to the project "
                    f"file's folder).", code="missing-file")
        elif p.is_dir() and p.suffix.lower() != ".gdb":  # a FileGDB is a folder
            ctx.add(ctx.show(p), "(file)", f"{key} names a folder, not a file",
                    f"Point {key} at the file inside it.")
    if (p := cfg.path(cfg.inputs.dem)) is not None and p.is_file():
        ctx.rasters.append(_Raster("dem", "[inputs].dem", None, p))
    for c in dict.fromkeys(cfg.features.canopy):
        if (p := cfg.path(c)) is not None and p.is_file():
            ctx.rasters.append(_Raster("canopy", "[features].canopy", None, p))

    years = cfg.project.years
    yearly = ([] if cfg.images.scenes else [("image", "[images].path", cfg.images.path)]) + [
              ("temperature", "[climate].temperature", cfg.climate.temperature),
              ("precipitation", "[climate].precipitation", cfg.climate.precipitation)]
    for kind, key, pattern in yearly:
        for y, p in _year_files(ctx, key, pattern, years, f"every year {years[0]}-{years[-1]}"):
            ctx.rasters.append(_Raster(kind, key, y, p))
    base = cfg.project.base
    seen = set()
    for y in years if cfg.inputs.forest_type else ():  # absent: the classify stage makes the maps
        p = cfg.year_path(cfg.inputs.forest_type, y)
        if p in seen:
            continue
        if p.is_file():
            seen.add(p)
            ctx.rasters.append(_Raster("forest_type", "[inputs].forest_type", y, p))
        elif y == base:
            ctx.add(ctx.show(p), "(file)", f"the forest-type map of the base year {base} "
                    f"([inputs].forest_type) does not exist",
                    f"Provide it, or correct the pattern {cfg.inputs.forest_type!r} in {pf}; at least the "
                    f"base year is required.", code="missing-file")


def _year_files(ctx: _Context, key: str, pattern: str, years: Sequence[int], need: str) -> list[tuple[int, Path]]:
    """The files of a ``{year}`` pattern that exist; one problem lists the years without a file."""
    cfg = ctx.cfg
    found, missing = [], []
    for y in years:
        p = cfg.year_path(pattern, y)
        if p.is_file():
            found.append((y, p))
        else:
            missing.append(y)
    if missing:
        example = ctx.show(cfg.year_path(pattern, missing[0]))
        every = len(missing) == len(years)
        ctx.add(ctx.show(cfg.path(pattern)), "(file)", f"{key} has no file for {'any year' if every else 'year(s)'} "
                f"{_years_text(missing)} (e.g. {example} does not exist); one is needed for {need}",
                f"Add the missing file(s) or correct the pattern {pattern!r} in {ctx.project_file} ({{year}} is "
                f"replaced by the 4-digit year).", code="missing-file")
    return found


_WHAT = {"image": "image", "temperature": "temperature grid", "precipitation": "precipitation grid",
         "dem": "DEM", "forest_type": "forest-type map", "canopy": "canopy raster", "covariate": "covariate"}


def _what(r: _Raster) -> str:
    return (_WHAT[r.kind] + (f" {r.label!r}" if r.label else "")
            + (f" {r.year}" if r.year is not None and r.kind != "dem" else ""))


def _open_rasters(ctx: _Context) -> None:
    for r in ctx.rasters:
        ctx.guard(ctx.show(r.path), "(file)", _open_one_raster, ctx, r)


def _open_one_raster(ctx: _Context, r: _Raster) -> None:
    import rasterio

    shown = ctx.show(r.path)
    try:
        with rasterio.Env(**_GDAL_READONLY), rasterio.open(r.path) as src:
            r.count = src.count
            r.descriptions = tuple(d or "" for d in src.descriptions)
            r.bounds = tuple(src.bounds)  # type: ignore[assignment]
            no_georef = src.transform.is_identity and not src.gcps[0]
            r.crs = _pyproj(src.crs) if src.crs else None
    except Exception as exc:  # noqa: BLE001 - not a raster at all
        ctx.add(shown, "(file)", f"the {_what(r)} ({r.key}) cannot be read as a raster "
                f"({_one_line(str(exc))[:200]})", "Check that it is a GeoTIFF and not truncated; re-export "
                "it from the GIS.")
        return
    r.ok = True
    if r.count == 0:
        ctx.add(shown, "(file)", f"the {_what(r)} has no bands", "Re-export the raster with its data.")
        r.ok = False
    if no_georef:
        ctx.add(shown, "(file)", f"the {_what(r)} has no georeferencing (no geotransform)",
                "Re-export it as a GeoTIFF with its position (georeferenced).")
        r.bounds = None
    if r.crs is None:
        ctx.add(shown, "(file)", f"the {_what(r)} has no CRS",
                f"Assign the right projected CRS, e.g. 'gdal_edit.py -a_srs EPSG:32649 {r.path.name}' "
                f"(only if that is the CRS its coordinates are in).")
    elif not r.crs.is_projected:
        ctx.add(shown, "(file)", f"the {_what(r)} is in a geographic CRS ({_crs_name(r.crs)}, degrees); "
                f"areas and distances need metres", "Reproject it to a projected CRS in metres, e.g. "
                f"'gdalwarp -t_srs EPSG:32649 {r.path.name} out.tif'.")


def _choose_target_crs(ctx: _Context) -> None:
    """The CRS the project works in: [project].crs, else the reference image's."""
    cfg = ctx.cfg
    if cfg.project.crs is not None:
        try:
            crs = _pyproj(cfg.project.crs)
        except Exception:  # noqa: BLE001 - already reported by _check_settings
            crs = None
        if crs is not None and crs.is_projected:
            ctx.target_crs, ctx.target_from = crs, f"[project].crs ({cfg.project.crs})"
            return
    usable = [r for r in ctx.rasters if r.ok and r.crs is not None and r.crs.is_projected]
    order = ([r for r in usable if r.kind == "image" and r.year == cfg.project.base]
             + [r for r in usable if r.kind == "image"] + [r for r in usable if r.kind == "dem"] + usable)
    if order:
        ref = order[0]
        ctx.target_crs = ref.crs
        ctx.target_from = f"the CRS of the reference {_what(ref)} ({_crs_name(ref.crs)})"


def _check_rasters(ctx: _Context) -> None:
    for r in ctx.rasters:
        if r.ok:
            ctx.guard(ctx.show(r.path), "(file)", _check_one_raster, ctx, r)


def _check_one_raster(ctx: _Context, r: _Raster) -> None:
    import rasterio

    from ..io.raster import damaged_block

    shown, what = ctx.show(r.path), _what(r)
    # integrity: every block decodes and passes its checksum (flipped bytes, truncation)
    damage = damaged_block(r.path)
    if damage:
        ctx.add(shown, "(file)", f"the {what} ({r.key}) is damaged: {damage}", "Copy or download the file "
                "again, or re-export it from the GIS; do not use it as it is.")
        return
    # CRS consistency
    if r.crs is not None and ctx.target_crs is not None and not _same_crs(r.crs, ctx.target_crs):
        try:
            _transform_bounds(r.bounds or (0, 0, 1, 1), r.crs, ctx.target_crs)
        except Exception:  # noqa: BLE001
            ctx.add(shown, "(file)", f"the {what} is in {_crs_name(r.crs)}, which cannot be transformed "
                    f"to {ctx.target_from}", "Reproject it to the project CRS with gdalwarp.")
        else:
            if r.crs.is_projected:
                ctx.add(shown, "(file)", f"the {what} is in {_crs_name(r.crs)}, not {ctx.target_from}; "
                        f"it will be reprojected (resampled)", "Nothing, if that is intended; to avoid "
                        f"resampling, deliver it in {_crs_name(ctx.target_crs)}.", "warning")
    # overlap with the monitoring area
    if r.crs is not None and r.bounds is not None and ctx.area is not None:
        try:
            b = _transform_bounds(r.bounds, r.crs, ctx.area_crs)
        except Exception:  # noqa: BLE001
            b = None
        if b is not None:
            minx, miny, maxx, maxy = ctx.area.bounds
            if b[2] <= minx or b[0] >= maxx or b[3] <= miny or b[1] >= maxy:
                ctx.add(shown, "(file)", f"the {what} (bounds {b[0]:.0f}, {b[1]:.0f}, {b[2]:.0f}, "
                        f"{b[3]:.0f}) does not overlap the monitoring area (boundary + "
                        f"{ctx.cfg.area.buffer_m:g} m buffer: {minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}, "
                        f"{_crs_name(ctx.area_crs)})", "Check that it is the right file and that its CRS "
                        "is assigned correctly (a wrong CRS shifts the data far away).")
            elif b[0] > minx or b[1] > miny or b[2] < maxx or b[3] < maxy:
                ctx.add(shown, "(file)", f"the {what} covers only part of the monitoring area (boundary "
                        f"+ {ctx.cfg.area.buffer_m:g} m buffer)", "Provide a raster that covers the whole "
                        "area; pixels outside it will be nodata.", "warning")
    # bands
    wanted = _image_bands(ctx, r, shown, what) if r.kind == "image" else [("band_1", 1)]
    if not wanted:
        return
    # content: nodata and plausible values
    with rasterio.Env(**_GDAL_READONLY), rasterio.open(r.path) as src:
        empty_bands = []
        samples: dict[str, np.ndarray] = {}
        for label, idx in wanted:
            nodata = src.nodatavals[idx - 1]
            if r.kind == "image" and ctx.cfg.images.nodata is not None:
                nodata = ctx.cfg.images.nodata
            sample = _valid_sample(src, idx, nodata)
            if sample.size == 0:
                empty_bands.append(label)
            samples[label] = sample
        if len(empty_bands) == len(wanted):
            scope = " in the bands used" if r.kind == "image" else ""
            extra = ", [images].nodata" if r.kind == "image" else ""
            ctx.add(shown, "(file)", f"the {what} contains only nodata (every pixel{scope})",
                    f"Check the export (clip extent, nodata value{extra}); the file holds no data.")
            return
        for label in empty_bands:
            ctx.add(shown, f"band '{label}'", f"band '{label}' of the {what} contains only nodata",
                    "Re-export the image with data in that band.")
        if r.kind == "forest_type":
            _check_forest_codes(ctx, src, shown, what)
        for label, idx in wanted:
            n_inf = _count_infinite(src, idx)
            if n_inf:
                where = f"band '{label}'" if r.kind == "image" else "(file)"
                ctx.add(shown, where, f"the {what} has {n_inf} pixel(s) of value +inf or -inf"
                        + (f" in band '{label}'" if r.kind == "image" else "") + "; they are not nodata "
                        "and would enter the computation as numbers", "Set them to the nodata value (e.g. "
                        "'gdal_calc.py ... --calc \"where(isinf(A), -9999, A)\" --NoDataValue=-9999') or "
                        "fix the export.", "warning", "non-finite")
    _check_values(ctx, r, shown, what, samples)


def _count_infinite(src: Any, idx: int) -> int:
    """Number of +inf/-inf pixels of a floating-point band (0 for integer bands), read in row blocks."""
    from rasterio.windows import Window

    if not np.issubdtype(np.dtype(src.dtypes[idx - 1]), np.floating):
        return 0
    h, w = src.height, src.width
    rows = max(1, 4_000_000 // max(w, 1))
    n = 0
    for r0 in range(0, h, rows):
        block = src.read(idx, window=Window(0, r0, w, min(rows, h - r0)))
        n += int(np.isinf(block).sum())
    return n


def _image_bands(ctx: _Context, r: _Raster, shown: str, what: str) -> list[tuple[str, int]]:
    """The bands of a year's image that the features need, found as the features stage finds them.

    Each needed band (:func:`minecarbon.features.required_bands` of
    ``[features]``) is looked up with :func:`minecarbon.features.find_bands`
    (``[images].bands``, band descriptions, the sensor's band ids) on the
    image's band descriptions; each one missing is a problem naming the
    feature that needs it.  Returns (common name, 1-based index) of the
    bands found.
    """
    import xarray as xr

    from ..errors import InputError
    from ..features import find_bands

    need = ctx.need_bands
    if not need:
        return []
    cfg = ctx.cfg
    names = [d or f"band_{i + 1}" for i, d in enumerate(r.descriptions)]  # as io.open_raster names them
    probe = xr.DataArray(np.arange(1, len(names) + 1).reshape(-1, 1, 1), dims=("band", "y", "x"),
                         coords={"band": names})
    present = ", ".join(names)
    wanted: list[tuple[str, int]] = []
    for common, why in need.items():
        try:
            found = find_bands(probe, [common], cfg.images.sensor, cfg.images.bands, what=what, why=need)
        except InputError:
            pass
        else:
            wanted.append((common, int(found[common].item())))
            continue
        spec = str(cfg.images.bands.get(common, "")).strip()
        if spec.isdigit() and spec not in names:
            ctx.add(shown, f"band {spec}", f"the {what} has {r.count} band(s), so band index {spec} "
                    f"([images].bands.{common}, needed by {why}) does not exist", f"Correct "
                    f"[images].bands.{common} (bands present: {present}).")
            continue
        sensor = get_sensor(cfg.images.sensor) if cfg.images.sensor else None
        if sensor is not None and sensor.band(common) is None:
            fix = (f"The sensor {sensor.name} ([images].sensor) has no {common} band: remove {why} from "
                   f"[features], or map {common} to a band of the file in [images].bands.")
        elif spec and spec != common:
            fix = (f"Set the band description in the file or map {common} to one of the bands present in "
                   f"[images].bands.")
        else:
            fix = (f"Name the band '{common}' in the file's band descriptions or map it in [images].bands "
                   f"({common} = \"<band description or 1-based index>\")"
                   + ("" if sensor else ", or set [images].sensor so that its band ids (SR_B4, B04, ...) are "
                      "recognised") + ".")
        if not any(r.descriptions):
            fix += " The bands have no descriptions: map them by 1-based index, e.g. nir = \"4\"."
        label = spec or common
        role = f"the {common} band, " if label != common else ""
        ctx.add(shown, f"band '{label}'", f"the {what} has no band '{label}' ({role}needed by {why}); bands "
                f"present: {present}", fix)
    return wanted


def _valid_mask(arr: np.ndarray, nodata: float | None) -> np.ndarray:
    ok = np.ones(arr.shape, dtype=bool)
    if np.issubdtype(arr.dtype, np.floating):
        ok &= np.isfinite(arr)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        ok &= arr != nodata
    return ok


def _valid_sample(src: Any, idx: int, nodata: float | None) -> np.ndarray:
    """Valid pixel values of a band.

    Small rasters are read whole.  Large ones are sampled with a grid of small
    windows (touching few blocks, so a 5000 x 5000 image costs little); only
    when the sample holds no valid pixel is the band scanned completely, so
    that "all nodata" is never claimed from a sample.
    """
    from rasterio.windows import Window

    h, w = src.height, src.width
    if h * w <= _SAMPLE_PX * _SAMPLE_PX:
        arr = src.read(idx)
        return arr[_valid_mask(arr, nodata)]
    n, size = 16, 64
    parts = []
    for r0 in np.linspace(0, max(h - size, 0), n).astype(int):
        for c0 in np.linspace(0, max(w - size, 0), n).astype(int):
            block = src.read(idx, window=Window(int(c0), int(r0), min(size, w), min(size, h)))
            parts.append(block[_valid_mask(block, nodata)])
    vals = np.concatenate(parts)
    if vals.size:
        return vals
    rows = max(1, 4_000_000 // max(w, 1))
    for r0 in range(0, h, rows):
        block = src.read(idx, window=Window(0, r0, w, min(rows, h - r0)))
        vals = block[_valid_mask(block, nodata)]
        if vals.size:
            return vals[:100_000]
    return vals


def _check_forest_codes(ctx: _Context, src: Any, shown: str, what: str) -> None:
    from rasterio.windows import Window

    codes = ctx.cfg.forest_type_codes.model_dump()
    allowed = set(codes.values())
    nodata = src.nodatavals[0]
    h, w = src.height, src.width
    rows = max(1, 4_000_000 // max(w, 1))
    found: set[float] = set()
    for r0 in range(0, h, rows):
        block = src.read(1, window=Window(0, r0, w, min(rows, h - r0)))
        found.update(np.unique(block[_valid_mask(block, nodata)]).tolist())
        if len(found) > 1000:
            break
    unknown = sorted(v for v in found if v not in allowed)
    if unknown:
        legend = ", ".join(f"{v} {k}" for k, v in codes.items())
        ctx.add(shown, "(file)", f"the {what} has value(s) {_values(unknown, 8)} that are not forest-type "
                f"codes ({legend}) nor its nodata ({_fmt(nodata) if nodata is not None else 'none set'})",
                "Recode the map to these codes, set its nodata value, or give your codes in "
                "[forest_type_codes].")


def _check_values(ctx: _Context, r: _Raster, shown: str, what: str, samples: dict[str, np.ndarray]) -> None:
    """Warn about values in unexpected units (a wrong scale is the commonest silent error)."""
    vals = next((v for v in samples.values() if v.size), None)
    if vals is None:
        return
    med = float(np.median(vals.astype(float)))
    if r.kind == "image":
        label = next(k for k, v in samples.items() if v.size)
        refl = med * ctx.cfg.images.scale + ctx.cfg.images.offset
        if not -0.1 <= refl <= 1.2:
            ctx.add(shown, f"band '{label}'", f"the {what} gives a median reflectance of {refl:.3g} in band "
                    f"'{label}' with scale {ctx.cfg.images.scale:g} and offset {ctx.cfg.images.offset:g} "
                    f"(median value {med:.4g}); reflectance should be about 0-1",
                    "Set [images].scale and [images].offset for your product (already-scaled "
                    "reflectance: scale = 1, offset = 0).", "warning", "reflectance-scale")
    elif r.kind == "temperature" and not -40 <= med <= 40:
        ctx.add(shown, "(file)", f"the {what} has a median of {med:.4g}; mean annual temperature in deg C "
                "is expected (about -40 to 40)", "Convert it to deg C (Kelvin: subtract 273.15; "
                "tenths of a degree: divide by 10).", "warning", "climate-units")
    elif r.kind == "precipitation" and not 20 <= med <= 10000:
        ctx.add(shown, "(file)", f"the {what} has a median of {med:.4g}; annual precipitation in mm is "
                "expected (about 20-10000)", "Convert it to mm per year (metres: multiply by 1000; "
                "mm/day: multiply by 365).", "warning", "climate-units")
    elif r.kind == "dem" and (float(np.min(vals)) < -500 or float(np.max(vals)) > 9000):
        ctx.add(shown, "(file)", f"the DEM has values from {float(np.min(vals)):.4g} to "
                f"{float(np.max(vals)):.4g}; elevation in metres is expected", "Convert it to metres or "
                "set its nodata value.", "warning", "dem-values")


def _check_feature_rasters(ctx: _Context) -> None:
    """Canopy rasters whose band names collide, and a DEM with several bands (the features stage fails)."""
    cfg = ctx.cfg
    seen: dict[str, Path] = {}
    for r in ctx.rasters:
        if r.kind == "dem" and r.ok and r.count > 1 and cfg.features.terrain:
            ctx.add(ctx.show(r.path), "(file)", f"the DEM has {r.count} bands; the terrain features "
                    f"({', '.join(cfg.features.terrain)}) need one band of elevations (m)",
                    "Point [inputs].dem at a single-band elevation raster (e.g. 'gdal_translate -b 1').")
        if r.kind != "canopy" or not r.ok:
            continue
        for i, d in enumerate(r.descriptions):
            name = d or f"band_{i + 1}"
            other = seen.get(name)
            if other is None:
                seen[name] = r.path
                continue
            in_what = "another band of this file" if other == r.path else f"a band of {ctx.show(other)}"
            ctx.add(ctx.show(r.path), f"band {i + 1} ('{name}')", f"canopy band name {name!r} is also "
                    f"{in_what}; every canopy band becomes a feature named after its description, so names "
                    f"must be unique across [features].canopy" + ("" if d else " (the band has no description)"),
                    "Give the bands distinct descriptions (e.g. 'chm_mean_m', 'cover_pct') when writing the "
                    "rasters.")


def _check_covariates(ctx: _Context) -> None:
    pf, a = ctx.project_file, ctx.cfg.assess
    if not (a.cumulative_covariates or a.cumulative_start_year or a.cumulative_end_year):
        return
    from ..project.plans import cumulative_years

    _, years, why = cumulative_years(ctx.cfg, ctx.cfg.project.mining_start_year or ctx.first_disturbance_year)
    if why is not None:
        key = "[assess].cumulative_covariates" if a.cumulative_covariates else "[assess]"
        ctx.add(pf, key, f"the cumulative effect will not be computed ({why}), so the cumulative-effect "
                f"settings are not used", "Set [project].mining_start_year (leaving at least 2 pre-mining "
                "years in the monitoring period) or give a disturbance layer with years; or remove the "
                "settings.", "warning")
        return
    for name, pattern in a.cumulative_covariates.items():
        key = f"[assess].cumulative_covariates.{name}"
        if "{year}" not in pattern and len(years) > 1:
            ctx.add(pf, key, f"the path {pattern!r} has no {{year}}; the same grid will be used for every year "
                    f"(a constant covariate is collinear with the intercept)", "Use one grid per year, e.g. "
                    f"'climate/{name}_{{year}}.tif'.", "warning")
        need = f"each year the cumulative effect reads, {_years_text(years)} (pre-mining years and period)"
        for y, p in _year_files(ctx, key, pattern, years, need):
            r = _Raster("covariate", key, y, p, label=name)
            ctx.guard(ctx.show(p), "(file)", _open_one_raster, ctx, r)
            if r.ok:
                ctx.guard(ctx.show(p), "(file)", _check_one_raster, ctx, r)


def _check_scenes(ctx: _Context) -> None:
    """``[images].scenes``: the rules of :mod:`minecarbon.composite.checks`."""
    if ctx.cfg.images.scenes:
        from ..composite.checks import scene_findings

        for file, where, message, fix, severity in scene_findings(ctx.cfg):
            ctx.add(ctx.show(Path(file)), where, message, fix, severity)  # type: ignore[arg-type]

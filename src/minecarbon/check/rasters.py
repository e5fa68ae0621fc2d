"""The rasters of a project: files of every year, opened through their specs, the project CRS, cross-file rules.

The rules of one raster file are its spec's (:mod:`minecarbon.inputs.rasters`);
what stays here needs several files: the CRS the project works in (chosen from
the opened rasters), canopy band names unique across files, the covariates of
the cumulative effect, the scenes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..inputs.rasters import RASTERS, what_of as _what, year_files
from ..inputs._text import years_text as _years_text
from ._context import _Context, _pyproj, _crs_name, _Raster

_SPEC = {spec.kind: spec for spec in RASTERS.values()}


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
    found, problems = year_files(ctx.cfg, key, pattern, years, need, ctx.show, ctx.project_file)
    ctx.problems += problems
    return found


def _open_rasters(ctx: _Context) -> None:
    for r in ctx.rasters:
        ctx.guard(ctx.show(r.path), "(file)", _open_one_raster, ctx, r)


def _open_one_raster(ctx: _Context, r: _Raster) -> None:
    ctx.problems += _SPEC[r.kind].open(r, ctx.show(r.path))


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
    ctx.problems += _SPEC[r.kind].content_problems(
        r, ctx.show(r.path), cfg=ctx.cfg, target_crs=ctx.target_crs, target_from=ctx.target_from, area=ctx.area,
        area_crs=ctx.area_crs, need_bands=ctx.need_bands)


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

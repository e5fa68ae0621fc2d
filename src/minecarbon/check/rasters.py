"""The rasters of a project: files of every year, opened through their specs, the project CRS, cross-file rules.

The rules of one raster file are its spec's (:mod:`minecarbon.inputs.rasters`);
what stays here needs several files: the CRS the project works in (chosen from
the opened rasters), canopy band names unique across files, the covariates of
the cumulative effect, the scenes.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import Problem
from ..inputs.files import covariate_files, project_files
from ..inputs.rasters import RASTERS, band_name_problems, what_of as _what
from ..inputs._crs import crs_name as _crs_name
from ..inputs._crs import pyproj_crs as _pyproj
from ._context import _Context, _Raster

_SPEC = {spec.kind: spec for spec in RASTERS.values()}


def _check_files_exist(ctx: _Context) -> None:
    rasters, problems = project_files(ctx.cfg, ctx.show, ctx.project_file)
    ctx.rasters += rasters
    ctx.problems += problems


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
    ctx.problems += band_name_problems(ctx.rasters, ctx.cfg, ctx.show)


def _check_covariates(ctx: _Context) -> None:
    for item in covariate_files(ctx.cfg, ctx.first_disturbance_year, ctx.show, ctx.project_file):
        if isinstance(item, Problem):
            ctx.problems.append(item)
            continue
        ctx.guard(ctx.show(item.path), "(file)", _open_one_raster, ctx, item)
        if item.ok:
            ctx.guard(ctx.show(item.path), "(file)", _check_one_raster, ctx, item)


def _check_scenes(ctx: _Context) -> None:
    """``[images].scenes``: the rules of :mod:`minecarbon.composite.checks`."""
    if ctx.cfg.images.scenes:
        from ..composite.checks import scene_findings

        for file, where, message, fix, severity in scene_findings(ctx.cfg):
            ctx.add(ctx.show(Path(file)), where, message, fix, severity)  # type: ignore[arg-type]

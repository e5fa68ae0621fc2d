"""Checks of the polygon layers: the rules every layer shares (``inputs.polygons``), then each declared layer's
spec (``minecarbon.inputs``); the monitoring area from the boundary."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..inputs._text import numeric as _numeric
from ..inputs.layers import zone_problems
from ..inputs.polygons import (
    BOUNDARY_RULES,
    PLAN_RESTORATION_RULES,
    ZONES_RULES,
    PolygonLayer,
    PolygonRules,
    boundary_area,
    layer_problems,
    layer_rules,
)
from ..inputs.spec import Report
from ._context import _Context


def _options(ctx: _Context) -> SimpleNamespace:
    return SimpleNamespace(target_crs=ctx.target_crs, target_from=ctx.target_from, area=ctx.area,
                           area_crs=ctx.area_crs)


def _polygon_layer(ctx: _Context, path: Path, rules: PolygonRules, attributes: Any = None) -> PolygonLayer | None:
    """Open a polygon layer and run the rules the stage readers run too
    (:func:`minecarbon.inputs.polygons.layer_problems`: those every layer shares, its attributes, in the area)."""
    rep = Report(ctx.show(path))
    layer = layer_problems(rep, _options(ctx), path, rules, attributes)
    ctx.problems += rep.problems
    return layer


def _check_boundary(ctx: _Context) -> None:
    cfg = ctx.cfg
    path = cfg.path(cfg.area.boundary)
    assert path is not None
    if not path.exists():
        return  # reported by _check_files_exist
    layer = _polygon_layer(ctx, path, BOUNDARY_RULES)
    if layer is not None and layer.usable:
        rep = Report(layer.shown)
        ctx.area, ctx.area_crs = boundary_area(rep, layer, ctx.target_crs, cfg.area.buffer_m)
        ctx.problems += rep.problems


def _check_layers(ctx: _Context) -> None:
    from ..inputs import LAYERS

    for spec in LAYERS.values():
        section, name = spec.key.split(".")
        value = getattr(getattr(ctx.cfg, section), name)
        if value is None:
            continue
        path = ctx.cfg.path(value)
        if path is None or not path.exists():
            continue
        ctx.guard(ctx.show(path), "(file)", _check_layer, ctx, spec, path)


def _check_layer(ctx: _Context, spec: Any, path: Path) -> None:
    """A layer of :data:`minecarbon.inputs.LAYERS`: what every polygon layer shares, then its spec's rules."""
    layer = _polygon_layer(ctx, path, layer_rules(spec),
                           lambda lay: spec.layer_problems(lay.gdf, lay.shown, usable=lay.usable, cfg=ctx.cfg))
    if layer is None or not layer.usable:
        return
    if spec.key == "inputs.disturbance" and "year" in layer.attrs:
        num, _, _ = _numeric(layer.gdf["year"].astype(object).where(layer.gdf["year"].notna(), ""))
        if bool(num.notna().any()):
            ctx.first_disturbance_year = int(num.dropna().min())


def _check_zones(ctx: _Context) -> None:
    a = ctx.cfg.assess
    path = ctx.cfg.path(a.zones)
    if path is None or not path.exists():
        return  # not set, or reported by _check_files_exist
    _polygon_layer(ctx, path, ZONES_RULES, lambda lay: zone_problems(lay, a.zones_field))


def _check_plan_restoration(ctx: _Context) -> None:
    path = ctx.cfg.path(ctx.cfg.plots.plan_restoration)
    if path is None or not path.exists():
        return
    _polygon_layer(ctx, path, PLAN_RESTORATION_RULES)

"""Checks of the polygon layers: the rules every layer shares (``inputs.polygons``), then each declared layer's
spec (``minecarbon.inputs``); the monitoring area from the boundary."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..inputs._text import numeric as _numeric
from ..inputs.layers import zone_field_problems
from ..inputs.polygons import PolygonLayer, boundary_area, in_area, polygon_layer
from ..inputs.spec import Report
from ._context import _Context


def _options(ctx: _Context) -> SimpleNamespace:
    return SimpleNamespace(target_crs=ctx.target_crs, target_from=ctx.target_from, area=ctx.area,
                           area_crs=ctx.area_crs)


def _polygon_layer(ctx: _Context, path: Path, what: str, key: str, **kw: Any) -> PolygonLayer | None:
    """Open a polygon layer and run the rules every layer shares (:func:`minecarbon.inputs.polygons.polygon_layer`)."""
    rep = Report(ctx.show(path))
    layer = polygon_layer(rep, _options(ctx), path, what, key, **kw)
    ctx.problems += rep.problems
    return layer


def _check_in_area(ctx: _Context, layer: PolygonLayer, what: str) -> None:
    rep = Report(layer.shown)
    in_area(rep, _options(ctx), layer, what)
    ctx.problems += rep.problems


def _check_boundary(ctx: _Context) -> None:
    cfg = ctx.cfg
    path = cfg.path(cfg.area.boundary)
    assert path is not None
    if not path.exists():
        return  # reported by _check_files_exist
    layer = _polygon_layer(ctx, path, "boundary layer ([area].boundary)", "[area].boundary",
                           no_features=("Draw the mining-right boundary (采矿权范围) as a polygon in this layer.",
                                        "error"), require_projected=True,
                           polygon_fix="Save the boundary as a polygon layer (in QGIS: Vector > Geometry Tools "
                                       "> Lines to Polygons).")
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
    key = f"[{spec.key.split('.')[0]}].{spec.key.split('.')[1]}"
    layer = _polygon_layer(ctx, path, f"{spec.what} ({key})", key,
                           no_features=(f"Add the features, or remove {key} from the project file if none.",
                                        "warning"), polygon_fix="Save the patches as polygons.")
    if layer is None:
        return
    ctx.problems += spec.layer_problems(layer.gdf, layer.shown, usable=layer.usable, cfg=ctx.cfg)
    if not layer.usable:
        return
    if spec.key == "inputs.disturbance" and "year" in layer.attrs:
        num, _, _ = _numeric(layer.gdf["year"].astype(object).where(layer.gdf["year"].notna(), ""))
        if bool(num.notna().any()):
            ctx.first_disturbance_year = int(num.dropna().min())
    _check_in_area(ctx, layer, spec.what)


def _check_zones(ctx: _Context) -> None:
    a = ctx.cfg.assess
    path = ctx.cfg.path(a.zones)
    if path is None or not path.exists():
        return  # not set, or reported by _check_files_exist
    what = "zone layer ([assess].zones)"
    layer = _polygon_layer(ctx, path, what, "[assess].zones",
                           no_features=("Draw the zones, or remove [assess].zones.", "error"))
    if layer is None:
        return
    rep = Report(layer.shown)
    zone_field_problems(rep, layer.gdf, layer.attrs, layer.usable, a.zones_field)
    ctx.problems += rep.problems
    _check_in_area(ctx, layer, "zone layer")


def _check_plan_restoration(ctx: _Context) -> None:
    path = ctx.cfg.path(ctx.cfg.plots.plan_restoration)
    if path is None or not path.exists():
        return
    layer = _polygon_layer(ctx, path, "planned restoration layer ([plots].plan_restoration)",
                           "[plots].plan_restoration",
                           no_features=("Draw the planned restoration land, or remove [plots].plan_restoration.",
                                        "warning"))
    if layer is not None:
        _check_in_area(ctx, layer, "planned restoration layer")

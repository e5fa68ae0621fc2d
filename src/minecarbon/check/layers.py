"""Checks of the polygon layers: what every layer shares, then each declared layer's spec (``minecarbon.inputs``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Severity
from ..inputs._text import numeric as _numeric
from ..inputs._text import one_line as _one_line
from ..inputs.spec import fid_where as _fid_where
from ._context import _Context, _crs_name, _same_crs, _transform_bounds


def _read_layer(ctx: _Context, path: Path, what: str, key: str) -> Any:
    """Open a vector layer read-only; None (with a problem) when it cannot be opened."""
    import geopandas as gpd

    shown = ctx.show(path)
    try:
        import pyogrio

        layers = pyogrio.list_layers(path)
    except Exception:  # noqa: BLE001
        layers = None
    try:
        gdf = gpd.read_file(path, engine="pyogrio", fid_as_index=True)
    except Exception as exc:  # noqa: BLE001
        ctx.add(shown, "(file)", f"the {what} ({key}) cannot be opened as a vector layer "
                f"({_one_line(str(exc))[:200]})", "Save it as a GeoPackage (.gpkg) or a complete "
                "Shapefile (.shp with .shx, .dbf and .prj).")
        return None
    if layers is not None and len(layers) > 1:
        counts = _layer_counts(path, [str(name) for name, _ in layers])
        others = [n for n, c in counts.items() if c and n != str(layers[0][0])]
        if counts.get(str(layers[0][0])) == 0 and others:
            ctx.add(shown, "(file)", f"the {what} has {len(layers)} layers; the first ({layers[0][0]!r}), which "
                    f"is the one used, is empty while {', '.join(map(repr, others[:3]))} has features",
                    "Keep one layer in the file (delete the empty one, e.g. in QGIS: Browser > right-click "
                    "the layer > Delete Layer).", "warning", "empty-first-layer")
        else:
            ctx.add(shown, "(file)", f"the {what} has {len(layers)} layers; the first ({layers[0][0]!r}) is "
                    f"used", "Keep one layer in the file.", "warning")
    gdf.columns = [str(c).strip() if c != gdf.geometry.name else c for c in gdf.columns]
    return gdf


def _layer_counts(path: Path, names: list[str]) -> dict[str, int | None]:
    """Feature count of each layer of a file (None where the driver cannot tell)."""
    import pyogrio

    out: dict[str, int | None] = {}
    for name in names:
        try:
            n = pyogrio.read_info(path, layer=name).get("features")
            out[name] = None if n is None or n < 0 else int(n)
        except Exception:  # noqa: BLE001
            out[name] = None
    return out


def _check_layer_crs(ctx: _Context, gdf: Any, shown: str, what: str, require_projected: bool) -> bool:
    """CRS of a layer: present, plausible, projected where needed; False when there is none."""
    crs = gdf.crs
    if crs is None:
        ctx.add(shown, "(file)", f"the {what} has no CRS", "Set it in QGIS (Layer > Set CRS) or with "
                "'ogr2ogr -a_srs EPSG:XXXX' - the CRS its coordinates are really in.")
        return False
    if not crs.is_projected:
        geoms = gdf.geometry
        ok = ~(geoms.isna() | geoms.is_empty)
        if bool(ok.any()):
            x0, y0, x1, y1 = geoms[ok].total_bounds
            if min(x0, x1) < -360 or max(x0, x1) > 360 or min(y0, y1) < -90 or max(y0, y1) > 90:
                ctx.add(shown, "(file)", f"the {what} says it is in {_crs_name(crs)} (degrees), but its "
                        f"coordinates ({x0:.0f}, {y0:.0f} .. {x1:.0f}, {y1:.0f}) are not longitudes and "
                        f"latitudes: its CRS (.prj) is wrong", "Assign the CRS its coordinates are really in "
                        "(QGIS: Layer > Set CRS; or 'ogr2ogr -a_srs EPSG:XXXX'), probably the project's.")
                return False
        if require_projected:
            ctx.add(shown, "(file)", f"the {what} is in a geographic CRS ({_crs_name(crs)}, degrees); "
                    f"the buffer and areas need metres", "Reproject it to a projected CRS in metres (e.g. "
                    "UTM: 'ogr2ogr -t_srs EPSG:32649 out.gpkg in.gpkg').")
            return True
    if ctx.target_crs is not None and not _same_crs(crs, ctx.target_crs):
        ctx.add(shown, "(file)", f"the {what} is in {_crs_name(crs)}, not {ctx.target_from}; it will be "
                f"reprojected", f"Nothing, if that is intended; or deliver it in "
                f"{_crs_name(ctx.target_crs)}.", "warning")
    return True


_POLY = ("Polygon", "MultiPolygon")


@dataclass
class _Layer:
    """A polygon layer opened by :func:`_polygon_layer`."""

    gdf: Any
    shown: str
    empty: Any  # boolean Series: features without geometry
    has_crs: bool

    @property
    def attrs(self) -> list[str]:
        return [c for c in self.gdf.columns if c != self.gdf.geometry.name]

    @property
    def usable(self) -> bool:
        """True when some feature has a geometry."""
        return len(self.gdf) > 0 and not bool(self.empty.all())


def _polygon_layer(ctx: _Context, path: Path, what: str, key: str, *, no_features: tuple[str, Severity],
                   require_projected: bool = False, draw: str = "Delete them or draw their geometry.",
                   polygon_fix: str = "Save the features as polygons.") -> _Layer | None:
    """Open a polygon layer and run the checks every layer shares.

    Reported: cannot be opened, CRS (missing, implausible, geographic where
    ``require_projected``, another than the project's), no features (with the
    fix and severity ``no_features``), features without geometry (warning) and
    non-polygon features (error).  Returns None when the layer cannot be
    opened.
    """
    shown = ctx.show(path)
    gdf = _read_layer(ctx, path, what, key)
    if gdf is None:
        return None
    has_crs = _check_layer_crs(ctx, gdf, shown, what, require_projected)
    geoms = gdf.geometry
    empty = geoms.isna() | geoms.is_empty
    layer = _Layer(gdf, shown, empty, has_crs)
    if not layer.usable:
        fix, severity = no_features
        ctx.add(shown, "(file)", f"the {what} has no features (or only empty geometries)", fix, severity)
        return layer
    if bool(empty.any()):
        ctx.add(shown, _fid_where(gdf, empty), f"feature(s) of the {what} without geometry", draw, "warning")
    not_poly = ~empty & ~geoms.geom_type.isin(_POLY)
    if bool(not_poly.any()):
        kinds = sorted(set(geoms[not_poly].geom_type))
        ctx.add(shown, _fid_where(gdf, not_poly), f"the {what} must hold polygons, but has "
                f"{', '.join(kinds)} geometries", polygon_fix)
    return layer


def _check_in_area(ctx: _Context, layer: _Layer, what: str) -> None:
    """Error when no feature of the layer lies in the monitoring area (a wrong file or CRS)."""
    if ctx.area is None or not layer.has_crs or not layer.usable:
        return
    try:
        b = _transform_bounds(tuple(layer.gdf.geometry[~layer.empty].total_bounds), layer.gdf.crs, ctx.area_crs)
    except Exception:  # noqa: BLE001
        return
    from shapely.geometry import box

    if not box(*b).intersects(ctx.area):
        ctx.add(layer.shown, "(file)", f"no feature of the {what} lies in the monitoring area",
                "Check that it is the right file and that its CRS is assigned correctly.")


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
    if layer is None or not layer.usable:
        return
    gdf, geoms = layer.gdf, layer.gdf.geometry
    poly = ~layer.empty & geoms.geom_type.isin(_POLY)
    invalid = poly & ~geoms.is_valid
    if bool(invalid.any()):
        ctx.add(layer.shown, _fid_where(gdf, invalid), "invalid polygon geometry (self-intersection or similar)",
                "Repair it (QGIS: Processing > Fix geometries).", "warning", "invalid-geometry")
    if not layer.has_crs or not bool(poly.any()):
        return
    crs = gdf.crs
    if crs.is_projected:
        area_crs = crs
    elif ctx.target_crs is not None:
        area_crs = ctx.target_crs
    else:
        return
    shapes = gdf.loc[np.asarray(poly)]
    if not _same_crs(crs, area_crs):
        shapes = shapes.to_crs(area_crs)
    geom = shapes.geometry.buffer(0).union_all()
    ctx.area = geom.buffer(cfg.area.buffer_m)
    ctx.area_crs = area_crs


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
    if a.zones_field and a.zones_field not in layer.attrs:
        near = [c for c in layer.attrs if c.lower() == a.zones_field.lower()]
        ctx.add(layer.shown, f"attribute {a.zones_field}", f"the zone layer has no attribute {a.zones_field!r} "
                f"([assess].zones_field); attributes: {', '.join(layer.attrs) or 'none'}",
                f"Set [assess].zones_field = {near[0]!r}." if near else "Set [assess].zones_field to one of its "
                "attributes, or remove it for one zone per polygon.")
    elif a.zones_field and layer.usable:
        vals = layer.gdf[a.zones_field]
        blank = vals.isna() | (vals.astype(str).str.strip() == "")
        if bool(blank.any()):
            ctx.add(layer.shown, _fid_where(layer.gdf, blank, a.zones_field), f"{a.zones_field} is empty, so "
                    f"these polygons belong to no named zone", f"Fill in {a.zones_field}.", "warning")
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

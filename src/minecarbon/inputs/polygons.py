"""What every polygon layer shares, declared once: opening, CRS, polygons, features in the monitoring area.

The rules particular to one layer (attributes and their values) are its
:class:`~minecarbon.inputs.spec.VectorInput`'s; these run for every polygon
layer a project names (boundary, disturbance, planned, reclamation, zones,
planned restoration).  Each adds its problems to a
:class:`~minecarbon.inputs.spec.Report`; ``o`` holds the options
(``target_crs``, ``target_from``, ``area``, ``area_crs``), as for the raster
rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Severity
from ._crs import crs_name as _crs_name
from ._crs import pyproj_crs as _pyproj
from ._crs import same_crs as _same_crs
from ._crs import transform_bounds as _transform_bounds
from ._report import Report
from ._report import fid_where as _fid_where
from ._text import one_line as _one_line

__all__ = ["BOUNDARY_RULES", "PLAN_RESTORATION_RULES", "POLYGON_TYPES", "PolygonLayer", "PolygonRules",
           "ZONES_RULES", "boundary_area", "in_area", "layer_rules", "polygon_layer", "project_area", "read_layer",
           "read_polygons", "run_target_from"]


def read_layer(rep: Report, o: Any, path: Path, what: str, key: str) -> Any:
    """Open a vector layer read-only; None (with a problem) when it cannot be opened."""
    import geopandas as gpd

    try:
        import pyogrio

        layers = pyogrio.list_layers(path)
    except Exception:  # noqa: BLE001
        layers = None
    try:
        gdf = gpd.read_file(path, engine="pyogrio", fid_as_index=True)
    except Exception as exc:  # noqa: BLE001
        rep.add("(file)", f"the {what} ({key}) cannot be opened as a vector layer "
                f"({_one_line(str(exc))[:200]})", "Save it as a GeoPackage (.gpkg) or a complete "
                "Shapefile (.shp with .shx, .dbf and .prj).")
        return None
    if layers is not None and len(layers) > 1:
        counts = _layer_counts(path, [str(name) for name, _ in layers])
        others = [n for n, c in counts.items() if c and n != str(layers[0][0])]
        if counts.get(str(layers[0][0])) == 0 and others:
            rep.add("(file)", f"the {what} has {len(layers)} layers; the first ({layers[0][0]!r}), which "
                    f"is the one used, is empty while {', '.join(map(repr, others[:3]))} has features",
                    "Keep one layer in the file (delete the empty one, e.g. in QGIS: Browser > right-click "
                    "the layer > Delete Layer).", "warning", "empty-first-layer")
        else:
            rep.add("(file)", f"the {what} has {len(layers)} layers; the first ({layers[0][0]!r}) is "
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


def _check_layer_crs(rep: Report, o: Any, gdf: Any, what: str, require_projected: bool) -> bool:
    """CRS of a layer: present, plausible, projected where needed; False when there is none."""
    crs = gdf.crs
    if crs is None:
        rep.add("(file)", f"the {what} has no CRS", "Set it in QGIS (Layer > Set CRS) or with "
                "'ogr2ogr -a_srs EPSG:XXXX' - the CRS its coordinates are really in.")
        return False
    if not crs.is_projected:
        geoms = gdf.geometry
        ok = ~(geoms.isna() | geoms.is_empty)
        if bool(ok.any()):
            x0, y0, x1, y1 = geoms[ok].total_bounds
            if min(x0, x1) < -360 or max(x0, x1) > 360 or min(y0, y1) < -90 or max(y0, y1) > 90:
                rep.add("(file)", f"the {what} says it is in {_crs_name(crs)} (degrees), but its "
                        f"coordinates ({x0:.0f}, {y0:.0f} .. {x1:.0f}, {y1:.0f}) are not longitudes and "
                        f"latitudes: its CRS (.prj) is wrong", "Assign the CRS its coordinates are really in "
                        "(QGIS: Layer > Set CRS; or 'ogr2ogr -a_srs EPSG:XXXX'), probably the project's.")
                return False
        if require_projected and not _projected(o.target_crs):  # with a projected target it is reprojected first
            rep.add("(file)", f"the {what} is in a geographic CRS ({_crs_name(crs)}, degrees); "
                    f"the buffer and areas need metres", "Reproject it to a projected CRS in metres (e.g. "
                    "UTM: 'ogr2ogr -t_srs EPSG:32649 out.gpkg in.gpkg').")
            return True
    if o.target_crs is not None and not _same_crs(crs, o.target_crs):
        rep.add("(file)", f"the {what} is in {_crs_name(crs)}, not {o.target_from}; it will be "
                f"reprojected", f"Nothing, if that is intended; or deliver it in "
                f"{_crs_name(o.target_crs)}.", "warning")
    return True


def _projected(crs: Any) -> bool:
    """True when ``crs`` (any spelling pyproj reads, or None) is a projected CRS."""
    try:
        return crs is not None and bool(_pyproj(crs).is_projected)
    except Exception:  # noqa: BLE001  (an unreadable target is reported where it is read)
        return False


POLYGON_TYPES = ("Polygon", "MultiPolygon")


@dataclass
class PolygonLayer:
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


def polygon_layer(rep: Report, o: Any, path: Path, what: str, key: str, *, no_features: tuple[str, Severity],
                   require_projected: bool = False, draw: str = "Delete them or draw their geometry.",
                   polygon_fix: str = "Save the features as polygons.") -> PolygonLayer | None:
    """Open a polygon layer and run the checks every layer shares.

    Reported: cannot be opened, CRS (missing, implausible, geographic where
    ``require_projected``, another than the project's), no features (with the
    fix and severity ``no_features``), features without geometry (warning) and
    non-polygon features (error).  Returns None when the layer cannot be
    opened.
    """
    gdf = read_layer(rep, o, path, what, key)
    if gdf is None:
        return None
    has_crs = _check_layer_crs(rep, o, gdf, what, require_projected)
    geoms = gdf.geometry
    empty = geoms.isna() | geoms.is_empty
    layer = PolygonLayer(gdf, rep.file, empty, has_crs)
    if not layer.usable:
        fix, severity = no_features
        rep.add("(file)", f"the {what} has no features (or only empty geometries)", fix, severity)
        return layer
    if bool(empty.any()):
        rep.add(_fid_where(gdf, empty), f"feature(s) of the {what} without geometry", draw, "warning")
    not_poly = ~empty & ~geoms.geom_type.isin(POLYGON_TYPES)
    if bool(not_poly.any()):
        kinds = sorted(set(geoms[not_poly].geom_type))
        rep.add(_fid_where(gdf, not_poly), f"the {what} must hold polygons, but has "
                f"{', '.join(kinds)} geometries", polygon_fix)
    return layer


def in_area(rep: Report, o: Any, layer: PolygonLayer, what: str) -> None:
    """Error when no feature of the layer lies in the monitoring area (a wrong file or CRS)."""
    if o.area is None or not layer.has_crs or not layer.usable:
        return
    try:
        b = _transform_bounds(tuple(layer.gdf.geometry[~layer.empty].total_bounds), layer.gdf.crs, o.area_crs)
    except Exception:  # noqa: BLE001
        return
    from shapely.geometry import box

    if not box(*b).intersects(o.area):
        rep.add("(file)", f"no feature of the {what} lies in the monitoring area",
                "Check that it is the right file and that its CRS is assigned correctly.")


def boundary_area(rep: Report, layer: PolygonLayer, target_crs: Any, buffer_m: float) -> tuple[Any, Any]:
    """(monitoring area, its CRS) from an opened boundary layer: its valid polygons buffered by ``buffer_m``, in its
    CRS if projected, else in ``target_crs``; (None, None) when there is none.  Invalid polygons are a warning."""
    import numpy as np

    gdf, geoms = layer.gdf, layer.gdf.geometry
    poly = ~layer.empty & geoms.geom_type.isin(POLYGON_TYPES)
    invalid = poly & ~geoms.is_valid
    if bool(invalid.any()):
        rep.add(_fid_where(gdf, invalid), "invalid polygon geometry (self-intersection or similar)",
                "Repair it (QGIS: Processing > Fix geometries).", "warning", "invalid-geometry")
    if not layer.has_crs or not bool(poly.any()):
        return None, None
    crs = gdf.crs
    if crs.is_projected:
        area_crs = crs
    elif target_crs is not None:
        area_crs = target_crs
    else:
        return None, None
    shapes = gdf.loc[np.asarray(poly)]
    if not _same_crs(crs, area_crs):
        shapes = shapes.to_crs(area_crs)
    geom = shapes.geometry.buffer(0).union_all()
    return geom.buffer(buffer_m), area_crs


# ---------------------------------------------------------------------------
# the same rules at run time
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PolygonRules:
    """How one polygon layer is checked: what ``check`` and the stage readers both pass to :func:`polygon_layer`."""

    what: str
    """Name in messages, with its key (``"zone layer ([assess].zones)"``)."""
    key: str
    short: str
    """Name in the in-area message (``"zone layer"``)."""
    no_features: tuple[str, Severity]
    require_projected: bool = False
    polygon_fix: str = "Save the features as polygons."
    in_area: bool = True
    boundary: bool = False
    """The boundary: its invalid polygons are reported (:func:`boundary_area`); it defines the area."""


BOUNDARY_RULES = PolygonRules(
    "boundary layer ([area].boundary)", "[area].boundary", "boundary layer",
    no_features=("Draw the mining-right boundary (采矿权范围) as a polygon in this layer.", "error"),
    require_projected=True, polygon_fix="Save the boundary as a polygon layer (in QGIS: Vector > Geometry Tools "
                                        "> Lines to Polygons).", in_area=False, boundary=True)
ZONES_RULES = PolygonRules("zone layer ([assess].zones)", "[assess].zones", "zone layer",
                           no_features=("Draw the zones, or remove [assess].zones.", "error"))
PLAN_RESTORATION_RULES = PolygonRules(
    "planned restoration layer ([plots].plan_restoration)", "[plots].plan_restoration", "planned restoration layer",
    no_features=("Draw the planned restoration land, or remove [plots].plan_restoration.", "warning"))


def layer_rules(spec: Any) -> PolygonRules:
    """The shared rules of a declared layer (:data:`minecarbon.inputs.LAYERS`)."""
    section, name = spec.key.split(".")
    key = f"[{section}].{name}"
    return PolygonRules(f"{spec.what} ({key})", key, spec.what,
                        no_features=(f"Add the features, or remove {key} from the project file if none.", "warning"),
                        polygon_fix="Save the patches as polygons.")


def layer_problems(rep: Report, o: Any, path: Path, rules: PolygonRules,
                   attributes: Any = None) -> PolygonLayer | None:
    """Every problem of a polygon layer (shared rules, ``attributes(layer)`` -> problems, in-area) added to ``rep``.

    What ``check`` runs for a layer and what :func:`read_polygons` raises on.
    """
    layer = polygon_layer(rep, o, path, rules.what, rules.key, no_features=rules.no_features,
                          require_projected=rules.require_projected, polygon_fix=rules.polygon_fix)
    if layer is None:
        return None
    if attributes is not None:
        rep.problems += attributes(layer)
    if rules.in_area and layer.usable:
        in_area(rep, o, layer, rules.short)
    return layer


def read_polygons(path: str | Path, rules: PolygonRules, *, file: str | None = None, target_crs: Any = None,
                  target_from: str = "", area: Any = None, area_crs: Any = None, buffer_m: float = 0.0,
                  attributes: Any = None) -> Any:
    """Read a polygon layer through the rules ``check`` runs (:func:`layer_problems`).

    Raises :class:`~minecarbon.errors.InputError` carrying every error (the
    same problems ``check`` lists), warns the warnings; returns the layer
    (indexed by feature id) reprojected to ``target_crs`` when given.  For
    the boundary (``rules.boundary``) returns ``(layer, monitoring area,
    its CRS)`` with the area of :func:`boundary_area` (``buffer_m``).
    """
    from types import SimpleNamespace

    from ..errors import MissingInputError
    from ._report import raise_or_warn

    path = Path(path)
    file = file or str(path)
    if not path.exists():
        raise MissingInputError(f"{rules.what} {path} does not exist. Check the path in the project file.")
    rep = Report(file)
    o = SimpleNamespace(target_crs=target_crs, target_from=target_from or "the project's CRS", area=area,
                        area_crs=area_crs)
    layer = layer_problems(rep, o, path, rules, attributes)
    shape = (None, None)
    if layer is not None and rules.boundary and layer.usable:
        shape = boundary_area(rep, layer, target_crs, buffer_m)
    raise_or_warn(rep.problems, f"{file}: {sum(p.is_error for p in rep.problems)} problem(s) in the {rules.what}:")
    assert layer is not None  # a layer that cannot be opened is an error
    gdf = layer.gdf
    if target_crs is not None and gdf.crs is not None and not _same_crs(gdf.crs, target_crs):
        gdf = gdf.to_crs(target_crs)
    return (gdf, *shape) if rules.boundary else gdf


def run_target_from(cfg: Any, crs: Any) -> str:
    """Where a stage's target CRS comes from, in ``check``'s words."""
    if cfg.project.crs is not None:
        return f"[project].crs ({cfg.project.crs})"
    return f"the CRS of the reference image {cfg.project.base} ({_crs_name(crs)})"


def project_area(cfg: Any, crs: Any) -> dict[str, Any]:
    """``area`` and ``area_crs`` of a project as ``check`` makes them (:func:`boundary_area` of its boundary read
    through :data:`BOUNDARY_RULES`), for :func:`read_polygons`; empty when the project has no boundary file."""
    path = cfg.path(cfg.area.boundary)
    if path is None or not Path(path).exists():
        return {}
    _, area, area_crs = read_polygons(path, BOUNDARY_RULES, file=str(cfg.area.boundary), target_crs=crs,
                                      target_from=run_target_from(cfg, crs), buffer_m=cfg.area.buffer_m)
    return {} if area is None else {"area": area, "area_crs": area_crs}

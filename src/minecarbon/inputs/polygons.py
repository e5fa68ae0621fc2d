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
from ._crs import same_crs as _same_crs
from ._crs import transform_bounds as _transform_bounds
from ._text import one_line as _one_line
from .spec import Report
from .spec import fid_where as _fid_where

__all__ = ["POLYGON_TYPES", "PolygonLayer", "boundary_area", "in_area", "polygon_layer", "read_layer"]


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
        if require_projected:
            rep.add("(file)", f"the {what} is in a geographic CRS ({_crs_name(crs)}, degrees); "
                    f"the buffer and areas need metres", "Reproject it to a projected CRS in metres (e.g. "
                    "UTM: 'ogr2ogr -t_srs EPSG:32649 out.gpkg in.gpkg').")
            return True
    if o.target_crs is not None and not _same_crs(crs, o.target_crs):
        rep.add("(file)", f"the {what} is in {_crs_name(crs)}, not {o.target_from}; it will be "
                f"reprojected", f"Nothing, if that is intended; or deliver it in "
                f"{_crs_name(o.target_crs)}.", "warning")
    return True


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

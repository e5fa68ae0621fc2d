"""Vector layers (GeoPackage, Shapefile, GeoJSON) through geopandas/pyogrio."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from ..errors import CRSError, InputError, MissingInputError
from .atomic import atomic_path
from .crs import same_crs


def read_vector(path: str | Path, what: str = "layer", target_crs=None,
                required: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """Read a polygon/point layer, check its CRS and columns, reproject to ``target_crs`` if given."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{what} {path} does not exist. Check the path in the project file.")
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{what} {path} cannot be opened as a vector layer ({exc}). "
                         f"Use GeoPackage or Shapefile.") from None
    if gdf.crs is None:
        raise CRSError(f"{what} {path} has no CRS. Set it in QGIS (Layer > Set CRS) or with "
                       f"ogr2ogr -a_srs EPSG:XXXX.")
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        raise InputError(f"{what} {path} lacks attribute(s) {', '.join(missing)} "
                         f"(it has: {', '.join(c for c in gdf.columns if c != 'geometry')}). Add them.")
    if len(gdf) and gdf.geometry.isna().all():
        raise InputError(f"{what} {path} has no geometries.")
    if target_crs is not None and not same_crs(gdf.crs, target_crs):
        gdf = gdf.to_crs(target_crs)
    return gdf


def write_vector(gdf: gpd.GeoDataFrame, path: str | Path, layer: str | None = None) -> Path:
    """Write a GeoPackage atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        gdf.to_file(tmp, driver="GPKG", layer=layer or path.stem, engine="pyogrio")
    return path

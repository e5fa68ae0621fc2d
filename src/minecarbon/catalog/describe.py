"""What a catalogued file is: format, CRS, bounding box and a short content summary.

Only headers are read (raster and vector metadata, LAS headers, the rows and
columns of tables), so describing a file costs milliseconds whatever its size.
A file that cannot be read is described as such (``details['error']``), never
an exception: the catalog records what is there.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

FORMATS: dict[str, str] = {
    ".tif": "GeoTIFF", ".tiff": "GeoTIFF", ".gpkg": "GeoPackage", ".shp": "Shapefile", ".geojson": "GeoJSON",
    ".csv": "CSV", ".xlsx": "XLSX", ".xls": "XLS", ".parquet": "Parquet", ".json": "JSON", ".las": "LAS",
    ".laz": "LAZ", ".png": "PNG", ".html": "HTML", ".pdf": "PDF", ".docx": "DOCX", ".toml": "TOML",
}


def file_format(path: Path) -> str:
    """Format name from the suffix ('GeoTIFF', 'CSV', ...); the upper-case suffix when unknown."""
    return FORMATS.get(path.suffix.lower(), path.suffix.lstrip(".").upper() or "file")


def _wgs84(crs, bounds) -> str | None:
    try:
        from pyproj import CRS, Transformer

        src = CRS.from_user_input(crs)
        if src.is_geographic:
            lon0, lat0, lon1, lat1 = bounds
        else:
            tr = Transformer.from_crs(src, CRS.from_epsg(4326), always_xy=True)
            lon0, lat0, lon1, lat1 = tr.transform_bounds(*bounds)
        return f"{lon0:.6f},{lat0:.6f},{lon1:.6f},{lat1:.6f}"
    except Exception:
        return None


def _crs_text(crs) -> str | None:
    if crs is None:
        return None
    try:
        from pyproj import CRS

        c = CRS.from_user_input(crs)
        epsg = c.to_epsg()
        return f"EPSG:{epsg}" if epsg else c.to_string()
    except Exception:
        return str(crs)


def describe(path: Path) -> dict:
    """Format, CRS, bbox (in the CRS and in WGS 84) and details of one file.

    Returns a dict with keys ``format``, ``crs``, ``bbox`` (minx, miny, maxx,
    maxy or None), ``bbox_wgs84`` (text or None) and ``details`` (JSON text).
    """
    path = Path(path)
    fmt = file_format(path)
    crs = bbox = None
    details: dict = {}
    try:
        if fmt == "GeoTIFF":
            import rasterio  # header only; pixel data is read through minecarbon.io

            with rasterio.open(path) as src:
                crs = src.crs
                bbox = tuple(float(v) for v in src.bounds)
                details = {"bands": [d or f"band_{i + 1}" for i, d in enumerate(src.descriptions)],
                           "width": int(src.width), "height": int(src.height),
                           "resolution": [abs(float(src.res[0])), abs(float(src.res[1]))],
                           "dtype": str(src.dtypes[0]), "nodata": None if src.nodata is None else float(src.nodata),
                           "units": src.tags().get("units")}
        elif fmt in ("GeoPackage", "Shapefile", "GeoJSON"):
            import pyogrio

            layers = [str(row[0]) for row in pyogrio.list_layers(path)]
            info = pyogrio.read_info(path, layer=layers[0] if layers else None)
            crs = info.get("crs")
            tb = info.get("total_bounds")
            if tb is not None and all(v == v for v in tb):
                bbox = tuple(float(v) for v in tb)
            details = {"layers": layers, "features": int(info.get("features", 0) or 0),
                       "fields": [str(f) for f in info.get("fields", [])],
                       "geometry_type": info.get("geometry_type")}
        elif fmt in ("CSV", "XLSX", "XLS", "Parquet"):
            from .tables import read_csv_table

            df = read_csv_table(path)
            details = {"rows": int(len(df)), "columns": [str(c) for c in df.columns]}
        elif fmt in ("LAS", "LAZ"):
            import laspy

            with laspy.open(path) as fh:
                h = fh.header
                bbox = (float(h.mins[0]), float(h.mins[1]), float(h.maxs[0]), float(h.maxs[1]))
                try:
                    crs = h.parse_crs()
                except Exception:
                    crs = None
                details = {"points": int(h.point_count), "point_format": int(h.point_format.id),
                           "version": str(h.version), "z_range": [float(h.mins[2]), float(h.maxs[2])]}
        elif fmt == "JSON":
            data = json.loads(path.read_text(encoding="utf-8"))
            details = {"keys": sorted(data)[:40]} if isinstance(data, dict) else {"items": len(data)}
    except Exception as exc:
        log.warning("catalog: could not read the header of %s (%s)", path, exc)
        details = {"error": f"{type(exc).__name__}: {exc}"}
    crs_txt = _crs_text(crs)
    return {"format": fmt, "crs": crs_txt, "bbox": bbox,
            "bbox_wgs84": _wgs84(crs, bbox) if crs is not None and bbox is not None else None,
            "details": json.dumps(details, ensure_ascii=False, default=str)}

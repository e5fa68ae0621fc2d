"""A STAC catalog of the raster products, so that other tools can browse them.

``<workspace>/catalog/stac/catalog.json`` is a self-contained STAC catalog
(pystac) with one collection per stage that wrote rasters and one item per
GeoTIFF.  Items carry the WGS 84 footprint, the time span (the year of a
yearly map, else the project period), the projection (``proj:code``,
``proj:bbox``, ``proj:shape``) and per asset the checksum and size (file
extension: ``file:checksum`` is the SHA-256 multihash ``1220<hex>``).  Links and
asset hrefs are relative, so the workspace can be moved or zipped.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

STAC_DIR = "stac"
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


def _span(row: pd.Series, start_year: int, end_year: int) -> tuple[dt.datetime, dt.datetime]:
    y0 = int(row["time_start"]) if pd.notna(row.get("time_start")) else start_year
    y1 = int(row["time_end"]) if pd.notna(row.get("time_end")) else end_year
    return (dt.datetime(y0, 1, 1, tzinfo=dt.timezone.utc),
            dt.datetime(y1, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc))


def _item_id(dataset_id: str) -> str:
    return dataset_id.replace("output:", "").replace("/", "-").replace(":", "-")


def build_stac(datasets: pd.DataFrame, workspace: Path, catalog_dir: Path, title: str,
               start_year: int, end_year: int) -> Path:
    """Write the STAC catalog of the GeoTIFF outputs in ``datasets``; returns the path of ``catalog.json``.

    The catalog is written into a temporary sibling folder and swapped in, so
    a reader never sees a half-written catalog.
    """
    import pystac
    from pystac.extensions.file import FileExtension
    from pystac.extensions.projection import ProjectionExtension

    rasters = datasets[(datasets["kind"] == "output") & (datasets["format"] == "GeoTIFF")]
    cat = pystac.Catalog(id="minecarbon", title=title,
                         description=f"Raster products of minecarbon for {title} ({start_year}-{end_year}): "
                                     f"assessment units, feature stacks, yearly AGC maps and assessments.")
    for stage, grp in rasters.groupby("stage", sort=False):
        items = []
        for _, r in grp.iterrows():
            if pd.isna(r["bbox_wgs84"]):
                continue
            lon0, lat0, lon1, lat1 = (float(v) for v in str(r["bbox_wgs84"]).split(","))
            t0, t1 = _span(r, start_year, end_year)
            geom = {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1],
                                                        [lon0, lat0]]]}
            props = {"start_datetime": t0.isoformat(), "end_datetime": t1.isoformat(),
                     "title": str(r["about"] or r["id"]), "minecarbon:stage": str(stage),
                     "minecarbon:units": None if pd.isna(r["units"]) else str(r["units"]),
                     "minecarbon:dataset_id": str(r["id"])}
            item = pystac.Item(id=_item_id(str(r["id"])), geometry=geom, bbox=[lon0, lat0, lon1, lat1],
                               datetime=None, properties=props)
            details = json.loads(r["details"]) if isinstance(r["details"], str) else {}
            proj = ProjectionExtension.ext(item, add_if_missing=True)
            proj.code = str(r["crs"]) if pd.notna(r["crs"]) else None
            if pd.notna(r["bbox_minx"]):
                proj.bbox = [float(r["bbox_minx"]), float(r["bbox_miny"]), float(r["bbox_maxx"]),
                             float(r["bbox_maxy"])]
            if "height" in details:
                proj.shape = [int(details["height"]), int(details["width"])]
            asset = pystac.Asset(href=str((workspace / str(r["path"])).resolve()), media_type=COG_MEDIA_TYPE,
                                 roles=["data"], title=Path(str(r["path"])).name,
                                 extra_fields={"minecarbon:bands": details.get("bands", [])})
            item.add_asset("data", asset)
            fext = FileExtension.ext(asset, add_if_missing=True)
            fext.checksum = "1220" + str(r["sha256"])
            fext.size = int(r["size_bytes"])
            items.append(item)
        if not items:
            continue
        coll = pystac.Collection(
            id=str(stage), description=f"Rasters written by the minecarbon stage '{stage}'.",
            extent=pystac.Extent(pystac.SpatialExtent([_union([i.bbox for i in items])]),
                                 pystac.TemporalExtent([[min(_t(i, "start_datetime") for i in items),
                                                         max(_t(i, "end_datetime") for i in items)]])),
            license="other", title=f"minecarbon {stage}")
        for it in items:
            coll.add_item(it)
        cat.add_child(coll)
    catalog_dir.mkdir(parents=True, exist_ok=True)
    final = catalog_dir / STAC_DIR
    tmp = Path(tempfile.mkdtemp(prefix=".stac-", dir=catalog_dir))
    try:
        cat.normalize_hrefs(str(final))
        for item in cat.get_items(recursive=True):
            item.make_asset_hrefs_relative()
        cat.normalize_hrefs(str(tmp))  # same depth as `final`: the relative hrefs stay right
        cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
        old = None
        if final.exists():
            old = catalog_dir / f".stac-old-{tmp.name}"
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final / "catalog.json"


def _union(boxes: list[list[float]]) -> list[float]:
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def _t(item, key: str) -> dt.datetime:
    return dt.datetime.fromisoformat(item.properties[key])

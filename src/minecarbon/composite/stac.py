"""Scenes from a local STAC catalog (read with pystac; assets must be local files).

Each item is one scene.  The sensor comes from the item's ``platform``
property (``landsat-5/7/8/9``, ``LANDSAT_8``, ``sentinel-2a/b/c``); band
assets are found by key among the common name, the band id and the aliases
of ``data/sensors.csv`` (``red``, ``B04``, ``SR_B4``, ``nir08``, ``swir16``
...), the QA asset as ``qa_pixel``/``QA_PIXEL`` or ``scl``/``SCL``.  Scale
and offset come from the asset's ``raster:bands`` (raster extension) when
given, else: Landsat Collection 2 guide values; Sentinel-2 from
``s2:processing_baseline`` (-1000 DN from 04.00 on, unless
``earthsearch:boa_offset_applied`` says it was already removed).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..features.sensors import get_sensor
from .landsat import SLC_OFF_DATE, SceneError
from .scene import COMPOSITE_BANDS, Scene
from .sentinel2 import BASELINE_OFFSET_FROM, QUANTIFICATION

PLATFORMS = {"landsat-4": ("landsat5", "tm"), "landsat-5": ("landsat5", "tm"), "landsat-7": ("landsat7", "etm"),
             "landsat-8": ("landsat8", "oli"), "landsat-9": ("landsat9", "oli"), "sentinel-2a": ("sentinel2", "msi"),
             "sentinel-2b": ("sentinel2", "msi"), "sentinel-2c": ("sentinel2", "msi")}


def _norm(s: str) -> str:
    return s.lower().replace("_", "-").replace(" ", "-")


def _asset(item, keys: list[str]):
    lower = {k.lower(): k for k in item.assets}
    for k in keys:
        if k.lower() in lower:
            return item.assets[lower[k.lower()]]
    return None


def _scale_offset(asset) -> tuple[float | None, float | None]:
    rb = asset.extra_fields.get("raster:bands") if asset is not None else None
    if rb and isinstance(rb, list) and isinstance(rb[0], dict):
        return rb[0].get("scale"), rb[0].get("offset")
    return None, None


def scene_from_item(item, bands: tuple[str, ...] = COMPOSITE_BANDS) -> Scene:
    """A :class:`Scene` from a pystac Item whose assets are local files."""
    platform = _norm(str(item.properties.get("platform", "")))
    if platform not in PLATFORMS:
        raise SceneError(f"STAC item {item.id}: platform {platform or '(none)'!r} is not supported (Landsat 4-9, "
                         f"Sentinel-2). Remove the item or set its 'platform' property.")
    sensor, family = PLATFORMS[platform]
    s = get_sensor(sensor)
    when = item.datetime or item.common_metadata.start_datetime
    if when is None:
        raise SceneError(f"STAC item {item.id} has no datetime. Fix the item.")
    found, missing, scales, offsets = {}, [], set(), set()
    for common in bands:
        b = s.band(common)
        keys = [common] + ([b.band_id] + list(b.aliases) if b else [])
        a = _asset(item, keys)
        if a is None:
            missing.append(common)
            continue
        href = Path(a.get_absolute_href() or "")
        if not href.is_file():
            missing.append(f"{common} ({href})")
            continue
        found[common] = href
        sc, of = _scale_offset(a)
        scales.add(sc)
        offsets.add(of)
    qa_keys = ["qa_pixel", "QA_PIXEL", "pixel_qa"] if family != "msi" else ["scl", "SCL"]
    qa = _asset(item, qa_keys)
    qa_path = Path(qa.get_absolute_href() or "") if qa is not None else None
    if qa_path is None or not qa_path.is_file():
        missing.append(qa_keys[0])
    if missing:
        raise SceneError(f"STAC item {item.id}: asset(s) missing or not local: {', '.join(missing)}. Download "
                         f"the assets next to the catalog (hrefs must point to local files).")
    sc, of = (scales.pop(), offsets.pop()) if len(scales) == 1 and len(offsets) == 1 else (None, None)
    if family == "msi":
        baseline = float(item.properties.get("s2:processing_baseline", "0") or 0) * 100
        applied = bool(item.properties.get("earthsearch:boa_offset_applied", False))
        default_offset = -1000.0 / QUANTIFICATION if baseline >= BASELINE_OFFSET_FROM and not applied else 0.0
        scale = float(sc) if sc is not None else 1.0 / QUANTIFICATION
        offset = float(of) if of is not None else default_offset
    else:
        scale = float(sc) if sc is not None else s.scale
        offset = float(of) if of is not None else s.offset
    date = when.date() if isinstance(when, dt.datetime) else when
    return Scene(scene_id=item.id, sensor=sensor, family=family, date=date, bands=found, qa=qa_path,  # type: ignore
                 qa_kind="scl" if family == "msi" else "qa_pixel", scale=scale, offset=offset, nodata=0.0,
                 tile=str(item.properties.get("s2:mgrs_tile") or item.properties.get("landsat:wrs_path", "")),
                 metadata=Path(item.get_self_href()) if item.get_self_href() else None,
                 slc_off=family == "etm" and date >= SLC_OFF_DATE)


def find_stac_scenes(catalog: Path, bands: tuple[str, ...] = COMPOSITE_BANDS) -> tuple[list[Scene], list[str]]:
    """Every item of a local STAC catalog (or collection) as a scene; problems one line each."""
    import pystac

    try:
        cat = pystac.read_file(str(catalog))
    except Exception as exc:  # noqa: BLE001  (pystac raises many kinds)
        raise SceneError(f"STAC catalog {catalog} cannot be read ({exc}). Check that it is a STAC catalog.json "
                         f"or collection.json.") from None
    scenes, problems = [], []
    items = cat.get_items(recursive=True) if hasattr(cat, "get_items") else []
    for item in items:
        try:
            scenes.append(scene_from_item(item, bands))
        except SceneError as exc:
            problems.append(str(exc))
    return scenes, problems

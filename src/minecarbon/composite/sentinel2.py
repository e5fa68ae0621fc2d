"""Sentinel-2 Level-2A scenes: SAFE folders and per-band COG folders, SCL, the baseline-04.00 offset.

Conventions (ESA *Sentinel-2 Products Specification Document* and the
processing-baseline 04.00 note; read here through secondary sources, see
``data/sensors.csv``):

* Product name ``MMM_MSIL2A_YYYYMMDDTHHMMSS_Nxxyy_ROOO_Txxxxx_<discriminator>``:
  mission (S2A/S2B/S2C), level, sensing start, processing baseline
  ``Nxxyy`` (``N0400`` = 04.00), relative orbit, MGRS tile.
* SAFE layout: ``<name>.SAFE/MTD_MSIL2A.xml`` and
  ``GRANULE/*/IMG_DATA/R10m|R20m|R60m/T<tile>_<sensing>_<band>_<res>.jp2``,
  the scene classification ``..._SCL_20m.jp2``.
* Reflectance = (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE, with
  ``BOA_QUANTIFICATION_VALUE`` = 10000 and ``BOA_ADD_OFFSET`` = -1000 for
  processing baseline >= 04.00 (0 before); both read from ``MTD_MSIL2A.xml``
  when present, otherwise from the baseline in the product name.
* Per-band COG layout (as STAC catalogs deliver it): a folder named after the
  product holding ``B02.tif`` ... ``B12.tif`` and ``SCL.tif`` (any of the
  names ``B02``, ``B02_10m``, ``T49SGA_..._B02_10m`` works).

Sentinel-2 reflectance is not harmonised to Landsat OLI here (family
``msi``); mixing Sentinel-2 and Landsat in one composite is left to the user.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..features.sensors import get_sensor
from .landsat import SceneError
from .scene import COMPOSITE_BANDS, Scene

PRODUCT = re.compile(r"^(?P<mission>S2[ABCD])_MSIL2A_(?P<sensing>\d{8}T\d{6})_N(?P<baseline>\d{4})_R(?P<orbit>\d{3})_"
                     r"T(?P<tile>\w{5})_(?P<disc>\d{8}T\d{6})(?:\.SAFE)?$")
BASELINE_OFFSET_FROM = 400
"""Processing baseline (x100) from which the L2A reflectance carries BOA_ADD_OFFSET = -1000."""
QUANTIFICATION = 10000.0
BAND_INDEX = {"B01": 0, "B02": 1, "B03": 2, "B04": 3, "B05": 4, "B06": 5, "B07": 6, "B08": 7, "B8A": 8, "B09": 9,
              "B10": 10, "B11": 11, "B12": 12}
"""``band_id`` of the per-band entries of MTD_MSIL2A.xml (BOA_ADD_OFFSET band_id="3" is B04)."""


def parse_product_name(name: str) -> dict:
    """Mission, sensing date, baseline (x100), orbit and tile of an L2A product name; SceneError if not one."""
    m = PRODUCT.match(name)
    if not m:
        raise SceneError(f"{name!r} is not a Sentinel-2 L2A product name (e.g. "
                         f"S2A_MSIL2A_20230615T031541_N0509_R118_T49SGA_20230615T065000). Keep ESA's names.")
    g = m.groupdict()
    s = g["sensing"]
    return {"mission": g["mission"], "date": dt.date(int(s[:4]), int(s[4:6]), int(s[6:8])),
            "baseline": int(g["baseline"]), "orbit": int(g["orbit"]), "tile": g["tile"]}


def boa_offset(baseline: int) -> float:
    """BOA_ADD_OFFSET (DN) of a processing baseline given x100 (e.g. 509 for 05.09)."""
    return -1000.0 if baseline >= BASELINE_OFFSET_FROM else 0.0


def read_mtd(path: Path) -> dict:
    """PROCESSING_BASELINE, BOA_QUANTIFICATION_VALUE and the BOA_ADD_OFFSET per band_id of MTD_MSIL2A.xml."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise SceneError(f"Scene metadata {path} cannot be read ({exc}). Download the product again.") from None
    out: dict = {"offsets": {}}
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "PROCESSING_BASELINE" and el.text:
            out["baseline"] = int(round(float(el.text) * 100))
        elif tag == "BOA_QUANTIFICATION_VALUE" and el.text:
            out["quantification"] = float(el.text)
        elif tag == "BOA_ADD_OFFSET" and el.text:
            out["offsets"][int(el.get("band_id", "-1"))] = float(el.text)
    return out


def _band_id(sensor: str, common: str) -> str:
    b = get_sensor(sensor).band(common)
    if b is None:
        raise SceneError(f"Sentinel-2 has no {common} band")
    return "B" + b.band_id[1:].zfill(2) if b.band_id[1:].isdigit() else b.band_id


def _pick(files: list[Path], band: str) -> Path | None:
    """The finest-resolution file of a band among ``files`` (names ending ``_B04_10m``, ``B04`` ...)."""
    pat = re.compile(rf"(^|_){band}(_(\d+)m)?$", re.IGNORECASE)
    hits = []
    for f in files:
        m = pat.search(f.stem)
        if m:
            hits.append((int(m.group(3) or 0), f))
    return sorted(hits)[0][1] if hits else None


def scene_from_folder(folder: Path, bands: tuple[str, ...] = COMPOSITE_BANDS) -> Scene:
    """A :class:`Scene` from a SAFE folder or a per-band COG folder named after the product."""
    folder = Path(folder)
    info = parse_product_name(folder.name)
    files = [p for p in folder.rglob("*") if p.suffix.lower() in (".jp2", ".tif", ".tiff") and p.is_file()]
    mtd = folder / "MTD_MSIL2A.xml"
    meta = read_mtd(mtd) if mtd.is_file() else {}
    baseline = meta.get("baseline", info["baseline"])
    if "baseline" in meta and meta["baseline"] != info["baseline"]:
        raise SceneError(f"Scene {folder.name}: MTD_MSIL2A.xml says processing baseline {meta['baseline'] / 100:.2f}"
                         f" but the product name says N{info['baseline']:04d}. Download the product again.")
    found, missing, offsets = {}, [], set()
    for common in bands:
        bid = _band_id("sentinel2", common)
        p = _pick(files, bid)
        if p is None:
            missing.append(f"{common} ({bid})")
            continue
        found[common] = p
        offsets.add(meta.get("offsets", {}).get(BAND_INDEX[bid], boa_offset(baseline)))
    scl = _pick(files, "SCL")
    if scl is None:
        missing.append("SCL")
    if missing:
        raise SceneError(f"Scene {folder.name} in {folder.parent}: band file(s) missing: {', '.join(missing)}. "
                         f"Download the whole L2A product (or every band asset and SCL from the catalog).")
    if len(offsets) != 1:
        raise SceneError(f"Scene {folder.name}: MTD_MSIL2A.xml gives different BOA_ADD_OFFSET values per band "
                         f"({sorted(offsets)}); not supported.")
    quant = meta.get("quantification", QUANTIFICATION)
    offset_dn = offsets.pop()
    return Scene(scene_id=folder.name.removesuffix(".SAFE"), sensor="sentinel2" if baseline >= BASELINE_OFFSET_FROM
                 else "sentinel2_pre04", family="msi", date=info["date"], bands=found, qa=scl, qa_kind="scl",
                 scale=1.0 / quant, offset=offset_dn / quant, nodata=0.0, tile=info["tile"],
                 metadata=mtd if mtd.is_file() else None, extra={"baseline": f"{baseline / 100:05.2f}"})


def find_sentinel2_scenes(folder: Path, bands: tuple[str, ...] = COMPOSITE_BANDS) -> tuple[list[Scene], list[str]]:
    """Every L2A product folder (named as ESA names it) under ``folder``; problems one line each."""
    scenes, problems = [], []
    for d in sorted(p for p in Path(folder).rglob("S2*_MSIL2A_*") if p.is_dir()):
        try:
            scenes.append(scene_from_folder(d, bands))
        except SceneError as exc:
            problems.append(str(exc))
    return scenes, problems

"""Landsat Collection 2 Level-2 scenes: product names, MTL metadata, band files.

Conventions (USGS, *Landsat 8-9 OLI/TIRS Collection 2 Level-2 Science Product
Guide* LSDS-1619 and *Landsat 4-7 ... C2 L2 Science Product Guide*
LSDS-1618; read here through secondary sources, see ``data/sensors.csv``):

* Product identifier ``LXSS_LLLL_PPPRRR_YYYYMMDD_yyyymmdd_CC_TX``: sensor
  (``C`` OLI/TIRS, ``O`` OLI, ``E`` ETM+, ``T`` TM), satellite (``05``,
  ``07``, ``08``, ``09``), processing level (``L2SP`` surface reflectance and
  temperature, ``L2SR`` reflectance only), WRS-2 path and row, acquisition
  date, processing date, collection (``02``) and tier (``T1``, ``T2``,
  ``RT``).
* One GeoTIFF per band: ``<product id>_SR_B<n>.TIF`` (surface reflectance),
  ``<product id>_QA_PIXEL.TIF`` (pixel quality), and the metadata file
  ``<product id>_MTL.txt`` (ODL text: ``GROUP = ...`` / ``END_GROUP``,
  ``KEY = value``).
* Surface reflectance = DN x 0.0000275 - 0.2 (``REFLECTANCE_MULT_BAND_n`` /
  ``REFLECTANCE_ADD_BAND_n`` of the MTL group
  ``LEVEL2_SURFACE_REFLECTANCE_PARAMETERS``); DN 0 is fill.
* Bands: OLI blue..swir2 = SR_B2..SR_B7; TM and ETM+ = SR_B1, B2, B3, B4,
  B5, B7 (band table in ``data/sensors.csv``).
* Landsat 7's scan-line corrector failed on 2003-05-31: later ETM+ scenes
  have wedge-shaped stripes of fill (about 22 % of a scene) that QA_PIXEL
  marks as fill (bit 0).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..features.sensors import get_sensor
from .scene import COMPOSITE_BANDS, Scene

PRODUCT_ID = re.compile(
    r"^L(?P<sensor>[COTEM])(?P<sat>\d{2})_(?P<level>L\d[A-Z]{2})_(?P<path>\d{3})(?P<row>\d{3})_"
    r"(?P<acquired>\d{8})_(?P<processed>\d{8})_(?P<collection>\d{2})_(?P<tier>T1|T2|RT)$")
"""A Landsat Collection product identifier (see the module docstring)."""

SLC_OFF_DATE = dt.date(2003, 5, 31)
"""Landsat 7 ETM+ scan-line corrector failure (USGS Landsat 7 SLC-off products)."""

SENSORS = {("C", "08"): ("landsat8", "oli"), ("O", "08"): ("landsat8", "oli"),
           ("C", "09"): ("landsat9", "oli"), ("O", "09"): ("landsat9", "oli"),
           ("E", "07"): ("landsat7", "etm"), ("T", "05"): ("landsat5", "tm"), ("T", "04"): ("landsat5", "tm")}
"""(sensor letter, satellite) -> (band table in sensors.csv, harmonisation family). Landsat 4 TM uses the
Landsat 5 TM band table (same band set)."""

MTL_REQUIRED = ("LANDSAT_PRODUCT_ID", "DATE_ACQUIRED", "WRS_PATH", "WRS_ROW")


class SceneError(InputError):
    """A scene (its files or its metadata) cannot be used."""


@dataclass(frozen=True)
class ProductId:
    """A parsed Landsat product identifier."""

    text: str
    sensor_letter: str
    satellite: str
    level: str
    path: int
    row: int
    acquired: dt.date
    processed: dt.date
    collection: str
    tier: str

    @property
    def sensor(self) -> str:
        return SENSORS[(self.sensor_letter, self.satellite)][0]

    @property
    def family(self) -> str:
        return SENSORS[(self.sensor_letter, self.satellite)][1]

    @property
    def pathrow(self) -> str:
        return f"{self.path:03d}{self.row:03d}"


def _date(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def parse_product_id(text: str) -> ProductId:
    """Parse a Landsat Collection 2 product identifier (file-name prefix).

    Raises
    ------
    SceneError
        Not a product identifier, or an unknown sensor/satellite pair.
    """
    m = PRODUCT_ID.match(text)
    if not m:
        raise SceneError(f"{text!r} is not a Landsat Collection product id (LXSS_LLLL_PPPRRR_YYYYMMDD_yyyymmdd_CC_TX, "
                         f"e.g. LC08_L2SP_125034_20200715_20200912_02_T1). Keep the names USGS gives the files.")
    g = m.groupdict()
    if (g["sensor"], g["sat"]) not in SENSORS:
        raise SceneError(f"{text}: sensor L{g['sensor']}{g['sat']} is not supported (Landsat 4/5 TM, 7 ETM+, "
                         f"8/9 OLI are). Remove the scene or convert it.")
    try:
        acq, proc = _date(g["acquired"]), _date(g["processed"])
    except ValueError:
        raise SceneError(f"{text}: the dates {g['acquired']}/{g['processed']} are not valid dates; the file name "
                         f"was changed. Restore the name USGS gave it.") from None
    return ProductId(text, g["sensor"], g["sat"], g["level"], int(g["path"]), int(g["row"]), acq, proc,
                     g["collection"], g["tier"])


def parse_mtl(text: str) -> dict[str, dict[str, str]]:
    """Parse an MTL text file (ODL) into ``{group: {key: value}}`` (quotes removed; nested groups flattened).

    Raises
    ------
    ValueError
        A line that is neither ``KEY = value``, ``GROUP = ...``, ``END_GROUP = ...`` nor ``END``.
    """
    out: dict[str, dict[str, str]] = {}
    stack: list[str] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line == "END":
            break
        if "=" not in line:
            raise ValueError(f"line {n}: {line[:60]!r} is not 'KEY = value'")
        key, value = (s.strip() for s in line.split("=", 1))
        value = value.strip('"')
        if key == "GROUP":
            stack.append(value)
            out.setdefault(value, {})
        elif key == "END_GROUP":
            if not stack or stack[-1] != value:
                raise ValueError(f"line {n}: END_GROUP = {value} closes no open group")
            stack.pop()
        else:
            out.setdefault(stack[-1] if stack else "", {})[key] = value
    if stack:
        raise ValueError(f"group {stack[-1]} is never closed (the file is cut short)")
    return out


def mtl_value(mtl: dict[str, dict[str, str]], key: str) -> str | None:
    """A key's value from any group of a parsed MTL."""
    for group in mtl.values():
        if key in group:
            return group[key]
    return None


def read_mtl(path: Path) -> dict[str, dict[str, str]]:
    """Read and parse an ``*_MTL.txt`` file.

    Raises
    ------
    SceneError
        Unreadable, not ODL, or missing the keys a scene needs.
    """
    path = Path(path)
    try:
        mtl = parse_mtl(path.read_text(encoding="utf-8", errors="strict"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SceneError(f"Scene metadata {path} cannot be read ({exc}). Download the scene again from USGS "
                         f"(the MTL.txt file is part of every Collection 2 product).") from None
    missing = [k for k in MTL_REQUIRED if mtl_value(mtl, k) is None]
    if missing:
        raise SceneError(f"Scene metadata {path} lacks {', '.join(missing)}; it is not a Landsat Collection 2 "
                         f"MTL file or it is damaged. Download the scene again from USGS.")
    return mtl


def band_file_suffix(sensor: str, common_name: str) -> str:
    """The file suffix of a reflectance band (``SR_B4``) for a sensor's common band name."""
    b = get_sensor(sensor).band(common_name)
    if b is None:
        raise SceneError(f"sensor {sensor} has no {common_name} band")
    sr = [a for a in b.aliases if a.startswith("SR_B")]
    return sr[0] if sr else f"SR_{b.band_id}"


def scene_from_mtl(mtl_path: Path, bands: tuple[str, ...] = COMPOSITE_BANDS) -> Scene:
    """A :class:`Scene` from a Collection 2 Level-2 MTL file and the band files beside it.

    The MTL must agree with the file names: its ``LANDSAT_PRODUCT_ID`` is the
    files' prefix and its ``DATE_ACQUIRED``, ``WRS_PATH`` and ``WRS_ROW`` are
    those of the product id. Scale and offset come from the MTL's
    ``REFLECTANCE_MULT_BAND_n`` / ``REFLECTANCE_ADD_BAND_n`` (the guide's
    values when absent).

    Raises
    ------
    SceneError
        Unreadable MTL, an MTL contradicting the file names, missing band files.
    """
    mtl_path = Path(mtl_path)
    mtl = read_mtl(mtl_path)
    pid_text = str(mtl_value(mtl, "LANDSAT_PRODUCT_ID"))
    pid = parse_product_id(pid_text)
    name_prefix = mtl_path.name[: -len("_MTL.txt")] if mtl_path.name.endswith("_MTL.txt") else mtl_path.stem
    fix = "Download the scene again from USGS; do not rename or mix files of different scenes."
    if name_prefix != pid_text:
        raise SceneError(f"Scene {name_prefix}: its MTL file {mtl_path} says LANDSAT_PRODUCT_ID = {pid_text}. "
                         f"{fix}")
    acquired = str(mtl_value(mtl, "DATE_ACQUIRED"))
    if acquired != pid.acquired.isoformat():
        raise SceneError(f"Scene {pid_text}: the MTL's DATE_ACQUIRED = {acquired} contradicts the product id "
                         f"(acquired {pid.acquired.isoformat()}). {fix}")
    path_row = (int(str(mtl_value(mtl, "WRS_PATH"))), int(str(mtl_value(mtl, "WRS_ROW"))))
    if path_row != (pid.path, pid.row):
        raise SceneError(f"Scene {pid_text}: the MTL's WRS_PATH/WRS_ROW = {path_row[0]}/{path_row[1]} contradict "
                         f"the product id (path {pid.path}, row {pid.row}). {fix}")
    sensor = pid.sensor
    files: dict[str, Path] = {}
    missing = []
    scales, offsets = set(), set()
    for name in bands:
        suffix = band_file_suffix(sensor, name)
        key = f"FILE_NAME_BAND_{suffix[len('SR_B'):]}"
        listed = mtl_value(mtl, key)
        fname = listed or f"{pid_text}_{suffix}.TIF"
        p = _find_file(mtl_path.parent, fname)
        if p is None:
            missing.append(f"{name} ({fname})")
        else:
            files[name] = p
        num = suffix[len("SR_B"):]
        mult, add = mtl_value(mtl, f"REFLECTANCE_MULT_BAND_{num}"), mtl_value(mtl, f"REFLECTANCE_ADD_BAND_{num}")
        if mult is not None and add is not None:
            scales.add(float(mult))
            offsets.add(float(add))
    qa_name = mtl_value(mtl, "FILE_NAME_QUALITY_L1_PIXEL") or f"{pid_text}_QA_PIXEL.TIF"
    qa = _find_file(mtl_path.parent, qa_name)
    if qa is None:
        missing.append(f"QA_PIXEL ({qa_name})")
    if missing:
        raise SceneError(f"Scene {pid_text} in {mtl_path.parent}: band file(s) missing: {', '.join(missing)}. "
                         f"Extract the whole product (every SR_B* band and QA_PIXEL) from its archive.")
    s = get_sensor(sensor)
    scale = scales.pop() if len(scales) == 1 else s.scale
    offset = offsets.pop() if len(offsets) == 1 else s.offset
    return Scene(scene_id=pid_text, sensor=sensor, family=pid.family, date=pid.acquired, bands=files, qa=qa,
                 qa_kind="qa_pixel", scale=scale, offset=offset, nodata=float(s.nodata or 0), tile=pid.pathrow,
                 metadata=mtl_path, slc_off=(pid.family == "etm" and pid.acquired >= SLC_OFF_DATE),
                 extra={"cloud_cover": mtl_value(mtl, "CLOUD_COVER") or "",
                        "samples": mtl_value(mtl, "REFLECTIVE_SAMPLES") or "",
                        "lines": mtl_value(mtl, "REFLECTIVE_LINES") or ""})


def _find_file(folder: Path, name: str) -> Path | None:
    p = folder / name
    if p.is_file():
        return p
    low = name.lower()  # some unpackers change the case of the extension
    for q in folder.iterdir():
        if q.name.lower() == low and q.is_file():
            return q
    return None


def find_landsat_scenes(folder: Path, bands: tuple[str, ...] = COMPOSITE_BANDS) -> tuple[list[Scene], list[str]]:
    """Every Collection 2 Level-2 scene under ``folder`` (one ``*_MTL.txt`` per scene, any depth).

    Returns the scenes and the problems (one line per unusable scene, naming it
    and the fix); the caller decides whether a problem is fatal.
    """
    scenes, problems = [], []
    for mtl in sorted(Path(folder).rglob("*_MTL.txt")):
        try:
            scenes.append(scene_from_mtl(mtl, bands))
        except SceneError as exc:
            problems.append(str(exc))
    return scenes, problems

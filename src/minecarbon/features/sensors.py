"""Sensors as data: band tables, surface-reflectance scaling, QA masks, band recognition.

The band tables live in ``minecarbon/data/sensors.csv`` (one row per sensor and
band, each with its source and verification status).  Shipped sensors:
Landsat 5 TM, 7 ETM+, 8 and 9 OLI (Collection 2 Level-2 surface reflectance),
Sentinel-2 MSI Level-2A (``sentinel2``: processing baseline >= 04.00, with the
-1000 DN offset; ``sentinel2_pre04``: older or "harmonized" products) and
Sentinel-2 Level-1C (``sentinel2_l1c``).

Bands are addressed by *common names*: ``coastal, blue, green, red, rededge1,
rededge2, rededge3, nir, nir08, watervapour, cirrus, swir1, swir2``.  ``nir``
is the broad NIR band (Landsat OLI B5, TM/ETM+ B4, Sentinel-2 B8); Sentinel-2
B8A is ``nir08``.

Quality masks (True = usable pixel):

* Landsat Collection 2 ``QA_PIXEL``: bit 0 fill, bit 1 dilated cloud, bit 2
  cirrus (OLI only), bit 3 cloud, bit 4 cloud shadow, bit 5 snow.  Bits 0-4
  follow Google's Earth Engine example ``Landsat8SurfaceReflectance.js``
  (``QA_PIXEL & 0b11111 == 0``); bit 5 (snow) follows the USGS Landsat 8-9
  Collection 2 Level-2 product guide (not read here: secondary).
* Sentinel-2 ``SCL`` (scene classification): 0 no data, 1 saturated or
  defective, 3 cloud shadows, 8 cloud medium probability, 9 cloud high
  probability, 10 thin cirrus are masked; 11 snow with ``snow=True``.  Classes
  2 (dark area), 4 vegetation, 5 not vegetated, 6 water and 7 unclassified are
  kept (class list: phenofit ``qc_sentinel2`` docs; secondary).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputError

log = logging.getLogger(__name__)

COMMON_NAMES = ("coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08",
                "watervapour", "cirrus", "swir1", "swir2")
"""Common band names used by the index and tasseled-cap tables."""

LANDSAT_QA_BITS = {"fill": 0, "dilated_cloud": 1, "cirrus": 2, "cloud": 3, "cloud_shadow": 4, "snow": 5}
"""Bit positions of Landsat Collection 2 ``QA_PIXEL`` (see the module docstring for sources)."""

SCL_MASKED = (0, 1, 3, 8, 9, 10)
"""Sentinel-2 SCL classes treated as unusable (no data, defective, shadow, cloud, cirrus)."""
SCL_SNOW = 11


@dataclass(frozen=True)
class Band:
    """One band of a sensor (a row of ``sensors.csv``)."""

    band_id: str
    common_name: str
    aliases: tuple[str, ...]
    kind: str
    """``reflectance``, ``thermal``, ``qa_pixel`` or ``scl``."""
    center_nm: float | None
    resolution_m: float | None
    scale: float | None
    offset: float | None
    nodata: float | None
    source: str
    status: str


@dataclass(frozen=True)
class Sensor:
    """A sensor and product level: its bands, scaling and quality band."""

    name: str
    bands: tuple[Band, ...]
    note: str

    def band(self, common_name: str) -> Band | None:
        """The band with this common name (or None)."""
        for b in self.bands:
            if b.common_name == common_name:
                return b
        return None

    @property
    def qa_band(self) -> Band | None:
        """The QA band (``QA_PIXEL`` or ``SCL``), if the sensor has one."""
        for b in self.bands:
            if b.kind in ("qa_pixel", "scl"):
                return b
        return None

    @property
    def reflectance_bands(self) -> tuple[Band, ...]:
        return tuple(b for b in self.bands if b.kind == "reflectance")

    @property
    def scale(self) -> float:
        """Reflectance = DN x scale + offset (the reflectance bands share it)."""
        return float(self.reflectance_bands[0].scale)  # type: ignore[arg-type]

    @property
    def offset(self) -> float:
        return float(self.reflectance_bands[0].offset)  # type: ignore[arg-type]

    @property
    def nodata(self) -> float | None:
        return self.reflectance_bands[0].nodata


def _num(v) -> float | None:
    return None if pd.isna(v) else float(v)


@functools.cache
def sensors() -> dict[str, Sensor]:
    """All shipped sensors, by name (from ``data/sensors.csv``)."""
    path = resources.files("minecarbon") / "data" / "sensors.csv"
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype={"band_id": str, "aliases": str, "note": str})
    out: dict[str, Sensor] = {}
    for name, g in df.groupby("sensor", sort=False):
        bands = tuple(
            Band(band_id=str(r.band_id), common_name=str(r.common_name),
                 aliases=tuple(a.strip() for a in str(r.aliases).split(";") if a.strip())
                 if not pd.isna(r.aliases) else (),
                 kind=str(r.kind), center_nm=_num(r.center_nm), resolution_m=_num(r.resolution_m),
                 scale=_num(r.scale), offset=_num(r.offset), nodata=_num(r.nodata),
                 source=str(r.source), status=str(r.status))
            for r in g.itertuples(index=False))
        note = str(g["note"].iloc[0]) if not pd.isna(g["note"].iloc[0]) else ""
        out[str(name)] = Sensor(name=str(name), bands=bands, note=note)
    return out


def get_sensor(name: str | Sensor) -> Sensor:
    """A shipped sensor by name; an unknown name is an :class:`InputError` listing the known ones."""
    if isinstance(name, Sensor):
        return name
    table = sensors()
    key = str(name).strip().lower()
    if key not in table:
        raise InputError(f"Unknown sensor {name!r}; known sensors: {', '.join(table)}. Set [images].sensor "
                         f"(or --sensor) to one of them, or leave it out and give reflectance bands named "
                         f"by their common names.")
    return table[key]


def reflectance(dn: xr.DataArray, scale: float, offset: float) -> xr.DataArray:
    """Digital numbers -> reflectance (``DN x scale + offset``), float32; NaN stays NaN.

    Landsat Collection 2 Level-2: scale 2.75e-5, offset -0.2.  Sentinel-2
    (baseline >= 04.00): scale 1e-4, offset -0.1 (``(DN - 1000) / 10000``).
    """
    return (dn.astype("float32") * np.float32(scale) + np.float32(offset)).astype("float32")


# ---------------------------------------------------------------------------
# band recognition
# ---------------------------------------------------------------------------
def _norm(s: str) -> str:
    return re.sub(r"[\s_\-\.]", "", str(s).lower())


def _band_keys(band: Band) -> set[str]:
    """Normalised names under which a band is recognised in band descriptions."""
    keys = {_norm(band.common_name), _norm(band.band_id)}
    keys |= {_norm(a) for a in band.aliases}
    m = re.fullmatch(r"B(\d+)(A?)", band.band_id, flags=re.IGNORECASE)
    if m:
        num, suffix = int(m.group(1)), m.group(2).lower()
        keys |= {f"b{num}{suffix}", f"b{num:02d}{suffix}", f"srb{num}{suffix}", f"band{num}{suffix}"}
    return keys


def band_names_of(image: xr.DataArray) -> list[str]:
    """Band names (descriptions) of a (band, y, x) raster."""
    if "band" not in image.dims:
        return []
    return [str(b) for b in image["band"].values]


def find_bands(image: xr.DataArray, needed: Iterable[str], sensor: str | Sensor | None = None,
               band_map: Mapping[str, str] | None = None, what: str = "image",
               why: Mapping[str, str] | None = None) -> dict[str, xr.DataArray]:
    """Select the ``needed`` bands (common names) of a (band, y, x) image.

    A band is found, in this order, by

    1. ``band_map[common]``: a band description in the file, or a 1-based
       band number given as text ("4");
    2. a band description equal to the common name (case and ``_``/spaces
       ignored);
    3. with a ``sensor``, the sensor's band id and aliases ("B4", "B04",
       "SR_B4", "band4", "B8A", ...).

    Parameters
    ----------
    image : (band, y, x) raster with band descriptions as the ``band`` coordinate.
    needed : common names of the bands to find.
    sensor : sensor name or :class:`Sensor`, for band ids and aliases.
    band_map : explicit common name -> description (or 1-based index) map.
    what : what the image is, for messages.
    why : common name -> the feature that needs it, for messages.

    Raises
    ------
    InputError
        A needed band is missing (the message names it and the feature that
        needs it), or a band number is beyond the band count.
    """
    sens = get_sensor(sensor) if sensor is not None else None
    names = band_names_of(image)
    normed = {_norm(n): i for i, n in enumerate(names)}
    src = image.attrs.get("source_path", what)
    out: dict[str, xr.DataArray] = {}
    for common in dict.fromkeys(needed):
        idx: int | None = None
        spec = (band_map or {}).get(common)
        if spec is not None and str(spec).strip().isdigit() and str(spec) not in names:
            k = int(str(spec).strip())
            if not 1 <= k <= len(names):
                raise InputError(f"{what} {src} has {len(names)} band(s), but band {k} is mapped to "
                                 f"{common!r}. Check the band count of the file or the band map "
                                 f"([images].bands / --bands).")
            idx = k - 1
        elif spec is not None and _norm(spec) in normed:
            idx = normed[_norm(spec)]
        if idx is None and _norm(common) in normed:
            idx = normed[_norm(common)]
        if idx is None and sens is not None:
            b = sens.band(common)
            if b is not None:
                for key in _band_keys(b):
                    if key in normed:
                        idx = normed[key]
                        break
        if idx is None:
            need = f" (needed by {why[common]})" if why and common in why else ""
            hint = (f"Sensor {sens.name} has no {common!r} band." if sens is not None and sens.band(common) is None
                    else "Name the band in the file's band descriptions, map it explicitly "
                         "([images].bands in the project file, --bands on the command line: "
                         f"{common}=<description or 1-based number>)"
                         + ("" if sens is not None else ", or give the sensor ([images].sensor / --sensor)")
                         + ".")
            raise InputError(f"{what} {src} has no {common!r} band{need}; its bands are "
                             f"{', '.join(names) or '(none)'}. {hint}")
        out[common] = image.isel(band=idx, drop=True) if "band" in image.dims else image
    return out


def find_qa_band(image: xr.DataArray, sensor: str | Sensor | None) -> tuple[xr.DataArray, str] | None:
    """The QA band of an image (``QA_PIXEL`` or ``SCL``) and its kind, or None."""
    names = band_names_of(image)
    normed = {_norm(n): i for i, n in enumerate(names)}
    candidates: list[Band] = []
    if sensor is not None:
        qb = get_sensor(sensor).qa_band
        if qb is not None:
            candidates.append(qb)
    else:
        seen = set()
        for s in sensors().values():
            qb = s.qa_band
            if qb is not None and qb.kind not in seen:
                candidates.append(qb)
                seen.add(qb.kind)
    for qb in candidates:
        for key in _band_keys(qb):
            if key in normed:
                return image.isel(band=normed[key], drop=True), qb.kind
    return None


def landsat_qa_valid(qa: xr.DataArray, snow: bool = True) -> xr.DataArray:
    """True where a Landsat Collection 2 ``QA_PIXEL`` value is clear.

    Masked: fill (bit 0), dilated cloud (1), cirrus (2), cloud (3), cloud
    shadow (4) and, with ``snow``, snow (5).  NaN QA values are not clear.
    """
    bits = [LANDSAT_QA_BITS[k] for k in ("fill", "dilated_cloud", "cirrus", "cloud", "cloud_shadow")]
    if snow:
        bits.append(LANDSAT_QA_BITS["snow"])
    mask = sum(1 << b for b in bits)
    finite = np.isfinite(qa) if np.issubdtype(qa.dtype, np.floating) else xr.ones_like(qa, dtype=bool)
    q = qa.fillna(1) if np.issubdtype(qa.dtype, np.floating) else qa
    return (finite & ((q.astype("int64") & mask) == 0)).rename("valid")


def scl_valid(scl: xr.DataArray, snow: bool = True) -> xr.DataArray:
    """True where a Sentinel-2 SCL class is usable (see the module docstring)."""
    classes = list(SCL_MASKED) + ([SCL_SNOW] if snow else [])
    finite = np.isfinite(scl) if np.issubdtype(scl.dtype, np.floating) else xr.ones_like(scl, dtype=bool)
    return (finite & ~scl.isin(classes)).rename("valid")


def surface_reflectance(image: xr.DataArray, needed: Iterable[str], sensor: str | Sensor | None = None,
                        band_map: Mapping[str, str] | None = None, scale: float | None = None,
                        offset: float | None = None, nodata: float | None = None, qa_mask: bool = True,
                        snow: bool = True, what: str = "image",
                        why: Mapping[str, str] | None = None) -> dict[str, xr.DataArray]:
    """Reflectance bands of an image, scaled and masked (NaN = unusable).

    Parameters
    ----------
    image : (band, y, x) raster (digital numbers or reflectance).
    needed : common names of the bands wanted.
    sensor : sensor name; sets the default scale, offset and nodata and the
        band aliases.  Without a sensor and without ``scale``/``offset`` the
        values are taken as reflectance already (scale 1, offset 0).
    band_map : explicit common name -> description / 1-based index.
    scale, offset : override ``reflectance = DN x scale + offset``.
    nodata : DN marking missing pixels (default: the sensor's, else none;
        NaN is always missing).
    qa_mask : apply the image's ``QA_PIXEL`` / ``SCL`` band when it has one.
    snow : also mask snow with the QA band.

    Returns
    -------
    dict
        common name -> float32 (y, x) reflectance DataArray.

    Raises
    ------
    InputError
        A needed band is missing, or no pixel of the image is usable.
    """
    sens = get_sensor(sensor) if sensor is not None else None
    if scale is None:
        scale = sens.scale if sens is not None else 1.0
    if offset is None:
        offset = sens.offset if sens is not None else 0.0
    if nodata is None and sens is not None:
        nodata = sens.nodata
    dn = find_bands(image, needed, sens, band_map, what=what, why=why)
    valid = None
    if qa_mask:
        qa = find_qa_band(image, sens)
        if qa is not None:
            qa_da, kind = qa
            valid = landsat_qa_valid(qa_da, snow) if kind == "qa_pixel" else scl_valid(qa_da, snow)
            log.info("%s: masking with its %s band", what, "QA_PIXEL" if kind == "qa_pixel" else "SCL")
    out = {}
    for common, b in dn.items():
        if nodata is not None:
            b = b.where(b != nodata)
        if valid is not None:
            b = b.where(valid)
        out[common] = reflectance(b, scale, offset).rename(common)
    return out

"""One acquisition (a *scene*): where its band files are and how to read them.

A :class:`Scene` is what every reader (:mod:`.landsat`, :mod:`.sentinel2`,
:mod:`.stac`) returns and what :mod:`.compose` consumes: the band files by
common name (``blue, green, red, nir, swir1, swir2``), the quality band and
its kind (``qa_pixel`` for Landsat Collection 2, ``scl`` for Sentinel-2
L2A), the product's own scale and offset (reflectance = DN x scale +
offset) and nodata, the sensor family for harmonisation (``tm``, ``etm``,
``oli``, ``msi``) and the acquisition date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

COMPOSITE_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir1", "swir2")
"""The reflectance bands of a composite, in order (the simulator's and the features stage's band set)."""


@dataclass(frozen=True)
class Scene:
    """One scene, ready to be read.

    Attributes
    ----------
    scene_id : the product identifier (Landsat product id, Sentinel-2 product name, STAC item id).
    sensor : the sensor table name of :mod:`minecarbon.features.sensors` (landsat5/7/8/9, sentinel2, ...).
    family : ``tm``, ``etm``, ``oli`` or ``msi`` (selects the harmonisation coefficients).
    date : acquisition date (UTC).
    bands : common name -> band file.
    qa : the quality band file (``QA_PIXEL`` / ``SCL``).
    qa_kind : ``qa_pixel`` or ``scl``.
    scale, offset : reflectance = DN x scale + offset (per the product's metadata or guide).
    nodata : DN of missing pixels in the band files.
    tile : path/row (``125034``) or MGRS tile (``49SGA``).
    metadata : the metadata file read (MTL, MTD_MSIL2A.xml, STAC item), if any.
    slc_off : Landsat 7 after the scan-line corrector failure (2003-05-31): expect stripes of fill.
    """

    scene_id: str
    sensor: str
    family: str
    date: dt.date
    bands: Mapping[str, Path]
    qa: Path
    qa_kind: str
    scale: float
    offset: float
    nodata: float = 0.0
    tile: str = ""
    metadata: Path | None = None
    slc_off: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def year(self) -> int:
        return self.date.year

    @property
    def folder(self) -> Path:
        return Path(self.qa).parent

    def files(self) -> list[Path]:
        """Every file the scene reads (bands, then the QA band)."""
        return [Path(p) for p in self.bands.values()] + [Path(self.qa)]

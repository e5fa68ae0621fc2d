"""Small hand-made Landsat Collection 2 Level-2 scenes with known values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from minecarbon.composite.mask import qa_pixel_value
from minecarbon.scenario.scenes import mtl_text

BANDS_OLI = {"blue": "SR_B2", "green": "SR_B3", "red": "SR_B4", "nir": "SR_B5", "swir1": "SR_B6", "swir2": "SR_B7"}
BANDS_TM = {"blue": "SR_B1", "green": "SR_B2", "red": "SR_B3", "nir": "SR_B4", "swir1": "SR_B5", "swir2": "SR_B7"}
CRS = "EPSG:32649"
X0, Y0 = 400_000.0, 4_000_000.0
CLEAR, CLOUD, SHADOW, FILL = qa_pixel_value(), qa_pixel_value(cloud=True), qa_pixel_value(shadow=True), 1
DILATED = qa_pixel_value(dilated=True)


def write_scene(folder: Path, mission: str, date: dt.date, dn: np.ndarray, qa: np.ndarray, path: int = 125,
                x0: float = X0, y0: float = Y0, crs: str = CRS) -> Path:
    """Write one scene (dn: (6, h, w) DN in blue..swir2 order, qa: (h, w)); returns its MTL path."""
    pid = f"{mission}_L2SP_{path:03d}034_{date:%Y%m%d}_{date + dt.timedelta(days=20):%Y%m%d}_02_T1"
    d = folder / pid
    d.mkdir(parents=True, exist_ok=True)
    bands = BANDS_OLI if mission in ("LC08", "LC09") else BANDS_TM
    h, w = qa.shape
    t = Affine(30.0, 0, x0, 0, -30.0, y0)
    for i, (name, suffix) in enumerate(bands.items()):
        with rasterio.open(d / f"{pid}_{suffix}.TIF", "w", driver="GTiff", width=w, height=h, count=1,
                           dtype="uint16", crs=crs, transform=t, nodata=0) as dst:
            dst.write(dn[i].astype(np.uint16), 1)
    with rasterio.open(d / f"{pid}_QA_PIXEL.TIF", "w", driver="GTiff", width=w, height=h, count=1, dtype="uint16",
                       crs=crs, transform=t, nodata=1) as dst:
        dst.write(qa.astype(np.uint16), 1)
    mtl = d / f"{pid}_MTL.txt"
    mtl.write_text(mtl_text(pid, mission, path, date, 0.4, dict(bands), (h, w), t, int(crs.split(":")[1])))
    return mtl


def dn_of(rho: float) -> int:
    """Collection 2 DN of a reflectance (hand formula of the product guide)."""
    return int(round((rho + 0.2) / 2.75e-5))


@pytest.fixture
def scene_dir(tmp_path) -> Path:
    return tmp_path / "scenes"

"""Sentinel-2 L2A conventions: product names, the baseline-04.00 offset, MTD_MSIL2A.xml, SCL classes, layouts.

Reference (ESA processing-baseline 04.00 note, as quoted in ``data/sensors.csv``): from baseline 04.00
(products after 2022-01-25) L2A reflectance = (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE with
BOA_ADD_OFFSET = -1000 and BOA_QUANTIFICATION_VALUE = 10000; before it, DN / 10000.  SCL: 3 cloud shadow,
8/9 cloud medium/high probability, 10 thin cirrus, 0 no data, 1 saturated or defective, 11 snow.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import rasterio
from affine import Affine

from minecarbon.composite import SceneError, TargetGrid, compose, find_scenes
from minecarbon.composite.mask import scl_clear
from minecarbon.composite.sentinel2 import boa_offset, parse_product_name, scene_from_folder

NAME = "S2A_MSIL2A_20230615T031541_N0509_R118_T49SGA_20230615T065000"
OLD = "S2B_MSIL2A_20190615T031541_N0212_R118_T49SGA_20190615T065000"
BANDS = {"B02": 10, "B03": 10, "B04": 10, "B08": 10, "B11": 20, "B12": 20}
MTD = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
<n1:General_Info><Product_Info><PROCESSING_BASELINE>05.09</PROCESSING_BASELINE></Product_Info>
<Product_Image_Characteristics><QUANTIFICATION_VALUES_LIST>
<BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST>
<BOA_ADD_OFFSET_VALUES_LIST>{offsets}</BOA_ADD_OFFSET_VALUES_LIST>
</Product_Image_Characteristics></n1:General_Info></n1:Level-2A_User_Product>"""


def _tif(path, value, res, size_m=60.0, dtype="uint16"):
    n = int(size_m / res)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype=dtype, crs="EPSG:32649",
                       transform=Affine(res, 0, 500_000.0, 0, -res, 4_000_000.0), nodata=0) as dst:
        dst.write(np.full((1, n, n), value, dtype=dtype))


def _safe(root, name, dn, scl, mtd=True):
    d = root / f"{name}.SAFE"
    g = d / "GRANULE" / "L2A_T49SGA_A041000_20230615T032453" / "IMG_DATA"
    date = name.split("_")[2]
    for b, res in BANDS.items():
        _tif(g / f"R{res}m" / f"T49SGA_{date}_{b}_{res}m.tif", dn, res)
        if res == 10:  # the 20 m folder holds resampled copies too; the finest one must be chosen
            _tif(g / "R20m" / f"T49SGA_{date}_{b}_20m.tif", 1, 20)
    _tif(g / "R20m" / f"T49SGA_{date}_SCL_20m.tif", scl, 20, dtype="uint8")
    if mtd:
        offs = "".join(f'<BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for i in range(13))
        (d / "MTD_MSIL2A.xml").write_text(MTD.format(offsets=offs))
    return d


def test_product_name_and_baseline_offset():
    p = parse_product_name(NAME)
    assert (p["mission"], p["date"], p["baseline"], p["tile"]) == ("S2A", dt.date(2023, 6, 15), 509, "49SGA")
    assert boa_offset(509) == -1000 and boa_offset(400) == -1000 and boa_offset(399) == 0 and boa_offset(212) == 0
    with pytest.raises(SceneError):
        parse_product_name("S2A_MSIL1C_20230615T031541_N0509_R118_T49SGA_20230615T065000")


def test_scl_classes():
    scl = np.arange(12)
    assert np.flatnonzero(scl_clear(scl)).tolist() == [2, 4, 5, 6, 7]
    assert 11 in np.flatnonzero(scl_clear(scl, snow=False)).tolist()


def test_safe_reflectance_uses_the_offset(tmp_path):
    d = _safe(tmp_path / "s", NAME, 2500, 4)
    s = scene_from_folder(d)
    assert (s.sensor, s.family, s.qa_kind, s.scale, s.offset) == ("sentinel2", "msi", "scl", 1e-4, -0.1)
    assert s.bands["red"].name.endswith("_B04_10m.tif") and s.bands["swir1"].name.endswith("_B11_20m.tif")
    out = compose([s], TargetGrid("EPSG:32649", Affine(30, 0, 500_000.0, 0, -30, 4_000_000.0), 2, 2),
                  tmp_path / "c.tif")
    with rasterio.open(out.path) as src:
        rho = src.read(3) * 2.75e-5 - 0.2
        count = src.read(7)
    assert rho == pytest.approx(np.full((2, 2), (2500 - 1000) / 10000), abs=3e-5)  # 0.15, hand arithmetic
    assert count.tolist() == [[1, 1], [1, 1]]


def test_old_baseline_has_no_offset_and_cloudy_scl_is_masked(tmp_path):
    d = _safe(tmp_path / "s", OLD, 2500, 9, mtd=False)
    s = scene_from_folder(d)
    assert s.offset == 0.0 and s.sensor == "sentinel2_pre04"
    out = compose([s], TargetGrid("EPSG:32649", Affine(30, 0, 500_000.0, 0, -30, 4_000_000.0), 2, 2),
                  tmp_path / "c.tif")
    with rasterio.open(out.path) as src:
        assert src.read(7).max() == 0 and src.read(1).max() == 0


def test_cog_layout_and_missing_scl(tmp_path):
    d = tmp_path / "s" / NAME
    for b, res in BANDS.items():
        _tif(d / f"{b}.tif", 3000, res)
    scenes, problems = find_scenes(tmp_path / "s", strict=False)
    assert scenes == [] and "SCL" in problems[0] and NAME in problems[0]
    _tif(d / "SCL.tif", 5, 20, dtype="uint8")
    s = find_scenes(tmp_path / "s")[0][0]
    assert s.offset == -0.1 and s.extra["baseline"] == "05.09"


def test_stac_catalog_of_local_assets(tmp_path):
    pystac = pytest.importorskip("pystac")
    d = tmp_path / "assets"
    for b, res in BANDS.items():
        _tif(d / f"{b}.tif", 2000, res)
    _tif(d / "SCL.tif", 4, 20, dtype="uint8")
    cat = pystac.Catalog(id="local", description="test")
    item = pystac.Item(id="S2A_49SGA_20230615_0_L2A", geometry=None, bbox=None,
                       datetime=dt.datetime(2023, 6, 15, 3, 15), properties={
                           "platform": "sentinel-2a", "s2:processing_baseline": "05.09", "s2:mgrs_tile": "49SGA"})
    keys = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir", "B11": "swir16", "B12": "swir22"}
    for b, key in keys.items():
        item.add_asset(key, pystac.Asset(href=str(d / f"{b}.tif")))
    item.add_asset("scl", pystac.Asset(href=str(d / "SCL.tif")))
    cat.add_item(item)
    cat.normalize_and_save(str(tmp_path / "stac"), catalog_type=pystac.CatalogType.SELF_CONTAINED)
    scenes, problems = find_scenes(tmp_path / "stac" / "catalog.json")
    assert problems == [] and len(scenes) == 1
    s = scenes[0]
    assert (s.family, s.offset, s.scale, s.date) == ("msi", -0.1, 1e-4, dt.date(2023, 6, 15))
    assert json.loads((tmp_path / "stac" / "catalog.json").read_text())["id"] == "local"

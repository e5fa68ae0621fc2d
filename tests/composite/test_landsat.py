"""Landsat Collection 2 Level-2 conventions: product ids, MTL, QA_PIXEL bits, scale and offset.

Reference values are those of the USGS Landsat 8-9 C2 L2 Science Product Guide (LSDS-1619) as quoted in
``data/sensors.csv`` and the module docstrings: SR = DN x 0.0000275 - 0.2; QA_PIXEL common values 21824
(clear land, OLI), 5440 (clear land, TM/ETM+), 22280 (high-confidence cloud, OLI), 23888 (cloud shadow,
OLI, clear bit set), 1 (fill).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import rasterio

from minecarbon.composite import SceneError, parse_mtl, parse_product_id, scene_from_mtl
from minecarbon.composite.compose import scene_reflectance
from minecarbon.composite.landsat import find_landsat_scenes
from minecarbon.composite.mask import qa_pixel_clear, qa_pixel_value
from minecarbon.errors import InputError, MinecarbonError

from .conftest import CLEAR, write_scene


def test_product_id_fields():
    p = parse_product_id("LE07_L2SP_125034_20050715_20200912_02_T1")
    assert (p.sensor, p.family, p.path, p.row, p.pathrow) == ("landsat7", "etm", 125, 34, "125034")
    assert p.acquired == dt.date(2005, 7, 15) and p.processed == dt.date(2020, 9, 12) and p.tier == "T1"
    assert parse_product_id("LT05_L2SP_126034_19990601_20200908_02_T1").family == "tm"
    assert parse_product_id("LC09_L2SP_126034_20220601_20220602_02_T1").sensor == "landsat9"


@pytest.mark.parametrize("bad", ["LC08_L2SP_125034_20201315_20200912_02_T1", "LX08_L2SP_125034_20200715_20200912_02_T1",
                                 "LC08_125034_20200715", "LM01_L2SP_125034_20200715_20200912_02_T1"])
def test_product_id_rejects(bad):
    with pytest.raises(SceneError) as exc:
        parse_product_id(bad)
    assert isinstance(exc.value, MinecarbonError) and isinstance(exc.value, InputError)


def test_mtl_parse_groups_and_values():
    text = ('GROUP = LANDSAT_METADATA_FILE\n  GROUP = IMAGE_ATTRIBUTES\n    WRS_PATH = 125\n'
            '    DATE_ACQUIRED = 2020-07-15\n  END_GROUP = IMAGE_ATTRIBUTES\n'
            '  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS\n    REFLECTANCE_MULT_BAND_4 = 2.75E-05\n'
            '    REFLECTANCE_ADD_BAND_4 = -0.200000\n  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS\n'
            'END_GROUP = LANDSAT_METADATA_FILE\nEND\n')
    mtl = parse_mtl(text)
    assert mtl["IMAGE_ATTRIBUTES"] == {"WRS_PATH": "125", "DATE_ACQUIRED": "2020-07-15"}
    assert float(mtl["LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"]["REFLECTANCE_MULT_BAND_4"]) == 2.75e-5
    with pytest.raises(ValueError, match="never closed"):
        parse_mtl("GROUP = A\n  X = 1\n")


def test_qa_pixel_values_of_the_guide_and_the_mask():
    assert qa_pixel_value() == 21824
    assert qa_pixel_value(oli=False) == 5440
    assert qa_pixel_value(cloud=True) == 22280
    assert qa_pixel_value(shadow=True) == 23888
    assert qa_pixel_value(fill=True) == 1
    qa = np.array([21824, 5440, 22280, 23888, 1, qa_pixel_value(dilated=True), qa_pixel_value(cirrus=True),
                   qa_pixel_value(snow=True)])
    assert qa_pixel_clear(qa).tolist() == [True, True, False, False, False, False, False, False]
    assert qa_pixel_clear(qa, snow=False).tolist()[-1] is True
    assert (23888 >> 6) & 1 == 1  # the clear bit alone would let shadows through


def test_scene_from_mtl_scale_offset_and_reflectance(scene_dir):
    dn = np.full((6, 2, 2), 10000, dtype=np.uint16)
    qa = np.full((2, 2), CLEAR, dtype=np.uint16)
    mtl = write_scene(scene_dir, "LC08", dt.date(2020, 7, 15), dn, qa)
    s = scene_from_mtl(mtl)
    assert (s.sensor, s.family, s.scale, s.offset, s.tile) == ("landsat8", "oli", 2.75e-5, -0.2, "125034")
    assert s.bands["red"].name.endswith("_SR_B4.TIF") and s.qa.name.endswith("_QA_PIXEL.TIF")
    rho = scene_reflectance(dn, qa, s)
    assert np.allclose(rho, 10000 * 2.75e-5 - 0.2)  # 0.075, hand arithmetic
    tm = scene_from_mtl(write_scene(scene_dir, "LT05", dt.date(2005, 7, 1), dn, qa))
    assert tm.bands["nir"].name.endswith("_SR_B4.TIF") and tm.bands["swir2"].name.endswith("_SR_B7.TIF")
    le = scene_from_mtl(write_scene(scene_dir, "LE07", dt.date(2003, 6, 1), dn, qa))
    assert le.slc_off and not scene_from_mtl(write_scene(scene_dir, "LE07", dt.date(2003, 5, 30), dn, qa)).slc_off


def test_mtl_contradicting_the_files_names_the_scene(scene_dir):
    dn = np.full((6, 2, 2), 10000, dtype=np.uint16)
    mtl = write_scene(scene_dir, "LC08", dt.date(2020, 7, 15), dn, np.full((2, 2), CLEAR))
    mtl.write_text(mtl.read_text().replace("DATE_ACQUIRED = 2020-07-15", "DATE_ACQUIRED = 2020-07-31"))
    with pytest.raises(SceneError, match=r"LC08_L2SP_125034_20200715.*DATE_ACQUIRED = 2020-07-31.*Download"):
        scene_from_mtl(mtl)
    mtl.write_text("GROUP = LANDSAT_METADATA_FILE\n  WRS_PATH = 1")
    with pytest.raises(SceneError, match="cannot be read"):
        scene_from_mtl(mtl)


def test_missing_band_listed_with_every_other_problem(scene_dir):
    dn = np.full((6, 2, 2), 10000, dtype=np.uint16)
    m1 = write_scene(scene_dir, "LC08", dt.date(2020, 7, 15), dn, np.full((2, 2), CLEAR))
    m2 = write_scene(scene_dir, "LC08", dt.date(2020, 7, 31), dn, np.full((2, 2), CLEAR))
    next(m1.parent.glob("*_SR_B5.TIF")).unlink()
    m2.write_text("nonsense")
    scenes, problems = find_landsat_scenes(scene_dir)
    assert scenes == [] and len(problems) == 2
    assert any("SR_B5" in p and "nir" in p and m1.parent.name in p for p in problems)
    assert any(m2.name in p for p in problems)


def test_mtl_size_contradicting_the_band_file(scene_dir, tmp_path):
    from minecarbon.composite import TargetGrid, compose

    dn = np.full((6, 2, 2), 10000, dtype=np.uint16)
    mtl = write_scene(scene_dir, "LC08", dt.date(2020, 7, 15), dn, np.full((2, 2), CLEAR))
    mtl.write_text(mtl.read_text().replace("REFLECTIVE_SAMPLES = 2", "REFLECTIVE_SAMPLES = 7661"))
    s = scene_from_mtl(mtl)
    grid = TargetGrid("EPSG:32649", rasterio.Affine(30, 0, 400_000.0, 0, -30, 4_000_000.0), 2, 2)
    with pytest.raises(SceneError, match=r"LC08_L2SP_125034_20200715.*2 x 2 pixels.*REFLECTIVE_SAMPLES = 7661"):
        compose([s], grid, tmp_path / "c.tif")

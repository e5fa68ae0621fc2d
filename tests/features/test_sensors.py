"""Sensor tables, band recognition, reflectance scaling and QA masks (hand arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from minecarbon.errors import InputError
from minecarbon.features import find_bands, get_sensor, landsat_qa_valid, scl_valid, sensors, surface_reflectance

from .conftest import make_raster


def image(names, values, shape=(2, 3), chunks=None):
    """A (band, y, x) image with band descriptions ``names``; band k filled with ``values[k]``."""
    layers = [make_raster(np.full(shape, v, dtype=float) if np.isscalar(v) else np.asarray(v, dtype=float),
                          chunks=chunks) for v in values]
    return xr.concat(layers, dim="band").assign_coords(band=list(names))


def test_tables_are_complete():
    table = sensors()
    assert {"landsat5", "landsat7", "landsat8", "landsat9", "sentinel2", "sentinel2_pre04", "sentinel2_l1c"} <= set(table)
    for s in table.values():
        for common in ("blue", "green", "red", "nir", "swir1", "swir2"):
            assert s.band(common) is not None, (s.name, common)
        assert all(b.source and b.status in ("verified", "secondary") for b in s.bands)
    assert [b.band_id for b in table["landsat8"].bands] == [b.band_id for b in table["landsat9"].bands]
    assert get_sensor("sentinel2").band("nir").band_id == "B8"
    assert get_sensor("sentinel2").band("nir08").band_id == "B8A"
    assert get_sensor("landsat5").band("nir").band_id == "B4"
    with pytest.raises(InputError, match="Unknown sensor 'spot6'.*landsat8"):
        get_sensor("spot6")


def test_recognise_landsat_and_sentinel_descriptions():
    l8 = image(["SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7", "QA_PIXEL"], range(7))
    got = find_bands(l8, ["blue", "nir", "swir2"], sensor="landsat8")
    assert [float(got[k].values[0, 0]) for k in ("blue", "nir", "swir2")] == [0.0, 3.0, 5.0]
    s2 = image(["B02", "B03", "B04", "B05", "B8A", "B08", "B11", "B12"], range(8))
    got = find_bands(s2, ["nir", "nir08", "rededge1"], sensor="sentinel2")
    assert [float(got[k].values[0, 0]) for k in ("nir", "nir08", "rededge1")] == [5.0, 4.0, 3.0]
    common = image(["Blue", "NIR", "red"], range(3))
    got = find_bands(common, ["nir", "blue"])          # no sensor: common names, case-insensitive
    assert float(got["nir"].values[0, 0]) == 1.0 and float(got["blue"].values[0, 0]) == 0.0


def test_band_map_and_errors():
    img = image(["band_1", "band_2", "band_3"], [10, 20, 30])
    got = find_bands(img, ["red", "nir"], band_map={"red": "1", "nir": "band_3"})
    assert float(got["red"].values[0, 0]) == 10 and float(got["nir"].values[0, 0]) == 30
    with pytest.raises(InputError, match="has 3 band\\(s\\), but band 7 is mapped to 'nir'"):
        find_bands(img, ["nir"], band_map={"nir": "7"})
    with pytest.raises(InputError, match="no 'swir1' band \\(needed by index NDMI\\).*band_1, band_2, band_3"):
        find_bands(img, ["swir1"], why={"swir1": "index NDMI"})
    l8 = image(["SR_B4", "SR_B5"], [1, 2])
    with pytest.raises(InputError, match="give the sensor"):
        find_bands(l8, ["nir"])                          # SR_B5 means nothing without a sensor
    with pytest.raises(InputError, match="Sensor landsat8 has no 'rededge1' band"):
        find_bands(l8, ["rededge1"], sensor="landsat8")


def test_landsat_scaling_nodata_and_qa():
    clear = (1 << 6) | (1 << 8) | (1 << 10)                  # clear, low confidences
    cloud = (1 << 3) | (1 << 8) | (1 << 9)
    shadow = (1 << 4) | (1 << 6)
    dilated = (1 << 1) | (1 << 6)
    snow = (1 << 5)
    qa = np.array([[clear, cloud, shadow], [dilated, snow, 1]], dtype=float)    # 1 = fill
    dn = np.array([[10000, 10000, 10000], [10000, 10000, 0]], dtype=float)
    img = image(["SR_B4", "SR_B5", "QA_PIXEL"], [dn, dn * 2, qa])
    out = surface_reflectance(img, ["red", "nir"], sensor="landsat8")
    assert out["red"].dtype == np.float32
    red = out["red"].values
    assert red[0, 0] == pytest.approx(10000 * 2.75e-5 - 0.2)                 # 0.075
    assert out["nir"].values[0, 0] == pytest.approx(20000 * 2.75e-5 - 0.2)
    assert np.isnan(red[0, 1:]).all() and np.isnan(red[1]).all()
    kept = surface_reflectance(img, ["red"], sensor="landsat8", snow=False)["red"].values
    assert np.isfinite(kept[1, 1]) and np.isnan(kept[1, 2])
    unmasked = surface_reflectance(img, ["red"], sensor="landsat8", qa_mask=False)["red"].values
    assert np.isfinite(unmasked[0]).all() and np.isnan(unmasked[1, 2])       # nodata 0 still masked


def test_qa_functions_bit_by_bit():
    values = np.arange(64, dtype=np.int64)[None, :]
    valid = landsat_qa_valid(make_raster(values)).values[0]
    np.testing.assert_array_equal(valid, (values[0] & 0b111111) == 0)
    scl = make_raster(np.arange(12, dtype=float)[None, :])
    np.testing.assert_array_equal(scl_valid(scl).values[0],
                                  [False, False, True, False, True, True, True, True, False, False, False, False])
    assert scl_valid(scl, snow=False).values[0, 11]


def test_sentinel2_offsets():
    img = image(["B04", "B08", "SCL"], [1500, 3000, 4])
    new = surface_reflectance(img, ["red", "nir"], sensor="sentinel2")
    old = surface_reflectance(img, ["red", "nir"], sensor="sentinel2_pre04")
    assert new["red"].values[0, 0] == pytest.approx((1500 - 1000) / 10000)
    assert old["red"].values[0, 0] == pytest.approx(1500 / 10000)
    # no sensor, no scale: values are reflectance already
    plain = surface_reflectance(image(["red"], [0.12]), ["red"])
    assert plain["red"].values[0, 0] == pytest.approx(0.12)
    cloudy = surface_reflectance(image(["B04", "SCL"], [1500, 9]), ["red"], sensor="sentinel2")
    assert np.isnan(cloudy["red"].values).all()


def test_dask_image_stays_lazy_and_equal():
    qa = np.array([[64, 8, 64], [64, 64, 16]], dtype=float)
    a = surface_reflectance(image(["SR_B4", "QA_PIXEL"], [[[8000, 9000, 10000], [11000, 0, 12000]], qa]),
                            ["red"], sensor="landsat8")["red"]
    b = surface_reflectance(image(["SR_B4", "QA_PIXEL"], [[[8000, 9000, 10000], [11000, 0, 12000]], qa],
                                  chunks=(1, 2)), ["red"], sensor="landsat8")["red"]
    assert b.chunks is not None
    np.testing.assert_array_equal(a.values, b.compute().values)

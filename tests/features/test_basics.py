"""Spectral indices and terrain against hand arithmetic; numpy and dask agree."""

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from rasterio.transform import from_origin

from minecarbon.errors import InputError
from minecarbon.features import feature_stack, reflectance, spectral_index, terrain


def raster(data, res=30.0, chunks=None):
    h, w = data.shape
    arr = da.from_array(data, chunks=chunks) if chunks else data
    out = xr.DataArray(arr, dims=("y", "x"),
                       coords={"y": 1000 - (np.arange(h) + 0.5) * res, "x": (np.arange(w) + 0.5) * res})
    return out.rio.write_crs("EPSG:32649").rio.write_transform(from_origin(0, 1000, res, res))


def test_indices_by_hand():
    b = {"blue": raster(np.array([[0.05]])), "green": raster(np.array([[0.08]])),
         "red": raster(np.array([[0.04]])), "nir": raster(np.array([[0.30]])),
         "swir1": raster(np.array([[0.15]])), "swir2": raster(np.array([[0.07]]))}
    v = lambda n: float(spectral_index(b, n).values[0, 0])
    assert v("NDVI") == pytest.approx(0.26 / 0.34, rel=1e-6)
    assert v("RVI") == pytest.approx(0.30 / 0.04, rel=1e-6)                  # NIR / Red
    assert v("EVI") == pytest.approx(2.5 * 0.26 / (0.30 + 0.24 - 0.375 + 1), rel=1e-6)
    assert v("SAVI") == pytest.approx(1.5 * 0.26 / (0.34 + 0.5), rel=1e-6)
    assert v("NDMI") == pytest.approx(0.15 / 0.45, rel=1e-6)
    assert v("NBR") == pytest.approx(0.23 / 0.37, rel=1e-6)


def test_zero_denominator_is_nan_and_unknown_index_errors():
    b = {"red": raster(np.array([[0.0]])), "nir": raster(np.array([[0.0]]))}
    assert np.isnan(spectral_index(b, "NDVI").values[0, 0])
    with pytest.raises(InputError, match="Unknown spectral index"):
        spectral_index(b, "XYZ")
    with pytest.raises(InputError, match="swir1"):
        spectral_index(b, "NDMI")


def test_reflectance_scaling():
    dn = raster(np.array([[7273.0, 10000.0]]))
    np.testing.assert_allclose(reflectance(dn, 2.75e-5, -0.2).values, [[7273 * 2.75e-5 - 0.2, 0.075]], atol=1e-7)


def test_slope_aspect_plane():
    # a plane rising 1 m per 30 m towards the east: slope atan(1/30), faces west (270 deg)
    x = np.arange(6) * 30.0
    z = np.tile(x / 30.0, (5, 1))
    s = terrain(raster(z), "slope").values
    # interior pixels; edges use replicated neighbours (documented), so their gradient is halved
    np.testing.assert_allclose(s[:, 1:-1], np.degrees(np.arctan(1 / 30)), rtol=1e-5)
    np.testing.assert_allclose(terrain(raster(z), "aspect_cos").values, 0.0, atol=1e-6)  # cos 270 = 0
    np.testing.assert_allclose(terrain(raster(z), "aspect_sin").values, -1.0, atol=1e-6)  # sin 270 = -1
    # rising towards the north (row 0 is north): the slope faces south (180 deg)
    zn = np.tile((np.arange(5)[::-1] * 2.0)[:, None], (1, 4))
    np.testing.assert_allclose(terrain(raster(zn), "aspect_cos").values[1:-1], -1.0, atol=1e-6)


def test_horn_3x3_by_hand():
    z = np.array([[50, 45, 50], [30, 30, 30], [8, 10, 10]], dtype=float)
    # Horn: dz/dx = ((c+2f+i)-(a+2d+g))/(8*res), dz/dy = ((a+2b+c)-(g+2h+i))/(8*res)
    dzdx = ((50 + 60 + 10) - (50 + 60 + 8)) / (8 * 10.0)
    dzdy = ((50 + 90 + 50) - (8 + 20 + 10)) / (8 * 10.0)
    expected = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    assert terrain(raster(z, res=10.0), "slope").values[1, 1] == pytest.approx(expected, rel=1e-6)


def test_numpy_and_dask_agree():
    rng = np.random.default_rng(1)
    z = rng.normal(1000, 50, (37, 41))
    for var in ("slope", "aspect_cos", "aspect_sin"):
        a = terrain(raster(z), var).values
        b = terrain(raster(z, chunks=(10, 12)), var).compute().values
        np.testing.assert_array_equal(a, b)
    bands = {k: raster(rng.uniform(0.01, 0.5, (20, 20))) for k in ("blue", "green", "red", "nir", "swir1", "swir2")}
    dbands = {k: raster(v.values, chunks=(7, 7)) for k, v in bands.items()}
    dem = raster(z[:20, :20])
    s1 = feature_stack(bands, dem, ["red", "nir"], ["NDVI", "EVI"], ["slope"])
    s2 = feature_stack(dbands, raster(z[:20, :20], chunks=(7, 7)), ["red", "nir"], ["NDVI", "EVI"], ["slope"])
    assert list(s1["band"].values) == ["red", "nir", "NDVI", "EVI", "slope"]
    np.testing.assert_array_equal(s1.values, s2.compute().values)

"""The feature stack: names and order, numpy == dask for any chunking, errors."""

from __future__ import annotations

import numpy as np
import pytest

from minecarbon.errors import InputError
from minecarbon.features import (
    INDICES,
    MEASURES,
    TERRAIN,
    StackSpec,
    TextureSpec,
    feature_stack,
    glcm_texture,
    required_bands,
    spectral_index,
    tasseled_cap,
    terrain_variables,
)

from .conftest import make_raster, smooth_field

SIX = ("blue", "green", "red", "nir", "swir1", "swir2")
LANDSAT_INDICES = [n for n in INDICES if set(INDICES[n].bands) <= set(SIX)]


def inputs(chunks=None, shape=(45, 38)):
    refl = {b: np.clip(smooth_field(shape, seed=k, scale=0.03, offset=0.05 + 0.04 * k), 0.001, None)
            for k, b in enumerate(SIX)}
    refl["red"][3:6, 30:34] = np.nan               # a masked cloud
    dem = smooth_field(shape, seed=9, scale=200, offset=1200)
    canopy = smooth_field(shape, seed=11, scale=3, offset=12)
    return ({b: make_raster(v, chunks=chunks) for b, v in refl.items()}, make_raster(dem, chunks=chunks),
            {"chm_p95_m": make_raster(canopy, chunks=chunks)})


def full_stack(chunks=None):
    bands, dem, canopy = inputs(chunks)
    return feature_stack(bands, dem, list(SIX), LANDSAT_INDICES, list(TERRAIN),
                         tasseled_cap_vars=("TCB", "TCG", "TCW", "TCA", "TCD", "DI"), sensor="landsat8",
                         texture=TextureSpec(bands=("nir", "NDVI"), window=5, levels=16), canopy=canopy)


def test_names_order_and_values():
    stack = full_stack()
    names = list(stack["band"].values)
    expected = (list(SIX) + LANDSAT_INDICES + ["TCB", "TCG", "TCW", "TCA", "TCD", "DI"]
                + [f"nir_glcm_{m}" for m in MEASURES] + [f"NDVI_glcm_{m}" for m in MEASURES]
                + list(TERRAIN) + ["chm_p95_m"])
    assert names == expected
    assert stack.dtype == np.float32 and stack.rio.crs is not None
    bands, dem, canopy = inputs()
    # each block equals the function that makes it
    np.testing.assert_array_equal(stack.sel(band="EVI").values, spectral_index(bands, "EVI").values)
    np.testing.assert_array_equal(stack.sel(band=["TCB", "DI"]).values,
                                  tasseled_cap(bands, sensor="landsat8", variables=("TCB", "DI")).values)
    np.testing.assert_array_equal(stack.sel(band="NDVI_glcm_entropy").values,
                                  glcm_texture(spectral_index(bands, "NDVI"), 5, 16,
                                               measures=("entropy",)).values[0])
    np.testing.assert_array_equal(stack.sel(band="tpi").values, terrain_variables(dem, ["tpi"]).values[0])
    np.testing.assert_array_equal(stack.sel(band="chm_p95_m").values, canopy["chm_p95_m"].values.astype("f4"))
    assert np.isnan(stack.sel(band="NDVI").values[4, 31]) and np.isfinite(stack.sel(band="slope").values[4, 31])


@pytest.mark.parametrize("chunks", [(16, 16), (45, 9), (7, 38)])
def test_dask_chunked_equals_numpy(chunks):
    ref = full_stack()
    got = full_stack(chunks)
    assert got.chunks is not None
    np.testing.assert_array_equal(got.compute().values, ref.values)


def test_required_bands_and_errors():
    spec = StackSpec(bands=("red",), indices=("NDMI",), tasseled_cap=("TCB",),
                     texture=TextureSpec(bands=("NDVI",)))
    need = required_bands(spec, sensor="sentinel2")
    assert set(need) == {"red", "nir", "swir1", "blue", "green", "swir2"}
    assert need["swir1"] == "index NDMI" and need["blue"] == "the tasseled cap"
    bands, dem, _ = inputs()
    with pytest.raises(InputError, match="appear twice"):
        feature_stack(bands, dem, ["red"], ["NDVI", "ndvi"])
    with pytest.raises(InputError, match="no DEM"):
        feature_stack(bands, None, [], [], ["slope"])
    with pytest.raises(InputError, match="rededge1"):
        feature_stack(bands, dem, [], ["NDREI"])
    with pytest.raises(InputError, match="Texture source 'swir3'"):
        feature_stack(bands, dem, [], [], texture=TextureSpec(bands=("swir3",)))

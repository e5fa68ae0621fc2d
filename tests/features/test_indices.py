"""Spectral indices against a peer library (spyndex = awesome-spectral-indices) and hand arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from minecarbon.errors import InputError
from minecarbon.features import INDICES, index_bands, spectral_index, spectral_indices

from .conftest import make_raster

# our common band names -> awesome-spectral-indices symbols
ASI = {"blue": "B", "green": "G", "red": "R", "nir": "N", "swir1": "S1", "swir2": "S2",
       "rededge1": "RE1", "rededge2": "RE2", "rededge3": "RE3"}


def bands_of(arrays: dict[str, np.ndarray], chunks=None):
    return {k: make_raster(v, chunks=chunks) for k, v in arrays.items()}


def random_reflectance(shape=(9, 11), seed=0):
    rng = np.random.default_rng(seed)
    out = {"blue": rng.uniform(0.01, 0.08, shape), "green": rng.uniform(0.03, 0.12, shape),
           "red": rng.uniform(0.02, 0.15, shape), "rededge1": rng.uniform(0.08, 0.2, shape),
           "rededge2": rng.uniform(0.2, 0.35, shape), "rededge3": rng.uniform(0.25, 0.45, shape),
           "nir": rng.uniform(0.2, 0.5, shape), "swir1": rng.uniform(0.1, 0.3, shape),
           "swir2": rng.uniform(0.05, 0.2, shape)}
    return out


# indices whose formula (and constants) we take as awesome-spectral-indices has them
SAME_AS_ASI = ["NDVI", "DVI", "EVI", "EVI2", "MSAVI", "OSAVI", "RDVI", "MSR", "GNDVI", "NDWI", "MNDWI",
               "NDMI", "NBR", "NBR2", "NDREI", "CIRE", "RENDVI", "IRECI", "MTCI", "S2REP"]


@pytest.mark.parametrize("name", SAME_AS_ASI)
def test_equals_spyndex(name):
    spyndex = pytest.importorskip("spyndex")
    refl = random_reflectance()
    params = {ASI[b]: refl[b] for b in index_bands(name)}
    params.update({"g": 2.5, "C1": 6.0, "C2": 7.5, "L": 1.0})
    expected = np.asarray(spyndex.computeIndex(name, params=params), dtype=np.float64)
    got = spectral_index(bands_of(refl), name).values
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-7)


def test_pinned_choices_against_spyndex():
    """RVI = ASI's SR (N/R); SAVI with L = 0.5; ARVI (1992) = ASI's string with gamma = -1."""
    spyndex = pytest.importorskip("spyndex")
    refl = random_reflectance(seed=1)
    b = bands_of(refl)
    np.testing.assert_allclose(spectral_index(b, "RVI").values,
                               spyndex.computeIndex("SR", params={"N": refl["nir"], "R": refl["red"]}), rtol=2e-6)
    np.testing.assert_allclose(spectral_index(b, "SAVI").values,
                               spyndex.computeIndex("SAVI", params={"N": refl["nir"], "R": refl["red"], "L": 0.5}),
                               rtol=2e-6)
    np.testing.assert_allclose(spectral_index(b, "ARVI").values,
                               spyndex.computeIndex("ARVI", params={"N": refl["nir"], "R": refl["red"],
                                                                    "B": refl["blue"], "gamma": -1.0}), rtol=2e-6)


def test_hand_arithmetic():
    one = {"blue": 0.05, "green": 0.08, "red": 0.04, "nir": 0.30, "swir1": 0.15, "swir2": 0.07,
           "rededge1": 0.10, "rededge2": 0.20, "rededge3": 0.25}
    b = bands_of({k: np.array([[v]]) for k, v in one.items()})

    def v(name):
        return float(spectral_index(b, name).values[0, 0])

    assert v("NDVI") == pytest.approx(0.26 / 0.34, rel=1e-6)
    assert v("RVI") == pytest.approx(0.30 / 0.04, rel=1e-6)
    assert v("EVI") == pytest.approx(2.5 * 0.26 / (0.30 + 0.24 - 0.375 + 1), rel=1e-6)
    assert v("SAVI") == pytest.approx(1.5 * 0.26 / (0.34 + 0.5), rel=1e-6)
    # ARVI, Kaufman & Tanre 1992 with gamma = 1: (N - 2R + B) / (N + 2R - B)
    assert v("ARVI") == pytest.approx((0.30 - 0.08 + 0.05) / (0.30 + 0.08 - 0.05), rel=1e-6)
    assert v("MSAVI") == pytest.approx(0.5 * (1.6 - np.sqrt(1.6**2 - 8 * 0.26)), rel=1e-6)
    assert v("NBR2") == pytest.approx(0.08 / 0.22, rel=1e-6)
    assert v("S2REP") == pytest.approx(705 + 35 * ((0.145 - 0.10) / 0.10), rel=1e-6)


def test_every_table_row_is_complete():
    required = {"NDVI", "RVI", "DVI", "EVI", "EVI2", "SAVI", "MSAVI", "OSAVI", "RDVI", "MSR", "GNDVI", "ARVI",
                "NDWI", "MNDWI", "NDMI", "NBR", "NBR2"}
    assert required <= set(INDICES)
    for name in INDICES:
        idx = INDICES[name]
        assert idx.bands and idx.reference and idx.verified_in and idx.status in ("verified", "secondary"), name


def test_dask_equals_numpy_and_nan_rules():
    refl = random_reflectance((20, 23), seed=4)
    refl["red"][0, 0] = 0.0
    refl["nir"][0, 0] = 0.0            # 0/0
    refl["nir"][1, 1] = np.nan
    a = spectral_indices(bands_of(refl), list(INDICES))
    b = spectral_indices(bands_of(refl, chunks=(6, 7)), list(INDICES))
    assert a.dtype == np.float32 and list(a["band"].values) == [INDICES[n].name for n in INDICES]
    np.testing.assert_array_equal(a.values, b.compute().values)
    assert np.isnan(a.sel(band="NDVI").values[0, 0]) and np.isnan(a.sel(band="NDVI").values[1, 1])
    assert np.isfinite(a.sel(band="NDVI").values[2:, 2:]).all()


def test_errors_name_the_problem():
    b = bands_of({"red": np.ones((2, 2)), "nir": np.ones((2, 2))})
    with pytest.raises(InputError, match="Unknown spectral index 'XYZ'"):
        spectral_index(b, "XYZ")
    with pytest.raises(InputError, match="NDMI needs band.*swir1"):
        spectral_index(b, "ndmi")

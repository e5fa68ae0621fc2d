"""Tasseled cap: coefficient tables against DOMAIN.md 2.4, orthonormality (sign-typo check), hand arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from minecarbon.errors import InputError
from minecarbon.features import coefficient_sets, resolve_set, tasseled_cap

from .conftest import make_raster

# Rows as printed in shared/docs/DOMAIN.md 2.4 (blue, green, red, NIR, SWIR1, SWIR2)
DOMAIN_BAIG = [[0.3029, 0.2786, 0.4733, 0.5599, 0.5080, 0.1872],
               [-0.2941, -0.2430, -0.5424, 0.7276, 0.0713, -0.1608],
               [0.1511, 0.1973, 0.3283, 0.3407, -0.7117, -0.4559]]
DOMAIN_CRIST = [[0.2043, 0.4158, 0.5524, 0.5741, 0.3124, 0.2303],
                [-0.1603, -0.2819, -0.4934, 0.7940, -0.0002, -0.1446],
                [0.0315, 0.2021, 0.3102, 0.1594, -0.6806, -0.6109]]
DOMAIN_SHI_XU = [[0.3510, 0.3813, 0.3437, 0.7196, 0.2396, 0.1949],
                 [-0.3599, -0.3533, -0.4734, 0.6633, 0.0087, -0.2856],
                 [0.2578, 0.2305, 0.0883, 0.1071, -0.7611, -0.5308]]
SIX = ("blue", "green", "red", "nir", "swir1", "swir2")


@pytest.mark.parametrize("name, rows", [("baig2014", DOMAIN_BAIG), ("crist1985", DOMAIN_CRIST),
                                        ("shi_xu2019", DOMAIN_SHI_XU)])
def test_tables_match_domain(name, rows):
    cs = coefficient_sets()[name]
    assert cs.bands == SIX
    np.testing.assert_array_equal(cs.matrix(), np.array(rows))


@pytest.mark.parametrize("name", ["baig2014", "huang2002", "crist1985", "shi_xu2019", "nedkov2017"])
def test_rows_are_orthonormal(name):
    """A tasseled cap is a rotation: B, G, W rows are unit vectors and mutually orthogonal.

    This catches the sign and digit typos in circulation (e.g. Baig greenness SWIR1 -0.0713
    gives B.G = -0.072; Shi & Xu greenness B11 -0.0059 gives B.G = -0.0035).
    """
    m = coefficient_sets()[name].matrix()
    np.testing.assert_allclose(m @ m.T, np.eye(3), atol=2e-4)
    assert coefficient_sets()[name].reference and coefficient_sets()[name].verified_in


def test_known_typo_would_fail_the_orthonormality_check():
    m = np.array(DOMAIN_BAIG)
    m[1, 4] = -0.0713
    assert np.abs(m @ m.T - np.eye(3)).max() > 0.05


def test_hand_arithmetic_and_derived():
    refl = {"blue": 0.05, "green": 0.08, "red": 0.06, "nir": 0.35, "swir1": 0.18, "swir2": 0.09}
    b = {k: make_raster(np.array([[v]])) for k, v in refl.items()}
    out = tasseled_cap(b, sensor="landsat8", variables=("TCB", "TCG", "TCW", "TCA", "TCD"))
    vec = np.array([refl[k] for k in SIX])
    tcb, tcg, tcw = (float(np.dot(r, vec)) for r in DOMAIN_BAIG)
    got = out.values[:, 0, 0]
    np.testing.assert_allclose(got, [tcb, tcg, tcw, np.arctan(tcg / tcb), np.hypot(tcb, tcg)], rtol=1e-6)
    assert out.attrs["tasseled_cap_coefficients"] == "baig2014"


def test_default_sets_per_sensor():
    assert resolve_set(sensor="landsat9").name == "baig2014"
    assert resolve_set(sensor="landsat5").name == "crist1985"
    assert resolve_set(sensor="sentinel2").name == "shi_xu2019"
    assert resolve_set("huang2002", sensor="landsat8").name == "huang2002"
    with pytest.raises(InputError, match="needs a sensor"):
        resolve_set()
    with pytest.raises(InputError, match="Unknown tasseled-cap coefficient set"):
        resolve_set("kauth1976")


def test_disturbance_index_by_hand_and_dask():
    rng = np.random.default_rng(2)
    refl = {k: rng.uniform(0.02, 0.4, (30, 26)) for k in SIX}
    refl["red"][0, :3] = np.nan
    forest = np.zeros((30, 26), bool)
    forest[5:25, 4:20] = True
    b = {k: make_raster(v) for k, v in refl.items()}
    out = tasseled_cap(b, "crist1985", variables=("DI",), forest=forest)
    stack = np.stack([refl[k] for k in SIX])
    comps = np.einsum("ij,jyx->iyx", np.array(DOMAIN_CRIST), stack)
    z = []
    for c in comps:
        vals = c[forest & np.isfinite(c)]
        z.append((c - vals.mean()) / vals.std())
    expected = z[0] - (z[1] + z[2])
    np.testing.assert_allclose(out.values[0], expected, rtol=1e-5, atol=1e-6)
    assert np.isnan(out.values[0, 0, :3]).all()
    bd = {k: make_raster(v, chunks=(7, 9)) for k, v in refl.items()}
    outd = tasseled_cap(bd, "crist1985", variables=("DI", "TCB", "TCA"), forest=forest).compute()
    np.testing.assert_array_equal(outd.values[0], out.values[0])


def test_missing_band_is_named():
    b = {k: make_raster(np.ones((2, 2)) * 0.1) for k in SIX}
    with pytest.raises(InputError, match="nedkov2017.*coastal"):
        tasseled_cap(b, "nedkov2017")
    with pytest.raises(InputError, match="Unknown tasseled-cap variable"):
        tasseled_cap(b, sensor="landsat8", variables=("TCX",))

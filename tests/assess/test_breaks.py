"""Exact Fisher-Jenks natural breaks against jenkspy (identical breaks), hand arithmetic and brute force."""

import itertools
import zlib

import jenkspy
import numpy as np
import pytest
from _assess_helpers import make_da

from minecarbon.assess import classify, fisher_jenks, natural_breaks
from minecarbon.errors import InputError


def _sdcm(v, breaks):
    cls = np.searchsorted(np.asarray(breaks)[1:-1], v, side="left")
    return sum(((v[cls == c] - v[cls == c].mean()) ** 2).sum() for c in np.unique(cls))


@pytest.mark.parametrize("kind", ["normal", "ties", "skewed", "bimodal", "integers_few"])
def test_identical_to_jenkspy(kind):
    """Identical breaks; where several partitions are exactly co-optimal (many repeated values) both are optimal."""
    rng = np.random.default_rng(zlib.crc32(kind.encode()))
    for trial in range(8):
        n = int(rng.integers(20, 1200))
        k = int(rng.integers(2, 8))
        if kind == "normal":
            v = rng.normal(0, 1, n)
        elif kind == "ties":
            v = np.round(rng.normal(0, 3, n))
        elif kind == "skewed":
            v = rng.lognormal(0, 1.5, n)
        elif kind == "bimodal":
            v = np.concatenate([rng.normal(0, 0.1, n // 2), rng.normal(5, 1, n - n // 2)])
        else:
            v = rng.integers(0, k + 3, n).astype(float)
        if np.unique(v).size < k:
            continue
        r = fisher_jenks(v, k)
        jb = np.array(jenkspy.jenks_breaks(v, n_classes=k))
        assert r.sdcm == pytest.approx(_sdcm(v, r.breaks), rel=1e-9)
        if kind in ("normal", "skewed", "bimodal"):  # continuous values: a unique optimum
            np.testing.assert_array_equal(r.breaks, jb)
        elif not np.array_equal(r.breaks, jb):  # repeated values: only an exact tie may differ
            assert _sdcm(v, r.breaks) == pytest.approx(_sdcm(v, jb), rel=1e-12)


def test_optimal_by_brute_force():
    rng = np.random.default_rng(7)
    v = np.sort(rng.normal(0, 1, 14))
    for k in (2, 3, 4):
        best = min(_sdcm(v, [v[0]] + [v[i - 1] for i in cut] + [v[-1]])
                   for cut in itertools.combinations(range(1, v.size), k - 1))
        assert fisher_jenks(v, k).sdcm == pytest.approx(best, rel=1e-12)


def test_gvf_counts_means_by_hand():
    v = np.array([1.0, 1.0, 2.0, 10.0, 11.0, 12.0, np.nan])
    r = fisher_jenks(v, 2)
    np.testing.assert_array_equal(r.breaks, [1.0, 2.0, 12.0])
    np.testing.assert_array_equal(r.counts, [3, 3])
    np.testing.assert_allclose(r.means, [4 / 3, 11.0])
    sdcm = (2 * (1 - 4 / 3) ** 2 + (2 - 4 / 3) ** 2) + 2.0
    sdam = ((v[:6] - v[:6].mean()) ** 2).sum()
    assert r.sdcm == pytest.approx(sdcm) and r.gvf == pytest.approx(1 - sdcm / sdam)


def test_every_pixel_gets_a_class_and_dask_equals_numpy():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 20.0, (60, 70))
    x[:5, :5] = np.nan
    da = make_da(x)
    cls, res = natural_breaks(da, 5)
    c = cls.values
    assert set(np.unique(c[np.isfinite(x)])) == {1, 2, 3, 4, 5} and np.isnan(c[~np.isfinite(x)]).all()
    for j in range(1, 6):  # class j holds breaks[j-1] < x <= breaks[j]
        sel = c == j
        assert x[sel].max() == res.breaks[j] and (j == 1 or x[sel].min() > res.breaks[j - 1])
    cls2, res2 = natural_breaks(da.chunk(17), 5)
    np.testing.assert_array_equal(res2.breaks, res.breaks)
    np.testing.assert_array_equal(cls2.values, c)
    # values outside the breaks' range (another scene) go to the end classes, never NaN
    np.testing.assert_array_equal(classify(np.array([-1e9, 1e9, np.nan]), res)[:2], [1, 5])


def test_bad_input():
    with pytest.raises(InputError, match="distinct"):
        fisher_jenks(np.array([1.0, 1.0, 2.0, 2.0]), 3)
    with pytest.raises(InputError, match="no valid value"):
        fisher_jenks(np.array([np.nan, np.inf]), 2)
    with pytest.raises(InputError, match=">= 2"):
        fisher_jenks(np.arange(5.0), 1)

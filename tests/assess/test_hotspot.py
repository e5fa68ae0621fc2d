"""Getis-Ord Gi* against esda.G_Local(star=True, transform='B') to 1e-9; bins and FDR by hand."""

import warnings

import esda
import libpysal
import numpy as np
import pytest
from _assess_helpers import make_da
from scipy import stats
from scipy.spatial import cKDTree

from minecarbon.assess import footprint, gi_star
from minecarbon.assess.hotspot import bh_cutoff
from minecarbon.errors import InputError

PX = 30.0


def _raster(rng, h=24, w=31):
    x = rng.normal(50, 10, (h, w))
    x[4:9, 5:12] += 35                      # a hot spot
    x[15:20, 20:27] -= 30                   # a cold spot
    x[0, :6] = np.nan                       # nodata on the edge
    x[10, 10] = np.nan                      # a hole
    x[20:23, 2:5] = np.nan
    x[12, 15:18] = x[12, 15]                # ties
    return x


def _esda_z(x, kind, size):
    ok = np.isfinite(x)
    rows, cols = np.nonzero(ok)
    if kind == "window":
        tree = cKDTree(np.column_stack([rows, cols]).astype(float))
        pairs = tree.query_pairs(size // 2 + 0.5, p=np.inf)
        neigh = {i: [] for i in range(rows.size)}
        for i, j in pairs:
            neigh[i].append(j)
            neigh[j].append(i)
        w = libpysal.weights.W(neigh, silence_warnings=True)
    else:
        pts = np.column_stack([cols * PX, -rows * PX])
        w = libpysal.weights.DistanceBand(pts, threshold=size, binary=True, silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(x[ok], w, transform="B", star=True, permutations=0)
    return ok, g.Zs


@pytest.mark.parametrize("kind,size", [("window", 3), ("window", 5), ("distance", 30.0), ("distance", 45.0),
                                       ("distance", 60.0), ("distance", 100.0), ("distance", 29.0)])
def test_z_equals_esda(rng, kind, size):
    x = _raster(rng)
    da = make_da(x, pixel_m=PX)
    res = gi_star(da, **({"window": size} if kind == "window" else {"distance_m": size}))
    ok, zs = _esda_z(x, kind, size)
    z = res.sel(stat="z").values
    np.testing.assert_allclose(z[ok], zs, rtol=0, atol=1e-9)
    assert np.isnan(z[~ok]).all() and (res.sel(stat="bin").values[~ok] == 0).all()
    p = res.sel(stat="p").values
    np.testing.assert_allclose(p[ok], 2 * stats.norm.sf(np.abs(zs)), rtol=1e-10, atol=1e-300)


def test_bins_fdr_and_dask(rng):
    x = _raster(rng, 40, 45)
    da = make_da(x, pixel_m=PX)
    res = gi_star(da, window=3)
    z, p, b = (res.sel(stat=s).values for s in ("z", "p", "bin"))
    ok = np.isfinite(z)
    # ArcGIS Gi_Bin: 99/95/90 % two-sided confidence, signed by z
    exp = np.sign(z) * np.select([p < 0.01, p < 0.05, p < 0.10], [3, 2, 1], 0)
    np.testing.assert_array_equal(b[ok], exp[ok])
    # FDR: a pixel is significant at level a iff its BH-adjusted p <= a (scipy's implementation)
    fres = gi_star(da, window=3, fdr=True)
    adj = np.full(p.shape, np.nan)
    adj[ok] = stats.false_discovery_control(p[ok], method="bh")
    exp_f = np.sign(z) * np.select([adj <= 0.01, adj <= 0.05, adj <= 0.10], [3, 2, 1], 0)
    np.testing.assert_array_equal(fres.sel(stat="bin").values[ok], exp_f[ok])
    assert (np.abs(fres.sel(stat="bin").values) <= np.abs(b)).all()  # FDR never adds significance
    # chunked == unchunked (map_overlap with a halo), window and distance band
    for kw in ({"window": 5}, {"distance_m": 75.0}, {"window": 3, "fdr": True}):
        r1 = gi_star(da, **kw)
        r2 = gi_star(da.chunk(13), **kw)
        np.testing.assert_allclose(r2.values, r1.values, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(r2.sel(stat="bin").values, r1.sel(stat="bin").values)
    assert res.rio.crs == da.rio.crs and res.attrs["n"] == int(np.isfinite(x).sum())


def test_bh_cutoff_by_hand():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, np.nan])
    # m = 8; k * 0.05 / 8 = 0.00625, 0.0125, 0.01875, 0.025, ... -> largest k with p_(k) <= k a / m is k = 2
    assert bh_cutoff(p, 0.05) == 0.008
    assert bh_cutoff(np.array([0.5, 0.9]), 0.05) == 0.0


def test_footprint_and_errors():
    fp = footprint(distance_m=45.0, pixel_size=(30.0, 30.0))
    assert fp.shape == (3, 3) and fp.sum() == 9          # diagonal 42.4 m <= 45 m
    assert footprint(distance_m=42.0, pixel_size=(30.0, 30.0)).sum() == 5   # rook + self
    assert footprint(distance_m=30.0, pixel_size=(30.0, 30.0)).sum() == 5   # inclusive
    with pytest.raises(InputError, match="either"):
        footprint()
    with pytest.raises(InputError, match="odd"):
        gi_star(make_da(np.ones((5, 5))), window=4)
    with pytest.raises(InputError, match="valid pixel"):
        gi_star(make_da(np.full((5, 5), np.nan)), window=3)
    # a constant raster has no spread: z is undefined (NaN), not infinite, and nothing is significant
    r = gi_star(make_da(np.full((5, 5), 3.0)), window=3)
    assert np.isnan(r.sel(stat="z").values).all() and (r.sel(stat="bin").values == 0).all()

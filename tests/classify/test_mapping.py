"""``classify.mapping.classify_scene``: the maps block by block equal ``map_hierarchy(scene_features(...))`` on the
whole scene (the two functions it chains, applied in numpy), at uneven chunk sizes, with and without extra
species features, and one dask task per chunk instead of the lazy feature cubes' hundreds."""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
import xarray as xr

from minecarbon.classify.hierarchy import NONFOREST, fit_hierarchy, map_hierarchy
from minecarbon.classify.mapping import LAYERS, classify_scene
from minecarbon.classify.scene import scene_features

BANDS = ["blue", "green", "red", "nir", "swir1", "swir2"]
TIMES = pd.to_datetime([f"2020-{m:02d}-15" for m in range(1, 13)])
H, W = 30, 26


def _scene(seed=0):
    """Four classes on a 30 x 26 grid: non-forest, an evergreen (green all year) and two deciduous species
    (leaf-on in different months), with noise and 25 % cloudy observations (NaN)."""
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, 4, (H, W))
    season = np.array([0.1, 0.1, 0.2, 0.5, 0.8, 1.0, 1.0, 1.0, 0.9, 0.5, 0.2, 0.1])
    late = np.roll(season, 2)
    cube = np.empty((12, 6, H, W))
    base = np.array([0.04, 0.07, 0.05, 0.25, 0.15, 0.08])[:, None, None] * np.ones((6, H, W))
    base[:, cls == 0] = np.array([0.10, 0.12, 0.15, 0.20, 0.28, 0.22])[:, None]
    for t in range(12):
        cube[t] = base
        green = np.select([cls == 1, cls == 2, cls == 3], [0.8, season[t], late[t]], 0.0)
        cube[t, 3] += 0.3 * green
        cube[t, 2] -= 0.03 * green
    cube += rng.normal(0, 0.004, cube.shape)
    cube[rng.random((12, 1, H, W)).repeat(6, 1) < 0.25] = np.nan
    mon = xr.DataArray(cube, dims=("time", "band", "y", "x"),
                       coords={"time": TIMES, "band": BANDS, "y": np.arange(H) * -30.0, "x": np.arange(W) * 30.0})
    extra = xr.DataArray(rng.normal(size=(2, H, W)), dims=("band", "y", "x"),
                         coords={"band": ["e1", "e2"], "y": mon.y, "x": mon.x})
    return mon, mon.isel(time=6, drop=True), extra, cls


def _fit(mon, yearly, extra, cls):
    f = scene_features(mon, yearly)
    sp = xr.concat([f.species, extra], dim="band", coords="minimal", compat="override", join="override")
    rng = np.random.default_rng(1)
    r, c = rng.integers(0, H, 400), rng.integers(0, W, 400)

    def at(da):
        return da.isel(y=xr.DataArray(r, dims="s"), x=xr.DataArray(c, dims="s")).transpose("s", ...).values

    X = {k: at(v) for k, v in (("fX", f.forest), ("rvi", f.rvi_off), ("off", f.leaf_off), ("on", f.leaf_on),
                               ("sX", sp))}
    ok = np.all(np.isfinite(X["fX"]), 1) & np.all(np.isfinite(X["sX"]), 1) & np.isfinite(X["rvi"])
    lab = np.array([NONFOREST, "1", "2", "3"])[cls[r, c]][ok]
    h = fit_hierarchy(X["fX"][ok], lab != NONFOREST, X["rvi"][ok], X["off"][ok], X["on"][ok], lab == "1",
                      X["sX"][ok], lab, n_estimators=20, seed=0, species_learner="lda_rf")
    return h, f, sp


def test_blocks_equal_the_whole_scene_chain():
    mon, yearly, extra, cls = _scene()
    h, f, sp = _fit(mon, yearly, extra, cls)
    ref = map_hierarchy(h, f.forest, f.rvi_off, f.leaf_off, sp)
    ref["n_clear"] = f.n_clear
    assert set(np.unique(ref.species_index.values)) >= {0, 1, 2}  # the maps hold every species
    whole = classify_scene(h, mon, yearly, extra)
    chunks = {"y": 7, "x": 11}
    lazy = classify_scene(h, mon.chunk({"time": 4, "band": 1, **chunks}), yearly.chunk(chunks), extra.chunk(chunks))
    assert lazy.forest.chunks == ((7, 7, 7, 7, 2), (11, 11, 4))
    with dask.config.set(scheduler="threads"):
        blocks = lazy.compute()
    for v in LAYERS:
        for got in (whole[v], blocks[v]):
            assert got.dtype == ref[v].dtype, v
            np.testing.assert_array_equal(got.values, ref[v].values)
    # one classification task per chunk (beside the rechunks of the inputs)
    graph = dict(lazy.forest.data.__dask_graph__())
    assert sum(1 for k in graph if isinstance(k, tuple) and str(k[0]).startswith("block-")) == 5 * 3


def test_without_extra_species_features():
    mon, yearly, extra, cls = _scene(seed=2)
    f = scene_features(mon, yearly)
    rng = np.random.default_rng(3)
    r, c = rng.integers(0, H, 300), rng.integers(0, W, 300)
    pick = {k: v.isel(y=xr.DataArray(r, dims="s"), x=xr.DataArray(c, dims="s")).transpose("s", ...).values
            for k, v in (("fX", f.forest), ("rvi", f.rvi_off), ("off", f.leaf_off), ("on", f.leaf_on),
                         ("sX", f.species))}
    ok = np.all(np.isfinite(pick["fX"]), 1) & np.isfinite(pick["rvi"])
    lab = np.array([NONFOREST, "1", "2", "3"])[cls[r, c]][ok]
    h = fit_hierarchy(pick["fX"][ok], lab != NONFOREST, pick["rvi"][ok], pick["off"][ok], pick["on"][ok],
                      lab == "1", pick["sX"][ok], lab, n_estimators=20, seed=0)
    ref = map_hierarchy(h, f.forest, f.rvi_off, f.leaf_off, f.species)
    got = classify_scene(h, mon.chunk({"y": 16, "x": 16}), yearly.chunk({"y": 16, "x": 16})).compute()
    for v in LAYERS[:-1]:
        np.testing.assert_array_equal(got[v].values, ref[v].values)
    np.testing.assert_array_equal(got.n_clear.values, f.n_clear.values)

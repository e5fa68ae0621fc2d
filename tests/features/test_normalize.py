"""Relative radiometric normalisation: known gains recovered on invariant pixels despite changed ones."""

import numpy as np
import xarray as xr

from minecarbon.features import normalize


def _scene(rng, n=5000):
    return {b: rng.uniform(0.02, 0.4, n) for b in ("red", "nir", "swir1")}


def test_gains_recovered_with_changed_pixels_rejected():
    rng = np.random.default_rng(0)
    ref = _scene(rng)
    true = {"red": 0.97, "nir": 1.042, "swir1": 1.0}
    year = {b: v * true[b] * (1 + rng.normal(0, 0.002, v.size)) for b, v in ref.items()}
    changed = rng.uniform(size=5000) < 0.25  # a quarter of the "stable" pixels changed after all (greening)
    year["nir"] = np.where(changed, year["nir"] * 1.6, year["nir"])
    year["red"] = np.where(changed, year["red"] * 0.5, year["red"])
    gains = normalize.estimate_gains(year, ref)
    got = {g.band: g.gain for g in gains}
    for b, g in true.items():
        assert abs(got[b] - g) < 0.002, (b, got[b], g)
    # the changed pixels were dropped: the final PIF count is close to the unchanged count
    assert abs(gains[0].n_pif - int((~changed).sum())) < 0.02 * 5000
    # a plain median of all ratios would have been pulled by the changed quarter
    naive = np.exp(np.median(np.log(year["nir"] / ref["nir"])))
    assert abs(naive - true["nir"]) > abs(got["nir"] - true["nir"])


def test_too_few_invariant_pixels_gives_none():
    rng = np.random.default_rng(1)
    ref = _scene(rng, 100)
    assert normalize.estimate_gains(ref, ref, min_pif=200) is None


def test_apply_divides_by_gain_and_keeps_other_bands():
    da = xr.DataArray(np.full((2, 2), 0.5, np.float32), dims=("y", "x"))
    out = normalize.apply_gains({"nir": da, "blue": da}, [normalize.BandGain("nir", 1.25, 300, 0.01)])
    assert np.allclose(out["nir"].values, 0.4) and out["nir"].dtype == np.float32
    assert np.allclose(out["blue"].values, 0.5)


def test_sample_pixels_even_and_values_at_numpy_and_dask():
    mask = np.zeros((50, 40), bool)
    mask[10:40, 5:35] = True
    rows, cols = normalize.sample_pixels(mask, max_pixels=100)
    assert len(rows) == 100 and mask[rows, cols].all()
    data = np.arange(2000, dtype=float).reshape(50, 40)
    da = xr.DataArray(data, dims=("y", "x"))
    expect = data[rows, cols]
    assert np.array_equal(normalize.values_at(da, rows, cols), expect)
    assert np.array_equal(normalize.values_at(da.chunk({"y": 16, "x": 16}), rows, cols), expect)

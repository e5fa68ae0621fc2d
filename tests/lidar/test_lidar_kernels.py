"""The compiled CHM kernels (pit filling, treetops) against the numpy / scipy formulations they replace."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import ndimage

from minecarbon.lidar.chm import _pits_block
from minecarbon.lidar.treetops import _mask_block, _window_keys


def _pits_numpy(a: np.ndarray, threshold: float) -> np.ndarray:
    """Reference: np.nanmedian over the stacked 3x3 neighbourhood (NaN outside the block)."""
    a = np.asarray(a, dtype=np.float64)
    pad = np.pad(a, 1, mode="constant", constant_values=np.nan)
    stack = np.stack([pad[i:i + a.shape[0], j:j + a.shape[1]] for i in range(3) for j in range(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(stack, axis=0)
    known = np.isfinite(med)
    pit = known & (~np.isfinite(a) | (med - a > threshold))
    return np.where(pit, med, a).astype(np.float32)


def _treetops_scipy(h: np.ndarray, cell: float, slope: float, intercept: float, min_height: float,
                    convention: str) -> np.ndarray:
    """Reference: one scipy maximum filter per window size, compared at the cells of that size."""
    valid = np.isfinite(h) & (h >= min_height)
    work = np.where(valid, h, -np.inf)
    keys = _window_keys(h, cell, slope, intercept, convention)
    out = np.zeros(h.shape, dtype=bool)
    for q in np.unique(keys[valid]):
        m = math.isqrt(int(q))
        yy, xx = np.mgrid[-m:m + 1, -m:m + 1]
        mx = ndimage.maximum_filter(work, footprint=(xx * xx + yy * yy) <= q, mode="constant", cval=-np.inf)
        out |= valid & (keys == q) & (work >= mx)
    return out


def _chm(seed: int, shape=(120, 150)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h = ndimage.gaussian_filter(rng.gamma(2.0, 4.0, shape), 1.5) * 3.0
    h[rng.uniform(size=shape) < 0.15] = np.nan                 # empty cells
    h[rng.uniform(size=shape) < 0.03] -= 5.0                   # pits
    h[:10, :10] = np.nan                                       # an all-empty corner
    h[50:53, 60:63] = 12.0                                     # a plateau (equal heights)
    return h


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.5, 1.0])
def test_pit_filling_kernel_equals_nanmedian(seed, threshold):
    h = _chm(seed)
    got = _pits_block(h, threshold)
    ref = _pits_numpy(h, threshold)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=0, atol=0)
    assert np.isnan(h).sum() > np.isnan(got).sum() > 0  # empty cells filled, the empty corner kept


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("convention", ["exact", "forest_tools"])
@pytest.mark.parametrize("cell", [0.5, 1.0])
def test_treetop_kernel_equals_per_window_maximum_filters(seed, convention, cell):
    h = _chm(seed)
    got = _mask_block(h, cell, 0.07, 0.8, 2.0, convention)
    ref = _treetops_scipy(h, cell, 0.07, 0.8, 2.0, convention)
    np.testing.assert_array_equal(got, ref)
    assert 10 < got.sum() < h.size // 4

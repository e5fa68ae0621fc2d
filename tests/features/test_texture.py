"""GLCM texture against scikit-image (every window), ForestTools (real data), and itself chunked."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.feature import graycomatrix, graycoprops

from minecarbon.errors import InputError
from minecarbon.features import MEASURES, glcm_numpy, glcm_texture, quantize
from minecarbon.features.texture import SKIMAGE_PROPS

from .conftest import make_raster, smooth_field

ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)


def skimage_window_measures(q: np.ndarray, window: int, levels: int, distance: int) -> np.ndarray:
    """Reference: graycomatrix + graycoprops on each window (clipped at the edges), averaged over angles.

    Missing pixels (q < 0) get an extra grey level ``levels``, whose row and column are
    dropped from the matrix, so pairs that touch them are not counted.
    """
    h = window // 2
    out = np.full((len(MEASURES),) + q.shape, np.nan)
    # skimage offsets are (round(sin a * d), round(cos a * d)); for the diagonals we want (d, +-d)
    dists = [distance, distance * np.sqrt(2), distance, distance * np.sqrt(2)]
    qq = np.where(q < 0, levels, q).astype(np.int64)
    for r in range(q.shape[0]):
        for c in range(q.shape[1]):
            if q[r, c] < 0:
                continue
            win = qq[max(0, r - h):r + h + 1, max(0, c - h):c + h + 1]
            vals = np.zeros(len(MEASURES))
            n = 0
            for ang, dist in zip(ANGLES, dists):
                g = graycomatrix(win, [dist], [ang], levels=levels + 1, symmetric=True, normed=False)
                g = g[:levels, :levels]
                if g.sum() == 0:
                    continue
                n += 1
                vals += [graycoprops(g, SKIMAGE_PROPS[m])[0, 0] for m in MEASURES]
            if n:
                out[:, r, c] = vals / n
    return out


@pytest.mark.parametrize("shape, window, levels, distance, seed", [
    ((17, 21), 3, 8, 1, 0),
    ((24, 19), 7, 32, 1, 1),
    ((15, 16), 5, 16, 2, 2),
])
def test_equals_skimage_on_every_window(shape, window, levels, distance, seed):
    rng = np.random.default_rng(seed)
    q = rng.integers(0, levels, shape)
    ours = glcm_numpy(q, window, levels, distance)
    ref = skimage_window_measures(q, window, levels, distance)
    for k, m in enumerate(MEASURES):
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-10, atol=1e-10, err_msg=m)


def test_missing_pixels_are_left_out_like_skimage_without_them():
    rng = np.random.default_rng(5)
    q = rng.integers(0, 6, (14, 15))
    q[3:6, 4:8] = -1                 # a cloud
    q[10, 2] = -1
    ours = glcm_numpy(q, 5, 6, 1)
    ref = skimage_window_measures(q, 5, 6, 1)
    assert np.isnan(ours[:, 4, 5]).all()                       # centre missing -> NaN
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)


def test_hand_example_constant_window():
    # a constant image: one cell of the matrix, P = 1
    ours = glcm_numpy(np.full((5, 5), 3), 3, 4, 1)
    mean, var, hom, con, dis, ent, asm, cor = ours[:, 2, 2]
    assert (mean, var, hom, con, dis, asm, cor) == (3.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0)
    assert abs(ent) < 1e-11


@pytest.mark.realdata
def test_forest_tools_validation_images(realdata_dir):
    """ForestTools 1.0.3 validation GLCM metrics (4 test images, 4 angles averaged)."""
    pyreadr = pytest.importorskip("pyreadr")
    import pandas as pd

    base = realdata_dir / "ForestTools_kootenay" / "glcm_validation"
    names = {"mean": "mean", "variance": "variance", "homogeneity": "homogeneity", "contrast": "contrast",
             "dissimilarity": "dissimilarity", "entropy": "entropy", "second_moment": "ASM",
             "correlation": "correlation"}
    for name in ("hallbey", "bars", "noise", "tumor"):
        img = pyreadr.read_r(base / "test_data" / f"glcm-{name}.rda")[name].to_numpy()
        levels = pd.read_csv(base / "glcm" / f"{name}0.csv", index_col=0).shape[0]
        expected = pd.concat([pd.read_csv(base / "glcm_metrics" / f"{name}{a}.csv") for a in (0, 45, 90, 135)]).mean()
        if name == "hallbey":        # grey levels 0..3 already
            q = img.astype(int)
        elif name == "bars":         # levels 1..20 in ForestTools -> 0..19
            q = img.astype(int) - 1
        else:                        # ForestTools quantises min..max linearly to 32 levels: our rule with that range
            qda, _ = quantize(make_raster(img.astype(float)), levels, value_range=(img.min(), img.max()))
            q = qda.values
        window = 2 * max(img.shape) + 1  # every pixel's window holds the whole image
        ours = glcm_numpy(q, window, levels, 1)
        r, c = img.shape[0] // 2, img.shape[1] // 2
        for k, m in enumerate(MEASURES):
            assert ours[k, r, c] == pytest.approx(expected[f"glcm_{names[m]}"], rel=1e-7, abs=1e-9), (name, m)


def test_chunked_equals_unchunked_exactly():
    band = smooth_field((61, 53), seed=3, scale=0.05, offset=0.2)
    band[10:14, 20:30] = np.nan
    ref = glcm_texture(make_raster(band), window=7, levels=32)
    assert ref.dtype == np.float32 and list(ref["band"].values) == [f"glcm_{m}" for m in MEASURES]
    for chunks in [(16, 16), (7, 30), (61, 53), (5, 9)]:
        got = glcm_texture(make_raster(band, chunks=chunks), window=7, levels=32)
        assert got.chunks is not None
        np.testing.assert_array_equal(got.compute().values, ref.values)


def test_prefix_subset_and_coords():
    band = make_raster(smooth_field((20, 22), seed=4))
    out = glcm_texture(band, window=3, levels=8, measures=("entropy", "contrast"), prefix="nir")
    assert list(out["band"].values) == ["nir_glcm_entropy", "nir_glcm_contrast"]
    assert out.rio.crs == band.rio.crs
    np.testing.assert_array_equal(out.x.values, band.x.values)
    full = glcm_texture(band, window=3, levels=8)
    np.testing.assert_array_equal(out.values[0], full.values[MEASURES.index("entropy")])


def test_quantize_rules():
    # integer levels already in [0, levels): as is
    q, rng_ = quantize(make_raster(np.array([[0.0, 3.0], [7.0, np.nan]])), levels=8)
    assert rng_ is None and q.values.tolist() == [[0, 3], [7, -1]]
    # explicit range: floor((x - lo) / (hi - lo) * levels), clipped
    q, rng_ = quantize(make_raster(np.array([[0.0, 0.1, 0.25, 0.5, 0.9]])), levels=4, value_range=(0.0, 0.5))
    assert rng_ == (0.0, 0.5) and q.values.tolist() == [[0, 0, 2, 3, 3]]
    # default: 2nd-98th percentiles of the band
    x = np.arange(101, dtype=float).reshape(1, -1) / 100.0
    q, rng_ = quantize(make_raster(x), levels=10)
    assert rng_ == pytest.approx((0.02, 0.98))
    expected = np.clip(np.floor((x - 0.02) / 0.96 * 10), 0, 9)
    np.testing.assert_array_equal(q.values, expected)


def test_quantize_dask_equals_numpy():
    band = smooth_field((40, 41), seed=8)
    a, ra = quantize(make_raster(band), 16)
    b, rb = quantize(make_raster(band, chunks=(9, 13)), 16)
    assert ra == rb
    np.testing.assert_array_equal(a.values, b.compute().values)


def test_bad_arguments_and_all_nodata():
    band = make_raster(np.ones((10, 10)))
    with pytest.raises(InputError, match="odd"):
        glcm_texture(band, window=4)
    with pytest.raises(InputError, match="levels"):
        glcm_texture(band, levels=1)
    with pytest.raises(InputError, match="distance"):
        glcm_texture(band, window=3, distance=3)
    with pytest.raises(InputError, match="Unknown GLCM measure"):
        glcm_texture(band, measures=("energy",))
    with pytest.raises(InputError, match="every pixel is nodata"):
        glcm_texture(make_raster(np.full((6, 6), np.nan)))

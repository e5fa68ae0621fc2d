"""Balanced random forest: CV schemes, seeded identical results, class maps on numpy and dask."""

import numpy as np
import pytest
import xarray as xr

from minecarbon.classify.classifier import (check_samples, cross_validate, fit_forest, majority_baseline, make_forest,
                                            predict_map, spatial_vs_random)
from minecarbon.errors import InputError


def _autocorrelated(n_blocks=8, per=40, seed=0):
    """Classes by spatial block, features = class signal + a strong block effect: random CV is optimistic."""
    rng = np.random.default_rng(seed)
    xs, ys, X, y = [], [], [], []
    for b in range(n_blocks * n_blocks):
        bx, by = divmod(b, n_blocks)
        cls = rng.integers(0, 3)
        eff = rng.normal(0, 1.0, 4)
        for _ in range(per // 4):
            xs.append(bx * 1000 + rng.uniform(0, 1000))
            ys.append(by * 1000 + rng.uniform(0, 1000))
            X.append(eff + rng.normal(0, 0.1, 4) + 0.3 * cls)
            y.append(f"c{cls}")
    return np.array(X), np.array(y), np.array(xs), np.array(ys)


def test_spatial_cv_lower_than_random_and_reproducible():
    X, y, xs, ys = _autocorrelated()
    r = spatial_vs_random(X, y, xs, ys, block_m=1000, folds=5, seed=0, n_estimators=50)
    assert r["spatial"].metrics["oa"] < r["random"].metrics["oa"] - 0.1
    r2 = spatial_vs_random(X, y, xs, ys, block_m=1000, folds=5, seed=0, n_estimators=50)
    np.testing.assert_array_equal(r["spatial"].oof, r2["spatial"].oof)
    cm = r["spatial"].confusion.to_numpy()
    assert cm.sum() == len(y) and r["spatial"].metrics["oa"] == pytest.approx(np.trace(cm) / len(y))


def test_separable_classes_learned():
    rng = np.random.default_rng(2)
    y = np.repeat(["a", "b", "c"], [200, 30, 20])  # imbalanced
    X = rng.normal(0, 0.3, (250, 2)) + np.select([y == "a", y == "b"], [0, 2], 4)[:, None]
    cv = cross_validate(X, y, None, 5, 0, 50)
    assert cv.metrics["oa"] > 0.97 > majority_baseline(y)
    assert min(cv.metrics["pa"].values()) > 0.9


def test_predict_map_numpy_dask_identical():
    rng = np.random.default_rng(4)
    y = np.repeat(["a", "b"], 50)
    X = rng.normal(0, 1, (100, 3)) + (y == "b")[:, None] * 2.0
    m = make_forest(30, 0).fit(X, y)
    img = xr.DataArray(rng.normal(1, 1.5, (3, 12, 10)), dims=("band", "y", "x"), coords={"band": ["f0", "f1", "f2"]})
    img[1, 2, 3] = np.nan
    a = predict_map(m, img, ["f0", "f1", "f2"])
    b = predict_map(m, img.chunk({"y": 5, "x": 4}), ["f0", "f1", "f2"]).compute()
    xr.testing.assert_identical(a, b)
    assert int(a.class_index[2, 3]) == -1
    flat = img.values.reshape(3, -1).T
    ok = np.all(np.isfinite(flat), 1)
    np.testing.assert_array_equal(a.class_index.values.ravel()[ok], np.searchsorted(m.classes_, m.predict(flat[ok])))
    P = m.predict_proba(flat[ok])
    np.testing.assert_allclose(a.margin.values.ravel()[ok], np.abs(P[:, 0] - P[:, 1]), rtol=1e-6)
    with pytest.raises(InputError, match="lacks band"):
        predict_map(m, img, ["f0", "zz"])


def test_sample_checks():
    with pytest.raises(InputError, match="fewer than 5"):
        check_samples(["a"] * 10 + ["b"] * 2)
    with pytest.raises(InputError, match="not in the code list"):
        check_samples(["a"] * 10 + ["q"] * 10, classes=["a", "b"])
    with pytest.raises(InputError, match="missing feature"):
        cross_validate(np.array([[1.0], [np.nan]] * 10), ["a", "b"] * 10, None, 2)


def test_digit_string_labels():
    rng = np.random.default_rng(0)
    y = np.repeat(["2", "8", "10"], 20)
    X = rng.normal(0, 0.1, (60, 2)) + np.repeat([0, 1, 2], 20)[:, None]
    m = fit_forest(X, y, 20, 0)
    assert list(m.class_names_) == ["10", "2", "8"]
    ds = predict_map(m, xr.DataArray(X.T[:, :, None], dims=("band", "y", "x")))
    assert list(ds.probability["class"].values) == ["10", "2", "8"]
    assert cross_validate(X, y, None, 3, 0, 20).metrics["oa"] > 0.9

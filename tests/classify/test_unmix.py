"""Fully constrained unmixing against independent solvers (scipy SLSQP; NNLS with the sum-to-one row)."""

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy.optimize import minimize, nnls

from minecarbon.classify.unmix import endmembers_from_samples, fcls, unmix
from minecarbon.errors import InputError


def _scene(n=400, b=6, p=4, seed=0, noise=0.03):
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.02, 0.5, (b, p))
    a = rng.dirichlet(np.full(p, 0.5), n)
    return E, a, a @ E.T + rng.normal(0, noise, (n, b))


def _slsqp(E, x):
    p = E.shape[1]
    res = minimize(lambda q: np.sum((E @ q - x) ** 2), np.full(p, 1 / p), jac=lambda q: 2 * E.T @ (E @ q - x),
                   method="SLSQP", bounds=[(0, 1)] * p,
                   constraints=[{"type": "eq", "fun": lambda q: q.sum() - 1, "jac": lambda q: np.ones(p)}],
                   options={"ftol": 1e-16, "maxiter": 1000})
    return res.x


def test_equals_independent_solutions():
    E, _, X = _scene()
    F, rmse = fcls(X, E)
    assert np.all(F >= 0) and np.allclose(F.sum(1), 1, atol=1e-12)
    delta = 1e4  # Heinz & Chang (2001): NNLS on [E; delta 1'] x [x; delta]
    for i in range(len(X)):
        q, _ = nnls(np.vstack([E, delta * np.ones(E.shape[1])]), np.r_[X[i], delta])
        np.testing.assert_allclose(F[i], q, atol=1e-6)
    for i in range(0, len(X), 4):
        np.testing.assert_allclose(F[i], _slsqp(E, X[i]), atol=1e-6)
    np.testing.assert_allclose(rmse, np.sqrt(((X - F @ E.T) ** 2).mean(1)), rtol=1e-10)


def test_noise_free_mixtures_recovered():
    E, a, _ = _scene(noise=0)
    X = a @ E.T
    F, rmse = fcls(X, E)
    np.testing.assert_allclose(F, a, atol=1e-9)
    assert rmse.max() < 1e-9


def test_dataarray_numpy_and_dask_identical():
    E, _, X = _scene(n=30 * 20)
    img = xr.DataArray(X.T.reshape(6, 30, 20), dims=("band", "y", "x"), coords={"band": list("abcdef")})
    img[0, 3, 4] = np.nan
    em = xr.DataArray(E.T, dims=("endmember", "band"), coords={"endmember": ["gv", "npv", "soil", "shade"],
                                                                  "band": list("abcdef")})
    a = unmix(img, em)
    b = unmix(img.chunk({"y": 7, "x": 9}), em)
    assert isinstance(b.data, da.Array)
    xr.testing.assert_identical(a, b.compute())
    assert list(a.component.values) == ["gv", "npv", "soil", "shade", "rmse"]
    assert np.isnan(a[:, 3, 4]).all()
    np.testing.assert_allclose(a.isel(y=0, x=1)[:4], fcls(X[1:2], E)[0][0], atol=1e-6)


def test_collinear_endmembers_rejected():
    E, _, _ = _scene()
    em = xr.DataArray(np.vstack([E.T[:3], E.T[0] * 0.5 + E.T[1] * 0.5]), dims=("endmember", "band"),
                      coords={"endmember": ["a", "b", "c", "d"]})
    img = xr.DataArray(np.ones((6, 2, 2)), dims=("band", "y", "x"))
    with pytest.raises(InputError, match="collinear"):
        unmix(img, em)


def test_endmembers_from_samples_median():
    X = np.array([[1, 2], [3, 4], [5, 6], [10, 10], [10, 12], [10, 14]], float)
    em = endmembers_from_samples(X, ["v", "v", "v", "s", "s", "s"], ["r", "n"])
    np.testing.assert_array_equal(em.sel(endmember="v").values, [3, 4])
    with pytest.raises(InputError, match="usable sample"):
        endmembers_from_samples(X[:4], ["v", "v", "v", "s"], ["r", "n"])

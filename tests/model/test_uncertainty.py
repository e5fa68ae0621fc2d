"""CV-residual intervals: by hand, calibrated on simulated truth, lazy on dask."""

import math

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from minecarbon.errors import InputError
from minecarbon.model import ResidualIntervalModel, coverage, interval_layers, make_model, nested_cv


def test_quantiles_and_scale_by_hand():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0, 100, 39)
    y = pred + rng.normal(0, 1, 39) * (1 + 0.1 * pred)
    m = ResidualIntervalModel.fit(pred, y, level=0.9)
    r = y - pred
    A = np.column_stack([np.ones(39), pred])
    (a, b), *_ = np.linalg.lstsq(A, np.abs(r), rcond=None)
    assert (m.a, m.b) == pytest.approx((a, b))
    s = np.sort(r / np.maximum(a + b * pred, m.sigma_min))
    assert m.q_hi == s[math.ceil(40 * 0.95) - 1] and m.q_lo == s[math.floor(40 * 0.05) - 1]  # ranks 38 and 2
    sd, lo, hi = m.predict(np.array([50.0, 0.0]))
    sig = max(a + b * 50, m.sigma_min)
    assert hi[0] == pytest.approx(50 + m.q_hi * sig) and lo[0] == pytest.approx(max(50 + m.q_lo * sig, 0))
    assert sd[0] == pytest.approx(sig * np.sqrt(np.mean(s ** 2)))
    assert lo[1] >= 0 and hi[1] >= 0  # AGC intervals never go below 0
    assert ResidualIntervalModel.from_dict(m.to_dict()) == m
    with pytest.raises(InputError, match="at least 10"):
        ResidualIntervalModel.fit(pred[:5], y[:5])
    with pytest.raises(InputError, match="between 0 and 1"):
        ResidualIntervalModel.fit(pred, y, level=90)


def test_intervals_cover_new_truth_at_the_nominal_rate():
    """Plots -> CV residuals -> interval; then fresh 'pixels' from the same process."""
    rng = np.random.default_rng(5)

    def draw(n):
        X = rng.uniform(0, 1, size=(n, 3))
        mu = 80 * X[:, 0] + 20 * X[:, 1] ** 2
        return X, mu + rng.normal(0, 1, n) * (2 + 0.15 * mu)  # error grows with AGC

    X, y = draw(120)
    model = make_model("mlr")
    cv = nested_cv(model, None, X, y, folds=5, seed=0)
    m = ResidualIntervalModel.fit(cv.oof_mean, y, level=0.9)
    fitted = model.fit(X, y)
    Xp, truth = draw(20000)
    _, lo, hi = m.predict(np.clip(fitted.predict(Xp), 0, None))
    cov = coverage(truth, lo, hi)
    assert 0.85 <= cov["coverage"] <= 0.95
    assert cov["below"] + cov["above"] == pytest.approx(1 - cov["coverage"])


def test_coverage_by_hand():
    c = coverage([1.0, 5.0, np.nan, 10.0], [0.0, 6.0, 0.0, 9.0], [2.0, 7.0, 1.0, 10.0])
    assert c["n"] == 3 and c["coverage"] == pytest.approx(2 / 3) and c["below"] == pytest.approx(1 / 3)


def test_interval_layers_numpy_and_dask_agree():
    m = ResidualIntervalModel(a=1.0, b=0.1, sigma_min=0.5, q_lo=-1.5, q_hi=2.0, rms_s=1.1, level=0.9, n=50)
    vals = np.array([[0.0, 10.0, np.nan], [50.0, 120.0, 3.0]], dtype=np.float32)
    agc = xr.DataArray(vals, dims=("y", "x"), coords={"y": [15.0, -15.0], "x": [15.0, 45.0, 75.0]},
                       attrs={"units": "t C/ha"}).rio.write_crs("EPSG:32649")
    a = interval_layers(agc, m)
    b = interval_layers(agc.copy(data=da.from_array(vals, chunks=(1, 2))), m)
    assert isinstance(b.data, da.Array)
    np.testing.assert_array_equal(a.values, b.values)
    assert list(a["band"].values) == ["agc_sd_t_ha", "agc_lo_t_ha", "agc_hi_t_ha"]
    assert a.rio.crs.to_epsg() == 32649 and a.attrs["units"] == "t C/ha"
    assert np.isnan(a.values[:, 0, 2]).all()
    sig = max(1.0 + 0.1 * 50.0, 0.5)
    assert a.values[2, 1, 0] == pytest.approx(50 + 2.0 * sig)

"""Inverse (classical) calibration: recovers the attenuation, removes the prior-shift bias, scores honestly."""

import numpy as np
import pytest

from minecarbon.model.calibration import MIN_SLOPE, InverseCalibration, cross_calibrate


def test_fit_recovers_line_and_apply_inverts():
    y = np.linspace(0, 100, 41)
    pred = 6.0 + 0.8 * y  # attenuated predictions, exactly
    cal = InverseCalibration.fit(y, pred)
    assert cal.applied and abs(cal.a - 6.0) < 1e-9 and abs(cal.b - 0.8) < 1e-9
    assert np.allclose(cal.apply(pred), y)
    assert cal.apply(np.array([0.0]))[0] == 0.0  # (0 - 6) / 0.8 < 0 -> clipped


def test_prior_shift_bias_removed():
    """Predictions shrunk toward the training mean read low stands high; calibration removes that bias."""
    rng = np.random.default_rng(3)
    y_train = rng.uniform(10, 90, 400)
    pred_train = 10 + 0.8 * y_train + rng.normal(0, 3, 400)
    cal = InverseCalibration.fit(y_train, pred_train)
    y_young = rng.uniform(5, 30, 2000)  # another year: younger stands than the plots' mean
    pred_young = 10 + 0.8 * y_young + rng.normal(0, 3, 2000)
    assert pred_young.mean() - y_young.mean() > 4  # raw: biased high
    assert abs(cal.apply(pred_young).mean() - y_young.mean()) < 0.5


def test_flat_predictions_are_not_inverted():
    y = np.arange(20.0)
    pred = 5 + 0.1 * y
    cal = InverseCalibration.fit(y, pred)
    assert not cal.applied and str(MIN_SLOPE) in cal.reason
    assert np.array_equal(cal.apply(pred), pred)


def test_cross_calibrate_uses_other_groups_only():
    y = np.array([0.0, 10, 20, 30, 40, 50])
    pred = np.array([5.0, 13, 21, 29, 37, 60])  # the last plot is off the line
    groups = np.array([0, 0, 1, 1, 2, 2])
    out = cross_calibrate(y, pred, groups)
    for g in range(3):
        test = groups == g
        b, a = np.polyfit(y[~test], pred[~test], 1)  # written out independently
        assert np.allclose(out[test], np.maximum((pred[test] - a) / b, 0))
    assert InverseCalibration.from_dict(InverseCalibration.fit(y, pred).to_dict()) == InverseCalibration.fit(y, pred)


def test_year_factors_and_interpolation():
    from minecarbon.model.calibration import MIN_PLOTS_YEAR_FACTOR, year_factor, year_factors

    n = MIN_PLOTS_YEAR_FACTOR
    years = np.array([2005] * n + [2015] * n + [2020] * 3)
    y = np.r_[np.full(n, 9.0), np.full(n, 22.0), np.ones(3)]
    m = np.r_[np.full(n, 10.0), np.full(n, 20.0), np.ones(3)]
    f = year_factors(years, y, m)
    assert f == {2005: 0.9, 2015: 1.1}  # 2020 has too few plots for a factor
    assert year_factor(f, 2010) == pytest.approx(1.0) and year_factor(f, 2000) == 0.9
    assert year_factor(f, 2024) == 1.1 and year_factor({}, 2010) == 1.0

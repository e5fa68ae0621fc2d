"""Inverse (classical) calibration of AGC predictions, so that maps do not shrink change toward the plots' mean.

A regression model estimates E[AGC | features].  With noisy or saturating
features (optical reflectance saturates in dense canopies) that estimate is
pulled toward the mean of the training plots: low AGC reads high, high AGC
reads low.  Each year's map can still look good, but when the stock of an
area moves away from the training mean (young stands in early years, growth
into dense canopies later) the map follows only part of the move, and the
difference between two years - the change - is attenuated and can even change
sign (measured on the simulator: ``docs/model.md``, "Change").

Classical calibration (Eisenhart 1939, Annals of Mathematical Statistics
10:162-186; Osborne 1991, International Statistical Review 59:309-336) models
the prediction given the truth instead, ``pred = a + b * AGC + e``, fitted on
the out-of-fold predictions of the plots, and inverts it:
``AGC* = (pred - a) / b`` (clipped at 0).  E[pred | AGC] is a property of the
measurement (the sensor and the model), not of the distribution of AGC in
the area, so the inverted estimate stays unbiased when that distribution
shifts between years (prior shift), at the price of a larger pixel variance
(by 1 / b).  The out-of-fold predictions come from models that never saw the
plot, so the slope b measures the attenuation of new pixels.

Scores stay honest: :func:`cross_calibrate` fits the calibration without the
plots of each spatial group and applies it to that group's out-of-fold
predictions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MIN_SLOPE = 0.2
"""A slope below this means the predictions hardly follow AGC; inverting it would amplify noise 5-fold or more,
so no calibration is applied (with a reason)."""


@dataclass(frozen=True)
class InverseCalibration:
    """``AGC* = max((pred - a) / b, 0)``; ``b = 1, a = 0`` is the identity."""

    a: float = 0.0
    b: float = 1.0
    n: int = 0
    applied: bool = False
    reason: str = ""

    @classmethod
    def fit(cls, y: np.ndarray, pred: np.ndarray) -> InverseCalibration:
        """Least squares of the out-of-fold predictions ``pred`` on the observed AGC ``y``."""
        y = np.asarray(y, float)
        pred = np.asarray(pred, float)
        ok = np.isfinite(y) & np.isfinite(pred)
        n = int(ok.sum())
        if n < 3 or np.ptp(y[ok]) == 0:
            return cls(n=n, reason="fewer than 3 plots or constant AGC")
        b, a = np.polyfit(y[ok], pred[ok], 1)
        if not np.isfinite(b) or b < MIN_SLOPE:
            return cls(float(a), float(b), n, False,
                       f"slope of the predictions on AGC is {b:.3f} (< {MIN_SLOPE}): the predictions hardly follow "
                       f"AGC, so inverting would amplify noise; predictions are left as they are")
        return cls(float(a), float(b), n, True, "")

    def apply(self, pred):
        """Calibrated predictions (numpy, xarray or dask alike), clipped at 0; identity when not applied."""
        if not self.applied:
            return pred
        out = (pred - self.a) / self.b
        return out.clip(min=0) if hasattr(out, "clip") else np.maximum(out, 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> InverseCalibration:
        return cls(**d) if d else cls()


def cross_calibrate(y: np.ndarray, pred: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Out-of-group calibrated predictions: for each group, the calibration fitted on the other groups' plots
    applied to its own out-of-fold predictions (each plot its own group when ``groups`` is None)."""
    y = np.asarray(y, float)
    pred = np.asarray(pred, float)
    g = np.arange(len(y)) if groups is None else np.asarray(groups)
    out = np.clip(pred.copy(), 0, None)
    for key in np.unique(g):
        test = g == key
        cal = InverseCalibration.fit(y[~test], pred[~test])
        out[test] = cal.apply(pred[test])
    return out


MIN_PLOTS_YEAR_FACTOR = 10
"""Fewest plots of a survey year (with a map sum above 0) for its ratio factor; fewer: no factor for that year."""


def year_factors(years: np.ndarray, y: np.ndarray, map_at_plots: np.ndarray) -> dict[int, float]:
    """Survey-year ratio factors (``[model].year_adjustment = "ratio"``): per survey year with
    :data:`MIN_PLOTS_YEAR_FACTOR` plots or more, the plots' AGC sum over the map's AGC sum at those plots (the
    ratio estimator, Cochran 1977, ch. 6)."""
    years = np.asarray(years)
    out = {}
    for yr in np.unique(years):
        s = years == yr
        den = float(np.sum(map_at_plots[s]))
        if s.sum() >= MIN_PLOTS_YEAR_FACTOR and den > 0:
            out[int(yr)] = float(np.sum(y[s]) / den)
    return out


def year_factor(factors: dict[int, float], year: int) -> float:
    """The factor of ``year``: its own, linearly interpolated between survey years, held beyond them (1 without
    factors)."""
    if not factors:
        return 1.0
    ys = sorted(factors)
    return float(np.interp(year, ys, [factors[y] for y in ys]))

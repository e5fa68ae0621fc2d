"""Per-pixel uncertainty of AGC maps from a model of the cross-validated residuals.

Method ("CV-residual model", a locally scaled split-conformal interval)
    The out-of-fold predictions :math:`\\hat y_i` of the plots (by the model that
    maps each plot's forest type) and the plot AGC :math:`y_i` give residuals
    :math:`r_i = y_i - \\hat y_i`.

    1. *Scale*: the spread of the residuals grows with AGC, so a scale
       :math:`\\sigma(\\hat y) = \\max(a + b\\,\\hat y_+,\\ \\sigma_{min})` is fitted by
       least squares of :math:`|r_i|` on :math:`\\hat y_i` (:math:`b \\ge 0`;
       :math:`\\sigma_{min}` = the 10th percentile of :math:`|r_i|`, but > 0).
    2. *Standardised residuals* :math:`s_i = r_i / \\sigma(\\hat y_i)`; their
       empirical quantiles at :math:`\\alpha/2` and :math:`1-\\alpha/2`, taken with the
       finite-sample rank of split-conformal prediction
       (:math:`\\lceil (n+1)(1-\\alpha/2) \\rceil`-th smallest for the upper one,
       :math:`\\lfloor (n+1)\\alpha/2 \\rfloor`-th for the lower one), give
       :math:`q_{lo}, q_{hi}`.
    3. A pixel predicted :math:`\\hat y` gets the interval
       :math:`[\\hat y + q_{lo}\\sigma(\\hat y),\\ \\hat y + q_{hi}\\sigma(\\hat y)]`,
       both ends clipped at 0 t C/ha, and the standard deviation
       :math:`\\sigma(\\hat y)\\,\\sqrt{\\overline{s^2}}`.

Why this one: it works for every learner the per-type selection may pick
(SVR and MLR have no quantile or tree structure), costs one multiply-add per
pixel, and its intervals are calibrated on honest (out-of-fold) errors, which
include plot measurement error, plot-to-pixel mismatch and model error.  A
quantile regression forest would tie the map to random forests; a bootstrap
ensemble multiplies prediction cost by the ensemble size and, without added
residual noise, covers only the parameter part of the error.

Limits: the residuals are those of the survey years, so the interval does not
widen for years far from any survey (temporal extrapolation), nor for pixels
whose features lie outside the plots' range.  Validation against the
simulator's truth is in ``docs/model.md`` and ``tests/model``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from ..errors import InputError


@dataclass(frozen=True)
class ResidualIntervalModel:
    """Fitted CV-residual interval model (plain numbers: stored as JSON, no pickle)."""

    a: float
    b: float
    sigma_min: float
    q_lo: float
    q_hi: float
    rms_s: float
    level: float
    n: int

    # -- fitting ---------------------------------------------------------------
    @classmethod
    def fit(cls, yhat_oof: np.ndarray, y: np.ndarray, level: float = 0.9) -> ResidualIntervalModel:
        """Fit on out-of-fold predictions and observations (t C/ha).

        Raises
        ------
        InputError
            Fewer than 10 pairs, or a level outside (0, 1).
        """
        if not 0 < level < 1:
            raise InputError(f"Interval level must be between 0 and 1 (e.g. 0.9), not {level}.")
        yhat_oof = np.asarray(yhat_oof, dtype=float)
        y = np.asarray(y, dtype=float)
        ok = np.isfinite(yhat_oof) & np.isfinite(y)
        p, r = np.clip(yhat_oof[ok], 0, None), y[ok] - yhat_oof[ok]
        n = int(r.size)
        if n < 10:
            raise InputError(f"Only {n} plots with out-of-fold predictions; the uncertainty model needs at least 10.")
        absr = np.abs(r)
        sigma_min = float(max(np.percentile(absr, 10), 1e-3 * max(float(np.mean(absr)), 1e-9), 1e-9))
        A = np.stack([np.ones(n), p], axis=1)
        (a, b), *_ = np.linalg.lstsq(A, absr, rcond=None)
        if b < 0:
            a, b = float(absr.mean()), 0.0
        sig = np.maximum(a + b * p, sigma_min)
        s = np.sort(r / sig)
        alpha = 1.0 - level
        k_hi = min(math.ceil((n + 1) * (1 - alpha / 2) - 1e-9), n)  # tolerance: 1 - 0.9 is 0.0999...
        k_lo = max(math.floor((n + 1) * alpha / 2 + 1e-9), 1)
        return cls(a=float(a), b=float(b), sigma_min=sigma_min, q_lo=float(s[k_lo - 1]), q_hi=float(s[k_hi - 1]),
                   rms_s=float(np.sqrt(np.mean(s ** 2))), level=float(level), n=n)

    # -- applying --------------------------------------------------------------
    def scale(self, yhat):
        """:math:`\\sigma(\\hat y)` (t C/ha); works on numpy, dask and xarray objects."""
        p = _clip0(yhat)
        return np.maximum(self.a + self.b * p, self.sigma_min)

    def predict(self, yhat):
        """(sd, lo, hi) for predictions ``yhat`` (t C/ha); NaN stays NaN."""
        sig = self.scale(yhat)
        lo = _clip0(yhat + self.q_lo * sig)
        hi = _clip0(yhat + self.q_hi * sig)
        return sig * self.rms_s, lo, hi

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ResidualIntervalModel:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def _clip0(v):
    if isinstance(v, xr.DataArray):
        return v.clip(min=0)
    return np.clip(v, 0, None)


def interval_layers(agc: xr.DataArray, model: ResidualIntervalModel) -> xr.DataArray:
    """(band, y, x) layers ``agc_sd_t_ha``, ``agc_lo_t_ha``, ``agc_hi_t_ha`` for an AGC map (t C/ha).

    Lazy on dask-backed maps; coordinates, CRS and attributes are kept.  NaN
    (nodata) pixels stay NaN.
    """
    sd, lo, hi = model.predict(agc)
    out = xr.concat([sd, lo, hi], dim="band").assign_coords(band=["agc_sd_t_ha", "agc_lo_t_ha", "agc_hi_t_ha"])
    out = out.astype("float32")
    out.attrs = dict(agc.attrs)
    if agc.rio.crs is not None:
        out = out.rio.write_crs(agc.rio.crs)
    return out


def coverage(truth, lo, hi) -> dict[str, float]:
    """Share of pixels (finite in all three) whose truth lies in [lo, hi]; also below/above shares."""
    t, lo, hi = (np.asarray(v, dtype=float).ravel() for v in (truth, lo, hi))
    ok = np.isfinite(t) & np.isfinite(lo) & np.isfinite(hi)
    n = int(ok.sum())
    if n == 0:
        return {"n": 0, "coverage": float("nan"), "below": float("nan"), "above": float("nan")}
    t, lo, hi = t[ok], lo[ok], hi[ok]
    return {"n": n, "coverage": float(np.mean((t >= lo) & (t <= hi))), "below": float(np.mean(t < lo)),
            "above": float(np.mean(t > hi)), "mean_width": float(np.mean(hi - lo))}

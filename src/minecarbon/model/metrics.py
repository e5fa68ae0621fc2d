"""Accuracy metrics of AGC predictions (the standard's Appendix D: R², RMSE, MAE, relative error).

With observations :math:`y_i`, predictions :math:`\\hat y_i`, residuals
:math:`e_i = \\hat y_i - y_i` and :math:`n` pairs where both are finite:

* R² = 1 − Σ e_i² / Σ (y_i − ȳ)²  (scikit-learn's definition, DOMAIN.md 3.1, VERIFIED; can be negative)
* RMSE = √(Σ e_i² / n)
* MAE = Σ |e_i| / n
* bias = Σ e_i / n  (positive: over-prediction)
* rRMSE = RMSE / ȳ × 100 %
* relative bias = bias / ȳ × 100 %
* mean relative error MRE = Σ |e_i| / y_i / m × 100 %, over the m plots with y_i > 0
  (RE_i = (ŷ_i − y_i)/y_i × 100 %, DOMAIN.md 3.1; plots without carbon have no relative error)

The last four are "standard forms" in DOMAIN.md 3.1 (definitions not tied to a
retrieved source); they are written here so that every number in a model card
can be recomputed by hand.  Units: RMSE, MAE and bias are in the units of
``y`` (t C/ha for AGC density); the ``*_pct`` values are percentages.
"""

from __future__ import annotations

import numpy as np

METRIC_KEYS = ("n", "r2", "rmse", "mae", "bias", "rrmse_pct", "rbias_pct", "mre_pct")


def metrics(y: np.ndarray, yhat: np.ndarray) -> dict[str, float]:
    """Accuracy of predictions ``yhat`` against observations ``y``.

    Parameters
    ----------
    y, yhat : array-like of the same length (e.g. t C/ha). Pairs where either is
        not finite are left out.

    Returns
    -------
    dict
        ``n`` (pairs used), ``r2``, ``rmse``, ``mae``, ``bias`` (mean of yhat - y),
        ``rrmse_pct``, ``rbias_pct``, ``mre_pct`` (see the module docstring).
        Values that are undefined (no pairs, constant ``y``, zero mean) are NaN.
    """
    y = np.asarray(y, dtype=float).ravel()
    yhat = np.asarray(yhat, dtype=float).ravel()
    if y.shape != yhat.shape:
        raise ValueError(f"metrics: {y.size} observations but {yhat.size} predictions")
    ok = np.isfinite(y) & np.isfinite(yhat)
    y, yhat = y[ok], yhat[ok]
    nan = float("nan")
    if y.size == 0:
        return {"n": 0, "r2": nan, "rmse": nan, "mae": nan, "bias": nan, "rrmse_pct": nan,
                "rbias_pct": nan, "mre_pct": nan}
    resid = yhat - y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    rmse = float(np.sqrt(np.mean(resid ** 2)))
    bias = float(np.mean(resid))
    mean_y = float(y.mean())
    pos = y > 0
    return {"n": int(y.size),
            "r2": float(1.0 - np.sum(resid ** 2) / ss_tot) if ss_tot > 0 else nan,
            "rmse": rmse,
            "mae": float(np.mean(np.abs(resid))),
            "bias": bias,
            "rrmse_pct": rmse / mean_y * 100.0 if mean_y != 0 else nan,
            "rbias_pct": bias / mean_y * 100.0 if mean_y != 0 else nan,
            "mre_pct": float(np.mean(np.abs(resid[pos]) / y[pos]) * 100.0) if pos.any() else nan}


def mean_metrics(per_repeat: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and standard deviation (ddof 0) of each metric over repeats of a cross-validation."""
    if not per_repeat:
        return {}, {}
    mean = {k: float(np.mean([m[k] for m in per_repeat])) for k in per_repeat[0]}
    sd = {k: float(np.std([m[k] for m in per_repeat])) for k in per_repeat[0]}
    mean["n"] = per_repeat[0]["n"]
    sd.pop("n", None)
    return mean, sd

"""Temporal validation without truth: re-measured plots and leave-one-survey-year-out CV.

Real projects have no truth maps, but many have permanent plots measured in
more than one year (China's continuous forest inventory re-measures its
permanent plots every 5 years).  Two checks of how far the *change* between
yearly maps can be trusted follow from them:

* :func:`remeasured_change`: for every pair of visits of the same permanent
  plot, the observed AGC change against the change of the out-of-fold
  predictions of the two visits (each from a model that saw neither visit,
  since plots at one place share a spatial CV group), and per period the
  agreement (R2, RMSE, bias of the change, and the correlation of the two
  visits' prediction errors - the reason why the SD of a change is not the two
  years' SDs added in quadrature);
* :func:`leave_year_out`: each survey year's plots predicted by a model fitted
  on the plots of the *other* years only, which measures how the model
  transfers to a year it has not seen (radiometry, phenology, stand
  conditions) beside the usual per-plot CV.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import clone

from .metrics import metrics

PAIR_COLUMNS = ["permanent_id", "year0", "year1", "plot_id0", "plot_id1", "agc0_t_ha", "agc1_t_ha",
                "pred0_t_ha", "pred1_t_ha", "obs_change_t_ha", "pred_change_t_ha", "change_residual_t_ha"]


def remeasured_pairs(tab: pd.DataFrame, pred: np.ndarray, consecutive: bool = True) -> pd.DataFrame:
    """Pairs of visits of the same ``permanent_id``: first -> last visit, and (``consecutive``) every visit
    -> the next one.  ``pred``: a prediction per row of ``tab`` (e.g. calibrated out-of-fold)."""
    if "permanent_id" not in tab.columns:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    t = tab.assign(_pred=np.asarray(pred, float))
    t = t[t["permanent_id"].notna() & (t["permanent_id"].astype(str).str.strip() != "")]
    rows = []
    for pid, g in t.groupby(t["permanent_id"].astype(str), sort=True):
        g = g.sort_values("survey_year")
        if g["survey_year"].nunique() < 2:
            continue
        idx = list(range(len(g)))
        pairs = {(idx[0], idx[-1])}
        if consecutive:
            pairs |= set(zip(idx[:-1], idx[1:]))
        for i, j in sorted(pairs):
            a, b = g.iloc[i], g.iloc[j]
            if int(a["survey_year"]) == int(b["survey_year"]):
                continue
            rows.append({"permanent_id": pid, "year0": int(a["survey_year"]), "year1": int(b["survey_year"]),
                         "plot_id0": a["plot_id"], "plot_id1": b["plot_id"], "agc0_t_ha": float(a["agc_t_ha"]),
                         "agc1_t_ha": float(b["agc_t_ha"]), "pred0_t_ha": float(a["_pred"]),
                         "pred1_t_ha": float(b["_pred"])})
    out = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    out["obs_change_t_ha"] = out["agc1_t_ha"] - out["agc0_t_ha"]
    out["pred_change_t_ha"] = out["pred1_t_ha"] - out["pred0_t_ha"]
    out["change_residual_t_ha"] = out["pred_change_t_ha"] - out["obs_change_t_ha"]
    return out


def remeasured_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per period (year0 -> year1): pairs, mean observed and predicted change, change R2/RMSE/bias, and the
    correlation of the two visits' prediction errors."""
    rows = []
    for (y0, y1), g in pairs.groupby(["year0", "year1"], sort=True):
        m = metrics(g["obs_change_t_ha"].to_numpy(float), g["pred_change_t_ha"].to_numpy(float))
        e0 = (g["pred0_t_ha"] - g["agc0_t_ha"]).to_numpy(float)
        e1 = (g["pred1_t_ha"] - g["agc1_t_ha"]).to_numpy(float)
        rho = float(np.corrcoef(e0, e1)[0, 1]) if len(g) > 2 and e0.std() > 0 and e1.std() > 0 else float("nan")
        rows.append({"year0": int(y0), "year1": int(y1), "n_pairs": len(g),
                     "obs_change_mean_t_ha": float(g["obs_change_t_ha"].mean()),
                     "pred_change_mean_t_ha": float(g["pred_change_t_ha"].mean()),
                     "change_r2": m["r2"], "change_rmse_t_ha": m["rmse"], "change_bias_t_ha": m["bias"],
                     "error_correlation": rho})
    return pd.DataFrame(rows, columns=["year0", "year1", "n_pairs", "obs_change_mean_t_ha", "pred_change_mean_t_ha",
                                       "change_r2", "change_rmse_t_ha", "change_bias_t_ha", "error_correlation"])


def leave_year_out(estimator, X: np.ndarray, y: np.ndarray, years: np.ndarray,
                   post: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Leave-one-survey-year-out predictions of a (fitted or unfitted) scikit-learn estimator.

    ``post(train_mask, pred)`` may transform each held-out year's predictions using only the training rows
    (e.g. a calibration fitted on them).  Returns the predictions (clipped at 0) and per-year metrics; with
    fewer than two survey years the predictions are NaN and the table is empty.
    """
    years = np.asarray(years)
    pred = np.full(len(y), np.nan)
    rows = []
    uniq = np.unique(years)
    if uniq.size < 2:
        return pred, pd.DataFrame(columns=["survey_year", "n", "r2", "rmse", "bias", "mean_obs", "mean_pred"])
    for yr in uniq:
        test = years == yr
        est = clone(estimator).fit(X[~test], y[~test])
        p = np.clip(est.predict(X[test]), 0, None)
        if post is not None:
            p = post(~test, p)
        pred[test] = p
        m = metrics(y[test], p)
        rows.append({"survey_year": int(yr), "n": int(test.sum()), "r2": m["r2"], "rmse": m["rmse"],
                     "bias": m["bias"], "mean_obs": float(y[test].mean()), "mean_pred": float(np.mean(p))})
    return pred, pd.DataFrame(rows)

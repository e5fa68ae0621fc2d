"""Model-assisted unit stocks and change: the difference estimator written out independently."""

import numpy as np
import pandas as pd
from scipy import stats

from minecarbon.model.unit_estimates import unit_estimates


def _diff(y, yhat, N, map_sum):
    e = np.asarray(y) - np.asarray(yhat)
    n = len(e)
    return map_sum + N * e.mean(), N ** 2 * (1 - n / N) * e.var(ddof=1) / n


def test_stock_and_change_by_hand():
    px = 0.09
    plots = pd.DataFrame({
        "permanent_id": ["a", "b", "c", "d"] * 2,
        "survey_year": [2005] * 4 + [2024] * 4,
        "unit_l1": [1, 1, 1, 3] * 2,
        "agc_t_ha": [40.0, 50, 60, 30, 55, 62, 70, 0],
        "agc_cv_pred_calibrated_t_ha": [45.0, 52, 58, 35, 50, 60, 64, 2]})
    totals = pd.DataFrame({"year": [2005, 2005, 2024, 2024], "level": "level1", "unit": [1, 3, 1, 3],
                           "n_px": [100, 50, 100, 50], "agc_t": [450.0, 150.0, 560.0, 10.0]})
    est = unit_estimates(plots, totals, px, 2005, 2024, lambda u: f"u{u}")
    r = est[(est.kind == "stock") & (est.unit == 1) & (est.year0 == 2005)].iloc[0]
    t, v = _diff([40, 50, 60], [45, 52, 58], 100, 450 / px)
    assert np.isclose(r.estimate_t, t * px) and np.isclose(r.se_t, np.sqrt(v) * px)
    q = stats.t.ppf(0.975, 2)
    assert np.isclose(r.hi_t - r.estimate_t, q * np.sqrt(v) * px)
    # unit 3 has one plot: map total only, with the reason
    r3 = est[(est.kind == "stock") & (est.unit == 3) & (est.year0 == 2005)].iloc[0]
    assert np.isnan(r3.estimate_t) and "fewer than 2" in r3.note
    # change of unit 1 from the three re-measured plots
    c = est[(est.kind == "change") & (est.unit == 1)].iloc[0]
    dt, dv = _diff(np.array([55, 62, 70]) - [40, 50, 60], np.array([50, 60, 64]) - [45, 52, 58], 100,
                   (560 - 450) / px)
    assert np.isclose(c.estimate_t, dt * px) and np.isclose(c.se_t, np.sqrt(dv) * px)
    assert np.isclose(c.map_t, 110.0)
    assert "model-based" in c.interval_basis
    # all forest = the units with >= 2 plots (only unit 1 here)
    a = est[(est.kind == "stock") & (est.level == "all") & (est.year0 == 2024)].iloc[0]
    t1, _ = _diff([55, 62, 70], [50, 60, 64], 100, 560 / px)
    assert np.isclose(a.estimate_t, t1 * px) and "[3]" in a.note

"""Re-measured plots and leave-one-survey-year-out CV."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from minecarbon.model import temporal


def test_remeasured_pairs_and_summary_by_hand():
    tab = pd.DataFrame({"plot_id": ["A-1", "A-2", "A-3", "B-1", "B-3", "C-1"],
                        "permanent_id": ["A", "A", "A", "B", "B", "C"],
                        "survey_year": [2005, 2010, 2015, 2005, 2015, 2005],
                        "agc_t_ha": [10.0, 14, 20, 30, 26, 5]})
    pred = np.array([12.0, 15, 19, 28, 27, 9])
    pairs = temporal.remeasured_pairs(tab, pred)
    got = {(r.permanent_id, r.year0, r.year1): (r.obs_change_t_ha, r.pred_change_t_ha) for r in pairs.itertuples()}
    # A: 2005->2015 (first->last), 2005->2010, 2010->2015; B: 2005->2015; C has one visit
    assert got == {("A", 2005, 2015): (10.0, 7.0), ("A", 2005, 2010): (4.0, 3.0), ("A", 2010, 2015): (6.0, 4.0),
                   ("B", 2005, 2015): (-4.0, -1.0)}
    s = temporal.remeasured_summary(pairs).set_index(["year0", "year1"])
    r = s.loc[(2005, 2015)]
    assert r.n_pairs == 2 and np.isclose(r.change_bias_t_ha, ((7 - 10) + (-1 + 4)) / 2)
    assert np.isclose(r.change_rmse_t_ha, np.sqrt((9 + 9) / 2))


def test_no_permanent_id_gives_empty():
    tab = pd.DataFrame({"plot_id": ["a"], "survey_year": [2005], "agc_t_ha": [1.0]})
    assert temporal.remeasured_pairs(tab, np.array([1.0])).empty


def test_leave_year_out_equals_manual_refits():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    years = np.repeat([2005, 2010, 2015], 30)
    y = 50 + X @ np.array([5.0, -3.0]) + (years == 2015) * 4 + rng.normal(0, 1, 90)
    pred, tab = temporal.leave_year_out(LinearRegression(), X, y, years)
    for yr in (2005, 2010, 2015):
        test = years == yr
        manual = np.clip(LinearRegression().fit(X[~test], y[~test]).predict(X[test]), 0, None)
        assert np.allclose(pred[test], manual)
    bias = tab.set_index("survey_year")["bias"]
    assert bias[2015] < -2.5  # the year effect the others cannot see shows up as bias
    one, empty = temporal.leave_year_out(LinearRegression(), X, y, np.zeros(90))
    assert np.isnan(one).all() and empty.empty

"""RVI threshold learned from samples; leaf-habit map rule."""

import numpy as np
import pytest
import xarray as xr

from minecarbon.classify.leaf_habit import Threshold, cv_threshold, learn_threshold, leaf_habit, rvi
from minecarbon.errors import InputError
from minecarbon.model.cv import fold_splits


def test_threshold_hand_example():
    # deciduous 1.1 1.3 1.6 2.4 | evergreen 2.0 2.8 3.0 3.5: best cut 2.6 (between 2.4 and 2.8): BA = (3/4 + 4/4)/2
    # ties with 1.8 (between 1.6 and 2.0: 4/4 evergreen, 3/4 deciduous); the widest-margin rule keeps the middle one
    x = [1.1, 1.3, 1.6, 2.4, 2.0, 2.8, 3.0, 3.5]
    e = [False] * 4 + [True] * 4
    t = learn_threshold(x, e)
    assert t.evergreen_above and t.balanced_accuracy == pytest.approx(0.875)
    assert t.value in (pytest.approx(1.8), pytest.approx(2.6))
    # reversed direction is found too
    t2 = learn_threshold([-v for v in x], e)
    assert not t2.evergreen_above and t2.balanced_accuracy == pytest.approx(0.875)


def test_threshold_brute_force():
    rng = np.random.default_rng(5)
    x = np.r_[rng.normal(2, 0.4, 60), rng.normal(3, 0.5, 40)]
    e = np.r_[np.zeros(60, bool), np.ones(40, bool)]
    t = learn_threshold(x, e)
    grid = np.sort(x)
    best = max(0.5 * ((x[e] > c).mean() + (x[~e] <= c).mean()) for c in grid)
    assert t.balanced_accuracy == pytest.approx(best)
    pred = cv_threshold(x, e, fold_splits(len(x), None, 5, 0))
    assert 0.7 < (pred == e).mean() <= 1.0


def test_leaf_habit_map():
    r = xr.DataArray([[1.0, 3.0], [np.nan, 4.0]], dims=("y", "x"))
    gv = xr.DataArray([[0.9, 0.1], [0.5, 0.8]], dims=("y", "x"))
    forest = xr.DataArray([[1, 1], [1, 0]], dims=("y", "x"))
    t = Threshold(2.0, True, np.nan)
    np.testing.assert_array_equal(leaf_habit(r, t, forest).values, [[2, 1], [0, 0]])
    from minecarbon.classify.leaf_habit import LeafHabitRule
    rule = LeafHabitRule("and", t, Threshold(0.5, True, np.nan), np.nan)
    np.testing.assert_array_equal(leaf_habit(r, rule, None, gv).values, [[2, 2], [0, 1]])
    np.testing.assert_allclose(rvi(xr.DataArray([0.4, 0.3]), xr.DataArray([0.1, 0.0])).values, [4.0, np.nan])


def test_too_few_samples():
    with pytest.raises(InputError, match="at least 3 evergreen"):
        learn_threshold([1, 2, 3, 4], [True, False, False, False])


def test_rule_uses_the_fraction_where_rvi_overlaps():
    from minecarbon.classify.leaf_habit import learn_rule

    # evergreen: RVI 4..8 except one low winter (3.0) with a high green fraction; deciduous: RVI 2.5..3.6, low fraction
    r_e = np.array([4.0, 5.0, 6.0, 7.0, 8.0, 3.0])
    g_e = np.array([0.5, 0.6, 0.7, 0.6, 0.8, 0.6])
    r_d = np.array([2.5, 2.8, 3.1, 3.4, 3.6, 3.3])
    g_d = np.array([0.1, 0.0, 0.2, 0.1, 0.3, 0.05])
    x, g = np.r_[r_e, r_d], np.r_[g_e, g_d]
    e = np.r_[np.ones(6, bool), np.zeros(6, bool)]
    only = learn_rule(x, e)
    assert only.rule == "rvi" and only.balanced_accuracy < 1
    both = learn_rule(x, e, g)
    assert both.balanced_accuracy == 1.0 and both.rule == "and"
    np.testing.assert_array_equal(both.is_evergreen(x, g), e)


@pytest.mark.parametrize("rule", ["and", "or"])
def test_combined_ba_equals_the_boolean_cube(rule):
    # the counts by 0/1 matrix products equal those of every combined call counted directly (the (cx, cg, n)
    # boolean cube), bit for bit: ties in the values, both call directions, unequal class sizes
    from minecarbon.classify.leaf_habit import combined_ba

    rng = np.random.default_rng(11)
    n = 301
    e = rng.random(n) < 0.37
    x = np.round(rng.normal(3 + e, 0.6), 1)  # rounded: many ties
    g = np.round(rng.normal(0.3 + 0.3 * e, 0.15), 2)
    cx, cg = np.unique(x)[:-1] + 0.05, np.unique(g)[:-1] + 0.005
    px = x[None, :] > cx[:, None]
    pg = g[None, :] < cg[:, None]
    comb = (px[:, None, :] & pg[None, :, :]) if rule == "and" else (px[:, None, :] | pg[None, :, :])
    want = 0.5 * ((comb & e).sum(-1) / e.sum() + (~comb & ~e).sum(-1) / (~e).sum())
    got = combined_ba(px, pg, e, rule)
    assert got.shape == (cx.size, cg.size)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="rule"):
        combined_ba(px, pg, e, "xor")

"""Pure functions of the map validation (``classify.validation``) against hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from minecarbon.classify.validation import map_classes, proportion_ci, reference_classes, validate_level


def test_proportion_ci_by_hand():
    # 9 of 10: p = 0.9, half-width 1.96 sqrt(0.9 x 0.1 / 9) = 1.96 x 0.1 = 0.196
    p, ci = proportion_ci(9, 10)
    assert p == pytest.approx(0.9) and ci == pytest.approx(0.196)
    assert proportion_ci(10, 10) == (1.0, 0.0)
    p1, ci1 = proportion_ci(1, 1)
    assert p1 == 1.0 and math.isnan(ci1)
    assert all(math.isnan(v) for v in proportion_ci(0, 0))


def test_map_classes_from_the_written_codes():
    # species map: code, 0 non-forest, 255 no data or forest without species;
    # leaf habit: 1 evergreen, 2 deciduous, 0 non-forest or forest without leaf habit, 255 no data
    sp = np.array([0, 3, 255, 255, 5, 7], dtype=np.uint8)
    lh = np.array([0, 1, 255, 2, 0, 2], dtype=np.uint8)
    got = map_classes(sp, lh)
    assert list(got["forest"]) == ["nonforest", "forest", None, "forest", "forest", "forest"]
    assert list(got["leaf_habit"]) == ["nonforest", "evergreen", None, "deciduous", None, "deciduous"]
    assert list(got["species"]) == ["nonforest", "3", None, None, "5", "7"]


def test_reference_classes_from_labels():
    got = reference_classes(["nonforest", "1", "3", "2"], evergreen=["1", "2"])
    assert list(got["forest"]) == ["nonforest", "forest", "forest", "forest"]
    assert list(got["leaf_habit"]) == ["nonforest", "evergreen", "deciduous", "evergreen"]
    assert list(got["species"]) == ["nonforest", "1", "3", "2"]


def test_validate_level_by_hand():
    m = np.array(["forest", "forest", "forest", "nonforest", "nonforest", None], dtype=object)
    r = np.array(["forest", "forest", "nonforest", "nonforest", "nonforest", "forest"], dtype=object)
    v = validate_level(m, r, pd.Series({"forest": 60.0, "nonforest": 40.0}))
    # the point on a no-data pixel is counted, not in the matrix
    assert v.n == 5 and v.n_nodata == 1 and "1 point(s)" in v.note
    assert v.confusion.loc["forest"].tolist() == [2, 1] and v.confusion.loc["nonforest"].tolist() == [0, 2]
    assert v.oa == pytest.approx(0.8) and v.oa_ci == pytest.approx(1.96 * math.sqrt(0.8 * 0.2 / 4))
    # kappa: p_o 0.8, p_e = (3 x 2 + 2 x 3) / 25 = 0.48
    assert v.kappa == pytest.approx((0.8 - 0.48) / 0.52)
    # W = 0.6, 0.4; p_ff = 0.6 x 2/3 = 0.4, p_fn = 0.2, p_nf = 0, p_nn = 0.4 -> forest 40 of 100 ha
    t = v.areas.table
    assert t.at["forest", "area"] == pytest.approx(40.0) and t.at["nonforest", "area"] == pytest.approx(60.0)
    # SE(p_.forest)^2 = (0.6 x 0.4 - 0.4^2) / 2 + 0 = 0.04 -> SE 20 ha, 95 %: 1.96 x 20
    assert t.at["forest", "area_ci"] == pytest.approx(1.96 * 20.0)
    assert t.at["forest", "ua"] == pytest.approx(2 / 3) and t.at["forest", "pa"] == pytest.approx(1.0)
    assert v.areas.oa == pytest.approx(0.8)


def test_validate_level_stratum_with_one_point_is_a_note():
    m = np.array(["a", "a", "b"], dtype=object)
    r = np.array(["a", "a", "b"], dtype=object)
    v = validate_level(m, r, pd.Series({"a": 10.0, "b": 5.0}))
    assert v.areas is None and "fewer than 2" in v.note and v.oa == 1.0


def test_validate_level_notes_zero_variance_strata():
    # no error among the points of either stratum: the intervals are 0 wide, and the note says they are too narrow
    m = np.array(["a"] * 5 + ["b"] * 3, dtype=object)
    v = validate_level(m, m.copy(), pd.Series({"a": 10.0, "b": 5.0}))
    assert v.areas.table["area_ci"].tolist() == [0.0, 0.0] and v.oa_ci == 0.0
    assert "a (5), b (3)" in v.note and "too narrow" in v.note and "3/n" in v.note

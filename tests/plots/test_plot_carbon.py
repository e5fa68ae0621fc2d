"""Tree table checks and plot AGC aggregation, against hand arithmetic."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from minecarbon import plots
from minecarbon.allometry import AllometryTable
from minecarbon.errors import InputError, MinecarbonWarning


def _table() -> AllometryTable:
    frame = pd.DataFrame([
        {"species_group": "A", "aliases": "alpha", "component": "aboveground", "form": "power", "a": "0.1",
         "b": "2", "c": "0", "output_unit": "kg", "carbon_fraction": "0.5", "source": "t", "status": "user"},
        {"species_group": "B", "component": "aboveground", "form": "d2h", "a": "0.05", "b": "1",
         "output_unit": "kg", "carbon_fraction": "0.4", "source": "t", "status": "user"},
    ])
    return AllometryTable(frame, name="hand.csv")


def _trees(**over) -> pd.DataFrame:
    df = pd.DataFrame({"plot_id": ["p1", "p1", "p2", "p2"], "tree_id": ["1", "2", "1", "2"],
                       "species": ["A", "B", "alpha", "B"], "dbh_cm": [10.0, 20.0, 30.0, 10.0],
                       "height_m": [8.0, 10.0, 15.0, 5.0]})
    for k, v in over.items():
        df[k] = v
    return df


SHEET = pd.DataFrame({"plot_id": ["p1", "p2", "p3"], "size_m": [20.0, 30.0, 30.0], "slope_deg": [0, 30.0, 0],
                      "size_on_slope": [False, True, False], "forest_type": [1, 2, 2]})


def test_plot_totals_and_densities_by_hand():
    t = plots.tree_carbon(plots.validate_trees(_trees(), SHEET), _table())
    res = plots.plot_carbon(SHEET, t, _table(), draws=50)
    # hand: A = 0.1 D^2 (CF 0.5), B = 0.05 D^2 H (CF 0.4)
    agb_p1 = 0.1 * 100 + 0.05 * 400 * 10
    agc_p1 = 0.1 * 100 * 0.5 + 0.05 * 400 * 10 * 0.4
    agb_p2 = 0.1 * 900 + 0.05 * 100 * 5
    agc_p2 = 0.1 * 900 * 0.5 + 0.05 * 100 * 5 * 0.4
    area = [0.04, 0.09 * math.cos(math.radians(30)), 0.09]  # p2 measured along a 30 deg slope
    np.testing.assert_allclose(res["area_ha"], area, rtol=1e-14)
    np.testing.assert_allclose(res["agb_kg"], [agb_p1, agb_p2, 0.0], rtol=1e-14)
    np.testing.assert_allclose(res["agc_kg"], [agc_p1, agc_p2, 0.0], rtol=1e-14)
    np.testing.assert_allclose(res["agc_t_ha"], [agc_p1 / 1000 / area[0], agc_p2 / 1000 / area[1], 0], rtol=1e-12)
    np.testing.assert_allclose(res["agb_t_ha"], [agb_p1 / 1000 / area[0], agb_p2 / 1000 / area[1], 0], rtol=1e-12)
    assert list(res["n_trees"]) == [2, 2, 0]
    assert list(res["dominant_group"]) == ["B", "A", ""]
    assert res.loc[2, "agc_sd_t_ha"] == 0 and res.loc[2, "agc_hi95_t_ha"] == 0
    assert set(res["mc_error_sources"]) == {"dbh;height"}


def test_by_group_sums_to_plot_totals():
    table = _table()
    t = plots.tree_carbon(plots.validate_trees(_trees(), SHEET), table)
    res = plots.plot_carbon(SHEET, t, table, draws=20)
    g = plots.plot_carbon_by_group(res, t)
    assert len(g) == 4
    tot = g.groupby("plot_id")[["agb_kg", "agc_kg", "agc_t_ha", "agc_share"]].sum()
    np.testing.assert_allclose(tot["agc_kg"], res.set_index("plot_id").loc[["p1", "p2"], "agc_kg"], rtol=1e-14)
    np.testing.assert_allclose(tot["agc_t_ha"], res.set_index("plot_id").loc[["p1", "p2"], "agc_t_ha"], rtol=1e-12)
    np.testing.assert_allclose(tot["agc_share"], 1.0)
    row = g[(g.plot_id == "p2") & (g.species_group == "A")].iloc[0]
    assert row["agc_kg"] == pytest.approx(0.1 * 900 * 0.5)


def test_summary_by_forest_type_by_hand():
    table = _table()
    t = plots.tree_carbon(plots.validate_trees(_trees(), SHEET), table)
    res = plots.plot_carbon(SHEET, t, table, draws=20)
    s = plots.summary_by_forest_type(res, names={1: "coniferous", 2: "broadleaf"}).set_index("forest_type")
    assert s.loc[1, "forest_type_name"] == "coniferous" and s.loc[1, "n_plots"] == 1
    v = res.loc[res.forest_type == 2, "agc_t_ha"].to_numpy()
    assert s.loc[2, "agc_mean_t_ha"] == pytest.approx((v[0] + v[1]) / 2)
    assert s.loc[2, "agc_sd_t_ha"] == pytest.approx(abs(v[0] - v[1]) / math.sqrt(2))
    none = plots.summary_by_forest_type(res.drop(columns="forest_type"))
    assert list(none["forest_type"]) == ["(not given)"] and none["n_plots"].iloc[0] == 3


@pytest.mark.parametrize("change, message", [
    ({"dbh_cm": [10.0, np.nan, 30.0, -1.0]}, r"(?s)line 3, column dbh_cm: dbh_cm is empty.*line 5, column dbh_cm: DBH -1 cm is not positive"),
    ({"height_m": [8.0, 1.2, 15.0, 5.0]}, r"line 3, column height_m: height 1.2 m is not above breast height"),
    ({"dbh_cm": [100.0, 200.0, 300.0, 250.0]}, "look like millimetres"),
    ({"dbh_cm": [0.1, 0.2, 0.3, 0.25]}, "look like metres"),
    ({"dbh_cm": [10.0, 20.0, 450.0, 10.0]}, r"line 4, column dbh_cm: DBH 450 cm is absurd \(above 300 cm\)"),
    ({"height_m": [80.0, 100.0, 150.0, 120.0]}, "decimetres or centimetres"),
    ({"tree_id": ["1", "1", "1", "2"]}, r"lines 2, 3, column tree_id: tree '1' of plot 'p1' appears 2 times \(duplicate plot_id, tree_id\)"),
    ({"plot_id": ["p1", "p1", "p9", "p2"]}, r"line 4, column plot_id: plot_id 'p9' not in the plot sheet"),
    ({"species": ["A", "", "A", "B"]}, r"line 3, column species: species is empty"),
    ({"dbh_cm": ["10", "x", "30", "10"]}, r"line 3, column dbh_cm: dbh_cm 'x' is not a number"),
])
def test_bad_tree_rows_are_named(change, message):
    with pytest.raises(InputError, match=message):
        plots.validate_trees(_trees(**change), SHEET, "trees.csv")


def test_all_problems_at_once_and_missing_columns():
    bad = _trees(dbh_cm=[10.0, -1.0, 30.0, 10.0], height_m=[8.0, 10.0, 1.0, 5.0])
    with pytest.raises(InputError) as exc:
        plots.validate_trees(bad, SHEET, "trees.csv")
    assert "dbh_cm" in str(exc.value) and "breast height" in str(exc.value)
    with pytest.raises(InputError, match="lacks the required column 'height_m'"):
        plots.validate_trees(_trees().drop(columns="height_m"), SHEET)


def test_tiny_dbh_among_normal_ones_is_a_counted_warning():
    with pytest.warns(MinecarbonWarning, match=r"1 tree\(s\) have a DBH below 1 cm"):
        plots.validate_trees(_trees(dbh_cm=[10.0, 0.2, 30.0, 10.0]), SHEET)


def test_plot_area_must_be_positive():
    t = plots.tree_carbon(plots.validate_trees(_trees(), SHEET), _table())
    with pytest.raises(InputError, match=r"size_m .* line\(s\) 3"):
        plots.plot_carbon(SHEET.assign(size_m=[20.0, 0.0, 30.0]), t, _table(), draws=10)


def test_unknown_species_names_lines():
    t = plots.validate_trees(_trees(species=["A", "Zelkova", "A", "B"]), SHEET)
    with warnings.catch_warnings(), pytest.raises(InputError, match=r"'Zelkova' on line\(s\) 3"):
        plots.tree_carbon(t, _table(), source="trees.csv")

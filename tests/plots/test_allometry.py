"""Allometry table: shipped equations against hand-computed values (ALLOMETRY.md section 7)."""

import math

import numpy as np
import pandas as pd
import pytest

from minecarbon.allometry import AllometryTable, compile_expression
from minecarbon.errors import InputError, MissingValueError, UnknownSpeciesError

D, H = 15.0, 10.0  # ALLOMETRY.md section 7 worked example: D2H = 2250


@pytest.fixture(scope="module")
def table():
    return AllometryTable.default(carbon_fractions={"刺槐": (0.47, "test")})


def d2h(a, b):
    return a * (D * D * H) ** b


@pytest.mark.parametrize("species, expected_kg, published", [
    # 程堂仁 2007 油松: exp(a)(D2H)^b for stem, bark, branch, leaf
    ("油松", sum(math.exp(a) * 2250 ** b for a, b in [(-3.8828, 0.9359), (-5.1129, 0.8649),
                                                      (-6.3807, 1.1242), (-5.3277, 0.8812)]), 47.3),
    ("Robinia pseudoacacia", d2h(0.0302, 0.9474) + d2h(0.004, 1.0868) + d2h(0.006, 0.8403), 66.8),
    ("辽东栎", d2h(0.0493, 0.8514) + d2h(0.0026, 1.1887) + d2h(0.0119, 0.835), 67.8),
    ("侧柏", d2h(0.0427, 0.8545) + d2h(0.0128, 0.8916) + d2h(0.0258, 0.7037), 49.6),
    ("华北落叶松", d2h(0.0462, 0.8647) + d2h(0.0386, 0.7492) + d2h(0.0441, 0.5844), 53.1),
])
def test_worked_examples(table, species, expected_kg, published):
    res = table.tree_biomass(pd.Series([species]), np.array([D]), np.array([H]))
    assert res["agb_kg"].iloc[0] == pytest.approx(expected_kg, rel=1e-12)
    # the published worked example is rounded to 0.1 kg
    assert round(res["agb_kg"].iloc[0], 1) == pytest.approx(published, abs=0.051)


def test_organs_sum_to_aboveground(table):
    for group in table.groups:
        eqs = table.equations_for(group)
        organ_sum = sum(e.biomass_kg(np.array([20.0]), np.array([12.0]))[0] for e in eqs)
        res = table.tree_biomass(pd.Series([group]), np.array([20.0]), np.array([12.0]))
        assert res["agb_kg"].iloc[0] == pytest.approx(organ_sum)
        assert {e.component for e in eqs} <= {"stem", "bark", "branch", "leaf"}


def test_carbon_is_biomass_times_fraction(table):
    res = table.tree_biomass(pd.Series(["油松", "白桦"]), np.array([15.0, 15.0]), np.array([10.0, 10.0]))
    assert list(res["carbon_fraction"]) == [0.5030, 0.5008]  # Ma et al. 2002 stand values
    np.testing.assert_allclose(res["agc_kg"], res["agb_kg"] * res["carbon_fraction"])


def test_every_row_cites_a_source(table):
    assert all(e.source for e in table.equations)
    assert all(e.status == "verified" for e in table.equations)
    proxies = {e.species_group for e in table.equations if e.proxy_for}
    assert proxies == {"侧柏"}


def test_missing_carbon_fraction_asks_the_user(tmp_path):
    src = AllometryTable.default().frame.copy()
    src.loc[src["species_group"] == "白桦", "carbon_fraction"] = np.nan
    p = tmp_path / "t.csv"
    src.to_csv(p, index=False)
    with pytest.raises(MissingValueError, match=r"plots.carbon_fractions.白桦"):
        AllometryTable.from_csv(p).tree_biomass(pd.Series(["白桦"]), np.array([10.0]), np.array([8.0]))


def test_robinia_has_a_flagged_tier1_default_that_the_user_overrides():
    """IPCC 2006 Vol. 4 Ch. 4 Table 4.3: temperate broad-leaved 0.48; a species-specific value wins."""
    from minecarbon.allometry import Tier1DefaultWarning

    agb = 0.0302 * 640 ** 0.9474 + 0.004 * 640 ** 1.0868 + 0.006 * 640 ** 0.8403  # D=10, H=6.4: D2H = 640
    with pytest.warns(Tier1DefaultWarning, match=r"tier-1 default carbon fraction 0.48 .*Table 4.3"):
        res = AllometryTable.default().tree_biomass(pd.Series(["刺槐"]), np.array([10.0]), np.array([6.4]))
    assert res["agc_kg"][0] == pytest.approx(0.48 * agb, rel=1e-12)
    prov = AllometryTable.default().provenance(["刺槐"])
    assert (prov["carbon_fraction"] == 0.48).all()
    assert prov["carbon_fraction_source"].str.startswith("TIER-1 DEFAULT").all()
    own = AllometryTable.default(carbon_fractions={"刺槐": (0.465, "measured, our lab")})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", Tier1DefaultWarning)
        res = own.tree_biomass(pd.Series(["刺槐"]), np.array([10.0]), np.array([6.4]))
    assert res["agc_kg"][0] == pytest.approx(0.465 * agb, rel=1e-12)


def test_unknown_species_lists_closest_names(table):
    with pytest.raises(UnknownSpeciesError, match="pinus tabuliformis"):
        table.resolve("Pinus tabulformis")
    assert table.resolve("  pinus   TABULIFORMIS ") == "油松"
    assert table.resolve("山杨") == "杨树"


def test_dbh_out_of_range_warns_or_errors():
    frame = pd.DataFrame([{"species_group": "x", "component": "aboveground", "form": "power", "a": "0.1",
                           "b": "2.0", "c": "0", "dbh_min_cm": "5", "dbh_max_cm": "30", "output_unit": "kg",
                           "carbon_fraction": "0.5", "source": "test", "status": "user"}])
    t = AllometryTable(frame)
    with pytest.warns(UserWarning, match="2 tree"):
        res = t.tree_biomass(pd.Series(["x"] * 3), np.array([2.0, 10.0, 40.0]), np.array([3.0, 8.0, 20.0]))
    np.testing.assert_allclose(res["agb_kg"], 0.1 * np.array([2.0, 10.0, 40.0]) ** 2)
    with pytest.raises(InputError, match="outside the fitted range"):
        t.tree_biomass(pd.Series(["x"]), np.array([2.0]), np.array([3.0]), dbh_out_of_range="error")


def test_expression_form_and_grams():
    f = compile_expression("1.54e-5 * dbh_cm^2 * height_m")  # FORTLS stem biomass form
    assert float(f(dbh_cm=np.array([30.0]), height_m=np.array([20.0]))[0]) == pytest.approx(1.54e-5 * 900 * 20)
    frame = pd.DataFrame([{"species_group": "y", "component": "aboveground", "form": "expr",
                           "expr": "10^(2.159 + 2.367*log10(dbh_cm))", "output_unit": "g",
                           "carbon_fraction": "0.5", "source": "test", "status": "user"}])
    res = AllometryTable(frame).tree_biomass(pd.Series(["y"]), np.array([20.0]), np.array([15.0]))
    assert res["agb_kg"].iloc[0] == pytest.approx(10 ** (2.159 + 2.367 * math.log10(20.0)) / 1000)


@pytest.mark.parametrize("bad", ["__import__('os').system('true')", "dbh_cm.real", "open('x')",
                                 "[1,2]", "dbh_cm if 1 else 2", "lambda: 1"])
def test_expressions_are_never_evaluated_as_code(bad):
    with pytest.raises(InputError):
        compile_expression(bad)


def test_bad_table_lists_every_problem():
    frame = pd.DataFrame([
        {"species_group": "a", "component": "trunk", "form": "power", "a": "1", "b": "2", "output_unit": "kg",
         "source": "s", "status": "verified"},
        {"species_group": "b", "component": "stem", "form": "cubic", "a": "1", "b": "2", "output_unit": "lb",
         "source": "", "status": "maybe"},
    ])
    with pytest.raises(InputError) as exc:
        AllometryTable(frame, name="t.csv")
    msg = str(exc.value)
    for part in ("row 1: component 'trunk'", "row 2: form 'cubic'", "output_unit 'lb'", "status 'maybe'",
                 "row 2: source is empty"):
        assert part in msg


def _one_row(**kw) -> pd.DataFrame:
    row = {"species_group": "x", "component": "aboveground", "form": "power", "a": "0.1", "b": "2.0", "c": "0",
           "output_unit": "kg", "carbon_fraction": "0.5", "source": "test", "status": "user"}
    row.update(kw)
    return pd.DataFrame([row])


def test_output_units_are_converted_to_kg():
    # the same equation stated in g, kg and Mg gives the same kg
    d, h = np.array([12.0, 30.0]), np.array([9.0, 20.0])
    kg = AllometryTable(_one_row()).tree_biomass(pd.Series(["x", "x"]), d, h)["agb_kg"]
    g = AllometryTable(_one_row(a="100", output_unit="g")).tree_biomass(pd.Series(["x", "x"]), d, h)["agb_kg"]
    mg = AllometryTable(_one_row(a="0.0001", output_unit="Mg")).tree_biomass(pd.Series(["x", "x"]), d, h)["agb_kg"]
    np.testing.assert_allclose(kg, 0.1 * d ** 2, rtol=1e-14)
    np.testing.assert_allclose(g, kg, rtol=1e-14)
    np.testing.assert_allclose(mg, kg, rtol=1e-14)


def test_power_form_with_height_and_bias_correction():
    t = AllometryTable(_one_row(a="0.065388", b="2.01735", c="0.49425", log_bias_correction="1.02"))
    res = t.tree_biomass(pd.Series(["x"]), np.array([20.0]), np.array([15.0]))
    # LY/T 2264 Chinese fir form a*D^b*H^c (DOMAIN.md 1.4), times the bias factor, by hand
    assert res["agb_kg"].iloc[0] == pytest.approx(1.02 * 0.065388 * 20.0 ** 2.01735 * 15.0 ** 0.49425, rel=1e-14)
    assert res["equation"].iloc[0] == "aboveground = 1.02*0.065388*D^2.01735*H^0.49425 kg"


def test_residual_sd_and_bias_factor_are_validated():
    with pytest.raises(InputError, match="residual_sd_log"):
        AllometryTable(_one_row(residual_sd_log="5"))
    with pytest.raises(InputError, match="log_bias_correction"):
        AllometryTable(_one_row(log_bias_correction="12"))
    t = AllometryTable(_one_row(residual_sd_log="0.3"))
    assert t.equations[0].residual_sd_log == 0.3
    assert AllometryTable.default().equations[0].residual_sd_log is None  # unknown for the shipped rows


def test_every_unknown_species_is_listed_with_lines(table):
    names = pd.Series(["油松", "Pinus tabulformis", "白桦", "Quercus mongolica", "Pinus tabulformis"])
    with pytest.raises(UnknownSpeciesError) as exc:
        table.tree_biomass(names, np.full(5, 15.0), np.full(5, 10.0), source="trees.csv")
    msg = str(exc.value)
    assert "trees.csv: 2 species name(s)" in msg
    assert "'Pinus tabulformis' on line(s) 3, 6" in msg  # CSV lines (header = line 1)
    assert "'Quercus mongolica' on line(s) 5" in msg
    assert "pinus tabuliformis" in msg  # closest known name


def test_out_of_range_counts_trees_not_equations():
    # two organ rows with different ranges: a tree outside either counts once
    frame = pd.concat([_one_row(component="stem", dbh_min_cm="5", dbh_max_cm="30"),
                       _one_row(component="leaf", dbh_min_cm="8", dbh_max_cm="40")], ignore_index=True)
    t = AllometryTable(frame)
    with pytest.warns(UserWarning, match=r"3 tree\(s\).*line\(s\) 2, 3, 5"):
        t.tree_biomass(pd.Series(["x"] * 4), np.array([4.0, 6.0, 10.0, 35.0]), np.full(4, 8.0))


def test_wood_density_reaches_expressions():
    t = AllometryTable(_one_row(form="expr", a="", b="", expr="0.0673*(wood_density*height_m*dbh_cm^2)^0.976"))
    wd = np.array([0.6, 0.8])
    res = t.tree_biomass(pd.Series(["x", "x"]), np.array([20.0, 20.0]), np.array([15.0, 15.0]), wood_density=wd)
    np.testing.assert_allclose(res["agb_kg"], 0.0673 * (wd * 15.0 * 400.0) ** 0.976, rtol=1e-14)
    with pytest.raises(MissingValueError, match="wood_density"):
        t.tree_biomass(pd.Series(["x"]), np.array([20.0]), np.array([15.0]))


def test_expressions_broadcast_over_draws():
    f = compile_expression("0.05*(dbh_cm^2*height_m)^0.9")
    d = np.array([[10.0, 20.0], [11.0, 21.0]])
    np.testing.assert_allclose(f(dbh_cm=d, height_m=np.array([8.0, 12.0])),
                               0.05 * (d ** 2 * np.array([8.0, 12.0])) ** 0.9)


# Every shipped row against its coefficients as printed in ALLOMETRY.md (sections 2.1-2.4),
# evaluated by hand at the section-7 test vector D = 15 cm, H = 10 m (D2H = 2250).
_X = D * D * H
HAND = {
    ("油松", "stem"): math.exp(-3.8828) * _X ** 0.9359, ("油松", "bark"): math.exp(-5.1129) * _X ** 0.8649,
    ("油松", "branch"): math.exp(-6.3807) * _X ** 1.1242, ("油松", "leaf"): math.exp(-5.3277) * _X ** 0.8812,
    ("侧柏", "stem"): 0.0427 * _X ** 0.8545, ("侧柏", "branch"): 0.0128 * _X ** 0.8916,
    ("侧柏", "leaf"): 0.0258 * _X ** 0.7037,
    ("华北落叶松", "stem"): 0.0462 * _X ** 0.8647, ("华北落叶松", "branch"): 0.0386 * _X ** 0.7492,
    ("华北落叶松", "leaf"): 0.0441 * _X ** 0.5844,
    ("辽东栎", "stem"): 0.0493 * _X ** 0.8514, ("辽东栎", "branch"): 0.0026 * _X ** 1.1887,
    ("辽东栎", "leaf"): 0.0119 * _X ** 0.835,
    ("刺槐", "stem"): 0.0302 * _X ** 0.9474, ("刺槐", "branch"): 0.004 * _X ** 1.0868,
    ("刺槐", "leaf"): 0.006 * _X ** 0.8403,
    ("杨树", "stem"): 0.006 * _X ** 1.098, ("杨树", "branch"): 0.001 * _X ** 1.157, ("杨树", "leaf"): 0.012 * _X ** 0.685,
    ("白桦", "stem"): 0.04152 * _X ** 0.923, ("白桦", "branch"): 0.02938 * _X ** 0.663,
    ("白桦", "leaf"): 0.01175 * _X ** 0.636,
    ("樟子松", "stem"): math.exp(-1.87871 + 0.74238 * math.log(_X)),
    ("樟子松", "branch"): math.exp(-2.51434 + 1.5922 * math.log(D)),
    ("樟子松", "leaf"): math.exp(-1.33642 + 1.05457 * math.log(D)),
    ("云杉", "stem"): math.exp(-3.97 + 0.94 * math.log(_X)), ("云杉", "branch"): math.exp(-4.64 + 0.93 * math.log(_X)),
    ("云杉", "leaf"): math.exp(-5.94 + 0.96 * math.log(_X)),
}


def test_every_shipped_row_matches_its_published_coefficients(table):
    rows = {(e.species_group, e.component): e for e in table.equations}
    assert set(rows) == set(HAND)  # no shipped row without a hand check, none missing
    for key, expected in HAND.items():
        got = rows[key].biomass_kg(np.array([D]), np.array([H]))[0]
        assert got == pytest.approx(expected, rel=1e-12), key
    # tree AGB of each group = sum of its organs
    for group in table.groups:
        organs = sum(v for (g, _), v in HAND.items() if g == group)
        res = table.tree_biomass(pd.Series([group]), np.array([D]), np.array([H]))
        assert res["agb_kg"].iloc[0] == pytest.approx(organs, rel=1e-12)

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


def test_missing_carbon_fraction_asks_the_user():
    t = AllometryTable.default()
    with pytest.raises(MissingValueError, match=r"plots.carbon_fractions.刺槐"):
        t.tree_biomass(pd.Series(["刺槐"]), np.array([10.0]), np.array([8.0]))


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

"""Allometric expressions checked per tree (issue 17): finite, positive; failures name table, line, tree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from minecarbon.allometry import AllometryTable, compile_expression
from minecarbon.errors import InputError

HEAD = ("species_group,name_zh,name_latin,aliases,component,form,a,b,c,expr,dbh_min_cm,dbh_max_cm,output_unit,"
        "log_bias_correction,carbon_fraction,carbon_fraction_source,region,source,status,proxy_for,note\n")


def _table(tmp_path, expr: str):
    p = tmp_path / "my_allometry.csv"
    p.write_text(HEAD + "testsp,测试,Testus testus,,stem,power,0.05,2.4,,,,,kg,,0.5,test,,test,user,,\n"
                 f"testsp,测试,Testus testus,,branch,expr,,,,\"{expr}\",,,kg,,0.5,test,,test,user,,\n",
                 encoding="utf-8")
    return AllometryTable.from_csv(p), p


TREES = pd.DataFrame({"tree_id": ["T1", "T2", "T3", "T4"], "species": ["testsp"] * 4,
                      "dbh_cm": [10.0, 25.0, 30.0, 12.0], "height_m": [8.0, 15.0, 16.0, 9.0]})


@pytest.mark.parametrize("expr, bad_lines", [
    ("1/0", [2, 3, 4, 5]),                      # inf for every tree (was ZeroDivisionError: internal error)
    ("9**9**9", [2, 3, 4, 5]),                  # overflow (was OverflowError: internal error)
    ("log(dbh_cm - 20) * 5", [2, 5]),           # NaN (log of a negative) for D < 20 (trees were dropped silently)
    ("0.01 * dbh_cm**2 - 2", [2, 5]),           # negative for D = 10, 12 (0.01*100-2 = -1; 0.01*144-2 = -0.56)
])
def test_bad_expression_names_table_line_and_tree(tmp_path, expr, bad_lines):
    table, path = _table(tmp_path, expr)
    with pytest.raises(InputError) as e:
        table.tree_biomass(TREES["species"], TREES["dbh_cm"].to_numpy(), TREES["height_m"].to_numpy(),
                           source="trees.csv", tree_ids=TREES["tree_id"].to_numpy())
    msg = str(e.value)
    assert str(path) in msg and "line 3" in msg and "branch" in msg  # data row 2 of the table = line 3
    assert f"for {len(bad_lines)} tree(s) of trees.csv" in msg
    for line in bad_lines:
        assert f"line {line} (" in msg
        assert f"tree {TREES['tree_id'][line - 2]}, line {line}" in msg


def test_good_expression_passes_with_hand_values(tmp_path):
    table, _ = _table(tmp_path, "0.01 * dbh_cm**2")
    res = table.tree_biomass(TREES["species"], TREES["dbh_cm"].to_numpy(), TREES["height_m"].to_numpy())
    d = TREES["dbh_cm"].to_numpy()
    np.testing.assert_allclose(res["agb_kg"], 0.05 * d**2.4 + 0.01 * d**2, rtol=1e-12)


def test_constant_arithmetic_follows_numpy():
    with np.errstate(all="ignore"):
        assert np.isinf(compile_expression("1/0")(dbh_cm=np.array([1.0])))
        assert np.isinf(compile_expression("9**9**9")(dbh_cm=np.array([1.0])))

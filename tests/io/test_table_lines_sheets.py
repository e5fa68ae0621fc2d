"""Tables: blank lines keep line numbers true; a workbook with several sheets is not read blindly (issue 17)."""

from __future__ import annotations

import pandas as pd
import pytest

from minecarbon.errors import InputError
from minecarbon.io.table import read_table
from minecarbon.plots import validate_trees

TREES = "plot_id,tree_id,species,dbh_cm,height_m\nP1,T1,油松,10.2,8.0\n\n\nP1,T2,油松,-3,7.5\nP1,T3,油松,12.0,9.1\n"


def test_blank_lines_keep_file_line_numbers(tmp_path):
    p = tmp_path / "trees.csv"
    p.write_text(TREES, encoding="utf-8")
    df = read_table(p)
    assert len(df) == 3 and list(df.index + 2) == [2, 5, 6]  # T2 is on line 5 of the file (count by hand)
    with pytest.raises(InputError, match=r"line 5, column dbh_cm: DBH -3 cm is not positive"):
        validate_trees(df, source=str(p))


def _book(path, sheets: dict[str, pd.DataFrame]) -> None:
    with pd.ExcelWriter(path) as w:
        for name, df in sheets.items():
            df.to_excel(w, sheet_name=name, index=False)


def test_workbook_with_two_filled_sheets_is_an_error(tmp_path):
    p = tmp_path / "trees.xlsx"
    a = pd.DataFrame({"plot_id": ["P1"], "tree_id": ["T1"], "species": ["油松"], "dbh_cm": [10.0], "height_m": [8.0]})
    _book(p, {"2019": a, "2024": a.assign(dbh_cm=12.0)})
    with pytest.raises(InputError, match=r"2 sheets with data \('2019', '2024'\)") as e:
        read_table(p)
    assert str(p) in str(e.value)


def test_workbook_with_one_filled_sheet_reads_it(tmp_path):
    p = tmp_path / "trees.xlsx"
    a = pd.DataFrame({"plot_id": ["P1", "P2"], "dbh_cm": [10.0, 11.5]})
    _book(p, {"notes": pd.DataFrame(), "data": a})
    df = read_table(p)
    assert df["dbh_cm"].tolist() == [10.0, 11.5]


def test_check_reports_the_sheets(tmp_path):
    import shutil

    from minecarbon.check import check_project
    from minecarbon.scenario import simulate

    toml = simulate(tmp_path / "p", size="tiny", seed=7, start_year=2005, end_year=2006)
    root = toml.parent
    trees = pd.read_csv(root / "inputs" / "field" / "trees.csv", encoding="utf-8-sig")
    _book(root / "inputs" / "field" / "trees.xlsx", {"A": trees, "B": trees.head(3)})
    text = toml.read_text(encoding="utf-8").replace("field/trees.csv", "field/trees.xlsx")
    toml.write_text(text, encoding="utf-8")
    found = [p for p in check_project(toml) if p.file.endswith("trees.xlsx")]
    assert found and "2 sheets with data ('A', 'B')" in found[0].message and found[0].is_error
    shutil.rmtree(root / "workspace", ignore_errors=True)

"""``minecarbon tool allometry``: outputs against hand values; bad input is one message, never a traceback."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from click.testing import CliRunner

from minecarbon.cli.main import main


@pytest.fixture()
def files(tmp_path):
    trees = pd.DataFrame({"plot_id": ["a", "a", "b"], "tree_id": ["1", "2", "1"],
                          "species": ["油松", "Betula platyphylla", "白桦"], "dbh_cm": [15.0, 15.0, 20.0],
                          "height_m": [10.0, 10.0, 12.0]})
    trees.to_csv(tmp_path / "trees.csv", index=False)
    pd.DataFrame({"plot_id": ["a", "b"], "size_m": [20.0, 30.0]}).to_csv(tmp_path / "plots.csv", index=False)
    return tmp_path


def _pine(d, h):  # 程堂仁 2007 organs, ALLOMETRY.md 2.1(a)
    x = d * d * h
    return sum(math.exp(a) * x ** b for a, b in [(-3.8828, 0.9359), (-5.1129, 0.8649), (-6.3807, 1.1242),
                                                  (-5.3277, 0.8812)])


def _birch(d, h):  # 黄晓琼 et al. 2016, ALLOMETRY.md 2.4
    x = d * d * h
    return 0.04152 * x ** 0.923 + 0.02938 * x ** 0.663 + 0.01175 * x ** 0.636


def run(*args):
    return CliRunner().invoke(main, ["tool", "allometry", *map(str, args)])


def test_trees_and_plots_by_hand(files):
    res = run(files / "trees.csv", files / "out.csv", "--plots", files / "plots.csv", "--draws", 50)
    assert res.exit_code == 0, res.output
    out = pd.read_csv(files / "out.csv", encoding="utf-8-sig")
    expected = [_pine(15, 10), _birch(15, 10), _birch(20, 12)]
    assert list(out["agb_kg"]) == pytest.approx(expected, rel=1e-12)
    assert list(out["agc_kg"]) == pytest.approx([expected[0] * 0.5030, expected[1] * 0.5008, expected[2] * 0.5008],
                                                rel=1e-12)
    assert list(out["species_group"]) == ["油松", "白桦", "白桦"]
    assert out["equation"].iloc[1].startswith("stem = 0.04152*(D^2*H)^0.923 kg")
    p = pd.read_csv(files / "out_plots.csv", encoding="utf-8-sig")
    assert p["agc_t_ha"].iloc[0] == pytest.approx((expected[0] * 0.5030 + expected[1] * 0.5008) / 1000 / 0.04)
    assert (p["agc_lo95_t_ha"] <= p["agc_t_ha"]).all() and (p["agc_hi95_t_ha"] >= p["agc_t_ha"]).all()


def test_json_summary(files):
    res = run(files / "trees.csv", files / "out.csv", "--json")
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["trees"] == 3 and s["species_groups"] == {"白桦": 2, "油松": 1}
    assert s["agb_kg"] == pytest.approx(_pine(15, 10) + _birch(15, 10) + _birch(20, 12))
    assert "plots" not in s


def test_missing_carbon_fraction_and_the_option(files):
    pd.DataFrame({"plot_id": ["a"], "tree_id": ["1"], "species": ["刺槐"], "dbh_cm": [15.0],
                  "height_m": [10.0]}).to_csv(files / "robinia.csv", index=False)
    res = run(files / "robinia.csv", files / "out.csv", "--json")  # out of the box: the tier-1 default, flagged
    assert res.exit_code == 0 and "tier-1 default carbon fraction 0.48" in res.output and "Traceback" not in res.output
    agb0 = 0.0302 * 2250 ** 0.9474 + 0.004 * 2250 ** 1.0868 + 0.006 * 2250 ** 0.8403
    assert json.loads(res.output[res.output.index("{"):])["agc_kg"] == pytest.approx(0.48 * agb0, rel=1e-12)
    res = run(files / "robinia.csv", files / "out.csv", "--carbon-fraction", "刺槐=0.47:IPCC 2006 default", "--json")
    assert res.exit_code == 0, res.output
    agb = 0.0302 * 2250 ** 0.9474 + 0.004 * 2250 ** 1.0868 + 0.006 * 2250 ** 0.8403
    assert json.loads(res.output)["agc_kg"] == pytest.approx(0.47 * agb, rel=1e-12)
    res = run(files / "robinia.csv", files / "out.csv", "--carbon-fraction", "刺槐=47")
    assert res.exit_code == 2 and "GROUP=VALUE:SOURCE" in res.output


@pytest.mark.parametrize("edit, needle", [
    (lambda df: df.assign(species=["油松", "Pinus tabulformis", "白桦"]), "'Pinus tabulformis' on line(s) 3"),
    (lambda df: df.drop(columns="height_m"), "lacks required column(s) height_m"),
    (lambda df: df.assign(dbh_cm=[160.0, 170.0, 200.0]), "millimetres"),
    (lambda df: df.assign(plot_id=["a", "a", "zz"]), "plot_id 'zz' not in the plot sheet"),
])
def test_bad_input_is_one_clear_message(files, edit, needle):
    edit(pd.read_csv(files / "trees.csv")).to_csv(files / "bad.csv", index=False)
    res = run(files / "bad.csv", files / "out.csv", "--plots", files / "plots.csv")
    assert res.exit_code == 2, res.output
    assert needle in res.output.replace("\n", " ")
    assert "Traceback" not in res.output
    assert not (files / "out.csv").exists()


def test_never_overwrites_an_input(files):
    res = run(files / "trees.csv", files / "trees.csv")
    assert res.exit_code == 2 and "is one of the input files" in res.output
    assert len(pd.read_csv(files / "trees.csv")) == 3

"""The ``expr`` form reproduces published allometric chains exactly (real third-party data).

* FORTLS (La Rioja, Spain): stem biomass w.user (Mg) = 1.54e-5 * d^2 * h for every live tree.
* BIOMASS (Nouragues, French Guiana): AGB (Mg) = 0.0673 * (WD * H * D^2)^0.976 / 1000 (Chave et al. 2014
  eq. 4) per tree, and the plot sums of ``../shared/realdata/BIOMASS_nouragues/SOURCE.txt``.

The data stay in ``../shared/realdata``; these tests skip without it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from minecarbon import plots
from minecarbon.allometry import AllometryTable
from minecarbon.cli.main import main

pytestmark = pytest.mark.realdata

ROW = {"component": "aboveground", "form": "expr", "a": "", "b": "", "c": "", "dbh_min_cm": "", "dbh_max_cm": "",
       "log_bias_correction": "", "carbon_fraction": "0.47", "carbon_fraction_source": "test value", "region": "",
       "status": "user", "proxy_for": "", "note": ""}

# BIOMASS SOURCE.txt: "Plot sums of AGB (Mg): 201: 456.3937, 204: 541.9746, 213: 386.5187, 223: 284.9519"
NOURAGUES_PLOT_MG = {"201": 456.3937, "204": 541.9746, "213": 386.5187, "223": 284.9519}


def test_fortls_stem_biomass_through_the_cli(realdata_dir, tmp_path):
    src = pd.read_csv(realdata_dir / "FORTLS_rioja" / "Rioja_tree_field.csv")
    live = src[src["dead"].isna()].reset_index(drop=True)
    assert len(live) == 654
    trees = pd.DataFrame({"plot_id": live["id"].astype(str), "tree_id": live["tree"].astype(str),
                          "species": live["Sp"].astype(str), "dbh_cm": live["dbh"], "height_m": live["h"]})
    trees.to_csv(tmp_path / "trees.csv", index=False)
    table = pd.DataFrame([{**ROW, "species_group": "Pinus sylvestris", "aliases": "21", "component": "stem",
                           "expr": "1.54e-5 * dbh_cm^2 * height_m", "output_unit": "Mg",
                           "source": "FORTLS 2.0.1 Rioja.data w.user"}])
    table.to_csv(tmp_path / "table.csv", index=False)
    res = CliRunner().invoke(main, ["tool", "allometry", str(tmp_path / "trees.csv"), str(tmp_path / "out.csv"),
                                    "--table", str(tmp_path / "table.csv"), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["trees"] == 654
    out = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", dtype={"plot_id": str})
    np.testing.assert_allclose(out["agb_kg"] / 1000.0, live["w.user"], rtol=1e-13)
    assert out.loc[0, "agb_kg"] / 1000.0 == pytest.approx(0.204526784, rel=1e-12)  # d=30.8, h=14.0 (SOURCE.txt)
    per_plot = out.groupby("plot_id")["agb_kg"].sum() / 1000.0
    ref = live.groupby(live["id"].astype(str))["w.user"].sum()
    np.testing.assert_allclose(per_plot.sort_index(), ref.sort_index(), rtol=1e-13)


def test_biomass_nouragues_trees_and_plot_totals(realdata_dir):
    src = pd.read_csv(realdata_dir / "BIOMASS_nouragues" / "NouraguesTreesAGB.csv")
    trees = pd.DataFrame({"plot_id": src["Plot"].astype(str), "tree_id": np.arange(len(src)).astype(str),
                          "species": "moist tropical", "dbh_cm": src["D"], "height_m": src["H_model"],
                          "wood_density": src["WD"]})
    table = AllometryTable(pd.DataFrame([{**ROW, "species_group": "pantropical", "aliases": "moist tropical",
                                          "expr": "0.0673*(wood_density*height_m*dbh_cm^2)^0.976",
                                          "output_unit": "kg", "source": "Chave et al. (2014) eq. 4"}]))
    sheet = pd.DataFrame({"plot_id": list(NOURAGUES_PLOT_MG), "size_m": 100.0})  # 1-ha plots
    t = plots.tree_carbon(plots.validate_trees(trees, sheet), table)
    np.testing.assert_allclose(t["agb_kg"] / 1000.0, src["AGB"], rtol=1e-13)
    res = plots.plot_carbon(sheet, t, table, draws=50).set_index("plot_id")
    for plot, mg in NOURAGUES_PLOT_MG.items():
        assert res.loc[plot, "agb_t_ha"] == pytest.approx(mg, abs=5e-5)  # SOURCE.txt rounds to 4 decimals
        assert res.loc[plot, "agc_t_ha"] == pytest.approx(0.47 * res.loc[plot, "agb_t_ha"], rel=1e-12)

"""minecarbon.tools without click (the change tool against hand arithmetic); the CLI options' defaults come from config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from minecarbon.config import AssessConfig
from minecarbon.tools.assess import parse_years, run_change_tool


def _write(path: Path, values: list[list[float]]) -> None:
    data = np.asarray(values, dtype="float32")[None]
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=1,
                       dtype="float32", crs="EPSG:32649", transform=from_origin(500000, 4000000, 30, 30),
                       nodata=-9999) as dst:
        dst.write(data)


def test_change_tool_by_hand(tmp_path: Path) -> None:
    _write(tmp_path / "a.tif", [[10.0, 20.0], [0.5, -9999]])
    _write(tmp_path / "b.tif", [[12.0, 10.0], [1.5, 7.0]])
    s = run_change_tool(tmp_path / "a.tif", tmp_path / "b.tif", tmp_path / "out.tif", degree_min=1.0)
    with rasterio.open(tmp_path / "out.tif") as src:
        amount, degree = src.read(1), src.read(2)
    # B - A = 2, -10, 1 (the fourth pixel: A is nodata); degree (B - A) / A x 100 = 20 %, -50 %; A = 0.5 < 1: nodata
    np.testing.assert_allclose(amount[0], [2.0, -10.0])
    assert amount[1, 0] == 1.0
    np.testing.assert_allclose(degree[0], [20.0, -50.0])
    assert s["pixels_both_valid"] == 3 and abs(s["mean_change"] - (2.0 - 10.0 + 1.0) / 3) < 1e-6  # float32
    assert s["pixels_degree_nodata_low_reference"] == 1


def test_parse_years_and_cli_defaults_come_from_config() -> None:
    assert parse_years("2005-2007,2010") == [2005, 2006, 2007, 2010]
    from minecarbon.cli.tools_assess import change_cmd, trend_cmd

    defaults = {p.name: p.default for p in trend_cmd.params + change_cmd.params}
    fields = AssessConfig.model_fields
    assert defaults["alpha"] == fields["trend_alpha"].default == 0.05
    assert defaults["min_years"] == fields["trend_min_years"].default == 3
    assert defaults["stable_slope"] == fields["trend_stable_slope_t_ha_yr"].default
    assert defaults["degree_min"] == fields["degree_min_agc_t_ha"].default == 1.0


def test_fit_defaults_come_from_config() -> None:
    from minecarbon.cli.tools_model import fit_cmd
    from minecarbon.config import ModelConfig

    defaults = {p.name: p.default for p in fit_cmd.params}
    m = ModelConfig()
    assert defaults["learners"] == ",".join(m.learners) == "svm,rf,gbdt,xgb,mlr"
    assert (defaults["folds"], defaults["repeats"], defaults["inner_folds"]) == (m.cv_folds, m.cv_repeats,
                                                                                  m.cv_inner_folds) == (5, 1, 3)
    assert (defaults["block_m"], defaults["min_per_type"], defaults["n_estimators"], defaults["seed"]) == (
        m.cv_block_m, m.min_plots_per_type, m.n_estimators, m.seed) == (1000.0, 15, 100, 0)


def test_allometry_tool_defaults_come_from_config() -> None:
    from minecarbon.cli.tools_plots import allometry_command
    from minecarbon.config import PlotsConfig

    defaults = {p.name: p.default for p in allometry_command.params}
    p = PlotsConfig()
    assert (defaults["dbh_out_of_range"], defaults["draws"], defaults["dbh_error_cm"], defaults["height_error_rel"],
            defaults["seed"]) == (p.dbh_out_of_range, p.mc_draws, p.dbh_error_cm, p.height_error_rel,
                                  p.mc_seed) == ("warn", 500, 0.5, 0.05, 0)

"""minecarbon.tools without click (the change tool against hand arithmetic); the CLI options' defaults come from config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from pytest import approx
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


def test_the_cli_defaults_module_is_what_the_config_declares() -> None:
    """``minecarbon.defaults`` (no pydantic at a command's start-up) against the project-file models."""
    from minecarbon.cli.options import config_default
    from minecarbon.config import AssessConfig, ModelConfig, PlotsConfig
    from minecarbon.defaults import FIELD_DEFAULTS

    models = {"assess": AssessConfig, "model": ModelConfig, "plots": PlotsConfig}
    assert set(FIELD_DEFAULTS) == set(models)
    for section, fields in FIELD_DEFAULTS.items():
        for name in fields:
            info = models[section].model_fields[name]
            declared = info.default_factory() if info.default_factory is not None else info.default
            assert config_default(section, name) == declared, (section, name)
    assert config_default("model", "learners") is not config_default("model", "learners")  # a new list each time


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


def test_tls_validate_tool_by_hand(tmp_path: Path) -> None:
    """The hand-worked example of tests/lidar/test_lidar_validate_treetops.py, through files and without click."""
    import pandas as pd

    from minecarbon.tools.lidar import run_tls_validate_tool

    pd.DataFrame({"tree_id": ["A", "B", "C"], "x_local_m": [0.0, 3.0, 10.0], "y_local_m": [0.0, 0.0, 10.0],
                  "dbh_cm": [20.0, 30.0, 15.0], "height_m": [15.0, 20.0, 10.0]}).to_csv(tmp_path / "tally.csv",
                                                                                         index=False)
    pd.DataFrame({"tree_id": [1, 2, 3, 4], "x": [0.2, 2.5, 5.0, 0.5], "y": [0.0, 0.3, 5.0, 0.1],
                  "dbh_cm": [21.0, 29.0, 25.0, 40.0], "height_m": [16.0, 18.0, 12.0, 14.0],
                  "qc": ["ok", "check", "ok", "ok"]}).to_csv(tmp_path / "trees.csv", index=False)
    v = run_tls_validate_tool(tmp_path / "trees.csv", tmp_path / "tally.csv", tmp_path / "val")
    st = v["all_matched"]
    # pairs A-1 (DBH +1, height +1) and B-2 (DBH -1, height -2); C omitted; 3 and 4 commissions
    assert (st["n_matched"], st["n_reference"]) == (2, 3)
    assert st["detection_rate"] == approx(2 / 3) and st["commission_rate"] == approx(2 / 4)
    assert st["dbh_cm"]["bias"] == approx(0.0) and st["dbh_cm"]["rmse"] == approx(1.0)
    assert st["height_m"]["bias"] == approx(-0.5) and st["height_m"]["rmse"] == approx(np.sqrt(2.5))
    assert v["qc_ok_matched"]["height_m"]["n"] == 1                      # only A-1 is QC ok
    pairs = pd.read_csv(tmp_path / "val_pairs.csv")
    assert pairs["status"].value_counts().to_dict() == {"matched": 2, "commission": 2, "omission": 1}
    assert (tmp_path / "val_validation.png").stat().st_size > 0


def test_chm_and_treetops_tools_find_the_simulated_crowns(tmp_path: Path) -> None:
    """Three cone crowns of known heights (11, 15, 18 m) on flat ground at 50 m: the CHM's top, the DTM and the
    treetops are the simulator's truth."""
    from pyproj import CRS

    from minecarbon.errors import InputError
    from minecarbon.lidar import PointCloud, write_cloud
    from minecarbon.tools.lidar import run_chm_tool, run_treetops_tool

    rng = np.random.default_rng(0)
    pts = [np.column_stack([rng.uniform(0, 30, 20000), rng.uniform(0, 30, 20000), np.full(20000, 50.0)])]
    for (x, y, h) in ((8.0, 8.0, 15.0), (22.0, 9.0, 11.0), (15.0, 23.0, 18.0)):
        t = rng.uniform(0, 1, 3000)
        r = 0.3 * h * np.sqrt(rng.uniform(0, 1, 3000)) * (1 - t)
        a = rng.uniform(0, 2 * np.pi, 3000)
        pts += [np.column_stack([x + r * np.cos(a), y + r * np.sin(a), 50.0 + 0.5 * h + 0.49 * h * t]),
                np.array([[x, y, 50.0 + h]])]
    cloud = PointCloud(np.vstack(pts) + [500000, 4000000, 0], CRS.from_epsg(32649),
                       {"classification": np.r_[np.full(20000, 2), np.full(9003, 1)].astype(np.uint8)})
    laz = write_cloud(tmp_path / "als.laz", cloud)
    s = run_chm_tool(laz, tmp_path / "chm.tif", 0.5, dtm_out=tmp_path / "dtm.tif")
    assert s["points"] == 29003 and s["max_height_m"] == approx(18.0, abs=0.2)
    with rasterio.open(tmp_path / "dtm.tif") as src:
        assert float(np.nanmean(src.read(1, masked=True))) == approx(50.0, abs=1e-3)
    t = run_treetops_tool(tmp_path / "chm.tif", tmp_path / "tops.gpkg", min_height=5.0)
    assert t["treetops"] == 3 and t["mean_height_m"] == approx((11 + 15 + 18) / 3, abs=0.2)
    with pytest.raises(InputError, match="input"):
        run_chm_tool(laz, laz, 0.5)


def test_accuracy_tool_reproduces_olofsson_2014(tmp_path: Path) -> None:
    """Olofsson et al. (2014), Remote Sensing of Environment 148: 42-57, section 5: Table 8's sample counts and
    mapped areas (30 m pixels, 0.09 ha) give section 5.2's areas (ha) and overall accuracy 0.95 +/- 0.02."""
    import pandas as pd

    from minecarbon.errors import InputError
    from minecarbon.tools.classify import run_accuracy_tool

    classes = ["deforestation", "forest_gain", "stable_forest", "stable_nonforest"]
    cm = pd.DataFrame([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]], columns=classes)
    cm.insert(0, "map", classes)
    cm["mapped_area"] = [200000, 150000, 3200000, 6450000]
    cm.to_csv(tmp_path / "cm.csv", index=False)
    res = run_accuracy_tool(tmp_path / "cm.csv", unit_factor=0.09, out_path=tmp_path / "acc.csv")
    assert [round(res["classes"][c]["area"]) for c in classes] == [21158, 11686, 285770, 581386]
    assert [round(res["classes"][c]["area_ci"]) for c in classes] == [6158, 3756, 15510, 16282]
    assert res["oa"] == approx(0.95, abs=0.005) and res["oa_ci"] == approx(0.02, abs=0.005)
    assert res["saved"] == str(tmp_path / "acc.csv") and len(pd.read_csv(tmp_path / "acc.csv")) == 4
    with pytest.raises(InputError, match="not both"):
        run_accuracy_tool()


def test_unmix_tool_recovers_the_mixing_fractions(tmp_path: Path) -> None:
    """Pixels mixed from three endmembers with known (Dirichlet) fractions: the tool gives them back."""
    import pandas as pd

    from minecarbon.tools.classify import run_unmix_tool

    rng = np.random.default_rng(1)
    E = rng.uniform(0.02, 0.5, (4, 3))
    a = rng.dirichlet(np.ones(3), 6 * 5)
    img = (a @ E.T).T.reshape(4, 6, 5).astype(np.float32)
    with rasterio.open(tmp_path / "img.tif", "w", driver="GTiff", width=5, height=6, count=4, dtype="float32",
                       crs="EPSG:32650", transform=from_origin(500000, 4000000, 10, 10)) as dst:
        dst.write(img)
        dst.descriptions = ("blue", "red", "nir", "swir1")
    em = pd.DataFrame(E.T, columns=["blue", "red", "nir", "swir1"])
    em.insert(0, "endmember", ["gv", "soil", "shade"])
    em.to_csv(tmp_path / "em.csv", index=False)
    s = run_unmix_tool(tmp_path / "img.tif", tmp_path / "frac.tif", tmp_path / "em.csv", chunk_px=64)
    assert s["bands"] == ["gv", "soil", "shade", "rmse"]
    with rasterio.open(tmp_path / "frac.tif") as f:
        got = f.read()
    np.testing.assert_allclose(got[:3].reshape(3, -1).T, a, atol=1e-5)


def test_catalog_database_url_and_compare_arguments(tmp_path: Path) -> None:
    """--db wins and is checked as [catalog].url is; else the project's [catalog].url; else an error with the fix.
    Bad --years fail before any connection."""
    from minecarbon.errors import ConfigError
    from minecarbon.tools.catalog import database_url, run_compare_tool

    assert database_url("postgresql://u@h:5432/db", None) == "postgresql://u@h:5432/db"
    with pytest.raises(ConfigError, match="--db: .*password"):
        database_url("postgresql://u:pw@h/db", None)
    base = ('[project]\nstart_year = 2000\nend_year = 2001\n[area]\nboundary = "b.shp"\n[images]\n'
            'path = "i_{year}.tif"\n[climate]\ntemperature = "t.csv"\nprecipitation = "p.csv"\n'
            '[inputs]\ndem = "d.tif"\nplots = "p.csv"\ntrees = "t.csv"\nforest_type = "f.tif"\n')
    (tmp_path / "a.toml").write_text(base + '[catalog]\nurl = "postgresql://reader@h/mines"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text(base, encoding="utf-8")
    assert database_url(None, tmp_path / "a.toml") == "postgresql://reader@h/mines"
    with pytest.raises(ConfigError, match=r"sets no shared database.*\[catalog\] url"):
        database_url(None, tmp_path / "b.toml")
    with pytest.raises(ConfigError, match="--db postgresql://"):
        database_url(None, None)
    with pytest.raises(ConfigError, match="give years as numbers"):
        run_compare_tool("postgresql://u@127.0.0.1:1/none", years="2005,20x6")


def test_classify_and_phenology_tools_by_construction(tmp_path: Path) -> None:
    """Classes that one feature separates with wide gaps: random-CV OA and kappa are 1. A double-logistic NDVI
    curve with inflections at day 120 and 280 (frac 0.5 = half the amplitude): season start and end there,
    whatever the cloudy values."""
    import pandas as pd

    from minecarbon.tools.classify import run_classify_tool, run_phenology_tool

    rng = np.random.default_rng(3)
    cls = np.repeat(np.arange(3), 40)
    pd.DataFrame({"x": rng.uniform(0, 5000, 120), "y": rng.uniform(0, 5000, 120),
                  "label": np.array(["pine", "oak", "poplar"])[cls], "amp": cls + rng.uniform(-0.2, 0.2, 120),
                  "noise": rng.normal(0, 1, 120)}).to_csv(tmp_path / "s.csv", index=False)
    out = run_classify_tool(tmp_path / "s.csv", "label", ["amp", "noise"], folds=4, cv_scheme="random",
                            n_estimators=30)
    assert out["n"] == 120 and out["headline"] == "random"
    assert out["cv"]["random"]["oa"] == 1.0 and out["cv"]["random"]["kappa"] == approx(1.0)

    t = pd.date_range("2020-01-08", periods=23, freq="16D")
    doy = t.day_of_year.to_numpy(float)
    v = 0.2 + 0.6 / (1 + np.exp(-0.1 * (doy - 120))) - 0.6 / (1 + np.exp(-0.1 * (doy - 280)))
    clear = np.ones(23, bool)
    clear[[2, 9, 15]] = False
    v[~clear] = -0.5
    pd.DataFrame({"date": t, "ndvi": v, "ok": clear.astype(int)}).to_csv(tmp_path / "n.csv", index=False)
    s = run_phenology_tool(tmp_path / "n.csv", tmp_path / "f.csv", value_col="ndvi", clear_col="ok")
    assert (s["series_years"], s["flagged"]) == (1, 0)
    f = pd.read_csv(tmp_path / "f.csv").iloc[0]
    assert f.n_clear == 20 and 110 < f.sos_doy < 130 and 270 < f.eos_doy < 290


def test_tls_tool_recovers_the_simulated_stand(tmp_path: Path) -> None:
    """A simulated scan of 12 trees of known position, DBH and height (the simulator's truth as the tally):
    the tool finds them and its DBH errors are those of the pairs it writes (recomputed here)."""
    import pandas as pd

    from minecarbon.scenario.tls import simulate_tls_scan, write_laz
    from minecarbon.tools.lidar import run_tls_tool

    xy = np.array([(x, y) for x in (-9.0, -3.0, 3.0, 9.0) for y in (-8.0, 0.5, 8.0)])
    rng = np.random.default_rng(5)
    dbh = rng.uniform(12, 30, len(xy)).round(1)
    truth = pd.DataFrame({"tree_id": np.arange(1, len(xy) + 1), "x_local_m": xy[:, 0], "y_local_m": xy[:, 1],
                          "species": "油松", "dbh_cm": dbh,
                          "height_m": (1.3 + 25 * (1 - np.exp(-0.05 * dbh))).round(2)})
    truth.to_csv(tmp_path / "tally.csv", index=False)
    write_laz(simulate_tls_scan(truth, 5.0, 80.0, 3), tmp_path / "scan.laz")
    s = run_tls_tool(tmp_path / "scan.laz", tmp_path / "trees.csv", tally=tmp_path / "tally.csv", plot_size=30.0)
    v = s["validation"]["all_matched"]
    assert v["n_reference"] == 12 and v["detection_rate"] >= 11 / 12
    pairs = pd.read_csv(tmp_path / "trees_pairs.csv", encoding="utf-8-sig")
    m = pairs[pairs["status"] == "matched"]
    err = m["dbh_cm_det"].to_numpy(float) - m["dbh_cm_ref"].to_numpy(float)
    assert len(m) == v["n_matched"]
    assert v["dbh_cm"]["bias"] == approx(err.mean()) and v["dbh_cm"]["rmse"] == approx(np.sqrt((err ** 2).mean()))
    assert v["dbh_cm"]["rmse"] < 1.0                                   # cm, against the simulator's DBH (0.23 here)
    assert s["trees"] == len(pd.read_csv(tmp_path / "trees.csv", encoding="utf-8-sig"))


def test_composite_tool_median_by_hand(tmp_path: Path) -> None:
    """Three clear Landsat 8 scenes of 2 x 3 pixels: each pixel's composite is the median of its three values."""
    import datetime as dt

    from minecarbon.errors import InputError
    from minecarbon.tools.composite import parse_ints, run_composite_tool
    from tests.composite.conftest import CLEAR, X0, Y0, dn_of, write_scene

    assert parse_ints("2005-2007,2010", "--years") == [2005, 2006, 2007, 2010]
    with pytest.raises(InputError, match="--years"):
        parse_ints("2005-x", "--years")
    rho = [np.array([[0.10, 0.20, 0.30], [0.05, 0.40, 0.12]]),
           np.array([[0.14, 0.10, 0.31], [0.09, 0.35, 0.11]]),
           np.array([[0.12, 0.15, 0.50], [0.07, 0.30, 0.20]])]
    median = np.array([[0.12, 0.15, 0.31], [0.07, 0.35, 0.12]])  # by hand, pixel by pixel
    scenes = tmp_path / "scenes"
    for k, r in enumerate(rho):
        dn = np.stack([np.vectorize(dn_of)(r + 0.01 * b) for b in range(6)])  # band b: rho + 0.01 b
        write_scene(scenes, "LC08", dt.date(2020, 6 + k, 10), dn, np.full((2, 3), CLEAR, np.uint16))
    grid = tmp_path / "grid.tif"  # the scenes' own 2 x 3 lattice
    with rasterio.open(grid, "w", driver="GTiff", width=3, height=2, count=1, dtype="uint8", crs="EPSG:32649",
                       transform=from_origin(X0, Y0, 30.0, 30.0)) as dst:
        dst.write(np.zeros((1, 2, 3), np.uint8))
    out = run_composite_tool(scenes, tmp_path / "out", years="2020", grid_raster=grid)
    assert out["scenes"] == 3 and len(out["composites"]) == 1
    row = out["composites"][0]
    assert (row["scenes_used"], row["clear_count_min"], row["share_no_clear"]) == (3, 3, 0.0)
    with rasterio.open(row["path"]) as src:
        arr = src.read()
    for b in range(6):  # Collection 2 scale: rho = DN * 2.75e-5 - 0.2
        assert arr[b] * 2.75e-5 - 0.2 == approx(median + 0.01 * b, abs=3e-5)
    assert (arr[-1] == 3).all()  # clear_count


def test_fit_tool_recovers_an_exact_linear_relation(tmp_path: Path) -> None:
    """agc = 3 ndvi + 0.5 elev / 100 + 2 exactly: least squares (mlr) recovers it, so CV RMSE 0 and R2 1; the
    table's rows with a missing value are counted out by hand."""
    import pandas as pd

    from minecarbon.errors import InputError
    from minecarbon.tools.model import run_fit_tool

    rng = np.random.default_rng(1)
    n = 40
    df = pd.DataFrame({"ndvi": rng.uniform(0.2, 0.9, n), "elev": rng.uniform(900, 1400, n),
                       "x": rng.uniform(0, 5000, n), "y": rng.uniform(0, 5000, n)})
    df["agc_t_ha"] = 3 * df["ndvi"] + 0.5 * df["elev"] / 100 + 2
    df.loc[3, "ndvi"] = np.nan
    path = tmp_path / "plots.csv"
    df.to_csv(path, index=False)
    out = run_fit_tool(path, "agc_t_ha", "ndvi,elev", learners="mlr", folds=4, repeats=1, inner_folds=2,
                       cv_scheme="random", save_path=tmp_path / "m.joblib")
    assert (out["n"], out["n_dropped"], out["best"]) == (39, 1, "mlr")
    cv = out["learners"]["mlr"]["cv"]
    assert cv["rmse"] == approx(0.0, abs=1e-9) and cv["r2"] == approx(1.0, abs=1e-12)
    assert out["saved"] == str(tmp_path / "m.joblib") and (tmp_path / "m.joblib").exists()
    with pytest.raises(InputError, match="--learners: unknown lasso"):
        run_fit_tool(path, "agc_t_ha", "ndvi", learners="lasso", folds=4, repeats=1, inner_folds=2)


def test_report_tool_option_lists_and_unknown_dataset(tmp_path: Path) -> None:
    """The report's --lang/--format lists parsed as written by hand; a dataset of a project never run is a clear
    error (no report run here: the demo's report is tested in tests/report)."""
    from test_check import build_project

    from minecarbon.errors import ConfigError, InputError
    from minecarbon.report import FORMATS, LANGUAGES
    from minecarbon.tools.report import dataset_record, split_choices

    assert split_choices(" ZH, en ", LANGUAGES, "lang") == ["zh", "en"]
    assert split_choices("", FORMATS, "format") is None
    with pytest.raises(ConfigError, match=r"--format odt is not one of html, pdf, docx"):
        split_choices("html,odt", FORMATS, "format")
    toml = build_project(tmp_path)
    with pytest.raises(InputError, match=r"catalog\.gpkg does not exist\. Run the pipeline"):
        dataset_record(toml, "agc_2020")

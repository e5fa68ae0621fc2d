"""Stages `model` and `map` on the tiny simulated area: outputs recomputed by hand from other outputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from minecarbon import model
from minecarbon.config import load_config
from minecarbon.errors import InputError
from minecarbon.io import open_raster
from minecarbon.pipeline import run_pipeline
from minecarbon.pipeline import STAGES_BY_NAME
from minecarbon.pipeline.core import run_stage

YEARS = (2012, 2016)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from minecarbon.scenario import simulate

    out = tmp_path_factory.mktemp("tiny_model")
    toml = simulate(out, size="tiny", seed=1, start_year=YEARS[0], end_year=YEARS[1])
    cfg = load_config(toml)
    # three learners keep the module fast; test_pipeline.py runs the defaults end to end
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"learners": ["mlr", "svm", "xgb"]})})
    run_pipeline(cfg, ["units", "plots", "features", "model", "map"])
    return cfg


def _ws(cfg) -> Path:
    return cfg.workspace / "outputs"


def test_model_outputs_and_card_numbers(tiny):
    ws = _ws(tiny)
    for name in ("training_table.csv", "excluded_plots.csv", "feature_selection.csv", "model_comparison.csv",
                 "model_card.json", "residuals.png", "agc_models.skops", "agc_models.json"):
        assert (ws / "model" / name).is_file(), name
    card = json.loads((ws / "model" / "model_card.json").read_text())
    tab = pd.read_csv(ws / "model" / "training_table.csv")
    # the card's headline numbers are the metrics of the table's columns (recomputed here)
    assert card["cv_metrics"] == pytest.approx(model.metrics(tab["agc_t_ha"], tab["agc_cv_pred_t_ha"]))
    assert card["training_metrics"] == pytest.approx(model.metrics(tab["agc_t_ha"], tab["agc_fit_t_ha"]))
    assert card["n_plots"] == len(tab)
    assert card["cv"]["folds"] == 5 and "spatial blocks" in card["cv"]["scheme"]
    assert {t["name"] for t in card["types"]} <= {"nonforest", "coniferous", "broadleaf", "mixed", "sparse"}
    for t in card["types"]:
        sub = tab[tab["forest_type"] == t["code"]]
        assert t["n_plots"] == len(sub)
        assert t["cv_metrics_with_selection"]["rmse"] == pytest.approx(
            model.metrics(sub["agc_t_ha"], sub["agc_cv_pred_t_ha"])["rmse"])
        assert t["cv_metrics"]["rmse"] == pytest.approx(
            model.metrics(sub["agc_t_ha"], sub["agc_cv_pred_chosen_t_ha"])["rmse"])
    assert set(card["learners"]) == {"svm", "xgb", "mlr"}
    assert card["uncertainty"]["level"] == 0.9
    sel = pd.read_csv(ws / "model" / "feature_selection.csv")
    assert sel["feature"].tolist() == card["features"]
    with open(ws / "model" / "residuals.png", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_saved_models_reproduce_the_fitted_values(tiny):
    ws = _ws(tiny)
    models, man = model.load_models(ws / "model" / "agc_models.skops", None)
    tab = pd.read_csv(ws / "model" / "training_table.csv")
    X = tab[man["feature_names"]].to_numpy(float)
    pred = np.array([models[k].predict(X[i:i + 1])[0] for i, k in enumerate(tab["model"])])
    np.testing.assert_allclose(np.clip(pred, 0, None), tab["agc_fit_t_ha"], rtol=1e-12, atol=1e-12)


def test_map_pixels_recomputed_from_models_stack_and_forest_type(tiny):
    from minecarbon.pipeline.stages._common import read_forest_type

    ws = _ws(tiny)
    models, man = model.load_models(ws / "model" / "agc_models.skops", None)
    info = man["info"]
    years = tiny.project.years
    y = YEARS[1]
    agc = open_raster(ws / "map" / f"agc_{y}.tif", chunks=None).isel(band=0)
    l1 = open_raster(ws / "units" / "units_level1.tif", chunks=None, masked=False).isel(band=0).values
    feats = {yr: open_raster(ws / "features" / f"features_{yr}.tif", chunks=None).sel(band=man["feature_names"]).values
             for yr in years}
    fts = {yr: read_forest_type(tiny, yr, agc) for yr in years}
    inside = (l1 > 0) & (l1 != 255) & np.isfinite(feats[y]).all(axis=0)
    assert np.array_equal(np.isfinite(agc.values), inside)  # nodata outside the forest units only
    a, b = info["calibration"]["a"], info["calibration"]["b"]
    fac = {int(k): v for k, v in info["year_factors"].items()}
    assert info["calibration"]["applied"] and len(fac) == 2  # the two survey years of this scene

    def factor(yr):  # linear between survey years, held beyond them
        ks = sorted(fac)
        return float(np.interp(yr, ks, [fac[k] for k in ks]))

    def median5(x, i):  # window of 5 centred on i, series extended by odd reflection about its ends
        n = len(x)
        ext = [2 * x[0] - x[k] for k in (2, 1)] + list(x) + [2 * x[-1] - x[n - 1 - k] for k in (1, 2)]
        return float(np.median(ext[i:i + 5]))

    rows, cols = np.nonzero(inside)
    for r, c in list(zip(rows, cols))[:: max(1, len(rows) // 40)]:
        series = []
        for yr in years:
            key = info["type_models"].get(str(int(fts[yr][r, c])), model.POOLED)
            raw = max(float(models[key].predict(feats[yr][:, r, c][None, :])[0]), 0.0)
            series.append(float(np.float32(max((raw - a) / b, 0.0) * factor(yr))))
        exp = max(median5(series, years.index(y)), 0.0)
        assert float(agc.values[r, c]) == pytest.approx(exp, rel=1e-6, abs=1e-5)
    unc = open_raster(ws / "map" / f"agc_uncertainty_{y}.tif", chunks=None)
    assert [str(b) for b in unc["band"].values] == ["agc_sd_t_ha", "agc_lo_t_ha", "agc_hi_t_ha"]
    im = model.ResidualIntervalModel.from_dict(info["interval"])
    _, lo, hi = im.predict(agc.values.astype(float))
    np.testing.assert_allclose(unc.values[1], lo, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(unc.values[2], hi, rtol=1e-6, atol=1e-5)
    ok = np.isfinite(agc.values)
    assert (unc.values[1][ok] <= agc.values[ok] + 1e-4).all() and (unc.values[2][ok] >= agc.values[ok] - 1e-4).all()
    with rasterio.open(ws / "map" / f"agc_uncertainty_{y}.tif") as src:
        assert src.tags().get("units") == "t C/ha" and src.profile.get("tiled")


def test_unit_totals_by_hand(tiny):
    ws = _ws(tiny)
    tot = pd.read_csv(ws / "map" / "agc_unit_totals.csv")
    l1 = open_raster(ws / "units" / "units_level1.tif", chunks=None, masked=False).isel(band=0).values
    for y in YEARS:
        agc = open_raster(ws / "map" / f"agc_{y}.tif", chunks=None).isel(band=0).values
        unc = open_raster(ws / "map" / f"agc_uncertainty_{y}.tif", chunks=None).values
        sub = tot[(tot["year"] == y) & (tot["level"] == "level1")].set_index("unit")
        for u in sub.index:
            sel = (l1 == u) & np.isfinite(agc)
            assert sub.loc[u, "n_px"] == sel.sum()
            assert sub.loc[u, "agc_t"] == pytest.approx(agc[sel].astype(float).sum() * 0.09, rel=1e-9)
            assert sub.loc[u, "agc_lo_t"] == pytest.approx(unc[1][sel].astype(float).sum() * 0.09, rel=1e-9)
            assert sub.loc[u, "agc_lo_t"] <= sub.loc[u, "agc_t"] <= sub.loc[u, "agc_hi_t"]
        l2 = tot[(tot["year"] == y) & (tot["level"] == "level2")]
        l1_sum = sub["agc_t"].sum()
        assert l2["agc_t"].sum() == pytest.approx(l1_sum, rel=1e-9)  # level 2 splits level 1
    val = pd.read_csv(ws / "map" / "map_validation.csv")
    assert set(val["year"]) == set(range(YEARS[0], YEARS[1] + 1))
    assert {"r2", "rmse", "bias", "interval_coverage"} <= set(val.columns)


def test_rerun_of_the_model_stage_is_byte_identical(tiny):
    ws = _ws(tiny)
    files = ["training_table.csv", "model_card.json", "agc_models.skops", "model_comparison.csv", "residuals.png"]
    before = {f: hashlib.sha256((ws / "model" / f).read_bytes()).hexdigest() for f in files}
    run_stage(tiny, STAGES_BY_NAME["model"], lambda m: None, {})
    after = {f: hashlib.sha256((ws / "model" / f).read_bytes()).hexdigest() for f in files}
    assert before == after


def test_map_refuses_a_stack_without_the_models_features(tiny, monkeypatch):
    import minecarbon.pipeline.stages.map as map_stage

    real = map_stage.open_raster

    def drop_band(path, *a, **k):
        da = real(path, *a, **k)
        return da.isel(band=slice(0, -1)) if "features_" in str(path) else da

    monkeypatch.setattr(map_stage, "open_raster", drop_band)
    with pytest.raises(InputError, match="does not match the model's features: missing"):
        run_stage(tiny, STAGES_BY_NAME["map"], lambda m: None, {})


def test_model_stage_with_too_few_plots_is_a_clear_error(tiny, monkeypatch):
    import minecarbon.pipeline.stages.model as model_stage

    real = model_stage.read_table
    monkeypatch.setattr(model_stage, "read_table", lambda *a, **k: real(*a, **k).head(7))
    with pytest.raises(InputError, match="Only 7 usable plots"):
        run_stage(tiny, STAGES_BY_NAME["model"], lambda m: None, {})

"""`minecarbon tool fit`: JSON numbers equal the library's, plain k-fold without coordinates, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from minecarbon.cli.main import main
from minecarbon.model import FitOptions, make_model, metrics, nested_cv


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(4)
    n = 60
    df = pd.DataFrame({"x": 380_000 + rng.uniform(0, 6000, n), "y": 4_100_000 + rng.uniform(0, 6000, n),
                       "NDVI": rng.uniform(0.1, 0.9, n), "nir": rng.uniform(0.1, 0.5, n),
                       "slope": rng.uniform(0, 30, n)})
    df["agc_t_ha"] = 80 * df["NDVI"] + 20 * df["nir"] + rng.normal(0, 4, n)
    p = tmp_path_factory.mktemp("fit") / "plots.csv"
    df.to_csv(p, index=False)
    return p, df


def _run(args):
    return CliRunner().invoke(main, ["tool", "fit", *map(str, args)])


def test_fit_json_matches_the_library(table):
    p, df = table
    res = _run([p, "--target", "agc_t_ha", "--features", "NDVI,nir,slope", "--learners", "mlr,svm", "--cv", "4",
                "--no-grid", "--selection", "none", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n"] == 60 and "spatial blocks" in out["cv"]["scheme"]
    assert set(out["learners"]) == {"mlr", "svm"}
    for k in ("r2", "rmse", "mae", "bias", "rrmse_pct", "mre_pct"):
        assert k in out["learners"]["mlr"]["cv"]
    from minecarbon.model import spatial_groups

    g = spatial_groups(df["x"], df["y"], 1000.0, 100.0)
    cv = nested_cv(make_model("mlr"), None, df[["NDVI", "nir", "slope"]].to_numpy(), df["agc_t_ha"].to_numpy(), g,
                   folds=4, seed=0, clip_min=0.0)
    assert out["learners"]["mlr"]["cv"]["rmse"] == pytest.approx(cv.metrics["rmse"], rel=1e-12)
    assert out["best"] in ("mlr", "svm")


def test_plain_kfold_without_coordinates_and_text_output(table, tmp_path):
    _p, df = table
    q = tmp_path / "nocoords.csv"
    df.drop(columns=["x", "y"]).to_csv(q, index=False)
    res = _run([q, "--target", "agc_t_ha", "--features", "NDVI,nir", "--learners", "mlr", "--cv", "5", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["cv"]["scheme"].startswith("random")
    res = _run([q, "--target", "agc_t_ha", "--features", "NDVI,nir", "--learners", "mlr,rf", "--cv", "3",
                "--trees", "20", "--save", tmp_path / "m.skops"])
    assert res.exit_code == 0, res.output
    assert "CV R2" in res.output and "best (lowest CV RMSE)" in res.output
    assert (tmp_path / "m.skops").is_file() and (tmp_path / "m.json").is_file()


@pytest.mark.parametrize("args, msg", [
    (["--features", "NDVI,EVI"], "no column(s) EVI"),
    (["--features", "NDVI", "--learners", "mlr,knn"], "unknown knn"),
    (["--features", "NDVI", "--by", "stratum"], "no column stratum"),
])
def test_bad_arguments_are_one_clear_message(table, args, msg):
    p, _ = table
    res = _run([p, "--target", "agc_t_ha", *args])
    assert res.exit_code == 2, res.output
    assert msg in res.output and "Traceback" not in res.output


def test_constant_target_and_too_few_rows(table, tmp_path):
    _p, df = table
    q = tmp_path / "const.csv"
    df.assign(agc_t_ha=5.0).to_csv(q, index=False)
    res = _run([q, "--target", "agc_t_ha", "--features", "NDVI", "--learners", "mlr"])
    assert res.exit_code == 2 and "same on every plot" in res.output
    r = tmp_path / "few.csv"
    df.head(6).to_csv(r, index=False)
    res = _run([r, "--target", "agc_t_ha", "--features", "NDVI", "--learners", "mlr"])
    assert res.exit_code == 2 and "Only 6 usable plots" in res.output


@pytest.mark.realdata
def test_mlr_matches_r_lm_and_loocv_on_real_plots(realdata_dir):
    """lidaRtRee's 96 Quatre Montagnes plots: R stats::lm reference (SOURCE.txt of the folder)."""
    csv = realdata_dir / "lidaRtRee_chablais3" / "quatre_montagnes.csv"
    df = pd.read_csv(csv)
    X, y = df[["zmax", "zq95"]].to_numpy(float), df["G_m2_ha"].to_numpy(float)
    m = make_model("mlr").fit(X, y)
    lr = m.named_steps["learner"]
    sc = m.named_steps["scale"]
    coef = lr.coef_ / sc.scale_
    intercept = lr.intercept_ - np.sum(coef * sc.mean_)
    assert intercept == pytest.approx(27.882204963862, abs=1e-9)
    assert coef == pytest.approx([-0.315815706317, 0.926726412618], abs=1e-9)
    fit = metrics(y, m.predict(X))
    assert fit["r2"] == pytest.approx(0.0679716901729, abs=1e-10)
    assert fit["rmse"] == pytest.approx(14.0270202956, abs=1e-8)
    loo = nested_cv(make_model("mlr"), None, X, y, None, folds=len(y), seed=0)
    assert loo.metrics["rmse"] == pytest.approx(18.563821493, abs=1e-7)
    res = _run([csv, "--target", "G_m2_ha", "--features", "Tree_meanH,Tree_density,zpcum7", "--learners", "mlr",
                "--cv", "96", "--no-grid", "--selection", "none", "--cv-scheme", "random", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["learners"]["mlr"]["training"]["r2"] == pytest.approx(0.635057185347, abs=1e-10)
    assert FitOptions().folds == 5

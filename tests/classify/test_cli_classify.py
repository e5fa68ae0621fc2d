"""`minecarbon tool classify | accuracy | unmix | phenology`: numbers equal the library's / the paper's; clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from minecarbon.classify.classifier import cross_validate
from minecarbon.classify.unmix import fcls
from minecarbon.cli.main import main
from minecarbon.model.cv import spatial_groups

from .test_accuracy import AREA_CI_HA, AREA_HA, CLASSES, COUNTS, PIXELS


def _run(*args):
    return CliRunner().invoke(main, ["tool", *map(str, args)])


def test_accuracy_tool_reproduces_olofsson(tmp_path):
    cm = pd.DataFrame(COUNTS, columns=CLASSES)
    cm.insert(0, "map", CLASSES)
    cm["mapped_area"] = PIXELS
    p = tmp_path / "cm.csv"
    cm.to_csv(p, index=False)
    res = _run("accuracy", p, "--unit-factor", 0.09, "--json", "--out", tmp_path / "acc.csv")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [round(out["classes"][c]["area"]) for c in CLASSES] == AREA_HA
    assert [round(out["classes"][c]["area_ci"]) for c in CLASSES] == AREA_CI_HA
    assert out["oa"] == pytest.approx(0.95, abs=0.005) and out["oa_ci"] == pytest.approx(0.02, abs=0.005)
    assert pd.read_csv(tmp_path / "acc.csv").shape[0] == 4
    # the same with a separate areas table, in another row order
    cm.drop(columns="mapped_area").to_csv(p, index=False)
    pd.DataFrame({"class": CLASSES[::-1], "area": PIXELS[::-1] * 0.09}).to_csv(tmp_path / "a.csv", index=False)
    res2 = _run("accuracy", p, "--areas", tmp_path / "a.csv", "--json")
    assert [round(json.loads(res2.output)["classes"][c]["area"]) for c in CLASSES] == AREA_HA


def test_accuracy_tool_bad_matrix(tmp_path):
    p = tmp_path / "cm.csv"
    pd.DataFrame({"map": ["a", "b"], "a": [5, 1], "c": [1, 5], "mapped_area": [1, 2]}).to_csv(p, index=False)
    res = _run("accuracy", p)
    assert res.exit_code == 2 and "same set" in res.output and "Traceback" not in res.output


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    rng = np.random.default_rng(7)
    n = 240
    df = pd.DataFrame({"x": rng.uniform(0, 8000, n), "y": rng.uniform(0, 8000, n)})
    cls = np.floor(df.x / 4000).astype(int) * 2 + np.floor(df.y / 4000).astype(int)
    df["species"] = np.array(["pine", "oak", "poplar", "locust"])[cls]
    df["amp"] = cls * 0.1 + rng.normal(0, 0.08, n)
    df["peak"] = 180 + cls * 5 + rng.normal(0, 6, n)
    p = tmp_path_factory.mktemp("cls") / "samples.csv"
    df.to_csv(p, index=False)
    return p, df


def test_classify_tool_equals_library(samples):
    p, df = samples
    res = _run("classify", p, "--label", "species", "--features", "amp,peak", "--cv", 4, "--trees", 30,
               "--block-m", 2000, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["headline"] == "spatial" and set(out["cv"]) == {"spatial", "random"}
    X = df[["amp", "peak"]].to_numpy()
    y = df["species"].to_numpy()
    cls = sorted(set(y))
    lib = cross_validate(X, y, spatial_groups(df.x.to_numpy(), df.y.to_numpy(), 2000.0), 4, 0, 30, classes=cls)
    assert out["cv"]["spatial"]["oa"] == pytest.approx(lib.metrics["oa"])
    assert out["cv"]["spatial"]["confusion"]["rows_map_cols_reference"] == lib.confusion.to_numpy().tolist()
    assert out["cv"]["random"]["oa"] == pytest.approx(cross_validate(X, y, None, 4, 0, 30, classes=cls).metrics["oa"])
    txt = _run("classify", p, "--label", "species", "--features", "amp,peak", "--cv", 4, "--trees", 30,
               "--cv-scheme", "random")
    assert txt.exit_code == 0 and "random 4-fold CV (headline)" in txt.output


def test_classify_tool_bad_labels(samples, tmp_path):
    p, df = samples
    res = _run("classify", p, "--label", "species", "--features", "amp", "--classes", "pine,oak,poplar")
    assert res.exit_code == 2 and "locust" in res.output and "code list" in res.output
    few = df.copy()
    few.loc[few.index[:3], "species"] = "rare"
    few = few[(few.species != "rare") | (few.index < 3)]
    q = tmp_path / "few.csv"
    few.to_csv(q, index=False)
    res = _run("classify", q, "--label", "species", "--features", "amp")
    assert res.exit_code == 2 and "rare (3)" in res.output and "Traceback" not in res.output
    res = _run("classify", p, "--label", "species", "--features", "amp,nope")
    assert res.exit_code == 2 and "nope" in res.output


def test_unmix_tool(tmp_path):
    rng = np.random.default_rng(0)
    E = rng.uniform(0.02, 0.5, (4, 3))
    a = rng.dirichlet(np.ones(3), 20 * 15)
    img = (a @ E.T).T.reshape(4, 20, 15).astype(np.float32)
    src = tmp_path / "img.tif"
    with rasterio.open(src, "w", driver="GTiff", width=15, height=20, count=4, dtype="float32", crs="EPSG:32650",
                       transform=from_origin(500000, 4000000, 10, 10)) as dst:
        dst.write(img)
        dst.descriptions = ("blue", "red", "nir", "swir1")
    em = pd.DataFrame(E.T, columns=["blue", "red", "nir", "swir1"])
    em.insert(0, "endmember", ["gv", "soil", "shade"])
    em.to_csv(tmp_path / "em.csv", index=False)
    res = _run("unmix", src, tmp_path / "frac.tif", "--endmembers", tmp_path / "em.csv", "--chunk-px", 64)
    assert res.exit_code == 0, res.output
    with rasterio.open(tmp_path / "frac.tif") as f:
        assert f.descriptions == ("gv", "soil", "shade", "rmse") and f.crs.to_epsg() == 32650
        got = f.read()
    ref, _ = fcls(img.reshape(4, -1).T.astype(float), E)
    np.testing.assert_allclose(got[:3].reshape(3, -1).T, ref, atol=1e-6)
    np.testing.assert_allclose(got[:3].reshape(3, -1).T, a, atol=1e-5)


def test_phenology_tool_ignores_cloudy_values(tmp_path):
    t = pd.date_range("2020-01-08", periods=23, freq="16D")
    doy = t.day_of_year.to_numpy(float)
    v = 0.2 + 0.6 / (1 + np.exp(-0.1 * (doy - 120))) - 0.6 / (1 + np.exp(-0.1 * (doy - 280)))
    clear = np.ones(23, bool)
    clear[[2, 9, 15]] = False
    cloudy = v.copy()
    cloudy[~clear] = -0.5  # cloud values far off the curve
    df = pd.DataFrame({"date": t, "ndvi": cloudy, "ok": clear.astype(int), "site": "a"})
    p = tmp_path / "s.csv"
    df.to_csv(p, index=False)
    res = _run("phenology", p, tmp_path / "f.csv", "--value", "ndvi", "--id", "site", "--clear", "ok", "--json")
    assert res.exit_code == 0, res.output
    f = pd.read_csv(tmp_path / "f.csv").iloc[0]
    assert f.n_clear == 20 and not f.flagged
    assert f.vmin > 0.19  # the -0.5 cloud values never entered
    assert 110 < f.sos_doy < 130 and 270 < f.eos_doy < 290


def test_accuracy_tool_from_map_and_points(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    from minecarbon.classify.accuracy import area_estimates

    cmap = np.zeros((40, 50), dtype=np.uint8)
    cmap[:, 20:] = 1
    cmap[30:, :] = 2
    cmap[0, 0] = 255  # nodata
    src = tmp_path / "map.tif"
    with rasterio.open(src, "w", driver="GTiff", width=50, height=40, count=1, dtype="uint8", crs="EPSG:32650",
                       transform=from_origin(500000, 4000000, 30, 30), nodata=255) as dst:
        dst.write(cmap, 1)
    rng = np.random.default_rng(3)
    rows, cols = rng.integers(1, 40, 90), rng.integers(1, 50, 90)
    mapped = cmap[rows, cols]
    ref = np.where(rng.random(90) < 0.8, mapped, rng.integers(0, 3, 90))
    pts = gpd.GeoDataFrame({"cls": ref.astype(int)},
                           geometry=[Point(500000 + 30 * c + 15, 4000000 - 30 * r - 15) for r, c in zip(rows, cols)],
                           crs="EPSG:32650")
    pts.to_file(tmp_path / "pts.gpkg")
    res = _run("accuracy", "--map", src, "--points", tmp_path / "pts.gpkg", "--ref-col", "cls", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    cm = np.zeros((3, 3), int)
    np.add.at(cm, (mapped, ref), 1)
    assert out["confusion"]["rows_map_cols_reference"] == cm.tolist()
    px = np.array([(cmap == k).sum() for k in range(3)]) * 0.09  # ha per 30 m pixel
    exp = area_estimates(cm, px)
    assert [out["classes"][str(k)]["area"] for k in range(3)] == pytest.approx(exp.table["area"].tolist())
    assert out["oa"] == pytest.approx(exp.oa)
    # a point outside the map is an error that says so
    pts2 = pd.concat([pts, gpd.GeoDataFrame({"cls": [1]}, geometry=[Point(400000, 3000000)], crs="EPSG:32650")])
    pts2.to_file(tmp_path / "pts2.gpkg")
    res = _run("accuracy", "--map", src, "--points", tmp_path / "pts2.gpkg", "--ref-col", "cls")
    assert res.exit_code == 2 and "outside" in res.output and "row 91" in res.output


def test_phenology_tool_text_flags_and_bad_flag(tmp_path):
    t = pd.date_range("2020-01-08", periods=10, freq="30D")
    df = pd.DataFrame({"date": t, "ndvi": np.linspace(0.2, 0.8, 10), "ok": ["true"] * 9 + ["false"]})
    df.loc[9, "ndvi"] = -1.0
    df.to_csv(tmp_path / "s.csv", index=False)
    res = _run("phenology", tmp_path / "s.csv", tmp_path / "f.csv", "--value", "ndvi", "--clear", "ok")
    assert res.exit_code == 0, res.output
    f = pd.read_csv(tmp_path / "f.csv").iloc[0]
    assert f.n_clear == 9 and f.vmin == pytest.approx(0.2, abs=1e-6)  # the 'false' row's -1 never entered
    df["ok"] = ["yes"] * 10
    df.to_csv(tmp_path / "s.csv", index=False)
    res = _run("phenology", tmp_path / "s.csv", tmp_path / "f.csv", "--value", "ndvi", "--clear", "ok")
    assert res.exit_code == 2 and "row 2" in res.output and "true/false" in res.output

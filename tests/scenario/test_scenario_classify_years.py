"""``simulate(..., classify_years=...)``: the classify stage's inputs of some years only, equal to a full simulation's.

The reference is the simulation of every year's series (``classify=True``) with the same seed: the monthly
composites of the chosen years must be the same files byte for byte, the labelled points of the chosen sample
years the same points, every other input the same bytes; the project file names the years in ``[classify].years``.
"""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from minecarbon.config import load_config
from minecarbon.scenario import simulate

START, END = 2012, 2016
CHOSEN = [2013, 2016]  # 2016: a sample year (the end year); 2013: not one


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(root):
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    full = tmp_path_factory.mktemp("full")
    part = tmp_path_factory.mktemp("part")
    kw = dict(size="tiny", seed=2, start_year=START, end_year=END, als_pulses_per_m2=0, classify=True)
    simulate(full, **kw)
    toml = simulate(part, classify_years=CHOSEN, **kw)
    return full, part, toml


def test_series_of_chosen_years_equal_the_full_simulation(pair):
    full, part, _ = pair
    got = _files(part / "inputs" / "series")
    assert sorted(got) == [f"LC08_SR_{y}-{m:02d}.tif" for y in CHOSEN for m in range(1, 13)]
    ref = _files(full / "inputs" / "series")
    assert len(ref) == 12 * (END - START + 1)
    for name, path in got.items():
        assert _digest(path) == _digest(ref[name]), name


def test_other_inputs_and_truth_unchanged(pair):
    full, part, _ = pair
    skip = {"reference_samples.gpkg", "validation_points.gpkg"}  # points of the chosen years: tests below
    for sub in ("inputs", "truth"):
        a = {k: v for k, v in _files(full / sub).items() if not k.startswith("series/") and k not in skip}
        b = {k: v for k, v in _files(part / sub).items() if not k.startswith("series/") and k not in skip}
        assert sorted(a) == sorted(b)
        for k in a:
            if k == "scenario.json":  # differs only in the count of labelled points
                continue
            if k.endswith(".gpkg"):  # a GeoPackage holds its time of writing: compare the features
                fa, fb = gpd.read_file(a[k]), gpd.read_file(b[k])
                pd.testing.assert_frame_equal(pd.DataFrame(fa.drop(columns="geometry")),
                                              pd.DataFrame(fb.drop(columns="geometry")))
                assert fa.geometry.geom_equals_exact(fb.geometry, 0.0).all(), k
                continue
            assert _digest(a[k]) == _digest(b[k]), k


def test_labelled_points_of_chosen_years(pair):
    full, part, _ = pair
    ref = gpd.read_file(full / "inputs" / "reference_samples.gpkg")
    got = gpd.read_file(part / "inputs" / "reference_samples.gpkg")
    assert set(ref["year"]) == {2012, 2014, 2016}  # base, mid survey and end year of the full simulation
    assert sorted(set(got["year"])) == CHOSEN
    # the sample year's points are the full simulation's points of that year
    a = ref[ref["year"] == 2016].reset_index(drop=True)
    b = got[got["year"] == 2016].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry")))
    assert a.geometry.geom_equals(b.geometry).all()
    # the other year's points: as many, labelled from that year's truth (the full run's truth map, same bytes)
    extra = got[got["year"] == 2013]
    assert len(extra) == len(b)
    import rasterio

    with rasterio.open(part / "truth" / "forest_type_2013.tif") as src:
        ft = src.read(1)
        rows, cols = rasterio.transform.rowcol(src.transform, extra.geometry.x, extra.geometry.y)
    nonforest = (extra["label"] == "nonforest").to_numpy()
    assert 0 < nonforest.sum() < len(extra)
    assert (ft[rows, cols][~nonforest] > 0).all()  # a species label only on the truth's forest


def test_validation_points_independent_and_equal_to_the_full_simulation(pair):
    """The validation sample: 600 truth-labelled points per sample year, on no pixel of that year's labelled points
    nor of a plot; the chosen sample year's points are the full simulation's."""
    import rasterio

    full, part, toml = pair
    ref = gpd.read_file(full / "inputs" / "validation_points.gpkg")
    got = gpd.read_file(part / "inputs" / "validation_points.gpkg")
    assert ref["year"].value_counts().to_dict() == {2012: 600, 2014: 600, 2016: 600}
    assert set(got["year"]) == {2016}  # the chosen years that are sample years
    a = ref[ref["year"] == 2016].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(got.drop(columns="geometry")))
    assert a.geometry.geom_equals(got.geometry).all()
    assert load_config(toml).classify.validation == "inputs/validation_points.gpkg"
    train = gpd.read_file(full / "inputs" / "reference_samples.gpkg")
    plots = pd.read_csv(full / "inputs" / "field" / "plots.csv")
    with rasterio.open(full / "inputs" / "dem.tif") as src:
        T = src.transform

    def px(x, y):
        return set(zip(*rasterio.transform.rowcol(T, np.asarray(x), np.asarray(y))))

    plot_px = px(plots["x"], plots["y"])
    for year, g in ref.groupby("year"):
        mine = px(g.geometry.x, g.geometry.y)
        assert len(mine) == len(g)  # no pixel twice
        t = train[train["year"] == year]
        assert not mine & px(t.geometry.x, t.geometry.y) and not mine & plot_px
        with rasterio.open(full / "truth" / f"forest_type_{year}.tif") as src:
            ft = src.read(1)
            rows, cols = rasterio.transform.rowcol(src.transform, g.geometry.x, g.geometry.y)
        nonforest = (g["label"] == "nonforest").to_numpy()
        assert 0 < nonforest.sum() < len(g)
        assert (ft[rows, cols][~nonforest] > 0).all() and (ft[rows, cols][nonforest] == 0).all()


def test_project_file_names_the_years(pair):
    _, _, toml = pair
    cfg = load_config(toml)
    assert cfg.classify.years == CHOSEN
    assert cfg.classify.run == "always" and cfg.inputs.forest_type


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="must be years of"):
        simulate(tmp_path / "a", size="tiny", start_year=START, end_year=END, als_pulses_per_m2=0, classify=True,
                 classify_years=[2030])
    with pytest.raises(ValueError, match="forest_type_inputs"):
        simulate(tmp_path / "b", size="tiny", start_year=START, end_year=END, als_pulses_per_m2=0, classify=True,
                 classify_years=[2016], forest_type_inputs=False)


def test_cli_rejects_years_outside_the_period(tmp_path):
    from minecarbon.cli.main import main

    res = CliRunner().invoke(main, ["simulate", str(tmp_path / "c"), "--size", "tiny", "--start-year", "2012",
                                    "--end-year", "2016", "--classify-years", "2020"])
    assert res.exit_code != 0 and "--classify-years" in res.output and "2020" in res.output
    assert "Traceback" not in res.output

"""The tiny scenario writes every documented file, valid and deterministic."""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

from minecarbon.config import load_config

YEARS = list(range(2005, 2025))
BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")


def _read(path, band=None):
    with rasterio.open(path) as src:
        return src.read() if band is None else src.read(band)


def test_every_documented_file_exists(tiny):
    inp, tru = tiny.out / "inputs", tiny.out / "truth"
    expected = [tiny.out / "minecarbon.toml", inp / "dem.tif", inp / "boundary.gpkg", inp / "planned_mining.gpkg",
                inp / "disturbance.gpkg", inp / "reclamation.gpkg", inp / "dominant_species.tif",
                inp / "species_codes.csv", inp / "field" / "plots.csv", inp / "field" / "trees.csv",
                inp / "field" / "tally.csv", inp / "forest_type" / "forest_type_2005.tif",
                inp / "forest_type" / "forest_type_2024.tif", tru / "units_level1.tif", tru / "units_level2.tif",
                tru / "plots_truth.csv", tru / "scenario.json", tru / "canopy_height_2024.tif", tru / "als_points.json"]
    expected += [inp / "als" / f"als_{e}_{n}.laz" for e in (380, 381) for n in (4098, 4099)]
    for y in YEARS:
        expected += [inp / "images" / f"LC08_SR_{y}.tif", inp / "climate" / f"tmean_{y}.tif",
                     inp / "climate" / f"prcp_{y}.tif", tru / f"agc_{y}.tif", tru / f"agc_nomining_{y}.tif",
                     tru / f"forest_type_{y}.tif"]
    expected += [inp / "images_monthly" / f"LC08_SR_2024-{m:02d}.tif" for m in range(1, 13)]
    missing = [str(p) for p in expected if not p.is_file()]
    assert not missing
    assert not list(tiny.out.rglob("*.part*")), "temporary files left behind"


@pytest.mark.parametrize("rel, dtype, nodata, bands", [
    ("inputs/dem.tif", "float32", -9999.0, ("elevation",)),
    ("inputs/dominant_species.tif", "uint8", 255, ("dominant_species",)),
    ("inputs/forest_type/forest_type_2005.tif", "uint8", 255, ("forest_type",)),
    ("inputs/images/LC08_SR_2010.tif", "uint16", 0, BANDS),
    ("inputs/images_monthly/LC08_SR_2024-01.tif", "uint16", 0, BANDS),
    ("inputs/climate/tmean_2010.tif", "float32", -9999.0, ("tmean",)),
    ("inputs/climate/prcp_2010.tif", "float32", -9999.0, ("prcp",)),
    ("truth/agc_2024.tif", "float32", -9999.0, ("agc",)),
    ("truth/agc_nomining_2024.tif", "float32", -9999.0, ("agc_nomining",)),
    ("truth/forest_type_2015.tif", "uint8", 255, ("forest_type",)),
    ("truth/units_level1.tif", "uint8", 255, ("units_level1",)),
    ("truth/units_level2.tif", "uint8", 255, ("units_level2",)),
    ("truth/canopy_height_2024.tif", "float32", -9999.0, ("canopy_height",)),
])
def test_rasters_are_valid_geotiffs(tiny, rel, dtype, nodata, bands):
    with rasterio.open(tiny.out / rel) as src:
        assert src.crs.to_epsg() == 32649
        assert src.dtypes[0] == dtype
        assert src.nodata == nodata
        assert tuple(src.descriptions) == bands
        data = src.read()
    if "climate" in rel:
        assert src.res == (960.0, 960.0)
    else:
        assert src.res == (30.0, 30.0) and src.width == src.height == 64
        assert src.transform.c == 380000.0 and src.transform.f == 4100000.0
    assert np.all(data != nodata), "no pixel of the simulated scene is missing"


def test_value_ranges(tiny):
    dem = _read(tiny.out / "inputs/dem.tif", 1)
    assert 900 < dem.min() and dem.max() < 1900
    t = _read(tiny.out / "inputs/climate/tmean_2010.tif", 1)
    p = _read(tiny.out / "inputs/climate/prcp_2010.tif", 1)
    assert 5 < t.min() and t.max() < 13
    assert 250 < p.min() and p.max() < 900
    rho = _read(tiny.out / "inputs/images/LC08_SR_2024.tif") * 2.75e-5 - 0.2
    assert rho.min() > -0.01 and rho.max() < 0.6
    ft = _read(tiny.out / "inputs/forest_type/forest_type_2005.tif", 1)
    assert set(np.unique(ft)) <= {0, 1, 2, 3, 4}
    assert 0.5 < (ft > 0).mean() < 0.75
    agc = _read(tiny.out / "truth/agc_2005.tif", 1)
    assert np.all(agc[ft == 0] == 0)
    assert 10 < agc[ft > 0].mean() < 90 and agc.max() < 150
    for y in (2005, 2024):
        same = _read(tiny.out / f"truth/forest_type_{y}.tif", 1)
        assert np.array_equal(same, _read(tiny.out / f"inputs/forest_type/forest_type_{y}.tif", 1))


def test_vectors(tiny):
    inp = tiny.out / "inputs"
    boundary = gpd.read_file(inp / "boundary.gpkg")
    assert len(boundary) == 1 and "name" in boundary and boundary.crs.to_epsg() == 32649
    minx, miny, maxx, maxy = boundary.buffer(300).total_bounds
    assert 380000 < minx and maxx < 380000 + 64 * 30 and 4100000 - 64 * 30 < miny and maxy < 4100000
    dist = gpd.read_file(inp / "disturbance.gpkg")
    assert {"year", "damage_type"} <= set(dist.columns)
    assert set(dist.damage_type) == {"excavation", "subsidence", "occupation"}
    assert dist.year.min() == 2008 and dist.year.max() == 2024
    planned = gpd.read_file(inp / "planned_mining.gpkg")
    assert {"planned_year", "damage_type"} <= set(planned.columns)
    assert (planned.planned_year > 2024).any(), "future blocks beyond the end year"
    assert set(planned.damage_type[planned.planned_year > 2024]) == {"excavation", "subsidence", "occupation"}
    rec = gpd.read_file(inp / "reclamation.gpkg")
    assert {"year", "species", "damage_type"} <= set(rec.columns)
    assert set(rec.species) <= {"刺槐", "油松", "杨树"} and rec.year.min() >= 2015
    assert all(g.is_valid for g in pd.concat([dist.geometry, planned.geometry, rec.geometry]))


def test_tables(tiny):
    f = tiny.out / "inputs" / "field"
    plots = pd.read_csv(f / "plots.csv", encoding="utf-8-sig")
    assert list(plots.columns) == ["plot_id", "x", "y", "survey_year", "size_m", "forest_type", "slope_deg",
                                   "permanent_id"]
    assert plots.plot_id.is_unique and (plots.size_m == 30).all()
    # permanent plots: every plot measured in the base year, every 5 years and the end year, at the same place
    assert set(plots.survey_year) == {2005, 2010, 2015, 2020, 2024}
    visits = plots.groupby("permanent_id")
    assert (visits.survey_year.nunique() == 5).all()
    assert (visits.x.nunique() == 1).all() and (visits.y.nunique() == 1).all()
    assert (plots.plot_id == plots.permanent_id + "-" + plots.survey_year.astype(str)).all()
    # plot centres are pixel centres
    assert np.allclose((plots.x - 380000 - 15) % 30, 0) and np.allclose((4100000 - plots.y - 15) % 30, 0)
    trees = pd.read_csv(f / "trees.csv", encoding="utf-8-sig")
    assert list(trees.columns) == ["plot_id", "tree_id", "species", "dbh_cm", "height_m"]
    assert set(trees.plot_id) <= set(plots.plot_id)
    assert not trees.duplicated(["plot_id", "tree_id"]).any()
    assert (trees.height_m > 1.3).all() and trees.dbh_cm.between(1, 60).all()
    assert trees.species.str.contains("[a-zA-Z]").any() and trees.species.str.contains("[^\x00-\x7f]").any()
    tally = pd.read_csv(f / "tally.csv", encoding="utf-8-sig")
    assert list(tally.columns) == ["plot_id", "tree_id", "species", "dbh_cm", "height_m", "x_local_m", "y_local_m"]
    assert 1 <= tally.plot_id.nunique() <= 2
    truth = pd.read_csv(tiny.out / "truth" / "plots_truth.csv", encoding="utf-8-sig")
    assert {"plot_id", "survey_year", "agc_truth_t_ha", "agc_tally_t_ha"} <= set(truth.columns)
    codes = pd.read_csv(tiny.out / "inputs" / "species_codes.csv", encoding="utf-8-sig")
    assert list(codes.columns) == ["code", "name_zh", "name_latin"] and len(codes) == 7
    meta = json.loads((tiny.out / "truth" / "scenario.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 0 and meta["size"] == "tiny" and meta["mining_start_year"] == 2008
    assert meta["counts"]["plots"] == len(plots) and meta["counts"]["trees"] == len(trees)


def test_project_file_loads(tiny):
    cfg = load_config(tiny.toml)
    assert cfg.project.start_year == 2005 and cfg.project.end_year == 2024 and cfg.project.base == 2005
    assert cfg.project.mining_start_year == 2008 and cfg.project.crs == "EPSG:32649"
    assert cfg.area.buffer_m == 300
    assert cfg.plots.carbon_fractions["刺槐"].value == 0.47
    assert cfg.validation.truth_dir == "truth"
    paths = cfg.input_paths()
    assert all(p.is_file() for p in paths.values())
    assert "images.path[2024]" in paths and "inputs.forest_type[2005]" in paths
    assert "climate.temperature[2010]" in paths


def test_progress_reported_and_nothing_printed(tiny):
    assert len(tiny.messages) >= 4 and all(isinstance(m, str) and m for m in tiny.messages)
    assert tiny.stdout == ""


def _digest(path):
    if path.suffix == ".tif":
        with rasterio.open(path) as src:
            return hashlib.sha256(src.read().tobytes() + str(src.transform).encode()).hexdigest()
    if path.suffix == ".gpkg":
        gdf = gpd.read_file(path)
        return hashlib.sha256(gdf.to_wkb().to_csv().encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_deterministic_for_a_seed(tiny, tiny_again):
    files = sorted(p.relative_to(tiny.out) for p in tiny.out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tiny_again.out) for p in tiny_again.out.rglob("*") if p.is_file())
    differ = [str(f) for f in files if f.suffix != ".laz" and _digest(tiny.out / f) != _digest(tiny_again.out / f)]
    assert not differ


def test_other_seed_differs(tiny, tmp_path):
    from minecarbon.scenario import build_world
    a = build_world("tiny", 0, 2005, 2024)
    b = build_world("tiny", 1, 2005, 2024)
    assert a.field_seed != b.field_seed
    assert not np.allclose(a.climate.prcp_mm, b.climate.prcp_mm)

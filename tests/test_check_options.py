"""Tests of minecarbon.check for the later options: image bands as the features stage needs them,
[features].canopy, [assess] zones / covariates / years, [plots].plan_restoration and [model].

Each test starts from the tiny valid project of test_check.py, breaks one option at a time, and
checks that the problem names the file, where in it, and a fix; where the check predicts that a
stage would fail, the stage's own library function is run on the same input to show that it does.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box
from test_check import (
    BANDS,
    CRS,
    MINE,
    PLOTS,
    PROJECT_TOML,
    X0,
    Y1,
    YEARS,
    build_project,
    find,
    format_problems,
    image,
    one,
    write_gpkg,
    write_tif,
)

from minecarbon.check import check_project
from minecarbon.config import load_config
from minecarbon.errors import InputError


def with_toml(root: Path, *sections: str, replace: tuple[str, str] | None = None) -> Path:
    """The valid project with extra TOML appended (and one text replaced)."""
    toml = build_project(root)
    text = PROJECT_TOML if replace is None else PROJECT_TOML.replace(*replace)
    toml.write_text(text + "\n" + "".join(f"{s}\n" for s in sections), encoding="utf-8")
    return toml


def assert_clean(toml: Path) -> None:
    problems = check_project(toml)
    assert problems == [], format_problems(problems)


# ---------------------------------------------------------------------------
# 1. image bands: what [features] needs, found as the features stage finds them
# ---------------------------------------------------------------------------
LANDSAT_IDS = ("SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7")


def test_bands_found_by_sensor_band_ids_are_not_problems(tmp_path: Path) -> None:
    # descriptions are Landsat band ids, not common names; [images].sensor lets the stage find them
    toml = with_toml(tmp_path, replace=('[images]\n', '[images]\nsensor = "landsat8"\n'))
    for y in YEARS:
        write_tif(tmp_path / "inputs" / "images" / f"sr_{y}.tif", image(), nodata=0, names=LANDSAT_IDS)
    assert_clean(toml)
    # without the sensor the same images lack every band, once per year and band
    toml.write_text(PROJECT_TOML, encoding="utf-8")
    problems = check_project(toml)
    for y in YEARS:
        for common in BANDS:
            p = one(problems, file=f"inputs/images/sr_{y}.tif", where=f"band '{common}'")
            assert p.severity == "error" and "SR_B2" in p.message and "[images].sensor" in p.fix


def test_missing_band_names_the_feature_that_needs_it(tmp_path: Path) -> None:
    from minecarbon import features
    from minecarbon.io import open_raster
    from minecarbon.project.plans import stack_spec

    # no reflectance bands as features; NDVI needs red + nir, texture of NDMI needs nir + swir1
    features_toml = '[features]\nbands = []\nindices = ["NDVI"]\ntexture_bands = ["NDMI"]\n\n[area]'
    toml = with_toml(tmp_path, replace=("[area]", features_toml))
    inp = tmp_path / "inputs" / "images"
    write_tif(inp / "sr_2019.tif", image(4), nodata=0, names=("blue", "green", "red", "nir"))
    problems = check_project(toml)
    p = one(problems, file="inputs/images/sr_2019.tif", where="band 'swir1'")
    assert "texture of NDMI" in p.message and "blue, green, red, nir" in p.message and p.fix
    assert len(find(problems, where="band '")) == 1, format_problems(problems)  # swir2 is not needed
    # the features stage fails on the same image for the same band
    cfg = load_config(toml)
    need = features.required_bands(stack_spec(cfg), cfg.images.sensor)
    with pytest.raises(InputError, match="no 'swir1' band"):
        features.find_bands(open_raster(inp / "sr_2019.tif"), need, None, cfg.images.bands, why=need)
    # an index mapped beyond the band count
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        '[images]\n', '[images]\nbands = { swir1 = "5" }\n'), encoding="utf-8")
    p = one(check_project(toml), file="inputs/images/sr_2019.tif", where="band 5")
    assert "4 band(s)" in p.message and "[images].bands.swir1" in p.fix


def test_tasseled_cap_without_sensor_or_coefficients(tmp_path: Path) -> None:
    toml = with_toml(tmp_path, replace=("[area]", '[features]\ntasseled_cap = ["TCW"]\n\n[area]'))
    p = one(check_project(toml), where="[features].tasseled_cap_coefficients", text="[images].sensor")
    assert p.file == str(toml) and "baig2014" in p.fix and p.severity == "error"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'tasseled_cap = ["TCW"]', 'tasseled_cap = ["TCW"]\ntasseled_cap_coefficients = "baig2014"'),
        encoding="utf-8")
    assert_clean(toml)


def test_dem_with_several_bands_and_terrain(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    dem = np.linspace(900, 1200, 2 * 100 * 100, dtype="float32").reshape(2, 100, 100)
    write_tif(tmp_path / "inputs" / "dem.tif", dem, nodata=-9999, names=("elevation", "slope"))
    p = one(check_project(toml), file="inputs/dem.tif", text="2 bands")
    assert "single-band" in p.fix


# ---------------------------------------------------------------------------
# 2. [features].canopy
# ---------------------------------------------------------------------------
def canopy(path: Path, names: tuple[str, ...], x0: float = X0 + 500, y1: float = Y1 - 500) -> None:
    data = np.random.default_rng(2).uniform(0, 20, size=(len(names), 200, 200)).astype("float32")
    write_tif(path, data, x0=x0, y1=y1, res=10.0, nodata=-9999, names=names)


def test_canopy_rasters(tmp_path: Path) -> None:
    features_toml = '[features]\ncanopy = ["inputs/chm.tif", "inputs/cover.tif"]\n\n[area]'
    toml = with_toml(tmp_path, replace=("[area]", features_toml))
    canopy(tmp_path / "inputs" / "chm.tif", ("chm_mean_m", "chm_p95_m"))
    canopy(tmp_path / "inputs" / "cover.tif", ("cover_pct",))
    assert_clean(toml)
    # a band name used twice, a file far away, a missing file and a file that is no raster
    canopy(tmp_path / "inputs" / "cover.tif", ("cover_pct", "chm_p95_m"))
    canopy(tmp_path / "inputs" / "far.tif", ("far_m",), x0=X0 + 100_000)
    (tmp_path / "inputs" / "text.tif").write_text("not a raster", encoding="utf-8")
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        '"inputs/cover.tif"]', '"inputs/cover.tif", "inputs/far.tif", "inputs/none.tif", "inputs/text.tif"]'),
        encoding="utf-8")
    problems = check_project(toml)
    p = one(problems, file="inputs/cover.tif", where="band 2 ('chm_p95_m')")
    assert "inputs/chm.tif" in p.message and "distinct descriptions" in p.fix and p.severity == "error"
    p = one(problems, file="inputs/far.tif", text="does not overlap")
    assert "canopy raster" in p.message and p.severity == "error"
    p = one(problems, file="inputs/none.tif", text="does not exist")
    assert "[features].canopy" in p.message
    one(problems, file="inputs/text.tif", text="cannot be read as a raster")


def test_canopy_bands_without_descriptions_collide(tmp_path: Path) -> None:
    toml = with_toml(tmp_path, replace=("[area]", '[features]\ncanopy = ["inputs/a.tif", "inputs/b.tif"]\n\n[area]'))
    canopy(tmp_path / "inputs" / "a.tif", ("",))
    canopy(tmp_path / "inputs" / "b.tif", ("",))
    p = one(check_project(toml), file="inputs/b.tif", where="band 1 ('band_1')")
    assert "no description" in p.message


# ---------------------------------------------------------------------------
# 3. [assess]: zones, years, cumulative covariates
# ---------------------------------------------------------------------------
def zones_gdf(crs: str | None = CRS) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = MINE
    return gpd.GeoDataFrame({"zone": ["west", "east"]},
                            geometry=[box(x0, y0, (x0 + x1) / 2, y1), box((x0 + x1) / 2, y0, x1, y1)], crs=crs)


def test_zones_layer(tmp_path: Path) -> None:
    toml = with_toml(tmp_path, '[assess]\nzones = "inputs/zones.gpkg"\nzones_field = "zone"')
    write_gpkg(tmp_path / "inputs" / "zones.gpkg", zones_gdf())
    assert_clean(toml)
    # the field is not an attribute (but a near spelling is)
    toml.write_text(toml.read_text(encoding="utf-8").replace('zones_field = "zone"', 'zones_field = "Zone"'),
                    encoding="utf-8")
    p = one(check_project(toml), file="inputs/zones.gpkg", where="attribute Zone")
    assert "[assess].zones_field" in p.message and "'zone'" in p.fix
    # metres labelled as degrees: a wrong CRS, not a convertible one
    write_gpkg(tmp_path / "inputs" / "zones.gpkg", zones_gdf().set_crs("EPSG:4326", allow_override=True))
    p = one(check_project(toml), file="inputs/zones.gpkg", text="not longitudes and latitudes")
    assert p.where == "(file)" and p.severity == "error"
    # points, and a missing file
    write_gpkg(tmp_path / "inputs" / "zones.gpkg", gpd.GeoDataFrame(
        {"Zone": ["a"]}, geometry=[Point(500500, 4000500)], crs=CRS))
    one(check_project(toml), file="inputs/zones.gpkg", where="fid 1", text="must hold polygons")
    (tmp_path / "inputs" / "zones.gpkg").unlink()
    one(check_project(toml), file="inputs/zones.gpkg", text="[assess].zones does not exist")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_zones_without_crs_and_field_without_zones(tmp_path: Path) -> None:
    toml = with_toml(tmp_path, '[assess]\nzones = "inputs/zones.gpkg"')
    write_gpkg(tmp_path / "inputs" / "zones.gpkg", zones_gdf(crs=None))
    one(check_project(toml), file="inputs/zones.gpkg", text="has no CRS")
    toml.write_text(PROJECT_TOML + '\n[assess]\nzones_field = "zone"\n', encoding="utf-8")
    one(check_project(toml), where="[assess].zones_field", severity="warning")


def test_assess_years(tmp_path: Path) -> None:
    toml = with_toml(tmp_path, "[assess]\nreference_year = 2010\ncumulative_start_year = 2015\n"
                     "cumulative_end_year = 2019")
    problems = check_project(toml)
    one(problems, where="[assess].reference_year", text="outside the monitoring period 2018-2020")
    p = one(problems, where="[assess].cumulative_start_year", text="2015 is outside")
    assert "2018-2020" in p.fix
    # an empty period: the start defaults to the reference year 2020, the end is 2019
    toml.write_text(PROJECT_TOML.replace("end_year = 2020", "end_year = 2020\nbase_year = 2020")
                    + "\n[assess]\nreference_year = 2018\ncompare_year = 2020\ncumulative_start_year = 2020\n",
                    encoding="utf-8")
    one(check_project(toml), where="[assess].cumulative_start_year", text="period 2020-2020 is empty")


def covariate(root: Path, year: int) -> None:
    write_tif(root / "inputs" / "climate" / f"pet_{year}.tif", np.full((4, 4), 700.0, "float32"), res=960.0,
              x0=X0 - 500, y1=Y1 + 500, nodata=-9999, names=("pet",))


def test_cumulative_covariates(tmp_path: Path) -> None:
    # mining starts 2020: pre-mining fit years 2018, 2019; cumulative period 2018-2020 -> 2018, 2019, 2020
    toml = with_toml(tmp_path, '[assess.cumulative_covariates]\npet_mm = "inputs/climate/pet_{year}.tif"',
                     replace=("end_year = 2020", "end_year = 2020\nmining_start_year = 2020"))
    for y in YEARS:
        covariate(tmp_path, y)
    assert_clean(toml)
    (tmp_path / "inputs" / "climate" / "pet_2020.tif").unlink()
    p = one(check_project(toml), file="inputs/climate/pet_{year}.tif", text="no file for year(s) 2020")
    assert "[assess].cumulative_covariates.pet_mm" in p.message and "2018-2020" in p.message
    assert p.severity == "error" and "pet_{year}.tif" in p.fix
    # a covariate far away, and one named like a climate regressor
    write_tif(tmp_path / "inputs" / "climate" / "pet_2020.tif", np.full((4, 4), 700.0, "float32"), res=960.0,
              x0=X0 + 100_000, y1=Y1, nodata=-9999)
    toml.write_text(toml.read_text(encoding="utf-8") + 'temperature_c = "inputs/climate/pet_{year}.tif"\n',
                    encoding="utf-8")
    problems = check_project(toml)
    p = one(problems, file="inputs/climate/pet_2020.tif", text="does not overlap")
    assert "covariate 'pet_mm' 2020" in p.message
    one(problems, where="[assess].cumulative_covariates.temperature_c", text="silently replace")


def test_covariates_unused_without_mining_start(tmp_path: Path) -> None:
    # disturbance years 2019-2020 leave one pre-mining year: the cumulative effect is not computed
    toml = with_toml(tmp_path, '[assess.cumulative_covariates]\npet_mm = "inputs/climate/pet_{year}.tif"')
    p = one(check_project(toml), where="[assess].cumulative_covariates", severity="warning")
    assert "mining started in 2019, leaving 1 pre-mining year" in p.message
    assert not find(check_project(toml), file="pet_{year}.tif")


# ---------------------------------------------------------------------------
# 4. [plots].plan_restoration
# ---------------------------------------------------------------------------
def test_plan_restoration(tmp_path: Path) -> None:
    plots_toml = '[plots]\nplan_restoration = "inputs/restore.gpkg"\n\n[plots.carbon'
    toml = with_toml(tmp_path, replace=("[plots.carbon", plots_toml))
    path = tmp_path / "inputs" / "restore.gpkg"
    write_gpkg(path, gpd.GeoDataFrame({"plan": [2025]}, geometry=[box(500100, 4000100, 500300, 4000300)], crs=CRS))
    assert_clean(toml)
    write_gpkg(path, gpd.GeoDataFrame({"plan": [2025, 2026]},
                                      geometry=[box(500100, 4000100, 500300, 4000300), Point(500500, 4000500)],
                                      crs=CRS))
    p = one(check_project(toml), file="inputs/restore.gpkg", text="must hold polygons")
    assert p.where == "fid 2" and "Point" in p.message and "[plots].plan_restoration" in p.message
    path.write_text("garbage", encoding="utf-8")
    one(check_project(toml), file="inputs/restore.gpkg", text="cannot be opened as a vector layer")
    path.unlink()
    one(check_project(toml), file="inputs/restore.gpkg", text="[plots].plan_restoration does not exist")


# ---------------------------------------------------------------------------
# 5. [model] against the plot sheet and [forest_type_codes]
# ---------------------------------------------------------------------------
def test_too_few_plots_for_the_model(tmp_path: Path) -> None:
    from minecarbon.model.cv import check_training_data

    toml = build_project(tmp_path)
    PLOTS.head(7).to_csv(tmp_path / "inputs" / "field" / "plots.csv", index=False)
    p = one(check_project(toml), file="inputs/field/plots.csv", where="(file)", text="7 plot(s)")
    assert "at least 10" in p.message and "Survey more plots" in p.fix
    with pytest.raises(InputError, match="needs at least 10"):  # what the model stage would say
        check_training_data(np.arange(7.0), load_config(toml).model.cv_folds)


def test_spatial_cv_groups(tmp_path: Path) -> None:
    from minecarbon.model.cv import spatial_groups
    from minecarbon.model.per_type import FitOptions, fit_model_set

    toml = build_project(tmp_path)
    toml.write_text(PROJECT_TOML.replace("cv_block_m = 300", "cv_block_m = 5000"), encoding="utf-8")
    p = one(check_project(toml), where="[model].cv_block_m", text="one spatial cross-validation group")
    assert p.file == str(toml) and p.severity == "error" and "cv_scheme = 'random'" in p.fix
    # the model stage fails on these groups
    groups = spatial_groups(PLOTS["x"].to_numpy(), PLOTS["y"].to_numpy(), 5000.0, 100.0)
    X = np.random.default_rng(0).normal(size=(len(PLOTS), 2))
    with pytest.raises(InputError, match="one spatial group|at least 2 folds"):
        fit_model_set(X, X[:, 0] + 5, ["a", "b"], None, groups, FitOptions(learners=("mlr",)))
    # 500 m blocks: the 10 plots of the 1 km mine fall in the 4 quarters, fewer than 5 folds -> a warning
    toml.write_text(PROJECT_TOML.replace("cv_block_m = 300", "cv_block_m = 500"), encoding="utf-8")
    k = np.unique(spatial_groups(PLOTS["x"].to_numpy(), PLOTS["y"].to_numpy(), 500.0, 100.0)).size
    assert k == 4
    p = one(check_project(toml), where="[model].cv_folds", severity="warning")
    assert f"only {k} spatial" in p.message and f"cv_folds = {k}" in p.fix
    toml.write_text(PROJECT_TOML.replace("cv_block_m = 300", "cv_scheme = \"random\""), encoding="utf-8")
    assert_clean(toml)


def test_forest_type_codes_and_plot_sheet_types(tmp_path: Path) -> None:
    toml = with_toml(tmp_path, "[forest_type_codes]\nsparse = 3")
    p = one(check_project(toml), where="[forest_type_codes]", text="code 3 is given to mixed and sparse")
    assert p.severity == "error"
    toml.write_text(PROJECT_TOML, encoding="utf-8")
    plots = PLOTS.copy()
    plots["forest_type"] = ["1", "2", "", "7", "pine", "3", "4", "0", "1", "2"]
    plots.to_csv(tmp_path / "inputs" / "field" / "plots.csv", index=False)
    p = one(check_project(toml), file="inputs/field/plots.csv", where="column forest_type")
    assert p.where == "lines 5, 6, column forest_type" and "'7'" in p.message and "'pine'" in p.message
    plots["forest_type"] = ["1", "2", "", "3", "4", "3", "4", "0", "1", "2"]
    plots.to_csv(tmp_path / "inputs" / "field" / "plots.csv", index=False)
    assert_clean(toml)


def test_model_options_that_would_be_ignored(tmp_path: Path, monkeypatch) -> None:
    model_toml = 'cv_block_m = 300\nlearners = ["rf", "mlr"]\ngrid_search = false\n\n[model.grids.svm]\nC = [1.0, 10.0]'
    toml = with_toml(tmp_path, replace=("cv_block_m = 300", model_toml))
    problems = check_project(toml)
    p = one(problems, where="[model.grids.svm]", severity="warning")
    assert "rf, mlr" in p.message
    one(problems, where="[model].grid_search", text="ignored", severity="warning")
    # xgb without the xgboost package
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "xgboost" else real(name, *a))
    toml.write_text(PROJECT_TOML, encoding="utf-8")
    p = one(check_project(toml), where="[model].learners", text="xgboost")
    assert "pip install xgboost" in p.fix and p.severity == "error"


def test_lidar_scan_positions_and_als_tiles(tmp_path):
    """[lidar].scan_positions rows and [lidar].als tiles are checked before the lidar stage runs."""
    import laspy

    toml = build_project(tmp_path)
    base = toml.read_text(encoding="utf-8")
    # a scan-position sheet with a repeated plot and a rotation that is not a number
    (tmp_path / "pos.csv").write_text("plot_id,rotation_deg\nP1,x\nP1,10\n", encoding="utf-8")
    toml.write_text(base + '\n[lidar]\nscan_positions = "pos.csv"\nals = "als/*.laz"\n', encoding="utf-8")
    problems = check_project(toml)
    p = one(problems, where="(file)", text="line(s) 2, 3")
    assert p.file.endswith("pos.csv") and p.severity == "error" and "rotation_deg" in p.fix
    p = one(problems, where="[lidar].als", text="matches no file")
    assert p.severity == "error"
    # tiles: an empty one, one in degrees, one far away from the mine, one good
    tiles = tmp_path / "als"
    tiles.mkdir()
    (tmp_path / "pos.csv").write_text("plot_id,rotation_deg\nP1,10\n", encoding="utf-8")

    def tile(name, x, y, crs):
        header = laspy.LasHeader(point_format=6, version="1.4")
        header.offsets = [float(np.min(x)), float(np.min(y)), 0.0]
        header.scales = [0.001, 0.001, 0.001]
        if crs:
            header.add_crs(__import__("pyproj").CRS.from_user_input(crs))
        las = laspy.LasData(header)
        las.x, las.y, las.z = np.asarray(x, float), np.asarray(y, float), np.zeros(len(x))
        las.write(str(tiles / name))

    tile("degrees.laz", [110.1, 110.2], [35.1, 35.2], "EPSG:4326")
    tile("far.laz", [100.0, 200.0], [100.0, 200.0], "EPSG:32649")
    problems = check_project(toml)
    assert not [q for q in problems if q.file.endswith("pos.csv")]
    p = one(problems, where="(header)", text="not projected")
    assert p.file.endswith("degrees.laz")
    one(problems, where="[lidar].als", text="no ALS tile overlaps")

"""Issue 13: check and run agree by construction.

Every declared input's bad cases are fed to ``minecarbon check`` (through
:func:`minecarbon.check.check_project` on a whole project) and to the reader
the stages use (``spec.read``); both must name the same problems (where,
message, severity).  The three disagreements of the issue are tested by name.
"""

from __future__ import annotations

from dataclasses import replace
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from test_check import (
    BANDS,
    CRS,
    MINE,
    PLOTS,
    PROJECT_TOML,
    TREES,
    X0,
    Y1,
    build_project,
    image,
    write_tif,
)

from minecarbon.check import check_project
from minecarbon.config import load_config
from minecarbon.errors import ConfigError, InputError, MinecarbonWarning, Problem
from minecarbon.inputs import (
    DISTURBANCE,
    INPUTS,
    PLANNED,
    PLOT_SHEET,
    RECLAMATION,
    TREE_SHEET,
)
from minecarbon.plots import validate_trees
from minecarbon.project.readers import read_plot_sheet


def _key(p: Problem) -> tuple[str, str, str]:
    return p.where, p.message, p.severity


def _check(toml: Path, file: str) -> list[tuple[str, str, str]]:
    """The problems check reports for one input file (cross-file ones left out: they are not the spec's)."""
    cross = ("allometry table", "carbon fraction", "monitoring area", "fitted range", "AGC model needs")
    return sorted(_key(p) for p in check_project(toml) if p.file == file and not any(c in p.message for c in cross))


def _run(read) -> list[tuple[str, str, str]]:
    """The problems the run-time reader raises (errors) or warns (warnings)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MinecarbonWarning)
        try:
            read()
        except InputError as exc:
            assert exc.problems, "the run-time error carries its problems"
            return sorted(_key(p) for p in exc.problems)
    return sorted(("warning", str(w.message), "warning") for w in caught if issubclass(w.category, MinecarbonWarning))


TREE_CASES = {
    "dbh not positive and missing": {"dbh_cm": ["12.5", "", "8.3", "-1", "30.2", "25"]},
    "dbh in metres": {"dbh_cm": ["0.125", "0.2", "0.083", "0.15", "0.3", "0.25"]},
    "dbh in millimetres": {"dbh_cm": ["125", "201", "183", "150", "302", "250"]},
    "dbh absurd": {"dbh_cm": ["12.5", "20.1", "8.3", "450", "30.2", "25"]},
    "dbh not a number": {"dbh_cm": ["12.5", "x", "8.3", "15", "30.2", "25"]},
    "height below breast height and absurd": {"height_m": ["8", "1.2", "5.2", "9", "95", "16.5"]},
    "height in decimetres": {"height_m": ["80", "115", "52", "90", "140", "165"]},
    "species empty": {"species": ["油松", "", "侧柏", "刺槐", "油松", "杨树"]},
    "duplicate tree": {"tree_id": ["1", "1", "1", "2", "1", "2"]},
    "unknown plot": {"plot_id": ["P1", "P1", "P2", "P99", "P3", "P3"]},
    "wood density out of range": {"wood_density": ["0.5", "0.6", "", "2.4", "0.5", "0.01"]},
    "missing column": {"height_m": None},
}


@pytest.mark.parametrize("case", list(TREE_CASES))
def test_tree_sheet_bad_cases_same_in_check_and_run(tmp_path: Path, case: str) -> None:
    toml = build_project(tmp_path)
    trees = TREES.astype(str)
    for col, vals in TREE_CASES[case].items():
        trees = trees.drop(columns=col) if vals is None else trees.assign(**{col: vals})
    path = tmp_path / "inputs" / "field" / "trees.csv"
    trees.to_csv(path, index=False)
    cfg = load_config(toml)
    ids = set(PLOTS["plot_id"])
    in_check = _check(toml, "inputs/field/trees.csv")
    at_run = _run(lambda: TREE_SHEET.read(path, "inputs/field/trees.csv", plot_ids=ids,
                                          plot_sheet="inputs/field/plots.csv"))
    assert in_check and in_check == at_run
    assert cfg  # the project itself is valid
    # the stage's tree reader and the file-in/file-out tool's validate_trees apply the same rules
    if any(s == "error" for *_, s in at_run):
        with pytest.raises(InputError) as exc:
            validate_trees(pd.read_csv(path, keep_default_na=True), PLOTS, "inputs/field/trees.csv")
        assert {p.where for p in exc.value.problems} == {w for w, _, s in at_run if s == "error"}


PLOT_CASES = {
    "duplicate id and empty id": {"plot_id": ["P1", "P2", "P2", "", "P5", "P6", "P7", "P8", "P9", "P10"]},
    "survey year outside the period": {"survey_year": ["2020", "2020", "2005", "2020", "2020", "2019", "2019",
                                                       "2018", "x", "2020"]},
    "size not positive": {"size_m": ["30", "0", "20", "30", "-5", "30", "30", "30", "30", "30"]},
    "slope in percent": {"slope_deg": ["5", "120", "20", "3", "0", "8", "11", "2.5", "7", "15"]},
    "degrees for metres": {"x": ["111.0"] + [str(v) for v in PLOTS["x"][1:]],
                           "y": ["36.1"] + [str(v) for v in PLOTS["y"][1:]]},
    "unknown forest type code": {"forest_type": ["1", "2", "", "7", "pine", "3", "4", "0", "1", "2"]},
    "missing column": {"size_m": None},
}


@pytest.mark.parametrize("case", list(PLOT_CASES))
def test_plot_sheet_bad_cases_same_in_check_and_run(tmp_path: Path, case: str) -> None:
    toml = build_project(tmp_path)
    plots = PLOTS.astype(str)
    for col, vals in PLOT_CASES[case].items():
        plots = plots.drop(columns=col) if vals is None else plots.assign(**{col: vals})
    path = tmp_path / "inputs" / "field" / "plots.csv"
    plots.to_csv(path, index=False)
    cfg = load_config(toml)
    in_check = _check(toml, "inputs/field/plots.csv")
    at_run = _run(lambda: PLOT_SHEET.read(path, "inputs/field/plots.csv", cfg=cfg))
    assert in_check and in_check == at_run
    with pytest.raises(InputError) as exc:  # the plots stage's reader
        read_plot_sheet(cfg)
    assert sorted(_key(replace(p, file="")) for p in exc.value.problems) == at_run


LAYER_CASES = {
    DISTURBANCE.key: ({"year": [2019, 2030], "damage_type": ["excavation", "landslide"]}, "disturbance.gpkg"),
    PLANNED.key: ({"planned_year": [2022.5], "damage_type": ["flood"]}, "planned.gpkg"),
    RECLAMATION.key: ({"year": [None]}, "reclamation.gpkg"),
}


@pytest.mark.parametrize("key", list(LAYER_CASES))
def test_layer_bad_cases_same_in_check_and_run(tmp_path: Path, key: str) -> None:
    toml = build_project(tmp_path)
    attrs, name = LAYER_CASES[key]
    n = len(next(iter(attrs.values())))
    path = tmp_path / "inputs" / name
    geoms = [box(500100 + 100 * i, 4000100, 500200 + 100 * i, 4000200) for i in range(n)]
    gpd.GeoDataFrame(attrs, geometry=geoms, crs=CRS).to_file(path, driver="GPKG", engine="pyogrio")
    cfg = load_config(toml)
    file = f"inputs/{name}"
    in_check = _check(toml, file)
    at_run = _run(lambda: INPUTS[key].read(path, file=file, cfg=cfg))
    assert in_check and in_check == at_run


def _all_check(toml: Path, file: str) -> list[tuple[str, str, str]]:
    """Every problem check reports for one file (the shared polygon rules' in-area problem included), as the
    reader gives them: raised with the error(s), else each warning issued as its text."""
    found = [p for p in check_project(toml) if p.file == file]
    if any(p.is_error for p in found):
        return sorted(_key(p) for p in found)
    return sorted(("warning", str(p), "warning") for p in found)


def _deg(geom):
    return gpd.GeoSeries([geom], crs=CRS).to_crs("EPSG:4326").iloc[0]


POLYGON_CASES = {
    "in degrees": lambda: gpd.GeoDataFrame({"year": [2019]}, geometry=[_deg(box(500100, 4000100, 500200, 4000200))],
                                           crs="EPSG:4326"),
    "degrees said, metres given": lambda: gpd.GeoDataFrame({"year": [2019]},
                                                           geometry=[box(500100, 4000100, 500200, 4000200)],
                                                           crs="EPSG:4326"),
    "outside the area": lambda: gpd.GeoDataFrame({"year": [2019]}, geometry=[box(600100, 4100100, 600200, 4100200)],
                                                 crs=CRS),
    "lines": lambda: gpd.GeoDataFrame({"year": [2019]}, geometry=[box(500100, 4000100, 500200, 4000200).boundary],
                                      crs=CRS),
    "no crs": lambda: gpd.GeoDataFrame({"year": [2019]}, geometry=[box(500100, 4000100, 500200, 4000200)]),
}


@pytest.mark.parametrize("case", list(POLYGON_CASES))
@pytest.mark.parametrize("key", [DISTURBANCE.key, RECLAMATION.key])
def test_polygon_rules_same_in_check_and_run(tmp_path: Path, key: str, case: str) -> None:
    """The rules every polygon layer shares (CRS, polygons, in the area) run in the stage reader as in check."""
    from minecarbon.inputs.polygons import project_area, run_target_from

    toml = build_project(tmp_path)
    name = "disturbance.gpkg" if key == DISTURBANCE.key else "reclamation.gpkg"
    path = tmp_path / "inputs" / name
    gdf = POLYGON_CASES[case]()
    if key == DISTURBANCE.key:
        gdf.insert(0, "damage_type", ["excavation"])
    gdf.to_file(path, driver="GPKG", engine="pyogrio")
    cfg = load_config(toml)
    file = f"inputs/{name}"
    in_check = _all_check(toml, file)
    crs = cfg.project.crs
    at_run = _run(lambda: INPUTS[key].read(path, target_crs=crs, file=file, target_from=run_target_from(cfg, crs),
                                           cfg=cfg, **project_area(cfg, crs)))
    assert in_check and in_check == at_run


def test_units_stage_reader_raises_the_in_area_problem_of_check(tmp_path: Path) -> None:
    """The units stage's reader (with the stage's monitoring area) names the same problem as check."""
    from minecarbon.grid import monitoring_area
    from minecarbon.pipeline.stages._common import _read_optional_layer

    toml = build_project(tmp_path)
    path = tmp_path / "inputs" / "disturbance.gpkg"
    gpd.GeoDataFrame({"year": [2019], "damage_type": ["excavation"]}, geometry=[box(600100, 4100100, 600200, 4100200)],
                     crs=CRS).to_file(path, driver="GPKG", engine="pyogrio")
    cfg = load_config(toml)
    area = monitoring_area(gpd.read_file(tmp_path / "inputs" / "boundary.gpkg"), cfg.area.buffer_m)
    in_check = _all_check(toml, "inputs/disturbance.gpkg")
    assert [m for _, m, _ in in_check] == ["no feature of the disturbance layer lies in the monitoring area"]
    assert _run(lambda: _read_optional_layer(cfg, DISTURBANCE, cfg.project.crs, area)) == in_check


def test_invalid_boundary_same_warning_in_check_and_run(tmp_path: Path) -> None:
    """A self-intersecting (bow-tie) boundary: check's warning is the stage reader's."""
    from shapely.geometry import Polygon

    from minecarbon.inputs.polygons import BOUNDARY_RULES, read_polygons

    toml = build_project(tmp_path)
    path = tmp_path / "inputs" / "boundary.gpkg"
    x0, y0, x1, y1 = MINE
    bowtie = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    assert not bowtie.is_valid
    gpd.GeoDataFrame({"name": ["mine"]}, geometry=[bowtie], crs=CRS).to_file(path, driver="GPKG", engine="pyogrio")
    cfg = load_config(toml)
    in_check = _all_check(toml, "inputs/boundary.gpkg")
    assert len(in_check) == 1 and "invalid polygon geometry" in in_check[0][1]
    at_run = _run(lambda: read_polygons(path, BOUNDARY_RULES, file="inputs/boundary.gpkg", target_crs=cfg.project.crs,
                                        buffer_m=cfg.area.buffer_m))
    assert at_run == in_check


def test_boundary_in_degrees_is_reprojected_by_check_and_run_alike(tmp_path: Path) -> None:
    """A mine boundary delivered in WGS 84 (as many are): the project CRS is projected, so check and the reader
    both reproject it (a warning, no error) and the monitoring area equals the one of the boundary in metres."""
    from minecarbon.inputs.polygons import BOUNDARY_RULES, read_polygons, run_target_from

    toml = build_project(tmp_path)
    path = tmp_path / "inputs" / "boundary.gpkg"
    cfg = load_config(toml)
    _, area_m, _ = read_polygons(path, BOUNDARY_RULES, file="inputs/boundary.gpkg", target_crs=cfg.project.crs,
                                 buffer_m=cfg.area.buffer_m)
    gpd.read_file(path).to_crs("EPSG:4326").to_file(path, driver="GPKG", engine="pyogrio")
    in_check = _all_check(toml, "inputs/boundary.gpkg")
    assert len(in_check) == 1 and in_check[0][0] == "warning" and "will be reprojected" in in_check[0][1]
    at_run = _run(lambda: read_polygons(path, BOUNDARY_RULES, file="inputs/boundary.gpkg", target_crs=cfg.project.crs,
                                        target_from=run_target_from(cfg, cfg.project.crs), buffer_m=cfg.area.buffer_m))
    assert at_run == in_check
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MinecarbonWarning)
        _, area_deg, _ = read_polygons(path, BOUNDARY_RULES, file="inputs/boundary.gpkg",
                                       target_crs=cfg.project.crs, buffer_m=cfg.area.buffer_m)
    # the round trip through degrees moves vertices by well under a millimetre
    assert area_deg.symmetric_difference(area_m).area < 1e-3 * area_m.area


def test_every_declared_input_is_a_key_of_the_project_file() -> None:
    from minecarbon.config import ProjectConfig

    for key in INPUTS:
        section, name = key.split(".")
        model = ProjectConfig.model_fields[section].annotation
        assert name in model.model_fields, key


# ---------------------------------------------------------------------------
# the three disagreements of issue 13
# ---------------------------------------------------------------------------
def test_dbh_between_1_and_1_5_cm_passes_check_and_run(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    trees = TREES.assign(dbh_cm=[1.0, 1.2, 1.5, 1.1, 1.3, 1.4], height_m=[1.6, 1.8, 2.0, 1.7, 1.9, 2.1])
    path = tmp_path / "inputs" / "field" / "trees.csv"
    trees.to_csv(path, index=False)
    assert _check(toml, "inputs/field/trees.csv") == []
    got = validate_trees(pd.read_csv(path), PLOTS, str(path))
    assert got["dbh_cm"].tolist() == [1.0, 1.2, 1.5, 1.1, 1.3, 1.4]
    # DBH all below 1 cm: metres, for both
    trees.assign(dbh_cm=[0.1, 0.2, 0.15, 0.12, 0.3, 0.25]).to_csv(path, index=False)
    assert [m for _, m, _ in _check(toml, "inputs/field/trees.csv")] == [
        "every DBH is below 1 cm (median 0.175); the values look like metres"]
    with pytest.raises(InputError, match="look like metres"):
        validate_trees(pd.read_csv(path), PLOTS, str(path))


def test_reclamation_layer_without_species_passes_check_and_run(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    path = tmp_path / "inputs" / "reclamation.gpkg"
    gpd.GeoDataFrame({"year": [2020]}, geometry=[box(500100, 4000100, 500200, 4000200)], crs=CRS).to_file(
        path, driver="GPKG", engine="pyogrio")
    assert _check(toml, "inputs/reclamation.gpkg") == []
    assert len(RECLAMATION.read(path, cfg=load_config(toml))) == 1


def test_settings_rules_are_enforced_by_load_config(tmp_path: Path) -> None:
    """run loads the project with load_config: the reference year must be before the comparison year."""
    toml = build_project(tmp_path)
    toml.write_text(PROJECT_TOML + "\n[assess]\nreference_year = 2020\ncompare_year = 2019\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(toml)
    assert [p.where for p in exc.value.problems] == ["[assess]"]
    assert "reference year 2020 is not before the comparison year 2019" in exc.value.problems[0].message
    # check lists the same problem, with the inputs' problems
    found = [p for p in check_project(toml) if p.where == "[assess]"]
    assert [(p.message, p.fix) for p in found] == [(q.message, q.fix) for q in exc.value.problems]
    # and the CLI's run stops with exit 2 before any stage
    from click.testing import CliRunner

    from minecarbon.cli.main import main

    res = CliRunner().invoke(main, ["run", str(toml)])
    assert res.exit_code == 2 and "not before the comparison year" in res.output
    assert not (tmp_path / "workspace" / "outputs").exists()


def test_schema_errors_carry_their_location(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    toml.write_text(PROJECT_TOML.replace("cv_block_m = 300", "cv_block_m = 300\ncv_folds = 1"), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(toml)
    assert [p.where for p in exc.value.problems] == ["[model].cv_folds"]
    assert exc.value.problems[0].file == str(toml)


# ---------------------------------------------------------------------------
# rasters and point clouds (inputs.rasters, inputs.pointclouds)
# ---------------------------------------------------------------------------
def _str_check(toml: Path, file: str, errors_only: bool = False) -> list[str]:
    """The problems check reports for one file (all, or its errors), as text (file, where, message, fix)."""
    return sorted(str(p) for p in check_project(toml) if p.file == file and (p.is_error or not errors_only))


def _str_run(read) -> tuple[bool, list[str]]:
    """(raised, problems): the errors the reader raises, or else the warnings it issues, as text."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MinecarbonWarning)
        try:
            read()
        except InputError as exc:
            return True, sorted(str(p) for p in exc.problems)
    return False, sorted(str(w.message) for w in caught if issubclass(w.category, MinecarbonWarning))


def _project_options(cfg) -> dict:
    """The options check passes to the specs of this project: its CRS, monitoring area and image bands."""
    from pyproj import CRS as PyCRS

    from minecarbon.features import required_bands
    from minecarbon.project.plans import stack_spec

    crs = PyCRS.from_user_input(CRS)
    return {"cfg": cfg, "target_crs": crs, "target_from": f"[project].crs ({cfg.project.crs})",
            "area": box(*MINE).buffer(cfg.area.buffer_m), "area_crs": crs,
            "need_bands": required_bands(stack_spec(cfg), cfg.images.sensor)}


def _dem(scale: float = 1.0) -> np.ndarray:
    return (np.linspace(900, 1200, 100 * 100, dtype="float32") * scale).reshape(100, 100)


RASTER_CASES = {
    "dem in a geographic CRS": ("inputs.dem", "inputs/dem.tif", None, lambda p: write_tif(
        p, _dem(), crs="EPSG:4326", x0=111.0, y1=36.2, res=0.0003, nodata=-9999)),
    "dem without CRS": ("inputs.dem", "inputs/dem.tif", None, lambda p: write_tif(p, _dem(), crs=None,
                                                                                 nodata=-9999)),
    "dem in feet times ten": ("inputs.dem", "inputs/dem.tif", None, lambda p: write_tif(p, _dem(10.0),
                                                                                       nodata=-9999)),
    "dem all nodata": ("inputs.dem", "inputs/dem.tif", None, lambda p: write_tif(
        p, np.full((100, 100), -9999, "float32"), nodata=-9999)),
    "dem not a raster": ("inputs.dem", "inputs/dem.tif", None, lambda p: p.write_bytes(b"not a GeoTIFF")),
    "dem outside the area": ("inputs.dem", "inputs/dem.tif", None, lambda p: write_tif(
        p, _dem(), x0=X0 + 50_000, nodata=-9999)),
    "temperature in Kelvin": ("climate.temperature", "inputs/climate/tmean_2019.tif", 2019, lambda p: write_tif(
        p, np.full((4, 4), 282.6, "float32"), res=960.0, x0=X0 - 500, y1=Y1 + 500, nodata=-9999)),
    "precipitation in metres": ("climate.precipitation", "inputs/climate/prcp_2018.tif", 2018, lambda p: write_tif(
        p, np.full((4, 4), 0.48, "float32"), res=960.0, x0=X0 - 500, y1=Y1 + 500, nodata=-9999)),
    "forest type with unknown codes": ("inputs.forest_type", "inputs/forest_type_2018.tif", 2018, lambda p: write_tif(
        p, np.full((100, 100), 7, "uint8"), nodata=255)),
    "image without a nir band": ("images.path", "inputs/images/sr_2020.tif", 2020, lambda p: write_tif(
        p, image(), nodata=0, names=("blue", "green", "red", "b4", "swir1", "swir2"))),
    "image already scaled, with infinite pixels": ("images.path", "inputs/images/sr_2019.tif", 2019, lambda p: write_tif(
        p, np.where(np.arange(100)[None, None, :] == 3, np.inf, image() / 50000.0).astype("float32"), nodata=0,
        names=BANDS)),
    "image in another projected CRS": ("images.path", "inputs/images/sr_2018.tif", 2018, lambda p: write_tif(
        p, image(), crs="EPSG:32650", x0=X0 - 547_000, nodata=0, names=BANDS)),
}


@pytest.mark.parametrize("case", list(RASTER_CASES))
def test_raster_bad_cases_same_in_check_and_run(tmp_path: Path, case: str) -> None:
    from minecarbon.inputs import RASTERS

    toml = build_project(tmp_path)
    key, file, year, write = RASTER_CASES[case]
    write(tmp_path / file)
    cfg = load_config(toml)
    raised, at_run = _str_run(lambda: RASTERS[key].read(tmp_path / file, file, year=year, **_project_options(cfg)))
    in_check = _str_check(toml, file, errors_only=raised)  # an error raised carries the errors
    assert in_check and in_check == at_run


def _write_tile(path: Path, xy0: tuple[float, float], n: int = 50) -> None:
    import laspy

    path.parent.mkdir(parents=True, exist_ok=True)
    las = laspy.LasData(laspy.LasHeader(point_format=3, version="1.2"))
    las.header.scales = (0.01, 0.01, 0.01) if xy0[0] > 1000 else (1e-7, 1e-7, 0.01)
    las.header.offsets = (xy0[0], xy0[1], 0.0)
    rng = np.random.default_rng(0)
    step = 100.0 if xy0[0] > 1000 else 0.001
    las.x = xy0[0] + rng.uniform(0, step, n)
    las.y = xy0[1] + rng.uniform(0, step, n)
    las.z = rng.uniform(900, 930, n)
    las.write(str(path))


CLOUD_CASES = {
    "als tile in degrees": ("lidar.als", "inputs/als/t1.laz", lambda p: _write_tile(p, (111.0, 36.1))),
    "als tile without points": ("lidar.als", "inputs/als/t1.laz", lambda p: _write_tile(p, (500100.0, 4000100.0), 0)),
    "als tile outside the area": ("lidar.als", "inputs/als/t1.laz", lambda p: _write_tile(p, (560000.0, 4000100.0))),
    "als tile not a LAS file": ("lidar.als", "inputs/als/t1.laz", lambda p: (p.parent.mkdir(parents=True, exist_ok=True),
                                                                             p.write_bytes(b"LASF broken"))),
    "tls scan empty file": ("inputs.tls", "inputs/tls/P1.laz", lambda p: p.write_bytes(b"")),
    "tls scan without points": ("inputs.tls", "inputs/tls/P1.laz", lambda p: _write_tile(p, (0.0, 0.0), 0)),
}


@pytest.mark.parametrize("case", list(CLOUD_CASES))
def test_point_cloud_bad_cases_same_in_check_and_run(tmp_path: Path, case: str) -> None:
    from minecarbon.inputs import POINT_CLOUDS

    toml = build_project(tmp_path)
    toml.write_text(PROJECT_TOML.replace("[model]", '[lidar]\nals = "inputs/als/*.laz"\n\n[model]'), encoding="utf-8")
    key, file, write = CLOUD_CASES[case]
    write(tmp_path / file)
    cfg = load_config(toml)
    opts = _project_options(cfg)
    raised, at_run = _str_run(lambda: POINT_CLOUDS[key].read(tmp_path / file, file, target_crs=opts["target_crs"],
                                                             area=opts["area"], area_crs=opts["area_crs"]))
    in_check = _str_check(toml, file, errors_only=raised)
    assert in_check and in_check == at_run


def test_lidar_stage_reads_the_tape_tally_through_its_spec(tmp_path: Path) -> None:
    """A tape tally whose DBH all lie below 1 cm: check names it, and the lidar stage's reader raises the same."""
    from minecarbon.inputs import TALLY_SHEET

    toml = build_project(tmp_path)
    toml.write_text(PROJECT_TOML.replace('tls = "inputs/tls/*.laz"', 'tls = "inputs/tls/*.laz"\n'
                                         'tally = "inputs/field/tally.csv"'), encoding="utf-8")
    path = tmp_path / "inputs" / "field" / "tally.csv"
    TREES.assign(dbh_cm=[0.1, 0.2, 0.15, 0.12, 0.3, 0.25]).to_csv(path, index=False)
    raised, at_run = _str_run(lambda: TALLY_SHEET.read(path, "inputs/field/tally.csv"))
    in_check = _str_check(toml, "inputs/field/tally.csv")
    assert raised and len(at_run) == 1 and "every DBH is below 1 cm (median 0.175); the values look like metres" in at_run[0]
    assert in_check == at_run

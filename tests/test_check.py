"""Tests of minecarbon.check: a valid hand-made project, then one broken in every way at once."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from minecarbon.check import Problem, check_config, check_project, format_problems
from minecarbon.config import load_config

CRS = "EPSG:32649"
YEARS = (2018, 2019, 2020)
# mine: 1 km square; rasters cover it plus 1 km on every side (30 m pixels)
MINE = (500000.0, 4000000.0, 501000.0, 4001000.0)
X0, Y1 = 499000.0, 4002000.0
BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------
def write_tif(path: Path, data: np.ndarray, *, crs: str | None = CRS, x0: float = X0, y1: float = Y1,
              res: float = 30.0, nodata: float | None = None, names: tuple[str, ...] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if data.ndim == 2:
        data = data[None]
    count, h, w = data.shape
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=count, dtype=data.dtype,
                       crs=crs, transform=Affine(res, 0.0, x0, 0.0, -res, y1), nodata=nodata) as dst:
        dst.write(data)
        for i, n in enumerate(names or (), start=1):
            dst.set_band_description(i, n)


def image(nbands: int = 6) -> np.ndarray:
    rng = np.random.default_rng(0)
    # DN for reflectance ~0.05-0.4 with scale 2.75e-5 and offset -0.2
    return rng.integers(9000, 22000, size=(nbands, 100, 100)).astype("uint16")


def write_gpkg(path: Path, gdf: gpd.GeoDataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_file(path, driver="GPKG", engine="pyogrio")


PROJECT_TOML = """\
[project]
name = "Test mine"
crs = "EPSG:32649"
start_year = 2018
end_year = 2020

[area]
boundary = "inputs/boundary.gpkg"
buffer_m = 300

[images]
path = "inputs/images/sr_{year}.tif"

[climate]
temperature = "inputs/climate/tmean_{year}.tif"
precipitation = "inputs/climate/prcp_{year}.tif"

[inputs]
dem = "inputs/dem.tif"
forest_type = "inputs/forest_type_{year}.tif"
disturbance = "inputs/disturbance.gpkg"
planned = "inputs/planned.gpkg"
reclamation = "inputs/reclamation.gpkg"
plots = "inputs/field/plots.csv"
trees = "inputs/field/trees.csv"
tls = "inputs/tls/*.laz"

[model]
cv_block_m = 300

[plots.carbon_fractions."刺槐"]
value = 0.47
source = "IPCC 2006 default, chosen for the test"
"""

# 10 plots (the model's minimum) spread over the mine: 9 spatial CV groups of 300 m ([model].cv_block_m)
PLOTS = pd.DataFrame({
    "plot_id": [f"P{i}" for i in range(1, 11)],
    "x": [500200.0, 500500.0, 500800.0] + [500100.0, 500500.0, 500900.0] * 2 + [500300.0],
    "y": [4000200.0, 4000500.0, 4000800.0, 4000100.0, 4000100.0, 4000100.0, 4000900.0, 4000900.0,
          4000900.0, 4000650.0],
    "survey_year": [2020, 2020, 2019, 2020, 2020, 2019, 2019, 2018, 2018, 2020],
    "size_m": [30, 30, 20, 30, 30, 30, 30, 30, 30, 30],
    "slope_deg": [5.0, 12.5, 20.0, 3.0, 0.0, 8.0, 11.0, 2.5, 7.0, 15.0],
})

TREES = pd.DataFrame({
    "plot_id": ["P1", "P1", "P2", "P2", "P3", "P3"],
    "tree_id": [1, 2, 1, 2, 1, 2],
    "species": ["油松", "Pinus tabuliformis", "侧柏", "刺槐", "油松", "杨树"],
    "dbh_cm": [12.5, 20.1, 8.3, 15.0, 30.2, 25.0],
    "height_m": [8.0, 11.5, 5.2, 9.0, 14.0, 16.5],
})


def _write_scan(path: Path, n: int = 3) -> None:
    """A small LAS file of ``n`` points in a local frame (the header is what check reads)."""
    import laspy

    las = laspy.LasData(laspy.LasHeader(point_format=3, version="1.2"))
    las.x, las.y, las.z = np.arange(n, dtype=float), np.arange(n, dtype=float), np.ones(n)
    las.write(str(path))


def build_project(root: Path) -> Path:
    """A tiny valid project; returns the project file."""
    inp = root / "inputs"
    for y in YEARS:
        write_tif(inp / "images" / f"sr_{y}.tif", image(), nodata=0, names=BANDS)
        write_tif(inp / "climate" / f"tmean_{y}.tif", np.full((4, 4), 9.5, "float32"), res=960.0,
                  x0=X0 - 500, y1=Y1 + 500, nodata=-9999, names=("tmean",))
        write_tif(inp / "climate" / f"prcp_{y}.tif", np.full((4, 4), 480.0, "float32"), res=960.0,
                  x0=X0 - 500, y1=Y1 + 500, nodata=-9999, names=("prcp",))
    write_tif(inp / "dem.tif", np.linspace(900, 1200, 100 * 100, dtype="float32").reshape(100, 100),
              nodata=-9999, names=("elevation",))
    ft = np.random.default_rng(1).integers(0, 5, size=(100, 100)).astype("uint8")
    ft[:3] = 255
    for y in (2018, 2020):
        write_tif(inp / f"forest_type_{y}.tif", ft, nodata=255, names=("forest_type",))
    write_gpkg(inp / "boundary.gpkg", gpd.GeoDataFrame({"name": ["mine"]}, geometry=[box(*MINE)], crs=CRS))
    write_gpkg(inp / "disturbance.gpkg", gpd.GeoDataFrame(
        {"year": [2019, 2020], "damage_type": ["excavation", "塌陷"]},
        geometry=[box(500100, 4000100, 500300, 4000300), box(500600, 4000600, 500700, 4000700)], crs=CRS))
    write_gpkg(inp / "planned.gpkg", gpd.GeoDataFrame(
        {"planned_year": [2022], "damage_type": ["occupation"]},
        geometry=[box(500400, 4000100, 500500, 4000200)], crs=CRS))
    write_gpkg(inp / "reclamation.gpkg", gpd.GeoDataFrame(
        {"year": [2020], "species": ["刺槐"]}, geometry=[box(500100, 4000100, 500200, 4000200)], crs=CRS))
    (inp / "field").mkdir(parents=True, exist_ok=True)
    PLOTS.to_csv(inp / "field" / "plots.csv", index=False)
    TREES.to_csv(inp / "field" / "trees.csv", index=False)
    (inp / "tls").mkdir(parents=True, exist_ok=True)
    _write_scan(inp / "tls" / "P1.laz")  # check reads its header (inputs.TLS_SCAN)
    toml = root / "minecarbon.toml"
    toml.write_text(PROJECT_TOML, encoding="utf-8")
    return toml


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_mtime_ns, st.st_size if p.is_file() else 0)
    return out


def find(problems: list[Problem], *, file: str | None = None, where: str | None = None,
         text: str | None = None, severity: str | None = None) -> list[Problem]:
    """Problems whose fields contain the given substrings."""
    hits = []
    for p in problems:
        if file is not None and file not in p.file:
            continue
        if where is not None and where not in p.where:
            continue
        if text is not None and text.lower() not in p.message.lower():
            continue
        if severity is not None and p.severity != severity:
            continue
        hits.append(p)
    return hits


def one(problems: list[Problem], **kw) -> Problem:
    hits = find(problems, **kw)
    assert hits, f"no problem matching {kw}; got:\n{format_problems(problems)}"
    return hits[0]


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------
def test_valid_project_has_no_problems(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    before = snapshot(tmp_path)
    problems = check_project(toml)
    assert problems == [], format_problems(problems)
    assert check_project(tmp_path) == []  # the folder works too
    assert check_config(load_config(toml)) == []
    assert snapshot(tmp_path) == before
    assert format_problems([]) == "No problems found."


def test_broken_project_reports_everything_at_once(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    inp = tmp_path / "inputs"
    # a missing file: the precipitation grid of 2019
    (inp / "climate" / "prcp_2019.tif").unlink()
    # an unreadable raster: text named .tif
    (inp / "images" / "sr_2020.tif").write_text("this is not a GeoTIFF\n", encoding="utf-8")
    # a geographic raster (EPSG:4326, but over the mine: ~111 E, 36.1 N)
    write_tif(inp / "dem.tif", np.full((50, 50), 1000.0, "float32"), crs="EPSG:4326", x0=110.98,
              y1=36.16, res=0.001, nodata=-9999, names=("elevation",))
    # a raster that does not overlap the mine (100 km east)
    write_tif(inp / "climate" / "tmean_2018.tif", np.full((4, 4), 9.5, "float32"), res=960.0,
              x0=X0 + 100_000, y1=Y1, nodata=-9999, names=("tmean",))
    # an image missing a band (no swir2)
    write_tif(inp / "images" / "sr_2019.tif", image(5), nodata=0, names=BANDS[:5])
    # an all-nodata raster
    write_tif(inp / "forest_type_2020.tif", np.full((100, 100), 255, "uint8"), nodata=255,
              names=("forest_type",))
    # plots: missing required column size_m, duplicate ids, survey year outside the period,
    # one plot far outside the area
    plots = pd.DataFrame({
        "plot_id": ["P1", "P2", "P2", "P4"],
        "x": [500200.0, 500500.0, 500600.0, 520000.0],
        "y": [4000200.0, 4000500.0, 4000600.0, 4000500.0],
        "survey_year": [2020, 2020, 2005, 2019],
    })
    plots.to_csv(inp / "field" / "plots.csv", index=False)
    # trees: DBH <= 0, DBH absurd, unknown species, height below breast height,
    # unknown plot, a species group without carbon fraction (override removed below)
    trees = pd.DataFrame({
        "plot_id": ["P1", "P1", "P2", "P2", "P9", "P1", "P1"],
        "tree_id": [1, 2, 1, 2, 1, 3, 4],
        "species": ["油松", "油松", "Pinus tabulformis", "侧柏", "油松", "Pinus tabulformis", "刺槐"],
        "dbh_cm": [12.0, -3.0, 15.0, 450.0, 20.0, 18.0, 11.0],
        "height_m": [8.0, 7.0, 9.0, 1.0, 10.0, 9.5, 6.0],
    })
    trees.to_csv(inp / "field" / "trees.csv", index=False)
    # disturbance: a bad damage type and a year outside the period
    write_gpkg(inp / "disturbance.gpkg", gpd.GeoDataFrame(
        {"year": [2019, 2030], "damage_type": ["excavation", "landslide"]},
        geometry=[box(500100, 4000100, 500300, 4000300), box(500600, 4000600, 500700, 4000700)], crs=CRS))
    # reclamation layer without the species attribute (allowed: only 'year' is read)
    write_gpkg(inp / "reclamation.gpkg", gpd.GeoDataFrame(
        {"year": [2020]}, geometry=[box(500100, 4000100, 500200, 4000200)], crs=CRS))
    # project file: buffer outside 100-500 m, no carbon-fraction override, a missing named file
    text = PROJECT_TOML.replace("buffer_m = 300", "buffer_m = 800")
    text = text.split("[plots.carbon_fractions")[0]
    text = text.replace('planned = "inputs/planned.gpkg"', 'planned = "inputs/planned_blocks.gpkg"')
    text = text.replace('tls = "inputs/tls/*.laz"', 'tls = "inputs/scans/*.laz"')
    toml.write_text(text, encoding="utf-8")

    before = snapshot(tmp_path)
    problems = check_project(toml)
    after = snapshot(tmp_path)
    assert after == before, "check_project must not write anything"
    assert all(isinstance(p, Problem) for p in problems)
    report = format_problems(problems)
    print(report)

    # missing files
    p = one(problems, file="prcp_{year}.tif", text="no file")
    assert "2019" in p.message and p.severity == "error"
    one(problems, file="inputs/planned_blocks.gpkg", text="does not exist")
    # unreadable raster
    p = one(problems, file="inputs/images/sr_2020.tif", text="cannot be read as a raster")
    assert p.where == "(file)" and p.severity == "error"
    # geographic raster
    p = one(problems, file="inputs/dem.tif", text="geographic")
    assert "EPSG:4326" in p.message and p.severity == "error"
    assert not find(problems, file="inputs/dem.tif", text="does not overlap")
    # raster not overlapping the mine
    p = one(problems, file="inputs/climate/tmean_2018.tif", text="does not overlap")
    assert p.severity == "error"
    # image missing a band: names the band and the bands present
    p = one(problems, file="inputs/images/sr_2019.tif", where="band 'swir2'")
    assert "swir1" in p.message and p.severity == "error"
    # all-nodata raster
    one(problems, file="inputs/forest_type_2020.tif", text="only nodata", severity="error")
    # plots: missing column, duplicate id, survey year
    p = one(problems, file="inputs/field/plots.csv", where="column size_m", text="lacks the required column")
    assert p.severity == "error"
    p = one(problems, file="plots.csv", text="plot_id 'P2' appears 2 times")
    assert p.where == "lines 3, 4, column plot_id"
    p = one(problems, file="plots.csv", where="column survey_year", text="outside the monitoring period")
    assert p.where == "line 4, column survey_year" and "2005" in p.message
    p = one(problems, file="plots.csv", text="outside the monitoring area", severity="warning")
    assert "P4" in p.message and p.where.startswith("line 5")
    # trees
    p = one(problems, file="inputs/field/trees.csv", where="column dbh_cm", text="not positive")
    assert p.where == "line 3, column dbh_cm" and "-3" in p.message
    p = one(problems, file="trees.csv", where="column dbh_cm", text="absurd")
    assert p.where == "line 5, column dbh_cm" and "450" in p.message
    p = one(problems, file="trees.csv", text="species 'Pinus tabulformis' is not in the allometry table")
    assert p.where == "lines 4, 7, column species"
    assert "pinus tabuliformis" in p.fix.lower()  # the closest-names hint
    assert len(find(problems, text="Pinus tabulformis")) == 1  # each unknown name once
    p = one(problems, file="trees.csv", where="column height_m", text="breast height")
    assert p.where == "line 5, column height_m"
    p = one(problems, file="trees.csv", where="column plot_id", text="not in the plot sheet")
    assert p.where == "line 6, column plot_id" and "P9" in p.message
    p = one(problems, file="trees.csv", text="tier-1")  # 刺槐: IPCC 2006 Table 4.3 default, flagged (issue 17)
    assert "刺槐" in p.message and "0.48" in p.message and "[plots.carbon_fractions.刺槐]" in p.fix
    assert p.severity == "warning"
    # layers
    p = one(problems, file="inputs/disturbance.gpkg", where="damage_type", text="landslide")
    assert p.where == "fid 2, attribute damage_type"
    p = one(problems, file="inputs/disturbance.gpkg", where="attribute year", text="outside the monitoring")
    assert "2030" in p.message
    # issue 13: no stage reads the reclamation layer's species, so check must not require it (run never did)
    assert not find(problems, file="inputs/reclamation.gpkg", where="attribute species")
    # settings
    one(problems, where="[area].buffer_m", severity="warning")
    one(problems, where="[inputs].tls", text="matches no file", severity="warning")
    # every problem prints as one line "FILE: WHERE: MESSAGE. Fix: FIX"
    for prob in problems:
        s = str(prob)
        assert "\n" not in s and s.startswith(f"{prob.file}: {prob.where}: ") and ". Fix: " in s
    assert report.splitlines()[0].startswith(f"{sum(p.is_error for p in problems)} error(s)")


def test_toml_syntax_error_is_a_problem(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    toml.write_text(PROJECT_TOML.replace('name = "Test mine"', 'name = "Test mine'), encoding="utf-8")
    problems = check_project(toml)
    assert len(problems) == 1
    p = problems[0]
    assert p.file == str(toml) and "not valid TOML" in p.message and p.where.startswith("line 2")
    assert p.severity == "error"


def test_unknown_key_and_schema_errors_are_problems(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    text = PROJECT_TOML.replace("buffer_m = 300", "buffer_m = 300\nbufer = 3").replace(
        "end_year = 2020", "end_year = \"soon\"")
    toml.write_text(text, encoding="utf-8")
    problems = check_project(toml)
    p = one(problems, where="[area].bufer")
    assert "remove it" in p.fix.lower() or "spelling" in p.fix.lower()
    one(problems, where="[project].end_year")
    assert all(p.file == str(toml) for p in problems)
    assert len(problems) == 2  # content checks are skipped


def test_missing_project_file(tmp_path: Path) -> None:
    problems = check_project(tmp_path / "nope.toml")
    assert len(problems) == 1 and "does not exist" in problems[0].message


def test_garbage_inputs_never_raise(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    inp = tmp_path / "inputs"
    (inp / "boundary.gpkg").write_text("garbage", encoding="utf-8")
    (inp / "disturbance.gpkg").write_bytes(b"\x00\x01\x02")
    (inp / "field" / "plots.csv").write_bytes("plot_id,x\n甲,1\n".encode("gbk"))
    (inp / "field" / "trees.csv").write_bytes(b"")
    write_tif(inp / "dem.tif", np.ones((10, 10), "float32"), crs=None)
    problems = check_project(toml)
    assert find(problems, file="boundary.gpkg", text="cannot be opened")
    assert find(problems, file="disturbance.gpkg", text="cannot be opened")
    assert find(problems, file="plots.csv", text="not UTF-8")
    assert find(problems, file="trees.csv", text="cannot be read")
    assert find(problems, file="dem.tif", text="no CRS")
    assert not find(problems, text="could not be checked"), format_problems(problems)


def test_units_and_band_index_mapping(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    inp = tmp_path / "inputs"
    # bands without descriptions mapped by index; one index out of range
    for y in YEARS:
        write_tif(inp / "images" / f"sr_{y}.tif", image(), nodata=0)
    text = PROJECT_TOML.replace(
        '[images]\npath = "inputs/images/sr_{year}.tif"',
        '[images]\npath = "inputs/images/sr_{year}.tif"\n'
        'bands = { blue = "1", green = "2", red = "3", nir = "4", swir1 = "5", swir2 = "7" }')
    toml.write_text(text, encoding="utf-8")
    trees = TREES.copy()
    trees["dbh_cm"] = trees["dbh_cm"] / 100  # metres
    trees.to_csv(inp / "field" / "trees.csv", index=False)
    problems = check_project(toml)
    errs = find(problems, where="band 7")
    assert len(errs) == 3 and all("6 band(s)" in p.message for p in errs)
    one(problems, file="trees.csv", where="column dbh_cm", text="look like metres")
    trees["dbh_cm"] = TREES["dbh_cm"] * 10  # millimetres
    trees.to_csv(inp / "field" / "trees.csv", index=False)
    one(check_project(toml), file="trees.csv", where="column dbh_cm", text="look like millimetres")


def test_problem_str() -> None:
    p = Problem("trees.csv", "line 12, column dbh_cm", "DBH -3 cm is not positive.", "Correct it.")
    assert str(p) == "trees.csv: line 12, column dbh_cm: DBH -3 cm is not positive. Fix: Correct it."
    assert p.severity == "error" and p.is_error
    with pytest.raises(Exception):
        p.file = "x"  # type: ignore[misc]
    w = Problem("a", "b", "c", "d", "warning")
    assert "warning: a: b: c. Fix: d" in format_problems([p, w])


def test_crs_consistency_without_project_crs(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    inp = tmp_path / "inputs"
    toml.write_text(PROJECT_TOML.replace('crs = "EPSG:32649"\n', ""), encoding="utf-8")
    # a projected grid in another CRS (UTM 50N) that still covers the mine: reprojected -> warning
    from pyproj import Transformer

    x, y = Transformer.from_crs(CRS, "EPSG:32650", always_xy=True).transform(X0 - 500, Y1 + 500)
    write_tif(inp / "climate" / "prcp_2020.tif", np.full((5, 5), 480.0, "float32"), crs="EPSG:32650",
              x0=x - 1000, y1=y + 1000, res=960.0, nodata=-9999)
    # forest-type codes not in [forest_type_codes]
    write_tif(inp / "forest_type_2018.tif", np.full((100, 100), 7, "uint8"), nodata=255)
    problems = check_project(toml)
    p = one(problems, file="inputs/climate/prcp_2020.tif", text="will be reprojected")
    assert p.severity == "warning" and "EPSG:32650" in p.message and "reference image 2018" in p.message
    p = one(problems, file="inputs/forest_type_2018.tif", text="not forest-type codes")
    assert "7" in p.message and p.severity == "error"
    assert len([q for q in problems if q.is_error]) == 1, format_problems(problems)

"""`minecarbon tool trend | hotspot | breaks | zonal | change` on plain files: outputs, --json, clear errors."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from _assess_helpers import make_da
from click.testing import CliRunner
from shapely.geometry import box

from minecarbon.assess import change_amount, fisher_jenks, gi_star, mann_kendall_sen, polygon_zonal_stats
from minecarbon.cli.main import main
from minecarbon.io import write_raster

X0, Y0 = 500_000.0, 4_000_000.0


def _run(*args):
    res = CliRunner().invoke(main, ["tool", *map(str, args)])
    assert "Traceback" not in res.output
    return res


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    years = list(range(2010, 2016))
    stack = rng.normal(40, 8, (len(years), 30, 36)) + np.linspace(0, 12, len(years))[:, None, None]
    stack[:, :4, :4] = np.nan
    da = make_da(stack).rename({"year": "band"})
    write_raster(da, tmp_path / "stack.tif", [f"agc_{y}" for y in years], units="t C/ha")
    write_raster(da.isel(band=0), tmp_path / "a.tif", ["agc"])
    write_raster(da.isel(band=-1), tmp_path / "b.tif", ["agc"])
    write_raster(make_da(np.full((30, 36), np.nan)), tmp_path / "empty.tif", ["agc"])
    write_raster(make_da(stack[0, :, :-1]), tmp_path / "narrow.tif", ["agc"])
    zones = np.repeat(np.arange(6), 6)[None, :].repeat(30, 0)
    write_raster(make_da(zones.astype("int32")), tmp_path / "zones.tif", ["zone"], nodata=-1, dtype="int32")
    gdf = gpd.GeoDataFrame({"unit": ["u1", "u2", "u1"]}, crs="EPSG:32649", geometry=[
        box(X0 + 50, Y0 - 500, X0 + 400, Y0 - 100), box(X0 + 300, Y0 - 800, X0 + 1000, Y0 - 450),
        box(X0 + 700, Y0 - 300, X0 + 1050, Y0 - 20)])
    gdf.to_file(tmp_path / "zones.gpkg")
    gdf.to_crs("EPSG:4326").to_file(tmp_path / "zones_wgs84.gpkg")
    return tmp_path, years, da


def test_trend(files):
    d, years, da = files
    res = _run("trend", d / "stack.tif", d / "trend.tif", "--json")
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["years"] == years and s["bands"] == ["slope", "intercept", "z", "p", "tau", "s", "n", "trend"]
    with rasterio.open(d / "trend.tif") as src:
        assert src.descriptions == tuple(s["bands"])
        out = src.read()
    ref = mann_kendall_sen(da.rename({"band": "year"}).assign_coords(year=years))
    np.testing.assert_allclose(out, ref.sel(stat=s["bands"]).values.astype(np.float32), equal_nan=True)
    assert sum(s["class_counts"].values()) == s["pixels_with_trend"]
    # years given explicitly (real spacing) change the slope, not S
    res = _run("trend", d / "stack.tif", d / "trend2.tif", "--years", "2010-2013,2016,2020")
    assert res.exit_code == 0, res.output
    with rasterio.open(d / "trend2.tif") as src:
        np.testing.assert_array_equal(src.read(6), out[5])
        assert not np.allclose(src.read(1), out[0], equal_nan=True)


def test_trend_errors(files):
    d, _, _ = files
    res = _run("trend", d / "stack.tif", d / "t.tif", "--years", "2010-2012")
    assert res.exit_code == 2 and "one year per band" in res.output
    res = _run("trend", d / "a.tif", d / "t.tif")
    assert res.exit_code == 2 and "Cannot read the years" in res.output
    res = _run("trend", d / "a.tif", d / "t.tif", "--years", "2010")
    assert res.exit_code == 2 and "at least 3" in res.output
    res = _run("trend", d / "stack.tif", d / "stack.tif")
    assert res.exit_code == 2 and "never overwritten" in res.output
    empty = make_da(np.full((4, 30, 36), np.nan)).rename({"year": "band"})
    write_raster(empty, d / "empty_stack.tif", [f"agc_{y}" for y in range(2010, 2014)])
    res = _run("trend", d / "empty_stack.tif", d / "t.tif")  # computed in memory, then found empty
    assert res.exit_code == 2 and "no valid pixel" in res.output and not (d / "t.tif").exists()


def test_hotspot(files):
    d, _, da = files
    res = _run("hotspot", d / "b.tif", d / "hs.tif", "--window", "3", "--json")
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    with rasterio.open(d / "hs.tif") as src:
        assert src.descriptions == ("z", "p", "bin")
        z = src.read(1)
    ref = gi_star(da.isel(band=-1, drop=True), window=3).sel(stat="z").values
    np.testing.assert_allclose(z, ref.astype(np.float32), equal_nan=True)
    assert sum(s["bin_counts"].values()) == s["n"]
    res = _run("hotspot", d / "b.tif", d / "hs2.tif", "--distance", "100", "--fdr")
    assert res.exit_code == 0, res.output
    res = _run("hotspot", d / "b.tif", d / "hs3.tif", "--distance", "100", "--window", "3")
    assert res.exit_code == 2 and "not both" in res.output
    res = _run("hotspot", d / "empty.tif", d / "hs4.tif", "--window", "3")
    assert res.exit_code == 2 and "no valid pixel" in res.output
    res = _run("hotspot", d / "stack.tif", d / "hs5.tif", "--window", "3")
    assert res.exit_code == 2 and "--band" in res.output


def test_breaks(files):
    d, _, da = files
    res = _run("breaks", d / "b.tif", d / "cls.tif", "--classes", "4", "--json")
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    v = da.isel(band=-1).values
    ref = fisher_jenks(v, 4)
    np.testing.assert_array_equal(s["breaks"], ref.breaks)
    assert s["goodness_of_variance_fit"] == pytest.approx(ref.gvf)
    with rasterio.open(d / "cls.tif") as src:
        c = src.read(1)
        assert src.nodata == 0
    assert (c[np.isfinite(v)] >= 1).all() and (c[~np.isfinite(v)] == 0).all()
    assert np.bincount(c[np.isfinite(v)])[1:].tolist() == s["counts"]
    res = _run("breaks", d / "empty.tif", d / "cls2.tif", "-k", "3")
    assert res.exit_code == 2 and "no valid pixel" in res.output


def test_zonal(files):
    d, _, da = files
    b = da.isel(band=-1, drop=True)
    res = _run("zonal", d / "b.tif", d / "zones.gpkg", d / "z.csv", "--field", "unit", "--json")
    assert res.exit_code == 0, res.output
    out = pd.read_csv(d / "z.csv")
    ref = polygon_zonal_stats(b, gpd.read_file(d / "zones.gpkg"), field="unit")
    np.testing.assert_allclose(out[["count", "mean", "variance", "sum_t"]], ref[["count", "mean", "variance", "sum_t"]])
    # the same zones in another CRS are reprojected
    assert _run("zonal", d / "b.tif", d / "zones_wgs84.gpkg", d / "z2.csv", "--field", "unit").exit_code == 0
    np.testing.assert_array_equal(pd.read_csv(d / "z2.csv")["count"], out["count"])
    # GeoPackage output keeps the polygons
    assert _run("zonal", d / "b.tif", d / "zones.gpkg", d / "z.gpkg", "--all-touched").exit_code == 0
    g = gpd.read_file(d / "z.gpkg")
    assert len(g) == 3 and (g["count"] >= out["count"].max() * 0).all()
    # integer raster zones: by hand
    res = _run("zonal", d / "b.tif", d / "zones.tif", d / "zr.csv")
    assert res.exit_code == 0, res.output
    zr = pd.read_csv(d / "zr.csv").set_index("zone")
    zones = np.repeat(np.arange(6), 6)[None, :].repeat(30, 0)
    for code in range(6):
        x = b.values[(zones == code) & np.isfinite(b.values)]
        assert zr.loc[code, "count"] == x.size and zr.loc[code, "mean"] == pytest.approx(x.mean())
    res = _run("zonal", d / "narrow.tif", d / "zones.tif", d / "zr2.csv")
    assert res.exit_code == 2 and "not on the grid" in res.output
    res = _run("zonal", d / "b.tif", d / "zones.gpkg", d / "z3.csv", "--field", "nope")
    assert res.exit_code == 2 and "no attribute" in res.output


def test_change(files):
    d, _, da = files
    res = _run("change", d / "a.tif", d / "b.tif", d / "ch.tif", "--json")
    assert res.exit_code == 0, res.output
    with rasterio.open(d / "ch.tif") as src:
        assert src.descriptions == ("change_amount", "change_degree_pct")
        amount, degree = src.read(1), src.read(2)
    a, b = da.isel(band=0, drop=True), da.isel(band=-1, drop=True)
    np.testing.assert_allclose(amount, change_amount(a, b).values, equal_nan=True)
    np.testing.assert_allclose(degree, ((b - a) / a * 100).values.astype(np.float32), rtol=1e-6, equal_nan=True)
    res = _run("change", d / "a.tif", d / "narrow.tif", d / "ch2.tif")
    assert res.exit_code == 2 and "same grid" in res.output

"""The `features` stage (halo, masks, sensor) and the `minecarbon tool` commands on small GeoTIFFs."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import xarray as xr
from click.testing import CliRunner
from rasterio.transform import from_origin
from shapely.geometry import box

from minecarbon.cli.main import main
from minecarbon.config import load_config
from minecarbon.errors import InputError
from minecarbon.features import glcm_texture, surface_reflectance, tasseled_cap, terrain_variables
from minecarbon.pipeline import run_pipeline

from .conftest import make_raster, smooth_field

X0, Y0, RES = 400000.0, 4100000.0, 30.0
H, W = 90, 100
L8 = ["SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7", "QA_PIXEL"]


def write_tif(path, data, names=None, crs="EPSG:32649", nodata=None, dtype=None, x0=X0, y0=Y0):
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    dtype = dtype or data.dtype
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[1], width=data.shape[2], count=data.shape[0],
                       dtype=dtype, crs=crs, transform=from_origin(x0, y0, RES, RES), nodata=nodata) as dst:
        dst.write(data.astype(dtype))
        for i, n in enumerate(names or [], start=1):
            dst.set_band_description(i, n)
    return path


def landsat_dn(seed: int, cloud: bool) -> np.ndarray:
    layers = []
    for k in range(6):
        refl = np.clip(smooth_field((H, W), seed=seed * 10 + k, scale=0.04, offset=0.05 + 0.05 * k), 0.005, 0.9)
        layers.append(np.round((refl + 0.2) / 2.75e-5))
    qa = np.full((H, W), 1 << 6, dtype=float)       # clear
    if cloud:
        qa[40:46, 50:58] = (1 << 3) | (1 << 6)       # cloud
    layers[2][0, 0] = 0                              # one nodata pixel (outside the grid)
    return np.stack(layers + [qa]).astype("uint16")


@pytest.fixture
def project(tmp_path):
    inp = tmp_path / "inputs"
    inp.mkdir()
    for year, cloud in ((2020, False), (2021, True)):
        write_tif(inp / f"L8_{year}.tif", landsat_dn(year, cloud), L8, nodata=0)
    write_tif(inp / "dem.tif", smooth_field((H, W), seed=5, scale=300, offset=900).astype("float32"), ["elevation"])
    # monitoring area inside the image: grid rows 30-77, columns 30-64 (buffer 30 m, snapped outwards)
    gpd.GeoDataFrame({"name": ["mine"]}, geometry=[box(X0 + 930, Y0 - 2300, X0 + 1920, Y0 - 930)],
                     crs="EPSG:32649").to_file(inp / "boundary.gpkg")
    toml = tmp_path / "minecarbon.toml"
    toml.write_text("""
[project]
start_year = 2020
end_year = 2021
[area]
boundary = "inputs/boundary.gpkg"
buffer_m = 30
[images]
path = "inputs/L8_{year}.tif"
sensor = "landsat8"
[climate]
temperature = "x_{year}.tif"
precipitation = "y_{year}.tif"
[inputs]
dem = "inputs/dem.tif"
forest_type = "ft_{year}.tif"
plots = "plots.csv"
trees = "trees.csv"
[features]
bands = ["red", "nir"]
indices = ["NDVI", "ARVI"]
tasseled_cap = ["TCB", "TCW"]
texture_bands = ["nir"]
texture_window = 5
texture_levels = 16
texture_range = [0.0, 0.6]
terrain = ["slope", "tpi", "plan_curvature"]
[run]
chunk_px = 64
""", encoding="utf-8")
    return toml


def test_stage_matches_whole_scene_computation(project):
    cfg = load_config(project)
    run_pipeline(cfg, ["features"])
    out = cfg.workspace / "outputs" / "features" / "features_2021.tif"
    with rasterio.open(out) as src:
        names = list(src.descriptions)
        got = src.read()
        t = src.transform
        assert src.crs.to_epsg() == 32649 and src.dtypes[0] == "float32"
    assert names == ["red", "nir", "NDVI", "ARVI", "TCB", "TCW"] + [
        f"nir_glcm_{m}" for m in ("mean", "variance", "homogeneity", "contrast", "dissimilarity", "entropy",
                                  "second_moment", "correlation")] + ["slope", "tpi", "plan_curvature"]
    r0, c0 = round((Y0 - t.f) / RES), round((t.c - X0) / RES)
    h, w = got.shape[1:]
    assert (r0, c0) == (30, 30) and (h, w) == (48, 35)
    # reference: the same functions on the whole image (numpy), then the grid window
    full = xr.concat([make_raster(b.astype(float), x0=X0, y0=Y0) for b in landsat_dn(2021, True)], dim="band")
    full = full.assign_coords(band=L8)
    full = full.where(full != 0)
    refl = surface_reflectance(full, ["red", "nir", "blue", "green", "swir1", "swir2"], sensor="landsat8")
    win = {"y": slice(r0, r0 + h), "x": slice(c0, c0 + w)}
    np.testing.assert_array_equal(got[0], refl["red"].isel(**win).values)
    tex = glcm_texture(refl["nir"], 5, 16, value_range=(0.0, 0.6))
    np.testing.assert_array_equal(got[6:14], tex.isel(**win).values)
    np.testing.assert_array_equal(got[4:6], tasseled_cap(refl, sensor="landsat8", variables=("TCB", "TCW"))
                                  .isel(**win).values)
    dem = make_raster(smooth_field((H, W), seed=5, scale=300, offset=900).astype("float32").astype(float))
    ter = terrain_variables(dem, ["slope", "tpi", "plan_curvature"])
    np.testing.assert_allclose(got[14:], ter.isel(**win).values, rtol=1e-6, atol=1e-6)
    # the cloud is masked in the spectral layers, not in terrain
    assert np.isnan(got[2, 40 - r0, 50 - c0]) and np.isfinite(got[14, 40 - r0, 50 - c0])
    # re-running is skipped (up to date)
    assert run_pipeline(cfg, ["features"])[0].status == "skipped"


def test_stage_errors(project, tmp_path):
    cfg = load_config(project)
    inp = tmp_path / "inputs"
    dn = landsat_dn(2021, False)
    dn[6] = 1 << 3                                   # every pixel cloudy
    write_tif(inp / "L8_2021.tif", dn, L8, nodata=0)
    with pytest.raises(InputError, match="every pixel of the monitoring area is nodata or masked"):
        run_pipeline(cfg, ["features"])
    write_tif(inp / "L8_2021.tif", landsat_dn(2021, False)[[0, 1, 2, 4, 5, 6]], [L8[i] for i in (0, 1, 2, 4, 5, 6)],
              nodata=0)
    with pytest.raises(InputError, match="no band 'nir' \\(needed by feature band nir\\)"):  # check's words
        run_pipeline(cfg, ["features"])
    write_tif(inp / "L8_2021.tif", landsat_dn(2021, False), L8, nodata=0)
    write_tif(inp / "dem.tif", np.ones((2, H, W), "float32"), ["a", "b"])
    with pytest.raises(InputError, match="DEM .*has 2 bands"):
        run_pipeline(cfg, ["features"], force=True)
    write_tif(inp / "dem.tif", np.ones((H, W), "float32"), x0=X0 + 50000)       # 50 km east: no overlap
    with pytest.raises(InputError, match="DEM .*does not overlap the monitoring area"):  # check's message
        run_pipeline(cfg, ["features"], force=True)


def test_config_rejects_unknown_names(project):
    from minecarbon.errors import ConfigError

    text = project.read_text(encoding="utf-8").replace('indices = ["NDVI", "ARVI"]', 'indices = ["NDVI", "NDRE"]')
    project.write_text(text.replace('sensor = "landsat8"', 'sensor = "landsat10"'), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(project)
    assert "NDRE" in str(exc.value) and "landsat10" in str(exc.value)


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------
def run_cli(*args):
    return CliRunner().invoke(main, ["tool", *map(str, args)])


def test_cli_tools(tmp_path):
    src = write_tif(tmp_path / "l8.tif", landsat_dn(2021, True), L8, nodata=0)
    dem = write_tif(tmp_path / "dem.tif", smooth_field((H, W), seed=5, scale=300, offset=900).astype("float32"))
    r = run_cli("indices", src, tmp_path / "idx.tif", "--indices", "NDVI,EVI", "--sensor", "landsat8", "--json",
                "--chunk-px", 64)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["bands"] == ["NDVI", "EVI"]
    with rasterio.open(tmp_path / "idx.tif") as s:
        ndvi = s.read(1)
        assert s.descriptions == ("NDVI", "EVI")
    red = landsat_dn(2021, True)[2] * 2.75e-5 - 0.2
    nir = landsat_dn(2021, True)[3] * 2.75e-5 - 0.2
    expected = ((nir - red) / (nir + red)).astype("float32")
    ok = np.isfinite(ndvi)
    assert not ok[42, 52] and not ok[0, 0] and ok.sum() == H * W - 48 - 1   # cloud and nodata masked
    np.testing.assert_allclose(ndvi[ok], expected[ok], rtol=1e-5)
    r = run_cli("tasseled-cap", src, tmp_path / "tc.tif", "--sensor", "landsat8", "--vars", "TCB,TCG,TCW,TCA")
    assert r.exit_code == 0, r.output
    r = run_cli("texture", src, tmp_path / "tex.tif", "--band", "SR_B5", "--window", 3, "--measures",
                "entropy,contrast")
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "tex.tif") as s:
        assert s.descriptions == ("SR_B5_glcm_entropy", "SR_B5_glcm_contrast")
    r = run_cli("terrain", dem, tmp_path / "ter.tif", "--vars", "slope,aspect,tri")
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "ter.tif") as s:
        assert s.descriptions == ("slope", "aspect", "tri")


def test_cli_bad_rasters(tmp_path):
    nocrs = write_tif(tmp_path / "nocrs.tif", np.ones((2, 5, 5), "float32"), ["red", "nir"], crs=None)
    r = run_cli("indices", nocrs, tmp_path / "o.tif", "--indices", "NDVI")
    assert r.exit_code == 2 and "has no CRS" in r.output and "Traceback" not in r.output
    empty = write_tif(tmp_path / "empty.tif", np.zeros((2, 5, 5), "float32"), ["red", "nir"], nodata=0)
    r = run_cli("indices", empty, tmp_path / "o.tif", "--indices", "NDVI")
    assert r.exit_code == 2 and "every pixel is nodata" in r.output
    r = run_cli("indices", empty, tmp_path / "o.tif", "--indices", "NDVI", "--bands", "nir=5")
    assert r.exit_code == 2 and "has 2 band(s), but band 5" in r.output
    geo = write_tif(tmp_path / "geo.tif", np.ones((5, 5), "float32"), crs="EPSG:4326", x0=110.0, y0=36.0)
    r = run_cli("terrain", geo, tmp_path / "o.tif", "--vars", "slope")
    assert r.exit_code == 2 and "geographic" in r.output
    two = write_tif(tmp_path / "two.tif", np.ones((2, 5, 5), "float32"))
    r = run_cli("terrain", two, tmp_path / "o.tif")
    assert r.exit_code == 2 and "2 bands" in r.output
    r = run_cli("texture", two, two)
    assert r.exit_code == 2 and "is the input file" in r.output
    r = run_cli("tasseled-cap", two, tmp_path / "o.tif")
    assert r.exit_code == 2 and "needs a sensor" in r.output

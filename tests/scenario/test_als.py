"""The simulated airborne laser scan (minecarbon.scenario.als) of the tiny scenario.

Checks against independent computations: the DEM raster interpolated with
scipy's RegularGridInterpolator (ground returns), per-pixel maxima of the
returns' heights above that surface (canopy truth), the plot tallies' tree
heights, and a brute-force crown search over every tree of a pixel.

Tolerances (documented in docs/scenario.md):

* ground returns lie on the bilinear DEM within 0.3 m (the simulated range
  noise is N(0, 0.05 m); 0.3 m is 6 SD; LAS coordinates are stored to 0.01 m);
* the truth raster holds the stand's *dominant* height (median of the 100
  largest trees/ha), while the tallest crown in a 30 m pixel is usually a bit
  taller: the per-pixel maximum return height lies within 25 % + 1 m of the
  truth on 90 % of the stocked pixels and its median relative difference is
  between -5 % and +15 %;
* on pixels without a stand every return is below 1 m (low vegetation
  0.05-0.6 m plus noise).
"""

from __future__ import annotations

import hashlib
import json
import tomllib

import geopandas as gpd
import laspy
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.windows import Window
from scipy.interpolate import RegularGridInterpolator
from shapely.geometry import box

from minecarbon.config import load_config
from minecarbon.lidar import read_cloud
from minecarbon.scenario import als, build_world
from minecarbon.scenario.simulation import _tree_carbon
from minecarbon.scenario.species import SPECIES, chapman_richards
from minecarbon.scenario.writer import project_toml

END = 2024


@pytest.fixture(scope="module")
def cloud(tiny):
    """All returns of the tiny scenario's tiles, in file order."""
    parts = {k: [] for k in ("x", "y", "z", "classification", "return_number", "number_of_returns")}
    for f in sorted((tiny.out / "inputs" / "als").glob("*.laz")):
        las = laspy.read(f)
        for k, arrays in parts.items():
            arrays.append(np.asarray(getattr(las, k)))
    return {k: np.concatenate(v) for k, v in parts.items()}


@pytest.fixture(scope="module")
def rasters(tiny):
    out = {}
    for key, rel in (("dem", "inputs/dem.tif"), ("ch", f"truth/canopy_height_{END}.tif"),
                     ("ft", f"truth/forest_type_{END}.tif")):
        with rasterio.open(tiny.out / rel) as src:
            out[key] = src.read(1)
            out["transform"] = src.transform
    return out


def _hag(cloud, rasters):
    """Heights above the DEM (scipy bilinear between pixel centres); NaN outside the centres' hull."""
    t = rasters["transform"]
    n = rasters["dem"].shape[0]
    xc = t.c + (np.arange(n) + 0.5) * t.a
    yc = t.f + (np.arange(n) + 0.5) * t.e
    f = RegularGridInterpolator((yc[::-1], xc), rasters["dem"][::-1].astype(float))
    x, y = cloud["x"], cloud["y"]
    inside = (x >= xc[0]) & (x <= xc[-1]) & (y <= yc[0]) & (y >= yc[-1])
    hag = np.full(x.shape, np.nan)
    hag[inside] = cloud["z"][inside] - f(np.column_stack([y[inside], x[inside]]))
    return hag


def test_tiles_are_laz_with_the_project_crs(tiny):
    summary = json.loads((tiny.out / "truth" / "als_points.json").read_text(encoding="utf-8"))
    files = sorted(p.name for p in (tiny.out / "inputs" / "als").glob("*.laz"))
    assert files == sorted(t["file"] for t in summary["tiles"]) and len(files) == 4
    total = 0
    for t in summary["tiles"]:
        path = tiny.out / "inputs" / "als" / t["file"]
        with laspy.open(path) as r:
            h = r.header
            assert str(h.version) == "1.4" and h.point_format.id == 6
            assert h.parse_crs().to_epsg() == 32649
            assert h.point_count == t["points"]
        c = read_cloud(path, what="ALS tile")  # the project's reader accepts it and keeps the CRS
        assert c.crs.to_epsg() == 32649
        x, y = c.xyz[:, 0], c.xyz[:, 1]
        assert t["xmin"] <= x.min() and x.max() <= t["xmax"] and t["ymin"] <= y.min() and y.max() <= t["ymax"]
        # tiles on the kilometre grid, named after their lower-left corner (km)
        e_km, n_km = (int(v) for v in t["file"][4:-4].split("_"))
        assert e_km * 1000 <= t["xmin"] < (e_km + 1) * 1000 and n_km * 1000 <= t["ymin"] < (n_km + 1) * 1000
        total += t["points"]
    assert total == summary["points"]
    # the tiles cover the monitoring area (boundary + 300 m) and the pulse density is the setting
    boundary = gpd.read_file(tiny.out / "inputs" / "boundary.gpkg").buffer(300).union_all()
    tiles = gpd.GeoSeries([box(t["xmin"], t["ymin"], t["xmax"], t["ymax"]) for t in summary["tiles"]]).union_all()
    assert boundary.difference(tiles).area < 1e-6
    assert summary["pulse_density_per_m2"] == pytest.approx(als.ALS_PULSES_PER_M2, rel=0.01)
    assert summary["pulses"] == pytest.approx(als.ALS_PULSES_PER_M2 * summary["area_m2"], rel=0.01)


def test_returns_are_numbered_per_pulse(cloud, rasters):
    rn, nr, cls = cloud["return_number"], cloud["number_of_returns"], cloud["classification"]
    assert set(np.unique(cls)) == {1, 2}
    assert rn.min() == 1 and np.all(rn <= nr) and nr.max() == 3
    # returns of a pulse follow each other: a first return starts each pulse and returns count up to n
    starts = np.flatnonzero(rn == 1)
    sizes = np.diff(np.append(starts, rn.size))
    assert np.array_equal(sizes, nr[starts])
    pulse = np.repeat(np.arange(starts.size), sizes)
    assert np.array_equal(rn, np.arange(rn.size) - starts[pulse] + 1)
    assert np.all(cloud["x"] == cloud["x"][starts][pulse]) and np.all(cloud["y"] == cloud["y"][starts][pulse])
    # first returns of multi-return pulses hit vegetation, third returns the ground, last returns often ground
    multi = nr > 1
    last = multi & (rn == nr)
    assert np.all(cls[multi & (rn == 1)] == 1) and np.all(cls[rn == 3] == 2)
    assert 0.4 < (cls[last] == 2).mean() < 0.9
    # later returns are lower
    z_first = cloud["z"][starts][pulse]
    assert np.all(cloud["z"][rn > 1] <= z_first[rn > 1] + 0.3)
    # a plausible mix: most pulses over forest give more than one return, some reach the ground
    hag = _hag(cloud, rasters)
    canopy = (cls[starts] == 1) & (hag[starts] > 2.0)  # pulses whose first return is in a crown
    assert canopy.sum() > 50_000
    assert 0.4 < (nr[starts][canopy] > 1).mean() < 0.9
    last_cls = cls[starts + nr[starts] - 1]
    assert 0.15 < (last_cls[canopy] == 2).mean() < 0.5  # gaps in the crowns


def test_ground_returns_lie_on_the_dem(cloud, rasters):
    hag = _hag(cloud, rasters)
    g = (cloud["classification"] == 2) & np.isfinite(hag)
    assert g.sum() > 100_000
    assert np.abs(hag[g]).max() < 0.3
    assert abs(hag[g].mean()) < 0.005 and 0.045 < hag[g].std() < 0.055  # the simulated N(0, 0.05 m) noise
    veg = (cloud["classification"] == 1) & np.isfinite(hag)
    assert hag[veg].min() > -0.3


def test_pixel_maxima_match_the_canopy_truth(cloud, rasters):
    hag = _hag(cloud, rasters)
    t = rasters["transform"]
    n = rasters["ch"].shape[0]
    ok = np.isfinite(hag)
    col = np.floor((cloud["x"][ok] - t.c) / t.a).astype(int)
    row = np.floor((cloud["y"][ok] - t.f) / t.e).astype(int)
    pid = row * n + col
    mx = np.full(n * n, -np.inf)
    np.maximum.at(mx, pid, hag[ok])
    count = np.bincount(pid, minlength=n * n)
    mx, count = mx.reshape(n, n), count.reshape(n, n)
    ch = rasters["ch"]
    covered = count >= 40  # pixels wholly inside the tiles and the DEM's centre hull
    stocked = covered & (ch > 0)
    assert stocked.sum() > 1000
    rel = (mx[stocked] - ch[stocked]) / ch[stocked]
    assert -0.05 < np.median(rel) < 0.15
    assert np.mean(np.abs(mx[stocked] - ch[stocked]) <= 0.25 * ch[stocked] + 1.0) > 0.9
    empty = covered & (ch == 0)
    assert empty.sum() > 500 and mx[empty].max() < 1.0
    # every forest pixel of the end year carries a canopy; mined pixels carry none
    ft = rasters["ft"]
    assert np.all(ch[ft > 0] > 1.3)
    assert 2.0 < np.median(ch[ft > 0]) < 30.0 and ch.max() < 40.0


def test_canopy_truth_raster_and_plot_tallies(tiny, rasters):
    with rasterio.open(tiny.out / f"truth/canopy_height_{END}.tif") as src:
        assert src.crs.to_epsg() == 32649 and src.dtypes[0] == "float32" and src.nodata == -9999.0
        assert src.descriptions == ("canopy_height",) and src.tags().get("units") == "m"
        assert src.width == src.height == 64 and src.res == (30.0, 30.0)
    # the dominant height of a plot pixel agrees with the tallied trees (drawn independently in .trees)
    truth = pd.read_csv(tiny.out / "truth" / "plots_truth.csv", encoding="utf-8-sig")
    trees = pd.read_csv(tiny.out / "inputs" / "field" / "trees.csv", encoding="utf-8-sig")
    truth = truth[(truth.survey_year == END) & (truth.n_trees >= 10)]
    q90 = trees.groupby("plot_id").height_m.quantile(0.9).reindex(truth.plot_id).to_numpy()
    ch = rasters["ch"][truth.row.to_numpy(), truth["col"].to_numpy()]
    assert len(ch) >= 8
    assert np.corrcoef(ch, q90)[0, 1] > 0.8
    assert 0.85 < np.median(ch / q90) < 1.15


def test_dominant_height_grows_with_the_stand():
    dh = als.DominantHeight(_tree_carbon())
    age = np.arange(1.0, 100.0)
    for sp in SPECIES:
        agc = chapman_richards(age, sp.agc_max_t_ha, sp.k_per_yr, sp.p)
        for ft in (1, 2, 3):
            h = dh.structure(np.full(age.shape, sp.code), age, agc, np.full(age.shape, ft))["height_m"]
            grown = h[h > 0]
            assert np.all(np.diff(grown) >= -1e-9), (sp.name_zh, ft)
            assert grown[-1] <= sp.hmax_m
        sparse = dh.structure(np.full(age.shape, sp.code), age, 0.32 * agc, np.full(age.shape, 4))["height_m"]
        assert sparse[79] > sparse[9] > 0
    # no stand or too little carbon for a tree (as in the tallies): no canopy
    s = dh.structure(np.array([0, 1, 1]), np.array([30.0, 30.0, 2.0]), np.array([40.0, 40.0, 0.3]),
                     np.array([0, 1, 0]))
    assert s["height_m"][0] == 0 and s["height_m"][1] > 5 and s["height_m"][2] == 0


def test_crown_search_matches_brute_force():
    """The 3 x 3-cell crown kernel equals the highest crown over all trees of the pixel."""
    world = build_world("tiny", 0, 2005, END)
    dh = als.DominantHeight(_tree_carbon())
    strip = als._strip(world, dh, Window(0, 0, 20, 12))
    rng = np.random.default_rng(5)
    row = rng.integers(0, 12, 4000)
    col = rng.integers(0, 20, 4000)
    u, v = rng.uniform(0, 30, (2, 4000))
    top, base, hit = als._crowns(strip, world, row, col, u, v)
    t = als.crown_table(world, strip, int(row.min()), int(row.max()) + 1, int(col.min()), int(col.max()) + 1)
    c0, nc = int(col.min()), int(col.max()) + 1 - int(col.min())
    r0 = int(row.min())
    for k in range(0, 4000, 7):
        p = (row[k] - r0) * nc + (col[k] - c0)
        sl = slice(t["offset"][p], t["offset"][p + 1])
        d = np.hypot(u[k] - t["x"][sl], v[k] - t["y"][sl]) / t["radius_m"][sl]
        z = np.where(t["conifer"][sl], t["height_m"][sl] - t["length_m"][sl] * d,
                     t["height_m"][sl] - t["length_m"][sl] * d * d)
        z = np.where(d < 1.0, z, -1.0)
        expect = z.max() if z.size else -1.0
        assert top[k] == pytest.approx(expect, abs=1e-12)
    assert hit.mean() > 0.3
    assert np.all(base[hit] <= top[hit])


def test_tiles_do_not_depend_on_the_strip():
    """A tile generated from its own window equals the tile generated from a whole row of tiles."""
    world = build_world("tiny", 0, 2005, END)
    dh = als.DominantHeight(_tree_carbon())
    params = als.AlsParams(pulses_per_m2=0.05)
    tiles = als.als_tiles(world, params.tile_m)
    window, row_tiles = next(iter(als._strips(world, tiles)))
    tile = row_tiles[-1]
    wide = als.tile_points(world, als._strip(world, dh, window), tile, params)
    own_window, _ = next(iter(als._strips(world, [tile])))
    assert own_window.width < window.width
    own = als.tile_points(world, als._strip(world, dh, own_window), tile, params)
    for k in wide:
        assert np.array_equal(wide[k], own[k]), k


def test_deterministic_for_a_seed(tiny, tiny_again):
    a = sorted((tiny.out / "inputs" / "als").glob("*.laz"))
    b = sorted((tiny_again.out / "inputs" / "als").glob("*.laz"))
    assert [p.name for p in a] == [p.name for p in b]
    for pa, pb in zip(a, b):
        assert hashlib.sha256(pa.read_bytes()).digest() == hashlib.sha256(pb.read_bytes()).digest(), pa.name
    for rel in ("truth/als_points.json",):
        assert (tiny.out / rel).read_bytes() == (tiny_again.out / rel).read_bytes()


def test_other_seed_gives_other_points():
    dh = als.DominantHeight(_tree_carbon())
    params = als.AlsParams(pulses_per_m2=0.02)
    out = []
    for seed in (0, 1):
        world = build_world("tiny", seed, 2005, END)
        tile = als.Tile("als_380_4099.laz", 380, 4099, 380000.0, 4099000.0, 381000.0, 4100000.0)
        window, _ = next(iter(als._strips(world, [tile])))
        out.append(als.tile_points(world, als._strip(world, dh, window), tile, params))
    assert len(out[0]["x"]) != len(out[1]["x"]) or not np.allclose(out[0]["z"], out[1]["z"])


def test_project_file_names_the_scan_in_one_lidar_table(tiny):
    text = tiny.toml.read_text(encoding="utf-8")
    assert text.count("[lidar]") == 1
    assert tomllib.loads(text)["lidar"]["als"] == "inputs/als/*.laz"
    cfg = load_config(tiny.toml)
    assert cfg.lidar.als == "inputs/als/*.laz"
    paths = cfg.input_paths()
    names = sorted(k for k in paths if k.startswith("lidar.als["))
    assert names == sorted(f"lidar.als[{p.name}]" for p in (tiny.out / "inputs" / "als").glob("*.laz"))
    meta = json.loads((tiny.out / "truth" / "scenario.json").read_text(encoding="utf-8"))
    assert meta["counts"]["als_tiles"] == len(names)


def test_project_toml_without_scan_has_no_lidar_table():
    paths = {"boundary": "b.gpkg", "images": "i_{year}.tif", "temperature": "t_{year}.tif",
             "precipitation": "p_{year}.tif", "truth": "truth"}
    without = project_toml("x", 2005, 2024, 2005, 2008, "EPSG:32649", paths, 0.47, "s")
    assert "[lidar]" not in without
    with_als = project_toml("x", 2005, 2024, 2005, 2008, "EPSG:32649", {**paths, "als": "a/*.laz"}, 0.47, "s")
    assert tomllib.loads(with_als)["lidar"] == {"als": "a/*.laz"}


def test_params_are_checked():
    with pytest.raises(ValueError, match="pulse density"):
        als.AlsParams(pulses_per_m2=0.0)
    with pytest.raises(ValueError, match="tile side"):
        als.AlsParams(tile_m=5.0)


def test_scan_simulated_beside_the_rasters_is_the_scan_simulated_alone(tiny, tmp_path):
    """``simulate`` runs the ALS survey in a second thread beside the rasters and the field data (issue #18);
    the tiles are those of :func:`simulate_als` run alone, with its own stand-structure model, byte for byte."""
    world = build_world("tiny", 0, 2005, END)
    summary = als.simulate_als(world, tmp_path, als.DominantHeight(_tree_carbon()), als.AlsParams())
    threaded = sorted((tiny.out / "inputs" / "als").glob("*.laz"))
    assert [p.name for p in threaded] == sorted(t["file"] for t in summary["tiles"])
    for p in threaded:
        assert p.read_bytes() == (tmp_path / p.name).read_bytes(), p.name
    assert json.loads((tiny.out / "truth" / "als_points.json").read_text(encoding="utf-8")) == \
        json.loads(json.dumps(summary))

"""Airborne scans in the `lidar` stage and the ALS canopy metrics in the feature stack, on the tiny simulated area.

The ALS is synthetic with a known answer: a planar ground (so the TIN of the
class-2 points is exact), vegetation returns with known heights, noise points,
and two tiles that overlap across a pixel column.  The per-pixel and per-plot
metrics are recomputed here with pandas from the points, independently of
:mod:`minecarbon.lidar.metrics`.
"""

from __future__ import annotations

from pathlib import Path

import laspy
import numpy as np
import pandas as pd
import pytest
import rasterio

from minecarbon.config import load_config
from minecarbon.pipeline import run_pipeline

DENSITY = 0.12  # returns per m2


def _plane(x, y):
    return 850.0 + 0.01 * (x - 380000.0) - 0.02 * (y - 4098000.0)


def _write_tile(path: Path, x, y, z, cls, rn, nr, crs: str) -> None:
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.offsets = [float(np.floor(x.min())), float(np.floor(y.min())), float(np.floor(z.min()))]
    header.scales = [0.001, 0.001, 0.001]
    header.add_crs(__import__("pyproj").CRS.from_user_input(crs))
    las = laspy.LasData(header)
    las.x, las.y, las.z = x, y, z
    las.classification = cls
    las.return_number = rn
    las.number_of_returns = nr
    path.parent.mkdir(parents=True, exist_ok=True)
    las.write(str(path))


@pytest.fixture(scope="module")
def als_project(tmp_path_factory):
    from minecarbon.scenario import simulate

    root = tmp_path_factory.mktemp("als_tiny")
    toml = Path(simulate(root, size="tiny", seed=5, start_year=2014, end_year=2016, als_pulses_per_m2=None))
    cfg = load_config(toml)
    with rasterio.open(cfg.year_path(cfg.images.path, cfg.project.base)) as src:
        b = src.bounds
        crs = src.crs.to_string()
    rng = np.random.default_rng(42)
    n = int(DENSITY * (b.right - b.left) * (b.top - b.bottom))
    x = rng.uniform(b.left, b.right, n)
    y = rng.uniform(b.bottom, b.top, n)
    canopy = 6.0 + 5.0 * np.sin((x - b.left) / 300.0) ** 2 + 4.0 * ((y - b.bottom) / (b.top - b.bottom))
    ground = rng.uniform(size=n) < 0.35
    hag = np.where(ground, 0.0, canopy * rng.uniform(0.3, 1.0, n))
    rn = np.where(ground, 2, 1).astype(np.uint8)
    nr = np.full(n, 2, dtype=np.uint8)
    cls = np.where(ground, 2, 1).astype(np.uint8)
    noise = rng.uniform(size=n) < 0.002  # birds: class 7, far above the canopy
    hag = np.where(noise, 150.0, hag)
    cls = np.where(noise, 7, cls).astype(np.uint8)
    z = _plane(x, y) + hag
    split = b.left + 0.5 * (b.right - b.left) + 7.0  # not on a pixel edge: pixels shared by both tiles
    west = x < split + 20.0                           # the tiles overlap by 20 m
    east = x >= split
    both = west & east
    for name, m in (("west", west), ("east", east & ~both)):  # overlap points written once (no duplicates)
        _write_tile(root / "inputs" / "als" / f"{name}.laz", x[m], y[m], z[m], cls[m], rn[m], nr[m], crs)
    text = toml.read_text(encoding="utf-8")
    lidar = ('als = "inputs/als/*.laz"\nchm_resolution_m = 2.0\n'
             'canopy_metrics = ["max", "mean", "p50", "p95", "cover_2m", "count"]\n')
    text = text.replace("[lidar]\n", "[lidar]\n" + lidar) if "[lidar]\n" in text else text + "\n[lidar]\n" + lidar
    text = text.replace("[features]\n", "[features]\nlidar_canopy = true\n") if "[features]\n" in text \
        else text + "\n[features]\nlidar_canopy = true\n"
    toml.write_text(text, encoding="utf-8")
    cfg = load_config(toml)
    # the points as stored (mm coordinates), read back with laspy; heights above the known plane
    frames = []
    for f in sorted((root / "inputs" / "als").glob("*.laz")):
        las = laspy.read(f)
        lx, ly, lz = np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)
        frames.append(pd.DataFrame({"x": lx, "y": ly, "hag": lz - _plane(lx, ly), "rn": np.asarray(las.return_number),
                                    "cls": np.asarray(las.classification)}))
    return cfg, pd.concat(frames, ignore_index=True)


def _pixel_frame(cfg, points: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, dict]:
    with rasterio.open(path) as src:
        t = src.transform
        data = {d: src.read(i + 1) for i, d in enumerate(src.descriptions)}
    p = points[points["cls"] != 7].copy()
    p["col"] = np.floor((p["x"] - t.c) / t.a).astype(int)
    p["row"] = np.floor((p["y"] - t.f) / t.e).astype(int)
    ny, nx = next(iter(data.values())).shape
    p["on_grid"] = (p["col"] >= 0) & (p["col"] < nx) & (p["row"] >= 0) & (p["row"] < ny)
    return p, data


def test_als_outputs_against_a_direct_computation(als_project):
    cfg, points = als_project
    results = run_pipeline(cfg, ["units", "lidar"])
    assert [r.status for r in results][-1] == "ran"
    out = cfg.workspace / "outputs" / "lidar"
    p, data = _pixel_frame(cfg, points, out / "als_canopy_metrics.tif")
    assert sorted(data) == sorted(f"als_{m}" for m in ("max", "mean", "p50", "p95", "cover_2m", "count"))
    q = p[p["on_grid"]]
    g = q.groupby(["row", "col"])["hag"]
    first = q[q["rn"] == 1].groupby(["row", "col"])["hag"]
    expect = {"als_max": g.max(), "als_mean": g.mean(), "als_p50": g.quantile(0.5), "als_p95": g.quantile(0.95),
              "als_count": g.size(), "als_cover_2m": first.apply(lambda h: float((h > 2.0).mean()))}
    rows, cols = np.array([k[0] for k in expect["als_max"].index]), np.array([k[1] for k in expect["als_max"].index])
    for name, e in expect.items():
        e = e.reindex(expect["als_max"].index)
        got = data[name][rows, cols]
        # beyond the outermost ground returns the terrain is the nearest ground return, not the plane
        np.testing.assert_allclose(got, e.to_numpy(dtype=float), atol=0.03, rtol=1e-4, err_msg=name)
        assert np.median(np.abs(got - e.to_numpy(dtype=float))) < 1e-3, name
    assert np.isfinite(data["als_max"]).all()  # the scans cover the whole grid; noise (150 m) never counts
    assert np.nanmax(data["als_max"]) < 16.0
    # plot metrics: the returns in each plot square
    sheet = pd.read_csv(cfg.path(cfg.inputs.plots), dtype={"plot_id": str})
    got = pd.read_csv(out / "als_plots.csv", dtype={"plot_id": str}).set_index("plot_id")
    for r in sheet.head(5).itertuples():
        h = r.size_m / 2
        sel = p[(np.abs(p["x"] - r.x) <= h) & (np.abs(p["y"] - r.y) <= h)]
        assert got.at[r.plot_id, "n_returns"] == len(sel)
        assert got.at[r.plot_id, "als_p95"] == pytest.approx(sel["hag"].quantile(0.95), abs=0.03)
    # CHM: the highest return per 2 m cell; treetops at CHM heights
    with rasterio.open(out / "als_chm.tif") as src:
        chm = src.read(1)
        assert src.res == (2.0, 2.0) and src.crs.to_string() == cfg.project.crs
    assert np.nanmax(chm) == pytest.approx(p["hag"].max(), abs=0.03)
    import geopandas as gpd

    tops = gpd.read_file(out / "als_treetops.gpkg")
    assert len(tops) > 100 and (tops["height_m"] >= cfg.lidar.treetop_min_height_m).all()


def test_lidar_canopy_bands_enter_the_feature_stack(als_project):
    cfg, _ = als_project
    run_pipeline(cfg, ["units", "lidar", "features"])
    from minecarbon.pipeline import STAGES_BY_NAME

    assert "lidar" in STAGES_BY_NAME["features"].upstream_for(cfg)
    out = cfg.workspace / "outputs"
    with rasterio.open(out / "lidar" / "als_canopy_metrics.tif") as src:
        ref = {d: src.read(i + 1) for i, d in enumerate(src.descriptions)}
    for year in cfg.project.years:
        with rasterio.open(out / "features" / f"features_{year}.tif") as src:
            names = list(src.descriptions)
            for name in ("als_max", "als_p95", "als_cover_2m"):
                assert name in names
                np.testing.assert_allclose(src.read(names.index(name) + 1), ref[name], rtol=1e-6)


def test_too_many_returns_for_the_memory_is_a_clear_error(als_project):
    """Before pooling, the returns counted in the tile headers are checked against the available memory."""
    from minecarbon.errors import InputError
    from minecarbon.pipeline.stages._als import BYTES_PER_RETURN, als_paths, check_memory, tile_counts, workers

    cfg, points = als_project
    paths = als_paths(cfg)
    n = check_memory(paths, available=10**15)
    assert n == len(points)  # header counts = the points written
    # the tiles are streamed: what must fit is the largest tiles processed at once (one per core)
    counts = tile_counts(paths)
    at_once = sum(sorted(counts, reverse=True)[:workers(len(paths))])
    assert sum(counts) == n and at_once <= n
    with pytest.raises(InputError, match="Thin the tiles") as err:
        check_memory(paths, available=at_once * BYTES_PER_RETURN)  # needs more than 80 % of it
    assert f"{n:,} returns" in str(err.value) and f"hold {at_once:,}" in str(err.value)
    check_memory(paths, available=2 * at_once * BYTES_PER_RETURN)  # fits: no error, whatever the total


@pytest.mark.parametrize("keep_decoded", [True, False], ids=["decoded-once", "decoded-twice"])
def test_streamed_tiles_equal_the_pooled_returns(als_project, monkeypatch, keep_decoded):
    """The stage streams the tiles (issue 18); the reference pools every return (the stage before issue 18):
    the CHM, the canopy metrics and the plot metrics are identical, value for value - whether the first pass
    keeps the decoded tiles for the second (the default when they fit on the disk) or not."""
    from minecarbon.lidar import canopy_height_model, pixel_metrics, plot_metrics
    from minecarbon.lidar.cloud import PointCloud
    from minecarbon.pipeline.stages import _als_tiles
    from minecarbon.pipeline.stages._als import MAX_HEIGHT_M, als_paths, pooled_returns
    from minecarbon.inputs.grid import project_grid

    cfg, _ = als_project
    assert _als_tiles.decoded_fit(als_paths(cfg), cfg.workspace.parent)  # a few small tiles fit on any disk
    monkeypatch.setattr(_als_tiles, "decoded_fit", lambda paths, folder, share=0.25: keep_decoded)
    run_pipeline(cfg, ["units", "lidar"], force=True)
    out = cfg.workspace / "outputs" / "lidar"
    assert not list(cfg.workspace.glob(".als-tiles-*"))  # the tile files are gone
    lid = cfg.lidar
    tmpl, _, _ = project_grid(cfg)
    pts = pooled_returns(cfg, als_paths(cfg), tmpl.rio.crs)
    chm = canopy_height_model(PointCloud(pts["xyz"], tmpl.rio.crs, {}), lid.chm_resolution_m, hag=pts["hag"],
                              pit_threshold_m=lid.pit_fill_threshold_m, max_height_m=MAX_HEIGHT_M)
    with rasterio.open(out / "als_chm.tif") as src:
        np.testing.assert_array_equal(src.read(1), chm.values)
        assert src.transform == chm.rio.transform()
    ref = pixel_metrics(pts["x"], pts["y"], pts["hag"], tmpl, metrics=lid.canopy_metrics,
                        cover_threshold_m=lid.cover_threshold_m, return_number=pts["return_number"])
    with rasterio.open(out / "als_canopy_metrics.tif") as src:
        np.testing.assert_array_equal(src.read(), ref.values)
    got = pd.read_csv(out / "als_plots.csv", dtype={"plot_id": str})
    sheet = pd.read_csv(cfg.path(cfg.inputs.plots), dtype={"plot_id": str})
    for r, g in zip(sheet.itertuples(), got.itertuples()):
        h = r.size_m / 2
        inside = (np.abs(pts["x"] - r.x) <= h) & (np.abs(pts["y"] - r.y) <= h)
        assert g.n_returns == inside.sum()
        m = plot_metrics(pts["hag"][inside], lid.canopy_metrics, cover_threshold_m=lid.cover_threshold_m,
                         return_number=pts["return_number"][inside])
        assert getattr(g, "als_p95") == pytest.approx(m["p95"], rel=1e-15, abs=1e-12)
        assert getattr(g, "als_mean") == pytest.approx(m["mean"], rel=1e-15, abs=1e-12)


def test_tls_plots_in_parallel_only_when_the_largest_scans_fit(als_project):
    """TLS plots run one per core unless the largest scans (header point counts) would not fit side by side
    in half the available memory."""
    from minecarbon.pipeline.stages._als import als_paths, tile_counts, workers
    from minecarbon.pipeline.stages.lidar import TLS_BYTES_PER_POINT, tls_workers

    cfg, _ = als_project
    paths = als_paths(cfg)  # any LAS files do: only their headers are read
    k = workers(len(paths))
    need = k * max(tile_counts(paths)) * TLS_BYTES_PER_POINT
    assert tls_workers(paths, available=2 * need) == k
    assert tls_workers(paths, available=2 * need - 2) == max(1, k - 1)
    assert tls_workers(paths, available=1) == 1



def _tile_passes(cfg):
    """The stage's three passes over the tiles: tile extents, pixels hit, CHM and canopy metrics."""
    from minecarbon.pipeline.stages import _als_tiles as tiles
    from minecarbon.pipeline.stages._als import MAX_HEIGHT_M, TILE_BUFFER_M, _to_crs, als_paths, dtm_cell_m
    from minecarbon.inputs.grid import project_grid

    lid = cfg.lidar
    tmpl, _, _ = project_grid(cfg)
    crs = tmpl.rio.crs
    with tiles.tile_folder(cfg.workspace) as folder:
        store = tiles.TileStore(als_paths(cfg), folder)
        tiles.index_tiles(store, crs, _to_crs, lambda msg: None)
        hit, n_first = tiles.normalise_tiles(store, cfg, crs, _to_crs, TILE_BUFFER_M, MAX_HEIGHT_M, dtm_cell_m,
                                             tmpl, lambda msg: None)
        chm = tiles.chm(store, lid.chm_resolution_m, crs, lid.pit_fill_threshold_m, MAX_HEIGHT_M)
        metrics = tiles.pixel_metrics(store, tmpl, lid.canopy_metrics, lid.cover_threshold_m)
        return {"ground_box": store.ground_box, "kept_box": store.kept_box, "kept": store.kept,
                "pixels": np.concatenate(store.pixels), "hit": hit, "n_first": np.array(n_first),
                "chm": chm.values, "metrics": metrics.values}


def test_als_tiles_on_a_cluster_equal_threads(als_project, monkeypatch):
    """Issue 16: the tiles' index, heights above ground and canopy metrics run as tasks on the workers of a
    dask.distributed cluster that adds cores (forced here: this machine counted as 1 core), in other processes;
    every result equals that of the threaded passes (the reference: the same tiles, results in tile order)."""
    distributed = pytest.importorskip("distributed")
    from minecarbon import parallel

    cfg, _ = als_project
    ref = _tile_passes(cfg)
    assert ref["kept"].sum() > 0 and np.isfinite(ref["metrics"]).any()

    monkeypatch.setattr(parallel, "_local_cores", lambda: 1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        assert parallel.cluster_for() is client
        with distributed.get_task_stream(client) as stream:
            got = _tile_passes(cfg)
    keys = " ".join(str(t["key"]) for t in stream.data)
    for fn in ("_index_one", "_normalise_one", "_metrics_one"):  # each pass ran as tasks on the workers
        assert fn in keys, (fn, keys[:300])
    for name, arr in ref.items():
        np.testing.assert_array_equal(got[name], arr, err_msg=name)

"""Benchmark: peak memory of the `lidar` stage's ALS path with N tiles vs 4 N tiles at the same density (issue #18).

The ALS path streams the tiles (``minecarbon.pipeline.stages._als_tiles``): its peak memory should depend
on the size of a tile, not on the number of tiles.  Synthetic scans: square tiles of ``--tile-m`` metres
at ``--density`` returns per m2 (planar ground with 6 % slope, 30 % class-2 ground returns, canopy 0-25 m
of smoothed noise, return numbers 1-3), laid out as a k x k block: k = 2 (4 tiles) and k = 4 (16 tiles).
Each run is a fresh process that does what the stage does - index, heights above ground with the
neighbours' ground, CHM at ``--chm-m`` with pit filling, canopy metrics (9) on a 30 m grid - and reports
its wall time and peak RSS (VmHWM, includes the interpreter and libraries).  With ``--pooled`` the
pooled reference (``pooled_returns``: every return in memory, the stage before issue #18) runs too.

    .venv/bin/python benchmarks/bench_als_tiles.py [--tile-m 250] [--density 10] [--pooled]

The CHM and metrics grids cover the whole area, so they grow with it: they are outputs (the CHM of
16 tiles of 250 m at 0.5 m is 4 M cells, 16 MB as float32); the report prints their size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
RUNS = HERE / "_runs" / "als_tiles"
CRS = "EPSG:32649"
X0, Y0 = 380000.0, 4098000.0
METRICS = ["max", "mean", "std", "p25", "p50", "p75", "p95", "cover_2m", "count"]


def make_tiles(k: int, tile_m: float, density: float) -> list[Path]:
    import laspy
    import pyproj
    from scipy import ndimage

    folder = RUNS / f"k{k}_t{tile_m:g}_d{density:g}"
    paths = [folder / f"tile_{r}_{c}.laz" for r in range(k) for c in range(k)]
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    side = k * tile_m
    field = ndimage.gaussian_filter(rng.normal(size=(int(side // 5) + 1, int(side // 5) + 1)), 3)
    field = np.clip((field - field.min()) / (field.max() - field.min()) * 25.0, 0, None)
    for (r, c), p in zip([(r, c) for r in range(k) for c in range(k)], paths):
        n = int(density * tile_m * tile_m)
        x = X0 + c * tile_m + rng.uniform(0, tile_m, n)
        y = Y0 + r * tile_m + rng.uniform(0, tile_m, n)
        ground = rng.uniform(size=n) < 0.3
        canopy = field[((y - Y0) // 5).astype(int), ((x - X0) // 5).astype(int)]
        hag = np.where(ground, 0.0, canopy * rng.uniform(0.2, 1.0, n))
        z = 850.0 + 0.06 * (x - X0) + hag
        header = laspy.LasHeader(point_format=6, version="1.4")
        header.offsets = [float(np.floor(x.min())), float(np.floor(y.min())), 800.0]
        header.scales = [0.001, 0.001, 0.001]
        header.add_crs(pyproj.CRS.from_user_input(CRS))
        las = laspy.LasData(header)
        las.x, las.y, las.z = x, y, z
        las.classification = np.where(ground, 2, 1).astype(np.uint8)
        las.return_number = np.where(ground, 3, rng.integers(1, 3, n)).astype(np.uint8)
        las.number_of_returns = np.full(n, 3, np.uint8)
        las.write(str(p))
    return paths


def _template(k: int, tile_m: float):
    import rioxarray  # noqa: F401
    import xarray as xr
    from rasterio.transform import from_origin

    n = int(np.ceil(k * tile_m / 30.0))
    top = Y0 + n * 30.0
    da = xr.DataArray(np.zeros((n, n), np.float32), dims=("y", "x"),
                      coords={"y": top - 30.0 * (np.arange(n) + 0.5), "x": X0 + 30.0 * (np.arange(n) + 0.5)})
    return da.rio.write_transform(from_origin(X0, top, 30.0, 30.0)).rio.write_crs(CRS)


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def worker(mode: str, k: int, tile_m: float, density: float, chm_m: float) -> dict:
    from minecarbon.lidar import canopy_height_model, pixel_metrics
    from minecarbon.lidar.cloud import PointCloud
    from minecarbon.pipeline.stages import _als, _als_tiles

    paths = make_tiles(k, tile_m, density)
    tmpl = _template(k, tile_m)
    cfg = SimpleNamespace(lidar=SimpleNamespace(ground_method="csf"))
    before = peak_rss_mib()
    t0 = time.perf_counter()
    if mode == "stream":
        with _als_tiles.tile_folder(RUNS / "ws") as folder:
            store = _als_tiles.TileStore(paths, folder)
            _als_tiles.index_tiles(store, tmpl.rio.crs, _als._to_crs, lambda m: None)
            _als_tiles.normalise_tiles(store, cfg, tmpl.rio.crs, _als._to_crs, _als.TILE_BUFFER_M,
                                       _als.MAX_HEIGHT_M, _als.dtm_cell_m, tmpl, lambda m: None)
            chm = _als_tiles.chm(store, chm_m, tmpl.rio.crs, 1.0, _als.MAX_HEIGHT_M)
            met = _als_tiles.pixel_metrics(store, tmpl, METRICS, 2.0)
            n = int(store.kept.sum())
    else:
        pts = _als.pooled_returns(cfg, paths, tmpl.rio.crs)
        chm = canopy_height_model(PointCloud(pts["xyz"], tmpl.rio.crs, {}), chm_m, hag=pts["hag"],
                                  pit_threshold_m=1.0, max_height_m=_als.MAX_HEIGHT_M)
        met = pixel_metrics(pts["x"], pts["y"], pts["hag"], tmpl, metrics=METRICS, return_number=pts["return_number"])
        n = int(pts["x"].size)
    return {"mode": mode, "tiles": len(paths), "returns": n, "wall_s": time.perf_counter() - t0,
            "peak_mib": peak_rss_mib(), "before_mib": before, "chm_cells": int(chm.size),
            "metrics_px": int(met.sizes["x"] * met.sizes["y"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tile-m", type=float, default=250.0)
    ap.add_argument("--density", type=float, default=10.0)
    ap.add_argument("--chm-m", type=float, default=0.5)
    ap.add_argument("--pooled", action="store_true", help="also run the pooled reference")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        mode, k = args.worker
        print(json.dumps(worker(mode, int(k), args.tile_m, args.density, args.chm_m)))
        return
    for k in (2, 4):
        make_tiles(k, args.tile_m, args.density)
    print(f"load before: {os.getloadavg()}")
    res = []
    for mode in (["stream", "pooled"] if args.pooled else ["stream"]):
        for k in (2, 4):
            out = subprocess.run([sys.executable, __file__, "--tile-m", str(args.tile_m), "--density",
                                  str(args.density), "--chm-m", str(args.chm_m), "--worker", mode, str(k)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(out.stderr[-3000:])
            r = json.loads(out.stdout.strip().splitlines()[-1])
            res.append(r)
            print(f"{mode:6s} {r['tiles']:3d} tiles {r['returns']:>11,} returns: {r['wall_s']:7.1f} s, peak RSS "
                  f"{r['peak_mib']:7.0f} MiB (imports {r['before_mib']:.0f} MiB; CHM {r['chm_cells']:,} cells) | load "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
    for mode in {r["mode"] for r in res}:
        a, b = [r for r in res if r["mode"] == mode]
        print(f"{mode}: peak with {b['tiles']} tiles / with {a['tiles']} tiles = {b['peak_mib'] / a['peak_mib']:.3f}")
    (RUNS / "results.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

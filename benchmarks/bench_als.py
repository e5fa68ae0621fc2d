"""Benchmark: airborne laser scans (``[lidar].als``) - 20 million returns in 4 LAZ tiles, end to end and against peers.

* **End to end** in a fresh process, as the `lidar` stage runs it
  (``minecarbon.pipeline.stages._als``): ``pooled_returns`` (read every tile, heights above a TIN of the
  class-2 returns of the tile and of its neighbours within ``TILE_BUFFER_M``), ``canopy_height_model`` at
  0.5 m (highest return per cell, pits filled), ``find_treetops`` and ``pixel_metrics`` on a 30 m grid;
  wall time per step (reading and height normalisation timed separately by wrapping the two library
  calls), points per second and peak memory (VmHWM).
* **Per-pixel metrics** against pandas ``groupby(pixel)`` (max, mean, std with ddof=0, quantiles
  type 7 = pandas' linear default, size, share of first returns above 2 m) and against
  ``scipy.stats.binned_statistic_2d`` (max, mean, count), on the same pooled arrays in the same process:
  time ratio and largest difference.
* **CHM maximum**: ``minecarbon.lidar.chm.rasterize_max`` against ``binned_statistic_2d(statistic="max")``
  on the same points and cells: time ratio and equality.
* **Accuracy**: heights above ground of the pooled returns against the simulated truth
  (``z - ground(x, y)``, the ground surface is analytic), over all returns, near the inner tile edges and
  in the tile interiors; and the same with ``TILE_BUFFER_M = 0`` (every tile normalised with its own ground
  returns only) in another fresh process, to show what the buffer buys at the edges.

The synthetic ALS (cached in ``--workdir``, default ``benchmarks/_runs/als``): 2 km x 2 km in UTM 49N
(EPSG:32649) as 2 x 2 tiles of 1 km; ground 850 m + 6 % / -4 % slope + a gentle curvature (20 m and
-10 m over the area); a stand-height field 0-25 m (smoothed noise, about 11 % gaps) carrying trees on a
jittered 4 m grid with elliptic crowns (radius 1.2 m + 0.15 h); ground returns (class 2, last returns) ~31 %, vegetation
returns (class 1, return numbers 1-3, lower in the crown for later returns), 0.1 % noise (class 7,
60-300 m above or 2-10 m below the ground).  Coordinates in mm (LAZ 1.4, point format 6).

    .venv/bin/python benchmarks/bench_als.py [--points 20e6] [--workdir DIR] [--quick] [--no-edge-check]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from bench_lidar import peak_rss_mib  # noqa: E402  (same folder: the scripts run from it)

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]
SEED = 11
X0, Y0, SIDE, TILE = 380000.0, 4098000.0, 2000.0, 1000.0
CRS = "EPSG:32649"
PIXEL_M, CHM_M = 30.0, 0.5
METRICS = ["max", "mean", "std", "p25", "p50", "p75", "p95", "cover_2m", "count"]


def ground_z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The simulated terrain (m): 6 % rise to the east, 4 % fall to the north, gently curved."""
    dx, dy = x - X0, y - Y0
    return 850.0 + 0.06 * dx - 0.04 * dy + 2e-5 * (dx - 1000.0) ** 2 - 1e-5 * (dy - 1000.0) ** 2


def _stand_field(rng: np.random.Generator):
    """Stand height (m) as a function of (x, y): smoothed noise on a 10 m grid, 0 in the gaps, at most 25 m."""
    from scipy import ndimage

    n = int(SIDE / 10) + 21  # 100 m margin on every side
    f = ndimage.gaussian_filter(rng.normal(size=(n, n)), 6)
    f = (f - f.mean()) / f.std()
    s = np.where(f < -1.1, 0.0, np.clip(9.0 + 6.0 * f, 0.0, 25.0))

    def at(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return ndimage.map_coordinates(s, [(y - Y0 + 100.0) / 10.0, (x - X0 + 100.0) / 10.0], order=1,
                                       mode="nearest")
    return at


def make_als(workdir: Path, target_points: float) -> tuple[list[Path], Path]:
    """Simulate (once) the tiles; returns (tile paths, trees .npy with x, y, height)."""
    import laspy
    import pyproj
    from scipy.spatial import cKDTree

    tag = f"{target_points / 1e6:g}M"
    paths = [workdir / f"als_{tag}_{i}{j}.laz" for j in (0, 1) for i in (0, 1)]
    trees_path = workdir / "als_trees.npy"
    if all(p.is_file() for p in paths) and trees_path.is_file():
        return paths, trees_path
    workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    stand = _stand_field(rng)
    g = np.arange(-40.0, SIDE + 40.0, 4.0)
    tx, ty = (a.ravel() for a in np.meshgrid(X0 + g, Y0 + g))
    tx = tx + rng.uniform(-1.2, 1.2, tx.size)
    ty = ty + rng.uniform(-1.2, 1.2, ty.size)
    th = np.clip(stand(tx, ty) * rng.uniform(0.85, 1.1, tx.size), 0.0, 25.0)
    keep = th >= 1.5
    tx, ty, th = tx[keep], ty[keep], th[keep]
    np.save(trees_path, np.column_stack([tx, ty, th]))
    index = cKDTree(np.column_stack([tx, ty]))
    n_tile = int(round(target_points / 4))
    header_crs = pyproj.CRS.from_user_input(CRS)
    t0 = time.perf_counter()
    for p in paths:
        i, j = int(p.stem[-2]), int(p.stem[-1])
        x = X0 + i * TILE + rng.uniform(0.0, TILE, n_tile)
        y = Y0 + j * TILE + rng.uniform(0.0, TILE, n_tile)
        d, k = index.query(np.column_stack([x, y]), workers=-1)
        h = th[k]
        r = 1.2 + 0.15 * h  # crown radius (m)
        top = np.where(d < r, h * np.sqrt(np.clip(1.0 - (d / r) ** 2, 0.0, 1.0)), 0.0)
        canopy = top >= 0.5
        u = rng.uniform(size=n_tile)
        ground = np.where(canopy, u < 0.15, u < 0.8)  # about 31 % ground returns overall
        rn = np.where(canopy, rng.choice(np.array([1, 2, 3], np.uint8), n_tile, p=[0.55, 0.3, 0.15]), 1)
        lo = np.choose(rn - 1, [0.8, 0.35, 0.05])
        hi = np.choose(rn - 1, [1.0, 0.9, 0.6])
        hag = np.where(canopy, top * rng.uniform(lo, hi), rng.uniform(0.0, 0.5, n_tile))  # open: grass, shrubs
        nr = np.minimum(rn + 1, 4)
        g_rn = np.where(canopy, rng.integers(2, 5, n_tile), 1)  # ground = last return: 2-4 under crowns
        hag = np.where(ground, 0.0, hag)
        rn = np.where(ground, g_rn, rn).astype(np.uint8)
        nr = np.where(ground, g_rn, nr).astype(np.uint8)
        cls = np.where(ground, 2, 1).astype(np.uint8)
        noise = rng.uniform(size=n_tile) < 0.001
        low = rng.uniform(size=n_tile) < 0.3
        hag = np.where(noise, np.where(low, -rng.uniform(2.0, 10.0, n_tile), rng.uniform(60.0, 300.0, n_tile)), hag)
        cls[noise] = 7
        z = ground_z(x, y) + hag
        header = laspy.LasHeader(point_format=6, version="1.4")
        header.offsets = [float(np.floor(x.min())), float(np.floor(y.min())), float(np.floor(z.min()))]
        header.scales = [0.001, 0.001, 0.001]
        header.add_crs(header_crs)
        las = laspy.LasData(header)
        las.x, las.y, las.z = x, y, z
        las.classification = cls
        las.return_number = rn
        las.number_of_returns = nr
        tmp = p.with_suffix(".part.laz")
        las.write(str(tmp))
        os.replace(tmp, p)
        print(f"  simulated tile {p.name}: {n_tile:,} returns, ground {100 * ground.mean():.1f} %, "
              f"noise {100 * noise.mean():.2f} % ({time.perf_counter() - t0:.0f} s)", flush=True)
        del las, x, y, z, d, k, h, r, top, hag, rn, nr, cls
    return paths, trees_path


def _timed(fn, acc: dict, key: str):
    def wrapper(*a, **kw):
        t0 = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            acc[key] = acc.get(key, 0.0) + time.perf_counter() - t0
    return wrapper


def _template(xmin: float, ymin: float, xmax: float, ymax: float):
    import rioxarray  # noqa: F401
    import xarray as xr
    from rasterio.transform import from_origin

    left, top = np.floor(xmin / PIXEL_M) * PIXEL_M, np.ceil(ymax / PIXEL_M) * PIXEL_M
    nx = int(np.ceil((xmax - left) / PIXEL_M))
    ny = int(np.ceil((top - ymin) / PIXEL_M))
    da = xr.DataArray(np.zeros((ny, nx), np.float32), dims=("y", "x"),
                      coords={"y": top - (np.arange(ny) + 0.5) * PIXEL_M, "x": left + (np.arange(nx) + 0.5) * PIXEL_M})
    return da.rio.write_transform(from_origin(left, top, PIXEL_M, PIXEL_M)).rio.write_crs(CRS)


def _height_errors(pts: dict) -> dict:
    """RMSE / max |error| of the heights above ground against the simulated terrain, by distance to the inner
    tile edges (x = X0 + 1000 m, y = Y0 + 1000 m) and to the outer edge of the area."""
    truth = np.maximum(pts["z"] - ground_z(pts["x"], pts["y"]), 0.0)
    err = pts["hag"] - truth
    edge = np.minimum(np.abs(pts["x"] - (X0 + TILE)), np.abs(pts["y"] - (Y0 + TILE)))
    dx, dy = pts["x"] - X0, pts["y"] - Y0
    outer = np.minimum(np.minimum(dx, SIDE - dx), np.minimum(dy, SIDE - dy))
    out = {}
    for name, m in (("all", np.ones(err.size, bool)), ("edge2", edge < 2.0), ("edge10", edge < 10.0),
                    ("outer2", outer < 2.0), ("interior", (edge >= 30.0) & (outer >= 30.0))):
        e = err[m]
        out[name] = {"n": int(e.size), "rmse": float(np.sqrt(np.mean(e * e))), "max": float(np.abs(e).max())}
    return out


def worker_e2e(paths: list[str], trees_path: str, peers: bool) -> dict:
    from minecarbon.lidar import PointCloud, canopy_height_model, find_treetops, pixel_metrics
    from minecarbon.lidar import chm as chm_mod
    from minecarbon.pipeline.stages import _als

    base = peak_rss_mib()
    acc: dict[str, float] = {}
    _als.read_cloud = _timed(_als.read_cloud, acc, "read_s")
    _als.normalize_heights = _timed(_als.normalize_heights, acc, "normalize_s")
    chm_mod.rasterize_max = _timed(chm_mod.rasterize_max, acc, "chm_rasterize_s")
    chm_mod.fill_pits = _timed(chm_mod.fill_pits, acc, "chm_pits_s")
    cfg = SimpleNamespace(lidar=SimpleNamespace(ground_method="csf"))
    t0 = time.perf_counter()
    pts = _als.pooled_returns(cfg, [Path(p) for p in paths], CRS)
    t1 = time.perf_counter()
    n = int(pts["x"].size)
    mem_pooled = peak_rss_mib()
    cloud = PointCloud(pts["xyz"], CRS, {})
    chm = canopy_height_model(cloud, CHM_M, hag=pts["hag"], pit_threshold_m=1.0, max_height_m=_als.MAX_HEIGHT_M,
                              what="ALS")
    del cloud
    t2 = time.perf_counter()
    tops = find_treetops(chm, window_slope=0.07, window_intercept=0.8, min_height_m=2.0)
    t3 = time.perf_counter()
    tmpl = _template(X0, Y0, X0 + SIDE, Y0 + SIDE)
    met = pixel_metrics(pts["x"], pts["y"], pts["hag"], tmpl, metrics=METRICS, cover_threshold_m=2.0,
                        return_number=pts["return_number"])
    t4 = time.perf_counter()
    out = {"points": n, "tiles": len(paths), "pooled_s": t1 - t0, "chm_s": t2 - t1, "treetops_s": t3 - t2,
           "metrics_s": t4 - t3, "total_s": t4 - t0, **acc, "peak_mib": peak_rss_mib(), "pooled_peak_mib": mem_pooled,
           "baseline_mib": base, "chm_shape": list(chm.shape), "treetops": len(tops),
           "pixels": int(tmpl.size), "accuracy": _height_errors(pts)}
    trees = np.load(trees_path)
    inside = (trees[:, 0] >= X0) & (trees[:, 0] < X0 + SIDE) & (trees[:, 1] >= Y0) & (trees[:, 1] < Y0 + SIDE)
    out["trees_true"] = int((inside & (trees[:, 2] >= 2.0)).sum())
    if peers:
        out["metrics_peer"] = _peer_metrics(pts, tmpl, met)
        out["chm_peer"] = _peer_chm(pts)
    return out


def worker_nobuffer(paths: list[str]) -> dict:
    from minecarbon.pipeline.stages import _als

    _als.TILE_BUFFER_M = 0.0  # each tile with its own ground returns only
    cfg = SimpleNamespace(lidar=SimpleNamespace(ground_method="csf"))
    pts = _als.pooled_returns(cfg, [Path(p) for p in paths], CRS)
    return {"accuracy": _height_errors(pts)}


def _peer_metrics(pts: dict, tmpl, met) -> dict:
    import pandas as pd
    from scipy.stats import binned_statistic_2d

    from minecarbon.lidar import pixel_metrics

    x, y, hag, rn = pts["x"], pts["y"], pts["hag"], pts["return_number"]
    # ours again (warm), same call as the stage
    t0 = time.perf_counter()
    ours = pixel_metrics(x, y, hag, tmpl, metrics=METRICS, cover_threshold_m=2.0, return_number=rn)
    t_ours = time.perf_counter() - t0
    np.testing.assert_array_equal(np.asarray(ours.values), np.asarray(met.values))
    t = tmpl.rio.transform()
    ny, nx = tmpl.shape
    # pandas: pixel index, then one groupby
    t0 = time.perf_counter()
    col = np.floor((x - t.c) / t.a).astype(np.int64)
    row = np.floor((y - t.f) / t.e).astype(np.int64)
    ok = (col >= 0) & (col < nx) & (row >= 0) & (row < ny) & np.isfinite(hag) & (hag >= 0.0)
    df = pd.DataFrame({"pix": row[ok] * nx + col[ok], "h": hag[ok], "first": rn[ok] == 1})
    g = df.groupby("pix")["h"]
    res = g.agg(["max", "mean", "size"])
    res["std"] = g.std(ddof=0)
    q = g.quantile([0.25, 0.5, 0.75, 0.95]).unstack()
    for qq, name in zip((0.25, 0.5, 0.75, 0.95), ("p25", "p50", "p75", "p95")):
        res[name] = q[qq]
    fr = df[df["first"]]
    res["cover_2m"] = (fr["h"] > 2.0).groupby(fr["pix"]).mean()
    res = res.rename(columns={"size": "count"})
    t_pandas = time.perf_counter() - t0
    # scipy binned_statistic_2d: max, mean, count (one call each; x ascending, y as distance from the top)
    t0 = time.perf_counter()
    xe = t.c + np.arange(nx + 1) * t.a
    de = np.arange(ny + 1) * -t.e
    sc = {}
    for st in ("max", "mean", "count"):
        sc[st] = binned_statistic_2d(t.f - y, x, hag, statistic=st, bins=[de, xe]).statistic
    t_scipy = time.perf_counter() - t0
    diffs = {}
    names = list(ours["band"].values)
    for m in METRICS:
        a = np.asarray(ours.values[names.index(m)], dtype=float).ravel()
        b = np.full(ny * nx, np.nan if m != "count" else 0.0)
        b[res.index.to_numpy()] = res[m].to_numpy(dtype=float)
        both = np.isfinite(a) & np.isfinite(b)
        diffs[m] = {"max_abs": float(np.abs(a[both] - b[both]).max()) if both.any() else 0.0,
                    "nan_mismatch": int((np.isfinite(a) != np.isfinite(b)).sum())}
    # float32 output: relative rounding ~ 6e-8 x 25 m ~ 1.5e-6 m is "equal"
    sdiff = {}
    for st in ("max", "mean", "count"):
        a = np.asarray(ours.values[names.index(st)], dtype=float)
        b = sc[st]
        both = np.isfinite(a) & np.isfinite(b)
        sdiff[st] = float(np.abs(a[both] - b[both]).max())
    return {"ours_s": t_ours, "pandas_s": t_pandas, "scipy_s": t_scipy, "pandas_diff": diffs, "scipy_diff": sdiff,
            "pixels_with_returns": int(len(res))}


def _peer_chm(pts: dict) -> dict:
    from scipy.stats import binned_statistic_2d

    from minecarbon.lidar.chm import grid_for_points, rasterize_max

    x, y, v = pts["x"], pts["y"], pts["hag"]  # pooled: finite, 0..MAX_HEIGHT_M (same as the CHM input)
    left, top, nx, ny = grid_for_points(x, y, CHM_M)
    t0 = time.perf_counter()
    ours = rasterize_max(x, y, v, left, top, nx, ny, CHM_M)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    # rows counted from the top edge (distance top - y), so a point on a cell edge falls in the same cell
    peer = binned_statistic_2d(top - y, x, v, statistic="max",
                               bins=[np.arange(ny + 1) * CHM_M, left + np.arange(nx + 1) * CHM_M]).statistic
    t_peer = time.perf_counter() - t0
    same = (np.isnan(ours) & np.isnan(peer)) | (ours == peer)
    both = np.isfinite(ours) & np.isfinite(peer)
    return {"ours_s": t_ours, "peer_s": t_peer, "cells": int(ours.size), "cells_equal": int(same.sum()),
            "filled": int(np.isfinite(ours).sum()),
            "max_abs": float(np.abs(ours[both] - peer[both]).max()) if both.any() else 0.0}


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal")) / 1024 ** 2
    except (OSError, StopIteration):
        mem = float("nan")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.node()}, {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, load {load:.1f}"


def versions() -> str:
    import importlib.metadata as md

    out = [f"Python {platform.python_version()}"]
    for pkg in ("numpy", "scipy", "pandas", "laspy", "lazrs", "xarray", "rioxarray"):
        try:
            out.append(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            pass
    return ", ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=float, default=20e6)
    ap.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "_runs" / "als")
    ap.add_argument("--quick", action="store_true", help="2 million returns instead of --points")
    ap.add_argument("--no-edge-check", action="store_true", help="skip the run without the tile buffer")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, payload = args.worker[0], json.loads(args.worker[1])
        out = worker_e2e(**payload) if kind == "e2e" else worker_nobuffer(**payload)
        print(json.dumps(out))
        return
    target = 2e6 if args.quick else args.points
    print(f"# ALS benchmark ({machine()})\n\n{versions()}\n")
    paths, trees = make_als(args.workdir, target)
    mb = sum(p.stat().st_size for p in paths) / 1024 ** 2

    def sub(kind: str, **payload) -> dict:
        r = subprocess.run([sys.executable, __file__, "--worker", kind, json.dumps(payload)], capture_output=True,
                           text=True)
        if r.returncode:
            raise SystemExit(f"worker {kind} failed:\n{r.stderr[-4000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    e = sub("e2e", paths=[str(p) for p in paths], trees_path=str(trees), peers=True)
    nb = None if args.no_edge_check else sub("nobuffer", paths=[str(p) for p in paths])
    n, mp = e["points"], e["metrics_peer"]
    cp = e["chm_peer"]
    a = e["accuracy"]
    mpts = n / 1e6
    print(f"{len(paths)} LAZ tiles, {mb:.0f} MiB, {mpts:.2f} M usable returns after noise removal; "
          f"CHM {e['chm_shape'][0]} x {e['chm_shape'][1]} cells of {CHM_M} m, grid {e['pixels']:,} pixels of "
          f"{PIXEL_M:g} m.\n")
    print("| step | minecarbon | M returns/s | peer | ratio peer/ours | agreement / accuracy |")
    print("|---|---|---|---|---|---|")
    edge = a["edge2"]
    print(f"| pooled returns (`pooled_returns`, wall) | {e['pooled_s']:.1f} s | {mpts / e['pooled_s']:.2f} | - | - | "
          f"height RMSE {1000 * a['all']['rmse']:.1f} mm (max {100 * a['all']['max']:.1f} cm); within 2 m of an "
          f"inner tile edge {1000 * edge['rmse']:.1f} mm (max {100 * edge['max']:.1f} cm, n = {edge['n']:,}) |")
    print(f"| - of which reading {len(paths)} tiles (`read_cloud`, sum) | {e['read_s']:.1f} s | "
          f"{mpts / e['read_s']:.1f} | - | - | - |")
    print(f"| - of which heights above the TIN of class 2 + 30 m of neighbours (`normalize_heights`, sum over "
          f"tiles, which may run in threads) | {e['normalize_s']:.1f} s | - | - | - | - |")
    print(f"| CHM 0.5 m (rasterize {e['chm_rasterize_s']:.1f} s + pit filling {e['chm_pits_s']:.1f} s) | "
          f"{e['chm_s']:.1f} s | {mpts / e['chm_s']:.1f} | - | - | - |")
    print(f"| CHM maximum per cell (`rasterize_max`) | {cp['ours_s']:.2f} s | {mpts / cp['ours_s']:.1f} | "
          f"`binned_statistic_2d(max)` {cp['peer_s']:.2f} s | {cp['peer_s'] / cp['ours_s']:.2f} | "
          f"{cp['cells_equal']:,} of {cp['cells']:,} cells identical (max diff {cp['max_abs']:.3g} m) |")
    print(f"| treetops (0.07 h + 0.8 m, >= 2 m) | {e['treetops_s']:.1f} s | - | - | - | {e['treetops']:,} "
          f"treetops, {e['trees_true']:,} simulated trees >= 2 m |")
    worst = max(v["max_abs"] for k, v in mp["pandas_diff"].items())
    nanm = sum(v["nan_mismatch"] for v in mp["pandas_diff"].values())
    print(f"| pixel metrics ({len(METRICS)} metrics, 30 m) | {e['metrics_s']:.1f} s (warm {mp['ours_s']:.1f} s) | "
          f"{mpts / mp['ours_s']:.1f} | pandas groupby {mp['pandas_s']:.1f} s | {mp['pandas_s'] / mp['ours_s']:.2f} | "
          f"max diff {worst:.2g} (float32 output), {nanm} NaN mismatches |")
    sw = max(mp["scipy_diff"].values())
    print(f"| pixel max + mean + count | (all 9 above) {mp['ours_s']:.1f} s | - | `binned_statistic_2d` x 3 "
          f"{mp['scipy_s']:.1f} s | {mp['scipy_s'] / mp['ours_s']:.2f} | max diff {sw:.2g} |")
    print(f"| **end to end** (fresh process) | **{e['total_s']:.1f} s** | **{mpts / e['total_s']:.2f}** | - | - | "
          f"peak **{e['peak_mib'] / 1024:.2f} GiB** ({1024 ** 2 * (e['peak_mib'] - e['baseline_mib']) / n:.0f} "
          f"B/return above the {e['baseline_mib']:.0f} MiB after imports; {e['pooled_peak_mib'] / 1024:.2f} GiB "
          f"after pooling) |")
    print("\nHeights above ground against the simulated terrain (m; RMSE / max |error| / n):\n")
    print("| where | with the 30 m buffer | tiles alone (TILE_BUFFER_M = 0) |")
    print("|---|---|---|")
    for k, label in (("all", "all returns"), ("edge2", "< 2 m from an inner tile edge"),
                     ("edge10", "< 10 m from an inner tile edge"),
                    ("outer2", "< 2 m from the outer edge of the scanned area (no neighbour)"),
                    ("interior", ">= 30 m from every tile edge")):
        w = a[k]
        o = nb["accuracy"][k] if nb else None
        other = f"{o['rmse']:.4f} / {o['max']:.3f}" if o else "-"
        print(f"| {label} | {w['rmse']:.4f} / {w['max']:.3f} / {w['n']:,} | {other} |")
    print("\nper-metric max |ours - pandas|: " + ", ".join(f"{k} {v['max_abs']:.2g}"
                                                          for k, v in mp["pandas_diff"].items()))
    print(f"\nraw: {json.dumps({k: v for k, v in e.items() if k not in ('metrics_peer', 'chm_peer', 'accuracy')})}")


if __name__ == "__main__":
    main()

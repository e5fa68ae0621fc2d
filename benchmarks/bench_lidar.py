"""Benchmark: laser scanning - a 20-million-point TLS plot end to end, and three steps against peers.

* **TLS plot, end to end** (issue #4: under a minute and under 4 GiB on 2 cores): reading the LAZ and
  ``minecarbon.lidar.process_tls_plot`` (ground, stems, DBH, heights, QC) on a simulated plot of about
  20 million points, in a fresh process; wall time, points per second and peak memory (VmHWM), plus the
  accuracy against the simulated trees.  The plot: 80 trees on a 30 x 30 m plot, 10 degree slope; the
  scan is simulated by ``minecarbon.scenario.tls.simulate_tls_scan`` at 10 x the default densities,
  one quadrant of trees at a time with the same seed (same terrain), and the four quadrant scans merged
  (so the ground is 4 x denser and trees of other quadrants cast no shadows).  It is cached in
  ``--workdir`` (default ``benchmarks/_runs/lidar``).
* **Ground** on the same cloud: ``minecarbon.lidar.classify_ground`` (lowest point per cell, low-outlier
  removal, cloth simulation on the candidates) against the cloth simulation filter (``CSF`` package)
  run directly on every point; time and DTM error against the simulated terrain.
* **Circle fits**: ``minecarbon.lidar.circle.fit_circle`` against scikit-image
  ``ransac(CircleModel)`` + ``CircleModel`` refit on 400 noisy half-arc stem sections with 20 %
  outliers; time and radius error.
* **Treetops**: ``minecarbon.lidar.find_treetops`` (one maximum filter per window size) against the
  ForestTools algorithm written the ForestTools way (a per-cell function over the window,
  ``scipy.ndimage.generic_filter``) on the ForestTools Kootenay CHM (or a synthetic CHM without
  ``../shared/realdata``); time and agreement.

Peer and ours run in the same process one after the other (ratios from the same machine load).

    .venv/bin/python benchmarks/bench_lidar.py [--points 20e6] [--workdir DIR] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
SEED, SLOPE, ASPECT = 7, 10.0, 200.0


def peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def stand(n: int = 80, seed: int = SEED):
    import pandas as pd

    rng = np.random.default_rng(seed)
    pos: list[np.ndarray] = []
    while len(pos) < n:
        p = rng.uniform(-14.7, 14.7, 2)
        if np.hypot(*p) >= 1.5 and all(np.hypot(*(p - q)) > 1.5 for q in pos):
            pos.append(p)
    xy = np.array(pos)
    dbh = np.clip(rng.lognormal(np.log(18), 0.35, n), 6, 55)
    h = np.clip(1.3 + 25 * (1 - np.exp(-0.05 * dbh)) * rng.normal(1, 0.08, n), 3, 30)
    return pd.DataFrame({"tree_id": np.arange(1, n + 1), "x_local_m": xy[:, 0], "y_local_m": xy[:, 1],
                         "species": rng.choice(["油松", "刺槐"], n), "dbh_cm": dbh.round(1), "height_m": h.round(2)})


def make_plot(workdir: Path, target_points: float) -> tuple[Path, Path]:
    """Simulate (once) the big plot; returns (laz, truth csv)."""
    import laspy

    from minecarbon.scenario.tls import simulate_tls_scan

    laz = workdir / f"tls_{int(target_points / 1e6)}M.laz"
    truth = workdir / "tls_trees_truth.csv"
    if laz.is_file() and truth.is_file():
        return laz, truth
    workdir.mkdir(parents=True, exist_ok=True)
    trees = stand()
    parts = []
    t0 = time.perf_counter()
    for qx in (-1, 1):
        for qy in (-1, 1):
            sub = trees[(np.sign(trees["x_local_m"]) == qx) & (np.sign(trees["y_local_m"]) == qy)]
            # densities scaled so that each quadrant scan holds a quarter of the target
            n1 = len(simulate_tls_scan(sub.reset_index(drop=True), SLOPE, ASPECT, SEED).points)
            factor = target_points / 4 / n1
            las = simulate_tls_scan(sub.reset_index(drop=True), SLOPE, ASPECT, SEED,
                                    points_per_m2_ground=50 * factor, points_per_m2_stem=2000 * factor,
                                    points_per_m2_crown=300 * factor)
            ids = np.asarray(las.tree_id)
            ids = np.where(ids > 0, sub["tree_id"].to_numpy()[np.maximum(ids, 1) - 1], 0)
            parts.append((np.column_stack([las.x, las.y, las.z]), ids))
            print(f"  simulated quadrant {qx:+d},{qy:+d}: {len(ids):,} points ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
            del las
    xyz = np.concatenate([p[0] for p in parts])
    ids = np.concatenate([p[1] for p in parts]).astype(np.uint32)
    del parts
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.add_extra_dims([laspy.ExtraBytesParams(name="tree_id", type=np.uint32)])
    header.scales = np.array([0.001] * 3)
    header.offsets = np.floor(xyz.min(axis=0))
    las = laspy.LasData(header)
    las.x, las.y, las.z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    las.tree_id = ids
    tmp = laz.with_suffix(".part.laz")
    las.write(str(tmp))
    os.replace(tmp, laz)
    trees.to_csv(truth, index=False)
    return laz, truth


def worker_tls(laz: str, truth: str) -> dict:
    import pandas as pd

    from minecarbon.lidar import match_trees, process_tls_plot, read_cloud, validation_stats

    base = peak_rss_mib()
    t0 = time.perf_counter()
    cloud = read_cloud(laz, extra_dims=False)
    t1 = time.perf_counter()
    res = process_tls_plot(cloud, plot_size_m=30.0)
    t2 = time.perf_counter()
    trees = pd.read_csv(truth)
    m = match_trees(trees, res.trees)
    st = validation_stats(trees, res.trees, m)
    ok = validation_stats(trees, res.trees, m, qc_ok_only=True)
    return {"points": len(cloud), "read_s": t1 - t0, "process_s": t2 - t1, "total_s": t2 - t0,
            "peak_mib": peak_rss_mib(), "baseline_mib": base, "trees": len(res.trees),
            "detection": st["detection_rate"], "commission": st["commission_rate"],
            "dbh_rmse_cm": st["dbh_cm"]["rmse"], "height_rmse_qc_ok_m": ok["height_m"]["rmse"],
            "height_qc_ok_n": ok["height_m"]["n"], "matched": st["n_matched"]}


def worker_ground(laz: str) -> dict:
    from minecarbon.lidar import read_cloud
    from minecarbon.lidar.ground import _csf, _interpolate_dtm, classify_ground
    from minecarbon.scenario.tls import _Ground

    cloud = read_cloud(laz, extra_dims=False)
    xyz = cloud.xyz
    truth = _Ground(SLOPE, ASPECT, 1.5, np.random.default_rng(SEED))

    def dtm_err(dtm) -> tuple[float, float]:
        ny, nx = dtm.z.shape
        xx, yy = np.meshgrid(dtm.x0 + np.arange(nx) * dtm.cell, dtm.y0 + np.arange(ny) * dtm.cell)
        inside = (np.abs(xx) < 15) & (np.abs(yy) < 15)
        e = (dtm.z - truth(xx.ravel(), yy.ravel()).reshape(xx.shape))[inside]
        return float(np.sqrt(np.mean(e ** 2))), float(np.abs(e).max())

    t0 = time.perf_counter()
    ours = classify_ground(xyz)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    mask = _csf(xyz, 0.5, 2, 0.3, 200)          # the peer on every point, same cloth settings
    t_peer_filter = time.perf_counter() - t0
    g = xyz[mask]
    # a DTM from the peer's ground points (lowest ground point per 0.5 m cell, same interpolation)
    key = np.floor((g[:, :2] - g[:, :2].min(axis=0)) / 0.5).astype(np.int64)
    k = key[:, 1] * (int(key[:, 0].max()) + 1) + key[:, 0]
    order = np.lexsort((g[:, 2], k))
    first = order[np.r_[True, k[order][1:] != k[order][:-1]]]
    peer_dtm = _interpolate_dtm(g[first], xyz[:, :2].min(axis=0), xyz[:, :2].max(axis=0), 0.5, None)
    r_o, m_o = dtm_err(ours.dtm)
    r_p, m_p = dtm_err(peer_dtm)
    return {"points": len(xyz), "ours_s": t_ours, "peer_s": t_peer_filter, "ours_rmse": r_o, "ours_max": m_o,
            "peer_rmse": r_p, "peer_max": m_p}


def bench_circles(n: int = 400) -> dict:
    from skimage.measure import CircleModel, ransac

    from minecarbon.lidar.circle import fit_circle

    rng = np.random.default_rng(0)
    sections = []
    for _ in range(n):
        r = rng.uniform(0.04, 0.3)
        t = rng.uniform(0, np.pi, 240) + rng.uniform(0, 2 * np.pi)
        arc = np.column_stack([r * np.cos(t), r * np.sin(t)]) + rng.normal(0, 0.004, (240, 2))
        out = rng.uniform(-2 * r, 2 * r, (60, 2))
        sections.append((np.vstack([arc, out]), r))
    t0 = time.perf_counter()
    e_ours = [fit_circle(xy, inlier_m=0.015, r_max=1.0, seed=i).r - r for i, (xy, r) in enumerate(sections)]
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    e_peer = []
    for i, (xy, r) in enumerate(sections):
        _, inl = ransac(xy, CircleModel, min_samples=3, residual_threshold=0.015, max_trials=200, rng=i)
        m = CircleModel()
        m.estimate(xy[inl])
        e_peer.append(m.params[2] - r)
    t_peer = time.perf_counter() - t0
    e_ours, e_peer = np.array(e_ours) * 1000, np.array(e_peer) * 1000
    return {"n": n, "ours_s": t_ours, "peer_s": t_peer, "ours_bias_mm": float(e_ours.mean()),
            "ours_rmse_mm": float(np.sqrt(np.mean(e_ours ** 2))), "peer_bias_mm": float(e_peer.mean()),
            "peer_rmse_mm": float(np.sqrt(np.mean(e_peer ** 2)))}


def bench_treetops() -> dict:
    from scipy import ndimage

    from minecarbon.lidar import find_treetops

    path = REALDATA / "ForestTools_kootenay" / "kootenayCHM.tif"
    if path.is_file():
        from minecarbon.io import open_raster

        chm = open_raster(path, chunks=None).isel(band=0)
        src = "ForestTools Kootenay CHM (218 x 287, 0.5 m)"
    else:
        import xarray as xr
        from rasterio.transform import from_origin

        rng = np.random.default_rng(1)
        a = np.clip(ndimage.gaussian_filter(rng.normal(size=(300, 300)), 3) * 60 + 8, 0, None).astype(np.float32)
        chm = xr.DataArray(a, dims=("y", "x"), coords={"y": np.arange(300)[::-1] * 0.5 + 0.25,
                                                       "x": np.arange(300) * 0.5 + 0.25})
        chm = chm.rio.write_transform(from_origin(0, 150, 0.5, 0.5))
        src = "synthetic CHM (300 x 300, 0.5 m)"
    t0 = time.perf_counter()
    ours = find_treetops(chm, 0.07, 0.8, 2.0, "forest_tools")
    t_ours = time.perf_counter() - t0
    # ForestTools' vwf: per cell, pick the window of the nearest radius and compare with its maximum
    a = np.asarray(chm.values, dtype=float)
    res = 0.5
    h = np.where(a >= 2.0, a, np.nan)
    hmin, hmax = np.nanmin(h), np.nanmax(h)
    radii = np.arange(np.floor((0.07 * hmin + 0.8) / res) * res, np.ceil((0.07 * hmax + 0.8) / res) * res + 1e-9, res)
    radii = radii[radii >= res]
    m = math.ceil(radii.max() / res)
    yy, xx = np.mgrid[-m:m + 1, -m:m + 1]
    wins = []
    for rad in radii:
        w = (xx * xx + yy * yy) * res * res <= rad * rad + 1e-9
        if round(rad / res) == 1:
            w = (np.abs(xx) <= 1) & (np.abs(yy) <= 1)
        wins.append(w.ravel())
    centre = (2 * m + 1) ** 2 // 2

    def vwmax(x):
        c = x[centre]
        if np.isnan(c):
            return 0.0
        k = int(np.argmin(np.abs(radii - (0.07 * c + 0.8))))
        return 1.0 if np.nanmax(x[wins[k]]) == c else 0.0

    t0 = time.perf_counter()
    peer = ndimage.generic_filter(h, vwmax, size=2 * m + 1, mode="constant", cval=np.nan)
    t_peer = time.perf_counter() - t0
    return {"source": src, "ours_s": t_ours, "peer_s": t_peer, "ours_n": len(ours),
            "peer_n": int(peer.sum()), "cells": int(a.size)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=float, default=20e6)
    ap.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "_runs" / "lidar")
    ap.add_argument("--quick", action="store_true", help="2 million points instead of --points")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, *paths = args.worker
        out = worker_tls(*paths) if kind == "tls" else worker_ground(*paths)
        print(json.dumps(out))
        return
    target = 2e6 if args.quick else args.points
    print(f"# Laser-scanning benchmark ({platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()})\n")
    laz, truth = make_plot(args.workdir, target)

    def sub(kind: str, *paths: Path) -> dict:
        r = subprocess.run([sys.executable, __file__, "--worker", kind, *map(str, paths)], capture_output=True,
                           text=True, check=True)
        return json.loads(r.stdout.strip().splitlines()[-1])

    tls = sub("tls", laz, truth)
    gr = sub("ground", laz)
    circ = bench_circles()
    tops = bench_treetops()
    mpts = tls["points"] / 1e6
    print("| step | data | minecarbon | peer | ratio peer/ours | accuracy |")
    print("|---|---|---|---|---|---|")
    print(f"| TLS plot end to end (read + process) | {mpts:.1f} M points, 80 trees | {tls['total_s']:.1f} s "
          f"(read {tls['read_s']:.1f} s), {tls['points'] / tls['total_s'] / 1e6:.2f} M points/s, peak "
          f"{tls['peak_mib'] / 1024:.2f} GiB | - | - | detection {100 * tls['detection']:.1f} %, commission "
          f"{100 * tls['commission']:.1f} %, DBH RMSE {tls['dbh_rmse_cm']:.2f} cm, height RMSE (QC ok, "
          f"n={tls['height_qc_ok_n']}) {tls['height_rmse_qc_ok_m']:.2f} m |")
    print(f"| ground + DTM | {gr['points'] / 1e6:.1f} M points | {gr['ours_s']:.1f} s | CSF on all points "
          f"{gr['peer_s']:.1f} s | {gr['peer_s'] / gr['ours_s']:.2f} | DTM RMSE ours {100 * gr['ours_rmse']:.1f} cm "
          f"(max {100 * gr['ours_max']:.0f} cm), peer {100 * gr['peer_rmse']:.1f} cm (max {100 * gr['peer_max']:.0f} cm) |")
    print(f"| circle fits | {circ['n']} half arcs + 20 % outliers | {circ['ours_s']:.2f} s | skimage ransac + "
          f"CircleModel {circ['peer_s']:.2f} s | {circ['peer_s'] / circ['ours_s']:.2f} | radius bias/RMSE ours "
          f"{circ['ours_bias_mm']:+.2f}/{circ['ours_rmse_mm']:.2f} mm, peer {circ['peer_bias_mm']:+.2f}/"
          f"{circ['peer_rmse_mm']:.2f} mm |")
    print(f"| treetops (VWF 0.07 h + 0.8, 2 m) | {tops['source']} | {tops['ours_s']:.3f} s | ForestTools-style "
          f"per-cell filter {tops['peer_s']:.2f} s | {tops['peer_s'] / tops['ours_s']:.0f} | {tops['ours_n']} vs "
          f"{tops['peer_n']} treetops |")
    print(f"\nPeak memory of the TLS process: {tls['peak_mib']:.0f} MiB (after imports {tls['baseline_mib']:.0f} MiB).")


if __name__ == "__main__":
    main()

"""Benchmark: scenes -> yearly composites (``minecarbon.composite``), scenes per minute and peak memory.

Data (cached in ``--workdir``, default ``benchmarks/_runs/composite``): truth clear-sky composites of a
synthetic ``--size`` area (smooth random reflectance per band, uint16 C2 DN, on the simulator's grid), then
the simulator's scenes for ``--years`` years (:func:`minecarbon.scenario.scenes.write_scenes`: 15 scenes a
year on two overlapping path/rows, 30-60 % cloud, TM / ETM+ SLC-off / OLI by date).

Measured, each in a fresh process (so that peak RSS = VmHWM belongs to one configuration):

* ``composite_series`` over all years with ``--chunk`` (default 512), median: wall time, scenes per minute,
  peak RSS, and the median absolute error against the truth where >= 3 clear observations;
* the same with a quarter of the years: peak memory must not grow with the number of scenes;
* the same with chunk 256: peak memory follows the chunk.

    .venv/bin/python benchmarks/bench_composite.py [--size medium] [--years 20] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
START = 2005


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def make_data(work: Path, size: str, years: int) -> None:
    import rasterio
    from scipy import ndimage

    from minecarbon.scenario.grid import SIZES_PX, Grid
    from minecarbon.scenario.scenes import write_scenes

    done = work / "done.json"
    if done.exists() and json.loads(done.read_text()) == {"size": size, "years": years}:
        return
    grid = Grid(SIZES_PX[size])
    rng = np.random.default_rng(0)
    truth = work / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    base = np.array([0.03, 0.06, 0.05, 0.28, 0.18, 0.10])
    n = grid.n_px
    for k in range(years):
        y = START + k
        f = ndimage.gaussian_filter(rng.standard_normal((n, n)), 6)
        f = f / f.std()
        rho = base[:, None, None] * (1 + 0.25 * f[None]) + rng.normal(0, 0.003, (6, n, n))
        dn = np.clip(np.rint((rho + 0.2) / 2.75e-5), 1, 65535).astype(np.uint16)
        with rasterio.open(truth / f"sr_{y}.tif", "w", driver="GTiff", width=n, height=n, count=6, dtype="uint16",
                           crs=grid.crs, transform=grid.transform, nodata=0, tiled=True, compress="DEFLATE") as dst:
            dst.write(dn)
    t0 = time.time()
    info = write_scenes(lambda y: truth / f"sr_{y}.tif", work / "scenes", [START + k for k in range(years)], grid,
                        seed=0)
    info["write_s"] = round(time.time() - t0, 1)
    (work / "scenes_info.json").write_text(json.dumps(info))
    done.write_text(json.dumps({"size": size, "years": years}))


def run_one(work: Path, years: int, chunk: int) -> dict:
    """In this process: composite ``years`` years; wall time, scenes/min, peak RSS, error against truth."""
    import rasterio

    from minecarbon.composite import TargetGrid, composite_series, find_scenes

    scenes, _ = find_scenes(work / "scenes")
    ys = [START + k for k in range(years)]
    scenes = [s for s in scenes if s.year in ys]
    grid = TargetGrid.from_raster(work / "truth" / f"sr_{START}.tif")
    out = work / f"out_{years}_{chunk}"
    t0 = time.time()
    res = composite_series(scenes, grid, out, ys, (5, 9), chunk_px=chunk)
    wall = time.time() - t0
    errs = []
    for r in res:
        with rasterio.open(r.path) as a, rasterio.open(work / "truth" / f"sr_{r.label}.tif") as b:
            c, t = a.read().astype(float), b.read().astype(float)
        ok = c[-1] >= 3
        errs.append(float(np.median(np.abs(c[:-1] - t)[:, ok]) * 2.75e-5))
    return {"years": years, "chunk_px": chunk, "scenes": len(scenes), "wall_s": round(wall, 1),
            "scenes_per_min": round(len(scenes) / wall * 60, 1), "peak_rss_mib": round(peak_rss_mib(), 1),
            "median_abs_err_max_over_years": round(max(errs), 5)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="medium", choices=["tiny", "small", "medium", "large"])
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "_runs" / "composite")
    ap.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    work = a.workdir / a.size
    work.mkdir(parents=True, exist_ok=True)
    if a.one:
        print(json.dumps(run_one(work, *a.one)))
        return
    make_data(work, a.size, a.years)
    rows = []
    for years, chunk in [(a.years, 512), (max(1, a.years // 4), 512), (a.years, 256)]:
        p = subprocess.run([sys.executable, __file__, "--size", a.size, "--workdir", str(a.workdir), "--one",
                            str(years), str(chunk)], capture_output=True, text=True, check=True)
        rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    result = {"size": a.size, "scenes_written": json.loads((work / "scenes_info.json").read_text()),
              "runs": rows, "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}
    out = ROOT / "benchmarks" / "results" / "composite.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark: the assessment and texture tools *through the CLI* against their peers, as ratios (issue #18).

Each side is a fresh process that reads a GeoTIFF, computes and writes a GeoTIFF, timed from outside
(``subprocess.run``), so process start, imports, reading and writing are included:

* trend: ``minecarbon tool trend`` on a 20-band (years) 1000 x 1000 float32 stack against a process
  that reads the stack with rasterio, runs ``pymannkendall.original_test`` per pixel and writes
  slope, intercept, z, p, tau, s;
* texture: ``minecarbon tool texture --window 7 --levels 32`` (8 measures) on a 1000 x 1000 band of
  grey levels 0-31 against ``skimage.feature.graycomatrix`` + ``graycoprops`` per 7 x 7 window
  (4 angles averaged, symmetric, normed; the same 8 measures);
* Gi*: ``minecarbon tool hotspot --window 3`` on 1000 x 1000 against ``libpysal.weights.lat2W(rook=False)``
  + ``esda.G_Local(star=True, transform='B', permutations=0)`` (weights construction included).

The peers' per-pixel loops would take 10-20 minutes at full size, so each peer process computes a
subset (``--peer-px`` pixels for the loops, a ``--gi-side``-square crop for esda) and its compute time
is scaled linearly in pixels to the full size (the loops do the same work per pixel; esda's weights
and G_Local are linear in n); the peer's process start, read and write are measured at full size.
Peer time = measured wall time of the peer process + compute time x (scale - 1).  Ours: median of
``--repeat`` runs after one warm-up run (numba's on-disk cache filled).  Both sides alternate, so they
see the same machine load; the load average is printed.

    .venv/bin/python benchmarks/bench_cli.py [--repeat 3] [--peer-px 4000] [--only trend,texture,hotspot]
                                             [--before SRC]

``--before SRC``: also time the same commands with another version of the package (``PYTHONPATH=SRC``,
e.g. ``git archive <commit> | tar -x -C /tmp/before`` and ``--before /tmp/before/src``), interleaved with
ours, for a before/after ratio in the same conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from scipy import ndimage

HERE = Path(__file__).resolve().parent
RUNS = HERE / "_runs" / "cli"
PY = sys.executable
MC = str(Path(PY).with_name("minecarbon"))
N = 1000


def carbon_like(h: int, w: int, seed: int) -> np.ndarray:
    """Sum of Gaussian-filtered white noise at sigma 25, 4, 1 px, scaled to 60 +- 22, clipped at 0."""
    rng = np.random.default_rng(seed)
    f = sum(ndimage.gaussian_filter(rng.normal(size=(h, w)), s) * wgt for s, wgt in ((25, 1.0), (4, 0.5), (1, 0.25)))
    f = (f - f.mean()) / f.std()
    return np.clip(60 + 22 * f, 0, None).astype(np.float32)


def _write(path: Path, arr: np.ndarray, names: list[str]) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[2], height=arr.shape[1], count=arr.shape[0],
                       dtype=arr.dtype, crs="EPSG:32649", transform=from_origin(380000, 4100000, 30, 30),
                       tiled=True, blockxsize=256, blockysize=256, compress="DEFLATE") as dst:
        dst.write(arr)
        for i, n in enumerate(names, 1):
            dst.set_band_description(i, n)
    return path


def make_data() -> dict[str, Path]:
    RUNS.mkdir(parents=True, exist_ok=True)
    out = {"stack": RUNS / "stack_20y.tif", "grey": RUNS / "grey32.tif", "agc": RUNS / "agc.tif"}
    if not out["stack"].exists():
        base = carbon_like(N, N, 0)
        slope = (carbon_like(N, N, 1) - 60) / 22 * 0.8
        rng = np.random.default_rng(2)
        years = list(range(2005, 2025))
        stack = np.stack([base + slope * i + rng.normal(0, 4, (N, N)) for i in range(len(years))]).astype(np.float32)
        stack = np.round(stack, 1)  # ties, so the tie correction runs
        _write(out["stack"], stack, [str(y) for y in years])
    if not out["grey"].exists():
        g = carbon_like(N, N, 3)
        grey = np.clip((g - g.min()) / (g.max() - g.min()) * 32, 0, 31).astype(np.uint8)
        _write(out["grey"], grey[None], ["grey"])
    if not out["agc"].exists():
        _write(out["agc"], carbon_like(N, N, 4)[None], ["agc_t_ha"])
    return out


PEER_TREND = """
import json, sys, time
import numpy as np, rasterio, pymannkendall as mk
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
with rasterio.open(src) as s:
    a = s.read(); prof = s.profile
b, h, w = a.shape
flat = a.reshape(b, -1)
out = np.full((6, h * w), np.nan, np.float32)
t0 = time.perf_counter()
for i in range(k):
    r = mk.original_test(flat[:, i])
    out[:, i] = (r.slope, r.intercept, r.z, r.p, r.Tau, r.s)
loop = time.perf_counter() - t0
prof.update(count=6, dtype="float32", nodata=float("nan"))
with rasterio.open(dst, "w", **prof) as d:
    d.write(out.reshape(6, h, w))
print(json.dumps({"compute_s": loop, "px": k, "full_px": h * w}))
"""

PEER_TEXTURE = """
import json, sys, time
import numpy as np, rasterio
from skimage.feature import graycomatrix, graycoprops
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
with rasterio.open(src) as s:
    g = s.read(1); prof = s.profile
h, w = g.shape
props = ["mean", "variance", "homogeneity", "contrast", "dissimilarity", "entropy", "ASM", "correlation"]
out = np.full((8, h, w), np.nan, np.float32)
side = int(np.sqrt(k))
angles = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
t0 = time.perf_counter()
for r in range(3, 3 + side):
    for c in range(3, 3 + side):
        m = graycomatrix(g[r - 3:r + 4, c - 3:c + 4], [1], angles, levels=32, symmetric=True, normed=True)
        out[:, r, c] = [graycoprops(m, p).mean() for p in props]
loop = time.perf_counter() - t0
prof.update(count=8, dtype="float32", nodata=float("nan"))
with rasterio.open(dst, "w", **prof) as d:
    d.write(out)
print(json.dumps({"compute_s": loop, "px": side * side, "full_px": h * w}))
"""

PEER_GI = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, rasterio
from libpysal.weights import lat2W
from esda.getisord import G_Local
src, dst, side = sys.argv[1], sys.argv[2], int(sys.argv[3])
with rasterio.open(src) as s:
    a = s.read(1); prof = s.profile
h, w = a.shape
y = a[:side, :side].astype(np.float64).ravel()
t0 = time.perf_counter()
wts = lat2W(side, side, rook=False)
g = G_Local(y, wts, transform="B", star=True, permutations=0)
loop = time.perf_counter() - t0
out = np.full((2, h, w), np.nan, np.float32)
out[0, :side, :side] = g.Zs.reshape(side, side)
out[1, :side, :side] = g.p_norm.reshape(side, side)
prof.update(count=2, dtype="float32", nodata=float("nan"))
with rasterio.open(dst, "w", **prof) as d:
    d.write(out)
print(json.dumps({"compute_s": loop, "px": side * side, "full_px": h * w}))
"""


def run(cmd: list[str], pythonpath: str | None = None) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=pythonpath) if pythonpath else None
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stdout}\n{res.stderr}")
    return wall, res.stdout


def peer(code: str, src: Path, arg: int) -> dict:
    wall, out = run([PY, "-c", textwrap.dedent(code), str(src), str(RUNS / "peer_out.tif"), str(arg)])
    info = json.loads(out.strip().splitlines()[-1])
    scale = info["full_px"] / info["px"]
    info.update(wall_s=wall, scale=scale, full_s=wall + info["compute_s"] * (scale - 1.0))
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-px", type=int, default=4000, help="pixels of the per-pixel peers (trend, texture)")
    ap.add_argument("--gi-side", type=int, default=500, help="side of esda's square crop")
    ap.add_argument("--only", default="trend,texture,hotspot")
    ap.add_argument("--before", help="src folder of another version of minecarbon, timed the same way")
    args = ap.parse_args()
    data = make_data()
    cases = {
        "trend": ([MC, "tool", "trend", str(data["stack"]), str(RUNS / "ours_trend.tif")], PEER_TREND,
                  data["stack"], args.peer_px, "pymannkendall.original_test loop"),
        "texture": ([MC, "tool", "texture", str(data["grey"]), str(RUNS / "ours_texture.tif"), "--window", "7",
                     "--levels", "32"], PEER_TEXTURE, data["grey"], args.peer_px, "skimage graycomatrix+graycoprops loop"),
        "hotspot": ([MC, "tool", "hotspot", str(data["agc"]), str(RUNS / "ours_gi.tif"), "--window", "3"], PEER_GI,
                    data["agc"], args.gi_side, "libpysal lat2W + esda G_Local"),
    }
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load before: {os.getloadavg()}")
    results = {}
    for name in args.only.split(","):
        cmd, code, src, arg, what = cases[name]
        first, _ = run(cmd)  # warm-up: numba's cache on disk
        if args.before:
            run(cmd, args.before)
        ours, peers, before = [], [], []
        for _ in range(args.repeat):
            ours.append(run(cmd)[0])
            if args.before:
                before.append(run(cmd, args.before)[0])
            if len(peers) < 1:  # the peer's extrapolated minutes vary far less than ours; once is enough
                peers.append(peer(code, src, arg))
        p = peers[0]
        o = statistics.median(ours)
        results[name] = {"ours_s": o, "ours_runs": ours, "ours_first_s": first, "peer": p, "ratio": p["full_s"] / o}
        if before:
            b = statistics.median(before)
            results[name].update(before_s=b, before_runs=before, before_ratio=p["full_s"] / b)
            print(f"{name:8s} before: {b:6.2f} s (runs {', '.join(f'{t:.2f}' for t in before)}) | ratio to the peer "
                  f"{p['full_s'] / b:6.0f}x | after/before speed-up {b / o:.2f}x")
        print(f"{name:8s} ours {o:6.2f} s (runs {', '.join(f'{t:.2f}' for t in ours)}; first {first:.2f} s) | "
              f"{what}: {p['full_s']:8.1f} s (process {p['wall_s']:.1f} s, compute {p['compute_s']:.2f} s on "
              f"{p['px']:,} px, x{p['scale']:.0f}) | ratio {p['full_s'] / o:6.0f}x | load {os.getloadavg()[0]:.1f}",
              flush=True)
    help_t = [run([MC, "tool", "trend", "--help"])[0] for _ in range(args.repeat)]
    print(f"minecarbon tool trend --help: median {statistics.median(help_t):.2f} s")
    results["help_s"] = help_t
    if args.before:
        help_b = [run([MC, "tool", "trend", "--help"], args.before)[0] for _ in range(args.repeat)]
        print(f"minecarbon tool trend --help, before: median {statistics.median(help_b):.2f} s")
        results["help_before_s"] = help_b
    (RUNS / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

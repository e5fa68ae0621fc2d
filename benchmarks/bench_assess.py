"""Benchmark: the assessment kernels against their peers, as ratios measured in the same run.

* trend: Sen's slope + Mann-Kendall (S, var S with ties, z, p, tau, slope, intercept) on a
  20-year 1000 x 1000 stack - ``minecarbon.assess.mann_kendall_sen_array`` (numba) against a
  per-pixel loop of ``pymannkendall.original_test`` (which also returns Sen's slope);
* Gi*: Getis-Ord Gi* z with 3 x 3 binary weights incl. the pixel on 1000 x 1000 -
  ``minecarbon.assess.gi_star`` against ``libpysal.weights.lat2W`` + ``esda.G_Local(star=True,
  transform='B', permutations=0)`` (weights construction included);
* breaks: exact Fisher-Jenks, k = 5, on 1,000,000 values - ``minecarbon.assess.fisher_jenks``
  against ``jenkspy.jenks_breaks``;
* zonal: count/mean/min/max/variance on 2500 x 4000 = 10 M float32 pixels with 5 and 20 zones -
  ``minecarbon.assess.zonal_stats`` against ``xrspatial.zonal.stats``.

Peer and fast version are timed in interleaved rounds (peer, ours, peer, ours, ...), so both see
the same machine load; the ratio is the median of the per-round ratios.  Peers that would take minutes
to hours at the target size run on a subset and are scaled to the target size: linearly in pixels (pymannkendall, esda - both do the same work per pixel), and
quadratically for jenkspy (its algorithm is O(k n^2)); the subset sizes and their measured times are
printed.  Fast versions run at the full target size, after one warm-up call (numba compilation is
cached on disk; the first-call time is printed).  Times are medians of ``--repeat`` runs.  Each peer's
results are compared with ours on the subset (max absolute difference printed).

    .venv/bin/python benchmarks/bench_assess.py [--repeat 3] [--quick] [--threads N]

The peers are single-threaded; ``--threads 1`` gives the per-core ratio (on a machine busy with other
jobs the 1-thread run can be faster than the 2-thread one, whose threads wait for each other).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np
import xarray as xr
from scipy import ndimage

warnings.filterwarnings("ignore")


def carbon_like(h: int, w: int, seed: int) -> np.ndarray:
    """Sum of Gaussian-filtered white noise at sigma 25, 4, 1 px, scaled to 60 +- 22, clipped at 0."""
    rng = np.random.default_rng(seed)
    f = sum(ndimage.gaussian_filter(rng.normal(size=(h, w)), s) * wgt for s, wgt in ((25, 1.0), (4, 0.5), (1, 0.25)))
    f = (f - f.mean()) / f.std()
    return np.clip(60 + 22 * f, 0, None).astype(np.float32)


def timed(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def grid_da(a: np.ndarray) -> xr.DataArray:
    import rioxarray  # noqa: F401
    from affine import Affine

    h, w = a.shape
    da = xr.DataArray(a, dims=("y", "x"), coords={"y": 4e6 - (np.arange(h) + 0.5) * 30,
                                                  "x": 5e5 + (np.arange(w) + 0.5) * 30})
    return da.rio.write_crs("EPSG:32649").rio.write_transform(Affine(30, 0, 5e5, 0, -30, 4e6))


def bench_trend(size: int, years: int, subset: int, repeat: int) -> list[dict]:
    import pymannkendall as mk

    from minecarbon.assess import mann_kendall_sen_array
    from minecarbon.assess.trend import STATS

    base = carbon_like(size, size, 1).ravel()
    rng = np.random.default_rng(2)
    slope = rng.normal(0.3, 0.5, base.size).astype(np.float32)
    t = np.arange(years, dtype=np.float32)
    stack = base[:, None] + slope[:, None] * t[None, :] + rng.normal(0, 3, (base.size, years)).astype(np.float32)
    stack[: base.size // 50] = np.round(stack[: base.size // 50])  # 2 % of pixels with ties
    yrs = np.arange(2005, 2005 + years)
    t0 = time.perf_counter()
    mann_kendall_sen_array(stack[:1000], yrs)
    first = time.perf_counter() - t0
    sub = stack[:subset].astype(np.float64)
    fast_t, peer_t = [], []
    for _ in range(repeat):  # interleaved rounds: both see the same machine load
        t0 = time.perf_counter()
        res = mann_kendall_sen_array(stack, yrs)
        fast_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = [mk.original_test(x) for x in sub]
        peer_t.append((time.perf_counter() - t0) * stack.shape[0] / subset)
    fast, peer = statistics.median(fast_t), statistics.median(peer_t)
    peer_sub = peer * subset / stack.shape[0]
    ratio = statistics.median(p / f for p, f in zip(peer_t, fast_t))
    idx = {k: i for i, k in enumerate(STATS)}
    diff = max(max(abs(res[i, idx["s"]] - r.s), abs(res[i, idx["z"]] - r.z), abs(res[i, idx["p"]] - r.p),
                   abs(res[i, idx["tau"]] - r.Tau), abs(res[i, idx["slope"]] - r.slope),
                   abs(res[i, idx["intercept"]] - r.intercept)) for i, r in enumerate(ref))
    n = stack.shape[0]
    return [{"op": f"trend, {years} yr x {size}x{size}", "method": "pymannkendall.original_test loop",
             "time": peer, "note": f"extrap. x{n // subset} from {subset:,} px: {peer_sub:.2f} s", "diff": ""},
            {"op": "", "method": "minecarbon mann_kendall_sen_array (numba)", "time": fast,
             "note": f"first call {first:.2f} s", "diff": f"{diff:.1e}", "ratio": ratio}]


def bench_gi(size: int, subsets: tuple[int, ...], repeat: int) -> list[dict]:
    import esda
    import libpysal

    from minecarbon.assess import gi_star

    a = carbon_like(size, size, 3).astype(np.float64)
    da = grid_da(a)
    gi_star(grid_da(a[:50, :50]), window=3)
    fast_t, peer_t, rates = [], [], []
    diff = np.nan
    for r in range(repeat):  # interleaved rounds: both see the same machine load
        t0 = time.perf_counter()
        gi_star(da, window=3)
        fast_t.append(time.perf_counter() - t0)
        s = subsets[-1] if r else subsets[0]
        sub = a[:s, :s]
        t0 = time.perf_counter()
        w = libpysal.weights.lat2W(s, s, rook=False)
        g = esda.G_Local(sub.ravel(), w, transform="B", star=True, permutations=0)
        dt = time.perf_counter() - t0
        rates.append((s, dt))
        peer_t.append(dt * (size * size) / (s * s))
        if r == 0:
            ours = gi_star(grid_da(sub), window=3).sel(stat="z").values.ravel()
            diff = float(np.nanmax(np.abs(ours - g.Zs)))
    fast, peer = statistics.median(fast_t), statistics.median(peer_t)
    ratio = statistics.median(p / f for p, f in zip(peer_t, fast_t))
    note = "; ".join(f"{s}x{s}: {t:.2f} s" for s, t in rates)
    return [{"op": f"Gi* 3x3 incl. self, {size}x{size}", "method": "libpysal lat2W + esda G_Local (perm. 0)",
             "time": peer, "note": f"extrap. linear in px from {note}", "diff": ""},
            {"op": "", "method": "minecarbon gi_star (scipy.ndimage + numba)", "time": fast, "note": "z, p, bin",
             "diff": f"{diff:.1e}", "ratio": ratio}]


def bench_breaks(n: int, subset: int, repeat: int) -> list[dict]:
    import jenkspy

    from minecarbon.assess import fisher_jenks

    v = carbon_like(1000, n // 1000, 5).ravel().astype(np.float64)
    v += np.random.default_rng(6).normal(0, 1e-3, v.size)  # continuous values
    fisher_jenks(v[:1000], 5)
    fast, res = timed(lambda: fisher_jenks(v, 5), max(repeat, 5))
    sub = v[:subset]
    t0 = time.perf_counter()
    jb = np.array(jenkspy.jenks_breaks(sub, n_classes=5))
    peer_sub = time.perf_counter() - t0
    peer = peer_sub * (v.size / subset) ** 2
    diff = float(np.abs(fisher_jenks(sub, 5).breaks - jb).max())
    return [{"op": f"natural breaks k=5, {v.size:,} values", "method": "jenkspy.jenks_breaks",
             "time": peer, "note": f"extrap. O(n^2) from n={subset:,}: {peer_sub:.2f} s", "diff": ""},
            {"op": "", "method": "minecarbon fisher_jenks (numba D&C, exact)", "time": fast,
             "note": f"GVF {res.gvf:.4f}, incl. sort", "diff": f"{diff:.1e}", "ratio": peer / fast}]


def bench_zonal(h: int, w: int, repeat: int) -> list[dict]:
    from xrspatial import zonal

    from minecarbon.assess import zonal_stats

    vals = carbon_like(h, w, 7)
    rows = []
    for nz in (5, 20):
        zones = (np.arange(w)[None, :] * nz // w).repeat(h, 0).astype(np.int32)
        zda = xr.DataArray(zones, dims=("y", "x"))
        vda = xr.DataArray(vals, dims=("y", "x"))
        zonal_stats(vals[:100], zones[:100], 0.09, ignore_zone=None)
        fast_t, peer_t = [], []
        for _ in range(repeat):  # interleaved rounds: both see the same machine load
            f, ours = timed(lambda: zonal_stats(vals, zones, 0.09, ignore_zone=None), 3)
            p, theirs = timed(lambda: zonal.stats(zda, vda, stats_funcs=["mean", "min", "max", "var"]), 1)
            fast_t.append(f)
            peer_t.append(p)
        fast, peer = statistics.median(fast_t), statistics.median(peer_t)
        ratio = statistics.median(p / f for p, f in zip(peer_t, fast_t))
        theirs = theirs.set_index("zone")
        o = ours.set_index("zone")
        diff = max(float(np.abs(o["mean"] - theirs["mean"]).max()), float(np.abs(o["min"] - theirs["min"]).max()),
                   float(np.abs(o["variance"] - theirs["var"]).max() / o["variance"].max()))
        rows += [{"op": f"zonal stats {h}x{w}, {nz} zones", "method": "xrspatial.zonal.stats (numpy)",
                  "time": peer, "note": "mean, min, max, var", "diff": ""},
                 {"op": "", "method": "minecarbon zonal_stats (numba)", "time": fast,
                  "note": "+ count, std, sum, area", "diff": f"{diff:.1e}", "ratio": ratio}]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke test, not the targets)")
    ap.add_argument("--threads", type=int, default=0, help="numba threads of the fast versions (default: all)")
    args = ap.parse_args()
    import numba

    if args.threads:
        numba.set_num_threads(args.threads)
    q = args.quick
    rows = []
    rows += bench_trend(200 if q else 1000, 20, 500 if q else 2000, args.repeat)
    rows += bench_gi(300 if q else 1000, (100, 200) if q else (300, 500), args.repeat)
    rows += bench_breaks(100_000 if q else 1_000_000, 4000 if q else 8000, args.repeat)
    rows += bench_zonal(500 if q else 2500, 800 if q else 4000, args.repeat)

    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__} "
          f"({numba.get_num_threads()} threads)\n")
    print("| operation | method | wall time (s) | ratio peer/ours | max abs diff vs peer | note |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"**{r['ratio']:,.0f}x**" if "ratio" in r else ""
        print(f"| {r['op']} | {r['method']} | {r['time']:.3f} | {ratio} | {r['diff']} | {r['note']} |")


if __name__ == "__main__":
    main()

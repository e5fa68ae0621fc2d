"""Benchmark: blockwise AGC prediction of a 5000 x 5000 feature stack vs the learner's own ``predict``.

For XGBoost and for a random forest (both as fitted by ``minecarbon.model``:
correlation selection -> learner, 100 trees, trained on 80 synthetic plots),
on the same synthetic 15-band float32 stack of ``--size`` x ``--size`` pixels
(default 5000, the simulator's ``large`` scene size; synthesised here, seeded,
because simulating the large scene takes long):

* **raw**: the fitted pipeline's own ``predict`` on the whole in-memory array,
  reshaped to (pixels, features), with the learner's own threading
  (``n_jobs=-1``) - what a user would write by hand;
* **ours**: :func:`minecarbon.model.predict_by_type` on the same in-memory
  array wrapped in dask chunks (``--chunk-px``), single-threaded learner per
  block, dask threads across blocks, NaN checks, forest-type routing and the
  unit mask included, blocks stored into a preallocated array (the ``map``
  stage writes them to a GeoTIFF instead);
* **ours, lazy**: the same with the stack produced chunk by chunk (each block a
  copy of one precomputed tile, standing in for a cached GeoTIFF read), so that
  memory is bounded by the chunk size.

Times: raw and ours alternate in one process, ``--repeats`` times, and the
fastest of each is kept (the machine is shared; alternating exposes both to
the same load); the ratio ours / raw is from this run.  Peak memory: each case
runs once more in its own child process, whose peak resident set (``VmHWM``)
is reported (the lazy case is timed there too).

    .venv/bin/python benchmarks/bench_model.py [--size 5000] [--chunk-px 1024] [--repeats 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

N_FEATURES = 15


def _block(seed: int, shape: tuple[int, int], y0: int, x0: int) -> np.ndarray:
    """A deterministic (features, rows, cols) block of the synthetic stack (depends on position only)."""
    rows, cols = shape
    yy, xx = np.meshgrid(np.arange(y0, y0 + rows), np.arange(x0, x0 + cols), indexing="ij")
    base = (np.sin(yy / 37.0) + np.cos(xx / 53.0)) * 0.25 + 0.5
    out = np.empty((N_FEATURES, rows, cols), dtype=np.float32)
    for f in range(N_FEATURES):
        out[f] = base * (0.5 + f / N_FEATURES) + 0.1 * np.sin((yy * (f + 1) + xx * (f + 3)) / 11.0 + seed)
    return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _model(kind: str):
    from minecarbon.model import make_model, make_selector, single_thread

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(80, N_FEATURES)).astype(np.float32)
    y = 60 * X[:, 0] + 20 * X[:, 3] ** 2 + rng.normal(0, 3, 80)
    return single_thread(make_model(kind, make_selector("correlation"), seed=0, n_estimators=100).fit(X, y))


def _raw(model, arr: np.ndarray) -> tuple[float, float, np.ndarray]:
    model.named_steps["learner"].set_params(n_jobs=-1)
    t0, c0 = time.perf_counter(), _cpu()
    pred = model.predict(arr.reshape(N_FEATURES, -1).T)
    out = time.perf_counter() - t0, _cpu() - c0, np.asarray(pred, dtype=np.float32)
    model.named_steps["learner"].set_params(n_jobs=1)
    return out


def _ours(model, data, size: int, chunk_px: int) -> tuple[float, float, np.ndarray]:
    import dask
    import dask.array as da
    import xarray as xr

    from minecarbon.model import predict_by_type

    stack = xr.DataArray(data, dims=("band", "y", "x"))
    types = xr.DataArray(da.ones((size, size), chunks=chunk_px, dtype=np.int32), dims=("y", "x"))
    mask = xr.DataArray(da.ones((size, size), chunks=chunk_px, dtype=bool), dims=("y", "x"))
    out = predict_by_type(stack, {1: model}, model, types, mask)
    vals = np.empty((size, size), dtype=np.float32)
    t0, c0 = time.perf_counter(), _cpu()
    with dask.config.set(scheduler="threads"):
        da.store(out.data, vals, lock=False)
    return time.perf_counter() - t0, _cpu() - c0, vals


def _data(case: str, size: int, chunk_px: int, arr: np.ndarray | None = None):
    import dask.array as da

    if case == "ours":
        return da.from_array(arr, chunks=(N_FEATURES, chunk_px, chunk_px))
    tile = _block(1, (chunk_px, chunk_px), 0, 0)  # blocks are copies of one tile: as cheap as a cached read
    blocks = da.zeros((N_FEATURES, size, size), chunks=(N_FEATURES, chunk_px, chunk_px), dtype=np.float32)
    return blocks.map_blocks(lambda b: tile[:, :b.shape[1], :b.shape[2]].copy(), dtype=np.float32)


def child(case: str, kind: str, size: int, chunk_px: int) -> dict:
    """One case alone, for its peak memory."""
    model = _model(kind)
    if case == "raw":
        dt, cpu, pred = _raw(model, _block(0, (size, size), 0, 0))
    elif case == "ours":
        dt, cpu, pred = _ours(model, _data(case, size, chunk_px, _block(0, (size, size), 0, 0)), size, chunk_px)
    else:
        dt, cpu, pred = _ours(model, _data(case, size, chunk_px), size, chunk_px)
    return {"seconds": dt, "cpu_seconds": cpu, "sum": float(np.sum(pred, dtype=np.float64)),
            "peak_rss_mib": _peak_rss_mib()}


def _peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would include the forking parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(case: str, kind: str, size: int, chunk_px: int) -> dict:
    res = subprocess.run([sys.executable, __file__, "--child", case, kind, str(size), str(chunk_px)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=5000)
    ap.add_argument("--chunk-px", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--kinds", default="xgb,rf")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], int(a.child[2]), int(a.child[3]))))
        return
    rows = []
    npx = a.size * a.size
    load0 = os.getloadavg()[0]
    for kind in a.kinds.split(","):
        model = _model(kind)
        arr = _block(0, (a.size, a.size), 0, 0)
        data = _data("ours", a.size, a.chunk_px, arr)
        best = {"raw": (np.inf, np.inf), "ours": (np.inf, np.inf)}
        same = True
        for _ in range(a.repeats):
            dt, cpu, p_raw = _raw(model, arr)
            best["raw"] = min(best["raw"], (dt, cpu))
            dt, cpu, p_ours = _ours(model, data, a.size, a.chunk_px)
            best["ours"] = min(best["ours"], (dt, cpu))
            same &= bool(np.array_equal(p_raw.reshape(a.size, a.size), p_ours))
            del p_raw, p_ours
        del arr, data
        mem = {c: run_child(c, kind, a.size, a.chunk_px) for c in ("raw", "ours", "lazy")}
        best["lazy"] = (mem["lazy"]["seconds"], mem["lazy"]["cpu_seconds"])
        for c in ("raw", "ours", "lazy"):
            wall, cpu = best[c]
            rows.append(f"| {kind} | {c} | {wall:.1f} | {cpu:.1f} | {npx / wall / 1e6:.2f} | "
                        f"{wall / best['raw'][0]:.2f} | {cpu / best['raw'][1]:.2f} | {mem[c]['peak_rss_mib']:.0f} |")
        rows.append(f"| {kind} | identical predictions (ours vs raw) | {'yes' if same else 'NO'} | | | | | |")
    head = [f"Prediction of a {a.size} x {a.size} x {N_FEATURES} float32 stack ({npx / 1e6:.0f} M pixels), chunks "
            f"{a.chunk_px} px, best of {a.repeats} alternating runs; {platform.machine()}, {os.cpu_count()} cores, "
            f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d')}",
            "",
            "| learner | case | wall s | CPU s | M pixels/s | wall / raw | CPU / raw | peak RSS (MiB) |",
            "|---|---|---|---|---|---|---|---|"]
    text = "\n".join(head + rows)
    print(text)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Benchmark: hierarchy maps (forest -> leaf habit -> species) of a lazily generated scene, time and peak memory.

A hierarchy (``minecarbon.classify.hierarchy.fit_hierarchy``, 60 trees per forest) is fitted on 3,000 synthetic
samples with the feature counts of ``tests/classify/test_hierarchy_simulated.py`` (107 forest features,
6 leaf-off bands, 100 species features), then ``map_hierarchy`` maps a ``--size`` x ``--size`` scene whose
inputs are dask arrays generated chunk by chunk (seeded), so that nothing holds the whole scene. Each chunk
size in ``--chunks`` runs in its own child process; its wall time, pixels/s and peak resident memory (VmHWM)
are reported. Memory should follow the chunk size, not the scene size.

    .venv/bin/python benchmarks/bench_classify_maps.py [--size 2000] [--chunks 256,512]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

NF, NB, NS = 107, 6, 100


def _fit():
    from minecarbon.classify.hierarchy import fit_hierarchy

    rng = np.random.default_rng(0)
    n = 3000
    forest = rng.random(n) < 0.6
    ever = forest & (rng.random(n) < 0.35)
    sp = np.where(ever, rng.integers(1, 3, n), rng.integers(3, 8, n)).astype(str)
    fX = rng.normal(0, 1, (n, NF)) + forest[:, None] * 0.8
    on = rng.uniform(0.02, 0.4, (n, NB))
    off = on * np.where(ever | ~forest, 1.0, 0.6)[:, None] + rng.normal(0, 0.01, (n, NB))
    rvi = off[:, 3] / np.clip(off[:, 2], 1e-3, None)
    sX = rng.normal(0, 1, (n, NS)) + sp.astype(int)[:, None] * 0.1
    return fit_hierarchy(fX, forest, rvi, off, on, ever, sX, sp, n_estimators=60, seed=0)


def _child(size: int, chunk: int) -> None:
    import dask
    import dask.array as da
    import xarray as xr

    from minecarbon.classify.hierarchy import map_hierarchy

    h = _fit()

    def cube(k, seed):
        return xr.DataArray(da.random.RandomState(seed).normal(0.4, 1, (k, size, size), chunks=(k, chunk, chunk)),
                            dims=("band", "y", "x"))

    rvi = xr.DataArray(da.random.RandomState(9).uniform(1, 8, (size, size), chunks=(chunk, chunk)), dims=("y", "x"))
    off = xr.DataArray(da.random.RandomState(8).uniform(0.02, 0.4, (NB, size, size), chunks=(NB, chunk, chunk)),
                       dims=("band", "y", "x"))
    ds = map_hierarchy(h, cube(NF, 1), rvi, off, cube(NS, 2))
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2):
        f, lh, sp = dask.compute((ds.forest == 1).sum(), (ds.leaf_habit == 1).sum(), (ds.species_index >= 0).sum())
    wall = time.perf_counter() - t0
    hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(json.dumps({"size": size, "chunk": chunk, "wall_s": wall, "px_per_s": size * size / wall,
                      "peak_rss_gib": hwm / 2**20, "forest_px": int(f), "evergreen_px": int(lh), "species_px": int(sp)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--chunks", default="256,512")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--chunk", type=int)
    a = ap.parse_args()
    if a.child:
        _child(a.size, a.chunk)
        return
    for c in [int(v) for v in a.chunks.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--child", "--size", str(a.size), "--chunk", str(c)],
                             capture_output=True, text=True, check=True)
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()

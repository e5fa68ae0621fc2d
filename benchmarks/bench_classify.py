"""Benchmark: fully constrained unmixing (4 endmembers, 6 bands) vs the per-pixel NNLS peer.

* **ours**: :func:`minecarbon.classify.unmix.fcls` (exact active-set enumeration in a numba kernel) on
  ``--pixels`` synthetic pixels (seeded Dirichlet mixtures plus noise);
* **peer**: scipy's ``nnls`` on the sum-to-one-augmented system ``[E; d 1'] a = [x; d]`` (Heinz & Chang 2001),
  one call per pixel - what a user would write by hand - on the first ``--peer-pixels`` pixels;
* **image**: :func:`minecarbon.classify.unmix.unmix` on a dask-backed 6-band image of ``--size`` x ``--size``
  pixels in 512-px chunks (dask threads).

Reported: pixels per second of each, the ratio ours/peer (per pixel), the largest fraction difference
between the two on the peer's pixels. Speed is never asserted in tests; the issue's aim is >= 50,000 px/s.

    .venv/bin/python benchmarks/bench_classify.py [--pixels 2000000] [--peer-pixels 20000] [--size 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixels", type=int, default=2_000_000)
    ap.add_argument("--peer-pixels", type=int, default=20_000)
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--out")
    a = ap.parse_args()
    import dask
    import xarray as xr
    from scipy.optimize import nnls

    from minecarbon.classify.unmix import fcls, unmix

    rng = np.random.default_rng(0)
    E = rng.uniform(0.02, 0.5, (6, 4))
    X = rng.dirichlet(np.full(4, 0.5), a.pixels) @ E.T + rng.normal(0, 0.02, (a.pixels, 6))
    fcls(X[:10], E)  # compile
    t0 = time.perf_counter()
    F, _ = fcls(X, E)
    t_ours = time.perf_counter() - t0
    A = np.vstack([E, 1e4 * np.ones(4)])
    t0 = time.perf_counter()
    P = np.array([nnls(A, np.r_[x, 1e4])[0] for x in X[: a.peer_pixels]])
    t_peer = time.perf_counter() - t0
    img = xr.DataArray(rng.uniform(0.02, 0.5, (6, a.size, a.size)).astype(np.float32), dims=("band", "y", "x"))
    em = xr.DataArray(E.T, dims=("endmember", "band"), coords={"endmember": ["a", "b", "c", "d"]})
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads"):
        unmix(img.chunk({"y": 512, "x": 512}), em).compute()
    t_img = time.perf_counter() - t0
    res = {"pixels": a.pixels, "ours_px_per_s": a.pixels / t_ours, "peer_px_per_s": a.peer_pixels / t_peer,
           "ratio_ours_over_peer": (a.pixels / t_ours) / (a.peer_pixels / t_peer),
           "max_abs_diff_vs_peer": float(np.abs(F[: a.peer_pixels] - P).max()),
           "image_px": a.size * a.size, "image_dask_px_per_s": a.size * a.size / t_img,
           "machine": platform.platform()}
    print(json.dumps(res, indent=2))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()

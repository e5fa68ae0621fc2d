"""Benchmark: the `classify` stage on a simulated scene without forest-type maps, time and peak memory.

Simulates ``--size`` (``simulate(..., classify=True, forest_type_inputs=False)``: 12 cloud-gapped monthly
composites per year, labelled points of three years) once into ``--dir``, then runs the classify stage alone in a
child process per ``--chunks`` value (``[run].chunk_px``) and reports its wall time, CPU time and peak resident
memory (VmHWM), with the stage's headline OA and wall, CPU and peak RSS per phase (samples, cv, fit, maps).
Speed is never asserted in tests.

    .venv/bin/python benchmarks/bench_classify_stage.py [--size small] [--years 2005,2024] [--chunks 256,512]
        [--classify-years 2024]

Series of a long period are large (20 years of 'large', 5000 x 5000 px: about 55 GB); use a short period for
the big scenes and classify one year of it: ``--size large --years 2022,2024 --classify-years 2024`` writes the
monthly composites of 2024 only (``simulate(..., classify_years=...)``: 12 composites, 3.6 GB uncompressed; the
project keeps its forest-type maps and classifies beside them, ``[classify].years``). Measured: small and
medium, 2022-2024, chunks 128 and 256, before and after the chunked maps; large, one classify year
(benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _phases():
    """Wall, CPU, peak RSS (sampled every 0.1 s) and RSS at the end of the stage's phases: samples, cv, fit, maps."""
    import threading

    import minecarbon.pipeline.stages.classify as stage

    state = {"phase": "setup", "mark": (time.perf_counter(), time.process_time())}
    acc: dict[str, list[float]] = {}

    def rss() -> float:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 2**20

    def switch(name: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        a = acc.setdefault(state["phase"], [0.0, 0.0, 0.0, 0.0])
        a[0] += t - state["mark"][0]
        a[1] += c - state["mark"][1]
        a[3] = rss()
        state["mark"], state["phase"] = (t, c), name

    def wrap(fname: str, name: str, after: str) -> None:
        f = getattr(stage, fname)

        def g(*a, **k):
            switch(name)
            try:
                return f(*a, **k)
            finally:
                switch(after)
        setattr(stage, fname, g)

    wrap("sample_features", "samples", "setup")
    wrap("hierarchical_cv", "cv", "setup")
    wrap("fit_hierarchy", "fit", "maps")

    def sample() -> None:
        while True:
            a = acc.setdefault(state["phase"], [0.0, 0.0, 0.0, 0.0])
            a[2] = max(a[2], rss())
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()

    def result() -> dict:
        switch("end")
        return {p: {"wall_s": round(v[0], 1), "cpu_s": round(v[1], 1), "peak_rss_gib": round(v[2], 3),
                    "end_rss_gib": round(v[3], 3)}
                for p, v in acc.items() if p != "end"}
    return result


def _child(toml: str, chunk: int) -> None:
    from minecarbon.config import load_config
    from minecarbon.pipeline import run_pipeline

    cfg = load_config(toml)
    cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"chunk_px": chunk})})
    phases = _phases()
    t0, c0 = time.perf_counter(), time.process_time()
    run_pipeline(cfg, ["classify"], force=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    info = json.loads((cfg.workspace / "outputs" / "classify" / "classify.json").read_text(encoding="utf-8"))
    print(json.dumps({"chunk_px": chunk, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                      "peak_rss_gib": round(hwm / 2**20, 2),
                      "years": len(cfg.classify.years or cfg.project.years),
                      "samples": info["samples"], "oa": {k: round(v, 3) for k, v in info["oa"].items()},
                      "phases": phases()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--years", default="2005,2024", help="start,end year of the simulated period")
    ap.add_argument("--chunks", default="256,512")
    ap.add_argument("--classify-years", default=None, help="classify only these years (comma-separated)")
    ap.add_argument("--dir", default="/tmp/bench_classify_stage")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--toml")
    ap.add_argument("--chunk", type=int)
    a = ap.parse_args()
    if a.child:
        _child(a.toml, a.chunk)
        return
    from minecarbon.scenario import simulate

    y0, y1 = (int(v) for v in a.years.split(","))
    cy = [int(v) for v in a.classify_years.split(",")] if a.classify_years else None
    out = Path(a.dir) / (f"{a.size}-{a.seed}-{y0}-{y1}" + (f"-c{'_'.join(map(str, cy))}" if cy else ""))
    toml = out / "minecarbon.toml"
    if not toml.exists():
        t0 = time.perf_counter()
        # classify_years: the project keeps the given forest-type maps and classifies beside them (same work)
        simulate(out, size=a.size, seed=a.seed, start_year=y0, end_year=y1, als_pulses_per_m2=0, classify=True,
                 forest_type_inputs=cy is not None, classify_years=cy)
        print(json.dumps({"simulate_s": round(time.perf_counter() - t0, 1), "size": a.size,
                          "simulate_peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))
    for c in [int(v) for v in a.chunks.split(",")]:
        res = subprocess.run([sys.executable, __file__, "--child", "--toml", str(toml), "--chunk", str(c)],
                             capture_output=True, text=True, check=True)
        print(res.stdout.strip().splitlines()[-1])
    print(json.dumps({"load_avg": open("/proc/loadavg").read().split()[:3],
                      "self_peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))


if __name__ == "__main__":
    main()

"""Benchmark: each stage's time on the dask threads scheduler vs a 2-process LocalCluster (``local:2``).

A simulated project (``--size tiny`` or ``small``, seed 7) is written once; then
``minecarbon run --force --scheduler S`` runs it in a fresh child process per
scheduler, alternating, ``--repeat`` times each.  Stage times are read from the
project's log (``stage X: done in Y s``); peak memory is the largest resident
set of the run's processes (getrusage RUSAGE_CHILDREN: the ``minecarbon`` process
and, for ``local:2``, its worker processes; one process's peak, not their sum).
Outputs are the same bytes on both (tests/pipeline/test_scheduler.py).

    .venv/bin/python benchmarks/bench_scaleout.py --size tiny
    .venv/bin/python benchmarks/bench_scaleout.py --size small --repeat 1
    .venv/bin/python benchmarks/bench_scaleout.py --project /tmp/medium/minecarbon.toml  # simulated already

``--project`` runs an existing project (e.g. ``minecarbon simulate --size medium --seed 7``) instead
of simulating one; its workspace is overwritten (``--force``), its inputs are only read.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = Path(sys.executable).with_name("minecarbon")
SCHEDULERS = ("threads", "local:2")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def run_once(toml: Path, scheduler: str) -> tuple[float, dict[str, float], float]:
    logs = toml.parent / "workspace" / "logs"
    before = set(logs.glob("run-*.log")) if logs.is_dir() else set()
    t0 = time.perf_counter()
    # a fresh grandchild per run so that RUSAGE_CHILDREN of the wrapper is this run's peak only
    wrapper = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],check=True,"
               "stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", wrapper, str(EXE), "run", str(toml), "--force",
                          "--scheduler", scheduler], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = int(out.stdout.strip().splitlines()[-1]) / 1024.0
    time.sleep(1.1)  # log files are named by the second
    new = sorted(set(logs.glob("run-*.log")) - before)
    stages = {m.group(1): float(m.group(2))
              for m in re.finditer(r"stage (\w+): done in ([0-9.]+) s", new[-1].read_text(encoding="utf-8"))}
    return wall, stages, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=("tiny", "small", "medium", "large"), default="tiny")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--project", type=Path, help="an existing project file (no simulation; --size ignored)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-scaleout-{args.size}-"))
    try:
        if args.project:
            toml = args.project.resolve()
        else:
            subprocess.run([str(EXE), "simulate", str(tmp / "p"), "--size", args.size, "--seed", "7"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            toml = tmp / "p" / "minecarbon.toml"
        results: dict[str, list] = {s: [] for s in SCHEDULERS}
        for _ in range(args.repeat):
            for s in SCHEDULERS:
                results[s].append(run_once(toml, s))
        stages = list(results[SCHEDULERS[0]][0][1])
        best = {s: {st: min(r[1].get(st, float("nan")) for r in results[s]) for st in stages} for s in SCHEDULERS}
        print(f"{args.project or 'size ' + args.size}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, best of {args.repeat}")
        print("| stage | threads (s) | local:2 (s) | local:2 / threads |")
        print("|---|---|---|---|")
        for st in stages:
            a, b = best["threads"][st], best["local:2"][st]
            print(f"| {st} | {a:.1f} | {b:.1f} | {b / a if a else float('nan'):.2f} |")
        walls = {s: min(r[0] for r in results[s]) for s in SCHEDULERS}
        peaks = {s: max(r[2] for r in results[s]) for s in SCHEDULERS}
        print(f"| whole run (wall) | {walls['threads']:.1f} | {walls['local:2']:.1f} | "
              f"{walls['local:2'] / walls['threads']:.2f} |")
        print(f"| peak RSS of one process (MiB) | {peaks['threads']:.0f} | {peaks['local:2']:.0f} | |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

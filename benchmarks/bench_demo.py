"""Benchmark: wall time and peak memory of `minecarbon demo --size small` and `minecarbon simulate --size large`.

Each command runs in a fresh child process; peak memory is the child's maximum
resident set size (getrusage RUSAGE_CHILDREN, so run one command per process
of this script, which is what ``--only`` does).

    .venv/bin/python benchmarks/bench_demo.py --only demo-small
    .venv/bin/python benchmarks/bench_demo.py --only simulate-large
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = Path(sys.executable).with_name("minecarbon")
CASES = {
    "demo-small": lambda d: [str(EXE), "demo", "--out", str(d / "demo"), "--size", "small"],
    "simulate-large": lambda d: [str(EXE), "simulate", str(d / "large"), "--size", "large"],
    "simulate-medium": lambda d: [str(EXE), "simulate", str(d / "medium"), "--size", "medium"],
}


def run(case: str) -> tuple[float, float]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{case}-"))
    try:
        t0 = time.perf_counter()
        subprocess.run(CASES[case](tmp), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        return dt, peak_mib
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=sorted(CASES), required=True)
    args = ap.parse_args()
    dt, peak = run(args.only)
    print(f"| {args.only} | {dt:.1f} s | {peak:.0f} MiB | {os.cpu_count()} cores, Python {platform.python_version()} |")


if __name__ == "__main__":
    main()

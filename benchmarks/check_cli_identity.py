"""Check: ``minecarbon tool trend`` / ``tool texture`` write the same GeoTIFFs as another version (issue #18).

Runs both versions' commands on ``bench_cli.py``'s data (made if missing) and compares the outputs:
pixels (bit for bit, NaN included), dtype, nodata, CRS, transform, band descriptions and the files' bytes.

    .venv/bin/python benchmarks/check_cli_identity.py --before /tmp/before/src [--only trend,texture]

``--before SRC``: the other version's ``src`` folder (``git -C MAIN archive HEAD src | tar -x -C /tmp/before``).
Exit status 1 when any output differs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import MC, RUNS, make_data  # noqa: E402


def _run(cmd: list[str], pythonpath: str | None) -> None:
    env = dict(os.environ, PYTHONPATH=pythonpath) if pythonpath else None
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stdout}\n{res.stderr}")


def compare(a: Path, b: Path) -> list[str]:
    """What differs between two GeoTIFFs (empty when nothing does)."""
    diffs = []
    with rasterio.open(a) as ra, rasterio.open(b) as rb:
        for what in ("count", "width", "height", "dtypes", "nodata", "crs", "transform", "descriptions"):
            va, vb = getattr(ra, what), getattr(rb, what)
            if what == "nodata" and va is not None and vb is not None:
                va, vb = np.float64(va).tobytes(), np.float64(vb).tobytes()  # NaN == NaN
            if va != vb:
                diffs.append(f"{what}: {getattr(ra, what)} vs {getattr(rb, what)}")
        if not diffs:
            pa, pb = ra.read(), rb.read()
            if pa.tobytes() != pb.tobytes():  # bit for bit: NaN payloads and -0.0 too
                diffs.append(f"pixels: {int((pa.view(np.uint8) != pb.view(np.uint8)).sum())} bytes differ")
    if a.read_bytes() != b.read_bytes():
        diffs.append("file bytes differ")
    return diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="src folder of the other version")
    ap.add_argument("--only", default="trend,texture")
    args = ap.parse_args()
    data = make_data()
    cases = {
        "trend": ["tool", "trend", str(data["stack"])],
        "texture": ["tool", "texture", str(data["grey"]), "--window", "7", "--levels", "32"],
        "hotspot": ["tool", "hotspot", str(data["agc"]), "--window", "3"],
    }
    bad = 0
    for name in args.only.split(","):
        mine, theirs = RUNS / f"identity_{name}_after.tif", RUNS / f"identity_{name}_before.tif"
        cmd = cases[name]
        _run([MC, *cmd[:3], str(mine), *cmd[3:]], None)
        _run([MC, *cmd[:3], str(theirs), *cmd[3:]], args.before)
        diffs = compare(mine, theirs)
        bad += bool(diffs)
        with rasterio.open(mine) as r:
            what = f"{r.count} bands {r.dtypes[0]} {r.width} x {r.height}, nodata {r.nodata}, {r.crs}"
        print(f"{name:8s} {'IDENTICAL' if not diffs else 'DIFFERENT: ' + '; '.join(diffs)} ({what}; "
              f"{mine.stat().st_size:,} bytes)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

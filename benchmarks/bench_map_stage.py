"""Benchmark: the ``map`` stage with and without the steps added for change (issue #12), same run, same data.

The per-pixel prediction (``minecarbon.model.predict_by_type``) is unchanged and benchmarked against the
learners' own ``predict`` in ``bench_model.py``.  What the change work added to the ``map`` stage is:

* the inverse calibration and the survey-year ratio factor (one multiply-add per pixel, inside the same
  dask graph as the prediction);
* the 5-year running median (``[model].temporal_filter_years``): every year's unfiltered map is written to a
  temporary GeoTIFF, then one chunked pass computes the median of the stack once per chunk and writes each
  year's band straight into its final COG (``io.raster.write_rasters``; before issue #18's session 7 it went
  through one temporary multi-band file read back year by year).

This script simulates a scene (``--size``, default small), runs the stages up to ``model`` once, then times
the ``map`` stage alternately with the filter on (the default) and off (``temporal_filter_years = 0``; the
calibration and the factors stay on: they cannot be told apart from the prediction in time), ``--repeats``
times each, keeping the fastest of each; reports both and their ratio.  The machine is shared: alternating
exposes both to the same load.

    .venv/bin/python benchmarks/bench_map_stage.py [--size small] [--repeats 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="small", choices=["tiny", "small", "medium"])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from minecarbon.config import load_config
    from minecarbon.pipeline import run_pipeline
    from minecarbon.scenario import simulate

    with tempfile.TemporaryDirectory() as tmp:
        toml = simulate(Path(tmp) / "scene", size=args.size, seed=0, als_pulses_per_m2=None)
        cfg = load_config(toml)
        run_pipeline(cfg, ["units", "plots", "features", "model"])
        variants = {
            "filter_on": cfg,
            "filter_off": cfg.model_copy(update={"model": cfg.model.model_copy(update={"temporal_filter_years": 0})}),
        }
        best = {k: float("inf") for k in variants}
        for _ in range(args.repeats):
            for name, c in variants.items():
                t0 = time.perf_counter()
                run_pipeline(c, ["map"], force=True)
                best[name] = min(best[name], time.perf_counter() - t0)
        years = len(cfg.project.years)
    res = {"size": args.size, "years": years, "map_s_filter_on": round(best["filter_on"], 2),
           "map_s_filter_off": round(best["filter_off"], 2),
           "ratio_on_off": round(best["filter_on"] / best["filter_off"], 3), "repeats": args.repeats,
           "machine": platform.platform()}
    print(json.dumps(res, indent=2))
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

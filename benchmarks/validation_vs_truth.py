"""Check against truth: the classify stage's validation estimates (``[classify].validation``), small area.

For each seed: simulates ``small`` (2005-2024) with the monthly series and points of the base and end year only
(``simulate(..., classify=True, classify_years=[2005, 2024])``: the project keeps its forest-type maps and
classifies those two years beside them, ``[classify].years``), runs the classify stage alone, and compares, per
year, with the simulator's truth (``truth/forest_type_<year>.tif``) on the grid's pixels that have a map class:

* the estimated forest area and its 95 % interval (Olofsson et al. 2014, from the 600 validation points) against
  the true forest area: does the interval cover it?
* the validation points' forest OA and its 95 % interval against the map's true forest OA (every pixel against
  the truth; also the "maps vs truth" number of docs/classify.md, sample pixels included).

    nice -n 19 .venv/bin/python benchmarks/validation_vs_truth.py [--seeds 0,1,2] [--dir /tmp/valtruth]
        [--out benchmarks/results/validation_vs_truth.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.windows import from_bounds

YEARS = (2005, 2024)


def compare(root: Path, years=YEARS) -> list[dict]:
    """Per year: the stage's validation estimates of the forest level against the truth."""
    out = root / "workspace" / "outputs" / "classify"
    ae = pd.read_csv(out / "area_estimates.csv")
    va = pd.read_csv(out / "validation_accuracy.csv")
    rows = []
    for year in years:
        with rasterio.open(out / f"dominant_species_{year}.tif") as m:
            sp = m.read(1)
            px_ha = abs(m.transform.a * m.transform.e) / 1e4
            with rasterio.open(root / "truth" / f"forest_type_{year}.tif") as t:
                tr = t.read(1, window=from_bounds(*m.bounds, transform=t.transform))
        with rasterio.open(out / f"leaf_habit_{year}.tif") as m:
            classed = m.read(1) != 255  # pixels with a class at the forest level (the strata's area)
        truth_f = (tr > 0) & (tr != 255)
        map_f = sp != 0
        a = ae[(ae["year"] == year) & (ae["level"] == "forest") & (ae["class"] == "forest")].iloc[0]
        v = va[(va["year"] == year) & (va["level"] == "forest")].iloc[0]
        true_ha = float(truth_f[classed].sum() * px_ha)
        true_oa = float((truth_f == map_f)[classed].mean())
        rows.append({"year": year, "validation_points": int(v["n"]), "points_nodata": int(v["n_nodata"]),
                     "mapped_forest_ha": float(a["mapped_ha"]), "true_forest_ha": round(true_ha, 2),
                     "est_forest_ha": round(float(a["area_ha"]), 2), "ci95_ha": round(float(a["area_ci95_ha"]), 2),
                     "area_covered": bool(abs(a["area_ha"] - true_ha) <= a["area_ci95_ha"] + 1e-6),
                     "true_oa": round(true_oa, 4), "sample_oa": round(float(v["oa"]), 4),
                     "sample_oa_ci95": round(float(v["oa_ci95"]), 4),
                     "oa_covered": bool(abs(v["oa"] - true_oa) <= v["oa_ci95"] + 1e-9),
                     "area_oa": round(float(v["oa_area"]), 4), "area_oa_ci95": round(float(v["oa_area_ci95"]), 4),
                     "nodata_px": int((~classed).sum()), "grid_px": int(classed.size)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--size", default="small")
    ap.add_argument("--dir", default="/tmp/valtruth")
    ap.add_argument("--out", default="benchmarks/results/validation_vs_truth.json")
    args = ap.parse_args()
    from minecarbon.config import load_config
    from minecarbon.pipeline import STAGES_BY_NAME
    from minecarbon.pipeline.core import run_stage
    from minecarbon.scenario import simulate

    res = []
    for seed in (int(s) for s in args.seeds.split(",")):
        root = Path(args.dir) / f"{args.size}_{seed}"
        t0 = time.perf_counter()
        toml = simulate(root, size=args.size, seed=seed, start_year=2005, end_year=2024, als_pulses_per_m2=0,
                        classify=True, classify_years=list(YEARS))
        t1 = time.perf_counter()
        run_stage(load_config(toml), STAGES_BY_NAME["classify"], lambda m: None, {})
        t2 = time.perf_counter()
        for r in compare(root):
            r.update(seed=seed, simulate_s=round(t1 - t0, 1), stage_s=round(t2 - t1, 1))
            res.append(r)
            print(json.dumps(r), flush=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    df = pd.DataFrame(res)
    print(df[["seed", "year", "true_forest_ha", "est_forest_ha", "ci95_ha", "area_covered", "true_oa", "sample_oa",
              "sample_oa_ci95", "oa_covered"]].to_string(index=False))


if __name__ == "__main__":
    main()

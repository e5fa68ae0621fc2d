"""How much the images and the plots can tell about the all-forest change (docs/model.md, issue #12).

For each simulated project directory given (``minecarbon demo`` or ``simulate`` + ``run``; it must hold
``truth/``), prints, over the pixels of the level-1 units 1-5 that are valid in the base and end year:

* the true base -> end stock change;
* the year factors that would make each end year's map equal the truth ("needed"), against the map before
  the year adjustment (the map stage multiplies each survey year by its factor, and the running median keeps
  the end years as they are, so ``map / factor`` is the map before adjustment);
* the factors from the final model's fit at the plots (what the map stage uses) and from the calibrated
  out-of-fold predictions, and the change each gives;
* the standard error of the plots' all-forest change (``agc_unit_estimates.csv``).

    .venv/bin/python scripts/change_information.py minecarbon-demo
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.windows import from_bounds


def _reader(bounds):
    def read(path: Path) -> np.ndarray:
        with rasterio.open(path) as src:
            win = from_bounds(*bounds, transform=src.transform).round_offsets().round_lengths()
            a = src.read(1, window=win).astype(float)
            if src.nodata is not None:
                a[a == src.nodata] = np.nan
        return a
    return read


def report(project: Path) -> None:
    out = project / "workspace" / "outputs"
    with rasterio.open(out / "units" / "units_level1.tif") as src:
        level1, bounds, px_ha = src.read(1), src.bounds, abs(src.res[0] * src.res[1]) / 1e4
    read = _reader(bounds)
    card = json.loads((out / "model" / "model_card.json").read_text(encoding="utf-8"))
    used = {int(k): v for k, v in card["year_adjustment"]["factors"].items()}
    y0, y1 = min(used), max(used)
    m0, m1 = read(out / "map" / f"agc_{y0}.tif"), read(out / "map" / f"agc_{y1}.tif")
    t0, t1 = read(project / "truth" / f"agc_{y0}.tif"), read(project / "truth" / f"agc_{y1}.tif")
    mask = np.isfinite(m0) & np.isfinite(m1) & np.isfinite(t0) & np.isfinite(t1) & (level1 >= 1) & (level1 <= 5)
    total = lambda a: float(a[mask].sum() * px_ha)  # noqa: E731
    raw0, raw1 = total(m0) / used[y0], total(m1) / used[y1]
    true0, true1 = total(t0), total(t1)
    print(f"{project}: truth {true0:,.0f} -> {true1:,.0f} t C, change {true1 - true0:+,.0f} "
          f"(±15 %: ±{abs(0.15 * (true1 - true0)):,.1f} t C)")
    print(f"  needed factors {true0 / raw0:.4f} / {true1 / raw1:.4f}")
    plots = pd.read_csv(out / "model" / "training_table.csv")
    cal = card["calibration"]
    plots["fit_calibrated"] = np.clip((plots["agc_fit_t_ha"] - cal["a"]) / cal["b"], 0, None)
    for name, col in (("final model's fit (used)", "fit_calibrated"),
                      ("calibrated out-of-fold", "agc_cv_pred_calibrated_t_ha")):
        f = {y: g["agc_t_ha"].sum() / g[col].sum() for y, g in plots.groupby("survey_year")}
        print(f"  {name}: {f[y0]:.4f} / {f[y1]:.4f} -> change {raw1 * f[y1] - raw0 * f[y0]:+,.0f}")
    est = pd.read_csv(out / "map" / "agc_unit_estimates.csv")
    row = est[(est["kind"] == "change") & (est["unit"] == 0)].iloc[0]
    print(f"  plots (model-assisted): change {row['estimate_t']:+,.0f}, SE {row['se_t']:,.0f} t C")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        report(Path(arg))

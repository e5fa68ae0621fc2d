"""Stage `assess`."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from ... import assess, model, units
from ...errors import InputError
from ...grid import align, pixel_area_m2
from ...io import open_raster, write_raster, write_table
from ..core import Context, Output, Stage, register
from ._common import L1_NODATA

log = logging.getLogger(__name__)


def _read_band(path, chunks=None) -> xr.DataArray:
    return open_raster(path, chunks=chunks).isel(band=0)


def _run_assess(ctx: Context) -> None:
    cfg = ctx.cfg
    y1, y2 = cfg.reference_year, cfg.compare_year
    for y in (y1, y2):
        if y not in cfg.project.years:
            raise InputError(f"[assess] year {y} is outside the project period "
                             f"{cfg.project.start_year}-{cfg.project.end_year}. Fix the project file.")
    a1 = _read_band(ctx.out("agc", year=y1, stage="map"))
    a2 = _read_band(ctx.out("agc", year=y2, stage="map"))
    amount = assess.change_amount(a1, a2)
    degree = assess.change_degree(a1, a2, cfg.assess.degree_min_agc_t_ha)
    ctx.produced(write_raster(amount, ctx.out("amount"), ["change_amount_t_ha"], units="t C/ha"))
    ctx.produced(write_raster(degree, ctx.out("degree"), ["change_degree_pct"], units="%"))
    l1 = np.asarray(_read_band(ctx.out("level1", stage="units")).fillna(0).values).astype(int)
    l2 = np.asarray(_read_band(ctx.out("level2", stage="units")).fillna(0).values).astype(int)
    px_ha = pixel_area_m2(a1) / 10000.0
    frames = []
    layers = {f"agc_{y}": (_read_band(ctx.out("agc", year=y, stage="map")), "t C/ha") for y in cfg.project.years}
    layers["change_amount"] = (amount, "t C/ha")
    layers["change_degree"] = (degree, "%")
    for name, (da, unit) in layers.items():
        vals = np.asarray(da.values)
        for level, zones in (("level1", l1), ("level2", l2)):
            z = assess.zonal_stats(vals, zones, px_ha)
            z.insert(0, "level", level)
            z.insert(0, "units", unit)
            z.insert(0, "layer", name)
            if unit != "t C/ha":
                z["sum_t"] = np.nan
            frames.append(z)
    zonal = pd.concat(frames, ignore_index=True)
    zonal = zonal[zonal["zone"] != L1_NODATA]
    zonal["unit_name"] = [units.unit_name(c if lv == "level2" else c * 10, "en")
                          for c, lv in zip(zonal["zone"], zonal["level"])]
    ctx.produced(write_table(zonal, ctx.out("zonal")))
    # totals per year (t C) over all forest units
    tot = []
    for y in cfg.project.years:
        v = np.asarray(layers[f"agc_{y}"][0].values)
        for code in sorted(set(np.unique(l1)) - {0, L1_NODATA}):
            sel = (l1 == code) & np.isfinite(v)
            tot.append({"year": y, "unit_l1": int(code), "unit_name": units.unit_name(code * 10),
                        "agc_t": float(v[sel].sum() * px_ha)})
    ctx.produced(write_table(pd.DataFrame(tot), ctx.out("totals")))
    # validation against known truth (simulator)
    rows = []
    if cfg.validation.truth_dir:
        tdir = cfg.path(cfg.validation.truth_dir)
        tmpl = a1
        for y in cfg.project.years:
            tp = tdir / f"agc_{y}.tif"
            if not tp.exists():
                continue
            truth = align(open_raster(tp, what=f"truth {y}", chunks=None).isel(band=0), tmpl)
            est = np.asarray(layers[f"agc_{y}"][0].values)
            tv = np.asarray(truth.values)
            ok = np.isfinite(est) & np.isfinite(tv) & (l1 > 0) & (l1 != L1_NODATA)
            m = model.metrics(tv[ok], est[ok])
            rows.append({"year": y, **m, "total_est_t": float(est[ok].sum() * px_ha),
                         "total_truth_t": float(tv[ok].sum() * px_ha)})
    ctx.produced(write_table(pd.DataFrame(rows, columns=["year", "n", "r2", "rmse", "mae", "rrmse_pct", "bias",
                                                         "total_est_t", "total_truth_t"]),
                             ctx.out("validation")))


register(Stage(
    name="assess",
    about="Change amount and degree, zonal statistics per unit, totals, validation against truth",
    func=_run_assess,
    upstream=("map", "units"),
    settings=("assess", "validation"),
    outputs=(
        Output("amount", "change_amount.tif", "t C/ha", "AGC(compare year) - AGC(reference year)"),
        Output("degree", "change_degree.tif", "%", "Change relative to the reference year"),
        Output("zonal", "zonal_stats.csv", "t C/ha, %", "count, mean, min, max, variance (population), std, "
               "sum per unit and layer"),
        Output("totals", "agc_totals.csv", "t C", "AGC stock per level-1 unit and year"),
        Output("validation", "validation_truth.csv", "t C/ha", "Pixel agreement of the maps with known truth"),
    ),
))


"""Stage `map`: yearly AGC density maps per forest type, per-pixel uncertainty, unit totals with intervals.

For every year, each pixel of a forest assessment unit (level 1 > 0) is
predicted by the model of its forest type in that year's forest-type map (the
nearest available map, earlier preferred); types without their own model use
the pooled model.  Pixels the map calls non-forest inside forest units are
mapped by the non-forest plots' model (``[model].nonforest_in_units =
"model"``) or left nodata.  Nodata features and pixels outside the forest units
stay nodata.  Predictions are clipped at 0 t C/ha.

The uncertainty layer (``agc_uncertainty_{year}.tif``: sd, lower and upper end
of the ``[model].interval`` prediction interval) comes from the CV-residual
model fitted by the ``model`` stage.  Totals (t C) per level-1 and level-2 unit
and year are written with the sum of the interval ends (pixel errors fully
correlated: conservative) and the independent-error SD (a lower bound).  With
``[validation].truth_dir`` every map is compared with the truth per forest type,
including the interval coverage.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from ... import model, units
from ...errors import StageError
from ...grid import align, pixel_area_m2
from ...io import open_raster, write_raster, write_table
from ...progress import track
from ..core import Context, Output, Stage, read_manifest, register
from ._common import L1_NODATA, read_forest_type
from .model import type_names

log = logging.getLogger(__name__)

UNC_BANDS = ["agc_sd_t_ha", "agc_lo_t_ha", "agc_hi_t_ha"]


def load_stage_models(ctx: Context) -> tuple[dict, dict]:
    """Models of the ``model`` stage, verified against its manifest's checksum."""
    path = ctx.out("models", stage="model")
    models, man = model.load_models(path)
    stage_man = read_manifest(ctx.cfg, "model") or {}
    rec = stage_man.get("outputs", {}).get(path.name)
    if rec and rec.get("sha256") != man["sha256"]:
        raise StageError(f"Model file {path} does not match the checksum recorded by the model stage in its "
                         f"_manifest.json. Re-run 'minecarbon run PROJECT --force --stages model,map'.")
    return models, man


def _band(path, what: str, chunks) -> xr.DataArray:
    return open_raster(path, what=what, chunks=chunks).isel(band=0, drop=True)


def _agreement(truth: np.ndarray, est: np.ndarray) -> dict:
    m = model.metrics(truth, est)
    return {k: m[k] for k in ("n", "r2", "rmse", "mae", "bias")}


def _run_map(ctx: Context) -> None:
    cfg = ctx.cfg
    mc = cfg.model
    models, man = load_stage_models(ctx)
    names = list(man["feature_names"])
    info = man.get("info", {})
    pooled = models[model.POOLED]
    by_code = {int(c): models[k] for c, k in info.get("type_models", {}).items() if k in models}
    interval = model.ResidualIntervalModel.from_dict(info["interval"]) if info.get("interval") else None
    chunks = cfg.run.chunk_px
    l1 = open_raster(ctx.out("level1", stage="units"), what="units", chunks=chunks, masked=False).isel(band=0, drop=True)
    l2 = open_raster(ctx.out("level2", stage="units"), what="units", chunks=chunks, masked=False).isel(band=0, drop=True)
    tmpl = l1
    units_mask = (l1 > 0) & (l1 != L1_NODATA)
    px_ha = pixel_area_m2(tmpl) / 1e4
    nonforest = cfg.forest_type_codes.nonforest
    tnames = type_names(cfg)
    truth_dir = cfg.path(cfg.validation.truth_dir) if cfg.validation.truth_dir else None
    totals, checks = [], []
    for year in track(cfg.project.years, "AGC maps", unit="years"):
        ctx.progress(f"AGC map {year}")
        stack = open_raster(ctx.out("stack", year=year, stage="features"), what=f"feature stack {year}",
                            chunks=chunks)
        stack = model.check_features(stack, names, what=f"feature stack {year}")
        ft = read_forest_type(cfg, year, tmpl)
        types = tmpl.copy(data=ft.astype(np.int32))
        mask = units_mask
        if mc.nonforest_in_units == "nodata":
            mask = mask & (types != nonforest)
        agc = model.predict_by_type(stack, by_code, pooled, types, mask).clip(min=0)
        agc = agc.rio.write_crs(stack.rio.crs)
        path = ctx.produced(write_raster(agc, ctx.out("agc", year=year), ["agc_t_ha"], units="t C/ha"))
        agc = _band(path, f"AGC map {year}", chunks)  # the written map: predictions are not recomputed
        layers = None
        if interval is not None:
            layers = model.interval_layers(agc, interval)
            upath = ctx.produced(write_raster(layers, ctx.out("uncertainty", year=year), UNC_BANDS, units="t C/ha"))
            layers = open_raster(upath, what=f"AGC uncertainty {year}", chunks=chunks)
        for level, zones in (("level1", l1), ("level2", l2)):
            t = model.unit_totals(agc, layers, zones.where(zones != L1_NODATA, 0).astype("int32"), px_ha)
            for code in np.flatnonzero(t["n_px"]):
                if code == 0:
                    continue
                row = {"year": year, "level": level, "unit": int(code),
                       "unit_name": units.unit_name(int(code) if level == "level2" else int(code) * 10),
                       "n_px": int(t["n_px"][code]), "area_ha": float(t["n_px"][code] * px_ha),
                       "agc_t": float(t["agc_t"][code])}
                if layers is not None:
                    row.update({"agc_lo_t": float(t["lo_t"][code]), "agc_hi_t": float(t["hi_t"][code]),
                                "agc_sd_indep_t": float(t["sd_indep_t"][code])})
                totals.append(row)
        if truth_dir is not None:
            tp = truth_dir / f"agc_{year}.tif"
            if tp.exists():
                truth = np.asarray(align(_band(tp, f"truth AGC {year}", None), tmpl).values, dtype=float)
                est = np.asarray(agc.values, dtype=float)
                lo = hi = None
                if layers is not None:
                    lv = np.asarray(layers.values, dtype=float)
                    lo, hi = lv[1], lv[2]
                for code in [None, *sorted(int(c) for c in np.unique(ft))]:
                    sel = np.isfinite(est) & (np.ones_like(est, bool) if code is None else (ft == code))
                    if not sel.any():
                        continue
                    row = {"year": year, "forest_type": "all" if code is None else tnames.get(code, str(code)),
                           **_agreement(truth[sel], est[sel])}
                    if lo is not None:
                        cov = model.coverage(truth[sel], lo[sel], hi[sel])
                        row.update({"interval_coverage": cov["coverage"], "below": cov["below"],
                                    "above": cov["above"], "mean_width_t_ha": cov.get("mean_width", np.nan)})
                    checks.append(row)
    tcols = ["year", "level", "unit", "unit_name", "n_px", "area_ha", "agc_t", "agc_lo_t", "agc_hi_t", "agc_sd_indep_t"]
    tab = pd.DataFrame(totals)
    ctx.produced(write_table(tab[[c for c in tcols if c in tab.columns]] if len(tab) else pd.DataFrame(columns=tcols),
                             ctx.out("totals")))
    vcols = ["year", "forest_type", "n", "r2", "rmse", "mae", "bias", "interval_coverage", "below", "above",
             "mean_width_t_ha"]
    vt = pd.DataFrame(checks)
    ctx.produced(write_table(vt[[c for c in vcols if c in vt.columns]] if len(vt) else pd.DataFrame(columns=vcols),
                             ctx.out("validation")))
    if len(vt) and "interval_coverage" in vt:
        allrows = vt[vt["forest_type"] == "all"]
        log.info("AGC maps vs truth: median R2 %.3f, interval coverage %.1f-%.1f %%", allrows["r2"].median(),
                 100 * allrows["interval_coverage"].min(), 100 * allrows["interval_coverage"].max())


register(Stage(
    name="map",
    about="Yearly AGC maps per forest type (t C/ha), per-pixel uncertainty, unit totals with intervals",
    func=_run_map,
    inputs=("inputs.forest_type",),
    upstream=("model", "features", "units"),
    settings=("model", "run", "validation", "forest_type_codes"),
    outputs=(
        Output("agc", "agc_{year}.tif", "t C/ha", "AGC density of one year", per_year=True),
        Output("uncertainty", "agc_uncertainty_{year}.tif", "t C/ha",
               "Per-pixel SD and prediction-interval ends of the AGC density", per_year=True),
        Output("totals", "agc_unit_totals.csv", "t C", "AGC stock per assessment unit and year, with intervals"),
        Output("validation", "map_validation.csv", "t C/ha",
               "Maps vs known truth per year and forest type: R2, RMSE, bias, interval coverage (with truth only)"),
    ),
))

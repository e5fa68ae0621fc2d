"""Stage `map`: yearly AGC density maps per forest type, per-pixel uncertainty, unit totals with intervals.

For every year, each pixel of a forest assessment unit (level 1 > 0) is
predicted by the model of its forest type in that year's forest-type map (the
nearest available map, earlier preferred); types without their own model use
the pooled model.  With ``[model].nonforest_in_units = "own"`` (default) the
map is first brought up to date by the disturbance and reclamation layers
(:mod:`._stand_state`: cleared -> non-forest, reclaimed -> pooled model) and
non-forest pixels get the non-forest model chosen by the model stage;
``"pooled"`` maps them with the pooled model, ``"nodata"`` leaves them empty.  Nodata features and pixels outside the forest units
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
from ...io import open_raster, read_table, write_raster, write_table
from ...model.calibration import InverseCalibration, year_factor
from ...progress import track
from ..core import Context, Output, Stage, read_manifest
from ._common import L1_NODATA, forest_type_year, group_nonforest, group_upstream, read_groups
from ._stand_state import StandState
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
    cal = InverseCalibration.from_dict(info.get("calibration"))
    chunks = cfg.run.chunk_px
    l1 = open_raster(ctx.out("level1", stage="units"), what="units", chunks=chunks, masked=False).isel(band=0, drop=True)
    l2 = open_raster(ctx.out("level2", stage="units"), what="units", chunks=chunks, masked=False).isel(band=0, drop=True)
    tmpl = l1
    units_mask = (l1 > 0) & (l1 != L1_NODATA)
    px_ha = pixel_area_m2(tmpl) / 1e4
    nonforest = group_nonforest(cfg)
    tnames = type_names(cfg)
    truth_dir = cfg.path(cfg.validation.truth_dir) if cfg.validation.truth_dir else None
    totals, checks = [], []
    truth_totals: dict[tuple[int, int], float] = {}
    factors = {int(k): float(v) for k, v in (info.get("year_factors") or {}).items()}
    window = mc.temporal_filter_years if len(cfg.project.years) >= 3 else 0
    raw_dir = ctx.out("agc", year=cfg.project.years[0]).parent / "_unfiltered"
    l1v = np.asarray(l1.values) if truth_dir is not None else None
    state = StandState(cfg, tmpl) if mc.nonforest_in_units == "own" else None
    for year in track(cfg.project.years, "AGC maps", unit="years"):
        ctx.progress(f"AGC map {year}")
        stack = open_raster(ctx.out("stack", year=year, stage="features"), what=f"feature stack {year}",
                            chunks=chunks)
        stack = model.check_features(stack, names, what=f"feature stack {year}")
        ft = read_groups(cfg, year, tmpl)  # forest type, or dominant species with [model].groups = "species"
        groups = ft if state is None else state.update(
            ft, year, forest_type_year(cfg, year) if mc.groups != "species" else year, nonforest)
        types = tmpl.copy(data=groups.astype(np.int32))
        mask = units_mask
        if mc.nonforest_in_units == "nodata":
            mask = mask & (types != nonforest)
        agc = cal.apply(model.predict_by_type(stack, by_code, pooled, types, mask).clip(min=0))
        agc = (agc * year_factor(factors, year)).astype(np.float32).rio.write_crs(stack.rio.crs)
        if window > 1:
            write_raster(agc, raw_dir / f"agc_{year}.tif", ["agc_t_ha"], units="t C/ha", cog=False)
        else:
            ctx.produced(write_raster(agc, ctx.out("agc", year=year), ["agc_t_ha"], units="t C/ha"))
    if window > 1:
        ctx.progress(f"temporal filter ({window}-year running median)")
        _filter_years(ctx, raw_dir, window, chunks)
    for year in cfg.project.years:
        agc = _band(ctx.out("agc", year=year), f"AGC map {year}", chunks)  # the written map
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
                for code in range(1, 6):
                    sel = (l1v == code) & np.isfinite(est) & np.isfinite(truth)
                    truth_totals[(year, code)] = float(truth[sel].sum() * px_ha)
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
    ctx.produced(write_table(_unit_estimates(ctx, tab, px_ha, truth_totals, factors), ctx.out("estimates")))
    vcols = ["year", "forest_type", "n", "r2", "rmse", "mae", "bias", "interval_coverage", "below", "above",
             "mean_width_t_ha"]
    vt = pd.DataFrame(checks)
    ctx.produced(write_table(vt[[c for c in vcols if c in vt.columns]] if len(vt) else pd.DataFrame(columns=vcols),
                             ctx.out("validation")))
    if len(vt) and "interval_coverage" in vt:
        allrows = vt[vt["forest_type"] == "all"]
        log.info("AGC maps vs truth: median R2 %.3f, interval coverage %.1f-%.1f %%", allrows["r2"].median(),
                 100 * allrows["interval_coverage"].min(), 100 * allrows["interval_coverage"].max())


def _filter_years(ctx: Context, raw_dir, window: int, chunks) -> None:
    """Running median over the years of the unfiltered maps (:mod:`minecarbon.model.temporal_filter`); writes the
    final yearly maps and removes the unfiltered ones.  No multi-band temporary is written and read back: a
    filtered stack of up to :data:`~minecarbon.io.raster.IN_MEMORY_MAX_BYTES` is computed once and each year
    written from memory; a larger one chunk by chunk, one pass per strip of chunk rows
    (:func:`minecarbon.io.raster.write_rasters`), that computes each chunk's filtered years once and writes them
    straight into their own maps, so memory stays bounded by the chunk size times the number of years.  The files
    are the same either way."""
    import shutil

    from ...io.raster import IN_MEMORY_MAX_BYTES, write_rasters
    from ...model.temporal_filter import running_median

    years = ctx.cfg.project.years
    layers = [_band(raw_dir / f"agc_{y}.tif", f"unfiltered AGC map {y}", chunks) for y in years]
    crs = layers[0].rio.crs
    stack = xr.concat(layers, dim="year").assign_coords(year=years)
    filt = running_median(stack, window)
    if filt.nbytes <= IN_MEMORY_MAX_BYTES:
        filt = filt.compute()
        for i, y in enumerate(years):
            ctx.produced(write_raster(filt.isel(year=i, drop=True).rio.write_crs(crs), ctx.out("agc", year=y),
                                      ["agc_t_ha"], units="t C/ha"))
    else:
        outputs = [(filt.isel(year=i, drop=True).rio.write_crs(crs), ctx.out("agc", year=y),
                    {"band_names": ["agc_t_ha"], "units": "t C/ha"}) for i, y in enumerate(years)]
        for p in write_rasters(outputs)[0]:
            ctx.produced(p)
    del layers, stack, filt
    shutil.rmtree(raw_dir, ignore_errors=True)


def _unit_estimates(ctx: Context, totals: pd.DataFrame, px_ha: float, truth_totals: dict,
                    factors: dict[int, float]) -> pd.DataFrame:
    """Model-assisted unit stocks per survey year and the reference -> compare change
    (:mod:`minecarbon.model.unit_estimates`), with the truth beside them when the project has one."""
    from ...model.unit_estimates import COLUMNS, unit_estimates

    cfg = ctx.cfg
    plots = read_table(ctx.out("training", stage="model"), ("plot_id", "survey_year", "agc_t_ha"),
                       what="training table")
    if factors and "agc_cv_pred_calibrated_t_ha" in plots:  # the map at the plots, as the map was made
        plots["agc_cv_pred_calibrated_t_ha"] = plots["agc_cv_pred_calibrated_t_ha"] * \
            plots["survey_year"].map(lambda yr: year_factor(factors, int(yr)))
    if not len(totals):
        return pd.DataFrame(columns=COLUMNS)
    est = unit_estimates(plots, totals, px_ha, cfg.reference_year, cfg.compare_year,
                         lambda u: units.unit_name(u * 10), design=cfg.plots.sample_design)
    if truth_totals and len(est):
        def truth_of(r) -> float:
            codes = [r.unit] if r.level == "level1" else range(1, 6)
            t0 = sum(truth_totals.get((int(r.year0), c), np.nan) for c in codes)
            t1 = sum(truth_totals.get((int(r.year1), c), np.nan) for c in codes)
            return t1 - t0 if r.kind == "change" else t1

        est["truth_t"] = [truth_of(r) for r in est.itertuples()]
        inside = (est["truth_t"] >= est["lo_t"]) & (est["truth_t"] <= est["hi_t"])
        est["truth_in_interval"] = inside.astype(object).where(est["estimate_t"].notna(), None)
    return est


STAGE = Stage(
    name="map",
    about="Yearly AGC maps per forest type (t C/ha), per-pixel uncertainty, unit totals with intervals",
    func=_run_map,
    inputs=("inputs.forest_type", "inputs.disturbance", "inputs.reclamation"),
    upstream=("model", "features", "units"),
    upstream_if=group_upstream,
    settings=("model", "run", "validation", "forest_type_codes", "plots"),
    outputs=(
        Output("agc", "agc_{year}.tif", "t C/ha", "AGC density of one year", per_year=True),
        Output("uncertainty", "agc_uncertainty_{year}.tif", "t C/ha",
               "Per-pixel SD and prediction-interval ends of the AGC density", per_year=True),
        Output("totals", "agc_unit_totals.csv", "t C", "AGC stock per assessment unit and year, with intervals"),
        Output("estimates", "agc_unit_estimates.csv", "t C",
               "Model-assisted (difference estimator) unit stocks per survey year and the base -> end change from "
               "re-measured plots, with standard errors and 95 % intervals"),
        Output("validation", "map_validation.csv", "t C/ha",
               "Maps vs known truth per year and forest type: R2, RMSE, bias, interval coverage (with truth only)"),
    ),
)

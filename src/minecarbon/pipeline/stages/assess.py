"""Stage `assess`: change, trend, cumulative effect, natural breaks, zonal statistics, Gi* hot spots.

Reads the yearly AGC maps (stage ``map``), the assessment units (stage
``units``), the climate grids of ``[climate]`` (about 960 m; aligned to the
project grid with bilinear resampling), the base-year forest-type map, and,
with ``[validation].truth_dir``, the simulator's truth (``agc_{year}.tif`` and
the no-mining counterfactual ``agc_nomining_{year}.tif``).  Formulas and
choices: ``docs/assessment.md`` and the modules of :mod:`minecarbon.assess`.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import xarray as xr

from ... import assess, units
from ...assess.cumulative import EFFECT_CLASSES, LAYERS
from ...assess.trend import TREND_BANDS, TREND_CLASSES
from ...errors import InputError
from ...grid import align, pixel_area_m2
from ...inputs import DISTURBANCE
from ...inputs.rasters import COVARIATE, PRECIPITATION, TEMPERATURE
from ...inputs.layers import zone_problems
from ...inputs.polygons import ZONES_RULES, project_area, read_polygons, run_target_from
from ...io import open_raster, read_vector, write_raster, write_table, write_vector
from ...io.atomic import atomic_write_text
from ...progress import track
from ...project.plans import cumulative_years  # noqa: F401  (also the stage's public name)
from ..core import Context, Output, Stage
from ._common import L1_NODATA, classify_upstream, read_forest_type

log = logging.getLogger(__name__)

GI_LAYERS = ("agc", "change", "effect")
FOREST_L1 = (1, 2, 3, 4, 5)
TRAIN_L1 = (1, 2, 3)
"""Level-1 units that were forest in the base year and train the ideal-accumulation MLR."""


def _band(path, what: str, chunks) -> xr.DataArray:
    return open_raster(path, what=what, chunks=chunks).isel(band=0, drop=True)


def _mining_start(ctx: Context) -> int | None:
    cfg = ctx.cfg
    if cfg.project.mining_start_year is not None:
        return int(cfg.project.mining_start_year)
    if cfg.inputs.disturbance:
        gdf = DISTURBANCE.read(cfg.path(cfg.inputs.disturbance), cfg=cfg)
        yrs = pd.to_numeric(gdf["year"], errors="coerce").dropna()
        if len(yrs):
            return int(yrs.min())
    return None


def _climate(ctx: Context, years: list[int], tmpl: xr.DataArray) -> dict[str, xr.DataArray]:
    """Climate (and extra covariate) stacks aligned to the project grid (bilinear)."""
    cfg = ctx.cfg
    patterns = {"temperature_c": cfg.climate.temperature, "precipitation_mm": cfg.climate.precipitation}
    patterns.update(cfg.assess.cumulative_covariates)
    specs = {"temperature_c": (TEMPERATURE, ""), "precipitation_mm": (PRECIPITATION, "")}
    out = {}
    for name, pat in patterns.items():
        layers = []
        spec, label = ((COVARIATE, name) if name in cfg.assess.cumulative_covariates  # the declared rules
                       else specs[name])  # (inputs.rasters), as check
        for y in years:
            src = spec.read(cfg.year_path(pat, y), year=y, label=label, cfg=cfg, chunks=None).isel(band=0, drop=True)
            lay = align(src, tmpl)  # lazy, chunk by chunk, on a dask template in the grid's CRS (grid.align)
            if bool(lay.isnull().any()):  # edges beyond the coarse grid's pixel centres
                near = align(src, tmpl, categorical=True)
                lay = lay.fillna(near)
            if bool(lay.isnull().all()):
                raise InputError(f"{name} {y} ({cfg.year_path(pat, y)}) does not cover the project grid. "
                                 f"Check its extent and CRS.")
            layers.append(lay.astype(np.float64))
        out[name] = xr.concat(layers, dim="year").assign_coords(year=years)
    return out


def _zonal_long(layers: dict[str, tuple[xr.DataArray, str]], zone_sets: dict[str, xr.DataArray],
                px_ha: float) -> pd.DataFrame:
    frames = []
    for name, (da, unit) in track(layers.items(), "zonal statistics", len(layers), "layers"):
        for level, zones in zone_sets.items():
            z = assess.zonal_stats(da, zones, px_ha, ignore_zone=0)
            z = z[z["zone"] != L1_NODATA]
            z.insert(0, "level", level)
            z.insert(0, "units", unit)
            z.insert(0, "layer", name)
            if unit != "t C/ha":
                z["sum_t"] = np.nan
            frames.append(z)
    zonal = pd.concat(frames, ignore_index=True)
    zonal["unit_name"] = [units.unit_name(c if lv == "level2" else c * 10, "en")
                          for c, lv in zip(zonal["zone"], zonal["level"])]
    zonal["unit_name_zh"] = [units.unit_name(c if lv == "level2" else c * 10, "zh")
                             for c, lv in zip(zonal["zone"], zonal["level"])]
    return zonal


def _class_areas(classes: dict[str, tuple[np.ndarray, dict]], zone_sets: dict[str, np.ndarray],
                 px_ha: float) -> pd.DataFrame:
    rows = []
    for layer, (cls, names) in classes.items():
        ok = np.isfinite(cls)
        for level, zones in zone_sets.items():
            zsel = ok & (zones > 0) & (zones != L1_NODATA)
            if not zsel.any():
                continue
            # the zone x class contingency table (pandas.crosstab's rows and columns: the zones and the classes
            # found in the selection) by one bincount of combined codes, not a 25-million-row frame
            zz, cc = zones[zsel].astype(np.int64), cls[zsel].astype(np.int64)
            cmin, k = int(cc.min()), int(cc.max() - cc.min()) + 1
            tab = np.bincount(zz * k + (cc - cmin), minlength=(int(zz.max()) + 1) * k).reshape(-1, k)
            present = np.flatnonzero(tab.sum(axis=0)) + cmin
            for zone in np.flatnonzero(tab.sum(axis=1)):
                r = tab[zone, present - cmin]
                tot = r.sum()
                for c, n in zip(present.tolist(), r.tolist()):
                    rows.append({"layer": layer, "level": level, "zone": int(zone),
                                 "unit_name": units.unit_name(zone if level == "level2" else zone * 10),
                                 "class": int(c), "class_name": names.get(int(c), ("", ""))[0],
                                 "class_name_zh": names.get(int(c), ("", ""))[1], "pixels": int(n),
                                 "area_ha": n * px_ha, "share_pct": 100.0 * n / tot})
    return pd.DataFrame(rows, columns=["layer", "level", "zone", "unit_name", "class", "class_name",
                                       "class_name_zh", "pixels", "area_ha", "share_pct"])


def _run_assess(ctx: Context) -> None:
    cfg = ctx.cfg
    a = cfg.assess
    chunks = cfg.run.chunk_px
    years = cfg.project.years
    y1, y2 = cfg.reference_year, cfg.compare_year
    for y in (y1, y2):
        if y not in years:
            raise InputError(f"[assess] year {y} is outside the project period "
                             f"{cfg.project.start_year}-{cfg.project.end_year}. Fix the project file.")
    agc = {y: _band(ctx.out("agc", year=y, stage="map"), f"AGC map {y}", chunks) for y in years}
    tmpl = agc[y1]
    px_ha = pixel_area_m2(tmpl) / 10000.0
    l1 = np.asarray(open_raster(ctx.out("level1", stage="units"), chunks=None, masked=False).isel(band=0).values)
    l2 = np.asarray(open_raster(ctx.out("level2", stage="units"), chunks=None, masked=False).isel(band=0).values)
    l1 = l1.astype(np.int32)
    l2 = l2.astype(np.int32)
    zone_sets = {"level1": tmpl.copy(data=l1), "level2": tmpl.copy(data=l2)}

    # -- two-date change ------------------------------------------------------
    ctx.progress("change")
    amount = assess.change_amount(agc[y1], agc[y2])
    degree = assess.change_degree(agc[y1], agc[y2], a.degree_min_agc_t_ha)
    # every layer used again below is read back from its file: the numbers downstream are those of the
    # published rasters, and no lazy graph (Mann-Kendall, cumulative effect, Gi*) is computed twice
    amount = _band(ctx.produced(write_raster(amount, ctx.out("amount"), ["change_amount_t_ha"], units="t C/ha")),
                   "change amount", chunks)
    degree = _band(ctx.produced(write_raster(degree, ctx.out("degree"), ["change_degree_pct"], units="%")),
                   "change degree", chunks)
    _change_uncertainty(ctx, amount, y1, y2)

    # -- trend ------------------------------------------------------------------
    ctx.progress("trend (Sen + Mann-Kendall)")
    stack = xr.concat([agc[y] for y in years], dim="year").assign_coords(year=years)
    stack.attrs["units"] = "t C/ha"
    tr = assess.mann_kendall_sen(stack, min_years=a.trend_min_years, alpha=a.trend_alpha,
                                 stable_slope=a.trend_stable_slope_t_ha_yr)
    tr_out = tr.sel(stat=list(TREND_BANDS)).astype(np.float32)
    tr = open_raster(ctx.produced(write_raster(tr_out.rename({"stat": "band"}), ctx.out("trend"),
                                               list(TREND_BANDS))), what="trend", chunks=chunks)
    tr = tr.rename({"band": "stat"})
    trend_cls = np.asarray(tr.sel(stat="trend").values)

    # -- cumulative effect --------------------------------------------------------
    layers: dict[str, tuple[xr.DataArray, str]] = {f"agc_{y}": (agc[y], "t C/ha") for y in years}
    layers["change_amount"] = (amount, "t C/ha")
    layers["change_degree"] = (degree, "%")
    layers["trend_slope"] = (tr.sel(stat="slope", drop=True), "t C/ha/yr")
    classes = {"trend": (trend_cls, TREND_CLASSES)}
    effect = None
    c0 = a.cumulative_start_year or y1
    c1 = a.cumulative_end_year or y2
    mstart = _mining_start(ctx)
    fit_years, need, cum_reason = cumulative_years(cfg, mstart)
    if cum_reason is None and not (cfg.project.start_year <= c0 < c1 <= cfg.project.end_year):
        raise InputError(f"[assess] cumulative period {c0}-{c1} is not inside the project period "
                         f"{cfg.project.start_year}-{cfg.project.end_year} (or is empty). Fix "
                         f"cumulative_start_year / cumulative_end_year.")
    model_info: dict = {"computed": cum_reason is None, "reason": cum_reason, "mining_start_year": mstart,
                        "fit_years": fit_years, "period": [c0, c1]}
    clim = None
    groups = None
    train = None
    if cum_reason is None:
        ctx.progress("cumulative effect")
        clim = _climate(ctx, need, tmpl)
        ft = read_forest_type(cfg, cfg.project.base, tmpl)
        codes = cfg.forest_type_codes
        forest_codes = [codes.coniferous, codes.broadleaf, codes.mixed, codes.sparse]
        g = np.where(np.isin(ft, forest_codes), ft, 0).astype(np.float64)
        groups = tmpl.copy(data=g)
        train = tmpl.copy(data=np.isin(l1, TRAIN_L1) & (g > 0))
        model = assess.fit_ideal_model(stack, clim, fit_years, train, groups, kind=a.cumulative_model,
                                       fit=a.cumulative_fit, state_term=a.cumulative_state_term)
        ce = assess.cumulative_effect(stack, clim, model, c0, c1, groups)
        ce = open_raster(ctx.produced(write_raster(ce.rename({"layer": "band"}), ctx.out("cumulative"),
                                                   list(LAYERS), units="t C/ha")),
                         what="cumulative effect", chunks=chunks).rename({"band": "layer"})
        effect = ce.sel(layer="effect_t_ha", drop=True)
        cls, res, zsum = assess.effect_grades(effect, a.effect_classes, a.effect_grading)
        cls = _band(ctx.produced(write_raster(cls.fillna(255), ctx.out("effect_class"), ["effect_class"],
                                              nodata=255, dtype="uint8", units="class")), "effect class", None)
        names = EFFECT_CLASSES if a.effect_classes == 5 else {}
        kk = a.effect_classes
        cv = np.asarray(cls.values)
        ev = np.asarray(effect.values)
        cnt = np.array([int((cv == c).sum()) for c in range(1, kk + 1)])
        brk = pd.DataFrame({"class": np.arange(1, kk + 1),
                            "name_en": [names.get(c, (f"class {c}", ""))[0] for c in range(1, kk + 1)],
                            "name_zh": [names.get(c, ("", f"第{c}类"))[1] for c in range(1, kk + 1)],
                            "lower_t_ha": [b[0] for b in zsum["grade_bounds"]],
                            "upper_t_ha": [b[1] for b in zsum["grade_bounds"]], "pixels": cnt,
                            "area_ha": cnt * px_ha,
                            "mean_t_ha": [float(ev[cv == c].mean()) if n else np.nan
                                          for c, n in zip(range(1, kk + 1), cnt)],
                            "contains_zero": [c == zsum["zero_class"] for c in range(1, kk + 1)]})
        ctx.produced(write_table(brk, ctx.out("breaks")))
        model_info.update({"model": model.to_dict(), "breaks": res.to_dict(), **zsum})
        layers["actual_accumulation"] = (ce.sel(layer="actual_t_ha", drop=True), "t C/ha")
        layers["ideal_accumulation"] = (ce.sel(layer="ideal_t_ha", drop=True), "t C/ha")
        layers["cumulative_effect"] = (effect, "t C/ha")
        classes["effect"] = (np.asarray(cls.values), names)
    else:
        log.warning("cumulative effect not computed: %s", cum_reason)
    ctx.produced(atomic_write_text(ctx.out("cumulative_model"), json.dumps(model_info, indent=2,
                                                                           ensure_ascii=False, default=float)))

    # -- Gi* hot spots -----------------------------------------------------------
    ctx.progress("hot spots (Gi*)")
    gi_inputs = {"agc": agc[y2], "change": amount, "effect": effect}
    gi_rows = []
    for key in track(GI_LAYERS, "hot spots (Gi*)", unit="layers"):
        da = gi_inputs[key]
        if da is None:
            continue
        gi = assess.gi_star(da, distance_m=a.hotspot_distance_m,
                            window=None if a.hotspot_distance_m else a.hotspot_window, fdr=a.hotspot_fdr)
        gi_attrs = dict(gi.attrs)
        gi = open_raster(ctx.produced(write_raster(gi.rename({"stat": "band"}).astype(np.float32),
                                                   ctx.out(f"gi_{key}"), ["z", "p", "bin"])),
                         what=f"Gi* {key}", chunks=None)
        b = np.asarray(gi.sel(band="bin").values)
        classes[f"gi_{key}"] = (np.where(np.isfinite(np.asarray(da.values)), b, np.nan),
                                {3: ("hot spot 99 %", "热点 99%"), 2: ("hot spot 95 %", "热点 95%"),
                                 1: ("hot spot 90 %", "热点 90%"), 0: ("not significant", "不显著"),
                                 -1: ("cold spot 90 %", "冷点 90%"), -2: ("cold spot 95 %", "冷点 95%"),
                                 -3: ("cold spot 99 %", "冷点 99%")})
        gi_rows.append({"layer": key, **{k: gi_attrs[k] for k in ("n", "mean", "std", "neighbourhood", "fdr")}})
    model_info["hotspots"] = gi_rows

    # -- zonal statistics ----------------------------------------------------------
    ctx.progress("zonal statistics")
    zonal = _zonal_long(layers, zone_sets, px_ha)
    ctx.produced(write_table(zonal, ctx.out("zonal")))
    ctx.produced(write_table(_class_areas(classes, {"level1": l1, "level2": l2}, px_ha), ctx.out("class_areas")))
    wide_layers = [f"agc_{y1}", f"agc_{y2}", "change_amount", "change_degree", "trend_slope"] + \
        (["cumulative_effect"] if effect is not None else [])
    polys = []
    for level, out_id in (("level1", "polygons_l1"), ("level2", "polygons")):
        gdf = read_vector(ctx.out(out_id, stage="units"), what=f"{level} unit polygons")
        key = "unit_l1" if level == "level1" else "unit_l2"
        gdf = gdf.rename(columns={key: "zone"})
        gdf.insert(0, "level", level)
        for name in wide_layers:
            sub = zonal[(zonal["layer"] == name) & (zonal["level"] == level)].set_index("zone")
            for stat in ("mean", "min", "max", "variance", "sum_t"):
                if stat == "sum_t" and name in ("change_degree", "trend_slope"):
                    continue
                gdf[f"{name}_{stat}"] = gdf["zone"].map(sub[stat])
        polys.append(gdf)
    allp = pd.concat(polys, ignore_index=True)
    allp = allp[[c for c in allp.columns if c != "geometry"] + ["geometry"]]
    ctx.produced(write_vector(allp, ctx.out("zonal_gpkg"), layer="zonal_stats"))
    if a.zones:
        zcrs = tmpl.rio.crs  # the zone layer read through the rules check runs (inputs.polygons)
        zgdf = read_polygons(cfg.path(a.zones), ZONES_RULES, file=str(a.zones), target_crs=zcrs,
                             target_from=run_target_from(cfg, zcrs), **project_area(cfg, zcrs),
                             attributes=lambda lay: zone_problems(lay, a.zones_field))
        frames = []
        for name, (da, unit) in layers.items():
            z = assess.polygon_zonal_stats(da, zgdf, field=a.zones_field, all_touched=a.zonal_all_touched,
                                           pixel_area_ha=px_ha)
            z.insert(0, "units", unit)
            z.insert(0, "layer", name)
            frames.append(z)
        ctx.produced(write_table(pd.concat(frames, ignore_index=True), ctx.out("zonal_zones")))

    # -- totals per year ------------------------------------------------------------
    # the level-1 sums of the zonal statistics (each map read once, in chunks)
    sums = zonal[zonal["level"] == "level1"].set_index(["layer", "zone"])["sum_t"]
    tot = []
    for y in years:
        for code in sorted(set(np.unique(l1).tolist()) - {0, L1_NODATA}):
            tot.append({"year": y, "unit_l1": int(code), "unit_name": units.unit_name(code * 10),
                        "agc_t": float(sums.get((f"agc_{y}", code), 0.0))})
    ctx.produced(write_table(pd.DataFrame(tot), ctx.out("totals")))

    # -- validation against known truth (simulator) ----------------------------------
    rows, crows = [], []
    if cfg.validation.truth_dir:
        from ...assess import validation

        tdir = cfg.path(cfg.validation.truth_dir)
        forest = validation.Zones()
        forest.add_level("forest", np.where(np.isin(l1, FOREST_L1), 0, -1), [0], lambda lvl, c: lvl)
        truth = {}
        for y in years:
            tp = tdir / f"agc_{y}.tif"
            if not tp.exists():
                continue
            truth[y] = align(_band(tp, f"truth AGC {y}", chunks), tmpl)
            agr = validation.agreement(truth[y], agc[y], forest, px_ha, rows=chunks)
            rows.append({"year": y, **(agr[0][3] if agr else {"n": 0})})
        if effect is not None:
            crows = _validate_cumulative(ctx, tdir, truth, c0, c1, effect, stack, clim, fit_years, train, groups,
                                         l1, px_ha)
        _validate_change(ctx, agc, truth, tr, l1, l2, px_ha)
    vcols = ["year", "n", "r2", "rmse", "mae", "bias", "mean_truth", "mean_est", "total_truth_t", "total_est_t"]
    ctx.produced(write_table(pd.DataFrame(rows, columns=vcols), ctx.out("validation")))
    ccols = ["source", "scope", "unit_l1", "n", "r2", "rmse", "mae", "bias", "mean_truth", "mean_est",
             "total_truth_t", "total_est_t"]
    ctx.produced(write_table(pd.DataFrame(crows, columns=ccols), ctx.out("validation_cumulative")))


def _change_uncertainty(ctx: Context, amount: xr.DataArray, y1: int, y2: int) -> float | None:
    """Per-pixel SD and interval of the change (``change_uncertainty.tif``) from the two years' SDs and the error
    correlation of the re-measured plots between the two years (0, conservative, when no plot was re-measured in
    both); returns the correlation used, or None when the map stage wrote no uncertainty."""
    import json
    from statistics import NormalDist

    cfg = ctx.cfg
    p1, p2 = ctx.out("uncertainty", year=y1, stage="map"), ctx.out("uncertainty", year=y2, stage="map")
    bands = ["change_sd_t_ha", "change_lo_t_ha", "change_hi_t_ha"]
    if not (p1.exists() and p2.exists()):  # [model].uncertainty = "none": the change's SD is unknown (NaN)
        unknown = (amount * np.nan).astype(np.float32)
        layers = xr.concat([unknown] * 3, dim="band").assign_coords(band=bands)
        ctx.produced(write_raster(layers.rio.write_crs(amount.rio.crs), ctx.out("change_uncertainty"), bands,
                                  units="t C/ha"))
        log.info("change uncertainty unknown: the map stage wrote no per-pixel uncertainty")
        return None
    card_path = ctx.out("card", stage="model")
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {}
    rho, source = 0.0, "assumed 0 (no plot re-measured in both years): conservative"
    for per in (card.get("temporal_validation") or {}).get("remeasured_by_period", []):
        if per.get("year0") == y1 and per.get("year1") == y2 and np.isfinite(per.get("error_correlation", np.nan)):
            rho, source = float(np.clip(per["error_correlation"], 0.0, 1.0)), \
                f"{per['n_pairs']} plots re-measured in {y1} and {y2}"
    s1 = open_raster(p1, what=f"AGC uncertainty {y1}", chunks=cfg.run.chunk_px).sel(band="agc_sd_t_ha", drop=True)
    s2 = open_raster(p2, what=f"AGC uncertainty {y2}", chunks=cfg.run.chunk_px).sel(band="agc_sd_t_ha", drop=True)
    sd = assess.change_sd(s1, s2, rho)
    z = NormalDist().inv_cdf(0.5 + cfg.model.interval / 2)
    layers = xr.concat([sd, (amount - z * sd).astype(np.float32), (amount + z * sd).astype(np.float32)], dim="band")
    layers = layers.assign_coords(band=["change_sd_t_ha", "change_lo_t_ha", "change_hi_t_ha"])
    ctx.produced(write_raster(layers.rio.write_crs(amount.rio.crs), ctx.out("change_uncertainty"),
                              ["change_sd_t_ha", "change_lo_t_ha", "change_hi_t_ha"], units="t C/ha"))
    log.info("change uncertainty: error correlation %.2f between %d and %d (%s)", rho, y1, y2, source)
    return rho


def _validate_change(ctx: Context, agc: dict, truth: dict, map_trend: xr.DataArray, l1: np.ndarray, l2: np.ndarray,
                     px_ha: float) -> None:
    """Change of the maps against the truth's change per unit and period, and trends against the truth's trends
    (``validation_change.csv``, ``validation_trend.csv``; :mod:`minecarbon.assess.validation`, which reads the
    rasters strip by strip)."""
    from ...assess import validation

    cfg = ctx.cfg
    a = cfg.assess
    rows = cfg.run.chunk_px
    zones = validation.zones_of({"level1": l1, "level2": l2}, FOREST_L1,
                                lambda lvl, c: units.unit_name(c * 10 if lvl == "level1" else c))
    pers = validation.periods(sorted(truth), cfg.reference_year, cfg.compare_year)
    interval = None
    cu = ctx.out("change_uncertainty")
    y1, y2 = cfg.reference_year, cfg.compare_year
    if cu.exists() and y1 in truth and y2 in truth:
        lay = open_raster(cu, what="change uncertainty", chunks=rows)
        interval = (y1, y2, lay.sel(band="change_lo_t_ha"), lay.sel(band="change_hi_t_ha"))
    tab = validation.change_table(agc, truth, zones, pers, px_ha, rows=rows, interval=interval)
    ctx.produced(write_table(tab, ctx.out("validation_change")))
    years = sorted(truth)
    if len(years) == len(cfg.project.years):
        # in dask blocks like the maps' trend: the same compiled (per-block) kernel, not a second, parallel one;
        # computed one strip (a row of chunks) at a time by trend_table
        tstack = xr.concat([truth[y] for y in years], dim="year").assign_coords(year=years).chunk(
            {"year": -1, "y": rows, "x": rows})
        ttr = assess.mann_kendall_sen(tstack, min_years=a.trend_min_years, alpha=a.trend_alpha,
                                      stable_slope=a.trend_stable_slope_t_ha_yr)
        tab = validation.trend_table(map_trend.sel(stat=["slope", "trend"]), ttr.sel(stat=["slope", "trend"]),
                                     zones, rows=rows)
    else:
        tab = pd.DataFrame(columns=validation.TREND_COLUMNS)
    ctx.produced(write_table(tab, ctx.out("validation_trend")))


def _validate_cumulative(ctx: Context, tdir, truth: dict, c0: int, c1: int, effect: xr.DataArray,
                         stack: xr.DataArray, clim, fit_years, train, groups, l1: np.ndarray,
                         px_ha: float) -> list[dict]:
    """The estimated cumulative effect against the truth (actual minus the no-mining counterfactual).

    Two estimates are scored: from the maps (what a user gets), and the same method applied to the
    true AGC (isolating the error of the ideal-accumulation model from the error of the maps).
    """
    from ...assess import validation

    a = ctx.cfg.assess
    rows = ctx.cfg.run.chunk_px
    tmpl = stack.isel(year=0, drop=True)
    need = sorted(set(fit_years) | set(range(c0, c1 + 1)))
    nm = {}
    for y in (c0, c1):
        p = tdir / f"agc_nomining_{y}.tif"
        if not p.exists() or y not in truth:
            log.warning("cumulative effect not validated: %s (or agc_%d.tif) missing", p.name, y)
            return []
        nm[y] = align(_band(p, f"truth no-mining AGC {y}", rows), tmpl)
    true_eff = (truth[c1] - truth[c0]) - (nm[c1] - nm[c0])
    estimates = {"maps": effect}
    if all(y in truth for y in need):
        tstack = xr.concat([truth[y] for y in need], dim="year").assign_coords(year=need)
        tstack = tstack.where(tmpl.copy(data=np.isin(l1, FOREST_L1)))
        tm = assess.fit_ideal_model(tstack, clim, fit_years, train, groups, kind=a.cumulative_model,
                                    fit=a.cumulative_fit, state_term=a.cumulative_state_term)
        tce = assess.cumulative_effect(tstack, clim, tm, c0, c1, groups)
        estimates["true AGC"] = tce.sel(layer="effect_t_ha", drop=True)
    scopes = validation.Zones()
    scopes.add_level("all", np.where(np.isin(l1, FOREST_L1), 0, -1), [0], lambda lvl, c: "all forest units")
    scopes.add_level("level1", l1, list(FOREST_L1), lambda lvl, c: units.L1_NAMES[c][0])
    out = []
    for source, est in estimates.items():
        for _level, code, scope, m in validation.agreement(true_eff, est, scopes, px_ha, rows=rows):
            out.append({"source": source, "scope": scope, "unit_l1": code, **m})
    return out


STAGE = Stage(
    name="assess",
    about="Change, trend (Sen + Mann-Kendall), cumulative effect, natural breaks, zonal statistics, "
          "Gi* hot spots, validation against truth",
    func=_run_assess,
    inputs=("climate.temperature", "climate.precipitation", "inputs.forest_type", "inputs.disturbance",
            "assess.zones", "assess.cumulative_covariates"),
    upstream=("map", "units"),
    upstream_if=classify_upstream,
    settings=("assess", "validation", "climate", "forest_type_codes", "inputs"),
    outputs=(
        Output("amount", "change_amount.tif", "t C/ha", "AGC(compare year) - AGC(reference year)"),
        Output("degree", "change_degree.tif", "%", "Change relative to the reference year"),
        Output("change_uncertainty", "change_uncertainty.tif", "t C/ha",
               "SD and interval ends of the change, with the error correlation of the re-measured plots"),
        Output("trend", "trend.tif", "t C/ha/yr; z; p; tau; S; n; class",
               "Sen's slope, intercept, Mann-Kendall z, p, tau, S, valid years, trend class (2..-2)"),
        Output("cumulative", "cumulative_effect.tif", "t C/ha",
               "Actual and ideal (climate-only MLR) accumulation and cumulative effect = actual - ideal"),
        Output("effect_class", "effect_class.tif", "class",
               "Cumulative-effect grade by natural breaks (1 high negative .. 5 high positive)"),
        Output("breaks", "effect_breaks.csv", "t C/ha", "Natural breaks of the cumulative effect, counts, means"),
        Output("cumulative_model", "cumulative_model.json", "json",
               "Ideal-accumulation MLR coefficients, fit years, breaks, GVF, Gi* settings"),
        Output("gi_agc", "hotspots_agc.tif", "z; p; bin", "Getis-Ord Gi* of AGC in the compare year"),
        Output("gi_change", "hotspots_change.tif", "z; p; bin", "Getis-Ord Gi* of the change amount"),
        Output("gi_effect", "hotspots_effect.tif", "z; p; bin", "Getis-Ord Gi* of the cumulative effect"),
        Output("zonal", "zonal_stats.csv", "t C/ha, %, t C/ha/yr", "count, mean, min, max, variance "
               "(population), std, sum per unit (level 1 and 2) and layer"),
        Output("zonal_gpkg", "zonal_stats.gpkg", "polygon", "Unit polygons (level 1 and 2) with zonal "
               "statistics of the main layers"),
        Output("zonal_zones", "zonal_zones.csv", "t C/ha, %", "Zonal statistics per [assess].zones polygon "
               "(only with that option)"),
        Output("class_areas", "class_areas.csv", "ha", "Area of each trend class, effect grade and Gi* bin "
               "per unit"),
        Output("totals", "agc_totals.csv", "t C", "AGC stock per level-1 unit and year"),
        Output("validation", "validation_truth.csv", "t C/ha", "Pixel agreement of the maps with known truth"),
        Output("validation_change", "validation_change.csv", "t C",
               "Stock change of the maps vs the truth per unit and period (sign, error, per-pixel change agreement)"),
        Output("validation_trend", "validation_trend.csv", "t C/ha/yr",
               "Sen slopes and trend classes of the maps vs those of the truth, per unit"),
        Output("validation_cumulative", "validation_cumulative.csv", "t C/ha",
               "Cumulative effect against the truth's no-mining counterfactual"),
    ),
)

"""The stages of the standard's method, wired to the workspace.

Each ``_run_<stage>`` reads its inputs (project files and upstream outputs),
calls the pure science functions, and writes its declared outputs through
:mod:`minecarbon.io` (atomically).  The order of registration is the run order.
"""

from __future__ import annotations

import json
import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import xarray as xr
from shapely.geometry import Point, shape

from .. import assess, features, model, plots, units
from ..allometry import AllometryTable
from ..config import DAMAGE_TYPE_ALIASES, ProjectConfig
from ..errors import InputError, MinecarbonWarning, StageError
from ..grid import align, grid_from_reference, monitoring_area, pixel_area_m2, rasterize
from ..io import open_raster, read_table, read_vector, write_raster, write_table, write_vector
from ..io.atomic import atomic_write_text
from ..io.raster import band as select_band
from ..io.raster import check_overlap
from .core import Context, Output, Stage, register

log = logging.getLogger(__name__)

L1_NODATA = 255


# ---------------------------------------------------------------------------
# shared readers
# ---------------------------------------------------------------------------
def project_grid(cfg: ProjectConfig) -> tuple[xr.DataArray, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(template grid, boundary, monitoring area) of a project."""
    ref_path = cfg.year_path(cfg.images.path, cfg.project.base)
    ref = open_raster(ref_path, what=f"image {cfg.project.base} (reference grid)")
    crs = cfg.project.crs or ref.rio.crs
    boundary = read_vector(cfg.path(cfg.area.boundary), what="mine boundary", target_crs=crs)
    area = monitoring_area(boundary, cfg.area.buffer_m)
    bounds = tuple(area.total_bounds)
    if str(ref.rio.crs) != str(crs) and not ref.rio.crs.equals(crs):
        ref = ref.rio.reproject(crs)
    check_overlap(ref, bounds, f"image {cfg.project.base}")
    return grid_from_reference(ref, bounds), boundary, area


def read_image_bands(cfg: ProjectConfig, year: int, template: xr.DataArray) -> dict[str, xr.DataArray]:
    """Reflectance bands of one year's image, aligned to the grid, nodata masked (NaN)."""
    what = f"image {year}"
    img = open_raster(cfg.year_path(cfg.images.path, year), what=what, chunks=cfg.run.chunk_px,
                      masked=True)
    check_overlap(img, tuple(template.rio.bounds()), what)
    out = {}
    names = [str(b) for b in img["band"].values]
    for common, desc in cfg.images.bands.items():
        if desc.isdigit() and desc not in names:
            b = img.isel(band=int(desc) - 1)
        else:
            b = select_band(img, desc, what=what)
        b = align(b, template)
        if cfg.images.nodata is not None:
            b = b.where(b != cfg.images.nodata)
        out[common] = features.reflectance(b, cfg.images.scale, cfg.images.offset)
    return out


def forest_type_year(cfg: ProjectConfig, year: int) -> int:
    """The available forest-type map year closest to ``year`` (preferring earlier)."""
    avail = [y for y in cfg.project.years if cfg.year_path(cfg.inputs.forest_type, y).exists()]
    if not avail:
        raise InputError(f"No forest-type map found for pattern {cfg.inputs.forest_type} in "
                         f"{cfg.project.start_year}-{cfg.project.end_year}. Provide at least the base year.")
    before = [y for y in avail if y <= year]
    return max(before) if before else min(avail)


def read_forest_type(cfg: ProjectConfig, year: int, template: xr.DataArray) -> np.ndarray:
    y = forest_type_year(cfg, year)
    ft = open_raster(cfg.year_path(cfg.inputs.forest_type, y), what=f"forest-type map {y}", chunks=None,
                     masked=False)
    return np.asarray(align(ft.isel(band=0), template, categorical=True).values)


def is_forest(cfg: ProjectConfig, ft: np.ndarray) -> np.ndarray:
    c = cfg.forest_type_codes
    return np.isin(ft, [c.coniferous, c.broadleaf, c.mixed, c.sparse])


def _damage_codes(gdf: gpd.GeoDataFrame, path, column: str = "damage_type") -> np.ndarray:
    raw = gdf[column].astype(str).str.strip()
    mapped = raw.str.lower().map(lambda s: DAMAGE_TYPE_ALIASES.get(s, DAMAGE_TYPE_ALIASES.get(s.strip(), None)))
    bad = mapped.isna()
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:8])
        raise InputError(f"{path}: damage_type {sorted(set(raw[bad]))} on feature(s) {rows} is not one of "
                         f"excavation/subsidence/occupation (挖损/塌陷/压占). Correct the attribute.")
    return mapped.map(units.DAMAGE_CODES).to_numpy()


def _burn_damage(gdf: gpd.GeoDataFrame | None, template: xr.DataArray, path) -> np.ndarray:
    if gdf is None or len(gdf) == 0:
        return np.zeros(template.shape, dtype=np.uint8)
    codes = _damage_codes(gdf, path)
    rank = pd.Series(codes).map({units.DAMAGE_CODES[k]: v for k, v in units.DAMAGE_PRECEDENCE.items()})
    order = np.argsort(rank.to_numpy(), kind="stable")  # higher precedence burned last, wins
    return rasterize(gdf.iloc[order], template, values=codes[order], dtype="uint8")


def _read_optional_layer(cfg: ProjectConfig, key: str | None, what: str, crs, required=()):
    if key is None:
        return None, None
    p = cfg.path(key)
    return read_vector(p, what=what, target_crs=crs, required=required), p


def _as_da(arr: np.ndarray, template: xr.DataArray) -> xr.DataArray:
    return template.copy(data=arr)


# ---------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------
def _run_units(ctx: Context) -> None:
    cfg = ctx.cfg
    tmpl, boundary, area = project_grid(cfg)
    crs = tmpl.rio.crs
    end = cfg.project.end_year
    in_area = rasterize(area, tmpl, dtype="uint8").astype(bool)
    f0 = is_forest(cfg, read_forest_type(cfg, cfg.project.base, tmpl))
    f1 = is_forest(cfg, read_forest_type(cfg, end, tmpl))
    dist, dpath = _read_optional_layer(cfg, cfg.inputs.disturbance, "disturbance layer", crs,
                                       ("year", "damage_type"))
    if dist is not None:
        dist = dist[pd.to_numeric(dist["year"], errors="coerce") <= end]
    plan, ppath = _read_optional_layer(cfg, cfg.inputs.planned, "planned mining layer", crs,
                                       ("planned_year", "damage_type"))
    rec, rpath = _read_optional_layer(cfg, cfg.inputs.reclamation, "reclamation layer", crs, ("year",))
    rec_codes = np.zeros(tmpl.shape, dtype=np.uint8)
    if rec is not None:
        rec = rec[pd.to_numeric(rec["year"], errors="coerce") <= end]
        if len(rec):
            if "damage_type" in rec.columns:
                rec_codes = _burn_damage(rec, tmpl, rpath)
            else:
                rec_codes = np.where(rasterize(rec, tmpl, dtype="uint8") > 0, 255, 0).astype(np.uint8)
    dist_codes = _burn_damage(dist, tmpl, dpath)
    plan_codes = _burn_damage(plan, tmpl, ppath)
    l1, l2 = units.assign_units(in_area, f0, f1, dist_codes, plan_codes, rec_codes)
    l2 = np.where((l2 % 10) == 5, (l2 // 10) * 10, l2).astype(np.uint8)  # 255-marked reclaimed w/o type
    l1_da = _as_da(np.where(in_area, l1, L1_NODATA).astype(np.uint8), tmpl)
    l2_da = _as_da(np.where(in_area, l2, L1_NODATA).astype(np.uint8), tmpl)
    ctx.produced(write_raster(l1_da, ctx.out("level1"), ["unit_level1"], nodata=L1_NODATA, dtype="uint8",
                              units="class code"))
    ctx.produced(write_raster(l2_da, ctx.out("level2"), ["unit_level2"], nodata=L1_NODATA, dtype="uint8",
                              units="class code"))
    ctx.produced(write_vector(area, ctx.out("area"), layer="monitoring_area"))
    # dissolved polygons per level-2 unit with areas
    px_ha = pixel_area_m2(tmpl) / 10000.0
    recs = []
    for geom, val in rasterio.features.shapes(l2.astype(np.int32), mask=(l2 > 0) & in_area,
                                              transform=tmpl.rio.transform()):
        recs.append({"unit_l2": int(val), "geometry": shape(geom)})
    if recs:
        polys = gpd.GeoDataFrame(recs, crs=crs).dissolve(by="unit_l2", as_index=False)
    else:
        polys = gpd.GeoDataFrame({"unit_l2": []}, geometry=[], crs=crs)
    polys["unit_l1"] = polys["unit_l2"] // 10
    polys["name_en"] = [units.unit_name(c, "en") for c in polys["unit_l2"]]
    polys["name_zh"] = [units.unit_name(c, "zh") for c in polys["unit_l2"]]
    counts = pd.Series(l2[(l2 > 0) & in_area]).value_counts()
    polys["area_ha"] = [float(counts.get(c, 0)) * px_ha for c in polys["unit_l2"]]
    ctx.produced(write_vector(polys, ctx.out("polygons"), layer="units"))
    table = polys.drop(columns="geometry")[["unit_l1", "unit_l2", "name_en", "name_zh", "area_ha"]]
    ctx.produced(write_table(table, ctx.out("areas")))


register(Stage(
    name="units",
    about="Assessment units level 1 (stage of damage) and level 2 (damage type)",
    func=_run_units,
    inputs=("area.boundary", "images.path", "inputs.forest_type", "inputs.disturbance", "inputs.planned",
            "inputs.reclamation"),
    settings=("area", "images", "inputs", "forest_type_codes"),
    outputs=(
        Output("level1", "units_level1.tif", "class code", "Level-1 assessment units (1-5; 255 outside)"),
        Output("level2", "units_level2.tif", "class code", "Level-2 units = 10 x level 1 + damage type"),
        Output("area", "monitoring_area.gpkg", "polygon", "Mine boundary buffered by [area].buffer_m"),
        Output("polygons", "units.gpkg", "polygon", "Dissolved level-2 unit polygons with areas (ha)"),
        Output("areas", "unit_areas.csv", "ha", "Area of each assessment unit"),
    ),
))


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------
def load_allometry(cfg: ProjectConfig) -> AllometryTable:
    overrides = {k: (v.value, v.source) for k, v in cfg.plots.carbon_fractions.items()}
    if cfg.plots.allometry:
        return AllometryTable.from_csv(cfg.path(cfg.plots.allometry), carbon_fractions=overrides)
    return AllometryTable.default(carbon_fractions=overrides)


def read_plot_sheet(cfg: ProjectConfig) -> pd.DataFrame:
    path = cfg.path(cfg.inputs.plots)
    df = read_table(path, plots.PLOT_COLUMNS, what="plot sheet")
    df["plot_id"] = df["plot_id"].astype(str)
    problems = []
    dup = df["plot_id"].duplicated(keep=False)
    if dup.any():
        problems.append(f"duplicate plot_id {sorted(set(df.loc[dup, 'plot_id']))} on line(s) "
                        f"{', '.join(str(i + 2) for i in np.flatnonzero(dup))}")
    yr = pd.to_numeric(df["survey_year"], errors="coerce")
    bad = yr.isna() | (yr < cfg.project.start_year) | (yr > cfg.project.end_year)
    if bad.any():
        problems.append(f"survey_year outside {cfg.project.start_year}-{cfg.project.end_year} on line(s) "
                        f"{', '.join(str(i + 2) for i in np.flatnonzero(bad))}")
    for c in ("x", "y", "size_m"):
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any():
            problems.append(f"{c} is not a number on line(s) "
                            f"{', '.join(str(i + 2) for i in np.flatnonzero(v.isna()))}")
        df[c] = v
    if problems:
        raise InputError(f"Plot sheet {path}: " + "; ".join(problems) + ". Correct these rows.")
    df["survey_year"] = yr.astype(int)
    return df


def _sample_raster(path, x: np.ndarray, y: np.ndarray, nodata: int = L1_NODATA) -> np.ndarray:
    with rasterio.open(path) as src:
        vals = np.array([v[0] for v in src.sample(list(zip(x, y)))])
    return np.where(vals == nodata, 0, vals)


def _run_plots(ctx: Context) -> None:
    cfg = ctx.cfg
    table = load_allometry(cfg)
    sheet = read_plot_sheet(cfg)
    tpath = cfg.path(cfg.inputs.trees)
    trees = plots.validate_trees(read_table(tpath, plots.TREE_COLUMNS, what="tree table"), sheet, str(tpath))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MinecarbonWarning)
        trees = plots.tree_carbon(trees, table, cfg.plots.dbh_out_of_range)
    for w in caught:
        log.warning("%s", w.message)
    res = plots.plot_carbon(sheet, trees, table, cfg.plots.dbh_error_cm, cfg.plots.height_error_rel,
                            cfg.plots.mc_draws, seed=cfg.model.seed)
    l1p = ctx.out("level1", stage="units")
    res["unit_l1"] = _sample_raster(l1p, res["x"].to_numpy(), res["y"].to_numpy())
    res["unit_l2"] = _sample_raster(ctx.out("level2", stage="units"), res["x"].to_numpy(), res["y"].to_numpy())
    ctx.produced(write_table(trees, ctx.out("trees")))
    ctx.produced(write_table(res, ctx.out("plots")))
    crs = cfg.project.crs or open_raster(cfg.year_path(cfg.images.path, cfg.project.base), chunks=None).rio.crs
    half = res["size_m"].to_numpy() / 2.0
    squares = [Point(x, y).buffer(h, cap_style=3) for x, y, h in zip(res["x"], res["y"], half)]
    ctx.produced(write_vector(gpd.GeoDataFrame(res, geometry=squares, crs=crs), ctx.out("plots_gpkg"),
                              layer="plots"))
    groups = sorted(set(trees["species_group"]))
    prov = table.provenance(groups)
    prov.insert(0, "table", table.name)
    ctx.produced(write_table(prov, ctx.out("allometry")))
    areas = pd.read_csv(ctx.out("areas", stage="units"))
    counts = res[res["unit_l2"] > 0].groupby("unit_l2").size()
    areas["n_plots"] = areas["unit_l2"].map(counts).fillna(0).astype(int)
    areas["enough_plots"] = areas["n_plots"] >= cfg.plots.min_per_unit
    short = areas[~areas["enough_plots"]]
    for _, r in short.iterrows():
        log.warning("unit %s (%s) has %d plot(s); the standard asks for at least %d", r["unit_l2"],
                    r["name_en"], r["n_plots"], cfg.plots.min_per_unit)
    ctx.produced(write_table(areas, ctx.out("counts")))


register(Stage(
    name="plots",
    about="Plot AGC from tree tallies with allometry, carbon fractions and Monte Carlo uncertainty",
    func=_run_plots,
    inputs=("inputs.plots", "inputs.trees", "plots.allometry", "images.path"),
    upstream=("units",),
    settings=("plots", "model"),
    outputs=(
        Output("trees", "trees_agc.csv", "kg, kg C", "Per-tree AGB (kg) and AGC (kg C) with the equation rows used"),
        Output("plots", "plots_agc.csv", "t C/ha", "Per-plot AGC density with Monte Carlo SD and 95 % interval"),
        Output("plots_gpkg", "plots_agc.gpkg", "t C/ha", "Plot squares with their AGC"),
        Output("allometry", "allometry_used.csv", "table", "Allometry rows and carbon fractions used, with sources"),
        Output("counts", "plots_per_unit.csv", "count", "Plots per assessment unit vs the minimum of the standard"),
    ),
))


# ---------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------
def _run_features(ctx: Context) -> None:
    cfg = ctx.cfg
    tmpl, _, _ = project_grid(cfg)
    dem = open_raster(cfg.path(cfg.inputs.dem), what="DEM", chunks=cfg.run.chunk_px)
    check_overlap(dem, tuple(tmpl.rio.bounds()), "DEM")
    dem = align(dem.isel(band=0), tmpl)
    for year in cfg.project.years:
        ctx.progress(f"features {year}")
        bands = read_image_bands(cfg, year, tmpl)
        stack = features.feature_stack(bands, dem, cfg.features.bands, cfg.features.indices,
                                       cfg.features.terrain)
        ctx.produced(write_raster(stack, ctx.out("stack", year=year), dtype="float32", units="mixed"))


register(Stage(
    name="features",
    about="Feature variables per year: reflectance bands, spectral indices and terrain (Appendix A)",
    func=_run_features,
    inputs=("images.path", "inputs.dem", "area.boundary"),
    settings=("features", "images", "area", "run"),
    outputs=(Output("stack", "features_{year}.tif", "reflectance / index / m / deg",
                    "Feature stack of one year, band descriptions = feature names", per_year=True),),
))


# ---------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------
def training_table(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Plots joined to the features of their survey year (footprint means) and the excluded plots."""
    cfg = ctx.cfg
    res = pd.read_csv(ctx.out("plots", stage="plots"), dtype={"plot_id": str})
    rows, excluded, names = [], [], None
    for year, grp in res.groupby("survey_year"):
        path = ctx.out("stack", year=int(year), stage="features")
        stack = open_raster(path, what=f"feature stack {year}", chunks=None)
        names = [str(b) for b in stack["band"].values]
        vals = model.footprint_means(stack, grp["x"].to_numpy(), grp["y"].to_numpy(), grp["size_m"].to_numpy())
        for (_, r), v in zip(grp.iterrows(), vals):
            if not np.all(np.isfinite(v)):
                excluded.append({"plot_id": r["plot_id"], "survey_year": int(year),
                                 "reason": "outside the imagery or on masked pixels"})
                continue
            rows.append({**{c: r[c] for c in ("plot_id", "x", "y", "survey_year", "unit_l1", "unit_l2",
                                                "agc_t_ha", "agc_sd_t_ha")}, **dict(zip(names, v))})
    return pd.DataFrame(rows), pd.DataFrame(excluded, columns=["plot_id", "survey_year", "reason"]), names or []


def _run_model(ctx: Context) -> None:
    cfg = ctx.cfg
    tab, excluded, names = training_table(ctx)
    if len(excluded):
        log.warning("%d plot(s) excluded from training: %s", len(excluded), ", ".join(excluded["plot_id"]))
    X = tab[names].to_numpy(dtype=float)
    y = tab["agc_t_ha"].to_numpy(dtype=float)
    cv, train, oof = model.cross_validate(X, y, cfg.model.n_estimators, cfg.model.cv_folds, cfg.model.seed)
    tab["agc_cv_pred_t_ha"] = oof
    ctx.produced(write_table(tab, ctx.out("training")))
    ctx.produced(write_table(excluded, ctx.out("excluded")))
    card = {"learner": "random forest (scikit-learn RandomForestRegressor)",
            "hyper_parameters": {"n_estimators": cfg.model.n_estimators, "min_samples_leaf": 2,
                                 "random_state": cfg.model.seed},
            "features": names, "n_plots": int(len(y)), "cv": {"folds": cfg.model.cv_folds,
                                                               "scheme": "k-fold, shuffled, seeded"},
            "cv_metrics": cv, "training_metrics": train,
            "note": "Cross-validated metrics are the honest estimate; training metrics are optimistic."}
    ctx.produced(atomic_write_text(ctx.out("card"), json.dumps(card, indent=2, ensure_ascii=False)))


register(Stage(
    name="model",
    about="Training table and random-forest AGC model with k-fold cross-validation",
    func=_run_model,
    upstream=("plots", "features"),
    settings=("model",),
    outputs=(
        Output("training", "training_table.csv", "t C/ha + features", "Plots with features of their survey year"),
        Output("excluded", "excluded_plots.csv", "table", "Plots that could not be used, with the reason"),
        Output("card", "model_card.json", "json", "Learner, features, CV and training metrics"),
    ),
))


# ---------------------------------------------------------------------------
# map
# ---------------------------------------------------------------------------
def _run_map(ctx: Context) -> None:
    cfg = ctx.cfg
    tab = pd.read_csv(ctx.out("training", stage="model"))
    card = json.loads(ctx.out("card", stage="model").read_text(encoding="utf-8"))
    names = card["features"]
    rf = model.fit_forest(tab[names].to_numpy(float), tab["agc_t_ha"].to_numpy(float),
                          cfg.model.n_estimators, cfg.model.seed)
    l1 = open_raster(ctx.out("level1", stage="units"), what="units", chunks=cfg.run.chunk_px, masked=False)
    mask = (l1.isel(band=0) > 0) & (l1.isel(band=0) != L1_NODATA)
    for year in cfg.project.years:
        ctx.progress(f"AGC map {year}")
        stack = open_raster(ctx.out("stack", year=year, stage="features"), what=f"features {year}",
                            chunks=cfg.run.chunk_px)
        got = [str(b) for b in stack["band"].values]
        if got != names:
            raise StageError(f"Feature stack {year} has bands {got}, the model was trained on {names}. "
                             f"Re-run with --force --stages features,model,map.")
        agc = model.predict_stack(rf, stack, mask).clip(min=0)
        ctx.produced(write_raster(agc, ctx.out("agc", year=year), ["agc_t_ha"], units="t C/ha"))


register(Stage(
    name="map",
    about="Yearly AGC density maps (t C/ha) inside the forest units",
    func=_run_map,
    upstream=("model", "features", "units"),
    settings=("model", "run"),
    outputs=(Output("agc", "agc_{year}.tif", "t C/ha", "AGC density of one year", per_year=True),),
))


# ---------------------------------------------------------------------------
# assess
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
def _run_report(ctx: Context) -> None:
    from ..report import build_report

    path = build_report(ctx)
    ctx.produced(path)


register(Stage(
    name="report",
    about="Self-contained HTML report following the standard's outline",
    func=_run_report,
    upstream=("units", "plots", "model", "map", "assess"),
    settings=("project", "assess", "validation"),
    outputs=(Output("html", "report.html", "html", "The monitoring report (self-contained HTML)"),),
))

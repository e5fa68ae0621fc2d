"""Stage `classify`: yearly forest-type, leaf-habit and dominant-species maps from the images (standard 4.3).

Runs when ``[inputs].forest_type`` is absent (then units, features, model, map and assess read its
``forest_type_{year}.tif``), or beside given maps with ``[classify].run = "always"`` (for comparison; the other
stages keep the given maps). With given maps and ``run = "auto"`` it writes only ``classify.json`` saying so.

Samples (``_samples``): the plots (each visit a sample of its survey year, labelled with its dominant species:
largest basal area in the tree table; a plot without trees is a non-forest sample) and the labelled points
of ``[classify].samples`` (``year``, ``label``: a species of ``[classify].species_codes`` by code, Chinese or
Latin name, or ``nonforest``). Each sample takes the features of its own year
(:func:`minecarbon.classify.scene.scene_features` from the monthly composites ``[classify].series`` and the
yearly composite; with ``[classify].terrain`` the species features also hold the elevation, slope and aspect of
``[inputs].dem``). The hierarchy (forest -> leaf habit -> species; :mod:`minecarbon.classify.hierarchy`) is
cross-validated with spatial blocks (headline) and random folds (beside it), fitted on all samples, and maps
every year from that year's images: the forest extent of a year comes from that year's composites.

Forest-type code of a species: the ``forest_type`` column of the species code list when it has one, else the
most frequent ``forest_type`` of the plots the species dominates (``[forest_type_codes]``).

Validation (``[classify].validation``, optional): independent points (``year``, ``label`` as the samples; none on
the pixel of a sample or plot of its year). After a year's maps are written they are read back at the points'
pixels (block by block, :func:`_values_at`) and compared with the labels per level (forest, leaf habit, species;
:mod:`minecarbon.classify.validation`): ``validation_accuracy.csv``, ``validation_confusion.csv``.

Area estimates (Olofsson et al. 2014, strata = the year's mapped classes, their areas from the per-chunk counts;
``area_estimates.csv``, column ``source``): with a validation layer, the written maps at its points
(``validation``; post-stratified, the points being a simple random sample); without one, for every year with
samples of the labelled layer (a probability sample; the purposive plots are left out), the blocked-CV
predictions of those samples against their labels (``blocked_cv``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import dask
import numpy as np
import pandas as pd
import xarray as xr

from ...classify import accuracy
from ...classify.hierarchy import NONFOREST, fit_hierarchy, hierarchical_cv
from ...classify.mapping import classify_scene
from ...classify.scene import scene_features
from ...config import ProjectConfig
from ...errors import InputError, MissingInputError
from ...features import surface_reflectance
from ...grid import align_to, pad_template, pixel_area_m2
from ...inputs.grid import project_grid
from ...inputs.samples import (
    classified_years,
    classify_enabled,
    evergreen_labels,
    feature_numbers,
    labelled_points,
    species_table,
    too_few_samples,
    training_samples,
)
from ...io import open_raster, write_table
from ...io.atomic import atomic_write_text
from ...io.raster import check_overlap
from ...model.cv import spatial_groups
from ...progress import track
from ..core import Context, Output, Stage

log = logging.getLogger(__name__)

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
NODATA = 255
LEVELS = ("forest", "leaf_habit", "species", "species_chained")


def enabled(cfg: ProjectConfig) -> bool:
    """True when the stage classifies (no forest-type maps given, ``[classify].run = "always"``, or model groups
    by dominant species)."""
    return classify_enabled(cfg)


def series_path(cfg: ProjectConfig, year: int, month: int):
    """The monthly composite of a year (:meth:`~minecarbon.config.ProjectConfig.series_path`)."""
    return cfg.series_path(year, month)


# ---------------------------------------------------------------------------
# code list and samples
# ---------------------------------------------------------------------------


def _samples(cfg: ProjectConfig, tmpl: xr.DataArray, look: dict[str, str]) -> pd.DataFrame:
    """Labelled samples (:func:`minecarbon.inputs.samples.training_samples`, the rules ``check`` runs)."""
    return training_samples(cfg, tmpl, look)


def _validation(cfg: ProjectConfig, tmpl: xr.DataArray, look: dict[str, str],
                samples: pd.DataFrame) -> pd.DataFrame | None:
    """The independent validation points of ``[classify].validation`` (None when not given): id ('feature N'),
    year, x, y, label, row, col.

    Errors (naming the file, the features and the fix): a year that is not classified, a label outside the code
    list, a point outside the images' grid, a point on the pixel of a sample or plot of the same year (the
    validation sample would not be independent of the training samples)."""
    if not cfg.classify.validation:
        return None
    vpath = cfg.path(cfg.classify.validation)
    df = labelled_points(cfg, "validation", tmpl, look)  # the layer's rules: inputs.samples, as check runs them

    key = ["year", "row", "col"]
    shared = df[key].merge(samples[key + ["source", "id"]].drop_duplicates(key), on=key, how="left")["id"].notna()
    if shared.any():
        both = df.loc[shared.to_numpy(), key].merge(samples[key + ["source", "id"]], on=key)
        which = ", ".join(f"{s} {i}" for s, i in zip(both["source"], both["id"]))
        raise InputError(f"Validation points {vpath}: feature(s) {feature_numbers(shared.to_numpy())} lie on "
                         f"the pixel of a training sample or plot of the same year ({which[:300]}): the validation sample must be "
                         f"independent of the samples the maps are learned from. Drop these validation points (or "
                         f"those samples).")
    return df


def forest_type_of_species(cfg: ProjectConfig, tab: pd.DataFrame, samples: pd.DataFrame,
                           labels: list[str]) -> dict[str, int]:
    """Forest-type code of each species label (see the module text)."""
    out: dict[str, int] = {}
    given = pd.to_numeric(tab["forest_type"], errors="coerce") if "forest_type" in tab else None
    plots = samples[(samples["source"] == "plots") & samples["forest_type"].notna()]
    missing = []
    for lab in labels:
        if lab == NONFOREST:
            continue
        if given is not None:
            v = given[tab["code"].astype(str) == lab]
            if len(v) and np.isfinite(v.iloc[0]):
                out[lab] = int(v.iloc[0])
                continue
        v = plots.loc[plots["label"] == lab, "forest_type"].astype(int)
        if len(v):
            out[lab] = int(v.value_counts().index[0])
        else:
            missing.append(lab)
    if missing:
        raise InputError(f"The forest type of species {', '.join(missing)} is unknown: no plot it dominates gives "
                         f"a forest_type. Add a 'forest_type' column (codes of [forest_type_codes]) to the species "
                         f"code list {cfg.classify.species_codes}.")
    return out


# ---------------------------------------------------------------------------
# features of a year
# ---------------------------------------------------------------------------
def _scaled(cfg: ProjectConfig, img: xr.DataArray, what: str) -> dict[str, xr.DataArray]:
    """Reflectance of the stage's bands of an image (``[images]`` scale, offset, nodata; QA and snow masks)."""
    return surface_reflectance(img, list(BANDS), sensor=cfg.images.sensor, band_map=cfg.images.bands,
                               scale=cfg.images.scale, offset=cfg.images.offset, nodata=cfg.images.nodata,
                               qa_mask=cfg.features.qa_mask, snow=cfg.features.mask_snow, what=what)


def _reflectance(cfg: ProjectConfig, path, what: str, tmpl: xr.DataArray) -> xr.DataArray:
    img = open_raster(path, what=what, chunks=cfg.run.chunk_px, masked=True)
    refl = _scaled(cfg, img, what)
    bands = [align_to(refl[b], tmpl).drop_vars("band", errors="ignore") for b in BANDS]
    return xr.concat(bands, dim="band", coords="minimal", compat="override").assign_coords(band=list(BANDS))


def _cube(cfg: ProjectConfig, paths: list, whats: list[str], tmpl: xr.DataArray) -> xr.DataArray:
    """(file, band, y, x) reflectance of the files on the project grid: one dask task per chunk when every file
    lies on the grid's lattice (:mod:`._classify_inputs`), else band by band through :func:`_reflectance`."""
    from ._classify_inputs import chunked_reflectance, on_lattice

    if not all(on_lattice(p, tmpl) for p in paths):
        return xr.concat([_reflectance(cfg, p, w, tmpl) for p, w in zip(paths, whats)], dim="file")
    for p, w in zip(paths, whats):  # bad bands, scale or QA settings: the error now, not inside a dask task
        _scaled(cfg, open_raster(p, what=w, chunks=None, masked=True).isel(y=slice(0, 1), x=slice(0, 1)), w)
    data = chunked_reflectance(paths, whats, tmpl, cfg.run.chunk_px, lambda img, w: _scaled(cfg, img, w), BANDS)
    return xr.DataArray(data, dims=("file", "band", "y", "x"),
                        coords={"band": list(BANDS), "y": tmpl.y.values, "x": tmpl.x.values})


TERRAIN = ("elevation", "slope", "aspect_sin", "aspect_cos")
"""Terrain variables appended to the species features when ``[classify].terrain`` (from ``[inputs].dem``)."""


def terrain_features(cfg: ProjectConfig, tmpl: xr.DataArray) -> xr.DataArray | None:
    """(band, y, x) terrain variables of :data:`TERRAIN` on the project grid, or None without ``[classify].terrain``.

    The DEM is put on the grid widened by one pixel (:func:`~minecarbon.grid.align_to`), slope and aspect come from
    its 3 x 3 neighbourhoods (:func:`~minecarbon.features.terrain.terrain_variables`; pixels at the grid's edge see
    the DEM beyond it where it extends there, else copies of the edge), then the halo is cropped off.
    """
    if not cfg.classify.terrain:
        return None
    from ...features.terrain import terrain_variables

    path = cfg.path(cfg.inputs.dem)
    dem = open_raster(path, what="DEM", chunks=cfg.run.chunk_px, masked=True)
    if dem.sizes["band"] != 1:
        raise InputError(f"DEM {path} has {dem.sizes['band']} bands; it must have one band of elevations (m). "
                         f"Point [inputs].dem at a single-band raster, or set [classify].terrain = false.")
    check_overlap(dem, tuple(tmpl.rio.bounds()), "DEM")
    dem = align_to(dem.isel(band=0, drop=True).astype("float32"), pad_template(tmpl, 1))
    out = terrain_variables(dem, list(TERRAIN)).astype(np.float32).isel(y=slice(1, -1), x=slice(1, -1))
    return out.assign_coords(band=[f"terrain_{v}" for v in TERRAIN], x=tmpl.x.values, y=tmpl.y.values)


def _require_series(cfg: ProjectConfig, years: list[int]) -> None:
    """Raise :class:`MissingInputError` unless the twelve monthly composites of each year exist (the problems
    ``check`` lists: :func:`minecarbon.inputs.files.series_files`)."""
    from ...inputs.files import series_files

    missing = series_files(cfg, str, "the project file", years)[1]
    if missing:
        first = missing[0]
        more = f" Also incomplete: {len(missing) - 1} more year(s) (every problem: minecarbon check)." \
            if len(missing) > 1 else ""
        raise MissingInputError(f"{first.message} (e.g. {first.file}).{more} {first.fix}", problems=missing)


def _points(da: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> xr.DataArray:
    """The pixels (rows, cols) of a (..., y, x) DataArray along a new dim ``s`` (lazy for dask)."""
    return da.isel(y=xr.DataArray(rows, dims="s"), x=xr.DataArray(cols, dims="s"))


def year_inputs(cfg: ProjectConfig, year: int, tmpl: xr.DataArray,
                at: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[xr.DataArray, xr.DataArray]:
    """The monthly (time, band, y, x) and yearly (band, y, x) reflectance of a year on the project grid.

    ``at`` (rows, cols): those pixels only (dim ``s`` instead of y, x).
    """
    _require_series(cfg, [year])
    paths = [series_path(cfg, year, m) for m in range(1, 13)] + [cfg.year_path(cfg.images.path, year)]
    whats = [f"monthly composite {year}-{m:02d}" for m in range(1, 13)] + [f"image {year}"]
    cube = _cube(cfg, paths, whats, tmpl)
    times = pd.to_datetime([f"{year}-{m:02d}-15" for m in range(1, 13)])
    monthly = cube.isel(file=slice(0, 12)).rename(file="time").assign_coords(time=times)
    yearly = cube.isel(file=12, drop=True)
    if at is not None:
        monthly, yearly = _points(monthly, *at), _points(yearly, *at)
    return monthly, yearly


def year_features(cfg: ProjectConfig, year: int, tmpl: xr.DataArray, terrain: xr.DataArray | None = None,
                  at: tuple[np.ndarray, np.ndarray] | None = None):
    """:class:`~minecarbon.classify.scene.SceneFeatures` of one year from its monthly and yearly composites.

    ``terrain`` (:func:`terrain_features`), when given, is appended to the species features. ``at`` (rows,
    cols): the features of those pixels only (dim ``s`` instead of y, x); every feature is a function of its
    pixel's own series, so they equal the scene's features at those pixels, without computing the scene's.
    """
    monthly, yearly = year_inputs(cfg, year, tmpl, at)
    if at is not None and terrain is not None:
        terrain = _points(terrain, *at)
    c = cfg.classify
    f = scene_features(monthly, yearly, leaf_off_month=c.leaf_off_month, leaf_on_month=c.leaf_on_month,
                       min_clear=c.min_clear)
    if terrain is not None:
        species = xr.concat([f.species, terrain.drop_vars("spatial_ref", errors="ignore")], dim="band",
                            coords="minimal", compat="override", join="override")
        f = replace(f, species=species)
    return f


def sample_features(cfg: ProjectConfig, samples: pd.DataFrame, tmpl: xr.DataArray, ctx: Context | None = None):
    """Feature arrays of every sample from the features of its year.

    A year's samples are computed strip by strip of the grid's chunk rows (:func:`~minecarbon.io.raster.strips`,
    as the maps are written), one dask pass over the files per strip, so the graph in flight is bounded by the
    chunk size, not by the scene; every feature is a function of its own pixel's series and terrain, so the values
    do not depend on the strips."""
    from ...io.raster import STRIP_CHUNKS, strips

    n = len(samples)
    keys = ("fX", "rvi", "off", "on", "sX")
    out: dict[str, np.ndarray | None] = dict.fromkeys(keys)
    terrain = terrain_features(cfg, tmpl)
    ny, nx, ch = tmpl.sizes["y"], tmpl.sizes["x"], cfg.run.chunk_px
    parts = strips([min(ch, ny - i) for i in range(0, ny, ch)], -(-nx // ch), STRIP_CHUNKS)
    rows_all, cols_all = samples["row"].to_numpy(), samples["col"].to_numpy()
    for year, idx in samples.groupby("year").groups.items():
        if ctx is not None:
            ctx.progress(f"classify: sample features {year}")
        in_year = samples.index.get_indexer(idx)
        for part in parts:
            pos = in_year[(rows_all[in_year] >= part.start) & (rows_all[in_year] < part.stop)]
            if not len(pos):
                continue
            f = year_features(cfg, int(year), tmpl, terrain, at=(rows_all[pos], cols_all[pos]))
            arrays = dask.compute(*(v.transpose("s", ...).data for v in (f.forest, f.rvi_off, f.leaf_off,
                                                                         f.leaf_on, f.species)))  # one pass
            for k, a in zip(keys, arrays):
                v = np.asarray(a, dtype=float)
                if out[k] is None:
                    out[k] = np.full((n,) + v.shape[1:], np.nan)
                out[k][pos] = v
    return out


# ---------------------------------------------------------------------------
# the stage
# ---------------------------------------------------------------------------
def _accuracy_rows(res: dict, scheme: str) -> tuple[list[dict], list[dict], list[dict]]:
    acc, per_class, conf = [], [], []
    for level in LEVELS:
        r = res[level]
        acc.append({"level": level, "scheme": scheme, "n": r["n"], "oa": r["oa"], "kappa": r["kappa"]})
        for cls in r["ua"]:
            per_class.append({"level": level, "scheme": scheme, "class": cls, "ua": r["ua"][cls],
                              "pa": r["pa"][cls], "f1": r["f1"][cls]})
        classes = r["confusion"]["classes"]
        for i, mc in enumerate(classes):
            for j, rc in enumerate(classes):
                conf.append({"level": level, "scheme": scheme, "map": mc, "reference": rc,
                             "count": int(r["confusion"]["rows_map_cols_reference"][i][j])})
    return acc, per_class, conf


def _area_rows(year: int, level: str, pred: np.ndarray, ref: np.ndarray, mapped_ha: pd.Series) -> list[dict]:
    classes = list(mapped_ha.index)
    cm = accuracy.confusion_matrix(pred, ref, sorted(set(classes) | set(pred) | set(ref)))
    mapped = mapped_ha.reindex(cm.index, fill_value=0.0)
    try:
        est = accuracy.area_estimates(cm, mapped)
    except InputError as exc:
        log.warning("classify: no area estimate of %s %d: %s", level, year, exc)
        return [{"year": year, "level": level, "class": c, "note": str(exc), "source": "blocked_cv"} for c in cm.index]
    return _estimate_rows(year, level, est, "blocked_cv")


def _estimate_rows(year: int, level: str, est: accuracy.AreaAccuracy, source: str, note: str = "") -> list[dict]:
    t = est.table
    return [{"year": year, "level": level, "class": c, "n": int(t.at[c, "n"]), "mapped_ha": t.at[c, "mapped_area"],
             "area_ha": t.at[c, "area"], "area_ci95_ha": t.at[c, "area_ci"], "ua": t.at[c, "ua"],
             "ua_ci95": t.at[c, "ua_ci"], "pa": t.at[c, "pa"], "pa_ci95": t.at[c, "pa_ci"], "oa": est.oa,
             "oa_ci95": est.oa_ci, "note": note, "source": source} for c in t.index]


def _values_at(path, rows: np.ndarray, cols: np.ndarray, chunk_px: int) -> np.ndarray:
    """Band 1 of a written class raster at the pixels (rows, cols), codes kept (no nodata mask): only the chunks
    that hold points are read (``features.normalize.values_at``, dask's vindex), never the whole grid."""
    from ...features.normalize import values_at

    da = open_raster(path, what="written class map", chunks=chunk_px, masked=False, require_projected=False)
    return values_at(da.isel(band=0, drop=True), np.asarray(rows), np.asarray(cols)).astype(np.int64)


def _validation_rows(ctx: Context, year: int, val: pd.DataFrame, evergreen: set[str], counts: dict,
                     classes: np.ndarray, px_ha: float) -> tuple[list[dict], list[dict], list[dict]]:
    """Accuracy, confusion and area-estimate rows of one year's written maps at its validation points."""
    from ...classify.validation import LEVELS as VLEVELS
    from ...classify.validation import map_classes, reference_classes, validate_level

    r, c = val["row"].to_numpy(), val["col"].to_numpy()
    got = map_classes(_values_at(ctx.out("species", year=year), r, c, ctx.cfg.run.chunk_px),
                      _values_at(ctx.out("leaf_habit", year=year), r, c, ctx.cfg.run.chunk_px))
    ref = reference_classes(val["label"], evergreen)
    nf = counts["nonforest"] * px_ha
    mapped = {"forest": pd.Series({"forest": counts["forest"] * px_ha, NONFOREST: nf}),
              "leaf_habit": pd.Series({"evergreen": counts["evergreen"] * px_ha,
                                       "deciduous": counts["deciduous"] * px_ha, NONFOREST: nf}),
              "species": pd.Series({**{str(cls): float(counts["species"][i]) * px_ha
                                       for i, cls in enumerate(classes) if cls != NONFOREST}, NONFOREST: nf})}
    acc, conf, areas = [], [], []
    for level in VLEVELS:
        v = validate_level(got[level], ref[level], mapped[level])
        if v.note:
            log.warning("classify: validation %d %s: %s", year, level, v.note)
        acc.append({"year": year, "level": level, "n": v.n, "n_nodata": v.n_nodata, "oa": v.oa, "oa_ci95": v.oa_ci,
                    "kappa": v.kappa, "oa_area": v.areas.oa if v.areas else np.nan,
                    "oa_area_ci95": v.areas.oa_ci if v.areas else np.nan, "note": v.note})
        cm = v.confusion
        conf += [{"year": year, "level": level, "map": mc, "reference": rc, "count": int(cm.at[mc, rc])}
                 for mc in cm.index for rc in cm.columns]
        if v.areas is not None:
            areas += _estimate_rows(year, level, v.areas, "validation", v.note)
        else:
            areas += [{"year": year, "level": level, "class": k, "note": v.note, "source": "validation"}
                      for k in cm.index]
    return acc, conf, areas


def _not_run(ctx: Context) -> None:
    info = {"status": "not run", "reason": "forest-type maps are given ([inputs].forest_type); set [classify].run = "
            "\"always\" to classify beside them for comparison"}
    ctx.produced(atomic_write_text(ctx.out("info"), json.dumps(info, indent=2, ensure_ascii=False)))


def _code_layers(fo: np.ndarray, lh: np.ndarray, si: np.ndarray, sp_code: np.ndarray, ft_code: np.ndarray,
                 nonforest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forest-type, species and leaf-habit codes (uint8, 255 no data) of a block of the hierarchy's maps."""
    has_sp = si >= 0
    idx = np.clip(si, 0, None)
    species = np.where(fo == 1, np.where(has_sp, sp_code[idx], NODATA), 0)
    species = np.where(fo == NODATA, NODATA, species).astype(np.uint8)
    ftype = np.where(fo == 1, np.where(has_sp, ft_code[idx], NODATA), nonforest)
    ftype = np.where(fo == NODATA, NODATA, ftype).astype(np.uint8)
    lh_out = np.where(fo == NODATA, NODATA, lh).astype(np.uint8)
    return ftype, species, lh_out


def _tally(fo: np.ndarray, si: np.ndarray, lh: np.ndarray, n_clear: np.ndarray, n_classes: int,
           min_clear: int) -> np.ndarray:
    """Pixel counts of a block: no data, non-forest, forest without species, each species index, evergreen and
    deciduous forest; flagged last."""
    code = np.where(fo == NODATA, 0, np.where(fo == 0, 1, np.where(si >= 0, si.astype(np.int64) + 3, 2)))
    counts = np.bincount(code.ravel(), minlength=n_classes + 3)
    habit = [int(((fo == 1) & (lh == v)).sum()) for v in (1, 2)]
    return np.append(counts, habit + [int((np.asarray(n_clear) < min_clear).sum())])


def _write_year_maps(ctx: Context, year: int, tmpl: xr.DataArray, ds: xr.Dataset,
                     sp_code: np.ndarray, ft_code: np.ndarray, nonforest: int, min_clear: int) -> dict:
    """Write one year's maps chunk by chunk (one dask pass per strip of chunk rows for all four rasters) and count
    the mapped pixels.

    The hierarchy's layers are never held whole: each chunk is classified once, coded
    (:func:`_code_layers`), written into every output (:func:`~minecarbon.io.raster.write_rasters`) and counted
    (:func:`_tally`). Returns pixel counts: ``forest``, ``nonforest``, ``nodata``, ``forest_without_species``,
    ``species`` (per species index), ``evergreen`` and ``deciduous`` (forest pixels of that leaf habit) and
    ``flagged`` (fewer than ``min_clear`` clear months).
    """
    from ...io.raster import write_rasters

    crs = tmpl.rio.crs
    geo = {"x": tmpl.x, "y": tmpl.y}
    fo, lh, si = ds.forest, ds.leaf_habit, ds.species_index
    n_clear = ds.n_clear.assign_coords(geo)
    if fo.chunks is not None:
        n_clear = n_clear.chunk(dict(zip(fo.dims, fo.chunks)))
    ftype, species, lh_out = xr.apply_ufunc(
        _code_layers, fo, lh, si, kwargs={"sp_code": sp_code, "ft_code": ft_code, "nonforest": nonforest},
        output_core_dims=[[], [], []], dask="parallelized", output_dtypes=[np.uint8] * 3)

    def grid(da: xr.DataArray) -> xr.DataArray:
        return da.assign_coords(geo).rio.write_crs(crs)

    conf_da = xr.concat([ds.species_probability.astype(np.float32), ds.margin.astype(np.float32),
                         n_clear.astype(np.float32)], dim="band", coords="minimal", compat="override")
    cls = {"nodata": NODATA, "dtype": "uint8", "units": "class code"}
    outputs = [(grid(ftype), ctx.out("forest_type", year=year), {"band_names": ["forest_type"], **cls}),
               (grid(species), ctx.out("species", year=year), {"band_names": ["dominant_species"], **cls}),
               (grid(lh_out), ctx.out("leaf_habit", year=year), {"band_names": ["leaf_habit"], **cls}),
               (grid(conf_da), ctx.out("confidence", year=year),
                {"band_names": ["species_probability", "margin", "n_clear"], "dtype": "float32",
                 "units": "1, 1, count"})]
    n_classes = len(sp_code)

    def tallies(rows: slice) -> list:
        """The pixel counts of the chunks of a strip of rows, computed with the strip's maps."""
        layers = [v.isel(y=rows) for v in (fo, si, lh, n_clear)]
        if fo.chunks is None:
            return [dask.delayed(_tally)(*(v.values for v in layers), n_classes, min_clear)]
        # optimize_graph=False: an optimised copy of each layer's graph would fuse the classification of a chunk
        # into the tally's own tasks and compute it again for each layer counted (measured: 3 times)
        blocks = [v.data.to_delayed(optimize_graph=False).ravel() for v in layers]
        return [dask.delayed(_tally)(a, b, c, d, n_classes, min_clear) for a, b, c, d in zip(*blocks)]

    paths, counts = write_rasters(outputs, also=tallies)
    for p in paths:
        ctx.produced(p)
    total = np.sum(counts, axis=0)
    return {"nodata": int(total[0]), "nonforest": int(total[1]), "forest_without_species": int(total[2]),
            "forest": int(total[2:3 + n_classes].sum()), "species": total[3:3 + n_classes],
            "evergreen": int(total[-3]), "deciduous": int(total[-2]), "flagged": int(total[-1])}


GDAL_CACHE_BYTES = 64
"""GDAL's block cache while the stage runs: 64 **bytes**, i.e. practically none (rasterio hands an int to GDAL's
``GDALSetCacheMax`` as bytes). Its default, 5 % of the machine's memory, fills with the decoded tiles of the 13
files a year reads, so the stage's memory grew with the scene (medium, 2022-2024, 128-px chunks: peak 1.21 GiB with
the default cache on a 23 GiB machine, 1.12 GiB with this setting, CPU time the same). The setting was meant as
64 MB; session 9 found the unit and measured a real 64 MB cache on medium: peak 0.73 vs 0.64 GiB, CPU 101 vs 97 s
(load 2-3), so the measured setting is kept (benchmarks/README.md, "Session 9: the classify stage's memory")."""


def _run_classify(ctx: Context) -> None:
    import rasterio

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        _classify(ctx)


def _classify(ctx: Context) -> None:
    cfg = ctx.cfg
    if not enabled(cfg):
        _not_run(ctx)
        return
    c = cfg.classify
    codes = cfg.forest_type_codes
    tmpl, _, _ = project_grid(cfg)
    tab, look = species_table(cfg)
    evergreen = evergreen_labels(cfg, look)
    _require_series(cfg, classified_years(cfg))  # before the sampling and CV, not at the year that lacks them
    samples = _samples(cfg, tmpl, look)
    val = _validation(cfg, tmpl, look, samples)
    ctx.progress("classify: sample features")
    X = sample_features(cfg, samples, tmpl, ctx)
    ok = np.all(np.isfinite(X["fX"]), 1) & np.isfinite(X["rvi"]) & np.all(np.isfinite(X["off"]), 1) \
        & np.all(np.isfinite(X["on"]), 1) & np.all(np.isfinite(X["sX"]), 1)
    n_flagged = int((~ok).sum())
    if n_flagged:
        log.warning("classify: %d of %d samples dropped: too few clear monthly observations (fewer than %d) in "
                    "their year", n_flagged, len(samples), c.min_clear)
    samples = samples[ok].reset_index(drop=True)
    X = {k: v[ok] for k, v in X.items()}
    labels = samples["label"].to_numpy(str)
    few = too_few_samples(cfg, labels, evergreen)
    if few is not None:
        raise InputError(" ".join(few))
    forest = labels != NONFOREST
    ever = np.isin(labels, list(evergreen))
    ft_of = forest_type_of_species(cfg, tab, samples, sorted(set(labels)))
    args = (X["fX"], forest, X["rvi"], X["off"], X["on"], ever, X["sX"], labels)
    groups = spatial_groups(samples["x"].to_numpy(), samples["y"].to_numpy(), c.block_m)
    ctx.progress("classify: blocked cross-validation")
    kw = {"n_estimators": c.n_estimators, "species_learner": c.species_learner}
    blocked = hierarchical_cv(*args, groups=groups, folds=c.folds, seed=c.seed, **kw)
    ctx.progress("classify: random cross-validation")
    rand = hierarchical_cv(*args, groups=None, folds=c.folds, seed=c.seed, **kw)
    acc, per_class, conf = [], [], []
    for res, scheme in ((blocked, "blocked"), (rand, "random")):
        a, p, k = _accuracy_rows(res, scheme)
        acc += a
        per_class += p
        conf += k
    h = fit_hierarchy(*args, seed=c.seed, **kw)
    px_ha = pixel_area_m2(tmpl) / 1e4
    classes = np.asarray(h.species_classes)
    sp_code = np.array([0 if s == NONFOREST else int(s) for s in classes], dtype=np.int32)
    ft_code = np.array([codes.nonforest if s == NONFOREST else ft_of[s] for s in classes], dtype=np.int32)
    area_rows, map_rows, val_acc, val_conf, val_areas = [], [], [], [], []
    pred_f = blocked["predictions"]["forest"]
    pred_s = blocked["predictions"]["species_chained"]
    ref_f = np.where(forest, "forest", NONFOREST)
    terrain = terrain_features(cfg, tmpl)
    for year in track(classified_years(cfg), "classified maps", unit="years"):
        ctx.progress(f"classify: maps {year}")
        monthly, yearly = year_inputs(cfg, year, tmpl)
        ds = classify_scene(h, monthly, yearly, terrain, leaf_off_month=c.leaf_off_month,
                            leaf_on_month=c.leaf_on_month, min_clear=c.min_clear)
        fo_n = _write_year_maps(ctx, year, tmpl, ds, sp_code, ft_code, codes.nonforest, c.min_clear)
        n_f, n_nf, n_nd = fo_n["forest"], fo_n["nonforest"], fo_n["nodata"]
        map_rows.append({"year": year, "forest_ha": n_f * px_ha, "nonforest_ha": n_nf * px_ha, "nodata_ha": n_nd * px_ha,
                         "forest_without_species_ha": fo_n["forest_without_species"] * px_ha,
                         "flagged_px": fo_n["flagged"]})
        if val is not None and (val["year"] == year).any():
            a, k, e = _validation_rows(ctx, year, val[val["year"] == year], evergreen, fo_n, classes, px_ha)
            val_acc += a
            val_conf += k
            val_areas += e
        lay = (samples["source"] == "samples").to_numpy() & (samples["year"] == year).to_numpy()
        if val is None and lay.sum() >= 2:
            mapped_f = pd.Series({"forest": n_f * px_ha, NONFOREST: n_nf * px_ha})
            area_rows += _area_rows(year, "forest", pred_f[lay], ref_f[lay], mapped_f)
            mapped_s = pd.Series({cls: float(fo_n["species"][i]) * px_ha for i, cls in enumerate(classes)
                                  if cls != NONFOREST})
            mapped_s[NONFOREST] = n_nf * px_ha
            area_rows += _area_rows(year, "species_chained", pred_s[lay], labels[lay], mapped_s)
    ctx.produced(write_table(pd.DataFrame(acc), ctx.out("accuracy")))
    ctx.produced(write_table(pd.DataFrame(per_class), ctx.out("per_class")))
    ctx.produced(write_table(pd.DataFrame(conf), ctx.out("confusion")))
    area_cols = ["year", "level", "class", "n", "mapped_ha", "area_ha", "area_ci95_ha", "ua", "ua_ci95", "pa",
                 "pa_ci95", "oa", "oa_ci95", "note", "source"]
    ctx.produced(write_table(pd.DataFrame(val_areas if val is not None else area_rows, columns=area_cols),
                             ctx.out("areas")))
    if val is not None:
        ctx.produced(write_table(pd.DataFrame(val_acc, columns=["year", "level", "n", "n_nodata", "oa", "oa_ci95",
                                                                "kappa", "oa_area", "oa_area_ci95", "note"]),
                                 ctx.out("validation_accuracy")))
        ctx.produced(write_table(pd.DataFrame(val_conf, columns=["year", "level", "map", "reference", "count"]),
                                 ctx.out("validation_confusion")))
    ctx.produced(write_table(pd.DataFrame(map_rows), ctx.out("mapped")))
    smp = samples[["source", "id", "year", "x", "y", "label"]].copy()
    smp["forest_cv_blocked"] = pred_f
    smp["species_cv_blocked"] = pred_s
    ctx.produced(write_table(smp, ctx.out("samples")))
    info = {"status": "classified", "samples": int(len(samples)), "samples_flagged": n_flagged,
            "samples_by_source": samples["source"].value_counts().to_dict(),
            "classes": list(classes), "evergreen": sorted(evergreen), "species_learner": c.species_learner,
            "terrain_features": bool(c.terrain),
            "species_codes": {s: int(v) for s, v in zip(classes, sp_code)},
            "forest_type_of_species": ft_of, "leaf_habit_rule": h.rule.to_dict(),
            "blocked_groups": int(len(np.unique(groups))),
            "area_estimates_source": "validation" if val is not None else "blocked_cv",
            "validation": None if val is None else {
                "file": str(cfg.classify.validation), "points": int(len(val)),
                "points_by_year": {str(k): int(v) for k, v in val["year"].value_counts().sort_index().items()},
                "points_nodata": {f"{r['year']} {r['level']}": int(r["n_nodata"]) for r in val_acc if r["n_nodata"]},
                "oa": {f"{r['year']} {r['level']}": r["oa"] for r in val_acc}},
            "oa": {f"{lvl}_{sch}": r[lvl]["oa"] for sch, r in (("blocked", blocked), ("random", rand))
                   for lvl in LEVELS},
            "n_features": {"forest": h.n_forest_features, "species": h.n_species_features}}
    ctx.produced(atomic_write_text(ctx.out("info"), json.dumps(info, indent=2, ensure_ascii=False, default=str)))
    log.info("classify: OA blocked forest %.3f, leaf habit %.3f, species %.3f", blocked["forest"]["oa"],
             blocked["leaf_habit"]["oa"], blocked["species"]["oa"])


STAGE = Stage(
    name="classify",
    about="Forest, leaf-habit and dominant-species maps of every year from the images (standard 4.3: "
          "hierarchical classification, random forests on monthly vegetation-index series), with their accuracy",
    func=_run_classify,
    active=enabled,
    inputs=("images.path", "inputs.dem", "area.boundary", "classify.series", "classify.samples",
            "classify.validation", "classify.species_codes", "inputs.plots", "inputs.trees"),
    settings=("classify", "images", "area", "features", "forest_type_codes", "inputs", "run"),
    outputs=(
        Output("forest_type", "forest_type_{year}.tif", "class code",
               "Forest-type map of the year from the classification ([forest_type_codes]; 255 no data)", per_year=True),
        Output("species", "dominant_species_{year}.tif", "class code",
               "Dominant-species map (species codes; 0 non-forest; 255 no data)", per_year=True),
        Output("leaf_habit", "leaf_habit_{year}.tif", "class code",
               "Leaf habit (1 evergreen, 2 deciduous, 0 non-forest; 255 no data)", per_year=True),
        Output("confidence", "confidence_{year}.tif", "1, 1, count",
               "Species probability, margin (best - second probability), clear monthly observations", per_year=True),
        Output("accuracy", "accuracy.csv", "table", "OA and kappa per level, blocked and random CV"),
        Output("per_class", "accuracy_per_class.csv", "table", "UA, PA and F1 per class, level and CV scheme"),
        Output("confusion", "confusion.csv", "count", "Confusion matrices (map x reference) per level and scheme"),
        Output("areas", "area_estimates.csv", "ha",
               "Mapped and estimated area (ha), UA, PA with 95 % intervals (Olofsson et al. 2014, strata = mapped "
               "classes); source: validation points, else blocked-CV predictions"),
        Output("validation_accuracy", "validation_accuracy.csv", "1, count",
               "Written maps vs [classify].validation per year and level: points (n, n_nodata), OA with 95 % "
               "interval, kappa, area-weighted OA"),
        Output("validation_confusion", "validation_confusion.csv", "count",
               "Confusion matrices (map x reference) of the written maps at the validation points"),
        Output("mapped", "mapped_areas.csv", "ha", "Mapped forest / non-forest / no-data area per year"),
        Output("samples", "samples.csv", "table", "The samples with their blocked-CV predictions"),
        Output("info", "classify.json", "json", "Classes, codes, leaf-habit rule, sample counts, headline OA"),
    ),
)

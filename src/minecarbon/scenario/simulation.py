"""``simulate``: write a whole simulated mining area (inputs, truth and project file).

Order of work: draw the world (:mod:`.world`); write the vectors and the
climate grids; simulate and write every raster window by window
(:mod:`.blocks`, :mod:`.writer`; one window for sizes up to 512 px); place the plots on the level-2 unit truth
(:mod:`.plots`); read each plot pixel's history (a 1 x 1 window) and tally
trees that reproduce its AGC (:mod:`.trees`); scan three plots with the TLS
simulator (:mod:`.tls`, written separately); write the tables, the project
file and ``truth/scenario.json``; finally fly the airborne laser scan of
the end year over the monitoring area (:mod:`.als`, tile row by tile row).
The layout of the output is in ``docs/scenario.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.windows import Window

from .. import __version__
from ..allometry import AllometryTable
from ..config import load_config
from ..io import atomic_path, atomic_write_text, write_table, write_vector
from .als import ALS_PULSES_PER_M2, AlsParams, CanopyTap, DominantHeight, simulate_als
from .blocks import simulate_window
from .climate import CELL_PX
from .grid import CHUNK_PX, Grid
from .plots import campaign_years, select_plots
from .species import BANDS, BY_CODE, LATIN_ON_SHEETS, SPECIES
from .trees import TREE_COLUMNS, TreeCarbon, draw_trees, tally_plot
from .world import GENERATOR_VERSION, World, build_world
from .writer import RasterSink, RasterSpec, project_toml, write_json

PLOT_SIDE_M = 30.0
REMEASURE_EVERY_YR = 5
"""Permanent plots are re-measured every this many years from the base year (and in the end year)."""
ROBINIA_CF = 0.47
ROBINIA_CF_SOURCE = ("IPCC (2006) default, a placeholder chosen for the simulated demo: "
                     "no verified Robinia value (ALLOMETRY.md §4)")
FLOAT_NODATA = -9999.0
CLASS_NODATA = 255
TLS_DBH_SD_CM = 0.3
TLS_HEIGHT_SD_M = 0.5

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


SAMPLES_PER_YEAR = 1500
VALIDATION_PER_YEAR = 600
"""Independent validation points per sample year (``classify=True``; a simple random sample, :func:`_write_validation`)."""
"""Labelled reference points per sample year (``classify=True``), at most a third of the scene's pixels."""


def _raster_specs(world: World, out: Path, monthly: bool, series: bool = False,
                  series_years: list[int] | None = None) -> dict[tuple, RasterSpec]:
    inp, tru = out / "inputs", out / "truth"
    specs: dict[tuple, RasterSpec] = {
        ("dem",): RasterSpec((inp / "dem.tif",), ("elevation",), "float32", FLOAT_NODATA, "m"),
        ("species",): RasterSpec((inp / "dominant_species.tif",), ("dominant_species",), "uint8", CLASS_NODATA),
        ("units_level1",): RasterSpec((tru / "units_level1.tif",), ("units_level1",), "uint8", CLASS_NODATA),
        ("units_level2",): RasterSpec((tru / "units_level2.tif",), ("units_level2",), "uint8", CLASS_NODATA),
        ("canopy_height",): RasterSpec((tru / f"canopy_height_{world.end_year}.tif",), ("canopy_height",),
                                       "float32", FLOAT_NODATA, "m"),
    }
    for y in world.years:
        ft_paths = [tru / f"forest_type_{y}.tif"]
        if y in (world.base_year, world.end_year):
            ft_paths.append(inp / "forest_type" / f"forest_type_{y}.tif")
        specs[("forest_type", y)] = RasterSpec(tuple(ft_paths), ("forest_type",), "uint8", CLASS_NODATA)
        specs[("agc", y)] = RasterSpec((tru / f"agc_{y}.tif",), ("agc",), "float32", FLOAT_NODATA, "t C/ha")
        specs[("agc_nomining", y)] = RasterSpec((tru / f"agc_nomining_{y}.tif",), ("agc_nomining",), "float32",
                                                FLOAT_NODATA, "t C/ha")
        specs[("image", y)] = RasterSpec((inp / "images" / f"LC08_SR_{y}.tif",), BANDS, "uint16", 0)
    if monthly:
        for m in range(1, 13):
            specs[("image_month", m)] = RasterSpec(
                (inp / "images_monthly" / f"LC08_SR_{world.end_year}-{m:02d}.tif",), BANDS, "uint16", 0)
    if series:
        for y in world.years if series_years is None else series_years:
            for m in range(1, 13):
                specs[("image_series", y, m)] = RasterSpec(
                    (inp / "series" / f"LC08_SR_{y}-{m:02d}.tif",), BANDS, "uint16", 0)
    return specs


def sample_years(world: World) -> list[int]:
    """Years of the labelled reference points (``classify=True``): base, mid-period survey and end year."""
    return sorted({world.base_year, world.mid_survey_year, world.end_year})


def _write_samples(world: World, sink: RasterSink, inp: Path, years: list[int] | None = None,
                   drawn: dict[int, np.ndarray] | None = None) -> int:
    """Labelled reference points of the sample years: simple random pixels, labelled with the truth (species
    code of the stand, or 'nonforest' where the forest type is non-forest). Written as ``inputs/reference_samples.gpkg``.

    ``years`` (the classify years): the points of those sample years only (the same points as without), and
    points of a classify year that is no sample year drawn after them (a generator of their own). ``drawn``
    receives the flat pixel indices drawn for each year (also of the years not written)."""
    g = world.grid
    rng = np.random.default_rng([world.seed, 14])
    # inside the monitoring area's bounds (boundary + the project's 300 m buffer), less one pixel
    x0, y0, x1, y1 = world.layout.boundary.buffer(300.0 - g.pixel_m).bounds
    xc = g.x0_m + (np.arange(g.n_px) + 0.5) * g.pixel_m
    yc = g.y0_m - (np.arange(g.n_px) + 0.5) * g.pixel_m
    inside = ((yc > y0) & (yc < y1))[:, None] & ((xc > x0) & (xc < x1))[None, :]  # no whole-grid coordinates
    pool = np.flatnonzero(inside.ravel())
    n = min(SAMPLES_PER_YEAR, pool.size // 3)
    frames = []
    draws = [(y, rng) for y in sample_years(world)]
    draws += [(y, np.random.default_rng([world.seed, 14, y])) for y in years or () if y not in sample_years(world)]
    for y, gen in draws:
        idx = gen.choice(pool, n, replace=False)
        if drawn is not None:
            drawn[y] = idx
        if years is not None and y not in years:
            continue
        r, c = np.divmod(idx, g.n_px)
        ft = sink.kept[("forest_type", y)][r, c]
        sp = sink.kept[("stand_species", y)][r, c]
        lab = np.where((ft > 0) & (sp > 0), sp.astype(int).astype(str), "nonforest")
        xs = g.x0_m + (c + 0.5) * g.pixel_m
        ys = g.y0_m - (r + 0.5) * g.pixel_m
        frames.append(gpd.GeoDataFrame({"year": np.full(n, y, dtype="int32"), "label": lab},
                                        geometry=gpd.points_from_xy(xs, ys), crs=g.crs))
    rows = pd.concat(frames, ignore_index=True)
    write_vector(gpd.GeoDataFrame(rows, geometry="geometry", crs=g.crs), inp / "reference_samples.gpkg")
    return len(rows)


def _write_validation(world: World, sink: RasterSink, inp: Path, drawn: dict[int, np.ndarray],
                      plot_pixels: np.ndarray, years: list[int] | None = None) -> int:
    """Independent validation points (``inputs/validation_points.gpkg``): in each sample year (of ``years``, the
    classify years, when given) a simple random sample of :data:`VALIDATION_PER_YEAR` pixels of the project grid
    (every pixel that touches the monitoring area's bounding box, as the stages' grid), labelled with the truth
    like the labelled points.

    The pixels of that year's labelled points (``drawn``) and of every plot (``plot_pixels``, flat indices) are
    left out, so the validation sample shares no pixel with the training samples; the labelled points being a
    simple random sample themselves, the validation points are (marginally) a simple random sample of the grid.
    Each year has a random stream of its own (``[seed, 15, year]``): no other file changes, and a subset of the
    years gives the same points."""
    g = world.grid
    x0, y0, x1, y1 = world.layout.monitoring_area.bounds
    c0, c1 = max(0, math.floor((x0 - g.x0_m) / g.pixel_m)), min(g.n_px, math.ceil((x1 - g.x0_m) / g.pixel_m))
    r0, r1 = max(0, math.floor((g.y0_m - y1) / g.pixel_m)), min(g.n_px, math.ceil((g.y0_m - y0) / g.pixel_m))
    rr, cc = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
    grid_px = (rr * g.n_px + cc).ravel()
    frames = []
    for y in sample_years(world):
        if years is not None and y not in years:
            continue
        pool = np.setdiff1d(grid_px, np.concatenate([drawn.get(y, np.empty(0, np.int64)), plot_pixels]))
        n = min(VALIDATION_PER_YEAR, pool.size // 2)
        idx = np.sort(np.random.default_rng([world.seed, 15, y]).choice(pool, n, replace=False))
        r, c = np.divmod(idx, g.n_px)
        ft = sink.kept[("forest_type", y)][r, c]
        sp = sink.kept[("stand_species", y)][r, c]
        lab = np.where((ft > 0) & (sp > 0), sp.astype(int).astype(str), "nonforest")
        frames.append(gpd.GeoDataFrame({"year": np.full(n, y, dtype="int32"), "label": lab},
                                        geometry=gpd.points_from_xy(g.x0_m + (c + 0.5) * g.pixel_m,
                                                                    g.y0_m - (r + 0.5) * g.pixel_m), crs=g.crs))
    rows = pd.concat(frames, ignore_index=True)
    write_vector(gpd.GeoDataFrame(rows, geometry="geometry", crs=g.crs), inp / "validation_points.gpkg")
    return len(rows)


def _write_vectors(world: World, inp: Path) -> dict[str, int]:
    lay = world.layout
    crs = world.grid.crs
    write_vector(gpd.GeoDataFrame({"name": [f"Simulated coal mine (seed {world.seed})"]},
                                  geometry=[lay.boundary], crs=crs), inp / "boundary.gpkg")
    dist = lay.disturbance[["year", "damage_type", "geometry"]].copy()
    dist["year"] = dist["year"].astype("int32")
    write_vector(dist, inp / "disturbance.gpkg")
    planned = lay.planned.copy()
    planned["planned_year"] = planned["planned_year"].astype("int32")
    write_vector(planned, inp / "planned_mining.gpkg")
    rec = lay.reclamation.copy()
    rec["year"] = rec["year"].astype("int32")
    write_vector(rec, inp / "reclamation.gpkg")
    return {"disturbance_features": len(dist), "planned_blocks": len(planned), "reclamation_polygons": len(rec)}


def _write_climate(world: World, inp: Path) -> None:
    g = world.grid
    cl = world.climate
    cgrid = Grid(cl.tmean_c.shape[1], pixel_m=CELL_PX * g.pixel_m, x0_m=g.x0_m, y0_m=g.y0_m, crs=g.crs)
    specs: dict[tuple, RasterSpec] = {}
    for y in world.years:
        specs[("tmean", y)] = RasterSpec((inp / "climate" / f"tmean_{y}.tif",), ("tmean",), "float32",
                                         FLOAT_NODATA, "deg C")
        specs[("prcp", y)] = RasterSpec((inp / "climate" / f"prcp_{y}.tif",), ("prcp",), "float32",
                                        FLOAT_NODATA, "mm")
    sink = RasterSink(cgrid, specs)
    try:
        sink.set_window(Window(0, 0, cgrid.n_px, cgrid.n_px))
        for i, y in enumerate(world.years):
            sink(("tmean", y), cl.tmean_c[i].astype(np.float32))
            sink(("prcp", y), cl.prcp_mm[i].astype(np.float32))
        sink.close()
    except BaseException:
        sink.abort()
        raise


def _write_rasters(world: World, out: Path, progress: Progress, heights: DominantHeight,
                   series: bool = False, series_years: list[int] | None = None) -> RasterSink:
    g = world.grid
    chunked = g.n_px > CHUNK_PX
    monthly = world.size != "large"
    keep = [("units_level2",), ("forest_type", world.base_year)]
    if series:
        keep += [(k, y) for y in sorted(set(sample_years(world)) | set(series_years or ()))
                 for k in ("forest_type", "stand_species")]
    sink = RasterSink(g, _raster_specs(world, out, monthly, series, series_years), keep=keep)
    windows = list(g.windows(CHUNK_PX))
    try:
        for i, win in enumerate(windows):
            progress(f"Simulating rasters: window {i + 1}/{len(windows)}" if chunked
                     else "Simulating rasters (AGC, forest type, images) for every year")
            sink.set_window(win)
            simulate_window(world, win, CanopyTap(sink, world.end_year, heights), images=True, monthly=monthly,
                            series=series, series_years=series_years)
        sink.close(progress)
    except BaseException:
        sink.abort()
        raise
    return sink


def pixel_history(world: World, row: int, col: int) -> dict[tuple, np.ndarray]:
    """Every per-year value of one pixel, keyed as in :func:`.blocks.simulate_window`."""
    return pixel_histories(world, np.array([row]), np.array([col]))[0]


def pixel_histories(world: World, rows: np.ndarray, cols: np.ndarray) -> list[dict[tuple, np.ndarray]]:
    """Per-year values (AGC, forest type, stand age and species, slope, ...) of many pixels.

    Pixels are grouped by processing chunk; each group is simulated as the
    smallest window holding its pixels (values do not depend on the window).
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    out: list[dict[tuple, np.ndarray]] = [{} for _ in range(len(rows))]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (r, c) in enumerate(zip(rows, cols)):
        groups.setdefault((int(r) // CHUNK_PX, int(c) // CHUNK_PX), []).append(i)
    for idx in groups.values():
        r0, r1 = int(rows[idx].min()), int(rows[idx].max()) + 1
        c0, c1 = int(cols[idx].min()), int(cols[idx].max()) + 1
        rr, cc = rows[idx] - r0, cols[idx] - c0

        def grab(key: tuple, arr: np.ndarray, idx=idx, rr=rr, cc=cc) -> None:
            if np.ndim(arr) != 2:
                return
            vals = np.asarray(arr)[rr, cc]
            for j, v in zip(idx, vals):
                out[j][key] = v

        simulate_window(world, Window(c0, r0, c1 - c0, r1 - r0), grab, images=False, monthly=False)
    return out


def _tree_carbon() -> TreeCarbon:
    """The allometry of the tallies (shipped table, the demo's Robinia carbon fraction)."""
    return TreeCarbon(AllometryTable.default(carbon_fractions={"刺槐": (ROBINIA_CF, ROBINIA_CF_SOURCE)}))


def _field(world: World, units_l2: np.ndarray, ft0: np.ndarray, out: Path, progress: Progress,
           carbon: TreeCarbon, remeasure_every_yr: int | None) -> dict:
    """Plots, tallies, TLS scans and tape tally; returns counts for scenario.json."""
    rng = np.random.default_rng([world.seed, 7])
    g = world.grid
    campaigns = campaign_years(world.base_year, world.end_year, remeasure_every_yr) if remeasure_every_yr else None
    plots = select_plots(units_l2, ft0, world.size, world.end_year, world.mid_survey_year, rng, campaigns)
    progress(f"Tallying trees on {len(plots)} plot visits")
    plot_rows, truth_rows, tree_frames = [], [], []
    meta = {}
    histories = pixel_histories(world, plots["row"].to_numpy(), plots["col"].to_numpy())
    for p, hist in zip(plots.itertuples(index=False), histories):
        yr = int(p.survey_year)
        agc = float(hist[("agc", yr)])
        ft = int(hist[("forest_type", yr)])
        sp = int(hist[("stand_species", yr)])
        age = float(hist[("age", yr)])
        latin = bool(rng.uniform() < 0.25)
        trees, agc_tally = tally_plot(p.plot_id, agc, sp, ft, age, PLOT_SIDE_M, carbon, rng, latin=latin)
        tree_frames.append(trees)
        x = g.x0_m + (p.col + 0.5) * g.pixel_m
        y = g.y0_m - (p.row + 0.5) * g.pixel_m
        plot_rows.append({"plot_id": p.plot_id, "x": x, "y": y, "survey_year": yr, "size_m": PLOT_SIDE_M,
                          "forest_type": ft, "slope_deg": round(float(hist[("slope",)]), 1),
                          **({"permanent_id": p.permanent_id} if campaigns else {})})
        truth_rows.append({"plot_id": p.plot_id, "permanent_id": p.permanent_id, "survey_year": yr,
                           "agc_truth_t_ha": round(agc, 4),
                           "agc_tally_t_ha": round(agc_tally, 4), "unit_level1": int(p.unit_level2) // 10,
                           "unit_level2": int(p.unit_level2), "n_trees": len(trees),
                           "stand_species": BY_CODE[sp].name_zh if sp else "", "stand_age_yr": round(age, 1),
                           "row": int(p.row), "col": int(p.col)})
        meta[p.plot_id] = (hist, sp, ft, age, latin, yr)
    trees_all = pd.concat(tree_frames, ignore_index=True) if tree_frames else pd.DataFrame(columns=TREE_COLUMNS)
    plots_df = pd.DataFrame(plot_rows)
    truth_df = pd.DataFrame(truth_rows)
    inp, tru = out / "inputs", out / "truth"
    write_table(plots_df, inp / "field" / "plots.csv")
    write_table(trees_all[["plot_id", "tree_id", "species", "dbh_cm", "height_m"]], inp / "field" / "trees.csv")
    write_table(truth_df, tru / "plots_truth.csv")

    # TLS plots: end-year forest plots with a workable number of trees, of different forest types
    n_tls = 2 if world.size == "tiny" else 3
    counts = truth_df.set_index("plot_id")["n_trees"]
    def tls_candidates(lo: int, hi: int) -> list[str]:
        ids = [pid for pid, (_, sp, ft, _, _, yr) in meta.items()
               if yr == world.end_year and ft > 0 and lo <= counts[pid] <= hi]
        return [ids[i] for i in rng.permutation(len(ids))]

    cands = tls_candidates(15, 50)  # scans of big plots take long to simulate
    cands += [c for c in tls_candidates(5, 1000) if c not in cands]
    chosen, types = [], set()
    for pid in cands:
        if meta[pid][2] not in types:
            chosen.append(pid)
            types.add(meta[pid][2])
        if len(chosen) == n_tls:
            break
    for pid in cands:
        if len(chosen) == n_tls:
            break
        if pid not in chosen:
            chosen.append(pid)
    chosen.sort()
    laz_written = 0
    tally_frames = []
    scans = []
    with ThreadPoolExecutor(2) as pool:
        for k, pid in enumerate(chosen):
            hist, sp, ft, age, latin, _ = meta[pid]
            trees = trees_all[trees_all.plot_id == pid]
            n_out = int(rng.integers(3, 7))
            esp, edbh, eh = draw_trees(n_out, sp, ft, age, rng, scale_cm=float(trees.dbh_cm.mean()))
            side = rng.uniform(PLOT_SIDE_M / 2 + 0.5, PLOT_SIDE_M / 2 + 4.0, n_out) * rng.choice([-1, 1], n_out)
            along = rng.uniform(-PLOT_SIDE_M / 2 - 4.0, PLOT_SIDE_M / 2 + 4.0, n_out)
            horizontal = rng.uniform(size=n_out) < 0.5
            ex = np.where(horizontal, side, along)
            ey = np.where(horizontal, along, side)
            extra = pd.DataFrame({
                "tree_id": [f"{pid}-X{j + 1:02d}" for j in range(n_out)],
                "x_local_m": np.round(ex, 2), "y_local_m": np.round(ey, 2),
                "species": [LATIN_ON_SHEETS[BY_CODE[s].name_zh] if latin else BY_CODE[s].name_zh for s in esp],
                "dbh_cm": edbh, "height_m": eh})
            scan_trees = pd.concat([trees[["tree_id", "x_local_m", "y_local_m", "species", "dbh_cm", "height_m"]],
                                    extra], ignore_index=True)
            write_table(scan_trees, tru / f"tls_trees_{pid}.csv")
            try:
                from .tls import simulate_tls_scan
            except ImportError:
                simulate_tls_scan = None
            if simulate_tls_scan is not None:  # each scan seeded by its own number: in threads, written below
                scans.append((pid, pool.submit(simulate_tls_scan, scan_trees, float(hist[("slope",)]),
                                               float(hist[("aspect",)]), int(world.seed) * 1000 + k)))
            if k < (1 if world.size == "tiny" else 2):
                t = trees[["plot_id", "tree_id", "species", "dbh_cm", "height_m", "x_local_m", "y_local_m"]].copy()
                t["dbh_cm"] = np.round(t["dbh_cm"] + rng.normal(0.0, TLS_DBH_SD_CM, len(t)), 1)
                t["height_m"] = np.round(np.maximum(t["height_m"] + rng.normal(0.0, TLS_HEIGHT_SD_M, len(t)), 1.5), 1)
                t["x_local_m"] = np.round(t["x_local_m"], 1)
                t["y_local_m"] = np.round(t["y_local_m"], 1)
                tally_frames.append(t)
        for pid, scan in scans:
            with atomic_path(inp / "tls" / f"{pid}.laz") as tmp:
                scan.result().write(str(tmp))
            laz_written += 1
    tally = pd.concat(tally_frames, ignore_index=True) if tally_frames else pd.DataFrame(
        columns=["plot_id", "tree_id", "species", "dbh_cm", "height_m", "x_local_m", "y_local_m"])
    write_table(tally, inp / "field" / "tally.csv")
    return {"plots": len(plots_df), "permanent_plots": int(plots["permanent_id"].nunique()),
            "campaigns": sorted(int(v) for v in plots_df["survey_year"].unique()) if len(plots_df) else [],
            "plots_with_trees": int((truth_df.n_trees > 0).sum()),
            "trees": len(trees_all), "plots_mid_campaign": int((plots_df.survey_year != world.end_year).sum()),
            "tls_plots": chosen, "tls_laz_written": laz_written, "tally_trees": len(tally)}


def simulate(out_dir: str | Path, size: str = "small", seed: int = 0, start_year: int = 2005,
             end_year: int = 2024, progress: Progress | None = None,
             als_pulses_per_m2: float | None = ALS_PULSES_PER_M2,
             remeasure_every_yr: int | None = REMEASURE_EVERY_YR, classify: bool = False,
             forest_type_inputs: bool = True, flavour: str = "composites",
             classify_years: list[int] | None = None) -> Path:
    """Simulate a coal-mining area with known truth and write it to ``out_dir``.

    Parameters
    ----------
    out_dir : folder to write into (created; files already there are replaced).
    size : 'tiny' (64 px), 'small' (300 px), 'medium' (1000 px) or 'large' (5000 px);
        30 m pixels.
    seed : random seed; the output is identical for identical arguments.
    start_year, end_year : the simulated period (mining starts at ``start_year + 3``).
    progress : optional callable receiving one line of text per step.
    als_pulses_per_m2 : pulse density (pulses/m2) of the simulated airborne laser scan of
        the end year (``inputs/als/*.laz``, :mod:`.als`); ``None`` or 0 writes no scan.
    remeasure_every_yr : permanent plots, established in the base year and re-measured every this many
        years and in the end year (:mod:`.plots`); ``None`` or 0: one visit per plot, a third in a
        mid-period campaign and the rest in the end year.
    classify : also write what the classify stage needs: monthly composites of every year with cloud gaps
        (``inputs/series/LC08_SR_<year>-<MM>.tif``, DN 0 = cloud), labelled reference points of the base,
        mid-survey and end years (``inputs/reference_samples.gpkg``), an independent validation sample of the
        same years (``inputs/validation_points.gpkg``, :func:`_write_validation`) and a ``[classify]`` section.
    forest_type_inputs : name the forest-type maps in ``[inputs].forest_type`` (the maps are written either
        way); False (with ``classify``) makes a project whose forest-type maps come from the classify stage.
    flavour : 'composites' (default: yearly clear-sky composites in ``inputs/images``) or 'scenes'
        (Landsat Collection 2 Level-2 scenes with clouds in ``inputs/scenes``, :mod:`.scenes`; the
        clear-sky composites become the truth ``truth/clear_sky/``).
    classify_years : with ``classify``: the monthly composites and labelled points of these years only (the same
        files as a simulation of every year's; the points of a year that is no sample year are drawn after the
        others), and ``[classify].years`` names them. For the big scenes (20 years of 'large' are about 55 GB of
        series). A project that classifies only some years keeps its forest-type inputs (``forest_type_inputs``
        must be True; ``run = "always"``).

    Returns
    -------
    pathlib.Path
        The written project file ``out_dir/minecarbon.toml``.

    Raises
    ------
    ValueError
        Unknown size, a period shorter than two years, or ``classify_years`` outside the period, without
        ``classify`` or without ``forest_type_inputs``.
    """
    report = progress or _quiet
    if classify_years is not None:
        classify_years = sorted({int(y) for y in classify_years})
        if not classify:
            raise ValueError("classify_years needs classify=True")
        if not forest_type_inputs:
            raise ValueError("classify_years needs forest_type_inputs=True: the other stages need the forest-type "
                             "maps of every year, and the classify stage makes only those of classify_years")
        outside = [y for y in classify_years if not start_year <= y <= end_year]
        if outside or not classify_years:
            raise ValueError(f"classify_years {outside or classify_years} must be years of {start_year}-{end_year}")
    if flavour not in ("composites", "scenes"):
        raise ValueError(f"flavour must be 'composites' or 'scenes', not {flavour!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inp, tru = out / "inputs", out / "truth"
    report(f"Drawing the {size} world (seed {seed}, {start_year}-{end_year})")
    world = build_world(size, int(seed), int(start_year), int(end_year))
    report("Writing mining boundary, disturbance, planned blocks and reclamation")
    vec_counts = _write_vectors(world, inp)
    codes_tab = {"code": [s.code for s in SPECIES], "name_zh": [s.name_zh for s in SPECIES],
                 "name_latin": [s.name_latin for s in SPECIES]}
    if classify:  # the forest-type code of each species, for the classify stage's forest-type maps
        codes_tab["forest_type"] = [s.forest_class for s in SPECIES]
    write_table(pd.DataFrame(codes_tab), inp / "species_codes.csv")
    report("Writing climate grids")
    _write_climate(world, inp)
    als_params = AlsParams(pulses_per_m2=float(als_pulses_per_m2)) if als_pulses_per_m2 else None
    carbon = _tree_carbon()
    heights = DominantHeight(carbon)
    if not forest_type_inputs and not classify:
        raise ValueError("forest_type_inputs=False needs classify=True (the classify stage makes the maps)")
    with ThreadPoolExecutor(1) as pool:
        # the ALS survey needs only the world (each tile is seeded by its position): it runs in a second thread
        # beside the rasters and the field data, on the other core
        als = pool.submit(simulate_als, world, inp / "als", heights, als_params, report) \
            if als_params is not None else None
        sink = _write_rasters(world, out, report, heights, series=classify, series_years=classify_years)
        drawn: dict[int, np.ndarray] = {}
        n_samples = _write_samples(world, sink, inp, classify_years, drawn) if classify else 0
        units_l2 = sink.kept[("units_level2",)]
        ft0 = sink.kept[("forest_type", world.base_year)]
        field_counts = _field(world, units_l2, ft0, out, report, carbon, remeasure_every_yr)
        n_validation = 0
        if classify:
            pt = pd.read_csv(tru / "plots_truth.csv", usecols=["row", "col"])
            n_validation = _write_validation(world, sink, inp, drawn,
                                             (pt["row"] * world.grid.n_px + pt["col"]).to_numpy(np.int64),
                                             classify_years)
        als_counts: dict = {}
        if als is not None:
            summary = als.result()
            write_json(tru / "als_points.json", summary)
            als_counts = {"als_tiles": len(summary["tiles"]), "als_points": summary["points"]}
    scene_counts: dict = {}
    if flavour == "scenes":
        from .scenes import move_composites_to_truth, write_scenes

        clear_sky = move_composites_to_truth(inp / "images", tru / "clear_sky")
        scene_counts = write_scenes(lambda y: clear_sky / f"LC08_SR_{y}.tif", inp / "scenes", world.years,
                                    world.grid, world.seed, progress=report)
    codes, pix = np.unique(units_l2, return_counts=True)
    paths = {
        "boundary": "inputs/boundary.gpkg", "images": "inputs/images/LC08_SR_{year}.tif",
        "temperature": "inputs/climate/tmean_{year}.tif", "precipitation": "inputs/climate/prcp_{year}.tif",
        "dem": "inputs/dem.tif", "forest_type": "inputs/forest_type/forest_type_{year}.tif",
        "disturbance": "inputs/disturbance.gpkg", "planned": "inputs/planned_mining.gpkg",
        "reclamation": "inputs/reclamation.gpkg", "plots": "inputs/field/plots.csv",
        "trees": "inputs/field/trees.csv", "tls": "inputs/tls/*.laz", "tally": "inputs/field/tally.csv",
        "truth": "truth", "als": "inputs/als/*.laz" if als_params is not None else "",
        "scenes": "inputs/scenes" if flavour == "scenes" else "",
    }
    if not forest_type_inputs:
        paths["forest_type"] = ""
    settings: dict[str, dict[str, float]] = {}
    if als_params is not None:
        # CHM cells of about one first return each (pulses = first returns); finer cells would be pit-filled
        settings["lidar"] = {"chm_resolution_m": max(0.5, math.ceil(2.0 / math.sqrt(als_params.pulses_per_m2)) / 2.0)}
    if world.grid.n_px * world.grid.pixel_m < 3000.0:
        # spatial CV blocks of 1 km would hold every plot of an area this small in one or two groups
        settings["model"] = {"cv_block_m": 500.0}
    text = project_toml(f"Simulated mining area (seed {seed})", world.start_year, world.end_year, world.base_year,
                        world.mining_start_year, world.grid.crs, paths, ROBINIA_CF, ROBINIA_CF_SOURCE, settings)
    if classify:
        evergreen = ", ".join(f'"{s.code}"' for s in SPECIES if not s.deciduous)
        text += "\n".join([
            "[classify]",
            "# forest, leaf-habit and dominant-species maps from the images (docs/classify.md)",
            "series = \"inputs/series/LC08_SR_{year}-{month}.tif\"",
            "samples = \"inputs/reference_samples.gpkg\"",
            "validation = \"inputs/validation_points.gpkg\"  # independent simple random sample (truth labels)",
            "species_codes = \"inputs/species_codes.csv\"",
            f"evergreen = [{evergreen}]",
            *(["run = \"always\""] if forest_type_inputs else []),
            *([f"years = [{', '.join(str(y) for y in classify_years)}]"] if classify_years is not None else []),
            "block_m = 500.0  # suits the size of the simulated area" if world.grid.n_px * world.grid.pixel_m
            < 3000.0 else "block_m = 1000.0",
            ""])
    toml_path = atomic_write_text(out / "minecarbon.toml", text)
    load_config(toml_path)  # the simulator must write a valid project file
    write_json(tru / "scenario.json", {
        "generator": "minecarbon.scenario", "generator_version": GENERATOR_VERSION,
        "minecarbon_version": __version__, "seed": int(seed), "field_seed": world.field_seed, "size": size,
        "n_px": world.grid.n_px, "pixel_m": world.grid.pixel_m, "crs": world.grid.crs,
        "origin_x_m": world.grid.x0_m, "origin_y_m": world.grid.y0_m,
        "start_year": world.start_year, "end_year": world.end_year, "base_year": world.base_year,
        "years": world.years, "mining_start_year": world.mining_start_year,
        "mid_survey_year": world.mid_survey_year,
        "clearing_year": world.layout.clearing_year, "afforestation_year": world.layout.afforestation_year,
        "afforestation_species": world.layout.afforestation_species,
        "forest_share_base": float((ft0 > 0).mean()),
        "units_level2_pixels": {str(int(c)): int(n) for c, n in zip(codes, pix)},
        "counts": {**vec_counts, **field_counts, **als_counts,
                   **scene_counts, **({"reference_samples": n_samples, "validation_points": n_validation} if classify else {})},
        "flavour": flavour,
    })
    report(f"Done: {toml_path}")
    return toml_path

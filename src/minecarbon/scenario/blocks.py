"""Per-window simulation: every raster of the scenario for one window of the grid.

:func:`simulate_window` evaluates terrain, land cover, mining history, stand
growth, the sensor and the assessment-unit truth for one rectangular window
and hands each result to a callback as soon as it is ready.  Everything
per-pixel is a function of coordinates (:mod:`.noise`) or of the vector layout
burned into the window (pixel centres, as the assessment does), so a window's
values do not depend on how the scene is cut into windows.

Assessment-unit truth (docs/scenario.md) inside the monitoring area M
(boundary + 300 m, pixel centres), with F0/F1 = forest in the base/end year,
D = disturbed by the end year, R = reclaimed by the end year, P = in a planned
block:

1. R -> 4 reclaimed, damage type of the reclamation polygon;
2. else D and F0 -> 3 damaged, damage type of the disturbance
   (precedence excavation > occupation > subsidence);
3. else P and F0 -> 2 to-be-damaged, damage type of the planned block;
4. else F0 and F1 -> 1 persistent;
5. else F0 xor F1 -> 5 other disturbance;
6. else 0.

Level 2 = 10 * level 1 + damage code (1 excavation, 2 subsidence,
3 occupation, 0 none); 0 outside M.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np
from rasterio.features import rasterize
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from .growth import (
    FOREST_MIN_AGC_T_HA,
    RECLAIMED_SITE_FACTOR,
    StandState,
    subsidence_factor,
)
from .landscape import NONFOREST, SPARSE, landscape
from .noise import fbm
from .sensor import (
    BG_BARE,
    BG_DRY,
    BG_DUMP,
    BG_FARMLAND,
    BG_PIT,
    BG_RECLAIMED,
    BG_UNDERSTORY,
    GREEN_CROP,
    GREEN_DECIDUOUS,
    SUN_AZIMUTH_DEG,
    SUN_AZIMUTH_MONTH_DEG,
    SUN_ELEVATION_DEG,
    SUN_ELEVATION_MONTH_DEG,
    canopy_table,
    cloud_mask,
    ground_table,
    reflectance,
    to_dn,
    uniform_noise,
)
from .species import BY_CODE, BY_NAME
from .terrain import elevation, illumination, slope_aspect
from .world import World

DAMAGE_CODES = {"excavation": 1, "subsidence": 2, "occupation": 3}
"""Level-2 damage codes (GB/T 43935-2024 types)."""
Emit = Callable[[tuple, np.ndarray], None]


def _burn(shapes: list, shape: tuple[int, int], transform, dtype: str, fill: float = 0) -> np.ndarray:
    """Burn (geometry, value) pairs at pixel centres; geometries off the window are skipped first."""
    left, top = transform.c, transform.f
    right, bottom = left + transform.a * shape[1], top + transform.e * shape[0]
    shapes = [(g, v) for g, v in shapes
              if not (g.bounds[0] > right or g.bounds[2] < left or g.bounds[1] > top or g.bounds[3] < bottom)]
    if not shapes:
        return np.full(shape, fill, dtype=dtype)
    return rasterize(shapes, out_shape=shape, transform=transform, fill=fill, dtype=dtype)


def _class_of(codes: np.ndarray) -> np.ndarray:
    table = np.zeros(8, dtype=np.uint8)
    for c, s in BY_CODE.items():
        table[c] = s.forest_class
    return table[np.asarray(codes, dtype=np.int64)]


def burn_layout(world: World, window: Window) -> dict[str, np.ndarray]:
    """The mine history burned into a window (pixel centres).

    Returns arrays: exc_year, occ_year, sub_year (0 = none), sub_loss, sub_dur,
    rec_year, rec_species (code), rec_type, dist_type, plan_type (damage codes
    with precedence excavation > occupation > subsidence), in_m (monitoring
    area), clearing, afforestation (bool, before masking by forest).
    """
    lay = world.layout
    shape = (int(window.height), int(window.width))
    tr = window_transform(window, world.grid.transform)
    dist = lay.disturbance
    out: dict[str, np.ndarray] = {}
    for kind, key in (("excavation", "exc_year"), ("occupation", "occ_year")):
        d = dist[dist.damage_type == kind].sort_values("year", ascending=False)
        out[key] = _burn([(g, int(y)) for g, y in zip(d.geometry, d.year)], shape, tr, "int32")
    sub = dist[dist.damage_type == "subsidence"].sort_values("year", ascending=False)
    idx = _burn([(g, i + 1) for i, g in enumerate(sub.geometry)], shape, tr, "int32")
    years = np.concatenate([[0], sub.year.to_numpy(dtype=np.int64)])
    loss = np.concatenate([[0.0], sub.loss_frac.to_numpy(dtype=float)])
    dur = np.concatenate([[1.0], sub.duration_yr.to_numpy(dtype=float)])
    out["sub_year"] = years[idx]
    out["sub_loss"] = loss[idx]
    out["sub_dur"] = dur[idx]
    rec = lay.reclamation.sort_values("year", ascending=False)
    out["rec_year"] = _burn([(g, int(y)) for g, y in zip(rec.geometry, rec.year)], shape, tr, "int32")
    out["rec_species"] = _burn([(g, BY_NAME[s].code) for g, s in zip(rec.geometry, rec.species)],
                               shape, tr, "int32")
    out["rec_type"] = _burn([(g, DAMAGE_CODES[t]) for g, t in zip(rec.geometry, rec.damage_type)],
                            shape, tr, "uint8")
    order = ("subsidence", "occupation", "excavation")  # later burns win
    out["dist_type"] = _burn([(g, DAMAGE_CODES[t]) for kind in order
                              for g, t in zip(dist.geometry[dist.damage_type == kind],
                                              dist.damage_type[dist.damage_type == kind])], shape, tr, "uint8")
    plan = lay.planned
    out["plan_type"] = _burn([(g, DAMAGE_CODES[t]) for kind in order
                              for g, t in zip(plan.geometry[plan.damage_type == kind],
                                              plan.damage_type[plan.damage_type == kind])], shape, tr, "uint8")
    out["in_m"] = _burn([(lay.monitoring_area, 1)], shape, tr, "uint8").astype(bool)
    out["clearing"] = _burn([(lay.clearing, 1)], shape, tr, "uint8").astype(bool)
    out["afforestation"] = _burn([(lay.afforestation, 1)], shape, tr, "uint8").astype(bool)
    return out


def unit_truth(in_m: np.ndarray, f0: np.ndarray, f1: np.ndarray, dist_type: np.ndarray, rec_type: np.ndarray,
               plan_type: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Level-1 and level-2 assessment units (uint8) from the masks (rules in the module docstring)."""
    d = dist_type > 0
    r = rec_type > 0
    p = plan_type > 0
    l1 = np.zeros(f0.shape, dtype=np.uint8)
    code = np.zeros(f0.shape, dtype=np.uint8)
    rest = in_m.copy()
    for level, mask, dcode in ((4, r, rec_type), (3, d & f0, dist_type), (2, p & f0, plan_type),
                               (1, f0 & f1, None), (5, f0 ^ f1, None)):
        sel = rest & mask
        l1[sel] = level
        if dcode is not None:
            code[sel] = dcode[sel]
        rest &= ~sel
    l2 = np.where(l1 > 0, 10 * l1 + code, 0).astype(np.uint8)
    return l1, l2


def simulate_window(world: World, window: Window, emit: Emit, images: bool = True,
                    monthly: bool = True, series: bool = False, series_years: Collection[int] | None = None) -> None:
    """Simulate one window and call ``emit(key, array)`` for each result.

    Keys: ``("dem",)`` elevation (m, float32); ``("slope",)``, ``("aspect",)`` (deg);
    ``("species",)`` base-year dominant species (uint8); ``("agc", year)`` and
    ``("agc_nomining", year)`` AGC (t C/ha, float32); ``("forest_type", year)``
    (uint8); ``("age", year)`` and ``("stand_species", year)`` of the current
    stand; ``("image", year)`` DN (6, h, w) uint16 when ``images``;
    ``("image_month", month)`` for the end year when ``monthly``; ``("image_series", year, month)`` DN with
    clouds as 0 (:func:`.sensor.cloud_mask`) for every year when ``series`` (only the years in ``series_years``
    when given: each year's series depends on that year alone, so they equal those of every year's);
    ``("units_level1",)``, ``("units_level2",)`` (uint8).
    """
    g = world.grid
    seed = world.field_seed
    r0, c0 = int(window.row_off), int(window.col_off)
    h, w = int(window.height), int(window.width)
    rows = np.arange(r0, r0 + h)[:, None].repeat(w, 1)
    cols = np.arange(c0, c0 + w)[None, :].repeat(h, 0)
    xh, yh = np.meshgrid(g.x_centres(c0 - 1, w + 2), g.y_centres(r0 - 1, h + 2))
    zh = elevation(xh, yh, seed)
    z = zh[1:-1, 1:-1]
    x, y = xh[1:-1, 1:-1], yh[1:-1, 1:-1]
    slope, aspect = slope_aspect(zh, g.pixel_m)
    emit(("dem",), z.astype(np.float32))
    emit(("slope",), slope.astype(np.float32))
    emit(("aspect",), aspect.astype(np.float32))
    ls = landscape(x, y, z, slope, aspect, world.params, g.pixel_m, seed)
    emit(("species",), ls.species)
    ft0 = ls.forest_type
    cl = world.climate
    cy, cx = cl.cells(rows, cols)
    pclim = cl.pclim_mm[cy, cx]
    site = ls.site * (pclim / 500.0) ** 0.6 * ls.pixel_factor
    lay = burn_layout(world, window)
    clear_mask = lay["clearing"] & (ft0 > 0)
    aff_mask = lay["afforestation"] & (ft0 == 0)
    aff_code = BY_NAME[world.layout.afforestation_species].code
    aff_species = np.full((h, w), aff_code)
    nm = StandState.initial(ls.species, ls.age0_yr, site)
    mi = nm.copy()
    base_ground = np.where(ft0 == SPARSE, BG_DRY, np.where(ft0 > NONFOREST, BG_UNDERSTORY, BG_FARMLAND))
    rec_class = _class_of(lay["rec_species"])
    aff_class = BY_CODE[aff_code].forest_class
    illum = illumination(slope, aspect, SUN_ELEVATION_DEG, SUN_AZIMUTH_DEG)
    brightness = 1.0 + 0.08 * fbm(x, y, 300.0, 2, seed, 80)
    texture = uniform_noise(cols, rows, seed, 90, 0.003)
    canopy = canopy_table(None)
    grounds = ground_table(1.0, 1.0)
    ft_first = ft_last = None
    for yi, year in enumerate(world.years):
        mult = cl.growth_mult[yi][cy, cx]
        if yi > 0:
            nm.grow(mult)
            mi.grow(mult)
        cleared = clear_mask & (year >= world.layout.clearing_year)
        for state in (nm, mi):
            if year == world.layout.clearing_year:
                state.remove(clear_mask)
            if year == world.layout.afforestation_year:
                state.plant(aff_mask, aff_species, ls.site * (pclim / 500.0) ** 0.6 * ls.pixel_factor)
        mi.remove((lay["exc_year"] == year) | (lay["occ_year"] == year))
        mi.plant(lay["rec_year"] == year, lay["rec_species"],
                 RECLAIMED_SITE_FACTOR * (pclim / 500.0) ** 0.6 * ls.pixel_factor)
        subs = subsidence_factor(year, lay["sub_year"], lay["sub_loss"], lay["sub_dur"])
        agc = mi.agc_t_ha * subs
        emit(("agc", year), agc.astype(np.float32))
        emit(("agc_nomining", year), nm.agc_t_ha.astype(np.float32))
        emit(("age", year), mi.age_yr)
        emit(("stand_species", year), mi.species)
        # forest type of the year
        excavated = (lay["exc_year"] > 0) & (lay["exc_year"] <= year)
        occupied = (lay["occ_year"] > 0) & (lay["occ_year"] <= year)
        reclaimed = (lay["rec_year"] > 0) & (lay["rec_year"] <= year)
        afforested = aff_mask & (year >= world.layout.afforestation_year)
        ft = ft0.copy()
        ft[cleared] = NONFOREST
        ft[afforested & (agc > FOREST_MIN_AGC_T_HA)] = aff_class
        ft[excavated | occupied] = NONFOREST
        grown = reclaimed & (agc > FOREST_MIN_AGC_T_HA)
        ft[grown] = rec_class[grown]
        emit(("forest_type", year), ft)
        if yi == 0:
            ft_first = ft
        ft_last = ft
        if not (images or monthly or series):
            continue
        ground = base_ground.copy()
        ground[cleared] = BG_BARE
        ground[afforested] = BG_RECLAIMED
        ground[excavated] = BG_PIT
        ground[occupied] = BG_DUMP
        ground[reclaimed] = BG_RECLAIMED
        if images:
            nir_scale = 1.0 + 0.15 * (cl.prcp_mm[yi][cy, cx] / pclim - 1.0)
            noise = texture + uniform_noise(cols, rows, seed, 100 + yi, 0.003)
            rho = reflectance(agc, mi.species, ground, illum, brightness, world.year_gain[yi], canopy, grounds,
                              nir_scale, noise)
            emit(("image", year), to_dn(rho))
        if monthly and year == world.end_year:
            for m in range(1, 13):
                ill_m = illumination(slope, aspect, SUN_ELEVATION_MONTH_DEG[m - 1], SUN_AZIMUTH_MONTH_DEG[m - 1])
                noise = texture + uniform_noise(cols, rows, seed, 200 + m, 0.003)
                rho = reflectance(agc, mi.species, ground, ill_m, brightness, world.month_gain[m - 1],
                                  canopy_table(m), ground_table(GREEN_DECIDUOUS[m - 1], GREEN_CROP[m - 1]), 1.0,
                                  noise)
                emit(("image_month", m), to_dn(rho))
        if series and (series_years is None or year in series_years):
            nir_y = 1.0 + 0.15 * (cl.prcp_mm[yi][cy, cx] / pclim - 1.0)
            for m in range(1, 13):
                ill_m = illumination(slope, aspect, SUN_ELEVATION_MONTH_DEG[m - 1], SUN_AZIMUTH_MONTH_DEG[m - 1])
                noise = texture + uniform_noise(cols, rows, seed, 400 + 12 * yi + m, 0.003)
                rho = reflectance(agc, mi.species, ground, ill_m, brightness,
                                  world.month_gain[m - 1] * world.year_gain[yi], canopy_table(m),
                                  ground_table(GREEN_DECIDUOUS[m - 1], GREEN_CROP[m - 1]), nir_y, noise)
                dn = to_dn(rho)
                dn[:, cloud_mask(x, y, seed, yi, m)] = 0
                emit(("image_series", year, m), dn)
    l1, l2 = unit_truth(lay["in_m"], ft_first > 0, ft_last > 0, lay["dist_type"], lay["rec_type"],
                        lay["plan_type"])
    emit(("units_level1",), l1)
    emit(("units_level2",), l2)

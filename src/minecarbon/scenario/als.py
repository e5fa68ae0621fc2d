"""Simulated airborne laser scan (ALS) of the end year.

This is a *simulator*: it makes point clouds that look like a leaf-on
discrete-return ALS survey of the simulated mining area and whose heights
follow the simulated stands, so that the lidar code (CHM, treetops, canopy
metrics) can be checked against known truth.  None of the numbers below is a
fitted or published model; they are plausible choices of this simulator.

What is derived from what
-------------------------
Per pixel (the end-year stand state of :func:`.blocks.simulate_window`:
``stand_species``, ``age``, ``agc`` (with the subsidence loss) and
``forest_type``), with the same stand model as the simulated tree tallies
(:mod:`.trees`):

* stem density ``N`` (trees/ha) = ``clip(2200 exp(-0.025 age), 450, 2500)``,
  times 0.35 in sparse forest (:func:`.trees.stem_density_per_ha` without its
  random factor);
* the Weibull DBH scale whose expected tree AGC times ``N`` gives the pixel's
  AGC (the tallies' :func:`.trees.solve_dbh_scale`, here read off a table of
  the expected tree AGC against the scale, per species / mixed / young);
* the **dominant height** ``H_dom`` (m, written to
  ``truth/canopy_height_<end_year>.tif``): the species' height-diameter curve
  at the DBH quantile ``1 - 0.5 min(1, 100 / N)`` of the truncated Weibull
  (the median of the 100 largest trees per hectare: the usual "top height"
  idea).  0 where there is no stand or its AGC is below
  :data:`.trees.MIN_AGC_FOR_TREES_T_HA` (no trees in a tally either).

Crowns: each stocked pixel is cut into ``m x m`` cells (``m`` = round(sqrt(N
x pixel area)), at least 1); each cell holds one tree at a jittered position
(jitter +-40 % of the cell), DBH from the truncated Weibull (a hashed
quantile), height from the species' height-diameter curve times a log-normal
error (sd 8 %, as the tallies), crown radius ``min(cell side, 0.6 m + 0.12 m/cm
x DBH)``, crown length 60 % (coniferous) or 50 % (broadleaf) of the height, a
cone (coniferous) or a paraboloid (broadleaf).  Every random per-tree value is
a hash of the pixel and cell numbers (:mod:`.noise`), so a crown is the same
whichever tile or window generates it.  Crowns stay inside their pixel.

Pulses: a jittered square lattice of ``pulses_per_m2`` (line spacing
``1/sqrt(density)``, uniform jitter of one spacing), line by line.  Each pulse
gives

* on a crown: a first return on the crown surface (the highest crown over the
  point), a second return inside that crown with probability 0.5 (uniform
  between the crown base and the first return), and a last return on the
  ground with probability 0.3 (gaps in the crown);
* on non-forest land that is not pit or dump (farmland, grass, cleared
  land): a low-vegetation return 0.05-0.6 m above ground with probability
  0.4, then a ground return;
* elsewhere (pits, dumps, gaps): one ground return.

Ground returns (class 2) lie on the DEM: bilinear interpolation between pixel
centres of ``inputs/dem.tif`` (float32 values; beyond the outermost centres
the same terrain function supplies the neighbouring values), plus N(0, 0.05 m)
range noise; vegetation returns (class 1) are the ground there plus the
height, plus the same noise.  ``return_number`` / ``number_of_returns`` are
filled per pulse.  Intensity, scan angle and GPS time are not simulated (0).

Tiles: 1 km x 1 km squares on the kilometre grid of the CRS that intersect
the monitoring area (boundary + 300 m), clipped to the scene, written as LAS
1.4 point format 6 LAZ with the project CRS (WKT) in the header, named
``als_<E km>_<N km>.laz`` after their lower-left corner.  Each tile is
generated on its own (its own random stream seeded with the scenario seed and
the tile's corner; the stand state of a 1 km strip at a time), so memory does
not grow with the scene.
"""

from __future__ import annotations

import datetime
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import laspy
import numba
import numpy as np
from pyproj import CRS
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from ..io import atomic_path
from .blocks import _burn, simulate_window
from .landscape import MIXED, SPARSE
from .noise import hash_u64
from .species import POPLAR, ROBINIA, SPECIES, lookup
from .terrain import elevation
from .trees import (
    MIN_AGC_FOR_TREES_T_HA,
    TreeCarbon,
    _lower_dbh_cm,
    _species_mix,
    _truncated_weibull_quantiles,
    _weibull_shape,
)
from .world import World

log = logging.getLogger(__name__)

__all__ = ["ALS_PULSES_PER_M2", "AlsParams", "CanopyTap", "DominantHeight", "als_tiles", "simulate_als"]

ALS_PULSES_PER_M2 = 0.1
"""Default pulse density (pulses/m2): low, so that the ``small`` scene's survey (~49 km2) stays ~20 MB
and a few seconds; about 1.6 returns per pulse (the totals are in ``truth/als_points.json``)."""
DBH_MAX_CM = 60.0
YOUNG_AGE_YR = 15.0
_SCALES_CM = np.exp(np.linspace(np.log(1.5), np.log(45.0), 96))


@dataclass(frozen=True)
class AlsParams:
    """Settings of the simulated ALS survey (defaults: this simulator's choices).

    Attributes
    ----------
    pulses_per_m2 : pulse density (pulses per m2).
    tile_m : tile side (m), tiles on multiples of it in the CRS.
    ground_sd_m : vertical range noise of every return (m, SD).
    p_second : probability of a second (inner-crown) return of a canopy pulse.
    p_ground_under_canopy : probability that a canopy pulse also reaches the ground.
    p_low_vegetation : probability of a low-vegetation return on open non-forest land.
    low_vegetation_m : height range (m) of those returns.
    """

    pulses_per_m2: float = ALS_PULSES_PER_M2
    tile_m: float = 1000.0
    ground_sd_m: float = 0.05
    p_second: float = 0.5
    p_ground_under_canopy: float = 0.3
    p_low_vegetation: float = 0.4
    low_vegetation_m: tuple[float, float] = (0.05, 0.6)

    def __post_init__(self) -> None:
        if not (0.0 < self.pulses_per_m2 <= 100.0):
            raise ValueError(f"ALS pulse density {self.pulses_per_m2} pulses/m2 is outside (0, 100]")
        if not (30.0 <= self.tile_m <= 10_000.0):
            raise ValueError(f"ALS tile side {self.tile_m} m is outside 30-10000 m")


# -- stands -> dominant height and crown lattice --------------------------------------------------

def _hd_curve(codes: np.ndarray, dbh_cm: np.ndarray) -> np.ndarray:
    """Species height-diameter curve (m), vectorised over species codes (:mod:`.species`)."""
    hmax = lookup(codes, "hmax_m", 1.3)
    b = lookup(codes, "hd_b", 0.05)
    c = lookup(codes, "hd_c", 1.0)
    return 1.3 + (hmax - 1.3) * (1.0 - np.exp(-b * dbh_cm)) ** c


def stem_density_per_ha(age_yr: np.ndarray, forest_type: np.ndarray) -> np.ndarray:
    """Expected stem density (trees/ha): :func:`.trees.stem_density_per_ha` without its random factor."""
    n = np.clip(2200.0 * np.exp(-0.025 * np.asarray(age_yr, dtype=np.float64)), 450.0, 2500.0)
    return np.where(np.asarray(forest_type) == SPARSE, 0.35 * n, n)


class DominantHeight:
    """Per-pixel stand structure (DBH scale, dominant height) from species, age, AGC and forest type.

    The Weibull DBH scale is the one the tree tallies solve for
    (:func:`.trees.solve_dbh_scale`: expected tree AGC, kg C, times stem
    density = pixel AGC), found here by interpolation in a table of the
    expected tree AGC at 96 scales (1.5-45 cm, log-spaced), built once per
    (dominant species, mixed forest or not, young stand or not).

    Parameters
    ----------
    carbon : the tallies' allometry (species equations and carbon fractions).
    """

    def __init__(self, carbon: TreeCarbon) -> None:
        self._carbon = carbon
        self._tables: dict[tuple[int, bool, bool], np.ndarray] = {}

    def _table(self, dominant: int, mixed: bool, young: bool) -> np.ndarray:
        key = (dominant, mixed, young)
        if key not in self._tables:
            age = 1.0 if young else YOUNG_AGE_YR + 1.0
            codes, probs = _species_mix(dominant, MIXED if mixed else 1, age)
            w = np.asarray(probs) / np.sum(probs)
            shape = _weibull_shape(dominant, age)
            p = (np.arange(40) + 0.5) / 40.0
            sp = np.repeat(codes, p.size)
            weights = np.repeat(w, p.size) / p.size
            means = np.empty(_SCALES_CM.size)
            for i, scale in enumerate(_SCALES_CM):
                d = np.tile(_truncated_weibull_quantiles(p, float(scale), shape, _lower_dbh_cm(float(scale))),
                            len(codes))
                means[i] = float(np.sum(self._carbon.agc_kg(sp, d, _hd_curve(sp, d)) * weights))
            self._tables[key] = np.maximum.accumulate(means)
        return self._tables[key]

    def structure(self, species: np.ndarray, age_yr: np.ndarray, agc_t_ha: np.ndarray,
                  forest_type: np.ndarray) -> dict[str, np.ndarray]:
        """Stand structure per pixel.

        Parameters
        ----------
        species : stand species code (0 none).
        age_yr : stand age (yr).
        agc_t_ha : AGC (t C/ha).
        forest_type : forest type of the same year (4 sparse: fewer stems).

        Returns
        -------
        dict of arrays (the input shape): ``stocked`` (bool: trees stand here),
        ``density_per_ha`` (trees/ha), ``scale_cm`` (Weibull DBH scale),
        ``shape`` (Weibull shape), ``lo_cm`` (lower DBH truncation),
        ``height_m`` (dominant height; 0 where not stocked).
        """
        sp = np.asarray(species, dtype=np.int64)
        age = np.asarray(age_yr, dtype=np.float64)
        agc = np.asarray(agc_t_ha, dtype=np.float64)
        ft = np.asarray(forest_type)
        stocked = (sp > 0) & (agc >= MIN_AGC_FOR_TREES_T_HA)
        density = stem_density_per_ha(age, ft)
        tree_kg = np.where(stocked, agc * 1000.0 / density, 0.0)
        young = age < YOUNG_AGE_YR
        scale = np.full(sp.shape, _SCALES_CM[0])
        for code in np.unique(sp[stocked]):
            for mixed in (False, True):
                for yg in (False, True):
                    sel = stocked & (sp == code) & ((ft == MIXED) == mixed) & (young == yg)
                    if not sel.any():
                        continue
                    table = self._table(int(code), mixed, yg)
                    scale[sel] = np.exp(np.interp(np.log(tree_kg[sel]), np.log(table), np.log(_SCALES_CM)))
        shape = np.where(np.isin(sp, (ROBINIA, POPLAR)) | young, 3.0, 2.0)  # _weibull_shape, vectorised
        lo = np.where(scale >= 10.0, 5.0, 1.0)                       # _lower_dbh_cm, vectorised
        q = 1.0 - 0.5 * np.minimum(1.0, 100.0 / density)
        d_dom = _weibull_quantile(q, scale, shape, lo)
        height = np.where(stocked, _hd_curve(sp, d_dom), 0.0)
        return {"stocked": stocked, "density_per_ha": density, "scale_cm": scale, "shape": shape, "lo_cm": lo,
                "height_m": height}


def _weibull_quantile(q: np.ndarray, scale: np.ndarray, shape: np.ndarray, lo: np.ndarray,
                      hi: float = DBH_MAX_CM) -> np.ndarray:
    """Quantile ``q`` of a Weibull truncated to [lo, hi] (vectorised :func:`.trees._truncated_weibull_quantiles`)."""
    c_lo = 1.0 - np.exp(-(lo / scale) ** shape)
    c_hi = 1.0 - np.exp(-(hi / scale) ** shape)
    p = np.clip(c_lo + q * (c_hi - c_lo), 0.0, 1.0 - 1e-12)
    return scale * (-np.log1p(-p)) ** (1.0 / shape)


class CanopyTap:
    """Passes every ``(key, array)`` of :func:`.blocks.simulate_window` on, and adds ``("canopy_height",)``.

    When the end year's forest type arrives (the last end-year key), the
    dominant height (m, float32) of the window is computed from the end-year
    ``stand_species``, ``age`` and ``agc`` and emitted as
    ``("canopy_height",)``.
    """

    def __init__(self, emit: Callable[[tuple, np.ndarray], None], end_year: int, heights: DominantHeight) -> None:
        self._emit = emit
        self._end = end_year
        self._heights = heights
        self._got: dict[str, np.ndarray] = {}

    def __call__(self, key: tuple, array: np.ndarray) -> None:
        self._emit(key, array)
        if len(key) == 2 and key[1] == self._end and key[0] in ("agc", "age", "stand_species"):
            self._got[key[0]] = array
        elif key == ("forest_type", self._end):
            s = self._heights.structure(self._got["stand_species"], self._got["age"], self._got["agc"], array)
            self._got.clear()
            self._emit(("canopy_height",), s["height_m"].astype(np.float32))


# -- tiles ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tile:
    """One ALS tile: its name and its extent (m), clipped to the scene."""

    name: str
    ix: int
    iy: int
    xmin: float
    ymin: float
    xmax: float
    ymax: float


def als_tiles(world: World, tile_m: float = 1000.0) -> list[Tile]:
    """Tiles (multiples of ``tile_m`` in the CRS) that intersect the monitoring area, clipped to the scene.

    Ordered from north to south, west to east.
    """
    from shapely.geometry import box

    g = world.grid
    area = world.layout.monitoring_area
    minx, miny, maxx, maxy = area.bounds
    sx0, sy0, sx1, sy1 = g.bounds
    tiles = []
    for iy in range(math.floor(maxy / tile_m), math.floor(miny / tile_m) - 1, -1):
        for ix in range(math.floor(minx / tile_m), math.floor(maxx / tile_m) + 1):
            x0, y0 = max(ix * tile_m, sx0), max(iy * tile_m, sy0)
            x1, y1 = min((ix + 1) * tile_m, sx1), min((iy + 1) * tile_m, sy1)
            if x1 <= x0 or y1 <= y0 or not box(x0, y0, x1, y1).intersects(area):
                continue
            km = tile_m / 1000.0
            name = f"als_{ix * km:g}_{iy * km:g}.laz"
            tiles.append(Tile(name, ix, iy, x0, y0, x1, y1))
    return tiles


@dataclass
class _Strip:
    """End-year state of the pixels of one window (a row of tiles)."""

    row0: int
    col0: int
    dem_halo: np.ndarray  # (h + 2, w + 2) float64 of float32 DEM values, one pixel of halo
    structure: dict[str, np.ndarray]
    conifer: np.ndarray
    species: np.ndarray
    low_vegetation: np.ndarray  # bool: open non-forest land (low-vegetation returns)


def _strip(world: World, heights: DominantHeight, window: Window) -> _Strip:
    g = world.grid
    got: dict[tuple, np.ndarray] = {}
    end = world.end_year

    def grab(key: tuple, arr: np.ndarray) -> None:
        if key in (("agc", end), ("age", end), ("stand_species", end), ("forest_type", end)):
            got[key] = np.asarray(arr)

    simulate_window(world, window, grab, images=False, monthly=False)
    r0, c0, h, w = int(window.row_off), int(window.col_off), int(window.height), int(window.width)
    xh, yh = np.meshgrid(g.x_centres(c0 - 1, w + 2), g.y_centres(r0 - 1, h + 2))
    dem = elevation(xh, yh, world.field_seed).astype(np.float32).astype(np.float64)
    sp, ft = got[("stand_species", end)], got[("forest_type", end)]
    s = heights.structure(sp, got[("age", end)], got[("agc", end)], ft)
    dist = world.layout.disturbance
    bare = dist[dist.damage_type.isin(("excavation", "occupation")) & (dist.year <= end)]
    mined = _burn([(geom, 1) for geom in bare.geometry], (h, w), window_transform(window, g.transform),
                  "uint8").astype(bool)
    cls = np.zeros(len(SPECIES) + 1, dtype=bool)
    for spc in SPECIES:
        cls[spc.code] = spc.forest_class == 1
    return _Strip(r0, c0, dem, s, cls[np.asarray(sp, dtype=np.int64)], np.asarray(sp, dtype=np.int64),
                  ~s["stocked"] & ~mined)


def _bilinear(strip: _Strip, world: World, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """DEM (m) at points, bilinear between pixel centres (halo array of the strip)."""
    g = world.grid
    fc = (x - g.x0_m) / g.pixel_m - 0.5  # scene pixel-centre coordinates: independent of the strip
    fr = (g.y0_m - y) / g.pixel_m - 0.5
    j0 = np.floor(fc)
    i0 = np.floor(fr)
    tx, ty = fc - j0, fr - i0
    j0 = j0.astype(np.int64) - (strip.col0 - 1)
    i0 = i0.astype(np.int64) - (strip.row0 - 1)
    z = strip.dem_halo
    return ((z[i0, j0] * (1 - tx) + z[i0, j0 + 1] * tx) * (1 - ty)
            + (z[i0 + 1, j0] * (1 - tx) + z[i0 + 1, j0 + 1] * tx) * ty)


def _pulses(tile: Tile, density: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Jittered-lattice pulse positions in scan order (line by line, north to south)."""
    step = 1.0 / math.sqrt(density)
    xs = np.arange(tile.xmin, tile.xmax, step)
    ys = np.arange(tile.ymax, tile.ymin, -step)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    x = xx.ravel() + rng.uniform(0.0, step, xx.size)
    y = yy.ravel() - rng.uniform(0.0, step, yy.size)
    x, y = np.round(x, 2), np.round(y, 2)  # on the LAS coordinate lattice (0.01 m) from the start
    keep = (x < tile.xmax) & (y > tile.ymin) & (x >= tile.xmin) & (y <= tile.ymax)
    return x[keep], y[keep]


def _unit_fields(h: np.ndarray, k: int, bits: int = 12) -> np.ndarray:
    """The ``k``-th ``bits``-bit field of 64-bit hashes as U(0, 1) (centred bins)."""
    f = (h >> np.uint64(bits * k)) & np.uint64((1 << bits) - 1)
    return (f.astype(np.float64) + 0.5) / float(1 << bits)


def crown_table(world: World, strip: _Strip, r0: int, r1: int, c0: int, c1: int) -> dict[str, np.ndarray]:
    """The trees of the strip-relative pixels ``[r0, r1) x [c0, c1)`` (module docstring).

    Returns flat arrays: ``offset`` ((r1-r0)*(c1-c0) + 1, index of each pixel's
    first tree), ``m`` (cells per side per pixel, 0 unstocked), and per tree
    ``x``, ``y`` (m from the pixel's west / north edge), ``height_m``,
    ``radius_m``, ``length_m`` (crown length), ``conifer``.
    """
    g = world.grid
    s = strip.structure
    px = g.pixel_m
    sl = (slice(r0, r1), slice(c0, c1))
    stocked = s["stocked"][sl].ravel()
    m = np.maximum(1, np.rint(np.sqrt(s["density_per_ha"][sl].ravel() * px * px / 10_000.0))).astype(np.int64)
    m = np.where(stocked, m, 0)
    count = m * m
    offset = np.concatenate([[0], np.cumsum(count)])
    pix = np.repeat(np.arange(m.size), count)
    k = np.arange(pix.size) - offset[pix]
    mm = m[pix]
    ti, tj = k // mm, k % mm
    rows = np.repeat(np.arange(r0, r1)[:, None], c1 - c0, axis=1).ravel()[pix]
    cols = np.repeat(np.arange(c0, c1)[None, :], r1 - r0, axis=0).ravel()[pix]
    gid = (rows + strip.row0) * g.n_px + (cols + strip.col0)
    hsh = hash_u64(gid, k, world.field_seed, 501)
    cell = px / mm
    x = (ti + 0.5 + 0.8 * (_unit_fields(hsh, 0) - 0.5)) * cell
    y = (tj + 0.5 + 0.8 * (_unit_fields(hsh, 1) - 0.5)) * cell
    dbh = _weibull_quantile(_unit_fields(hsh, 2), s["scale_cm"][rows, cols], s["shape"][rows, cols],
                            s["lo_cm"][rows, cols])
    normal = np.sqrt(-2.0 * np.log(_unit_fields(hsh, 3))) * np.cos(2.0 * np.pi * _unit_fields(hsh, 4))
    sp = strip.species[rows, cols]
    height = np.maximum(_hd_curve(sp, dbh) * np.exp(0.08 * normal), 1.5)
    conifer = strip.conifer[rows, cols]
    return {"offset": offset, "m": m, "x": x, "y": y, "height_m": height,
            "radius_m": np.minimum(cell, 0.6 + 0.12 * dbh),
            "length_m": np.where(conifer, 0.6, 0.5) * height, "conifer": conifer}


@numba.njit(cache=True, nogil=True)
def _crown_kernel(u, v, p, m_px, first_px, tx, ty, radius, height, length, conifer, pixel_m):  # pragma: no cover
    """Highest crown surface over each pulse among the trees of the 3 x 3 cells around it (numba)."""
    n = u.size
    best = np.full(n, -1.0)
    base = np.zeros(n)
    for k in range(n):
        m = m_px[p[k]]
        if m == 0:
            continue
        cell = pixel_m / m
        ci = min(int(u[k] / cell), m - 1)
        cj = min(int(v[k] / cell), m - 1)
        f0 = first_px[p[k]]
        for ti in range(max(ci - 1, 0), min(ci + 2, m)):
            for tj in range(max(cj - 1, 0), min(cj + 2, m)):
                t = f0 + ti * m + tj
                d = math.hypot(u[k] - tx[t], v[k] - ty[t]) / radius[t]
                if d >= 1.0:
                    continue
                z = height[t] - length[t] * (d if conifer[t] else d * d)
                if z > best[k]:
                    best[k] = z
                    base[k] = height[t] - length[t]
    return best, base


def _crowns(strip: _Strip, world: World, row: np.ndarray, col: np.ndarray, u: np.ndarray,
            v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crown surface height (m above ground, -1 = no crown), crown base (m) and hit flag at pulses.

    ``row, col`` are the pixels (strip-relative), ``u, v`` the positions inside
    the pixel (m from its west and north edges).  A crown's radius never
    exceeds its cell, so only the trees of the 3 x 3 cells around a pulse
    can cover it.
    """
    if u.size == 0:
        return np.full(0, -1.0), np.zeros(0), np.zeros(0, dtype=bool)
    r0, r1 = int(row.min()), int(row.max()) + 1
    c0, c1 = int(col.min()), int(col.max()) + 1
    t = crown_table(world, strip, r0, r1, c0, c1)
    p = (row - r0) * (c1 - c0) + (col - c0)
    best, base = _crown_kernel(np.ascontiguousarray(u, dtype=np.float64), np.ascontiguousarray(v, dtype=np.float64),
                               p.astype(np.int64), t["m"], t["offset"], t["x"], t["y"], t["radius_m"],
                               t["height_m"], t["length_m"], t["conifer"], float(world.grid.pixel_m))
    return best, base, best > 0.0


def tile_points(world: World, strip: _Strip, tile: Tile, params: AlsParams) -> dict[str, np.ndarray]:
    """Returns of one tile: ``x``, ``y``, ``z`` (m), ``classification``, ``return_number``, ``number_of_returns``."""
    g = world.grid
    rng = np.random.default_rng([world.seed, 11, tile.ix + 1_000_000, tile.iy + 1_000_000])
    x, y = _pulses(tile, params.pulses_per_m2, rng)
    n = x.size
    col = np.clip(np.floor((x - g.x0_m) / g.pixel_m).astype(np.int64), 0, g.n_px - 1)
    row = np.clip(np.floor((g.y0_m - y) / g.pixel_m).astype(np.int64), 0, g.n_px - 1)
    u = x - (g.x0_m + col * g.pixel_m)
    v = (g.y0_m - row * g.pixel_m) - y
    row -= strip.row0
    col -= strip.col0
    ground = _bilinear(strip, world, x, y)
    top, base, hit = _crowns(strip, world, row, col, u, v)
    r1, r2, r3 = rng.uniform(size=(3, n))
    second = hit & (r1 < params.p_second)
    under = hit & (r2 < params.p_ground_under_canopy)
    lowveg = ~hit & strip.low_vegetation[row, col] & (r1 < params.p_low_vegetation)
    lv_lo, lv_hi = params.low_vegetation_m
    first_h = np.where(hit, top, np.where(lowveg, lv_lo + (lv_hi - lv_lo) * r3, 0.0))
    n_ret = (1 + second.astype(np.int64) + under.astype(np.int64) + lowveg.astype(np.int64)).astype(np.uint8)
    # second return: inside the crown, between its base and the first return
    bot = np.maximum(base, 0.0)
    h2 = bot + (top - bot) * rng.uniform(size=n)
    last_ground = lowveg | under
    # returns in pulse order: first at start, second at start + 1, ground last
    end = np.cumsum(n_ret, dtype=np.int64)
    start = end - n_ret
    total = int(end[-1]) if n else 0
    pid = np.repeat(np.arange(n), n_ret)
    hag = np.zeros(total)
    cls = np.full(total, 2, dtype=np.uint8)
    rn = np.empty(total, dtype=np.uint8)
    hag[start] = first_h
    cls[start] = np.where(hit | lowveg, 1, 2)
    rn[start] = 1
    hag[start[second] + 1] = h2[second]
    cls[start[second] + 1] = 1
    rn[start[second] + 1] = 2
    gi = end[last_ground] - 1
    hag[gi] = 0.0
    cls[gi] = 2
    rn[gi] = n_ret[last_ground]
    z = ground[pid] + hag + rng.normal(0.0, params.ground_sd_m, total)
    return {"x": x[pid], "y": y[pid], "z": z, "classification": cls, "return_number": rn,
            "number_of_returns": n_ret[pid]}


def _write_tile(path: Path, pts: dict[str, np.ndarray], crs: str, end_year: int) -> None:
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([math.floor(pts["x"].min()), math.floor(pts["y"].min()), 0.0]) if len(pts["x"]) \
        else np.zeros(3)
    header.system_identifier = "minecarbon simulated ALS"
    header.generating_software = "minecarbon.scenario.als"
    header.creation_date = datetime.date(end_year, 8, 1)
    header.add_crs(CRS.from_user_input(crs))
    las = laspy.LasData(header, points=laspy.ScaleAwarePointRecord.zeros(len(pts["x"]), header=header))
    las.x, las.y, las.z = pts["x"], pts["y"], pts["z"]
    las.classification = pts["classification"]
    las.return_number = pts["return_number"]
    las.number_of_returns = pts["number_of_returns"]
    with atomic_path(path) as tmp:
        backend = laspy.LazBackend.LazrsParallel if laspy.LazBackend.LazrsParallel.is_available() else None
        if backend is not None:
            las.write(str(tmp), laz_backend=backend)
        else:
            las.write(str(tmp))


def _strips(world: World, tiles: list[Tile]) -> Iterator[tuple[Window, list[Tile]]]:
    """Group tiles by row; yield the pixel window covering each row of tiles."""
    g = world.grid
    rows: dict[int, list[Tile]] = {}
    for t in tiles:
        rows.setdefault(t.iy, []).append(t)
    for iy in sorted(rows, reverse=True):
        ts = rows[iy]
        xmin, xmax = min(t.xmin for t in ts), max(t.xmax for t in ts)
        ymin, ymax = min(t.ymin for t in ts), max(t.ymax for t in ts)
        c0 = max(0, math.floor((xmin - g.x0_m) / g.pixel_m))
        c1 = min(g.n_px, math.ceil((xmax - g.x0_m) / g.pixel_m))
        r0 = max(0, math.floor((g.y0_m - ymax) / g.pixel_m))
        r1 = min(g.n_px, math.ceil((g.y0_m - ymin) / g.pixel_m))
        yield Window(c0, r0, c1 - c0, r1 - r0), ts


def simulate_als(world: World, out_dir: Path, heights: DominantHeight, params: AlsParams | None = None,
                 progress: Callable[[str], None] | None = None) -> dict:
    """Write the ALS tiles of the end year into ``out_dir`` (``als_*.laz``).

    Parameters
    ----------
    world : the scenario.
    out_dir : the tile folder (``inputs/als``).
    heights : the stand-structure model (shared with the truth raster).
    params : survey settings (default :class:`AlsParams`).
    progress : optional callable receiving one line per row of tiles.

    Returns
    -------
    dict
        Summary for ``truth/als_points.json``: settings, tiles with their
        bounds and point counts, totals, densities.
    """
    params = params or AlsParams()
    tiles = als_tiles(world, params.tile_m)
    rows = list(_strips(world, tiles))
    records = []
    n_pulses = n_points = 0
    area = 0.0
    for k, (window, ts) in enumerate(rows):
        if progress:
            progress(f"Simulating the ALS survey: tile row {k + 1}/{len(rows)} ({len(ts)} tiles)")
        strip = _strip(world, heights, window)
        for t in ts:
            pts = tile_points(world, strip, t, params)
            _write_tile(out_dir / t.name, pts, world.grid.crs, world.end_year)
            first = int((pts["return_number"] == 1).sum())
            records.append({"file": t.name, "xmin": t.xmin, "ymin": t.ymin, "xmax": t.xmax, "ymax": t.ymax,
                            "pulses": first, "points": len(pts["x"]),
                            "ground_points": int((pts["classification"] == 2).sum())})
            n_pulses += first
            n_points += len(pts["x"])
            area += (t.xmax - t.xmin) * (t.ymax - t.ymin)
    return {
        "year": world.end_year, "crs": world.grid.crs, "format": "LAS 1.4 point format 6 (LAZ)",
        "classes": {"1": "vegetation (unclassified)", "2": "ground"},
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(params).items()},
        "area_m2": area, "pulses": n_pulses, "points": n_points,
        "pulse_density_per_m2": n_pulses / area if area else 0.0,
        "point_density_per_m2": n_points / area if area else 0.0,
        "tiles": records,
    }

"""Simulated land cover before mining: forest stands, their species, age and site.

Forest is organised in *stands*: jittered Voronoi cells of ~250 m (a few
hectares) with domain-warped, irregular edges.  Each stand takes the terrain
at its seed point and, from it, a dominant species and forest type:

* high elevation (upper ~22 % of the scene's elevations): Prince Rupprecht's
  larch 华北落叶松 (coniferous), birch 白桦 on some north slopes;
* middle elevations: on north slopes Liaodong oak 辽东栎 / birch 白桦
  (broadleaf), on south slopes Chinese pine 油松 / arborvitae 侧柏
  (coniferous), on east/west slopes pine-oak mixed forest (type 3);
* low elevations: plantations of black locust 刺槐 and poplar 杨树
  (broadleaf), arborvitae on steep dry south slopes, some pine plantations;
* sparse forest (type 4) on part of the dry ridges (high TPI, not north-facing).

Pixels become non-forest (farmland of valleys and loess tablelands, open
grass/shrub stands) where a score that rises at low elevation and on gentle
slopes exceeds a threshold; the threshold is set from a sample of the scene
so that ~62 % of it is forest.  Elevation classes likewise use quantiles of
the scene's own elevations, so every size shows every species.

Stand age at the start year: natural stands 15-60 yr, plantations 8-30 yr,
larch 10-45 yr.  Site factor 0.75-1.25 per stand, times (1 + 0.12 northness)
(moister north slopes) and a within-stand pixel factor (+-~12 %); sparse
forest carries 32 % of a closed stand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .noise import fbm, hash_uniform, voronoi_cells
from .species import ARBORVITAE, BIRCH, BY_CODE, LARCH, OAK, PINE, POPLAR, ROBINIA
from .terrain import elevation_parts, point_slope_aspect

STAND_CELL_M = 250.0
FOREST_SHARE = 0.62
"""Target share of forest pixels in the base year."""
SPARSE_FACTOR = 0.32
NONFOREST, CONIFEROUS, BROADLEAF, MIXED, SPARSE = 0, 1, 2, 3, 4
_QLEVELS = np.linspace(0.0, 1.0, 21)


@dataclass(frozen=True)
class LandscapeParams:
    """Thresholds calibrated on a sample of the scene.

    Attributes
    ----------
    z_quantiles_m : elevations (m) at the quantiles 0, 0.05, ..., 1 of the scene.
    tpi_ridge_m : TPI (m) above which a stand counts as a dry ridge (80th percentile).
    nonforest_score : score above which a pixel is non-forest.
    """

    z_quantiles_m: tuple[float, ...]
    tpi_ridge_m: float
    nonforest_score: float


@dataclass
class Landscape:
    """Base-year land cover of a set of pixels (arrays of one shape).

    Attributes
    ----------
    species : dominant species code (0 non-forest).
    forest_type : 0 non-forest, 1 coniferous, 2 broadleaf, 3 mixed, 4 sparse.
    age0_yr : stand age at the start year (yr).
    site : site factor (dimensionless; multiplies the growth asymptote), without climate.
    pixel_factor : within-stand variation of AGC (dimensionless, ~1).
    """

    species: np.ndarray
    forest_type: np.ndarray
    age0_yr: np.ndarray
    site: np.ndarray
    pixel_factor: np.ndarray


def _stands(x_m: np.ndarray, y_m: np.ndarray, seed: int):
    xw = x_m + 90.0 * fbm(x_m, y_m, 500.0, 2, seed, 50)
    yw = y_m + 90.0 * fbm(x_m, y_m, 500.0, 2, seed, 51)
    return voronoi_cells(xw, yw, STAND_CELL_M, seed, 52)


def _quantile(z_m: np.ndarray, params: LandscapeParams) -> np.ndarray:
    return np.interp(z_m, np.asarray(params.z_quantiles_m), _QLEVELS)


def _northness(slope_deg: np.ndarray, aspect_deg: np.ndarray) -> np.ndarray:
    return np.cos(np.radians(aspect_deg)) * np.clip(slope_deg / 15.0, 0.0, 1.0)


def _stand_traits(ix: np.ndarray, iy: np.ndarray, sx: np.ndarray, sy: np.ndarray, params: LandscapeParams,
                  pixel_m: float, seed: int) -> dict[str, np.ndarray]:
    """Species, forest type, age, site factor and 'open' flag of stands (1-D arrays)."""
    z, tpi = elevation_parts(sx, sy, seed)
    slope, aspect = point_slope_aspect(sx, sy, pixel_m, seed)
    q = _quantile(z, params)
    north = _northness(slope, aspect)
    u = [hash_uniform(ix, iy, seed, 60 + k) for k in range(6)]
    sp = np.zeros(ix.shape, dtype=np.int64)
    ft = np.zeros(ix.shape, dtype=np.int64)
    high = q > 0.78
    mid = (q > 0.42) & ~high
    low = q <= 0.42
    # high: larch, birch on some north slopes
    birch_hi = high & (north > 0.2) & (u[0] < 0.35)
    sp[high] = LARCH
    sp[birch_hi] = BIRCH
    # middle: aspect decides
    n_mid = mid & (north > 0.25)
    s_mid = mid & (north < -0.25)
    m_mid = mid & ~n_mid & ~s_mid
    sp[n_mid] = np.where(u[0][n_mid] < 0.6, OAK, BIRCH)
    sp[s_mid] = np.where(u[0][s_mid] < 0.7, PINE, ARBORVITAE)
    sp[m_mid] = np.where(u[0][m_mid] < 0.5, PINE, OAK)
    # low: plantations
    dry = low & (north < -0.3) & (slope > 15.0)
    sp[low] = np.where(u[0][low] < 0.55, ROBINIA, POPLAR)
    sp[low & (u[1] < 0.2)] = PINE
    sp[dry] = ARBORVITAE
    cls = np.array([0] + [BY_CODE[c].forest_class for c in range(1, 8)])
    ft[:] = cls[sp]
    ft[m_mid] = MIXED
    sparse = (tpi > params.tpi_ridge_m) & (north < 0.1) & (u[2] < 0.6)
    ft[sparse] = SPARSE
    planted = low | np.isin(sp, (ROBINIA, POPLAR))
    age = np.where(planted, 8.0 + 22.0 * u[3], 15.0 + 45.0 * u[3])
    age = np.where(sp == LARCH, 10.0 + 35.0 * u[3], age)
    site = 0.75 + 0.5 * u[4]
    site = np.where(sparse, site * SPARSE_FACTOR, site)
    open_stand = u[5] < 0.08
    return {"species": sp, "forest_type": ft, "age0_yr": age, "site": site, "open": open_stand}


def _nonforest_score(x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray, slope_deg: np.ndarray,
                     params: LandscapeParams, seed: int) -> np.ndarray:
    q = _quantile(z_m, params)
    return 1.1 * (1.0 - q) + 0.9 * (1.0 - np.clip(slope_deg / 20.0, 0.0, 1.0)) \
        + 0.35 * fbm(x_m, y_m, 700.0, 2, seed, 55)


def landscape(x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray, slope_deg: np.ndarray,
              aspect_deg: np.ndarray, params: LandscapeParams, pixel_m: float, seed: int) -> Landscape:
    """Base-year land cover at pixel centres (arrays of one shape; see :class:`Landscape`)."""
    ix, iy, sx, sy = _stands(x_m, y_m, seed)
    key = ix.astype(np.int64) * 4_000_003 + iy.astype(np.int64)
    _, first, inverse = np.unique(key.ravel(), return_index=True, return_inverse=True)
    traits = _stand_traits(ix.ravel()[first], iy.ravel()[first], sx.ravel()[first], sy.ravel()[first],
                           params, pixel_m, seed)
    shape = np.shape(x_m)
    t = {k: v[inverse].reshape(shape) for k, v in traits.items()}
    score = _nonforest_score(x_m, y_m, z_m, slope_deg, params, seed)
    nonforest = (score > params.nonforest_score) | t["open"]
    species = np.where(nonforest, 0, t["species"])
    forest_type = np.where(nonforest, NONFOREST, t["forest_type"])
    north = _northness(slope_deg, aspect_deg)
    site = t["site"] * (1.0 + 0.12 * north)
    pixel_factor = 1.0 + 0.12 * fbm(x_m, y_m, 150.0, 2, seed, 70)
    return Landscape(species=species.astype(np.uint8), forest_type=forest_type.astype(np.uint8),
                     age0_yr=t["age0_yr"], site=site, pixel_factor=pixel_factor)


def landscape_at_points(x_m: np.ndarray, y_m: np.ndarray, params: LandscapeParams, pixel_m: float,
                        seed: int) -> Landscape:
    """:func:`landscape` at arbitrary points (terrain evaluated with the same stencil)."""
    z, _ = elevation_parts(x_m, y_m, seed)
    slope, aspect = point_slope_aspect(x_m, y_m, pixel_m, seed)
    return landscape(x_m, y_m, z, slope, aspect, params, pixel_m, seed)


def calibrate(x_m: np.ndarray, y_m: np.ndarray, pixel_m: float, seed: int) -> LandscapeParams:
    """Set the elevation quantiles, ridge TPI and non-forest threshold from sample pixel centres."""
    z, tpi = elevation_parts(x_m, y_m, seed)
    slope, _ = point_slope_aspect(x_m, y_m, pixel_m, seed)
    zq = tuple(float(v) for v in np.quantile(z, _QLEVELS))
    provisional = LandscapeParams(z_quantiles_m=zq, tpi_ridge_m=float(np.quantile(tpi, 0.8)),
                                  nonforest_score=np.inf)
    ix, iy, _, _ = _stands(x_m, y_m, seed)
    open_stand = hash_uniform(ix, iy, seed, 65) < 0.08
    score = _nonforest_score(x_m, y_m, z, slope, provisional, seed)
    # choose the threshold so that open stands + high scores make up 1 - FOREST_SHARE
    target_nonforest = 1.0 - FOREST_SHARE
    rest = score[~open_stand]
    share_open = open_stand.mean()
    need = max(0.0, (target_nonforest - share_open) / max(1e-9, 1.0 - share_open))
    thr = float(np.quantile(rest, 1.0 - need)) if rest.size else np.inf
    return LandscapeParams(z_quantiles_m=zq, tpi_ridge_m=provisional.tpi_ridge_m, nonforest_score=thr)

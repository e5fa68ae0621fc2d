"""A simulated Landsat-8-like sensor: yearly and monthly surface-reflectance composites.

Per pixel, a linear mixture of a tree canopy and the ground beneath/around it:

``rho = illum * gain_year * [c * canopy(species, month) + (1 - c) * ground(kind, month)] + noise``

* canopy cover ``c = 0.95 * (1 - exp(-AGC / 30 t C/ha))``: rises with AGC and
  saturates (NDVI saturates at high AGC as in real forests);
* canopy spectra per species (conifers darker in NIR than broadleaves); in
  drought years the canopy NIR drops by 15 % of the relative precipitation
  deficit;
* ground: understory herbs + loess (forest), crops + loess (farmland), coal
  spoil + overburden (open pit), gangue (waste dump), herbs + topsoil
  (reclaimed land), bare loess (clearing), dry herbs + loess (sparse forest);
  a smooth +-8 % brightness field varies the ground;
* terrain illumination for a sun at 45 deg elevation, 135 deg azimuth (yearly
  composites) or the month's noon-ish sun (monthly composites);
* a per-band gain of the year (sd 1.5 %, residual atmospheric effects), a
  static per-pixel texture (sd 0.003) and per-pixel noise (sd 0.003).

Monthly composites of the end year follow leaf phenology: deciduous species
(larch, oak, birch, black locust, poplar) and herbs/crops turn to branches
and dry litter in winter; evergreen pine and arborvitae keep their needles.

Reflectance is stored as Landsat Collection-2 Level-2 DN:
``DN = (rho + 0.2) / 2.75e-5`` (uint16, 0 = nodata).
"""

from __future__ import annotations

import numpy as np

from .noise import hash_u64
from .species import (
    BARK_RHO,
    BY_CODE,
    CROP_RHO,
    DRY_GRASS_RHO,
    GRASS_RHO,
    SOIL_RHO,
    SPECIES,
    SPOIL_RHO,
)

SCALE = 2.75e-5
OFFSET = -0.2
SUN_ELEVATION_DEG = 45.0
SUN_AZIMUTH_DEG = 135.0
COVER_MAX = 0.95
COVER_AGC_T_HA = 30.0

BG_UNDERSTORY, BG_FARMLAND, BG_PIT, BG_DUMP, BG_RECLAIMED, BG_BARE, BG_DRY = range(7)

GREEN_DECIDUOUS = np.array([0.03, 0.03, 0.08, 0.35, 0.75, 0.95, 1.0, 1.0, 0.9, 0.55, 0.15, 0.04])
GREEN_EVERGREEN = np.array([0.78, 0.78, 0.82, 0.86, 0.95, 1.0, 1.0, 1.0, 1.0, 0.95, 0.87, 0.8])
GREEN_CROP = np.array([0.0, 0.0, 0.0, 0.05, 0.25, 0.65, 1.0, 1.0, 0.7, 0.2, 0.0, 0.0])
SUN_ELEVATION_MONTH_DEG = np.array([30, 37, 47, 58, 66, 70, 68, 62, 52, 41, 32, 28], dtype=float)
SUN_AZIMUTH_MONTH_DEG = np.array([150, 147, 143, 138, 132, 128, 130, 135, 141, 146, 150, 151], dtype=float)


CLOUD_SHARE = np.array([0.15, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.5, 0.35, 0.25, 0.2, 0.15])
"""Share of each month's composite left cloudy (masked) in the monthly series (``series=True``): a North-China
monsoon climate, cloudier in summer; our choice for the simulator, not a measured climatology."""
CLOUD_CELL_M = 2000.0
CLOUD_FBM_SD = 0.29
"""Standard deviation of :func:`.noise.fbm` with 3 octaves (measured on 250,000 lattice points, seeds 0-2)."""


def cloud_mask(x_m: np.ndarray, y_m: np.ndarray, seed: int, year_index: int, month: int) -> np.ndarray:
    """Cloudy pixels of one month's composite: a smooth random field above the quantile of the month's share."""
    from statistics import NormalDist

    from .noise import fbm

    f = fbm(x_m, y_m, CLOUD_CELL_M, 3, seed, 5000 + 12 * year_index + month)
    return f > CLOUD_FBM_SD * NormalDist().inv_cdf(1.0 - float(CLOUD_SHARE[month - 1]))


def canopy_cover(agc_t_ha: np.ndarray) -> np.ndarray:
    """Canopy cover (0-0.95) from AGC (t C/ha), saturating."""
    return COVER_MAX * (1.0 - np.exp(-np.maximum(agc_t_ha, 0.0) / COVER_AGC_T_HA))


def ground_table(green: float = 1.0, green_crop: float = 1.0) -> np.ndarray:
    """Ground spectra (kind, band) for herb greenness ``green`` and crop greenness ``green_crop``."""
    herbs = green * GRASS_RHO + (1.0 - green) * DRY_GRASS_RHO
    crop = green_crop * CROP_RHO + (1.0 - green_crop) * SOIL_RHO
    return np.stack([
        0.55 * herbs + 0.45 * SOIL_RHO,        # understory
        0.65 * crop + 0.35 * SOIL_RHO,         # farmland
        0.60 * SPOIL_RHO + 0.40 * SOIL_RHO,    # open pit
        0.85 * SPOIL_RHO + 0.15 * SOIL_RHO,    # waste dump
        0.45 * herbs + 0.55 * SOIL_RHO,        # reclaimed
        0.25 * herbs + 0.75 * SOIL_RHO,        # clearing
        0.30 * herbs + 0.70 * SOIL_RHO,        # sparse forest floor
    ])


def canopy_table(month: int | None = None) -> np.ndarray:
    """Canopy spectra (species code, band); ``month`` 1-12 applies phenology, None = growing season."""
    table = np.zeros((len(SPECIES) + 1, 6))
    table[0] = GRASS_RHO
    for s in SPECIES:
        leaf = np.asarray(s.leaf_rho)
        if month is None:
            table[s.code] = leaf
        else:
            g = (GREEN_DECIDUOUS if s.deciduous else GREEN_EVERGREEN)[month - 1]
            table[s.code] = g * leaf + (1.0 - g) * BARK_RHO
    return table


def uniform_noise(cols: np.ndarray, rows: np.ndarray, seed: int, channel: int, sd: float) -> np.ndarray:
    """(6, ...) zero-mean uniform noise with standard deviation ``sd`` per band, one hash per pixel."""
    h = hash_u64(cols, rows, seed, channel)
    out = np.empty((6,) + np.shape(h))
    for b in range(6):
        bits = ((h >> np.uint64(10 * b)) & np.uint64(1023)).astype(np.float64)
        out[b] = (bits + 0.5) / 1024.0 - 0.5
    return out * (sd * np.sqrt(12.0))


def reflectance(agc_t_ha: np.ndarray, species: np.ndarray, ground: np.ndarray, illum: np.ndarray,
                ground_brightness: np.ndarray, gain: np.ndarray, canopy: np.ndarray, grounds: np.ndarray,
                nir_scale: np.ndarray | float, noise: np.ndarray) -> np.ndarray:
    """Surface reflectance (6, ...) of pixels.

    Parameters
    ----------
    agc_t_ha : AGC (t C/ha).
    species : current species code (0 none).
    ground : ground kind (``BG_*``).
    illum : relative terrain illumination.
    ground_brightness : multiplier of the ground spectrum (~1).
    gain : (6,) per-band gain of the year.
    canopy, grounds : spectra tables from :func:`canopy_table` and :func:`ground_table`.
    nir_scale : multiplier of the canopy NIR (drought).
    noise : (6, ...) additive noise (reflectance units).
    """
    c = canopy_cover(agc_t_ha)
    can = np.moveaxis(canopy[np.asarray(species, dtype=np.int64)], -1, 0)
    gro = np.moveaxis(grounds[np.asarray(ground, dtype=np.int64)], -1, 0) * ground_brightness
    can = can.copy()
    can[3] = can[3] * nir_scale
    rho = (c * can + (1.0 - c) * gro) * illum * gain.reshape((6,) + (1,) * c.ndim) + noise
    return rho


def to_dn(rho: np.ndarray) -> np.ndarray:
    """Reflectance -> Landsat C2 L2 DN (uint16; 1..65535 so that 0 stays nodata)."""
    return np.clip(np.rint((rho - OFFSET) / SCALE), 1, 65535).astype(np.uint16)


def is_deciduous(code: int) -> bool:
    return code in BY_CODE and BY_CODE[code].deciduous

"""The tree species of the simulated area and their (simulated) traits.

Seven dominant species of the Shanxi coal regions.  For each the simulator
needs: a forest-type class (HJ 1166-2021: 1 coniferous, 2 broadleaf), whether
it is deciduous (phenology in the monthly composites), a Chapman-Richards AGC
growth curve ``AGC(age) = A * site * (1 - exp(-k * age)) ** p`` (t C/ha),
a height-diameter curve ``H = 1.3 + (Hmax - 1.3) * (1 - exp(-b * D)) ** c``
(m, D in cm) and a canopy reflectance spectrum for the six Landsat-8 OLI
bands.  The numbers are plausible values chosen for the simulator (growth
asymptotes 45-90 t C/ha as reported for North-China forests), not fitted
values from the literature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
"""Band order of the simulated sensor (Landsat-8 OLI bands 2-7)."""


@dataclass(frozen=True)
class Species:
    """Traits of one simulated species (see the module docstring for the formulas)."""

    code: int
    name_zh: str
    name_latin: str
    forest_class: int  # 1 coniferous, 2 broadleaf
    deciduous: bool
    agc_max_t_ha: float  # Chapman-Richards asymptote A (t C/ha) at site factor 1
    k_per_yr: float
    p: float
    hmax_m: float
    hd_b: float
    hd_c: float
    leaf_rho: tuple[float, float, float, float, float, float]  # canopy reflectance, growing season


SPECIES: tuple[Species, ...] = (
    Species(1, "油松", "Pinus tabuliformis", 1, False, 70.0, 0.045, 2.0, 18.0, 0.050, 1.1,
            (0.020, 0.042, 0.024, 0.255, 0.120, 0.050)),
    Species(2, "侧柏", "Platycladus orientalis", 1, False, 48.0, 0.040, 1.9, 12.0, 0.060, 1.1,
            (0.022, 0.046, 0.028, 0.235, 0.125, 0.055)),
    Species(3, "华北落叶松", "Larix principis-rupprechtii", 1, True, 90.0, 0.060, 2.2, 25.0, 0.045, 1.1,
            (0.021, 0.050, 0.026, 0.300, 0.135, 0.055)),
    Species(4, "辽东栎", "Quercus wutaishanica", 2, True, 75.0, 0.038, 1.8, 16.0, 0.050, 1.0,
            (0.024, 0.058, 0.030, 0.360, 0.165, 0.068)),
    Species(5, "刺槐", "Robinia pseudoacacia", 2, True, 58.0, 0.090, 1.6, 16.0, 0.080, 1.0,
            (0.026, 0.064, 0.032, 0.380, 0.175, 0.072)),
    Species(6, "杨树", "Populus", 2, True, 66.0, 0.100, 1.8, 24.0, 0.050, 1.0,
            (0.027, 0.066, 0.031, 0.400, 0.180, 0.074)),
    Species(7, "白桦", "Betula platyphylla", 2, True, 62.0, 0.060, 1.8, 18.0, 0.060, 1.0,
            (0.025, 0.060, 0.029, 0.390, 0.170, 0.070)),
)
BY_CODE: dict[int, Species] = {s.code: s for s in SPECIES}
BY_NAME: dict[str, Species] = {s.name_zh: s for s in SPECIES}
PINE, ARBORVITAE, LARCH, OAK, ROBINIA, POPLAR, BIRCH = 1, 2, 3, 4, 5, 6, 7

LATIN_ON_SHEETS: dict[str, str] = {
    "油松": "Pinus tabuliformis", "侧柏": "Platycladus orientalis",
    "华北落叶松": "Larix principis-rupprechtii", "辽东栎": "Quercus wutaishanica",
    "刺槐": "Robinia pseudoacacia", "杨树": "Populus spp.", "白桦": "Betula platyphylla",
}
"""Latin names as field crews write them (all resolve in the shipped allometry table)."""

COMPANIONS: dict[int, tuple[int, ...]] = {
    PINE: (ARBORVITAE, OAK, ROBINIA), ARBORVITAE: (PINE, ROBINIA), LARCH: (BIRCH, PINE),
    OAK: (BIRCH, PINE, POPLAR), ROBINIA: (POPLAR, ARBORVITAE), POPLAR: (ROBINIA, BIRCH),
    BIRCH: (OAK, LARCH, POPLAR),
}
"""Companion species that appear in plots dominated by a species."""

# Other surface spectra (six bands, surface reflectance), chosen to resemble
# Landsat-8 SR of the materials in the Loess Plateau.
SOIL_RHO = np.array([0.090, 0.125, 0.165, 0.225, 0.300, 0.255])      # bright loess
GRASS_RHO = np.array([0.040, 0.075, 0.060, 0.290, 0.225, 0.125])     # herbs / understory
CROP_RHO = np.array([0.035, 0.080, 0.050, 0.340, 0.210, 0.105])      # maize / millet, mid-season
SPOIL_RHO = np.array([0.040, 0.048, 0.054, 0.068, 0.080, 0.070])     # coal spoil / gangue (dark)
BARK_RHO = np.array([0.045, 0.060, 0.075, 0.140, 0.190, 0.150])      # leafless branches
DRY_GRASS_RHO = np.array([0.070, 0.095, 0.120, 0.190, 0.270, 0.220])  # senescent herbs, winter


def lookup(codes: np.ndarray, attr: str, default: float = 0.0) -> np.ndarray:
    """Per-pixel species attribute from a species-code array (code 0 -> ``default``)."""
    table = np.full(len(SPECIES) + 1, default, dtype=np.float64)
    for s in SPECIES:
        table[s.code] = float(getattr(s, attr))
    return table[np.asarray(codes, dtype=np.int64)]


def leaf_spectra(codes: np.ndarray) -> np.ndarray:
    """Canopy reflectance (band, ...) per pixel from species codes (code 0 -> grass)."""
    table = np.zeros((len(SPECIES) + 1, len(BANDS)))
    table[0] = GRASS_RHO
    for s in SPECIES:
        table[s.code] = s.leaf_rho
    return np.moveaxis(table[np.asarray(codes, dtype=np.int64)], -1, 0)


def chapman_richards(age_yr: np.ndarray, agc_max_t_ha: np.ndarray, k_per_yr: np.ndarray,
                     p: np.ndarray) -> np.ndarray:
    """AGC (t C/ha) of a stand of the given age: ``A * (1 - exp(-k age)) ** p`` (0 for age <= 0)."""
    age = np.maximum(np.asarray(age_yr, dtype=np.float64), 0.0)
    return agc_max_t_ha * (1.0 - np.exp(-k_per_yr * age)) ** p

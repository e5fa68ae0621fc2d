"""Simulated stand growth: AGC (t C/ha) per pixel and year, with and without mining.

Each pixel carries a stand state (species growth curve, site-scaled
asymptote, age, current AGC).  In the start year the AGC is the
Chapman-Richards curve at the stand age.  Every following year

``AGC(t) = AGC(t-1) + [G(age + 1) - G(age)] * m(cell, t)``

where ``G`` is the curve and ``m`` the climate growth multiplier of the
pixel's climate cell (:mod:`.climate`), so the increments of a year carry that
year's climate.  Events reset the state:

* excavation or occupation in year Y: AGC = 0 from Y on, no growth;
* reclamation (planting) in year Y: a new stand of the planted species,
  age 0 in Y, site factor 0.75 of the original (spoil soils);
* clearing (non-mining): AGC = 0 from its year on, for good;
* afforestation of farmland (non-mining): a plantation, age 0 in its year.

Subsidence does not reset the state: the reported AGC is the state times
``1 - L * min(1, (t - Y + 1) / d)``, a loss ``L`` (20-60 %) reached over ``d``
(2-4) years after the panel is mined in year ``Y``.

The no-mining counterfactual applies the non-mining events only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .species import chapman_richards, lookup

RECLAIMED_SITE_FACTOR = 0.75
FOREST_MIN_AGC_T_HA = 5.0
"""A planted stand counts as forest once its AGC exceeds this (t C/ha)."""


@dataclass
class StandState:
    """Per-pixel growth state (arrays of one shape).

    Attributes
    ----------
    species : species code of the current stand (0 none).
    agc_max_t_ha : site-scaled growth asymptote (t C/ha); 0 means no growth.
    k_per_yr, p : Chapman-Richards rate and shape.
    age_yr : stand age (yr).
    agc_t_ha : current AGC (t C/ha).
    """

    species: np.ndarray
    agc_max_t_ha: np.ndarray
    k_per_yr: np.ndarray
    p: np.ndarray
    age_yr: np.ndarray
    agc_t_ha: np.ndarray

    @classmethod
    def initial(cls, species: np.ndarray, age0_yr: np.ndarray, site: np.ndarray) -> StandState:
        """State in the start year: the curve at the stand age (non-forest: 0)."""
        sp = np.asarray(species, dtype=np.int64).copy()
        amax = lookup(sp, "agc_max_t_ha") * site
        k = lookup(sp, "k_per_yr", 0.1)
        p = lookup(sp, "p", 1.0)
        age = np.where(sp > 0, age0_yr, 0.0).astype(np.float64)
        agc = chapman_richards(age, amax, k, p)
        return cls(sp, amax, k, p, age, agc)

    def copy(self) -> StandState:
        return StandState(*(a.copy() for a in (self.species, self.agc_max_t_ha, self.k_per_yr, self.p,
                                               self.age_yr, self.agc_t_ha)))

    def grow(self, mult: np.ndarray) -> None:
        """Advance one year with the climate growth multiplier ``mult``."""
        g0 = chapman_richards(self.age_yr, self.agc_max_t_ha, self.k_per_yr, self.p)
        g1 = chapman_richards(self.age_yr + 1.0, self.agc_max_t_ha, self.k_per_yr, self.p)
        self.agc_t_ha += (g1 - g0) * mult
        self.age_yr += 1.0

    def remove(self, mask: np.ndarray) -> None:
        """Remove the stand where ``mask`` (AGC 0, no regrowth)."""
        self.species[mask] = 0
        self.agc_max_t_ha[mask] = 0.0
        self.age_yr[mask] = 0.0
        self.agc_t_ha[mask] = 0.0

    def plant(self, mask: np.ndarray, species: np.ndarray, site: np.ndarray) -> None:
        """Start a new stand of ``species`` (per-pixel codes) where ``mask``, age 0, AGC 0."""
        sp = np.asarray(species, dtype=np.int64)
        self.species[mask] = sp[mask]
        self.agc_max_t_ha[mask] = (lookup(sp, "agc_max_t_ha") * site)[mask]
        self.k_per_yr[mask] = lookup(sp, "k_per_yr", 0.1)[mask]
        self.p[mask] = lookup(sp, "p", 1.0)[mask]
        self.age_yr[mask] = 0.0
        self.agc_t_ha[mask] = 0.0


def subsidence_factor(year: int, sub_year: np.ndarray, loss_frac: np.ndarray,
                      duration_yr: np.ndarray) -> np.ndarray:
    """Multiplier (1 - loss) of AGC over subsided panels in ``year`` (1 elsewhere, ``sub_year`` 0 = none)."""
    active = (sub_year > 0) & (year >= sub_year)
    ramp = np.clip((year - sub_year + 1) / np.maximum(duration_yr, 1.0), 0.0, 1.0)
    return np.where(active, 1.0 - loss_frac * ramp, 1.0)

"""The simulated world: everything global that the per-window computation needs.

:func:`build_world` draws, from one ``numpy.random.Generator`` seeded with the
scenario seed, the scene-wide quantities (climate series, mine layout, sensor
gains) and calibrates the land-cover thresholds on a regular sample of the
scene.  The fields are drawn again (up to 8 times, each a new field seed
derived from the seed) until every kind of mining block (future pit, dump and
panels, recent pit and dump strips, mined panels) lies at least 55 % on forest,
so that every assessment unit exists even in the tiny scene.  Per-pixel quantities are *not* stored here: they are pure functions
of the coordinates (see :mod:`.noise`) evaluated window by window in
:mod:`.blocks`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .climate import Climate, simulate_climate
from .grid import SIZES_PX, Grid
from .landscape import LandscapeParams, calibrate
from .mining import MineLayout, build_layout

MINING_START_OFFSET_YR = 3
"""Mining starts this many years after the start year."""
GENERATOR_VERSION = "1.0"
FIELD_ATTEMPTS = 8
MIN_FOREST_SCORE = 0.55
"""A landscape is accepted when every kind of mining block covers at least this share of forest."""


@dataclass
class World:
    """Scene-wide state of one scenario.

    Attributes
    ----------
    size : 'tiny', 'small', 'medium' or 'large'.
    seed : the scenario seed.
    field_seed : the seed of the coordinate-hashed fields (terrain, stands, noise); the first of
        a few derived from ``seed`` whose landscape puts enough forest under the mine.
    grid : the raster grid.
    years : simulated years (start .. end).
    mining_start_year : first year with mining disturbance.
    mid_survey_year : year of the mid-period plot campaign.
    params : calibrated land-cover thresholds.
    climate : yearly climate grids.
    layout : the mine (vectors).
    year_gain : (year, band) sensor gain of each yearly composite.
    month_gain : (month, band) sensor gain of each monthly composite.
    """

    size: str
    seed: int
    field_seed: int
    grid: Grid
    years: list[int]
    mining_start_year: int
    mid_survey_year: int
    params: LandscapeParams
    climate: Climate
    layout: MineLayout
    year_gain: np.ndarray
    month_gain: np.ndarray

    @property
    def start_year(self) -> int:
        return self.years[0]

    @property
    def end_year(self) -> int:
        return self.years[-1]

    @property
    def base_year(self) -> int:
        return self.years[0]


def build_world(size: str, seed: int, start_year: int, end_year: int) -> World:
    """Draw the scene-wide state of a scenario (deterministic for ``seed``)."""
    if size not in SIZES_PX:
        raise ValueError(f"Unknown scenario size {size!r}; use one of {', '.join(SIZES_PX)}.")
    if end_year < start_year + 1:
        raise ValueError(f"The scenario needs at least two years (got {start_year}-{end_year}).")
    grid = Grid(SIZES_PX[size])
    years = list(range(start_year, end_year + 1))
    mining_start = min(start_year + MINING_START_OFFSET_YR, end_year)
    mid = start_year + (end_year - start_year) // 2
    n = grid.n_px
    idx = np.unique(np.linspace(0, n - 1, min(n, 160)).round().astype(int))
    xs, ys = np.meshgrid(grid.x_centres(0, n)[idx], grid.y_centres(0, n)[idx])
    best = None
    for attempt in range(FIELD_ATTEMPTS):
        field_seed = seed * FIELD_ATTEMPTS + attempt
        rng = np.random.default_rng([seed, attempt])
        params = calibrate(xs.ravel(), ys.ravel(), grid.pixel_m, field_seed)
        climate = simulate_climate(grid, years, field_seed, rng)
        layout = build_layout(grid, start_year, end_year, mining_start, params, field_seed, rng)
        if best is None or layout.forest_score > best[3].forest_score:
            best = (field_seed, params, climate, layout, rng)
        if layout.forest_score >= MIN_FOREST_SCORE:
            break
    field_seed, params, climate, layout, rng = best
    year_gain = 1.0 + rng.normal(0.0, 0.015, (len(years), 6))
    month_gain = 1.0 + rng.normal(0.0, 0.015, (12, 6))
    return World(size=size, seed=seed, field_seed=field_seed, grid=grid, years=years, mining_start_year=mining_start,
                 mid_survey_year=mid, params=params, climate=climate, layout=layout,
                 year_gain=year_gain, month_gain=month_gain)

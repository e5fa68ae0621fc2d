"""Simulated yearly climate on a coarse grid, and its effect on tree growth.

The grid has cells of 32 pixels (960 m), aligned with the scene's top-left
corner and covering it.  For every cell and year:

* mean annual temperature (deg C) = ``9.6 - 0.0055 * (z - 1300)`` (lapse rate
  5.5 K/km on the cell's regional elevation ``z``) + a smooth spatial anomaly
  (+-0.3 K) + a regional anomaly of the year (N(0, 0.6 K), clipped to +-1.2 K)
  + a warming trend (0.03 K/yr) + a small cell-year term (sd 0.12 K);
* annual precipitation (mm) = ``(480 + 0.25 * (z - 1300))`` (orographic) + a
  spatial anomaly (+-25 mm), times ``1 + r`` with a regional relative anomaly
  of the year (N(0, 0.13), clipped to +-25 %) and a cell-year term (sd 3 %).

Tree growth responds to the anomalies from the cell's long-term climate
(semi-arid: water limits growth, warm years are dry years): the annual AGC
increment is multiplied by ``clip(1 + 1.0 * (P / P_clim - 1) - 0.08 *
(T - T_clim), 0.3, 1.8)``.  The long-term precipitation also scales the site
factor (wetter cells carry more carbon).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grid import Grid
from .noise import fbm, hash_normal
from .terrain import regional_elevation

CELL_PX = 32
"""Climate cell size in pixels (32 x 30 m = 960 m)."""


@dataclass(frozen=True)
class Climate:
    """Yearly climate grids and the growth multiplier.

    Attributes
    ----------
    years : the simulated years.
    cell_px : cell size in pixels.
    tmean_c : (year, cy, cx) mean annual temperature (deg C).
    prcp_mm : (year, cy, cx) annual precipitation (mm).
    tclim_c, pclim_mm : (cy, cx) long-term means (deg C, mm) around which the years vary.
    growth_mult : (year, cy, cx) multiplier of the annual AGC increment (1 = average year).
    """

    years: tuple[int, ...]
    cell_px: int
    tmean_c: np.ndarray
    prcp_mm: np.ndarray
    tclim_c: np.ndarray
    pclim_mm: np.ndarray
    growth_mult: np.ndarray

    def year_index(self, year: int) -> int:
        return self.years.index(year)

    def cells(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Climate-cell indices (cy, cx) of pixel rows/columns."""
        return np.asarray(rows) // self.cell_px, np.asarray(cols) // self.cell_px


def simulate_climate(grid: Grid, years: list[int], seed: int, rng: np.random.Generator) -> Climate:
    """Simulate the climate grids (see the module docstring)."""
    n_cells = -(-grid.n_px // CELL_PX)
    cell_m = CELL_PX * grid.pixel_m
    xc = grid.x0_m + (np.arange(n_cells) + 0.5) * cell_m
    yc = grid.y0_m - (np.arange(n_cells) + 0.5) * cell_m
    xx, yy = np.meshgrid(xc, yc)
    z = regional_elevation(xx, yy, seed)
    tclim = 9.6 - 0.0055 * (z - 1300.0) + 0.3 * fbm(xx, yy, 12000.0, 2, seed, 21)
    pclim = 480.0 + 0.25 * (z - 1300.0) + 25.0 * fbm(xx, yy, 12000.0, 2, seed, 22)
    n_years = len(years)
    dt_year = np.clip(rng.normal(0.0, 0.6, n_years), -1.2, 1.2) + 0.03 * (np.arange(n_years) - n_years / 2)
    dp_year = np.clip(rng.normal(0.0, 0.13, n_years), -0.25, 0.25)
    ix = np.arange(n_cells)[None, :].repeat(n_cells, 0)
    iy = np.arange(n_cells)[:, None].repeat(n_cells, 1)
    tmean = np.empty((n_years, n_cells, n_cells))
    prcp = np.empty((n_years, n_cells, n_cells))
    for i, year in enumerate(years):
        tmean[i] = tclim + dt_year[i] + 0.12 * hash_normal(ix, iy, seed, 30_000 + year)
        prcp[i] = pclim * (1.0 + dp_year[i] + 0.03 * hash_normal(ix, iy, seed, 40_000 + year))
    mult = np.clip(1.0 + 1.0 * (prcp / pclim - 1.0) - 0.08 * (tmean - tclim), 0.3, 1.8)
    return Climate(years=tuple(years), cell_px=CELL_PX, tmean_c=tmean, prcp_mm=prcp, tclim_c=tclim,
                   pclim_mm=pclim, growth_mult=mult)

"""The scene grid: sizes, origin, pixel size, CRS and the windows it is processed in.

The simulated scene is a square grid of 30 m pixels in UTM zone 49N
(EPSG:32649, Shanxi), top-left corner at (380 000 m E, 4 100 000 m N).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.windows import Window

SIZES_PX: dict[str, int] = {"tiny": 64, "small": 300, "medium": 1000, "large": 5000}
"""Pixels per side of each scenario size."""

CRS = "EPSG:32649"
PIXEL_M = 30.0
ORIGIN_X_M = 380_000.0
ORIGIN_Y_M = 4_100_000.0
CHUNK_PX = 512
"""Window size (pixels per side) of the chunked (``large``) path."""


@dataclass(frozen=True)
class Grid:
    """A north-up square grid.

    Attributes
    ----------
    n_px : pixels per side.
    pixel_m : pixel size (m).
    x0_m, y0_m : map coordinates (m) of the top-left corner.
    crs : CRS as text.
    """

    n_px: int
    pixel_m: float = PIXEL_M
    x0_m: float = ORIGIN_X_M
    y0_m: float = ORIGIN_Y_M
    crs: str = CRS

    @property
    def side_m(self) -> float:
        return self.n_px * self.pixel_m

    @property
    def transform(self) -> Affine:
        return Affine(self.pixel_m, 0.0, self.x0_m, 0.0, -self.pixel_m, self.y0_m)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in metres."""
        return (self.x0_m, self.y0_m - self.side_m, self.x0_m + self.side_m, self.y0_m)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0_m + self.side_m / 2, self.y0_m - self.side_m / 2)

    def x_centres(self, col_off: int, width: int) -> np.ndarray:
        """Easting (m) of the pixel centres of columns ``col_off .. col_off+width-1``."""
        return self.x0_m + (np.arange(col_off, col_off + width) + 0.5) * self.pixel_m

    def y_centres(self, row_off: int, height: int) -> np.ndarray:
        """Northing (m) of the pixel centres of rows ``row_off .. row_off+height-1``."""
        return self.y0_m - (np.arange(row_off, row_off + height) + 0.5) * self.pixel_m

    def rowcol(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (int) of the pixels containing the points."""
        col = np.floor((np.asarray(x_m) - self.x0_m) / self.pixel_m).astype(np.int64)
        row = np.floor((self.y0_m - np.asarray(y_m)) / self.pixel_m).astype(np.int64)
        return row, col

    def windows(self, chunk_px: int) -> Iterator[Window]:
        """Windows of at most ``chunk_px`` pixels per side covering the grid, row by row."""
        for r in range(0, self.n_px, chunk_px):
            for c in range(0, self.n_px, chunk_px):
                yield Window(c, r, min(chunk_px, self.n_px - c), min(chunk_px, self.n_px - r))

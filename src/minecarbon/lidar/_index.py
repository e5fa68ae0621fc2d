"""A 2-D bucket index of points for fast box queries (radix-sorted cell keys)."""

from __future__ import annotations

import math

import numpy as np

from .cloud import col_min


class GridIndex:
    """Points bucketed on a 2-D grid for fast box queries."""

    def __init__(self, xy: np.ndarray, cell: float = 1.0) -> None:
        self.cell = cell
        self.lo = col_min(xy) if xy.size else np.zeros(2)
        ij = np.floor((xy - self.lo) / cell).astype(np.int64)
        self.nx = int(ij[:, 0].max()) + 1 if xy.size else 1
        self.ny = int(ij[:, 1].max()) + 1 if xy.size else 1
        key = ij[:, 1] * self.nx + ij[:, 0]
        if self.nx * self.ny < 65536:
            key = key.astype(np.uint16)  # numpy sorts 16-bit integers by radix sort: O(n)
        self.order = np.argsort(key, kind="stable")
        self.bounds = np.searchsorted(key[self.order], np.arange(self.nx * self.ny + 1))

    def box(self, xmin: float, xmax: float, ymin: float, ymax: float) -> np.ndarray:
        i0 = max(math.floor((xmin - self.lo[0]) / self.cell), 0)
        i1 = min(math.floor((xmax - self.lo[0]) / self.cell), self.nx - 1)
        j0 = max(math.floor((ymin - self.lo[1]) / self.cell), 0)
        j1 = min(math.floor((ymax - self.lo[1]) / self.cell), self.ny - 1)
        if i1 < i0 or j1 < j0:
            return np.empty(0, dtype=np.int64)
        parts = [self.order[self.bounds[j * self.nx + i0]:self.bounds[j * self.nx + i1 + 1]]
                 for j in range(j0, j1 + 1)]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def disc(self, x: float, y: float, r: float, xy: np.ndarray) -> np.ndarray:
        """Positions (into the indexed points ``xy``) within ``r`` of (x, y)."""
        cand = self.box(x - r, x + r, y - r, y + r)
        if cand.size == 0:
            return cand
        d2 = (xy[cand, 0] - x) ** 2 + (xy[cand, 1] - y) ** 2
        return cand[d2 <= r * r]

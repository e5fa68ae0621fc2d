"""The in-memory point cloud used by the lidar functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PointCloud", "col_max", "col_min"]


def col_min(a: np.ndarray) -> np.ndarray:
    """Minimum of each column of an (n, k) array (10x faster than ``a.min(axis=0)`` for n >> k)."""
    return np.array([a[:, j].min() for j in range(a.shape[1])])


def col_max(a: np.ndarray) -> np.ndarray:
    """Maximum of each column of an (n, k) array."""
    return np.array([a[:, j].max() for j in range(a.shape[1])])


@dataclass
class PointCloud:
    """Points of a laser scan, in metres.

    Attributes
    ----------
    xyz : (n, 3) float64 array of x, y, z in metres (projected CRS, or the
        scanner's local metric frame when ``crs`` is None).
    crs : pyproj CRS of the coordinates, or None for a local frame (a TLS scan
        in scanner coordinates is normal and is processed in its own frame).
    fields : other point attributes by LAS name (``classification``,
        ``return_number``, ``number_of_returns``, ``intensity``, extra
        dimensions ...), each an (n,) array.
    source : the file the points came from ("" if built in memory).
    header : a few header facts (LAS version, point format, point count).
    """

    xyz: np.ndarray
    crs: Any = None
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""
    header: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyz = np.ascontiguousarray(self.xyz, dtype=np.float64)
        if self.xyz.ndim != 2 or self.xyz.shape[1] != 3:
            raise ValueError(f"xyz must be an (n, 3) array, got shape {self.xyz.shape}")

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def x(self) -> np.ndarray:
        return self.xyz[:, 0]

    @property
    def y(self) -> np.ndarray:
        return self.xyz[:, 1]

    @property
    def z(self) -> np.ndarray:
        return self.xyz[:, 2]

    def subset(self, mask: np.ndarray) -> PointCloud:
        """A new cloud with the points selected by a boolean mask or an index array."""
        return PointCloud(self.xyz[mask], self.crs, {k: v[mask] for k, v in self.fields.items()},
                          self.source, dict(self.header))

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray, z: np.ndarray, crs: Any = None,
                    **fields: np.ndarray) -> PointCloud:
        """Build a cloud from coordinate arrays (m) and optional per-point fields."""
        return cls(np.column_stack([x, y, z]), crs, {k: np.asarray(v) for k, v in fields.items()})

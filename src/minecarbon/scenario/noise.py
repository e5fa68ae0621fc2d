"""Coordinate-hashed random fields: the source of every per-pixel random value.

Every random quantity that varies from pixel to pixel (terrain, stands, noise
in the images) is a pure function of the map coordinates, the scenario seed
and a *channel* number.  Any window of the scene can therefore be generated on
its own, in any order, and gives exactly the values it would have in a
whole-scene run: this is what lets the ``large`` scenario be written chunk by
chunk.

What is provided:

* :func:`hash_uniform` / :func:`hash_normal`: a splitmix64-style integer hash
  of integer lattice coordinates, turned into U(0, 1) or N(0, 1) values.
* :func:`value_noise`: smooth value noise on a square lattice (cell size in
  metres), quintic interpolation, values in [-1, 1].
* :func:`fbm` and :func:`ridged`: fractal sums of value noise (fractional
  Brownian motion), and its ridged variant for sharp crests and gullies.
* :func:`voronoi_cells`: jittered-lattice Voronoi cells (forest stands), with
  the id and the seed point of the nearest cell.

None of this is a published model; it is standard procedural-terrain practice.
"""

from __future__ import annotations

import numpy as np

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)
_S1 = np.uint64(0xBF58476D1CE4E5B9)
_S2 = np.uint64(0x94D049BB133111EB)
_TWO53 = float(2 ** 53)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (uint64 arrays, wrapping arithmetic)."""
    h = h ^ (h >> np.uint64(30))
    h = h * _S1
    h = h ^ (h >> np.uint64(27))
    h = h * _S2
    return h ^ (h >> np.uint64(31))


def hash_u64(ix: np.ndarray, iy: np.ndarray, seed: int, channel: int) -> np.ndarray:
    """64-bit hash of integer lattice coordinates, a seed and a channel number."""
    a = np.asarray(ix, dtype=np.int64).astype(np.uint64)
    b = np.asarray(iy, dtype=np.int64).astype(np.uint64)
    key = np.uint64((int(seed) * 1_000_003 + int(channel) * 7919) & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        h = _mix(a * _M1 + key)
        h = _mix(h ^ (b * _M2))
        h = _mix(h ^ (key * _M3))
    return h


def hash_uniform(ix: np.ndarray, iy: np.ndarray, seed: int, channel: int) -> np.ndarray:
    """U(0, 1) value per integer lattice point (float64, never exactly 0 or 1)."""
    h = hash_u64(ix, iy, seed, channel)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) / _TWO53


def hash_normal(ix: np.ndarray, iy: np.ndarray, seed: int, channel: int) -> np.ndarray:
    """N(0, 1) value per integer lattice point (Box-Muller on two hashed uniforms)."""
    u1 = hash_uniform(ix, iy, seed, 2 * channel + 1_000_001)
    u2 = hash_uniform(ix, iy, seed, 2 * channel + 1_000_002)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _fade(t: np.ndarray) -> np.ndarray:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def value_noise(x_m: np.ndarray, y_m: np.ndarray, cell_m: float, seed: int, channel: int) -> np.ndarray:
    """Smooth value noise in [-1, 1] on a square lattice of ``cell_m`` metres.

    Parameters
    ----------
    x_m, y_m : map coordinates (m), any (broadcastable) shape.
    cell_m : lattice spacing (m): the size of the features.
    seed, channel : which field.
    """
    fx = np.asarray(x_m, dtype=np.float64) / cell_m
    fy = np.asarray(y_m, dtype=np.float64) / cell_m
    ix = np.floor(fx)
    iy = np.floor(fy)
    tx = _fade(fx - ix)
    ty = _fade(fy - iy)
    ix = ix.astype(np.int64)
    iy = iy.astype(np.int64)
    v00 = hash_uniform(ix, iy, seed, channel)
    v10 = hash_uniform(ix + 1, iy, seed, channel)
    v01 = hash_uniform(ix, iy + 1, seed, channel)
    v11 = hash_uniform(ix + 1, iy + 1, seed, channel)
    a = v00 + (v10 - v00) * tx
    b = v01 + (v11 - v01) * tx
    return 2.0 * (a + (b - a) * ty) - 1.0


def fbm(x_m: np.ndarray, y_m: np.ndarray, cell_m: float, octaves: int, seed: int, channel: int,
        persistence: float = 0.5, lacunarity: float = 2.0) -> np.ndarray:
    """Fractional Brownian motion: normalised sum of value-noise octaves, roughly in [-1, 1]."""
    total = np.zeros(np.broadcast(np.asarray(x_m), np.asarray(y_m)).shape)
    amp = 1.0
    norm = 0.0
    cell = cell_m
    for o in range(octaves):
        total += amp * value_noise(x_m, y_m, cell, seed, channel * 64 + o)
        norm += amp
        amp *= persistence
        cell /= lacunarity
    return total / norm


def ridged(x_m: np.ndarray, y_m: np.ndarray, cell_m: float, octaves: int, seed: int, channel: int) -> np.ndarray:
    """Ridged fractal noise in [0, 1]: 1 on sharp crest lines, falling off to 0 between them."""
    n = fbm(x_m, y_m, cell_m, octaves, seed, channel, persistence=0.45)
    return (1.0 - np.abs(n) * 1.6).clip(0.0, 1.0) ** 2


def voronoi_cells(x_m: np.ndarray, y_m: np.ndarray, cell_m: float, seed: int,
                  channel: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Jittered-lattice Voronoi cells (e.g. forest stands).

    Returns
    -------
    (cell_ix, cell_iy, seed_x_m, seed_y_m) : int64 lattice index of the nearest
        cell (the stand id) and the map coordinates (m) of its seed point.
    """
    x = np.asarray(x_m, dtype=np.float64)
    y = np.asarray(y_m, dtype=np.float64)
    cx = np.floor(x / cell_m).astype(np.int64)
    cy = np.floor(y / cell_m).astype(np.int64)
    best = np.full(x.shape, np.inf)
    bix = np.zeros(x.shape, dtype=np.int64)
    biy = np.zeros(x.shape, dtype=np.int64)
    bsx = np.zeros(x.shape)
    bsy = np.zeros(x.shape)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            jx, jy = cx + dx, cy + dy
            sx = (jx + 0.1 + 0.8 * hash_uniform(jx, jy, seed, channel)) * cell_m
            sy = (jy + 0.1 + 0.8 * hash_uniform(jx, jy, seed, channel + 1)) * cell_m
            d = (x - sx) ** 2 + (y - sy) ** 2
            closer = d < best
            best = np.where(closer, d, best)
            bix = np.where(closer, jx, bix)
            biy = np.where(closer, jy, biy)
            bsx = np.where(closer, sx, bsx)
            bsy = np.where(closer, sy, bsy)
    return bix, biy, bsx, bsy

"""Simulated terrain: loess hills and mountains of central Shanxi.

The elevation (m) is a sum of coordinate-hashed fractal fields (see
:mod:`.noise`), so any window can be generated on its own:

* a regional surface (9 km features, +-~300 m) around 1380 m,
* ridged noise (3 km) for mountain crests (+0..230 m),
* ridged noise (1.4 km) cut downward for loess gullies (-0..110 m),
* a little fine relief (240 m features, +-12 m).

Elevations fall roughly in 1000-1800 m.  Slope and aspect come from central
differences over one pixel; the topographic position index (TPI, m) is the
elevation above the regional surface (positive on ridges, negative in
gullies).  Terrain illumination uses the cosine of the solar incidence angle.
"""

from __future__ import annotations

import numpy as np

from .noise import fbm, ridged

BASE_ELEVATION_M = 1380.0


def elevation_parts(x_m: np.ndarray, y_m: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Elevation (m) and topographic position index (m) at map coordinates."""
    regional = 330.0 * fbm(x_m, y_m, 9000.0, 3, seed, 1)
    crest = 230.0 * ridged(x_m, y_m, 3000.0, 4, seed, 2)
    gully = -110.0 * ridged(x_m, y_m, 1400.0, 3, seed, 3)
    fine = 12.0 * fbm(x_m, y_m, 240.0, 2, seed, 4)
    tpi = crest + gully + fine - 80.0
    return BASE_ELEVATION_M + regional + 80.0 + tpi, tpi


def elevation(x_m: np.ndarray, y_m: np.ndarray, seed: int) -> np.ndarray:
    """Elevation (m) at map coordinates."""
    return elevation_parts(x_m, y_m, seed)[0]


def regional_elevation(x_m: np.ndarray, y_m: np.ndarray, seed: int) -> np.ndarray:
    """The smooth regional surface (m) that the climate grid follows (lapse rate)."""
    return BASE_ELEVATION_M + 80.0 + 330.0 * fbm(x_m, y_m, 9000.0, 3, seed, 1)


def slope_aspect(z_halo_m: np.ndarray, pixel_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope (degrees) and aspect (degrees clockwise from north, downslope) by central differences.

    ``z_halo_m`` has one pixel of halo on every side; the result is two pixels
    smaller in each dimension.  Rows run from north to south.
    """
    dz_dx = (z_halo_m[1:-1, 2:] - z_halo_m[1:-1, :-2]) / (2.0 * pixel_m)
    dz_dy = (z_halo_m[:-2, 1:-1] - z_halo_m[2:, 1:-1]) / (2.0 * pixel_m)  # northward
    slope_deg = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))
    aspect_deg = np.degrees(np.arctan2(-dz_dx, -dz_dy)) % 360.0
    return slope_deg, aspect_deg


def point_slope_aspect(x_m: np.ndarray, y_m: np.ndarray, pixel_m: float,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect (degrees) at points, with the same stencil as :func:`slope_aspect`."""
    ze = elevation(x_m + pixel_m, y_m, seed)
    zw = elevation(x_m - pixel_m, y_m, seed)
    zn = elevation(x_m, y_m + pixel_m, seed)
    zs = elevation(x_m, y_m - pixel_m, seed)
    dz_dx = (ze - zw) / (2.0 * pixel_m)
    dz_dy = (zn - zs) / (2.0 * pixel_m)
    slope_deg = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))
    aspect_deg = np.degrees(np.arctan2(-dz_dx, -dz_dy)) % 360.0
    return slope_deg, aspect_deg


def illumination(slope_deg: np.ndarray, aspect_deg: np.ndarray, sun_elevation_deg: float,
                 sun_azimuth_deg: float, diffuse_share: float = 0.3) -> np.ndarray:
    """Relative illumination of the terrain (1 on flat ground).

    ``(1 - d) * cos(i) / cos(z) + d`` where ``i`` is the solar incidence angle
    on the slope, ``z`` the solar zenith angle and ``d`` the share of diffuse
    light, clipped to [0.15, 1.8].
    """
    zen = np.radians(90.0 - sun_elevation_deg)
    s = np.radians(slope_deg)
    cos_i = np.cos(zen) * np.cos(s) + np.sin(zen) * np.sin(s) * np.cos(
        np.radians(sun_azimuth_deg) - np.radians(aspect_deg))
    return ((1.0 - diffuse_share) * np.maximum(cos_i, 0.0) / np.cos(zen) + diffuse_share).clip(0.15, 1.8)

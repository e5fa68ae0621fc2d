"""Terrain variables from a DEM (3 x 3 neighbourhoods).

Cell layout (row 0 is north)::

    z1 z2 z3
    z4 z5 z6
    z7 z8 z9

* ``elevation`` (m): the DEM itself.
* ``slope`` (degrees), Horn (1981), as ``gdaldem slope``:
  dz/dx = ((z3 + 2 z6 + z9) - (z1 + 2 z4 + z7)) / (8 dx),
  dz/dy = ((z1 + 2 z2 + z3) - (z7 + 2 z8 + z9)) / (8 dy) (y northwards),
  slope = atan(sqrt(dz/dx^2 + dz/dy^2)).
* ``aspect`` (degrees clockwise from north, 0-360: the direction the slope
  faces), as ``gdaldem aspect``; NaN on flat cells (gdaldem writes -9999
  there).  ``aspect_sin`` / ``aspect_cos`` are its sine and cosine (0 on flat
  cells), the form to give a model.
* ``tpi`` (m), topographic position index: z5 - mean of the 8 neighbours
  (Wilson et al. 2007; ``gdaldem TPI``).
* ``tri`` (m), terrain ruggedness index after Riley et al. (1999):
  sqrt(sum over the 8 neighbours of (z_k - z5)^2) (``gdaldem TRI``, its
  default since GDAL 3.3).
* ``roughness`` (m): largest minus smallest value of the 3 x 3 window
  (``gdaldem roughness``).
* ``curvature``, ``plan_curvature``, ``profile_curvature`` (1/m), from the
  Zevenbergen & Thorne (1987) quadratic: D = ((z4 + z6)/2 - z5)/dx^2,
  E = ((z2 + z8)/2 - z5)/dy^2, F = (-z1 + z3 + z7 - z9)/(4 dx dy),
  G = (z6 - z4)/(2 dx), H = (z2 - z8)/(2 dy);
  ``curvature`` = -2 (D + E);
  ``profile_curvature`` = -2 (D G^2 + E H^2 + F G H) / (G^2 + H^2);
  ``plan_curvature`` = -2 (D H^2 + E G^2 - F G H) / (G^2 + H^2).
  **Sign convention: positive = convex for all three** (a hill top, a
  shoulder where the slope steepens downhill, a spur where flow diverges);
  negative = concave.  The plan formula is the negative of the one printed
  in DOMAIN.md 2.6 / the ArcGIS help, so that plan and profile curvature
  read the same way; no x100 scaling (ArcGIS multiplies by 100).  Profile
  and plan curvature are 0 where the gradient is 0.

Neighbourhoods: a cell that is NaN or has a NaN neighbour gets NaN for every
variable (as gdaldem with nodata).  At the array border the missing neighbours are copies of the edge
cells (GDAL leaves the border as nodata unless ``-compute_edges``); the
features stage computes terrain on a DEM one pixel wider than the project
grid, so inside the grid every neighbour is real.  Dask-backed DEMs are
processed block by block with a 1-pixel halo (``dask.array.overlap`` with
``boundary="nearest"``), so chunked and unchunked results are identical.
Elevations are assumed to be in metres, like the horizontal units.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import CRSError, InputError
from .texture import _single_band

TERRAIN = ("elevation", "slope", "aspect", "aspect_sin", "aspect_cos", "tpi", "tri", "roughness",
           "curvature", "plan_curvature", "profile_curvature")
"""Terrain variables :func:`terrain` can compute."""

TERRAIN_UNITS = {"elevation": "m", "slope": "deg", "aspect": "deg", "aspect_sin": "1", "aspect_cos": "1",
                 "tpi": "m", "tri": "m", "roughness": "m", "curvature": "1/m", "plan_curvature": "1/m",
                 "profile_curvature": "1/m"}


def _terrain_kernel(zp: np.ndarray, res_x: float, res_y: float, variables: tuple[str, ...]) -> np.ndarray:
    """Terrain variables on a block padded by one cell on each side -> (n_vars, h, w) float32."""
    z = zp.astype(np.float64, copy=False)
    z1, z2, z3 = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    z4, z5, z6 = z[1:-1, :-2], z[1:-1, 1:-1], z[1:-1, 2:]
    z7, z8, z9 = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    h, w = z5.shape
    out = np.empty((len(variables), h, w), dtype=np.float32)
    cache: dict[str, np.ndarray] = {}

    def grads() -> tuple[np.ndarray, np.ndarray]:
        if "dzdx" not in cache:
            cache["dzdx"] = ((z3 + 2 * z6 + z9) - (z1 + 2 * z4 + z7)) / (8 * res_x)
            cache["dzdy"] = ((z1 + 2 * z2 + z3) - (z7 + 2 * z8 + z9)) / (8 * res_y)
        return cache["dzdx"], cache["dzdy"]

    def aspect() -> np.ndarray:
        if "aspect" not in cache:
            dzdx, dzdy = grads()
            a = np.mod(90.0 - np.degrees(np.arctan2(-dzdy, -dzdx)), 360.0)
            flat = (dzdx == 0) & (dzdy == 0)
            cache["aspect"] = np.where(flat, np.nan, a)
            cache["flat"] = flat
        return cache["aspect"]

    def zt() -> tuple[np.ndarray, ...]:
        if "D" not in cache:
            cache["D"] = ((z4 + z6) / 2 - z5) / res_x**2
            cache["E"] = ((z2 + z8) / 2 - z5) / res_y**2
            cache["F"] = (-z1 + z3 + z7 - z9) / (4 * res_x * res_y)
            cache["G"] = (z6 - z4) / (2 * res_x)
            cache["H"] = (z2 - z8) / (2 * res_y)
        return cache["D"], cache["E"], cache["F"], cache["G"], cache["H"]

    neighbours = (z1, z2, z3, z4, z6, z7, z8, z9)
    with np.errstate(invalid="ignore", divide="ignore"):
        for k, var in enumerate(variables):
            if var == "elevation":
                v = z5
            elif var == "slope":
                dzdx, dzdy = grads()
                v = np.degrees(np.arctan(np.sqrt(dzdx * dzdx + dzdy * dzdy)))
            elif var == "aspect":
                v = aspect()
            elif var in ("aspect_sin", "aspect_cos"):
                a = np.radians(aspect())
                f = np.sin if var == "aspect_sin" else np.cos
                v = np.where(cache["flat"], 0.0, f(a))
            elif var == "tpi":
                v = z5 - sum(neighbours) / 8.0
            elif var == "tri":
                v = np.sqrt(sum((n - z5) ** 2 for n in neighbours))
            elif var == "roughness":
                stack = np.stack((z1, z2, z3, z4, z5, z6, z7, z8, z9))
                v = stack.max(axis=0) - stack.min(axis=0)
            elif var == "curvature":
                d, e, _, _, _ = zt()
                v = -2.0 * (d + e)
            elif var in ("plan_curvature", "profile_curvature"):
                d, e, f_, g, hh = zt()
                g2h2 = g * g + hh * hh
                if var == "profile_curvature":
                    num = -2.0 * (d * g * g + e * hh * hh + f_ * g * hh)
                else:
                    num = -2.0 * (d * hh * hh + e * g * g - f_ * g * hh)
                v = np.where(g2h2 == 0, 0.0, num / np.where(g2h2 == 0, 1.0, g2h2))
            else:  # pragma: no cover - checked by terrain()
                raise ValueError(var)
            out[k] = v
    missing = np.isnan(z1 + z2 + z3 + z4 + z5 + z6 + z7 + z8 + z9)
    if missing.any():
        out[:, missing] = np.nan
    return out


def _padded_kernel(block: np.ndarray, res_x: float, res_y: float, variables: tuple[str, ...]) -> np.ndarray:
    return _terrain_kernel(block, res_x, res_y, variables)


def _resolution(dem: xr.DataArray) -> tuple[float, float]:
    crs = dem.rio.crs
    src = dem.attrs.get("source_path", "DEM")
    if crs is None:
        raise CRSError(f"DEM {src} has no CRS; slope and curvature need horizontal units in metres. Assign "
                       f"its projected CRS (e.g. 'gdal_edit.py -a_srs EPSG:32649 dem.tif').")
    if crs.is_geographic:
        raise CRSError(f"DEM {src} is in a geographic CRS ({crs.to_string()}, degrees); terrain variables "
                       f"need metres. Reproject it (e.g. 'gdalwarp -t_srs EPSG:32649').")
    t = dem.rio.transform()
    if t.b != 0 or t.d != 0:
        raise InputError(f"DEM {src} is on a rotated grid; warp it to a north-up grid first (gdalwarp).")
    return abs(t.a), abs(t.e)


def terrain_variables(dem: xr.DataArray, variables: list[str] | tuple[str, ...]) -> xr.DataArray:
    """Several terrain variables of a (y, x) DEM in metres, stacked on ``band``.

    Parameters
    ----------
    dem : (y, x) elevation (m) on a projected, north-up grid; numpy or dask.
    variables : names from :data:`TERRAIN` (see the module docstring).

    Returns
    -------
    xarray.DataArray
        (band, y, x) float32, ``band`` = the variable names; coordinates and
        CRS of ``dem``.

    Raises
    ------
    InputError, CRSError
        Unknown variable; DEM without a projected CRS; more than 2 dimensions.
    """
    variables = tuple(variables)
    bad = [v for v in variables if v not in TERRAIN]
    if bad:
        raise InputError(f"Unknown terrain variable(s) {', '.join(bad)}; known: {', '.join(TERRAIN)}. "
                         f"Fix [features].terrain (or --vars).")
    dem = _single_band(dem, "a DEM must have one band of elevations. Extract the elevation band first.", "DEM")
    res_x, res_y = _resolution(dem)
    data = dem.data
    if hasattr(data, "map_blocks"):
        import dask.array as dsa

        from .texture import _min_chunks

        x = _min_chunks(data.astype("float64"), 1)
        g = dsa.overlap.overlap(x, depth={0: 1, 1: 1}, boundary={0: "nearest", 1: "nearest"})
        out = g.map_blocks(_padded_kernel, res_x, res_y, variables, new_axis=0,
                           chunks=((len(variables),),) + x.chunks, dtype=np.float32,
                           meta=np.empty((0, 0, 0), np.float32))
    else:
        z = np.pad(np.asarray(data, dtype=np.float64), 1, mode="edge")
        out = _terrain_kernel(z, res_x, res_y, variables)
    coords = {k: v for k, v in dem.coords.items() if k != "band"}
    res = xr.DataArray(out, dims=("band",) + dem.dims, coords={**coords, "band": list(variables)})
    res.attrs = {"units": ",".join(TERRAIN_UNITS[v] for v in variables)}
    return res


def terrain(dem: xr.DataArray, var: str) -> xr.DataArray:
    """One terrain variable of a (y, x) DEM (see :func:`terrain_variables`), float32, named ``var``."""
    out = terrain_variables(dem, [var]).isel(band=0, drop=True)
    out.attrs = {"units": TERRAIN_UNITS[var]}
    return out.rename(var)

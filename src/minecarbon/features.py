"""Remote-sensing feature variables (Appendix A): bands, spectral indices, terrain.

Functions take and return ``xarray.DataArray`` and work unchanged on numpy-
and dask-backed arrays.  Index formulas follow ``DOMAIN.md`` section 2.3
(awesome-spectral-indices definitions); RVI is pinned to NIR/Red, the meaning
it has in the Chinese forestry literature.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import xarray as xr

from .errors import InputError

# name -> (bands needed, function of a dict of band arrays, reference)
INDICES: dict[str, tuple[tuple[str, ...], Callable[..., xr.DataArray], str]] = {
    "NDVI": (("nir", "red"), lambda b: (b["nir"] - b["red"]) / (b["nir"] + b["red"]), "Rouse et al. 1974"),
    "RVI": (("nir", "red"), lambda b: b["nir"] / b["red"], "Jordan 1969 (NIR/Red, as in Chinese forestry use)"),
    "DVI": (("nir", "red"), lambda b: b["nir"] - b["red"], "Tucker 1979"),
    "EVI": (("nir", "red", "blue"),
            lambda b: 2.5 * (b["nir"] - b["red"]) / (b["nir"] + 6.0 * b["red"] - 7.5 * b["blue"] + 1.0),
            "Huete et al. 1997, doi:10.1016/S0034-4257(96)00112-5 (G=2.5, C1=6, C2=7.5, L=1)"),
    "SAVI": (("nir", "red"), lambda b: 1.5 * (b["nir"] - b["red"]) / (b["nir"] + b["red"] + 0.5),
             "Huete 1988, doi:10.1016/0034-4257(88)90106-X (L=0.5)"),
    "NDMI": (("nir", "swir1"), lambda b: (b["nir"] - b["swir1"]) / (b["nir"] + b["swir1"]),
             "Gao 1996 / Wilson & Sader 2002, doi:10.1016/S0034-4257(01)00318-2"),
    "NBR": (("nir", "swir2"), lambda b: (b["nir"] - b["swir2"]) / (b["nir"] + b["swir2"]), "Key & Benson 2006"),
    "GNDVI": (("nir", "green"), lambda b: (b["nir"] - b["green"]) / (b["nir"] + b["green"]), "Gitelson 1996"),
}

TERRAIN = ("elevation", "slope", "aspect_cos", "aspect_sin")


def reflectance(dn: xr.DataArray, scale: float, offset: float) -> xr.DataArray:
    """Digital numbers -> surface reflectance (DN x scale + offset), float32; NaN stays NaN."""
    return (dn.astype("float32") * np.float32(scale) + np.float32(offset)).astype("float32")


def spectral_index(bands: dict[str, xr.DataArray], name: str) -> xr.DataArray:
    """Compute one index from named reflectance bands (values where the denominator is 0 become NaN)."""
    key = name.upper()
    if key not in INDICES:
        raise InputError(f"Unknown spectral index {name!r}; known: {', '.join(INDICES)}. "
                         f"Fix [features].indices in the project file.")
    needed, fn, _ = INDICES[key]
    missing = [b for b in needed if b not in bands]
    if missing:
        raise InputError(f"Index {key} needs band(s) {', '.join(missing)}, which the image does not have "
                         f"(mapped bands: {', '.join(bands)}). Map them in [images].bands.")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = fn(bands)
    out = xr.where(np.isfinite(out), out, np.nan).astype("float32")
    return out.rename(key)


def _horn(z: np.ndarray, res_x: float, res_y: float) -> tuple[np.ndarray, np.ndarray]:
    """Horn (1981) gradients dz/dx (east) and dz/dy (north) on a padded block."""
    p = np.pad(z, 1, mode="edge")
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * res_x)
    dzdy = ((a + 2 * b + c) - (g + 2 * h + i)) / (8 * res_y)  # north-up rows: row 0 is north
    return dzdx, dzdy


def _terrain_block(z: np.ndarray, res_x: float, res_y: float, var: str) -> np.ndarray:
    dzdx, dzdy = _horn(z.astype(np.float64), res_x, res_y)
    if var == "slope":
        return np.degrees(np.arctan(np.hypot(dzdx, dzdy))).astype(np.float32)
    # aspect: direction the slope faces, degrees clockwise from north (gdaldem convention)
    # gdaldem: atan2(dy_south, -dx) with dy_south = -dzdy (rows increase southwards)
    aspect = np.degrees(np.arctan2(-dzdy, -dzdx))
    aspect = np.mod(90.0 - aspect, 360.0)
    if var == "aspect_cos":
        return np.cos(np.radians(aspect)).astype(np.float32)
    return np.sin(np.radians(aspect)).astype(np.float32)


def terrain(dem: xr.DataArray, var: str) -> xr.DataArray:
    """Terrain variable from a (y, x) DEM in metres: elevation, slope (deg, Horn), aspect_cos, aspect_sin.

    Edges use replicated neighbours; dask arrays use ``map_overlap`` with a
    1-pixel halo, so chunked and unchunked results are identical.
    """
    if var not in TERRAIN:
        raise InputError(f"Unknown terrain variable {var!r}; known: {', '.join(TERRAIN)}.")
    if var == "elevation":
        return dem.astype("float32").rename("elevation")
    t = dem.rio.transform()
    res_x, res_y = abs(t.a), abs(t.e)
    data = dem.data
    if hasattr(data, "map_overlap"):
        out = data.astype("float64").map_overlap(_terrain_block, depth=1, boundary="nearest",
                                                 res_x=res_x, res_y=res_y, var=var, dtype=np.float32)
    else:
        out = _terrain_block(np.asarray(data), res_x, res_y, var)
    return dem.copy(data=out).astype("float32").rename(var)


def feature_stack(bands: dict[str, xr.DataArray], dem: xr.DataArray, band_names: list[str],
                  indices: list[str], terrain_vars: list[str]) -> xr.DataArray:
    """Stack of features (band, y, x), float32, band coordinate = feature names."""
    layers = []
    for b in band_names:
        if b not in bands:
            raise InputError(f"Feature band {b!r} is not among the image bands ({', '.join(bands)}).")
        layers.append(bands[b].rename(b))
    layers += [spectral_index(bands, i) for i in indices]
    layers += [terrain(dem, v) for v in terrain_vars]
    names = [str(layer.name) for layer in layers]
    stack = xr.concat([layer.drop_vars("band", errors="ignore") for layer in layers], dim="band")
    return stack.assign_coords(band=names).astype("float32")

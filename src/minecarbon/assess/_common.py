"""Helpers shared by the assessment modules: grid checks and result metadata."""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from ..errors import GridError, InputError


def is_dask(da: xr.DataArray) -> bool:
    """True when the DataArray is backed by a dask array."""
    return hasattr(da.data, "dask")


def describe(da: xr.DataArray, what: str) -> str:
    """``what`` plus the source file when the array carries one (for error messages)."""
    src = da.attrs.get("source_path")
    return f"{what} ({src})" if src else what


def check_same_grid(a: xr.DataArray, b: xr.DataArray, what_a: str, what_b: str) -> None:
    """Raise :class:`GridError` unless ``a`` and ``b`` share shape, coordinates and CRS.

    Only the last two (y, x) dimensions are compared.
    """
    if a.shape[-2:] != b.shape[-2:]:
        raise GridError(f"{describe(a, what_a)} has {a.shape[-2]} x {a.shape[-1]} pixels but "
                        f"{describe(b, what_b)} has {b.shape[-2]} x {b.shape[-1]}; they must be on the same grid. "
                        f"Align one to the other first (gdalwarp -tr/-te, or minecarbon.grid.align).")
    for dim in ("y", "x"):
        if dim in a.coords and dim in b.coords:
            ca, cb = np.asarray(a[dim].values, float), np.asarray(b[dim].values, float)
            step = abs(ca[1] - ca[0]) if ca.size > 1 else 1.0
            if not np.allclose(ca, cb, rtol=0, atol=1e-6 * step):
                raise GridError(f"{describe(a, what_a)} and {describe(b, what_b)} have the same size but "
                                f"different {dim} coordinates (first {ca[0]:.3f} vs {cb[0]:.3f}); they are "
                                f"not on the same grid. Align one to the other first (gdalwarp, or "
                                f"minecarbon.grid.align).")
    ca, cb = _crs(a), _crs(b)
    if ca is not None and cb is not None and ca != cb:
        raise GridError(f"{describe(a, what_a)} is in {ca} but {describe(b, what_b)} is in {cb}. "
                        f"Reproject one to the other's CRS first (gdalwarp -t_srs).")


def _crs(da: xr.DataArray):
    try:
        return da.rio.crs
    except Exception:  # noqa: BLE001 - no rio accessor information
        return None


def pixel_size_m(da: xr.DataArray) -> tuple[float, float]:
    """(x, y) pixel size in CRS units from the transform, or from the coordinates."""
    try:
        t = da.rio.transform()
        if not (t.a == 1 and t.e == 1 and t.c == 0 and t.f == 0):
            return abs(t.a), abs(t.e)
    except Exception:  # noqa: BLE001
        pass
    xs, ys = np.asarray(da["x"].values, float), np.asarray(da["y"].values, float)
    if xs.size < 2 or ys.size < 2:
        raise GridError(f"{describe(da, 'raster')} has no transform and fewer than 2 pixels along an axis; "
                        f"its pixel size is unknown. Write it with a geotransform.")
    return abs(xs[1] - xs[0]), abs(ys[1] - ys[0])


def finish(out: xr.DataArray, like: xr.DataArray, name: str, units: str, long_name: str,
           **attrs) -> xr.DataArray:
    """Name the result, copy the CRS of ``like`` and set ``units`` / ``long_name`` attributes."""
    out = out.rename(name)
    crs = _crs(like)
    if crs is not None:
        out.rio.write_crs(crs, inplace=True)  # in place: rioxarray would otherwise deep-copy the data
    out.attrs = {k: v for k, v in like.attrs.items() if k not in ("units", "long_name", "source_path",
                                                                  "_FillValue", "scale_factor",
                                                                  "add_offset")}
    out.attrs.update({"units": units, "long_name": long_name, **attrs})
    return out


def require_2d(da: xr.DataArray, what: str) -> xr.DataArray:
    """Drop a length-1 ``band`` dimension; raise :class:`InputError` unless the result is (y, x)."""
    if "band" in da.dims and da.sizes["band"] == 1:
        da = da.isel(band=0, drop=True)
    if da.dims != ("y", "x"):
        raise InputError(f"{describe(da, what)} must be one band with dimensions (y, x), not "
                         f"{tuple(da.dims)} {tuple(da.shape)}. Select one band first.")
    return da

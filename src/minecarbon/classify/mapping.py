"""A year's class maps straight from its monthly composites, one task per chunk.

:func:`classify_scene` = :func:`.scene.scene_features` (gap filling, phenology, leaf-off/on spectra) followed by
:func:`.hierarchy.map_hierarchy` (forest, leaf habit, species), evaluated block by block: every spatial chunk of
the monthly cube is turned into its maps by numpy code inside one dask task. Each feature is a function of its
own pixel's series (and the terrain of the pixel), so the maps are those of the two functions applied to the whole
scene, bit for bit, at any chunk size; the block form only avoids the hundreds of small dask tasks per chunk
(gap filling per band, NDVI, masks, concatenations, rechunks) that the lazy feature cubes cost, and never holds
a feature cube larger than one chunk.
"""

from __future__ import annotations

import dask.array as da_
import numpy as np
import xarray as xr

from .hierarchy import Hierarchy, map_hierarchy
from .scene import scene_features

LAYERS = ("forest", "leaf_habit", "species_index", "species_probability", "margin", "n_clear")
"""Variables of :func:`classify_scene`'s Dataset (those of :func:`.hierarchy.map_hierarchy` plus ``n_clear``)."""

_DTYPES = (np.uint8, np.uint8, np.int16, np.float32, np.float32, np.int16)


def _maps(h: Hierarchy, monthly: xr.DataArray, yearly: xr.DataArray, extra: xr.DataArray | None,
          leaf_off_month: int, leaf_on_month: int, min_clear: int) -> xr.Dataset:
    f = scene_features(monthly, yearly, leaf_off_month=leaf_off_month, leaf_on_month=leaf_on_month,
                       min_clear=min_clear)
    species = f.species
    if extra is not None:
        species = xr.concat([species, extra.drop_vars("spatial_ref", errors="ignore")], dim="band",
                            coords="minimal", compat="override", join="override")
    ds = map_hierarchy(h, f.forest, f.rvi_off, f.leaf_off, species)
    ds["n_clear"] = f.n_clear
    return ds


def _block(m: np.ndarray, y: np.ndarray, e: np.ndarray | None = None, *, h: Hierarchy, times, bands, yearly_bands,
           extra_bands, leaf_off_month: int, leaf_on_month: int, min_clear: int) -> np.ndarray:
    monthly = xr.DataArray(m, dims=("time", "band", "y", "x"), coords={"time": times, "band": bands})
    yearly = xr.DataArray(y, dims=("band", "y", "x"), coords={"band": yearly_bands})
    extra = None if e is None else xr.DataArray(e, dims=("band", "y", "x"), coords={"band": extra_bands})
    ds = _maps(h, monthly, yearly, extra, leaf_off_month, leaf_on_month, min_clear)
    return np.stack([ds[v].transpose("y", "x").values.astype(np.float32) for v in LAYERS])


def classify_scene(h: Hierarchy, monthly: xr.DataArray, yearly: xr.DataArray, extra_species: xr.DataArray | None = None,
                   leaf_off_month: int = 1, leaf_on_month: int = 7, min_clear: int = 4) -> xr.Dataset:
    """Maps of a scene: ``map_hierarchy(scene_features(monthly, yearly))`` with ``n_clear``, block by block.

    Parameters
    ----------
    h : the fitted :class:`~.hierarchy.Hierarchy`.
    monthly : (time, band, y, x) reflectance, NaN = not clear (as :func:`.scene.scene_features`).
    yearly : (band, y, x) yearly composite on the same grid.
    extra_species : optional (band, y, x) features appended to the species features (e.g. terrain), in the
        order the hierarchy was fitted with.
    leaf_off_month, leaf_on_month, min_clear : as :func:`.scene.scene_features`.

    Returns
    -------
    Dataset of :data:`LAYERS` on (y, x) with the dtypes of :func:`.hierarchy.map_hierarchy` (``n_clear`` int16);
    dask-backed (one task per spatial chunk of ``monthly``) when ``monthly`` is, else computed.
    """
    kw = {"leaf_off_month": leaf_off_month, "leaf_on_month": leaf_on_month, "min_clear": min_clear}
    monthly = monthly.transpose("time", "band", "y", "x")
    yearly = yearly.transpose("band", "y", "x")
    if extra_species is not None:
        extra_species = extra_species.transpose("band", "y", "x")
    if monthly.chunks is None:
        return _maps(h, monthly, yearly, extra_species, **kw)
    ys, xs = monthly.chunks[2], monthly.chunks[3]
    m = monthly.data.rechunk((-1, -1, ys, xs))
    y = da_.asarray(yearly.data).rechunk((-1, ys, xs))
    args = [m, "tbyx", y, "cyx"]
    e = None
    if extra_species is not None:
        e = da_.asarray(extra_species.data).rechunk((-1, ys, xs))
        args += [e, "dyx"]

    out = da_.blockwise(_block, "oyx", *args, new_axes={"o": len(LAYERS)}, dtype=np.float32, concatenate=True,
                        meta=np.empty((0, 0, 0), np.float32), h=h, times=monthly["time"].values,
                        bands=monthly["band"].values, yearly_bands=yearly["band"].values,
                        extra_bands=None if e is None else extra_species["band"].values, **kw)
    coords = {"y": monthly["y"], "x": monthly["x"]}
    res = xr.DataArray(out, dims=("_o", "y", "x"), coords=coords)
    ds = xr.Dataset({v: res[i].astype(t).drop_vars("_o", errors="ignore") for i, (v, t) in enumerate(zip(LAYERS, _DTYPES))})
    ds.attrs = {"species_classes": ",".join(h.species_classes), **{f"leaf_habit_{k}": str(v)
                                                                   for k, v in h.rule.to_dict().items()}}
    return ds

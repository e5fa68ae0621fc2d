"""Per-year classification features of a scene from its monthly composites (and the yearly composite).

Input: the monthly surface-reflectance composites of one year, a (time, band, y, x) DataArray with NaN where
an observation is cloudy or missing, band coordinates named by their common names (``blue``, ``green``,
``red``, ``nir``, ``swir1``, ``swir2``), and optionally the yearly composite (band, y, x).

Per pixel (pure, numpy or dask alike, results independent of the chunks):

* the NDVI series and every band's series are gap-filled in time (:func:`.series.fill_gaps`: cloudy
  observations are dropped before anything is computed; a pixel with fewer than ``min_clear`` clear
  months is flagged and gets NaN features);
* phenology of the NDVI series (:func:`.phenology.phenology`); a valid series whose values never cross the
  season threshold on one side of the peak (no start or end of season) gets ``-1`` for ``sos_doy``,
  ``eos_doy`` and ``los_days`` instead of NaN, so that the classifier still sees the pixel (a sentinel a
  random forest separates, not a value);
* **species features** = filled NDVI series + phenology + filled band series;
* **forest features** = yearly bands + yearly NDVI (when a yearly composite is given) + species features;
* **leaf-off / leaf-on spectra** = the filled bands of the leaf-off and leaf-on months, and the leaf-off
  RVI (NIR / red) for :mod:`.leaf_habit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import InputError
from .phenology import phenology
from .series import fill_gaps

NO_SEASON = -1.0
"""Value of sos_doy, eos_doy and los_days of a valid series without a detected season start or end."""


@dataclass
class SceneFeatures:
    """The per-year feature cubes of a scene (all (band, y, x) except ``rvi_off``, ``n_clear``: (y, x))."""

    forest: xr.DataArray
    species: xr.DataArray
    leaf_off: xr.DataArray
    leaf_on: xr.DataArray
    rvi_off: xr.DataArray
    n_clear: xr.DataArray


def _ndvi(nir, red):
    with np.errstate(invalid="ignore", divide="ignore"):
        return (nir - red) / (nir + red)


def scene_features(monthly: xr.DataArray, yearly: xr.DataArray | None = None, leaf_off_month: int = 1,
                   leaf_on_month: int = 7, min_clear: int = 4, time_dim: str = "time",
                   band_dim: str = "band") -> SceneFeatures:
    """Features of one year (see the module text).

    Parameters
    ----------
    monthly : (time, band, y, x) reflectance, NaN = not clear; ``time`` datetime64 of one year, increasing.
    yearly : optional (band, y, x) yearly composite (same band names).
    leaf_off_month, leaf_on_month : calendar months whose (filled) spectra are the leaf-off / leaf-on spectra.
    min_clear : fewer clear months flag a pixel (NaN features).
    """
    for need in ("red", "nir"):
        if need not in [str(b) for b in monthly[band_dim].values]:
            raise InputError(f"The monthly composites have no '{need}' band (bands: "
                             f"{', '.join(map(str, monthly[band_dim].values))}).")
    months = monthly[time_dim].dt.month.values
    for what, m in (("leaf-off", leaf_off_month), ("leaf-on", leaf_on_month)):
        if m not in months:
            raise InputError(f"The {what} month {m} has no composite in the series (months: "
                             f"{', '.join(map(str, months))}).")
    bands = [str(b) for b in monthly[band_dim].values]
    ndvi = _ndvi(monthly.sel({band_dim: "nir"}), monthly.sel({band_dim: "red"}))
    # one clear mask for all bands: an observation is clear where every band is finite
    clear = np.isfinite(monthly).all(band_dim)
    filled_b = fill_gaps(monthly, clear, min_clear=min_clear, time_dim=time_dim)
    filled_v = fill_gaps(ndvi, clear, min_clear=min_clear, time_dim=time_dim)
    fb, fv = filled_b["filled"], filled_v["filled"]
    ph = phenology(fv, time_dim=time_dim)
    valid = np.isfinite(fv).all(time_dim)
    timing = ph["feature"].isin(["sos_doy", "eos_doy", "los_days"])
    ph = xr.where(timing & valid & ~np.isfinite(ph), np.float32(NO_SEASON), ph).astype(np.float32)
    feat_dim = "feature"
    v_series = fv.rename({time_dim: feat_dim}).assign_coords(
        {feat_dim: [f"ndvi_m{int(m):02d}" for m in months]})
    b_series = fb.stack(_f=(time_dim, band_dim)).transpose("_f", ...)
    b_series = b_series.drop_vars(["_f", time_dim, band_dim], errors="ignore").rename({"_f": feat_dim})
    b_series = b_series.assign_coords({feat_dim: [f"{b}_m{int(m):02d}" for m in months for b in bands]})
    ph = ph.assign_coords({feat_dim: [f"ndvi_{f}" for f in ph[feat_dim].values]})
    species = xr.concat([v_series.astype(np.float32), ph, b_series.astype(np.float32)], dim=feat_dim,
                        coords="minimal", compat="override")
    parts = []
    if yearly is not None:
        y_b = yearly.astype(np.float32).rename({band_dim: feat_dim}).assign_coords(
            {feat_dim: [f"{b}_year" for b in yearly[band_dim].values]})
        y_v = _ndvi(yearly.sel({band_dim: "nir"}), yearly.sel({band_dim: "red"})).astype(np.float32)
        parts = [y_b, y_v.expand_dims({feat_dim: ["ndvi_year"]})]
    forest = xr.concat(parts + [species], dim=feat_dim, coords="minimal", compat="override")
    t_off = int(np.flatnonzero(months == leaf_off_month)[0])
    t_on = int(np.flatnonzero(months == leaf_on_month)[0])
    off = fb.isel({time_dim: t_off}, drop=True).transpose(band_dim, ...)
    on = fb.isel({time_dim: t_on}, drop=True).transpose(band_dim, ...)
    with np.errstate(invalid="ignore", divide="ignore"):
        rvi_off = off.sel({band_dim: "nir"}, drop=True) / off.sel({band_dim: "red"}, drop=True)
    return SceneFeatures(forest=forest.rename({feat_dim: band_dim}), species=species.rename({feat_dim: band_dim}),
                         leaf_off=off, leaf_on=on, rvi_off=rvi_off, n_clear=filled_v["n_clear"])

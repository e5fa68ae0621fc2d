"""Phenology features of a (gap-filled) vegetation-index series of one season.

Per pixel, from the values v(t) at the series' dates (day of year t of the
first date's year; a series may span any dates, usually one year):

* ``vmin``, ``vmax``, ``amplitude`` = vmax - vmin;
* ``peak_doy``: date of vmax;
* ``sos_doy`` / ``eos_doy``: start / end of season, the first upward
  crossing of vmin + ``frac`` x amplitude before the peak / the last downward
  crossing after it, linearly interpolated between dates (the seasonal-amplitude threshold
  method; White et al. 1997, Global Biogeochemical Cycles 11(2):217-234 use
  frac = 0.5; TIMESAT, Jonsson & Eklundh 2004, Computers & Geosciences
  30:833-845, uses the same rule with its own fractions). NaN when the series
  does not fall below the threshold before (after) the peak;
* ``los_days`` = eos - sos;
* ``integral``: the trapezoid integral of v - vmin over the series (value x days);
* ``mean_djf``, ``mean_mam``, ``mean_jja``, ``mean_son``: mean of the values
  dated in each season (northern-hemisphere months; NaN without a date in it);
* ``h0``, ``h1_amp``, ``h1_peak_doy``, ``h2_amp``: least-squares fit of
  v = h0 + sum_k a_k cos(2 pi k t / 365.25) + b_k sin(2 pi k t / 365.25),
  k = 1, 2 (harmonic regression as in Jakubauskas et al. 2001, PE&RS
  67(4):461-470); h_k_amp = sqrt(a_k^2 + b_k^2), h1_peak_doy the date of the
  first harmonic's maximum.

A pixel with any NaN in its series (e.g. flagged by :func:`.series.fill_gaps`)
gets NaN features. Pure: DataArray (time, ...) in, DataArray (feature, ...) out.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputError

FEATURES = ("vmin", "vmax", "amplitude", "peak_doy", "sos_doy", "eos_doy", "los_days", "integral",
            "mean_djf", "mean_mam", "mean_jja", "mean_son", "h0", "h1_amp", "h1_peak_doy", "h2_amp")
SEASONS = {"mean_djf": (12, 1, 2), "mean_mam": (3, 4, 5), "mean_jja": (6, 7, 8), "mean_son": (9, 10, 11)}
YEAR_DAYS = 365.25


@numba.njit(cache=True, nogil=True)
def _season_kernel(V, t, frac, out):  # pragma: no cover - compiled
    n, m = V.shape
    for i in range(n):
        bad = False
        for j in range(m):
            if not np.isfinite(V[i, j]):
                bad = True
                break
        if bad:
            for q in range(5):
                out[i, q] = np.nan
            continue
        jp = 0
        lo = V[i, 0]
        for j in range(m):
            if V[i, j] > V[i, jp]:
                jp = j
            if V[i, j] < lo:
                lo = V[i, j]
        thr = lo + frac * (V[i, jp] - lo)
        sos = np.nan
        for j in range(1, jp + 1):  # first upward crossing before the peak
            if V[i, j - 1] < thr <= V[i, j]:
                a, b = V[i, j - 1], V[i, j]
                sos = t[j - 1] + (thr - a) / (b - a) * (t[j] - t[j - 1])
                break
        eos = np.nan
        for j in range(m - 1, jp, -1):  # last downward crossing after the peak
            if V[i, j - 1] >= thr > V[i, j]:
                a, b = V[i, j - 1], V[i, j]
                eos = t[j - 1] + (a - thr) / (a - b) * (t[j] - t[j - 1])
                break
        integ = 0.0
        for j in range(m - 1):
            integ += 0.5 * (V[i, j] + V[i, j + 1] - 2 * lo) * (t[j + 1] - t[j])
        out[i, 0] = t[jp]
        out[i, 1] = sos
        out[i, 2] = eos
        out[i, 3] = eos - sos
        out[i, 4] = integ


def _features_block(v: np.ndarray, t: np.ndarray, months: np.ndarray, frac: float) -> np.ndarray:
    shape = v.shape
    V = np.ascontiguousarray(v.reshape(-1, shape[-1]), dtype=np.float64)
    n = V.shape[0]
    out = np.full((n, len(FEATURES)), np.nan)
    with np.errstate(invalid="ignore", all="ignore"):
        out[:, 0] = V.min(axis=1)
        out[:, 1] = V.max(axis=1)
        out[:, 2] = out[:, 1] - out[:, 0]
        season = np.empty((n, 5))
        _season_kernel(V, t, frac, season)
        out[:, 3:8] = season
        for q, (name, mon) in enumerate(SEASONS.items()):
            sel = np.isin(months, mon)
            out[:, 8 + q] = V[:, sel].mean(axis=1) if sel.any() else np.nan
        w = 2 * np.pi * t / YEAR_DAYS
        H = np.column_stack([np.ones_like(t), np.cos(w), np.sin(w), np.cos(2 * w), np.sin(2 * w)])
        coef = V @ np.linalg.pinv(H).T  # (n, 5)
        out[:, 12] = coef[:, 0]
        out[:, 13] = np.hypot(coef[:, 1], coef[:, 2])
        out[:, 14] = np.mod(np.arctan2(coef[:, 2], coef[:, 1]) * YEAR_DAYS / (2 * np.pi), YEAR_DAYS)
        out[:, 15] = np.hypot(coef[:, 3], coef[:, 4])
    out[~np.all(np.isfinite(V), axis=1)] = np.nan
    return out.reshape(*shape[:-1], len(FEATURES))


def phenology(series: xr.DataArray, time_dim: str = "time", frac: float = 0.5) -> xr.DataArray:
    """Phenology features (see the module text) of a gap-filled series with datetime dates.

    Returns a float32 DataArray (``feature``, other dims...).
    """
    if time_dim not in series.dims or time_dim not in series.coords:
        raise InputError(f"The series needs a dated '{time_dim}' dimension (datetime coordinate).")
    times = pd.DatetimeIndex(series[time_dim].values)
    if len(times) < 5:
        raise InputError(f"Phenology needs at least 5 dates in the series, not {len(times)}.")
    if not 0 < frac < 1:
        raise InputError(f"The season threshold fraction must lie between 0 and 1, not {frac}.")
    y0 = pd.Timestamp(year=times[0].year, month=1, day=1)
    t = ((times - y0) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64) + 1.0  # day of year, 1 = 1 January
    if np.any(np.diff(t) <= 0):
        raise InputError("Series dates must increase strictly; sort them and merge duplicates.")
    if series.chunks is not None:
        series = series.chunk({time_dim: -1})
    out = xr.apply_ufunc(_features_block, series, kwargs={"t": t, "months": times.month.to_numpy(), "frac": frac},
                         input_core_dims=[[time_dim]], output_core_dims=[["feature"]], dask="parallelized",
                         output_dtypes=[np.float64], dask_gufunc_kwargs={"output_sizes": {"feature": len(FEATURES)}})
    out = out.assign_coords(feature=list(FEATURES)).astype(np.float32)
    out = out.transpose("feature", *[d for d in series.dims if d != time_dim])
    out.name = "phenology"
    out.attrs = {"season_threshold_fraction": frac, "first_year": int(times[0].year)}
    return out

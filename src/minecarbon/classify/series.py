"""Dated vegetation-index series: cloud gaps filled in time, clear observations counted.

An observation is *clear* where the caller's mask says so and the value is
finite; every other observation is dropped before anything is computed, so a
cloudy value never reaches the features. Gaps are filled by linear
interpolation in time (in days) between the neighbouring clear observations;
before the first and after the last clear observation the nearest clear value
is carried (no extrapolation). A pixel with fewer than ``min_clear`` clear
observations is *flagged*: its whole filled series is NaN, and ``n_clear``
tells why. Pure functions on DataArrays, numpy- or dask-backed (the time
dimension is brought into one chunk; results do not depend on the chunks).
"""

from __future__ import annotations

import numba
import numpy as np
import xarray as xr

from ..errors import InputError


def days_of(times) -> np.ndarray:
    """Days (float) since 1970-01-01 of datetime-like values."""
    t = np.asarray(times)
    if np.issubdtype(t.dtype, np.datetime64):
        return (t.astype("datetime64[s]").astype(np.int64) / 86400.0).astype(np.float64)
    try:
        return np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("Series dates must be datetimes or numbers of days.") from None


@numba.njit(cache=True, nogil=True)
def _fill_kernel(V, C, t, min_clear, out, count):  # pragma: no cover - compiled
    n, m = V.shape
    idx = np.empty(m, dtype=np.int64)
    for i in range(n):
        k = 0
        for j in range(m):
            if C[i, j] and np.isfinite(V[i, j]):
                idx[k] = j
                k += 1
        count[i] = k
        if k < max(min_clear, 1):
            for j in range(m):
                out[i, j] = np.nan
            continue
        p = 0
        for j in range(m):
            while p + 1 < k and t[idx[p + 1]] <= t[j]:
                p += 1
            a = idx[p]
            if t[j] <= t[a] or p + 1 >= k:
                out[i, j] = V[i, a]
            else:
                b = idx[p + 1]
                w = (t[j] - t[a]) / (t[b] - t[a])
                out[i, j] = V[i, a] + w * (V[i, b] - V[i, a])


def _fill_block(v: np.ndarray, c: np.ndarray, t: np.ndarray, min_clear: int) -> np.ndarray:
    shape = v.shape
    V = np.ascontiguousarray(v.reshape(-1, shape[-1]), dtype=np.float64)
    C = np.ascontiguousarray(c.reshape(-1, shape[-1]), dtype=np.bool_)
    out = np.empty_like(V)
    count = np.empty(V.shape[0], dtype=np.int64)
    _fill_kernel(V, C, t, min_clear, out, count)
    res = np.concatenate([out, count[:, None].astype(np.float64)], axis=1)
    return res.reshape(*shape[:-1], shape[-1] + 1)


def fill_gaps(values: xr.DataArray, clear: xr.DataArray | None = None, min_clear: int = 3,
              time_dim: str = "time") -> xr.Dataset:
    """Fill cloudy observations of a dated series by linear interpolation between clear ones.

    Parameters
    ----------
    values : DataArray with ``time_dim`` (datetime64 or day numbers, increasing) and any other dims.
    clear : boolean DataArray broadcastable to ``values`` (True = clear); None: every finite value is clear.
    min_clear : pixels with fewer clear observations are flagged (filled series all NaN).

    Returns
    -------
    Dataset with ``filled`` (float32, like ``values``) and ``n_clear`` (int16, no time dim).
    """
    if time_dim not in values.dims:
        raise InputError(f"The series has no '{time_dim}' dimension (it has {', '.join(map(str, values.dims))}).")
    if min_clear < 1:
        raise InputError(f"min_clear must be at least 1, not {min_clear}.")
    t = days_of(values[time_dim].values) if time_dim in values.coords else np.arange(values.sizes[time_dim], dtype=float)
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise InputError(f"Series dates must increase strictly along '{time_dim}'; sort them and merge duplicates.")
    if clear is None:
        clear = xr.ones_like(values, dtype=bool)
    clear, values = xr.broadcast(clear.astype(bool), values)
    if values.chunks is not None:
        values = values.chunk({time_dim: -1})
        clear = clear.chunk(values.chunksizes)
    m = values.sizes[time_dim]
    res = xr.apply_ufunc(_fill_block, values, clear, kwargs={"t": t, "min_clear": int(min_clear)},
                         input_core_dims=[[time_dim], [time_dim]], output_core_dims=[["_k"]],
                         dask="parallelized", output_dtypes=[np.float64],
                         dask_gufunc_kwargs={"output_sizes": {"_k": m + 1}})
    filled = res.isel(_k=slice(0, m)).rename({"_k": time_dim}).astype(np.float32)
    if time_dim in values.coords:
        filled = filled.assign_coords({time_dim: values[time_dim].values})
    filled = filled.transpose(*values.dims)
    n_clear = res.isel(_k=m).astype(np.int16).drop_vars("_k", errors="ignore")
    filled.attrs = {**values.attrs, "gap_filling": "linear in time between clear observations; ends: nearest"}
    n_clear.attrs = {"long_name": "number of clear observations", "min_clear": int(min_clear)}
    return xr.Dataset({"filled": filled, "n_clear": n_clear})

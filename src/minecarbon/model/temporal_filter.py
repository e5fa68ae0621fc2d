"""Per-pixel temporal consistency of yearly maps: a running median that keeps steps and trends.

Yearly AGC maps carry one-year shocks that are not carbon: a wet or a dry
summer changes canopy reflectance (on the simulator, canopy NIR follows the
year's precipitation: +3.75 % in a wet year reads as several t C/ha in dense
stands), as do residual clouds and haze.  A running median over ``window``
years (Tukey 1977, "Exploratory Data Analysis", ch. 7) removes shocks
shorter than half the window while keeping

* steps (excavation, occupation, planting): a median does not smear an edge
  as a mean does, as long as each segment lasts at least half the window;
* linear trends (growth): the median of an arithmetic sequence is its centre.

At the ends of the series the window is completed by odd reflection about the
end value (``2 x_0 - x_k``), so a linear trend stays unbiased there too; the
first and last years therefore keep their own values (the median of a window
symmetric about them) and are not smoothed.  Missing values (NaN) are ignored
within a window; a pixel with no value in a year stays NaN in that year.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from ..errors import InputError


def running_median_np(a: np.ndarray, window: int, axis: int = 0) -> np.ndarray:
    """Running median along ``axis`` with odd reflection at both ends (see the module docstring)."""
    if window < 1 or window % 2 == 0:
        raise InputError(f"temporal filter window must be an odd number of years >= 1, got {window}.")
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, 0)
    n = a.shape[0]
    h = window // 2
    if h == 0 or n < 3:
        return np.moveaxis(a.copy(), 0, axis)
    h = min(h, n - 1)
    pre = 2.0 * a[:1] - a[1:h + 1][::-1]
    post = 2.0 * a[-1:] - a[-h - 1:-1][::-1]
    p = np.concatenate([pre, a, post])
    win = np.lib.stride_tricks.sliding_window_view(p, 2 * h + 1, axis=0)  # (n, ..., 2h+1)
    out = _nanmedian_last(win)
    out[~np.isfinite(a)] = np.nan
    return np.moveaxis(out, 0, axis)


def _nanmedian_last(win: np.ndarray) -> np.ndarray:
    """``np.nanmedian(win, axis=-1)`` (the same values), NaN for all-NaN windows without a warning.

    ``np.nanmedian`` warns "All-NaN slice encountered" for such windows, and silencing it with
    ``warnings.catch_warnings`` is not thread-safe (the filters are process-wide: under dask's threads the
    warnings leaked to the terminal).  Sorting puts NaNs last; the median of the ``k`` values is the mean of
    the sorted values ``(k - 1) // 2`` and ``k // 2``, which is how numpy's median averages the middle pair.
    """
    srt = np.sort(win, axis=-1)
    k = np.isfinite(win).sum(axis=-1)
    lo = np.take_along_axis(srt, np.maximum((k - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(srt, np.maximum(k // 2, 0)[..., None], axis=-1)[..., 0]
    out = np.where(k % 2 == 1, lo, (lo + hi) / 2.0)
    out[k == 0] = np.nan
    return out


def running_median(stack: xr.DataArray, window: int = 5, dim: str = "year") -> xr.DataArray:
    """:func:`running_median_np` along ``dim`` of a DataArray (numpy or dask; dask chunks must hold the whole
    ``dim``, which is rechunked if needed).  Values are clipped at 0 (AGC)."""
    if dim not in stack.dims:
        raise InputError(f"temporal filter: the stack has no {dim!r} dimension (it has {stack.dims}).")
    axis = stack.get_axis_num(dim)
    data = stack.data
    if hasattr(data, "dask"):
        import dask.array as da

        data = data.rechunk({axis: -1})
        out = da.map_blocks(running_median_np, data, window, axis, dtype=np.float64)
    else:
        out = running_median_np(data, window, axis)
    res = stack.copy(data=out)
    return res.clip(min=0).astype(stack.dtype if stack.dtype.kind == "f" else np.float32)

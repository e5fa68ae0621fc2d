"""Canopy metrics of height-normalised point clouds, per pixel of a grid and per plot.

Metrics (heights above ground in metres, of the returns at or above
``min_height_m``, default 0 m; ``cover`` uses every return):

==============  ==============================================================
``max``         highest return (m)
``mean``        mean height (m)
``std``         standard deviation of heights (m, population)
``pXX``         XXth percentile of heights (m), linear interpolation between
                order statistics (numpy's default, Hyndman & Fan type 7)
``cover_2m``    share of returns above ``cover_threshold_m`` (default 2 m):
                canopy cover, 0-1 (lidR's ``pzabove2`` / 100); first returns
                only when return numbers are given
``count``       number of returns in the pixel
==============  ==============================================================

:func:`pixel_metrics` writes onto the pixels of a template ``DataArray`` (the
project grid), so the result stacks with the other feature rasters; pixels
without returns are NaN.  :func:`plot_metrics` gives the same metrics for one
set of points (a plot).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputError

__all__ = ["DEFAULT_METRICS", "metric_names", "pixel_metrics", "plot_metrics"]

DEFAULT_METRICS = ("max", "mean", "std", "p25", "p50", "p75", "p90", "p95", "cover_2m", "count")
_PCT = re.compile(r"^p(\d{1,2}|100)$")


def metric_names(metrics: Sequence[str]) -> list[str]:
    """Validate metric names (see the module docstring)."""
    out = []
    for m in metrics:
        if m in ("max", "mean", "std", "count", "cover_2m") or _PCT.match(m):
            out.append(m)
        else:
            raise InputError(f"Unknown canopy metric {m!r}; use max, mean, std, count, cover_2m or pXX "
                             f"(a percentile such as p95).")
    return out


def _group_stats(group: np.ndarray, z: np.ndarray, n_groups: int, metrics: Sequence[str]) -> dict[str, np.ndarray]:
    """Per-group metrics of ``z`` (groups 0..n_groups-1); NaN for empty groups."""
    out: dict[str, np.ndarray] = {}
    count = np.bincount(group, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s1 = np.bincount(group, weights=z, minlength=n_groups)
        mean = s1 / count
    has = count > 0
    ranked = [m for m in metrics if m == "max" or _PCT.match(m)]
    if ranked:
        # order statistics by pandas' groupby (3x faster than sorting the returns by pixel and height here,
        # benchmarks/results/als.md); quantiles interpolate linearly, numpy's default (type 7)
        gb = pd.Series(z).groupby(group, sort=True)
        qs = sorted({float(m[1:]) / 100.0 for m in ranked if m != "max"})
        qv = gb.quantile(qs) if qs else None
        for m in ranked:
            res = np.full(n_groups, np.nan)
            if m == "max":
                v = gb.max()
            else:
                v = qv.xs(float(m[1:]) / 100.0, level=-1)
            res[v.index.to_numpy(dtype=np.int64)] = v.to_numpy(dtype=float)
            out[m] = res
    for m in metrics:
        if m == "count":
            out[m] = count
        elif m == "mean":
            out[m] = np.where(has, mean, np.nan)
        elif m == "std":
            dev = z - np.nan_to_num(mean)[group]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[m] = np.where(has, np.sqrt(np.bincount(group, weights=dev * dev, minlength=n_groups)
                                               / count), np.nan)
    return {m: out[m] for m in metrics}


def _select(hag: np.ndarray, min_height_m: float) -> np.ndarray:
    return np.isfinite(hag) & (hag >= min_height_m)


def pixel_index(x: np.ndarray, y: np.ndarray, transform, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat pixel index (row * nx + col) of every point on a north-up grid, and whether it falls on the grid."""
    col = np.floor((np.asarray(x) - transform.c) / transform.a).astype(np.int64)
    row = np.floor((np.asarray(y) - transform.f) / transform.e).astype(np.int64)
    inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    return row * nx + col, inside


def group_metrics(group: np.ndarray, inside: np.ndarray, hag: np.ndarray, n_groups: int, names: Sequence[str],
                  cover_threshold_m: float = 2.0, min_height_m: float = 0.0,
                  return_number: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The metrics ``names`` (validated) of the points ``inside`` per group 0..n_groups-1 (float64, NaN empty).

    Each group's value depends only on its own points in their given order, so computing the groups of a
    grid in parts (tile by tile) gives the same numbers as computing them all at once.
    """
    height_names = [m for m in names if m != "cover_2m"]
    sel = inside & _select(hag, min_height_m)
    stats = _group_stats(group[sel], np.asarray(hag)[sel], n_groups, height_names)
    if "cover_2m" in names:
        c_sel = inside if return_number is None else inside & (np.asarray(return_number) == 1)
        tot = np.bincount(group[c_sel], minlength=n_groups).astype(float)
        above = np.bincount(group[c_sel & (np.asarray(hag) > cover_threshold_m)], minlength=n_groups).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            stats["cover_2m"] = np.where(tot > 0, above / tot, np.nan)
    return stats


def pixel_metrics(x: np.ndarray, y: np.ndarray, hag: np.ndarray, template: xr.DataArray,
                  metrics: Sequence[str] = DEFAULT_METRICS, cover_threshold_m: float = 2.0,
                  min_height_m: float = 0.0, return_number: np.ndarray | None = None) -> xr.DataArray:
    """Canopy metrics of points on the pixels of a template grid.

    Parameters
    ----------
    x, y : point coordinates in the template's CRS (m).
    hag : heights above ground (m); NaN points (noise) are ignored.
    template : (y, x) DataArray on the target grid (values unused; numpy or dask).
    metrics : metric names (module docstring).
    cover_threshold_m : height (m) above which a return counts as canopy for ``cover_2m``.
    min_height_m : lowest height (m) of returns used for the height metrics.
    return_number : LAS return numbers; when given, ``cover_2m`` uses first returns.

    Returns
    -------
    (band, y, x) float32 DataArray with one band per metric, the template's
    coordinates and CRS, ``units`` per band in ``attrs["band_units"]``.
    """
    names = metric_names(metrics)
    if "band" in template.dims:
        template = template.isel(band=0, drop=True)
    t = template.rio.transform()
    ny, nx = template.shape
    pix, inside = pixel_index(x, y, t, nx, ny)
    stats = group_metrics(pix, inside & np.isfinite(hag), hag, nx * ny, names, cover_threshold_m, min_height_m,
                          return_number)
    data = np.stack([stats[m].reshape(ny, nx) for m in names]).astype(np.float32)
    if "count" in names:
        data[names.index("count")] = np.nan_to_num(data[names.index("count")], nan=0.0)
    da = xr.DataArray(data, dims=("band", "y", "x"),
                      coords={"band": names, "y": template["y"].values, "x": template["x"].values},
                      name="canopy_metrics",
                      attrs={"band_units": ["count" if m == "count" else "fraction" if m == "cover_2m" else "m"
                                            for m in names],
                             "cover_threshold_m": cover_threshold_m, "min_height_m": min_height_m})
    da = da.rio.write_transform(t)
    if template.rio.crs is not None:
        da = da.rio.write_crs(template.rio.crs)
    return da


def plot_metrics(hag: np.ndarray, metrics: Sequence[str] = DEFAULT_METRICS, cover_threshold_m: float = 2.0,
                 min_height_m: float = 0.0, return_number: np.ndarray | None = None) -> dict[str, float]:
    """The canopy metrics of one set of points (e.g. the returns inside a plot)."""
    names = metric_names(metrics)
    hag = np.asarray(hag, dtype=float)
    fin = np.isfinite(hag)
    sel = fin & _select(hag, min_height_m)
    height_names = [m for m in names if m != "cover_2m"]
    stats = _group_stats(np.zeros(int(sel.sum()), dtype=np.int64), hag[sel], 1, height_names)
    out = {m: float(stats[m][0]) for m in height_names}
    if "cover_2m" in names:
        c_sel = fin if return_number is None else fin & (np.asarray(return_number) == 1)
        n = int(c_sel.sum())
        out["cover_2m"] = float((hag[c_sel] > cover_threshold_m).sum() / n) if n else float("nan")
    return {m: out[m] for m in names}

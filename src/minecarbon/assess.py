"""Assessment: two-date change and zonal statistics per assessment unit.

Change amount = AGC2 - AGC1 (t C/ha); change degree = (AGC2 - AGC1) / AGC1
x 100 %, nodata where AGC1 is below ``min_reference_t_ha`` (not infinity).
Zonal statistics use the population variance (ddof = 0), stated in outputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr


def change_amount(agc_ref: xr.DataArray, agc_cmp: xr.DataArray) -> xr.DataArray:
    """AGC(compare) - AGC(reference), t C/ha."""
    return (agc_cmp - agc_ref).astype("float32").rename("change_amount_t_ha")


def change_degree(agc_ref: xr.DataArray, agc_cmp: xr.DataArray, min_reference_t_ha: float = 1.0
                  ) -> xr.DataArray:
    """(AGC2 - AGC1) / AGC1 x 100 %, NaN where AGC1 < ``min_reference_t_ha``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        deg = (agc_cmp - agc_ref) / agc_ref * 100.0
    return xr.where(agc_ref >= min_reference_t_ha, deg, np.nan).astype("float32").rename("change_degree_pct")


def zonal_stats(values: np.ndarray, zones: np.ndarray, pixel_area_ha: float,
                ignore_zone: int = 0) -> pd.DataFrame:
    """count, mean, min, max, variance (population), std and sum per zone.

    ``sum_t`` is the total in t C when ``values`` are densities in t C/ha
    (sum of density x pixel area).  NaN values are skipped.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    z = np.asarray(zones).ravel().astype(np.int64)
    ok = np.isfinite(v) & (z != ignore_zone)
    v, z = v[ok], z[ok]
    rows = []
    if v.size:
        codes, inv = np.unique(z, return_inverse=True)
        cnt = np.bincount(inv)
        s = np.bincount(inv, weights=v)
        mean = s / cnt
        var = np.bincount(inv, weights=(v - mean[inv]) ** 2) / cnt
        mn = np.full(codes.size, np.inf)
        mx = np.full(codes.size, -np.inf)
        np.minimum.at(mn, inv, v)
        np.maximum.at(mx, inv, v)
        for k, code in enumerate(codes):
            rows.append({"zone": int(code), "count": int(cnt[k]), "mean": mean[k], "min": mn[k], "max": mx[k],
                         "variance": var[k], "std": np.sqrt(var[k]), "sum_t": s[k] * pixel_area_ha,
                         "area_ha": cnt[k] * pixel_area_ha})
    return pd.DataFrame(rows, columns=["zone", "count", "mean", "min", "max", "variance", "std", "sum_t",
                                       "area_ha"])

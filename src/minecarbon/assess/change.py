"""Two-date change of AGC (the standard, section 5 'temporal, two dates').

* change amount = AGC(compare) - AGC(reference), t C/ha;
* change degree = (AGC(compare) - AGC(reference)) / AGC(reference) x 100 %,
  nodata (NaN) where AGC(reference) is below ``min_reference_t_ha`` (and so
  never infinity or a huge ratio of near-zero numbers).

Both are elementwise, so numpy- and dask-backed arrays give identical results.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import InputError
from ._common import check_same_grid, finish


def change_amount(agc_ref: xr.DataArray, agc_cmp: xr.DataArray) -> xr.DataArray:
    """AGC(compare) - AGC(reference) per pixel.

    Parameters
    ----------
    agc_ref, agc_cmp : AGC density (t C/ha) of the reference and the compared year, same grid.

    Returns
    -------
    float32 DataArray ``change_amount_t_ha`` (t C/ha); NaN where either input is NaN.

    Raises
    ------
    GridError
        The two rasters are not on the same grid.
    """
    check_same_grid(agc_ref, agc_cmp, "reference AGC", "compared AGC")
    out = (agc_cmp - agc_ref).astype("float32")
    return finish(out, agc_ref, "change_amount_t_ha", "t C/ha", "AGC(compare) - AGC(reference)")


def change_degree(agc_ref: xr.DataArray, agc_cmp: xr.DataArray, min_reference_t_ha: float = 1.0
                  ) -> xr.DataArray:
    """(AGC2 - AGC1) / AGC1 x 100 per pixel.

    Parameters
    ----------
    agc_ref, agc_cmp : AGC density (t C/ha) of the reference and the compared year, same grid.
    min_reference_t_ha : the degree is NaN where AGC(reference) < this (t C/ha); must be > 0
        unless you accept NaN only for a zero reference. Default 1 t C/ha (a project choice: below
        it the ratio is dominated by map noise).

    Returns
    -------
    float32 DataArray ``change_degree_pct`` (%).
    """
    check_same_grid(agc_ref, agc_cmp, "reference AGC", "compared AGC")
    ok = (agc_ref >= min_reference_t_ha) & (agc_ref > 0)
    ref = agc_ref.where(ok)  # NaN, not 0, in the denominator: no division by zero (also lazily in dask)
    out = ((agc_cmp - agc_ref) / ref * 100.0).astype("float32")
    return finish(out, agc_ref, "change_degree_pct", "%",
                  "(AGC(compare) - AGC(reference)) / AGC(reference) x 100",
                  min_reference_t_ha=float(min_reference_t_ha))


def change_sd(sd_ref: xr.DataArray, sd_cmp: xr.DataArray, correlation: float) -> xr.DataArray:
    """SD of a per-pixel change from the two years' SDs and the correlation of their errors.

    ``sd = sqrt(sd_ref^2 + sd_cmp^2 - 2 rho sd_ref sd_cmp)`` (the variance of a difference of correlated
    errors).  The errors of one model in two years are positively correlated (the same pixel is misread the same
    way), so the change is known better than the two SDs in quadrature (``rho = 0``) suggest; ``rho`` comes from
    the re-measured plots (``minecarbon.model.temporal``).  numpy and dask alike.
    """
    if not -1.0 <= float(correlation) <= 1.0:
        raise InputError(f"error correlation must lie in [-1, 1], got {correlation}.")
    var = sd_ref ** 2 + sd_cmp ** 2 - 2.0 * float(correlation) * sd_ref * sd_cmp
    return np.sqrt(var.clip(min=0)).astype(np.float32).rename("change_sd_t_ha")

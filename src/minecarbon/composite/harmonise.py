"""Sensor harmonisation: linear per-band transformations (``data/harmonisation.csv``).

The shipped transformation is Roy et al. (2016) Table 2, OLS, ETM+ -> OLI
surface reflectance, applied to TM as well (as the Google Earth Engine
harmonisation tutorial does); each row carries its source and status.
``rho_oli = slope x rho_etm + intercept``.  OLI (Landsat 8 and 9) and MSI
(Sentinel-2) are left as they are.
"""

from __future__ import annotations

import functools
from importlib import resources

import pandas as pd

DEFAULT_TRANSFORM = "roy2016_ols_etm_to_oli"


@functools.cache
def table() -> pd.DataFrame:
    """The harmonisation table (one row per transform, sensor family and band)."""
    path = resources.files("minecarbon") / "data" / "harmonisation.csv"
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


@functools.cache
def coefficients(family: str, transform: str | None = DEFAULT_TRANSFORM) -> dict[str, tuple[float, float]]:
    """Band -> (slope, intercept) turning ``family`` reflectance into the transform's target; {} = identity."""
    if not transform:
        return {}
    t = table()
    if transform not in set(t["transform"]):
        from ..errors import InputError

        raise InputError(f"unknown harmonisation {transform!r}; use one of {', '.join(sorted(set(t['transform'])))} "
                         f"or 'none'")
    rows = t[(t["transform"] == transform) & (t["from_sensor"] == family)]
    return {str(r.common_name): (float(r.slope), float(r.intercept)) for r in rows.itertuples()}


def harmonise(rho, band: str, family: str, transform: str | None = DEFAULT_TRANSFORM):
    """Reflectance of one band of a ``family`` sensor, harmonised (numpy, dask or xarray)."""
    c = coefficients(family, transform).get(band)
    return rho if c is None else rho * c[0] + c[1]


def unharmonise(rho, band: str, family: str, transform: str | None = DEFAULT_TRANSFORM):
    """The inverse of :func:`harmonise` (target-sensor reflectance -> ``family`` reflectance; the simulator)."""
    c = coefficients(family, transform).get(band)
    return rho if c is None else (rho - c[1]) / c[0]

"""Tasseled-cap transform and the indices derived from it.

Coefficients live in ``minecarbon/data/tasseled_cap.csv``, one row per
(set, component, band) with its reference, where it was checked, and notes on
the typos in circulation.  Shipped sets (``DOMAIN.md`` 2.4):

==============  =====================================  ===================
set             sensor / input                          default for
==============  =====================================  ===================
``baig2014``    Landsat 8 OLI, TOA reflectance          landsat8, landsat9
``huang2002``   Landsat 7 ETM+, TOA reflectance         (by name)
``crist1985``   TM reflectance factor (used on SR)      landsat5, landsat7
``shi_xu2019``  Sentinel-2 MSI, 6 bands                 sentinel2*
``nedkov2017``  Sentinel-2 MSI, 13 bands (needs B10)    (by name)
==============  =====================================  ===================

TCB/TCG/TCW = coefficient row . reflectance vector, no offset.  Derived:

* ``TCA`` (tasseled-cap angle) = arctan(TCG / TCB), in **radians** (the plain
  arctan of the ratio as in Powell et al. 2010 / RStoolbox, not atan2);
* ``TCD`` (tasseled-cap distance) = sqrt(TCB^2 + TCG^2);
* ``DI`` (disturbance index, Healey et al. 2005) = B_r - (G_r + W_r) with
  X_r = (X - mean X) / std X over the forest pixels of the scene (all valid
  pixels without a forest mask).  The form is the one given in DOMAIN.md 2.4
  (paper not retrieved: standard form, unverified).  The mean and the
  population standard deviation are computed in float64 on a regular
  sub-sample of at most about one million pixels (every k-th row and column),
  so the result does not depend on dask chunking.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputError
from .indices import _quiet
from .sensors import get_sensor

COMPONENTS = ("TCB", "TCG", "TCW")
DERIVED = ("TCA", "TCD", "DI")
TC_VARIABLES = COMPONENTS + DERIVED
"""Feature names the tasseled cap can produce."""

_COMPONENT_ROWS = {"TCB": "brightness", "TCG": "greenness", "TCW": "wetness"}
DEFAULT_SET = {"landsat5": "crist1985", "landsat7": "crist1985", "landsat8": "baig2014",
               "landsat9": "baig2014", "sentinel2": "shi_xu2019", "sentinel2_pre04": "shi_xu2019",
               "sentinel2_l1c": "shi_xu2019"}
"""Coefficient set used for each sensor when none is named."""

SAMPLE_PX = 1_000_000
"""At most about this many pixels enter scene statistics (regular sub-sample)."""


@dataclass(frozen=True)
class CoefficientSet:
    """One tasseled-cap coefficient set."""

    name: str
    bands: tuple[str, ...]
    """Common band names, in the order of the coefficient columns."""
    rows: dict[str, tuple[float, ...]]
    """'brightness' / 'greenness' / 'wetness' -> coefficients."""
    sensors: tuple[str, ...]
    input_reflectance: str
    reference: str
    verified_in: str
    status: str
    note: str

    def matrix(self) -> np.ndarray:
        """(3, n_bands) array: rows brightness, greenness, wetness."""
        return np.array([self.rows[r] for r in ("brightness", "greenness", "wetness")], dtype=np.float64)


@functools.cache
def coefficient_sets() -> dict[str, CoefficientSet]:
    """All shipped tasseled-cap coefficient sets, by name."""
    path = resources.files("minecarbon") / "data" / "tasseled_cap.csv"
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype={"coefficient": float}, keep_default_na=False)
    out: dict[str, CoefficientSet] = {}
    for name, g in df.groupby("set", sort=False):
        bands = tuple(dict.fromkeys(g["band"]))
        rows = {}
        for comp, gc in g.groupby("component", sort=False):
            coef = dict(zip(gc["band"], gc["coefficient"]))
            rows[str(comp)] = tuple(float(coef[b]) for b in bands)
        first = g.iloc[0]
        out[str(name)] = CoefficientSet(name=str(name), bands=bands, rows=rows,
                                        sensors=tuple(s for s in str(first["sensors"]).split(";") if s),
                                        input_reflectance=str(first["input_reflectance"]),
                                        reference=str(first["reference"]), verified_in=str(first["verified_in"]),
                                        status=str(first["status"]), note=str(first["note"]))
    return out


def resolve_set(coefficients: str | None = None, sensor: str | None = None) -> CoefficientSet:
    """The coefficient set named ``coefficients``, or the default of ``sensor``.

    Raises
    ------
    InputError
        Neither is given, or the name is unknown.
    """
    sets = coefficient_sets()
    if coefficients not in (None, "", "auto"):
        key = str(coefficients).strip().lower()
        if key not in sets:
            raise InputError(f"Unknown tasseled-cap coefficient set {coefficients!r}; known: "
                             f"{', '.join(sets)}. Fix [features].tasseled_cap_coefficients (or --coefficients).")
        return sets[key]
    if sensor is None:
        raise InputError("The tasseled cap needs a sensor to choose its coefficients: set [images].sensor "
                         f"(or --sensor: {', '.join(DEFAULT_SET)}), or name a coefficient set "
                         f"([features].tasseled_cap_coefficients / --coefficients: {', '.join(sets)}).")
    return sets[DEFAULT_SET[get_sensor(sensor).name]]


def tasseled_cap_bands(coefficients: str | None = None, sensor: str | None = None) -> tuple[str, ...]:
    """Common band names the tasseled cap needs for this set / sensor."""
    return resolve_set(coefficients, sensor).bands


def _strided(da: xr.DataArray, max_px: int = SAMPLE_PX) -> xr.DataArray:
    """A regular sub-sample (every k-th row and column) of at most about ``max_px`` pixels."""
    n = da.sizes["y"] * da.sizes["x"]
    k = max(1, int(np.ceil(np.sqrt(n / max_px))))
    return da.isel(y=slice(None, None, k), x=slice(None, None, k))


def scene_stats(layers: list[xr.DataArray], mask: xr.DataArray | np.ndarray | None = None,
                max_px: int = SAMPLE_PX) -> list[tuple[float, float]]:
    """Mean and population standard deviation (float64) of each layer over ``mask`` (True = use).

    Computed on a regular sub-sample (see :data:`SAMPLE_PX`), in one pass for
    all layers, identical for numpy- and dask-backed arrays and for any
    chunking.
    """
    import dask

    samples = dask.compute(*[_strided(da, max_px).data for da in layers])
    mvals = None
    if mask is not None:
        m = mask if isinstance(mask, xr.DataArray) else xr.DataArray(np.asarray(mask), dims=layers[0].dims[-2:])
        mvals = np.asarray(_strided(m, max_px).values, dtype=bool)
    out = []
    for sample in samples:
        vals = np.asarray(sample, dtype=np.float64)
        if mvals is not None:
            vals = vals[mvals]
        vals = vals[np.isfinite(vals)]
        if vals.size < 2:
            raise InputError("The disturbance index (DI) needs at least 2 valid (forest) pixels to standardise "
                             "the tasseled-cap components; the scene has fewer. Check the image mask and the "
                             "forest-type map, or drop DI from the features.")
        out.append((float(vals.mean()), float(vals.std())))
    return out


def tasseled_cap(bands: Mapping[str, xr.DataArray], coefficients: str | None = None,
                 sensor: str | None = None, variables: tuple[str, ...] | list[str] = COMPONENTS,
                 forest: xr.DataArray | np.ndarray | None = None) -> xr.DataArray:
    """Tasseled-cap components and derived indices.

    Parameters
    ----------
    bands : common band name -> (y, x) reflectance.
    coefficients : coefficient set name (``baig2014``, ``huang2002``,
        ``crist1985``, ``shi_xu2019``, ``nedkov2017``); default: the sensor's.
    sensor : sensor name, used to choose the default set.
    variables : any of ``TCB, TCG, TCW, TCA, TCD, DI``.
    forest : (y, x) boolean mask of forest pixels for the DI statistics
        (default: every valid pixel).

    Returns
    -------
    xarray.DataArray
        (band, y, x) float32 with ``band`` = the variable names.  TCB/TCG/TCW
        are in reflectance units, TCA in radians, TCD in reflectance units,
        DI unitless.

    Raises
    ------
    InputError
        Unknown variable or set, missing band (named).
    """
    bad = [v for v in variables if v not in TC_VARIABLES]
    if bad:
        raise InputError(f"Unknown tasseled-cap variable(s) {', '.join(bad)}; known: {', '.join(TC_VARIABLES)}.")
    cs = resolve_set(coefficients, sensor)
    missing = [b for b in cs.bands if b not in bands]
    if missing:
        raise InputError(f"The tasseled cap ({cs.name}) needs band(s) {', '.join(missing)}, which the image "
                         f"does not have (available: {', '.join(bands) or 'none'}). Map them in [images].bands "
                         f"(or --bands), or choose another coefficient set.")
    comps: dict[str, xr.DataArray] = {}
    need = set(variables)
    if need & {"TCA", "TCD"}:
        need |= {"TCB", "TCG"}
    if "DI" in need:
        need |= {"TCB", "TCG", "TCW"}
    for name in COMPONENTS:
        if name not in need:
            continue
        row = np.array(cs.rows[_COMPONENT_ROWS[name]], dtype=np.float64)

        def dot(*arrays: np.ndarray, row: np.ndarray = row) -> np.ndarray:
            acc = np.zeros(np.shape(arrays[0]), dtype=np.float64)
            for a, c in zip(arrays, row):
                acc += np.asarray(a, dtype=np.float64) * c
            return acc

        comps[name] = xr.apply_ufunc(dot, *[bands[b] for b in cs.bands], dask="parallelized",
                                     output_dtypes=[np.float64], keep_attrs=True)
    out: dict[str, xr.DataArray] = dict(comps)
    with np.errstate(divide="ignore", invalid="ignore"):
        if "TCA" in variables:
            out["TCA"] = np.arctan(_quiet(np.divide)(comps["TCG"], comps["TCB"]))
        if "TCD" in variables:
            out["TCD"] = np.sqrt(comps["TCB"] ** 2 + comps["TCG"] ** 2)
        if "DI" in variables:
            std = {}
            stats = scene_stats([comps[name] for name in COMPONENTS], forest)
            for name, (mu, sd) in zip(COMPONENTS, stats):
                std[name] = (comps[name] - mu) / sd
            out["DI"] = std["TCB"] - (std["TCG"] + std["TCW"])
    layers = [out[v].where(np.isfinite(out[v])).astype("float32").rename(v) for v in variables]
    stack = xr.concat(layers, dim="band").assign_coords(band=list(variables))
    stack.attrs["tasseled_cap_coefficients"] = cs.name
    return stack

"""Relative radiometric normalisation of yearly images on pseudo-invariant pixels.

Yearly composites differ radiometrically (sensor gains and calibration,
residual atmospheric effects, sensor changes TM -> ETM+ -> OLI).  A model
trained on plots of some years then reads those differences as carbon change.
Relative normalisation brings every year onto the radiometry of a reference
year using pixels whose surface did not change (pseudo-invariant features,
PIFs: Schott, Salvaggio & Volchok 1988, Remote Sensing of Environment
26:1-16; automatic PIF selection: Canty, Nielsen & Schmidt 2004, RSE
91:441-451).

Model (per band b and year y): ``rho_y,b = g_y,b * rho_ref,b`` on invariant
surfaces, i.e. a multiplicative gain without offset (surface reflectance is
already corrected for the path radiance, which is what an offset would
absorb).  The gain is estimated robustly:

1. candidate pixels are given by the caller: surfaces expected to be stable,
   e.g. non-forest in both years and outside every disturbance, planned and
   reclamation polygon (forest is left out on purpose: its reflectance changes
   as it grows, and normalising on it would erase real growth);
2. per pixel and band the log ratio ``ln(rho_y / rho_ref)``; the gain is
   ``exp(median)`` over pixels;
3. pixels whose log ratio lies more than ``k_mad`` robust SDs (1.4826 x MAD)
   from the median in any band are dropped (land that changed after all:
   crops rotated, new buildings, cloud residue), and step 2 is repeated
   ``n_iter`` times.

The estimated gains, the number of PIFs and the residual scatter are
returned so that the stage can write them and the report show them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import InputError

MIN_PIF = 200
"""Fewer invariant pixels than this: the gain is not estimated (the year is left as it is, with a warning)."""


@dataclass(frozen=True)
class BandGain:
    """Gain of one band of one year relative to the reference year."""

    band: str
    gain: float
    n_pif: int
    mad_log: float
    """Robust scatter (1.4826 x MAD) of the log ratio over the final PIFs."""


def sample_pixels(candidates: np.ndarray, max_pixels: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of at most ``max_pixels`` candidate pixels, evenly spread (deterministic)."""
    rows, cols = np.nonzero(np.asarray(candidates, dtype=bool))
    if rows.size > max_pixels:
        take = np.linspace(0, rows.size - 1, max_pixels).round().astype(np.int64)
        rows, cols = rows[take], cols[take]
    return rows, cols


def values_at(layer: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values of a (y, x) layer at pixel indices (numpy or dask; float64)."""
    data = layer.data
    if hasattr(data, "vindex"):
        return np.asarray(data.vindex[rows, cols].compute(), dtype=np.float64)
    return np.asarray(data, dtype=np.float64)[rows, cols]


def estimate_gains(year_values: dict[str, np.ndarray], ref_values: dict[str, np.ndarray], n_iter: int = 3,
                   k_mad: float = 3.0, min_pif: int = MIN_PIF) -> list[BandGain] | None:
    """Per-band gains of a year relative to the reference from values at the same candidate pixels.

    Parameters
    ----------
    year_values, ref_values : band name -> 1-D reflectance at the candidate pixels (same order).
    n_iter : outlier-rejection rounds.
    k_mad : rejection threshold in robust SDs.
    min_pif : fewest usable pixels; fewer gives ``None`` (not estimated).

    Returns
    -------
    One :class:`BandGain` per band (in the order of ``ref_values``), or ``None``.
    """
    bands = [b for b in ref_values if b in year_values]
    if not bands:
        raise InputError("Radiometric normalisation: the year and the reference year share no band.")
    lr = []
    ok = np.ones(len(ref_values[bands[0]]), dtype=bool)
    for b in bands:
        y, r = np.asarray(year_values[b], float), np.asarray(ref_values[b], float)
        good = np.isfinite(y) & np.isfinite(r) & (y > 0) & (r > 0)
        ok &= good
        with np.errstate(divide="ignore", invalid="ignore"):
            lr.append(np.where(good, np.log(np.where(good, y, 1.0) / np.where(good, r, 1.0)), np.nan))
    L = np.vstack(lr)  # (band, pixel)
    keep = ok.copy()
    for _ in range(max(1, n_iter)):
        if keep.sum() < min_pif:
            return None
        med = np.median(L[:, keep], axis=1)
        sd = 1.4826 * np.median(np.abs(L[:, keep] - med[:, None]), axis=1)
        sd = np.maximum(sd, 1e-6)
        new = ok & np.all(np.abs(L - med[:, None]) <= k_mad * sd[:, None], axis=0)
        if np.array_equal(new, keep):
            break
        keep = new
    if keep.sum() < min_pif:
        return None
    med = np.median(L[:, keep], axis=1)
    sd = 1.4826 * np.median(np.abs(L[:, keep] - med[:, None]), axis=1)
    n = int(keep.sum())
    return [BandGain(b, float(np.exp(m)), n, float(s)) for b, m, s in zip(bands, med, sd)]


def apply_gains(refl: dict[str, xr.DataArray], gains: list[BandGain]) -> dict[str, xr.DataArray]:
    """The reflectance bands divided by their gains (lazy for dask); bands without a gain are unchanged."""
    by_band = {g.band: g.gain for g in gains}
    return {b: (da / by_band[b]).astype(da.dtype) if b in by_band else da for b, da in refl.items()}

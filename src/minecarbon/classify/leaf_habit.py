"""Evergreen vs deciduous forest: an RVI threshold learned from samples, with the leaf-off green fraction.

The standard (section 4.3 c) splits forest into evergreen and deciduous by an
RVI threshold combined with spectral unmixing. RVI = NIR / red (the meaning
used in Chinese forestry; see ``features/indices.py``). In the leaf-off season
an evergreen canopy keeps its needles or leaves, so its RVI (and its green-
vegetation fraction from :func:`.unmix.unmix`) stays high while a deciduous
canopy's falls towards that of bark and soil. A fixed RVI value does not
carry across sensors, dates or atmospheric correction, so the threshold is
**learned from labelled samples** (:func:`learn_threshold`): the cut that
maximises the balanced accuracy (mean of the two classes' recalls, Youden's J
+ 1 over 2) on the training samples, taken midway between neighbouring sample
values. Inside cross-validation it is re-learned on each training fold
(:func:`cv_threshold`). The user may pin a value instead.

The combined rule (:func:`leaf_habit`) calls a pixel evergreen when its
leaf-off RVI is on the evergreen side of the RVI threshold and, when a green
fraction is given, that fraction is on the evergreen side of its own learned
threshold too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import InputError

EVERGREEN, DECIDUOUS = "evergreen", "deciduous"
LEAF_HABIT_CODES = {1: EVERGREEN, 2: DECIDUOUS}
"""Codes of the leaf-habit map (0 = not forest / no data)."""


def rvi(nir: xr.DataArray, red: xr.DataArray) -> xr.DataArray:
    """Ratio vegetation index NIR / red (float32); NaN where red <= 0 or either is missing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = xr.where(red > 0, nir / red, np.nan)
    return out.astype(np.float32).rename("rvi")


@dataclass(frozen=True)
class Threshold:
    """A learned (or pinned) cut on one variable."""

    value: float
    evergreen_above: bool
    """True: values above ``value`` are evergreen."""
    balanced_accuracy: float
    """On the samples it was learned from (NaN when pinned)."""
    n: int = 0

    def is_evergreen(self, x):
        return (x > self.value) if self.evergreen_above else (x < self.value)


def learn_threshold(values: Sequence[float], evergreen: Sequence[bool], min_per_class: int = 3) -> Threshold:
    """Cut of one variable that best separates evergreen from deciduous samples (max balanced accuracy).

    Ties are broken by the cut nearest the middle of the tying range (the midpoint of the widest margin).
    """
    x = np.asarray(values, dtype=float)
    e = np.asarray(evergreen, dtype=bool)
    ok = np.isfinite(x)
    x, e = x[ok], e[ok]
    ne, nd = int(e.sum()), int((~e).sum())
    if ne < min_per_class or nd < min_per_class:
        raise InputError(f"Learning the leaf-habit threshold needs at least {min_per_class} evergreen and "
                         f"{min_per_class} deciduous samples with a value; there are {ne} and {nd}. Add labelled "
                         f"samples or pin the threshold.")
    order = np.argsort(x, kind="stable")
    xs, es = x[order], e[order]
    # cut after position k (k = 0..n-2) between distinct values
    cum_e = np.cumsum(es)
    cum_d = np.cumsum(~es)
    k = np.nonzero(np.diff(xs) > 0)[0]
    if k.size == 0:
        raise InputError("Every sample has the same value; no threshold can be learned. Check the leaf-off image.")
    cuts = 0.5 * (xs[k] + xs[k + 1])
    # evergreen above: TPR_e = evergreen above cut / ne; TNR = deciduous at or below / nd
    ba_above = 0.5 * ((ne - cum_e[k]) / ne + cum_d[k] / nd)
    ba_below = 0.5 * (cum_e[k] / ne + (nd - cum_d[k]) / nd)
    above = ba_above.max() >= ba_below.max()
    ba = ba_above if above else ba_below
    best = np.flatnonzero(np.isclose(ba, ba.max(), rtol=0, atol=1e-12))
    pick = best[len(best) // 2]
    return Threshold(value=float(cuts[pick]), evergreen_above=bool(above), balanced_accuracy=float(ba[pick]),
                     n=int(len(x)))


def cv_threshold(values: Sequence[float], evergreen: Sequence[bool], splits: list[tuple[np.ndarray, np.ndarray]],
                 min_per_class: int = 3) -> np.ndarray:
    """Out-of-fold evergreen calls (bool, NaN-valued samples False) with the threshold re-learned per fold."""
    x = np.asarray(values, dtype=float)
    e = np.asarray(evergreen, dtype=bool)
    pred = np.zeros(len(x), dtype=bool)
    for tr, te in splits:
        thr = learn_threshold(x[tr], e[tr], min_per_class)
        pred[te] = thr.is_evergreen(x[te])
    return pred


def leaf_habit(rvi_leaf_off: xr.DataArray, rvi_threshold: Threshold, forest: xr.DataArray | None = None,
               gv_fraction: xr.DataArray | None = None, gv_threshold: Threshold | None = None) -> xr.DataArray:
    """Leaf-habit map (uint8): 1 evergreen, 2 deciduous, 0 not forest or no data (see :data:`LEAF_HABIT_CODES`)."""
    if (gv_fraction is None) != (gv_threshold is None):
        raise InputError("Give both the green-vegetation fraction and its threshold, or neither.")
    ever = rvi_threshold.is_evergreen(rvi_leaf_off)
    valid = rvi_leaf_off.notnull()
    if gv_fraction is not None:
        ever = ever & gv_threshold.is_evergreen(gv_fraction)
        valid = valid & gv_fraction.notnull()
    if forest is not None:
        valid = valid & forest.astype(bool)
    out = xr.where(valid, xr.where(ever, 1, 2), 0).astype(np.uint8).rename("leaf_habit")
    out.attrs = {"codes": "1 evergreen, 2 deciduous, 0 not forest/no data", "rvi_threshold": rvi_threshold.value,
                 "rvi_evergreen_above": int(rvi_threshold.evergreen_above)}
    return out

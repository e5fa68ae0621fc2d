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

Combination with unmixing (:func:`learn_rule`): with the leaf-off green-
vegetation fraction as a second variable, the rule is chosen among "RVI
only", "fraction only", "RVI and fraction" and "RVI or fraction" (each
variable on the evergreen side of its own cut), cuts and rule jointly, by
the balanced accuracy on the training samples. Ties go to the combined rules
(the standard's method: "and" before "or"), and among tying pairs of cuts to
the pair nearest the middle of the tying set (the widest margin); a single
variable wins only when strictly better. Which rule won, and both cuts, are reported. On real MODIS data
(``tests/classify/test_realdata_classify.py``) leaf-off RVI alone overlaps
between a spruce and a beech site in some winters; the green fraction
separates them.
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


def _cuts(x: np.ndarray, max_cuts: int = 256) -> np.ndarray:
    u = np.unique(x[np.isfinite(x)])
    c = 0.5 * (u[1:] + u[:-1])
    if c.size > max_cuts:
        c = np.unique(np.quantile(c, np.linspace(0, 1, max_cuts)))
    return c


def combined_ba(px: np.ndarray, pg: np.ndarray, e: np.ndarray, rule: str) -> np.ndarray:
    """Balanced accuracy (cx, cg) of the rule ``px[i] and/or pg[j]`` against ``e`` for every pair of cuts.

    ``px`` (cx, n) and ``pg`` (cg, n): the samples' evergreen calls of each cut of the two variables. The counts
    come from products of 0/1 matrices (``(px * e) @ pg.T`` = evergreen samples called evergreen by both; "or" by
    inclusion-exclusion), exact integers in float64, so the accuracies equal those of the (cx, cg, n) boolean
    cube of every combined call, without the cube (65,536 x n booleans and its temporaries at 256 cuts each).
    """
    pxf, pgf = px.astype(np.float64), pg.astype(np.float64)
    ef, df = e.astype(np.float64), (~e).astype(np.float64)
    ev_both = (pxf * ef) @ pgf.T  # evergreen samples called evergreen by both cuts
    de_both = (pxf * df) @ pgf.T  # deciduous samples called evergreen by both cuts
    if rule == "and":
        ev_called, de_called = ev_both, de_both
    elif rule == "or":
        ev_called = (pxf @ ef)[:, None] + (pgf @ ef)[None, :] - ev_both
        de_called = (pxf @ df)[:, None] + (pgf @ df)[None, :] - de_both
    else:
        raise ValueError(f"rule must be 'and' or 'or', not {rule!r}")
    ne, nd = int(e.sum()), int((~e).sum())
    return 0.5 * (ev_called / ne + (nd - de_called) / nd)


@dataclass(frozen=True)
class LeafHabitRule:
    """Leaf-habit rule: RVI cut, optional green-fraction cut, and how they combine."""

    rule: str
    """'rvi', 'gv', 'and' or 'or'."""
    rvi: Threshold
    gv: Threshold | None
    balanced_accuracy: float

    def is_evergreen(self, rvi_off, gv_off=None):
        if self.rule == "rvi" or self.gv is None:
            return self.rvi.is_evergreen(rvi_off)
        if gv_off is None:
            raise InputError(f"The leaf-habit rule '{self.rule}' needs the leaf-off green-vegetation fraction.")
        if self.rule == "gv":
            return self.gv.is_evergreen(gv_off)
        a, b = self.rvi.is_evergreen(rvi_off), self.gv.is_evergreen(gv_off)
        return (a & b) if self.rule == "and" else (a | b)

    def to_dict(self) -> dict:
        d = {"rule": self.rule, "balanced_accuracy": self.balanced_accuracy, "rvi_threshold": self.rvi.value,
             "rvi_evergreen_above": self.rvi.evergreen_above}
        if self.gv is not None:
            d.update(gv_threshold=self.gv.value, gv_evergreen_above=self.gv.evergreen_above)
        return d


def learn_rule(rvi_off: Sequence[float], evergreen: Sequence[bool], gv_off: Sequence[float] | None = None,
               min_per_class: int = 3) -> LeafHabitRule:
    """Learn the leaf-habit rule (see the module text) from labelled samples."""
    x = np.asarray(rvi_off, dtype=float)
    e = np.asarray(evergreen, dtype=bool)
    t_rvi = learn_threshold(x, e, min_per_class)
    if gv_off is None:
        return LeafHabitRule("rvi", t_rvi, None, t_rvi.balanced_accuracy)
    g = np.asarray(gv_off, dtype=float)
    ok = np.isfinite(x) & np.isfinite(g)
    x, g, e = x[ok], g[ok], e[ok]
    t_rvi = learn_threshold(x, e, min_per_class)
    t_gv = learn_threshold(g, e, min_per_class)
    cx, cg = _cuts(x), _cuts(g)
    px = (x[None, :] > cx[:, None]) if t_rvi.evergreen_above else (x[None, :] < cx[:, None])  # (cx, n)
    pg = (g[None, :] > cg[:, None]) if t_gv.evergreen_above else (g[None, :] < cg[:, None])
    best: LeafHabitRule | None = None
    for rule in ("and", "or"):  # the standard's combination first: it wins ties
        ba = combined_ba(px, pg, e, rule)
        ii, jj = np.nonzero(ba >= ba.max() - 1e-12)
        k = int(np.argmin((ii - ii.mean()) ** 2 + (jj - jj.mean()) ** 2))  # middle of the tying cuts
        i, j = int(ii[k]), int(jj[k])
        if best is None or ba[i, j] > best.balanced_accuracy + 1e-12:
            best = LeafHabitRule(rule, Threshold(float(cx[i]), t_rvi.evergreen_above, np.nan, len(x)),
                                 Threshold(float(cg[j]), t_gv.evergreen_above, np.nan, len(x)), float(ba[i, j]))
    for rule, t in (("rvi", t_rvi), ("gv", t_gv)):
        if t.balanced_accuracy > best.balanced_accuracy + 1e-12:
            best = LeafHabitRule(rule, t_rvi, t_gv, t.balanced_accuracy)
    return best


def leaf_habit(rvi_leaf_off: xr.DataArray, rule: LeafHabitRule | Threshold, forest: xr.DataArray | None = None,
               gv_fraction: xr.DataArray | None = None) -> xr.DataArray:
    """Leaf-habit map (uint8): 1 evergreen, 2 deciduous, 0 not forest or no data (see :data:`LEAF_HABIT_CODES`).

    ``rule``: a learned :class:`LeafHabitRule` or a pinned RVI :class:`Threshold`.
    """
    if isinstance(rule, Threshold):
        rule = LeafHabitRule("rvi", rule, None, np.nan)
    uses_gv = rule.rule != "rvi" and rule.gv is not None
    if uses_gv and gv_fraction is None:
        raise InputError(f"The leaf-habit rule '{rule.rule}' needs the leaf-off green-vegetation fraction.")
    ever = rule.is_evergreen(rvi_leaf_off, gv_fraction if uses_gv else None)
    valid = rvi_leaf_off.notnull()
    if uses_gv:
        valid = valid & gv_fraction.notnull()
    if forest is not None:
        valid = valid & forest.astype(bool)
    out = xr.where(valid, xr.where(ever, 1, 2), 0).astype(np.uint8).rename("leaf_habit")
    out.attrs = {"codes": "1 evergreen, 2 deciduous, 0 not forest/no data",
                 **{k: (float(v) if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) else str(v))
                    for k, v in rule.to_dict().items()}}
    return out

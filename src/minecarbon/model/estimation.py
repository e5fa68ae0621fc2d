"""Model-assisted estimation of area totals and of change from field plots, with the map as the model.

The map alone is biased wherever the model is (the plots say by how much); the plots
alone are few.  The estimators here combine them: the map supplies the total over every
pixel, the plots estimate the map's error, and the interval comes from the plots'
sampling design, not from the model.  Formulas, sources and assumptions are in
``docs/estimation.md``; in short, for one domain (or one stratum) with
:math:`N` population units (pixels) :math:`U`, :math:`n` plots :math:`s`, field values
:math:`y_i` and map values :math:`\\hat y_i` at the plots and the map total
:math:`\\sum_U \\hat y_k`:

Difference estimator (``method="difference"``; Särndal, Swensson & Wretman 1992, ch. 6;
Stehman 2009; McRoberts 2011)
    :math:`e_i = y_i - \\hat y_i`,
    :math:`\\hat T = \\sum_U \\hat y_k + N\\,\\bar e_s`,
    :math:`\\hat V = N^2 (1 - n/N)\\, s_e^2 / n` with
    :math:`s_e^2 = \\sum_s (e_i - \\bar e_s)^2 / (n-1)`; degrees of freedom :math:`n-1`.

Regression (GREG) estimator (``method="regression"``; Särndal et al. 1992, ch. 6, and ch. 7
for strata; Cochran 1977, ch. 7 for the :math:`n-2` form)
    :math:`y \\approx a + b\\hat y` fitted by ordinary least squares on the plots,
    :math:`e_i = y_i - a - b\\hat y_i`,
    :math:`\\hat T = N a + b \\sum_U \\hat y_k + N \\bar e_s` (:math:`\\bar e_s = 0` with the intercept),
    :math:`\\hat V = N^2 (1 - n/N) \\sum_s e_i^2 / (n (n-2))`; degrees of freedom :math:`n-2`.
    Needs only :math:`N` and :math:`\\sum_U \\hat y_k`, not the pixel values.

Stratified (``strata=`` labels of the plots, ``stratum_sizes`` :math:`N_h`,
``stratum_map_totals`` :math:`\\sum_{U_h} \\hat y_k`)
    the estimator above in every stratum :math:`h` with its own :math:`N_h, n_h` (and, for
    ``regression``, its own :math:`a_h, b_h`: the "separate" regression estimator);
    :math:`\\hat T = \\sum_h \\hat T_h`, :math:`\\hat V = \\sum_h \\hat V_h`, and the degrees of
    freedom by **Satterthwaite** (1946):
    :math:`\\nu = (\\sum_h \\hat V_h)^2 / \\sum_h (\\hat V_h^2 / \\nu_h)` with
    :math:`\\nu_h = n_h - 1` (difference) or :math:`n_h - 2` (regression); strata with
    :math:`\\hat V_h = 0` (e.g. censused) drop out of the sum.

Interval: :math:`\\hat T \\pm t_{\\nu,(1+\\text{level})/2}\\,\\sqrt{\\hat V}` (Student t).

Change between two years from re-measured plots (:func:`greg_change`) applies the same
estimator to :math:`\\Delta y_i = y_{1,i} - y_{0,i}` with the map change
:math:`\\Delta\\hat y_i = \\hat y_{1,i} - \\hat y_{0,i}` and the map change total.  Because the
same plots are measured twice, the two years' residuals are correlated (a map that is too
low on a plot in one year tends to be too low there in the next); for the difference
estimator :math:`\\hat V(\\Delta) = \\hat V_0 + \\hat V_1 - 2\\,\\widehat{\\mathrm{Cov}}` exactly, so the
change SE is below :math:`\\sqrt{\\hat V_0 + \\hat V_1}` (the two year SEs in quadrature) when
the residual correlation is positive.  :class:`ChangeResult` returns that correlation.

Units: the estimator is linear in ``y``, so the total has the units of ``y`` times a count
of units.  With ``y`` in t C/ha per pixel, ``map_total`` = the sum of the map's t C/ha over
the pixels and the result is in "t C/ha x pixels"; ``result.scaled(pixel_area_ha)`` turns
it into t C, and :func:`density` divides a total in t C by an area in ha.

Validity: design-based (unbiased, honest interval) only when the plots are a probability
sample of the domain (simple random or stratified random, inclusion probability
:math:`n_h/N_h`).  For purposively placed plots the same numbers are a *model-based*
interval that assumes the plot residuals are exchangeable with those of all pixels.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError

__all__ = [
    "METHODS",
    "ChangeResult",
    "DensityResult",
    "EstimationInputError",
    "GregResult",
    "StratumRow",
    "density",
    "greg_change",
    "greg_estimate",
]

METHODS = ("difference", "regression")
#: label of the single row of an unstratified (SRS) estimate
ALL = "all"


class EstimationInputError(InputError):
    """Plots, map totals or population sizes given to a model-assisted estimator are unusable."""


@dataclass(frozen=True)
class StratumRow:
    """One stratum of an estimate (the whole domain, labelled ``"all"``, for SRS).

    ``a``, ``b``: the model :math:`y \\approx a + b\\hat y` (``0, 1`` for the difference
    estimator).  ``mean_residual``: :math:`\\bar e_s` (0 for regression).  ``variance`` is
    :math:`\\hat V_h` and ``se`` its square root; ``correction = estimate - map_total``.
    """

    stratum: Hashable
    n: int
    N: int
    map_total: float
    estimate: float
    se: float
    variance: float
    df: int
    correction: float
    mean_residual: float
    a: float
    b: float

    def scaled(self, factor: float) -> StratumRow:
        f = float(factor)
        return replace(self, map_total=self.map_total * f, estimate=self.estimate * f,
                       se=self.se * abs(f), variance=self.variance * f * f,
                       correction=self.correction * f, mean_residual=self.mean_residual * f,
                       a=self.a * f)


@dataclass(frozen=True)
class GregResult:
    """A model-assisted estimate of a total (see the module docstring for the formulas).

    Fields: ``estimate`` (total), ``se``, ``lo``/``hi`` (Student-t interval at ``level``),
    ``map_total`` (sum of the map over the domain), ``correction`` (estimate - map_total:
    what the plots say the map misses), ``n`` (plots), ``N`` (population units), ``df``
    (degrees of freedom: n-1 or n-2 for SRS, Satterthwaite for strata), ``method``
    (``"difference"``/``"regression"``), ``design`` (``"srs"``/``"stratified"``),
    ``df_method`` (``"n-1"``, ``"n-2"`` or ``"satterthwaite"``), ``level`` and ``strata``
    (one :class:`StratumRow` per stratum).
    """

    estimate: float
    se: float
    lo: float
    hi: float
    map_total: float
    correction: float
    n: int
    N: int
    df: float
    method: str
    design: str
    df_method: str
    level: float
    strata: tuple[StratumRow, ...] = field(default_factory=tuple)

    def scaled(self, factor: float) -> GregResult:
        """The same estimate in other units: totals, SE and interval times ``factor``
        (e.g. the pixel area in ha, to turn "t C/ha x pixels" into t C)."""
        f = float(factor)
        lo, hi = sorted((self.lo * f, self.hi * f))
        return replace(self, estimate=self.estimate * f, se=self.se * abs(f), lo=lo, hi=hi,
                       map_total=self.map_total * f, correction=self.correction * f,
                       strata=tuple(r.scaled(f) for r in self.strata))

    def strata_table(self) -> pd.DataFrame:
        """The per-stratum rows as a DataFrame (one row per stratum)."""
        return pd.DataFrame([asdict(r) for r in self.strata])

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (strata as a list of dicts), e.g. for JSON."""
        d = asdict(self)
        d["strata"] = [asdict(r) for r in self.strata]
        return d


@dataclass(frozen=True)
class ChangeResult:
    """A model-assisted estimate of the change of a total between two years (year1 - year0).

    Fields as :class:`GregResult` (``estimate``, ``se``, ``lo``, ``hi``, ``correction``,
    ``n``, ``N``, ``df``, ``method``, ``design``, ``df_method``, ``level``, ``strata`` -
    the rows of the estimator applied to the plot changes) plus ``map_change``
    (map_total1 - map_total0), ``year0`` / ``year1`` (the single-year
    :class:`GregResult`), ``se_quadrature`` (:math:`\\sqrt{se_0^2 + se_1^2}`, the SE if the
    two years were independent samples), ``residual_correlation`` (the estimated
    correlation of the two year estimates, :math:`\\widehat{\\mathrm{Cov}}/(se_0 se_1)`; for
    one stratum this is the Pearson correlation of the plots' residuals of the two years)
    and ``stratum_residual_correlation`` (that correlation per stratum).
    """

    estimate: float
    se: float
    lo: float
    hi: float
    map_change: float
    correction: float
    n: int
    N: int
    df: float
    method: str
    design: str
    df_method: str
    level: float
    se_quadrature: float
    residual_correlation: float
    year0: GregResult
    year1: GregResult
    strata: tuple[StratumRow, ...] = field(default_factory=tuple)
    stratum_residual_correlation: Mapping[Hashable, float] = field(default_factory=dict)

    def scaled(self, factor: float) -> ChangeResult:
        """The same change in other units (totals, SEs and intervals times ``factor``)."""
        f = float(factor)
        lo, hi = sorted((self.lo * f, self.hi * f))
        return replace(self, estimate=self.estimate * f, se=self.se * abs(f), lo=lo, hi=hi,
                       map_change=self.map_change * f, correction=self.correction * f,
                       se_quadrature=self.se_quadrature * abs(f),
                       year0=self.year0.scaled(f), year1=self.year1.scaled(f),
                       strata=tuple(r.scaled(f) for r in self.strata))

    def strata_table(self) -> pd.DataFrame:
        """Per-stratum rows of the change estimator, with their residual correlation."""
        df = pd.DataFrame([asdict(r) for r in self.strata])
        df["residual_correlation"] = [self.stratum_residual_correlation.get(r.stratum, math.nan)
                                      for r in self.strata]
        return df

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["strata"] = [asdict(r) for r in self.strata]
        d["year0"] = self.year0.to_dict()
        d["year1"] = self.year1.to_dict()
        d["stratum_residual_correlation"] = dict(self.stratum_residual_correlation)
        return d


@dataclass(frozen=True)
class DensityResult:
    """A mean per hectare = a total divided by the domain's area (see :func:`density`).

    ``estimate``, ``se``, ``lo``, ``hi``, ``map_value`` (the map's mean per ha, or its
    change) and ``correction`` are the total's divided by ``area_ha``; ``df`` and
    ``level`` are the total's.
    """

    estimate: float
    se: float
    lo: float
    hi: float
    map_value: float
    correction: float
    area_ha: float
    df: float
    level: float


# ----------------------------------------------------------------------------- checks


def _err(msg: str) -> EstimationInputError:
    return EstimationInputError(msg)


def _vector(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        a = a.ravel()
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        i = int(bad[0])
        raise _err(f"{name}[{i}] = {float(a[i])!r} is not a finite number ({bad.size} such value(s) in "
                   f"{name}); drop those plots or fill their value before estimating.")
    return a


def _scalar(x: Any, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise _err(f"{name} = {x!r} is not a number.") from None
    if not math.isfinite(v):
        raise _err(f"{name} = {v!r} is not a finite number; give the map's sum over the domain.")
    return v


def _count(x: Any, name: str) -> int:
    v = _scalar(x, name)
    if v != math.floor(v) or v < 1:
        raise _err(f"{name} = {x!r} must be a positive whole number of population units (pixels).")
    return int(v)


def _check_level(level: float) -> float:
    lv = _scalar(level, "level")
    if not 0.0 < lv < 1.0:
        raise _err(f"level = {level!r} must lie strictly between 0 and 1 (e.g. 0.95).")
    return lv


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise _err(f"method = {method!r} is unknown; use one of {', '.join(METHODS)}.")
    return method


def _same_length(arrays: dict[str, np.ndarray]) -> int:
    sizes = {k: v.size for k, v in arrays.items()}
    if len(set(sizes.values())) != 1:
        listing = ", ".join(f"{k}: {s}" for k, s in sizes.items())
        raise _err(f"the plot arrays have different lengths ({listing}); give one value per plot "
                   "in each.")
    return next(iter(sizes.values()))


def _min_plots(method: str) -> int:
    return 2 if method == "difference" else 3


# ----------------------------------------------------------------------------- core


def _one_stratum(y: np.ndarray, yhat: np.ndarray, N: int, map_total: float, method: str,
                 label: Hashable) -> tuple[StratumRow, np.ndarray]:
    """Estimate of one stratum (or the whole SRS domain) and the plot residuals."""
    n = y.size
    where = "" if label == ALL else f" in stratum {label!r}"
    need = _min_plots(method)
    if n < need:
        raise _err(f"{n} plot(s){where}: the {method} estimator needs at least {need} plots per "
                   f"stratum to estimate its variance; add {need - n} plot(s){where}, merge the "
                   f"stratum with a neighbour" + (", or use method='difference' (needs 2)"
                                                  if method == "regression" else "") + ".")
    if n > N:
        raise _err(f"{n} plots{where} but only {N} population units (pixels) in it; the plots "
                   "must be a sample of the domain's units - check n_population/stratum_sizes "
                   "and the pixel size.")
    fpc = 1.0 - n / N
    if method == "difference":
        a, b = 0.0, 1.0
        e = y - yhat
        ebar = float(e.mean())
        s2 = float(np.sum((e - ebar) ** 2)) / (n - 1)
        estimate = map_total + N * ebar
        df = n - 1
    else:
        xbar, ybar = float(yhat.mean()), float(y.mean())
        dx = yhat - xbar
        sxx = float(np.sum(dx * dx))
        if not sxx > 1e-12 * max(1.0, float(np.sum(yhat * yhat))):
            raise _err(f"the map values at the plots{where} are all equal ({xbar!r}), so the "
                       "regression y ~ a + b*map cannot be fitted; use method='difference'.")
        b = float(np.sum(dx * (y - ybar))) / sxx
        a = ybar - b * xbar
        e = y - a - b * yhat
        ebar = float(e.mean())  # 0 up to rounding
        s2 = float(np.sum(e * e)) / (n - 2)
        estimate = N * a + b * map_total + N * ebar
        df = n - 2
    variance = N * N * fpc * s2 / n
    row = StratumRow(stratum=label, n=n, N=N, map_total=map_total, estimate=estimate,
                     se=math.sqrt(variance), variance=variance, df=df,
                     correction=estimate - map_total, mean_residual=ebar, a=a, b=b)
    return row, e


def _combine(rows: list[StratumRow], level: float, method: str, design: str
             ) -> tuple[float, float, float, float, float, str]:
    """Total, SE, interval and df of independent strata (Satterthwaite df for >1 stratum)."""
    estimate = math.fsum(r.estimate for r in rows)
    variance = math.fsum(r.variance for r in rows)
    if design == "srs":
        df = float(rows[0].df)
        df_method = "n-1" if method == "difference" else "n-2"
    else:
        df_method = "satterthwaite"
        denom = math.fsum(r.variance ** 2 / r.df for r in rows if r.variance > 0)
        df = variance ** 2 / denom if denom > 0 else float(sum(r.df for r in rows))
    se = math.sqrt(variance)
    t = float(stats.t.ppf(0.5 + level / 2.0, df))
    return estimate, se, estimate - t * se, estimate + t * se, df, df_method


def _strata_inputs(n: int, strata: Any, stratum_sizes: Any, totals: dict[str, Any],
                   n_population: Any, map_totals: dict[str, Any]
                   ) -> tuple[np.ndarray | None, dict[Hashable, int], dict[str, dict[Hashable, float]]]:
    """Check the stratum arguments; returns labels, N_h and the map totals per stratum."""
    if strata is None:
        if stratum_sizes is not None or any(v is not None for v in totals.values()):
            raise _err("stratum_sizes / stratum_map_totals were given without strata; give "
                       "strata (one label per plot) as well, or leave all three out for a "
                       "simple random sample.")
        return None, {}, {}
    labels = np.asarray(strata, dtype=object).ravel()
    if labels.size != n:
        raise _err(f"strata has {labels.size} labels but there are {n} plots; give one stratum "
                   "label per plot.")
    if stratum_sizes is None:
        raise _err("strata were given without stratum_sizes; give the number of population "
                   "units (pixels) of every stratum, e.g. {'forest': 12000, 'shrub': 3000}.")
    sizes = {k: _count(v, f"stratum_sizes[{k!r}]") for k, v in dict(stratum_sizes).items()}
    per = {}
    for name, tot in totals.items():
        if tot is None:
            raise _err(f"strata were given without {name}; give the map's sum over every "
                       "stratum, e.g. {'forest': 5.1e5, 'shrub': 4.0e4}.")
        per[name] = {k: _scalar(v, f"{name}[{k!r}]") for k, v in dict(tot).items()}
        if set(per[name]) != set(sizes):
            missing = sorted(map(str, set(sizes) - set(per[name])))
            extra = sorted(map(str, set(per[name]) - set(sizes)))
            raise _err(f"{name} and stratum_sizes name different strata (missing in {name}: "
                       f"{missing or 'none'}; not in stratum_sizes: {extra or 'none'}); give both "
                       "for the same strata.")
    unknown = sorted({str(s) for s in labels if s not in sizes})
    if unknown:
        raise _err(f"plots are labelled with strata {unknown} that are not in stratum_sizes; "
                   "fix the plots' stratum labels or add those strata with their sizes and map "
                   "totals.")
    if n_population is not None:
        npop = _count(n_population, "n_population")
        if npop != sum(sizes.values()):
            raise _err(f"n_population = {npop} but the stratum sizes add up to "
                       f"{sum(sizes.values())}; pass n_population=None or make them agree.")
    for name, tot in map_totals.items():
        if tot is None:
            continue
        t = _scalar(tot, name)
        s = math.fsum(per[_STRATUM_TOTALS_OF[name]].values())
        if abs(t - s) > 1e-9 * max(1.0, abs(t), abs(s)):
            raise _err(f"{name} = {t!r} but the map totals of the strata add up to {s!r}; pass "
                       f"{name}=None or make them agree.")
    return labels, sizes, per


_STRATUM_TOTALS_OF = {"map_total": "stratum_map_totals",
                      "map_total0": "stratum_map_totals0",
                      "map_total1": "stratum_map_totals1"}


def _estimate(y: np.ndarray, yhat: np.ndarray, labels: np.ndarray | None,
              sizes: dict[Hashable, int], stratum_totals: dict[Hashable, float] | None,
              map_total: float | None, n_population: int | None, method: str, level: float
              ) -> tuple[GregResult, dict[Hashable, np.ndarray]]:
    """The estimate and, per stratum, the plot residuals (for the change covariances)."""
    if labels is None:
        row, e = _one_stratum(y, yhat, n_population, map_total, method, ALL)
        rows, res = [row], {ALL: e}
        design = "srs"
    else:
        rows, res = [], {}
        for h, Nh in sizes.items():
            ih = np.flatnonzero(labels == h)
            row, e = _one_stratum(y[ih], yhat[ih], Nh, stratum_totals[h], method, h)
            rows.append(row)
            res[h] = e
        design = "stratified"
    est, se, lo, hi, df, df_method = _combine(rows, level, method, design)
    mt = math.fsum(r.map_total for r in rows)
    result = GregResult(estimate=est, se=se, lo=lo, hi=hi, map_total=mt, correction=est - mt,
                        n=int(y.size), N=int(sum(r.N for r in rows)), df=df, method=method,
                        design=design, df_method=df_method, level=level, strata=tuple(rows))
    return result, res


# ----------------------------------------------------------------------------- API


def greg_estimate(y: Any, yhat: Any, map_total: float | None, n_population: int | None,
                  strata: Any = None, stratum_sizes: Mapping[Hashable, int] | None = None,
                  stratum_map_totals: Mapping[Hashable, float] | None = None,
                  method: str = "difference", level: float = 0.95) -> GregResult:
    """Model-assisted estimate of a domain total from plots, with the map as the model.

    Parameters
    ----------
    y : array-like, one value per plot
        Field (plot) values, e.g. AGC density in t C/ha.
    yhat : array-like, one value per plot
        The map's value at each plot, same units as ``y``.
    map_total : float or None
        :math:`\\sum_U \\hat y_k`, the map summed over every population unit (pixel) of the
        domain (units of ``y`` x count).  May be None when ``strata`` are given (it is then
        the sum of ``stratum_map_totals``; if given it must agree).
    n_population : int or None
        :math:`N`, the number of population units (pixels) of the domain; None allowed with
        strata (the sum of ``stratum_sizes``; if given it must agree).
    strata : array-like of labels, one per plot, optional
        Stratum of each plot, for a stratified random sample.
    stratum_sizes : mapping label -> N_h, required with ``strata``
    stratum_map_totals : mapping label -> map sum over the stratum, required with ``strata``
    method : ``"difference"`` (default) or ``"regression"``
        See the module docstring.  The difference estimator needs >= 2 plots per stratum,
        the regression estimator >= 3 and plots with different map values.
    level : float
        Confidence level of the Student-t interval (default 0.95).

    Returns
    -------
    GregResult
        ``estimate``, ``se``, ``lo``, ``hi``, ``map_total``, ``correction``, ``n``, ``N``,
        ``df``, ``method``, ``design``, ``df_method``, ``level``, ``strata``.

    Raises
    ------
    EstimationInputError
        Non-finite values, arrays of different lengths, too few plots in a stratum, more
        plots than units, unknown strata, inconsistent totals, bad method or level.
    """
    method, level = _check_method(method), _check_level(level)
    y, yhat = _vector(y, "y"), _vector(yhat, "yhat")
    n = _same_length({"y": y, "yhat": yhat})
    labels, sizes, per = _strata_inputs(n, strata, stratum_sizes,
                                        {"stratum_map_totals": stratum_map_totals},
                                        n_population, {"map_total": map_total})
    if labels is None:
        if map_total is None or n_population is None:
            raise _err("map_total and n_population are required without strata.")
        mt, npop = _scalar(map_total, "map_total"), _count(n_population, "n_population")
        result, _ = _estimate(y, yhat, None, {}, None, mt, npop, method, level)
    else:
        result, _ = _estimate(y, yhat, labels, sizes, per["stratum_map_totals"], None, None,
                                 method, level)
    return result


def greg_change(y0: Any, y1: Any, yhat0: Any, yhat1: Any, map_total0: float | None,
                map_total1: float | None, n_population: int | None, strata: Any = None,
                stratum_sizes: Mapping[Hashable, int] | None = None,
                stratum_map_totals0: Mapping[Hashable, float] | None = None,
                stratum_map_totals1: Mapping[Hashable, float] | None = None,
                method: str = "difference", level: float = 0.95) -> ChangeResult:
    """Model-assisted estimate of the change of a total (year1 - year0) from re-measured plots.

    The plots are the same in both years (paired: element ``i`` of every array is plot
    ``i``).  The estimator of :func:`greg_estimate` is applied to the plot changes
    :math:`\\Delta y = y_1 - y_0` with the map changes :math:`\\Delta\\hat y = \\hat y_1 - \\hat y_0`
    and the map change total ``map_total1 - map_total0`` (per stratum likewise).

    For ``method="difference"`` the change estimate equals ``year1.estimate -
    year0.estimate`` and its variance is exactly :math:`\\hat V_0 + \\hat V_1 - 2\\widehat{Cov}`
    with :math:`\\widehat{Cov} = \\sum_h N_h^2 (1-f_h) c_h / n_h`, :math:`c_h` the sample
    covariance of the two years' residuals: positively correlated residuals (a map that is
    wrong on a plot in the same direction in both years) make the change SE smaller than
    ``se_quadrature``.  For ``method="regression"`` the change has its own fit
    :math:`\\Delta y \\approx a + b\\Delta\\hat y`, so it is not exactly the difference of the two
    single-year regression estimates.

    Parameters are those of :func:`greg_estimate`, per year; ``strata`` are the plots'
    strata (the same in both years).  Returns a :class:`ChangeResult`.
    """
    method, level = _check_method(method), _check_level(level)
    y0, y1 = _vector(y0, "y0"), _vector(y1, "y1")
    yhat0, yhat1 = _vector(yhat0, "yhat0"), _vector(yhat1, "yhat1")
    n = _same_length({"y0": y0, "y1": y1, "yhat0": yhat0, "yhat1": yhat1})
    labels, sizes, per = _strata_inputs(
        n, strata, stratum_sizes,
        {"stratum_map_totals0": stratum_map_totals0, "stratum_map_totals1": stratum_map_totals1},
        n_population, {"map_total0": map_total0, "map_total1": map_total1})
    if labels is None:
        if map_total0 is None or map_total1 is None or n_population is None:
            raise _err("map_total0, map_total1 and n_population are required without strata.")
        mt0, mt1 = _scalar(map_total0, "map_total0"), _scalar(map_total1, "map_total1")
        npop = _count(n_population, "n_population")
        r0, e0 = _estimate(y0, yhat0, None, {}, None, mt0, npop, method, level)
        r1, e1 = _estimate(y1, yhat1, None, {}, None, mt1, npop, method, level)
        rd, _ = _estimate(y1 - y0, yhat1 - yhat0, None, {}, None, mt1 - mt0, npop, method,
                             level)
    else:
        t0, t1 = per["stratum_map_totals0"], per["stratum_map_totals1"]
        r0, e0 = _estimate(y0, yhat0, labels, sizes, t0, None, None, method, level)
        r1, e1 = _estimate(y1, yhat1, labels, sizes, t1, None, None, method, level)
        rd, _ = _estimate(y1 - y0, yhat1 - yhat0, labels, sizes,
                             {h: t1[h] - t0[h] for h in sizes}, None, None, method, level)
    # covariance of the two year estimates, with the divisor of each method's variance
    cov, rho_h = 0.0, {}
    for row in r0.strata:
        h = row.stratum
        a0, a1 = e0[h], e1[h]
        nh, Nh = row.n, row.N
        if method == "difference":
            c = float(np.sum((a0 - a0.mean()) * (a1 - a1.mean()))) / (nh - 1)
            v0 = float(np.sum((a0 - a0.mean()) ** 2)) / (nh - 1)
            v1 = float(np.sum((a1 - a1.mean()) ** 2)) / (nh - 1)
        else:
            c = float(np.sum(a0 * a1)) / (nh - 2)
            v0, v1 = float(np.sum(a0 * a0)) / (nh - 2), float(np.sum(a1 * a1)) / (nh - 2)
        rho_h[h] = c / math.sqrt(v0 * v1) if v0 > 0 and v1 > 0 else math.nan
        cov += Nh * Nh * (1.0 - nh / Nh) * c / nh
    rho = cov / (r0.se * r1.se) if r0.se > 0 and r1.se > 0 else math.nan
    map_change = r1.map_total - r0.map_total
    return ChangeResult(estimate=rd.estimate, se=rd.se, lo=rd.lo, hi=rd.hi, map_change=map_change,
                        correction=rd.estimate - map_change, n=rd.n, N=rd.N, df=rd.df,
                        method=method, design=rd.design, df_method=rd.df_method, level=level,
                        se_quadrature=math.hypot(r0.se, r1.se), residual_correlation=rho,
                        year0=r0, year1=r1, strata=rd.strata, stratum_residual_correlation=rho_h)


def density(result: GregResult | ChangeResult, area_ha: float) -> DensityResult:
    """Mean per hectare of a total (or of a change): every value divided by ``area_ha``.

    ``result`` must be in mass units (e.g. t C): with ``y`` in t C/ha per pixel, pass
    ``result.scaled(pixel_area_ha)``.  The area is a known constant (the domain's pixel
    count x pixel area), so the interval is the total's interval divided by it.
    """
    area = _scalar(area_ha, "area_ha")
    if not area > 0:
        raise _err(f"area_ha = {area_ha!r} must be > 0 (the domain's area in hectares).")
    mapv = result.map_change if isinstance(result, ChangeResult) else result.map_total
    return DensityResult(estimate=result.estimate / area, se=result.se / area,
                         lo=result.lo / area, hi=result.hi / area, map_value=mapv / area,
                         correction=result.correction / area, area_ha=area, df=result.df,
                         level=result.level)

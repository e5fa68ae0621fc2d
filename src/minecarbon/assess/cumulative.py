"""Cumulative effect of mining on AGC: actual minus ideal carbon accumulation (the standard, section 5).

What the guide says (``STANDARD.md`` section 5): over a period, the cumulative
effect is the actual carbon accumulation minus the ideal carbon accumulation.
The actual accumulation comes from the yearly AGC maps; the ideal one from a
multiple linear regression (MLR) of AGC before mining on environmental factors
(climate: temperature, precipitation), i.e. what AGC would have accumulated
under natural factors alone.  The change is graded by natural breaks into five
classes (high negative, low negative, no obvious, low positive, high
positive).  The guide's own formulas were not found (``DOMAIN.md`` section 4),
so the following operationalisation is the project's, stated here in full:

* period: from ``start_year`` (default the assessment's reference year) to
  ``end_year`` (default the compared year);
* **actual accumulation** (t C/ha) = AGC(end) - AGC(start), from the maps;
* **ideal accumulation**, two model forms (option ``kind``):

  - ``"increment"`` (default): the annual increment
    dAGC(t) = AGC(t) - AGC(t-1) is regressed on the climate of year t
    (temperature, precipitation, any extra covariates) and on AGC(t-1) (the
    stand's current carbon, which carries the slowing of growth as stands
    mature); the fit uses the pre-mining years only.  The ideal trajectory
    starts from the mapped AGC of the start year and is stepped forward with
    each later year's climate: I(t) = max(0, I(t-1) + f(climate(t), I(t-1))).
    Ideal accumulation = I(end) - AGC(start).
  - ``"level"``: AGC(t) itself is regressed on the climate of year t (the
    literal reading of the guide); ideal accumulation =
    f(climate(end)) - f(climate(start)).  Under a pooled fit this form only
    carries the effect of climate change, not stand growth, so it is not the
    default.

* how the regression is pooled (option ``fit``): ``"forest_type"`` (default;
  one MLR per forest type of the base year, pooled over the undisturbed
  training pixels of that type - the guide, section 4.3, notes that models per
  forest type are more accurate, and pre-mining periods are usually a few
  years, too short for per-pixel fits), ``"pooled"`` (one MLR for all types), or
  ``"pixel"`` (one MLR per pixel on climate only, when there are at least
  ``n_covariates + 3`` pre-mining years; pixels that cannot be fitted fall back
  to their forest type's model);
* training pixels: a mask given by the caller (the pipeline uses the forest
  units that were forest in the base year: persistent, to-be-damaged and
  damaged forest) and the years before mining started;
* pixels that were not forest in the base year (no forest-type group) have an
  ideal accumulation of 0: without intervention no forest would have grown
  there;
* **cumulative effect** = actual - ideal accumulation (t C/ha): negative where
  mining (or anything the climate model does not know about) held carbon
  below its natural course.

Regressions use scikit-learn's ``LinearRegression``; everything after the fit
is elementwise, so numpy- and dask-backed stacks give identical results.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import xarray as xr

from ..errors import InputError
from ._common import check_same_grid, describe, finish

log = logging.getLogger(__name__)

EFFECT_CLASSES = {1: ("high negative", "高负效应"), 2: ("low negative", "低负效应"),
                  3: ("no obvious", "无明显效应"), 4: ("low positive", "低正效应"),
                  5: ("high positive", "高正效应")}
"""The five cumulative-effect grades of the guide, by natural breaks (1 = lowest effect)."""

LAYERS = ("actual_t_ha", "ideal_t_ha", "effect_t_ha")
"""Names along the ``layer`` dimension of :func:`cumulative_effect`."""

Kind = Literal["increment", "level"]
Fit = Literal["forest_type", "pooled", "pixel"]


@dataclass
class GroupFit:
    """One fitted MLR: intercept, coefficients (in the order of the model's covariates), R2, samples."""

    intercept: float
    coef: np.ndarray
    r2: float
    n: int

    def to_dict(self, names: tuple[str, ...]) -> dict:
        return {"intercept": float(self.intercept), **{f"coef_{k}": float(c) for k, c in zip(names, self.coef)},
                "r2": float(self.r2), "n_samples": int(self.n)}


@dataclass
class IdealModel:
    """The fitted ideal-accumulation model.

    Attributes
    ----------
    kind : "increment" or "level".
    fit : "forest_type", "pooled" or "pixel".
    covariates : names of the regressors, in order (climate variables, then ``agc_prev_t_ha``
        for the increment form).
    fit_years : the pre-mining years used.
    groups : per forest-type code (or -1 for the pooled model) the :class:`GroupFit`.
    pixel_coef : for ``fit="pixel"``, (n_climate + 1, y, x) intercept and coefficients
        (NaN where the pixel fell back to its group); else None.
    """

    kind: str
    fit: str
    covariates: tuple[str, ...]
    fit_years: tuple[int, ...]
    groups: dict[int, GroupFit] = field(default_factory=dict)
    pixel_coef: np.ndarray | None = None

    def to_dict(self) -> dict:
        """JSON-friendly description (coefficients per group)."""
        return {"kind": self.kind, "fit": self.fit, "covariates": list(self.covariates),
                "fit_years": [int(y) for y in self.fit_years],
                "groups": {("pooled" if g == -1 else str(g)): f.to_dict(self.covariates)
                           for g, f in sorted(self.groups.items())},
                "pixels_with_own_fit": (int(np.isfinite(self.pixel_coef[0]).sum())
                                        if self.pixel_coef is not None else 0)}


def _check_stack(da: xr.DataArray, what: str, years: list[int]) -> None:
    if "year" not in da.dims:
        raise InputError(f"{describe(da, what)} needs a 'year' dimension (dims: {da.dims}).")
    have = set(int(y) for y in da["year"].values)
    missing = [y for y in years if y not in have]
    if missing:
        raise InputError(f"{describe(da, what)} lacks the year(s) {missing}; provide a layer for every year "
                         f"of the period.")


def _sample_pixels(mask: np.ndarray, max_samples: int, seed: int) -> np.ndarray:
    idx = np.flatnonzero(mask.ravel())
    if idx.size > max_samples:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(idx, size=max_samples, replace=False))
    return idx


def _at(da: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values of a (y, x) DataArray at pixel indices (pointwise; lazy arrays computed only there)."""
    pts = da.isel(y=xr.DataArray(rows, dims="p"), x=xr.DataArray(cols, dims="p"))
    return np.asarray(pts.values, dtype=np.float64)


def _design(agc: xr.DataArray, climate: dict[str, xr.DataArray], years: list[int], kind: str,
            state_term: bool, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacked (X, y, pixel index) training samples over ``years`` at the sampled pixels."""
    Xs, ys, ps = [], [], []
    names = list(climate)
    a_cache = {y: _at(agc.sel(year=y), rows, cols) for y in years}
    for i, yr in enumerate(years):
        if kind == "increment":
            if i == 0:
                continue
            prev = a_cache[years[i - 1]]
            resp = a_cache[yr] - prev
        else:
            prev = None
            resp = a_cache[yr]
        cols_x = [_at(climate[n].sel(year=yr), rows, cols) for n in names]
        if kind == "increment" and state_term:
            cols_x.append(prev)
        X = np.column_stack(cols_x)
        Xs.append(X)
        ys.append(resp)
        ps.append(np.arange(rows.size))
    X = np.concatenate(Xs)
    y = np.concatenate(ys)
    p = np.concatenate(ps)
    ok = np.isfinite(y) & np.isfinite(X).all(axis=1)
    return X[ok], y[ok], p[ok]


def _fit(X: np.ndarray, y: np.ndarray) -> GroupFit:
    from sklearn.linear_model import LinearRegression  # imported here: the package's other tools need no sklearn

    reg = LinearRegression().fit(X, y)
    r2 = float(reg.score(X, y)) if y.size > 1 and np.var(y) > 0 else float("nan")
    return GroupFit(float(reg.intercept_), np.asarray(reg.coef_, dtype=np.float64), r2, int(y.size))


def fit_ideal_model(agc: xr.DataArray, climate: dict[str, xr.DataArray], fit_years: list[int],
                    train_mask: xr.DataArray, groups: xr.DataArray | None = None, kind: Kind = "increment",
                    fit: Fit = "forest_type", state_term: bool = True, min_samples: int = 30,
                    max_samples: int = 200_000, seed: int = 0) -> IdealModel:
    """Fit the MLR of pre-mining AGC (or its annual increment) on climate.

    Parameters
    ----------
    agc : (year, y, x) AGC stack in t C/ha (numpy- or dask-backed), integer ``year`` coordinate.
    climate : name -> (year, y, x) covariate stack on the same grid (e.g. ``temperature_c``,
        ``precipitation_mm``; extra covariates allowed).
    fit_years : the pre-mining years (at least 2 for ``increment``, 2 for ``level``).
    train_mask : (y, x) bool, pixels that may train the model (undisturbed forest).
    groups : (y, x) integer forest-type codes (<= 0 or NaN: no group); needed for ``forest_type``
        and ``pixel`` fits.
    kind, fit : see the module docstring.
    min_samples : a forest type with fewer training samples uses the pooled model.
    max_samples : training pixels are subsampled (seeded) beyond this many.
    seed : seed of the subsampling.

    Returns
    -------
    :class:`IdealModel`.

    Raises
    ------
    InputError
        Too few pre-mining years, too few training samples, missing years or bad options.
    """
    if kind not in ("increment", "level"):
        raise InputError(f"Unknown cumulative-effect model form {kind!r}; use 'increment' or 'level'.")
    if fit not in ("forest_type", "pooled", "pixel"):
        raise InputError(f"Unknown cumulative-effect fit {fit!r}; use 'forest_type', 'pooled' or 'pixel'.")
    if not climate:
        raise InputError("The ideal accumulation needs climate covariates (temperature, precipitation).")
    years = sorted(int(y) for y in fit_years)
    if len(years) < 2:
        raise InputError(f"The ideal (climate-only) accumulation needs at least 2 pre-mining years to fit; "
                         f"got {years}. Set [project].mining_start_year (or start the period earlier) so "
                         f"that two or more years come before mining.")
    _check_stack(agc, "AGC stack", years)
    for name, da in climate.items():
        _check_stack(da, f"climate covariate {name}", years)
        check_same_grid(agc, da, "AGC stack", f"climate covariate {name}")
    if fit in ("forest_type", "pixel") and groups is None:
        raise InputError(f"fit={fit!r} needs the forest-type groups; give groups or use fit='pooled'.")
    mask = np.asarray(train_mask.values if isinstance(train_mask, xr.DataArray) else train_mask, bool)
    names = tuple(climate) + (("agc_prev_t_ha",) if kind == "increment" and state_term else ())
    idx = _sample_pixels(mask, max_samples, seed)
    if idx.size == 0:
        raise InputError("No training pixel for the ideal accumulation (no undisturbed forest pixel); the "
                         "cumulative effect cannot be estimated.")
    rows, cols = np.unravel_index(idx, mask.shape)
    X, y, p = _design(agc, climate, years, kind, state_term, rows, cols)
    if y.size < max(min_samples, len(names) + 2):
        raise InputError(f"Only {y.size} valid training samples (pixel-years) for the ideal accumulation; at "
                         f"least {max(min_samples, len(names) + 2)} are needed. Check that the AGC maps and "
                         f"climate grids have values on undisturbed forest before mining.")
    model = IdealModel(kind=kind, fit=fit, covariates=names, fit_years=tuple(years))
    model.groups[-1] = _fit(X, y)
    if fit in ("forest_type", "pixel"):
        g_all = np.asarray(groups.values if isinstance(groups, xr.DataArray) else groups, dtype=np.float64)
        g = g_all.ravel()[idx][p]
        for code in np.unique(g[np.isfinite(g) & (g > 0)]):
            sel = g == code
            if sel.sum() >= max(min_samples, len(names) + 2):
                model.groups[int(code)] = _fit(X[sel], y[sel])
            else:
                log.warning("forest type %d has %d training samples (< %d): it uses the pooled model",
                            int(code), int(sel.sum()), min_samples)
    if fit == "pixel":
        model.pixel_coef = _fit_pixels(agc, climate, years, kind, mask)
    for g, gf in sorted(model.groups.items()):
        log.info("ideal-accumulation MLR (%s, %s) group %s: n=%d R2=%.3f", kind, fit,
                 "pooled" if g == -1 else g, gf.n, gf.r2)
    return model


def _fit_pixels(agc: xr.DataArray, climate: dict[str, xr.DataArray], years: list[int], kind: str,
                mask: np.ndarray) -> np.ndarray:
    """Per-pixel OLS on climate only (intercept + one coefficient per climate variable)."""
    names = list(climate)
    p = len(names) + 1
    a = np.stack([np.asarray(agc.sel(year=y).values, np.float64) for y in years])
    if kind == "increment":
        resp = np.diff(a, axis=0)
        yrs = years[1:]
    else:
        resp = a
        yrs = years
    X = np.stack([np.ones_like(resp)] + [np.stack([np.asarray(climate[n].sel(year=y).values, np.float64)
                                                   for y in yrs]) for n in names], axis=-1)  # (t, y, x, p)
    ok = np.isfinite(resp) & np.isfinite(X).all(axis=-1)
    coef = np.full((p,) + mask.shape, np.nan)
    nobs = ok.sum(axis=0)
    can = mask & (nobs >= p + 2)
    if not can.any():
        log.warning("no pixel has %d valid pre-mining %s; every pixel uses its forest type's model",
                    p + 2, "increments" if kind == "increment" else "years")
        return coef
    Xc = np.where(ok[..., None], X, 0.0)[:, can]  # (t, m, p)
    yc = np.where(ok, resp, 0.0)[:, can]  # (t, m)
    xtx = np.einsum("tmi,tmj->mij", Xc, Xc)
    xty = np.einsum("tmi,tm->mi", Xc, yc)
    with np.errstate(all="ignore"):
        good = np.isfinite(np.linalg.cond(xtx)) & (np.linalg.cond(xtx) < 1e12)
    sol = np.full((xtx.shape[0], p), np.nan)
    if good.any():
        sol[good] = np.linalg.solve(xtx[good], xty[good][..., None])[..., 0]
    coef[:, can] = sol.T
    return coef


def _coef_rasters(model: IdealModel, groups: xr.DataArray | None, like: xr.DataArray) -> list[xr.DataArray]:
    """Intercept and coefficient rasters (y, x): each pixel's group model (or the pooled one)."""
    pooled = model.groups[-1]
    table = {g: np.concatenate([[f.intercept], f.coef]) for g, f in model.groups.items()}
    n = 1 + len(model.covariates)
    if groups is None:
        return [xr.full_like(like, table[-1][k], dtype=np.float64) for k in range(n)]
    codes = sorted(c for c in table if c != -1)
    lut_codes = np.array(codes, dtype=np.float64)
    lut = np.array([table[c] for c in codes]) if codes else np.zeros((0, n))

    def _lookup(gv: np.ndarray, k: int) -> np.ndarray:
        gv = np.asarray(gv, dtype=np.float64)
        out = np.full(gv.shape, table[-1][k])
        if lut_codes.size:
            pos = np.searchsorted(lut_codes, gv)
            pos = np.clip(pos, 0, lut_codes.size - 1)
            hit = lut_codes[pos] == gv
            out = np.where(hit, lut[pos, k], out)
        out = np.where(np.isfinite(gv) & (gv > 0), out, np.nan)  # no group: no ideal growth
        return out

    del pooled
    rasters = [xr.apply_ufunc(_lookup, groups, kwargs={"k": k}, dask="parallelized",
                              output_dtypes=[np.float64]) for k in range(n)]
    if model.pixel_coef is not None:
        nclim = model.pixel_coef.shape[0]
        pix = [like.copy(data=model.pixel_coef[k]) for k in range(nclim)]
        own = np.isfinite(model.pixel_coef).all(axis=0)
        ownda = like.copy(data=own)
        # per-pixel models are on climate only: no agc_prev term
        rasters = [xr.where(ownda, pix[k], rasters[k]) for k in range(nclim)] + \
                  [xr.where(ownda, 0.0, r) for r in rasters[nclim:]]
    return rasters


def ideal_trajectory(model: IdealModel, agc_start: xr.DataArray, climate: dict[str, xr.DataArray],
                     years: list[int], groups: xr.DataArray | None = None) -> xr.DataArray:
    """Ideal (climate-only) AGC in each of ``years`` (t C/ha).

    For ``increment`` models the trajectory starts from ``agc_start`` in ``years[0]`` and is
    stepped forward; for ``level`` models each year is the MLR prediction of that year's
    climate.  Pixels without a forest-type group keep ``agc_start`` (no natural growth).

    Returns
    -------
    float64 DataArray (year, y, x).
    """
    coefs = _coef_rasters(model, groups, agc_start)
    names = [n for n in model.covariates if n != "agc_prev_t_ha"]
    if set(names) - set(climate):
        raise InputError(f"The model needs the covariates {names} but got {list(climate)}.")
    has_group = np.isfinite(coefs[0])
    start = agc_start.astype(np.float64)
    layers = []
    if model.kind == "increment":
        cur = start
        layers.append(cur)
        for yr in years[1:]:
            inc = coefs[0] + sum(coefs[1 + k] * climate[n].sel(year=yr, drop=True).astype(np.float64)
                                 for k, n in enumerate(names))
            if "agc_prev_t_ha" in model.covariates:
                inc = inc + coefs[1 + len(names)] * cur
            nxt = (cur + inc).clip(min=0.0)
            cur = xr.where(has_group, nxt, start)
            layers.append(cur)
    else:
        for yr in years:
            pred = coefs[0] + sum(coefs[1 + k] * climate[n].sel(year=yr, drop=True).astype(np.float64)
                                  for k, n in enumerate(names))
            layers.append(xr.where(has_group, pred.clip(min=0.0), start))
    out = xr.concat([lyr.drop_vars("year", errors="ignore") for lyr in layers], dim="year")
    out = out.assign_coords(year=list(years))
    return finish(out, agc_start, "ideal_agc_t_ha", "t C/ha", "ideal (climate-only) AGC", kind=model.kind)


def cumulative_effect(agc: xr.DataArray, climate: dict[str, xr.DataArray], model: IdealModel,
                      start_year: int, end_year: int, groups: xr.DataArray | None = None) -> xr.DataArray:
    """Actual and ideal accumulation and their difference over [start_year, end_year].

    Parameters
    ----------
    agc : (year, y, x) AGC stack (t C/ha) covering the period.
    climate : covariate stacks (same names as the model's) covering the period.
    model : from :func:`fit_ideal_model`.
    start_year, end_year : the period.
    groups : forest-type codes (as for the fit).

    Returns
    -------
    float32 DataArray (layer, y, x) with ``layer`` = :data:`LAYERS`: actual accumulation,
    ideal accumulation and cumulative effect (actual - ideal), all t C/ha.
    """
    if end_year <= start_year:
        raise InputError(f"The cumulative-effect period {start_year}-{end_year} is empty; the end year must "
                         f"be after the start year.")
    years = list(range(int(start_year), int(end_year) + 1))
    _check_stack(agc, "AGC stack", [start_year, end_year])
    for name, da in climate.items():
        _check_stack(da, f"climate covariate {name}", years)
    a0 = agc.sel(year=start_year, drop=True).astype(np.float64)
    a1 = agc.sel(year=end_year, drop=True).astype(np.float64)
    actual = a1 - a0
    traj = ideal_trajectory(model, a0, climate, years, groups)
    if model.kind == "increment":
        ideal = traj.sel(year=end_year, drop=True) - a0
    else:
        ideal = traj.sel(year=end_year, drop=True) - traj.sel(year=start_year, drop=True)
    ideal = ideal.where(np.isfinite(a0))
    effect = actual - ideal
    out = xr.concat([actual, ideal, effect], dim="layer").assign_coords(layer=list(LAYERS)).astype(np.float32)
    return finish(out, agc, "cumulative_effect", "t C/ha",
                  "actual and ideal AGC accumulation and cumulative effect (actual - ideal)",
                  start_year=int(start_year), end_year=int(end_year), kind=model.kind, fit=model.fit)


def effect_grades(effect: xr.DataArray, k: int = 5, method: Literal["jenks", "signed"] = "jenks"):
    """Grades of the cumulative effect by natural breaks (1 = most negative ... k = most positive).

    Parameters
    ----------
    effect : (y, x) cumulative effect (t C/ha), numpy- or dask-backed.
    k : number of grades (the standard: 5, named by :data:`EFFECT_CLASSES`).
    method : ``"jenks"`` (default, the guide's wording): exact Fisher-Jenks breaks of the effect
        values into k classes, numbered from the lowest; the middle class need not contain 0 (the
        summary says whether it does). ``"signed"``: k odd; exact Fisher-Jenks breaks of the
        magnitude |effect| into (k + 1) / 2 classes; the lowest magnitude class is the middle grade
        ("no obvious", always containing 0) and the others are split by sign, so grade names always
        match the sign of the effect.

    Returns
    -------
    (classes, result, summary): float32 grade raster (NaN where the effect is NaN), the
    :class:`~minecarbon.assess.breaks.NaturalBreaks` (of the values, or of the magnitudes for
    ``signed``), and a dict: ``method``, ``zero_class`` (grade holding 0, None when 0 is outside
    the data), ``middle_class``, ``middle_contains_zero``, ``grade_bounds`` (lower, upper per grade)
    and ``names``.
    """
    from .breaks import fisher_jenks, natural_breaks

    if method not in ("jenks", "signed"):
        raise InputError(f"Unknown grading method {method!r}; use 'jenks' or 'signed'.")
    mid = (k + 1) // 2
    names = {c: EFFECT_CLASSES[c][0] for c in EFFECT_CLASSES} if k == 5 else {}
    if method == "jenks":
        cls, res = natural_breaks(effect, k)
        ub = res.upper_bounds
        inside = bool(res.breaks[0] <= 0.0 <= res.breaks[-1])
        zero_class = int(np.searchsorted(ub[:-1], 0.0, side="left") + 1) if inside else None
        bounds = [[float(res.breaks[c]), float(res.breaks[c + 1])] for c in range(k)]
    else:
        if k % 2 == 0:
            raise InputError(f"Signed grading needs an odd number of grades (3, 5, ...), not {k}.")
        mag = np.abs(np.asarray(effect.values, dtype=np.float64))
        res = fisher_jenks(mag, mid)
        inner = res.breaks[1:-1]

        def _grade(e: np.ndarray) -> np.ndarray:
            e = np.asarray(e, dtype=np.float64)
            m = np.searchsorted(inner, np.abs(e), side="left")  # 0 = lowest magnitude class
            g = (mid + np.sign(e) * m).astype(np.float32)
            g[~np.isfinite(e)] = np.nan
            return g

        cls = xr.apply_ufunc(_grade, effect, dask="parallelized", output_dtypes=[np.float32])
        cls = finish(cls, effect, "class", "class number", "signed natural-breaks grade (1 = most negative)",
                     breaks=[float(x) for x in res.breaks])
        zero_class = mid
        inside = True
        edges = [float(x) for x in res.breaks]
        bounds = []
        for c in range(1, k + 1):
            j = c - mid
            if j == 0:
                bounds.append([-edges[1], edges[1]])
            elif j > 0:
                bounds.append([edges[j], edges[j + 1]])
            else:
                bounds.append([-edges[-j + 1], -edges[-j]])
    summary = {"method": method, "zero_class": zero_class, "middle_class": mid,
               "middle_contains_zero": bool(inside and zero_class == mid), "grade_bounds": bounds,
               "names": names}
    if not summary["middle_contains_zero"]:
        log.warning("the middle natural-breaks grade (%s) does not contain 0: grade names do not match the sign "
                    "of the effect everywhere ([assess].effect_grading = 'signed' avoids this)", names.get(mid, mid))
    return cls, res, summary

"""Model-assisted unit totals and change: the plots correct the map sums of every assessment unit.

For every survey year and every level-1 unit (and all forest units together,
stratified by level-1 unit) the difference estimator of
:mod:`minecarbon.model.estimation` combines the map's sum over the unit with
the mean error of the map at that year's plots in the unit; for the base ->
end change the same estimator runs on the re-measured plots (visits of one
``permanent_id`` in both years).  The map values at the plots are the
calibrated *out-of-fold* predictions (from models that never saw the plot):
in-sample predictions of a flexible learner fit the plots almost exactly and
would leave the map's bias uncorrected with a falsely narrow interval.

Whether the interval is design-based depends on how the plots were placed:
``design = "probability"`` (random or stratified random within units, e.g.
``minecarbon plots plan``) gives design-based intervals; ``"purposive"``
gives the same numbers labelled model-based (they assume the plots' residuals
are exchangeable with those of all pixels of the unit).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from .estimation import greg_change, greg_estimate

COLUMNS = ["kind", "level", "unit", "unit_name", "year0", "year1", "n_plots", "n_px", "map_t", "estimate_t",
           "se_t", "lo_t", "hi_t", "correction_t", "residual_correlation", "interval_basis", "note"]
BASIS = {"probability": "design-based (probability sample of plots)",
         "purposive": "model-based (purposively placed plots; assumes exchangeable residuals)"}
MIN_PLOTS = 2


def _row(kind, level, unit, name, y0, y1, n, n_px, map_t, res=None, rho=np.nan, basis="", note="") -> dict:
    out = {"kind": kind, "level": level, "unit": unit, "unit_name": name, "year0": y0, "year1": y1, "n_plots": n,
           "n_px": n_px, "map_t": map_t, "estimate_t": np.nan, "se_t": np.nan, "lo_t": np.nan, "hi_t": np.nan,
           "correction_t": np.nan, "residual_correlation": rho, "interval_basis": basis, "note": note}
    if res is not None:
        out.update({"estimate_t": res.estimate, "se_t": res.se, "lo_t": res.lo, "hi_t": res.hi,
                    "correction_t": res.estimate - map_t})
    return out


def unit_estimates(plots: pd.DataFrame, totals: pd.DataFrame, px_ha: float, year0: int, year1: int,
                   unit_name: Callable[[int], str], design: str = "purposive", level: float = 0.95,
                   forest_units: tuple[int, ...] = (1, 2, 3, 4, 5)) -> pd.DataFrame:
    """Model-assisted stock per survey year and level-1 unit, and the ``year0 -> year1`` change.

    Parameters
    ----------
    plots : training table rows: ``survey_year``, ``unit_l1``, ``agc_t_ha`` and the map value at the plot
        ``agc_cv_pred_calibrated_t_ha``; ``permanent_id`` links re-measured visits (optional).
    totals : the map stage's unit totals (``year``, ``level``, ``unit``, ``n_px``, ``agc_t``).
    px_ha : pixel area (ha).
    year0, year1 : years of the change.
    unit_name : level-1 code -> name.
    design : ``"probability"`` or ``"purposive"`` (labels the interval, see the module docstring).
    """
    if design not in BASIS:
        raise InputError(f"plot sample design {design!r} is not one of {', '.join(BASIS)}.")
    basis = BASIS[design]
    need = {"survey_year", "unit_l1", "agc_t_ha", "agc_cv_pred_calibrated_t_ha"}
    if plots is None or len(plots) == 0 or not need <= set(plots.columns):
        return pd.DataFrame(columns=COLUMNS)
    p = plots[plots["unit_l1"].isin(forest_units)].copy()
    p["unit_l1"] = p["unit_l1"].astype(int)
    t1 = totals[totals["level"] == "level1"].set_index(["year", "unit"])
    rows = []
    for year, g in p.groupby("survey_year"):
        year = int(year)
        units = sorted(u for u in forest_units if (year, u) in t1.index)
        for u in units:
            n_px, map_t = int(t1.loc[(year, u), "n_px"]), float(t1.loc[(year, u), "agc_t"])
            s = g[g["unit_l1"] == u]
            if len(s) < MIN_PLOTS:
                rows.append(_row("stock", "level1", u, unit_name(u), year, year, len(s), n_px, map_t, basis=basis,
                                 note=f"fewer than {MIN_PLOTS} plots in this unit and year: map total only"))
                continue
            r = greg_estimate(s["agc_t_ha"], s["agc_cv_pred_calibrated_t_ha"], map_t / px_ha, n_px,
                              level=level).scaled(px_ha)
            rows.append(_row("stock", "level1", u, unit_name(u), year, year, len(s), n_px, map_t, r, basis=basis))
        ok = [u for u in units if (g["unit_l1"] == u).sum() >= MIN_PLOTS]
        if ok:
            s = g[g["unit_l1"].isin(ok)]
            sizes = {str(u): int(t1.loc[(year, u), "n_px"]) for u in ok}
            mt = {str(u): float(t1.loc[(year, u), "agc_t"]) / px_ha for u in ok}
            r = greg_estimate(s["agc_t_ha"], s["agc_cv_pred_calibrated_t_ha"], None, None,
                              strata=s["unit_l1"].astype(str).to_numpy(), stratum_sizes=sizes,
                              stratum_map_totals=mt, level=level).scaled(px_ha)
            left = [u for u in units if u not in ok]
            rows.append(_row("stock", "all", 0, "all forest units (strata: level-1 units)", year, year, len(s),
                             sum(sizes.values()), sum(mt.values()) * px_ha, r, basis=basis,
                             note=f"units without plots left out: {left}" if left else ""))
    rows += _change_rows(p, t1, px_ha, year0, year1, unit_name, basis, level, forest_units)
    return pd.DataFrame(rows, columns=COLUMNS)


def _change_rows(p: pd.DataFrame, t1: pd.DataFrame, px_ha: float, year0: int, year1: int, unit_name, basis: str,
                 level: float, forest_units) -> list[dict]:
    if "permanent_id" not in p.columns:
        return []
    a = p[p["survey_year"] == year0].dropna(subset=["permanent_id"]).set_index("permanent_id")
    b = p[p["survey_year"] == year1].dropna(subset=["permanent_id"]).set_index("permanent_id")
    both = a.index.intersection(b.index)
    if len(both) == 0:
        return []
    a, b = a.loc[both], b.loc[both]
    rows = []
    units = [u for u in forest_units if (year0, u) in t1.index and (year1, u) in t1.index]
    ok = []
    for u in units:
        sel = (a["unit_l1"] == u).to_numpy()
        n_px = int(t1.loc[(year0, u), "n_px"])
        m0, m1 = float(t1.loc[(year0, u), "agc_t"]), float(t1.loc[(year1, u), "agc_t"])
        if sel.sum() < MIN_PLOTS:
            rows.append(_row("change", "level1", u, unit_name(u), year0, year1, int(sel.sum()), n_px, m1 - m0,
                             basis=basis, note=f"fewer than {MIN_PLOTS} re-measured plots: map change only"))
            continue
        ok.append(u)
        r = greg_change(a["agc_t_ha"][sel], b["agc_t_ha"][sel], a["agc_cv_pred_calibrated_t_ha"][sel],
                        b["agc_cv_pred_calibrated_t_ha"][sel], m0 / px_ha, m1 / px_ha, n_px,
                        level=level).scaled(px_ha)
        rows.append(_row("change", "level1", u, unit_name(u), year0, year1, int(sel.sum()), n_px, m1 - m0, r,
                         rho=r.residual_correlation, basis=basis))
    if ok:
        sel = a["unit_l1"].isin(ok).to_numpy()
        lab = a["unit_l1"][sel].astype(str).to_numpy()
        sizes = {str(u): int(t1.loc[(year0, u), "n_px"]) for u in ok}
        m0 = {str(u): float(t1.loc[(year0, u), "agc_t"]) / px_ha for u in ok}
        m1 = {str(u): float(t1.loc[(year1, u), "agc_t"]) / px_ha for u in ok}
        r = greg_change(a["agc_t_ha"][sel], b["agc_t_ha"][sel], a["agc_cv_pred_calibrated_t_ha"][sel],
                        b["agc_cv_pred_calibrated_t_ha"][sel], None, None, None, strata=lab, stratum_sizes=sizes,
                        stratum_map_totals0=m0, stratum_map_totals1=m1, level=level).scaled(px_ha)
        rows.append(_row("change", "all", 0, "all forest units (strata: level-1 units)", year0, year1,
                         int(sel.sum()), sum(sizes.values()), (sum(m1.values()) - sum(m0.values())) * px_ha, r,
                         rho=r.residual_correlation, basis=basis))
    return rows

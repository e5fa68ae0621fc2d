"""Validation of *change* against known truth: stocks, stock changes, per-pixel change and trends per unit.

Each year's map can agree well with the truth while the differences between
years do not (a bias that drifts with time cancels in no single year but
dominates a 20-year change).  These functions compare what the assessment
reports - differences between yearly maps - with the same differences of the
truth, over the same pixels:

* :func:`change_table`: per zone (all forest units, each level-1 and level-2
  unit) and period (y0 -> y1): the stock of both years in the truth and the
  maps, the stock change, its error (t C and % of the true change), whether
  the sign agrees, and the per-pixel change agreement (R2, RMSE, bias);
* :func:`trend_table`: per zone, the mean Sen slope of the maps and of the
  truth, their pixel R2, the share of pixels whose trend class (Sen slope +
  Mann-Kendall significance, :data:`minecarbon.assess.trend.TREND_CLASSES`)
  agrees, and the shares of significant increase and decrease.

Pixels count where the maps and the truth are both finite in both years of a
period.  Pure numpy; the stage reads the rasters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..model.metrics import metrics

CHANGE_COLUMNS = ["level", "unit", "unit_name", "year0", "year1", "n_px", "area_ha", "truth_t0", "truth_t1",
                  "map_t0", "map_t1", "truth_change_t", "map_change_t", "change_error_t", "change_error_pct",
                  "change_ratio", "sign_agrees", "truth_change_pct_of_base", "pixel_change_r2",
                  "pixel_change_rmse_t_ha", "pixel_change_bias_t_ha", "truth_growth_t_ha_yr",
                  "map_growth_t_ha_yr"]
TREND_COLUMNS = ["level", "unit", "unit_name", "n_px", "truth_slope_t_ha_yr", "map_slope_t_ha_yr",
                 "slope_error_t_ha_yr", "pixel_slope_r2", "trend_class_agreement",
                 "truth_share_significant_increase", "map_share_significant_increase",
                 "truth_share_significant_decrease", "map_share_significant_decrease"]


def zone_masks(zones: Mapping[str, np.ndarray], forest_l1: Sequence[int], name: Callable[[str, int], str]
               ) -> list[tuple[str, int, str, np.ndarray]]:
    """(level, unit, name, mask) for all forest units together (level ``all``, unit 0), and every unit of
    every level in ``zones`` (level name -> integer unit raster; 0 and 255 are not units)."""
    out = []
    if "level1" in zones:
        out.append(("all", 0, "all forest units", np.isin(zones["level1"], list(forest_l1))))
    for level, z in zones.items():
        for code in sorted(int(c) for c in np.unique(z) if c not in (0, 255)):
            out.append((level, code, name(level, code), z == code))
    return out


def change_table(maps: Mapping[int, np.ndarray], truth: Mapping[int, np.ndarray],
                 masks: list[tuple[str, int, str, np.ndarray]], periods: Sequence[tuple[int, int]],
                 px_ha: float) -> pd.DataFrame:
    """Stock change of the maps against the truth per zone and period (see the module docstring).

    Parameters
    ----------
    maps, truth : year -> AGC density (t C/ha), same grid.
    masks : from :func:`zone_masks`.
    periods : (y0, y1) pairs; years missing from either side are skipped.
    px_ha : pixel area (ha).
    """
    rows = []
    for y0, y1 in periods:
        if not all(y in maps and y in truth for y in (y0, y1)):
            continue
        m0, m1 = np.asarray(maps[y0], float), np.asarray(maps[y1], float)
        t0, t1 = np.asarray(truth[y0], float), np.asarray(truth[y1], float)
        ok = np.isfinite(m0) & np.isfinite(m1) & np.isfinite(t0) & np.isfinite(t1)
        for level, unit, uname, mask in masks:
            sel = ok & mask
            n = int(sel.sum())
            if n == 0:
                continue
            tt0, tt1, mm0, mm1 = (float(a[sel].sum() * px_ha) for a in (t0, t1, m0, m1))
            dt, dm = tt1 - tt0, mm1 - mm0
            pt, pm = (t1 - t0)[sel], (m1 - m0)[sel]
            pix = metrics(pt, pm)
            yrs = max(y1 - y0, 1)
            rows.append({
                "level": level, "unit": unit, "unit_name": uname, "year0": y0, "year1": y1, "n_px": n,
                "area_ha": n * px_ha, "truth_t0": tt0, "truth_t1": tt1, "map_t0": mm0, "map_t1": mm1,
                "truth_change_t": dt, "map_change_t": dm, "change_error_t": dm - dt,
                "change_error_pct": 100.0 * (dm - dt) / abs(dt) if dt != 0 else float("nan"),
                "change_ratio": dm / dt if dt != 0 else float("nan"),
                "sign_agrees": bool(np.sign(dm) == np.sign(dt)),
                "truth_change_pct_of_base": 100.0 * dt / tt0 if tt0 > 0 else float("nan"),
                "pixel_change_r2": pix["r2"], "pixel_change_rmse_t_ha": pix["rmse"],
                "pixel_change_bias_t_ha": pix["bias"],
                "truth_growth_t_ha_yr": float(pt.mean() / yrs), "map_growth_t_ha_yr": float(pm.mean() / yrs)})
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def trend_table(map_slope: np.ndarray, truth_slope: np.ndarray, map_class: np.ndarray, truth_class: np.ndarray,
                masks: list[tuple[str, int, str, np.ndarray]]) -> pd.DataFrame:
    """Sen slopes and trend classes of the maps against those of the truth, per zone.

    ``*_class``: the ``trend`` rasters of :func:`minecarbon.assess.mann_kendall_sen` (2 / -2 significant
    increase / decrease, 1 / -1 slight, 0 stable).
    """
    ms, ts = np.asarray(map_slope, float), np.asarray(truth_slope, float)
    mc, tc = np.asarray(map_class, float), np.asarray(truth_class, float)
    ok = np.isfinite(ms) & np.isfinite(ts) & np.isfinite(mc) & np.isfinite(tc)
    rows = []
    for level, unit, uname, mask in masks:
        sel = ok & mask
        n = int(sel.sum())
        if n == 0:
            continue
        a, b = ts[sel], ms[sel]
        rows.append({"level": level, "unit": unit, "unit_name": uname, "n_px": n,
                     "truth_slope_t_ha_yr": float(a.mean()), "map_slope_t_ha_yr": float(b.mean()),
                     "slope_error_t_ha_yr": float(b.mean() - a.mean()), "pixel_slope_r2": metrics(a, b)["r2"],
                     "trend_class_agreement": float((mc[sel] == tc[sel]).mean()),
                     "truth_share_significant_increase": float((tc[sel] == 2).mean()),
                     "map_share_significant_increase": float((mc[sel] == 2).mean()),
                     "truth_share_significant_decrease": float((tc[sel] == -2).mean()),
                     "map_share_significant_decrease": float((mc[sel] == -2).mean())})
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


def periods(years: Sequence[int], base: int, end: int, step: int = 5) -> list[tuple[int, int]]:
    """Base -> end, then consecutive periods of ``step`` years from the base (the last one ends at ``end``)."""
    ys = sorted(set(years))
    marks = [y for y in range(base, end + 1, step) if y in ys]
    if end in ys and (not marks or marks[-1] != end):
        marks.append(end)
    out = [(base, end)] if base in ys and end in ys and base != end else []
    out += [(a, b) for a, b in zip(marks[:-1], marks[1:]) if (a, b) not in out]
    return out

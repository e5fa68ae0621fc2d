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
  agrees, and the shares of significant increase and decrease;
* :func:`agreement`: per zone, the agreement of one estimate with the truth
  (n, R2, RMSE, MAE, bias, means, totals).

Pixels count where the maps and the truth are both finite in both years of a
period.

Memory: the rasters are read in strips of rows (numpy arrays, or DataArrays
backed by numpy or dask, which then compute one strip at a time) and every
statistic is accumulated from per-zone sums (``numpy.bincount``), so a
25-million-pixel scene over 20 years needs a few strips in memory, not the
years.  R2 uses the one-pass form SST = sum(y**2) - (sum y)**2 / n in float64,
equal to the two-pass form of :func:`minecarbon.model.metrics.metrics` to
rounding (tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CHANGE_COLUMNS = ["level", "unit", "unit_name", "year0", "year1", "n_px", "area_ha", "truth_t0", "truth_t1",
                  "map_t0", "map_t1", "truth_change_t", "map_change_t", "change_error_t", "change_error_pct",
                  "change_ratio", "sign_agrees", "truth_change_pct_of_base", "pixel_change_r2",
                  "pixel_change_rmse_t_ha", "pixel_change_bias_t_ha", "truth_growth_t_ha_yr",
                  "map_growth_t_ha_yr"]
TREND_COLUMNS = ["level", "unit", "unit_name", "n_px", "truth_slope_t_ha_yr", "map_slope_t_ha_yr",
                 "slope_error_t_ha_yr", "pixel_slope_r2", "trend_class_agreement",
                 "truth_share_significant_increase", "map_share_significant_increase",
                 "truth_share_significant_decrease", "map_share_significant_decrease"]
AGREEMENT_KEYS = ["n", "r2", "rmse", "mae", "bias", "mean_truth", "mean_est", "total_truth_t", "total_est_t"]
STRIP_ROWS = 512
"""Rows read at a time (the stage passes its chunk size, so a dask-backed strip is one row of chunks)."""


@dataclass
class Zones:
    """Zones as integer labels: ``entries[i]`` = (level, unit, name) of zone ``i``; ``labels`` = per level,
    a (y, x) array of zone indices (``-1``: no zone of that level).  A pixel is in at most one zone per level."""

    entries: list[tuple[str, int, str]] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels[0].shape if self.labels else (0, 0)

    def __len__(self) -> int:
        return len(self.entries)

    def add_level(self, level: str, codes: np.ndarray, units: Sequence[int], name: Callable[[str, int], str]
                  ) -> None:
        """Add a level: each of ``units`` (codes found in ``codes``) becomes a zone."""
        lut_codes = np.asarray(list(units), dtype=np.int64)
        lab = np.full(codes.shape, -1, dtype=np.int32)
        for i, code in enumerate(lut_codes):
            lab[codes == code] = len(self.entries) + i
        self.entries += [(level, int(c), name(level, int(c))) for c in lut_codes]
        self.labels.append(lab)


def zones_of(zones: Mapping[str, np.ndarray], forest_l1: Sequence[int], name: Callable[[str, int], str]) -> Zones:
    """All forest units together (level ``all``, unit 0), then every unit of every level in ``zones``
    (level name -> integer unit raster; 0 and 255 are not units)."""
    out = Zones()
    if "level1" in zones:
        z1 = np.asarray(zones["level1"])
        out.add_level("all", np.where(np.isin(z1, list(forest_l1)), 0, -1), [0], lambda lvl, c: "all forest units")
    for level, z in zones.items():
        z = np.asarray(z)
        out.add_level(level, z, sorted(int(c) for c in np.unique(z) if c not in (0, 255)), name)
    return out


def strips(n_rows: int, rows: int = STRIP_ROWS) -> Iterator[slice]:
    """Row slices covering ``n_rows`` in order."""
    rows = max(int(rows), 1)
    for r0 in range(0, n_rows, rows):
        yield slice(r0, min(r0 + rows, n_rows))


def rows_of(a, sl: slice) -> np.ndarray:
    """Rows ``sl`` of a (y, x) numpy array or DataArray (numpy- or dask-backed: only that strip is computed),
    as float64."""
    if hasattr(a, "isel") and hasattr(a, "dims"):
        return np.asarray(a.isel({a.dims[-2]: sl}).values, dtype=float)
    return np.asarray(np.asarray(a)[..., sl, :], dtype=float)


class ZoneSums:
    """Per-zone pixel counts and sums of named per-pixel quantities, accumulated strip by strip."""

    def __init__(self, zones: Zones, names: Sequence[str]):
        self.zones = zones
        self.n = np.zeros(len(zones), dtype=np.int64)
        self.sums = {k: np.zeros(len(zones)) for k in names}

    def add(self, sl: slice, ok: np.ndarray, **values: np.ndarray) -> None:
        """Add the pixels of rows ``sl`` where ``ok``; ``values`` are (rows, x) arrays of that strip."""
        k = len(self.zones)
        for lab in self.zones.labels:
            li = lab[sl]
            sel = ok & (li >= 0)
            idx = li[sel]
            self.n += np.bincount(idx, minlength=k)
            for name, v in values.items():
                self.sums[name] += np.bincount(idx, weights=v[sel], minlength=k)

    def filled(self) -> Iterator[tuple[int, str, int, str, int]]:
        """(index, level, unit, name, pixel count) of every zone with pixels, in zone order."""
        for i, (level, unit, name) in enumerate(self.zones.entries):
            if self.n[i]:
                yield i, level, unit, name, int(self.n[i])


def _r2(sse: float, sy: float, syy: float, n: int) -> float:
    sst = syy - sy * sy / n
    return float(1.0 - sse / sst) if sst > 0 else float("nan")


def change_table(maps: Mapping[int, object], truth: Mapping[int, object], zones: Zones,
                 periods: Sequence[tuple[int, int]], px_ha: float, rows: int = STRIP_ROWS,
                 interval: tuple[int, int, object, object] | None = None) -> pd.DataFrame:
    """Stock change of the maps against the truth per zone and period (see the module docstring).

    Parameters
    ----------
    maps, truth : year -> AGC density (t C/ha), (y, x) arrays or DataArrays on the zones' grid.
    zones : from :func:`zones_of`.
    periods : (y0, y1) pairs; years missing from either side are skipped.
    px_ha : pixel area (ha).
    rows : rows per strip.
    interval : optional (y0, y1, lo, hi): the per-pixel change interval of that period (t C/ha);
        adds ``pixel_change_interval_coverage`` (share of pixels whose true change lies in [lo, hi], over the
        zone's pixels where the true change and both ends are finite) to that period's rows, NaN to the others.
    """
    rows_out = []
    cover = {}
    for y0, y1 in periods:
        if not all(y in maps and y in truth for y in (y0, y1)):
            continue
        acc = ZoneSums(zones, ("t0", "t1", "m0", "m1", "pt", "pt2", "pm", "r", "r2"))
        cov = ZoneSums(zones, ("inside",)) if interval and (interval[0], interval[1]) == (y0, y1) else None
        for sl in strips(zones.shape[0], rows):
            m0, m1, t0, t1 = (rows_of(d[y], sl) for d, y in ((maps, y0), (maps, y1), (truth, y0), (truth, y1)))
            ok = np.isfinite(m0) & np.isfinite(m1) & np.isfinite(t0) & np.isfinite(t1)
            pt, pm = t1 - t0, m1 - m0
            acc.add(sl, ok, t0=t0, t1=t1, m0=m0, m1=m1, pt=pt, pt2=pt * pt, pm=pm, r=pm - pt,
                    r2=(pm - pt) ** 2)
            if cov is not None:
                lo, hi = rows_of(interval[2], sl), rows_of(interval[3], sl)
                ok2 = np.isfinite(pt) & np.isfinite(lo) & np.isfinite(hi)
                cov.add(sl, ok2, inside=((pt >= lo) & (pt <= hi)).astype(float))
        if cov is not None:
            cover[(y0, y1)] = cov
        s = acc.sums
        yrs = max(y1 - y0, 1)
        for i, level, unit, uname, n in acc.filled():
            tt0, tt1, mm0, mm1 = (float(s[k][i] * px_ha) for k in ("t0", "t1", "m0", "m1"))
            dt, dm = tt1 - tt0, mm1 - mm0
            row = {
                "level": level, "unit": unit, "unit_name": uname, "year0": y0, "year1": y1, "n_px": n,
                "area_ha": n * px_ha, "truth_t0": tt0, "truth_t1": tt1, "map_t0": mm0, "map_t1": mm1,
                "truth_change_t": dt, "map_change_t": dm, "change_error_t": dm - dt,
                "change_error_pct": 100.0 * (dm - dt) / abs(dt) if dt != 0 else float("nan"),
                "change_ratio": dm / dt if dt != 0 else float("nan"),
                "sign_agrees": bool(np.sign(dm) == np.sign(dt)),
                "truth_change_pct_of_base": 100.0 * dt / tt0 if tt0 > 0 else float("nan"),
                "pixel_change_r2": _r2(s["r2"][i], s["pt"][i], s["pt2"][i], n),
                "pixel_change_rmse_t_ha": float(np.sqrt(s["r2"][i] / n)),
                "pixel_change_bias_t_ha": float(s["r"][i] / n),
                "truth_growth_t_ha_yr": float(s["pt"][i] / n / yrs), "map_growth_t_ha_yr": float(s["pm"][i] / n / yrs)}
            if interval is not None:
                c = cover.get((y0, y1))
                row["pixel_change_interval_coverage"] = (float(c.sums["inside"][i] / c.n[i])
                                                         if c is not None and c.n[i] else float("nan"))
            rows_out.append(row)
    cols = CHANGE_COLUMNS + (["pixel_change_interval_coverage"] if interval is not None else [])
    return pd.DataFrame(rows_out, columns=cols)


def trend_table(map_trend, truth_trend, zones: Zones, rows: int = STRIP_ROWS) -> pd.DataFrame:
    """Sen slopes and trend classes of the maps against those of the truth, per zone.

    ``map_trend``, ``truth_trend``: (2, y, x) arrays or DataArrays, [Sen slope, trend class], the class as in
    the ``trend`` rasters of :func:`minecarbon.assess.mann_kendall_sen` (2 / -2 significant increase /
    decrease, 1 / -1 slight, 0 stable).  A lazy (dask) stack is computed one strip at a time, both layers
    together.
    """
    acc = ZoneSums(zones, ("a", "b", "aa", "sse", "agree", "t_up", "m_up", "t_down", "m_down"))
    for sl in strips(zones.shape[0], rows):
        (ms, mc), (ts, tc) = rows_of(map_trend, sl), rows_of(truth_trend, sl)
        ok = np.isfinite(ms) & np.isfinite(ts) & np.isfinite(mc) & np.isfinite(tc)
        acc.add(sl, ok, a=ts, b=ms, aa=ts * ts, sse=(ms - ts) ** 2, agree=(mc == tc).astype(float),
                t_up=(tc == 2).astype(float), m_up=(mc == 2).astype(float),
                t_down=(tc == -2).astype(float), m_down=(mc == -2).astype(float))
    s = acc.sums
    out = []
    for i, level, unit, uname, n in acc.filled():
        out.append({"level": level, "unit": unit, "unit_name": uname, "n_px": n,
                    "truth_slope_t_ha_yr": float(s["a"][i] / n), "map_slope_t_ha_yr": float(s["b"][i] / n),
                    "slope_error_t_ha_yr": float(s["b"][i] / n - s["a"][i] / n),
                    "pixel_slope_r2": _r2(s["sse"][i], s["a"][i], s["aa"][i], n),
                    "trend_class_agreement": float(s["agree"][i] / n),
                    "truth_share_significant_increase": float(s["t_up"][i] / n),
                    "map_share_significant_increase": float(s["m_up"][i] / n),
                    "truth_share_significant_decrease": float(s["t_down"][i] / n),
                    "map_share_significant_decrease": float(s["m_down"][i] / n)})
    return pd.DataFrame(out, columns=TREND_COLUMNS)


def agreement(truth, est, zones: Zones, px_ha: float, rows: int = STRIP_ROWS) -> list[tuple[str, int, str, dict]]:
    """Per zone with pixels: (level, unit, name, metrics), metrics = n, R2, RMSE, MAE, bias (est - truth), means
    and totals (t C) over pixels where both are finite.  ``truth``, ``est``: (y, x) arrays or DataArrays."""
    acc = ZoneSums(zones, ("t", "tt", "e", "r", "rr", "ar"))
    for sl in strips(zones.shape[0], rows):
        t, e = rows_of(truth, sl), rows_of(est, sl)
        ok = np.isfinite(t) & np.isfinite(e)
        r = e - t
        acc.add(sl, ok, t=t, tt=t * t, e=e, r=r, rr=r * r, ar=np.abs(r))
    s = acc.sums
    out = []
    for i, level, unit, uname, n in acc.filled():
        out.append((level, unit, uname, {
            "n": n, "r2": _r2(s["rr"][i], s["t"][i], s["tt"][i], n), "rmse": float(np.sqrt(s["rr"][i] / n)),
            "mae": float(s["ar"][i] / n), "bias": float(s["r"][i] / n), "mean_truth": float(s["t"][i] / n),
            "mean_est": float(s["e"][i] / n), "total_truth_t": float(s["t"][i] * px_ha),
            "total_est_t": float(s["e"][i] * px_ha)}))
    return out


def periods(years: Sequence[int], base: int, end: int, step: int = 5) -> list[tuple[int, int]]:
    """Base -> end, then consecutive periods of ``step`` years from the base (the last one ends at ``end``)."""
    ys = sorted(set(years))
    marks = [y for y in range(base, end + 1, step) if y in ys]
    if end in ys and (not marks or marks[-1] != end):
        marks.append(end)
    out = [(base, end)] if base in ys and end in ys and base != end else []
    out += [(a, b) for a, b in zip(marks[:-1], marks[1:]) if (a, b) not in out]
    return out

"""Simulated field-plot layout: where the crews put their plots, and when.

Plots are square, one pixel (30 m) in size, centred on pixel centres.  In
every level-2 assessment unit that exists, a number of plots is placed
(tiny/small/medium/large: 3/5/6/8 per unit; one more in to-be-damaged
units, as the standard asks; in persistent forest at least twice as many,
the same number in each of its forest types).  Candidate pixels are those of the unit away from its edges
(the unit eroded by one pixel, when that leaves enough); plots are spread by
dart throwing with a minimum distance that shrinks until enough are placed.
About a third of the plots of each unit are surveyed in a mid-period
campaign (so damaged units have plots before and after their damage), the
rest in the end year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

PLOTS_PER_UNIT = {"tiny": 3, "small": 5, "medium": 6, "large": 8}


def _spread(cand_rc: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Pick ``n`` of the candidate (row, col) pixels, spread by dart throwing."""
    if len(cand_rc) <= n:
        return cand_rc
    dmin = 0.8 * np.sqrt(len(cand_rc) / n)
    order = cand_rc[rng.permutation(len(cand_rc))[:20_000]]
    while True:
        chosen: list[np.ndarray] = []
        for rc in order:
            if not chosen or np.min(np.hypot(*(np.asarray(chosen) - rc).T)) >= dmin:
                chosen.append(rc)
                if len(chosen) == n:
                    return np.asarray(chosen)
        dmin *= 0.7
        if dmin < 1.0:
            return order[:n]


def _candidates(mask: np.ndarray, need: int) -> np.ndarray:
    """(row, col) of the pixels of ``mask`` away from its edges (all of them if too few)."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    sub = mask[max(r0 - 1, 0):r1 + 1, max(c0 - 1, 0):c1 + 1]
    inner = ndimage.binary_erosion(sub, structure=np.ones((3, 3), bool), border_value=0)
    ir, ic = np.nonzero(inner)
    if ir.size >= 2 * need:
        return np.column_stack([ir + max(r0 - 1, 0), ic + max(c0 - 1, 0)])
    return np.column_stack([rows, cols])


def campaign_years(base_year: int, end_year: int, every_yr: int) -> list[int]:
    """Survey years of permanent plots: every ``every_yr`` years from the base year, and the end year."""
    if every_yr <= 0:
        raise ValueError(f"re-measurement interval must be positive, got {every_yr}")
    return sorted(set(range(base_year, end_year + 1, every_yr)) | {end_year})


def select_plots(units_level2: np.ndarray, forest_type0: np.ndarray, size: str, end_year: int,
                 mid_year: int, rng: np.random.Generator, campaigns: list[int] | None = None) -> pd.DataFrame:
    """Place the plots.

    Parameters
    ----------
    units_level2 : level-2 unit of every pixel (0 none).
    forest_type0 : base-year forest type (to spread persistent-forest plots over the types).
    size : scenario size (sets the number of plots per unit).
    end_year, mid_year : survey years of the end and the mid-period campaigns (one visit per plot).
    campaigns : survey years of permanent plots, each plot measured in every one (see module docstring).

    Returns
    -------
    DataFrame with plot_id, permanent_id, row, col, unit_level2, survey_year (sorted by unit, then year).
    """
    base = PLOTS_PER_UNIT[size]
    rows_out = []
    for unit in [int(u) for u in np.unique(units_level2) if u > 0]:
        mask = units_level2 == unit
        level1 = unit // 10
        n = base + 1 if level1 == 2 else base
        picked = []
        if level1 == 1:
            types = [t for t in (1, 2, 3, 4) if np.any(mask & (forest_type0 == t))]
            per_type = -(-2 * base // max(1, len(types)))
            for t in types:
                sub = mask & (forest_type0 == t)
                picked.append(_spread(_candidates(sub, per_type), per_type, rng))
        else:
            picked.append(_spread(_candidates(mask, n), n, rng))
        rc = np.vstack([p for p in picked if len(p)]) if any(len(p) for p in picked) else np.zeros((0, 2), int)
        if campaigns is not None:
            rows_out.extend((int(r), int(c), unit, None) for r, c in rc)
            continue
        n_mid = round(len(rc) / 3)
        years = np.array([mid_year] * n_mid + [end_year] * (len(rc) - n_mid))
        years = years[rng.permutation(len(years))]
        for (r, c), yr in zip(rc, years):
            rows_out.append((int(r), int(c), unit, int(yr)))
    df = pd.DataFrame(rows_out, columns=["row", "col", "unit_level2", "survey_year"])
    df.insert(0, "permanent_id", [f"P{i + 1:03d}" for i in range(len(df))])
    if campaigns is None:
        df.insert(0, "plot_id", df["permanent_id"])
        df["survey_year"] = df["survey_year"].astype(int)
        return df
    df = df.drop(columns="survey_year").merge(pd.DataFrame({"survey_year": sorted(campaigns)}), how="cross")
    df.insert(0, "plot_id", [f"{p}-{y}" for p, y in zip(df["permanent_id"], df["survey_year"])])
    return df.reset_index(drop=True)

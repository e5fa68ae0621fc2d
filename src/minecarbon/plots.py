"""Plot aboveground carbon from tree tallies, with Monte Carlo uncertainty.

Tree AGB (kg) comes from the allometry table; AGC (kg C) = AGB x carbon
fraction of the species group.  Plot AGC density (t C/ha) =
sum(tree AGC kg) / 1000 / plot area (ha).  The plot area is size_m^2 of the
horizontal square; when the sheet marks the side as measured along the slope
(column ``size_on_slope`` true), the horizontal area is size_m^2 x cos(slope).

Uncertainty: DBH and height measurement errors are drawn (normal; DBH error as
an absolute SD in cm, height error as a relative SD) ``draws`` times, seeded;
the plot total is recomputed for every draw, giving the SD and the 2.5/97.5 %
quantiles.  Equation residual error is not included while the tables carry no
residual SD (stated in the report).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .allometry import AllometryTable
from .errors import InputError

PLOT_COLUMNS = ("plot_id", "x", "y", "survey_year", "size_m")
TREE_COLUMNS = ("plot_id", "tree_id", "species", "dbh_cm", "height_m")


def validate_trees(trees: pd.DataFrame, plots: pd.DataFrame, source: str = "trees") -> pd.DataFrame:
    """Check a tree table; raise one :class:`InputError` listing every bad row."""
    problems = []
    t = trees.copy()
    t["plot_id"] = t["plot_id"].astype(str)
    for col in ("dbh_cm", "height_m"):
        t[col] = pd.to_numeric(t[col], errors="coerce")
    line = t.index.to_numpy() + 2

    def rows(mask) -> str:
        ls = line[np.asarray(mask)]
        return ", ".join(str(v) for v in ls[:8]) + (" ..." if ls.size > 8 else "")

    bad = t["dbh_cm"].isna() | (t["dbh_cm"] <= 0)
    if bad.any():
        problems.append(f"dbh_cm missing or <= 0 on line(s) {rows(bad)}")
    if t["dbh_cm"].median() > 150:
        problems.append("dbh_cm values look like millimetres (median > 150); convert to cm")
    elif t["dbh_cm"].max() <= 1.5:
        problems.append("dbh_cm values look like metres (all <= 1.5); convert to cm")
    bad = t["height_m"].isna() | (t["height_m"] <= 1.3)
    if bad.any():
        problems.append(f"height_m missing or not above breast height (1.3 m) on line(s) {rows(bad)}")
    dup = t.duplicated(["plot_id", "tree_id"], keep=False)
    if dup.any():
        problems.append(f"duplicate (plot_id, tree_id) on line(s) {rows(dup)}")
    known = set(plots["plot_id"].astype(str))
    unknown = ~t["plot_id"].isin(known)
    if unknown.any():
        problems.append(f"plot_id not in the plot sheet on line(s) {rows(unknown)}")
    if problems:
        raise InputError(f"Tree table {source}: " + "; ".join(problems) + ". Correct these rows.")
    return t


def tree_carbon(trees: pd.DataFrame, table: AllometryTable, dbh_out_of_range: str = "warn") -> pd.DataFrame:
    """Add species_group, agb_kg, carbon_fraction, agc_kg and equation_rows to a tree table."""
    res = table.tree_biomass(trees["species"], trees["dbh_cm"].to_numpy(), trees["height_m"].to_numpy(),
                             dbh_out_of_range=dbh_out_of_range)
    out = trees.reset_index(drop=True).copy()
    for c in res.columns:
        out[c] = res[c].to_numpy()
    return out


def plot_area_ha(plots: pd.DataFrame) -> np.ndarray:
    size = pd.to_numeric(plots["size_m"], errors="coerce").to_numpy(dtype=float)
    area = size * size / 10000.0
    if "size_on_slope" in plots.columns and "slope_deg" in plots.columns:
        on_slope = plots["size_on_slope"].astype(str).str.lower().isin(("1", "true", "yes", "y"))
        cosv = np.cos(np.radians(pd.to_numeric(plots["slope_deg"], errors="coerce").fillna(0).to_numpy()))
        area = np.where(on_slope, area * cosv, area)
    return area


def plot_carbon(plots: pd.DataFrame, trees: pd.DataFrame, table: AllometryTable,
                dbh_error_cm: float = 0.5, height_error_rel: float = 0.05, draws: int = 500,
                seed: int = 0) -> pd.DataFrame:
    """Per-plot AGB/AGC totals and densities with Monte Carlo SD and 95 % interval.

    ``trees`` must already carry ``agc_kg`` (from :func:`tree_carbon`).
    Returns one row per plot (plots without trees have 0 carbon).
    """
    plots = plots.copy()
    plots["plot_id"] = plots["plot_id"].astype(str)
    area_ha = plot_area_ha(plots)
    if np.any(~np.isfinite(area_ha) | (area_ha <= 0)):
        raise InputError("Plot sheet: size_m must be a positive number on every row.")
    plots["area_ha"] = area_ha
    idx = {pid: i for i, pid in enumerate(plots["plot_id"])}
    tree_plot = trees["plot_id"].astype(str).map(idx).to_numpy()
    n = len(plots)
    agb = np.bincount(tree_plot, weights=trees["agb_kg"].to_numpy(), minlength=n)
    agc = np.bincount(tree_plot, weights=trees["agc_kg"].to_numpy(), minlength=n)
    ntree = np.bincount(tree_plot, minlength=n)

    # Monte Carlo: perturb D and H, recompute through the same equations
    rng = np.random.default_rng(seed)
    d = trees["dbh_cm"].to_numpy(dtype=float)
    h = trees["height_m"].to_numpy(dtype=float)
    cf = trees["carbon_fraction"].to_numpy(dtype=float)
    groups = trees["species_group"].to_numpy()
    sims = np.zeros((draws, n))
    eq_by_group = {g: table.equations_for(g) for g in np.unique(groups)}
    for k in range(draws):
        dk = np.maximum(d + rng.normal(0.0, dbh_error_cm, d.size), 0.1)
        hk = np.maximum(h * (1.0 + rng.normal(0.0, height_error_rel, h.size)), 1.31)
        mk = np.zeros(d.size)
        for g, eqs in eq_by_group.items():
            sel = groups == g
            for e in eqs:
                mk[sel] += e.biomass_kg(dk[sel], hk[sel])
        sims[k] = np.bincount(tree_plot, weights=mk * cf, minlength=n)
    dens = agc / 1000.0 / area_ha
    sims_dens = sims / 1000.0 / area_ha
    out = plots.copy()
    out["n_trees"] = ntree
    out["agb_kg"] = agb
    out["agc_kg"] = agc
    out["agb_t_ha"] = agb / 1000.0 / area_ha
    out["agc_t_ha"] = dens
    out["agc_sd_t_ha"] = sims_dens.std(axis=0, ddof=1)
    out["agc_lo95_t_ha"] = np.quantile(sims_dens, 0.025, axis=0)
    out["agc_hi95_t_ha"] = np.quantile(sims_dens, 0.975, axis=0)
    # dominant species group by carbon share
    share = trees.groupby([trees["plot_id"].astype(str), "species_group"])["agc_kg"].sum()
    dom = share.groupby(level=0).idxmax().map(lambda t: t[1]) if len(share) else pd.Series(dtype=str)
    out["dominant_group"] = out["plot_id"].map(dom).fillna("")
    return out

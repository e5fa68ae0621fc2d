"""Plot aboveground carbon from tree tallies, with Monte Carlo uncertainty.

Tree AGB (kg) comes from the allometry table (:mod:`minecarbon.allometry`);
AGC (kg C) = AGB x carbon fraction of the species group.  Plot densities are

    AGC (t C/ha) = sum(tree AGC, kg C) / 1000 / plot area (ha)

The plot area is ``size_m**2`` of the horizontal square; when the sheet marks
the side as measured along the slope (column ``size_on_slope`` true, with
``slope_deg``), the horizontal area is ``size_m**2 * cos(slope)``.

Uncertainty (:func:`monte_carlo_agc_kg`): for each of ``draws`` seeded draws,
every tree's DBH gets an absolute normal error (SD ``dbh_error_cm``, result
floored at 0.1 cm) and its height a relative normal error (SD
``height_error_rel``, result floored at 1.31 m, i.e. above breast height); the
tree is recomputed through the same equations; where an equation row gives
``residual_sd_log`` = s, its prediction is multiplied by exp(e - s**2/2),
e ~ N(0, s) drawn per tree, row and draw (log-normal, mean-preserving).  The
plot sums of the draws give the Monte Carlo mean, SD (ddof = 1) and the
2.5-97.5 % interval.  Wood density (when given) and carbon fractions are
taken as exact.  The draws are computed as (draws x trees) arrays in blocks;
the result depends only on the seed, not on the block size.

Defaults (documented in ``docs/plots.md``): DBH error SD 0.5 cm and height
error 5 % are this project's choices for tape/TLS measurements, not values of
the standard; measure them on the tape-tally validation plots where possible.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from .allometry import AllometryTable
from .errors import InputError
from .inputs.tables import BREAST_HEIGHT_M, DBH_MAX_CM, HEIGHT_MAX_M, PLOT_SHEET, TREE_SHEET  # noqa: F401

PLOT_COLUMNS = PLOT_SHEET.required
TREE_COLUMNS = TREE_SHEET.required
DBH_FLOOR_CM = 0.1
"""Lower bound of a perturbed DBH in the Monte Carlo (cm)."""
HEIGHT_FLOOR_M = 1.31
"""Lower bound of a perturbed height in the Monte Carlo (m, just above breast height)."""
_BLOCK_ELEMENTS = 1 << 18
"""Target number of (draw, tree) values per Monte Carlo block (2 MiB per float64 array; larger
blocks were not faster in benchmarks/bench_plots.py: the arrays fall out of cache)."""


def _lines(mask: np.ndarray | pd.Series, index: np.ndarray) -> str:
    ls = index[np.asarray(mask, dtype=bool)]
    return ", ".join(str(v) for v in ls[:8]) + (" ..." if ls.size > 8 else "")


def validate_trees(trees: pd.DataFrame, plots: pd.DataFrame | None = None,
                   source: str = "tree table") -> pd.DataFrame:
    """Check a tree table with the rules of :data:`minecarbon.inputs.TREE_SHEET`; raise one error listing every bad row.

    The rules are those ``minecarbon check`` applies (one declaration).  Line
    numbers in messages are those of the CSV file (header = line 1): the
    index of ``trees`` is taken as the row's position in the file, as
    :func:`minecarbon.io.read_table` sets it.

    Parameters
    ----------
    trees : DataFrame
        At least ``plot_id, tree_id, species, dbh_cm, height_m``; optional
        ``wood_density`` (g cm-3).
    plots : DataFrame, optional
        The plot sheet; when given, every tree's ``plot_id`` must be in it.
    source : str
        Name of the table, for messages.

    Returns
    -------
    DataFrame
        A copy (index 0..n-1) with ``plot_id``/``tree_id``/``species`` as
        text and numeric ``dbh_cm``, ``height_m`` (and ``wood_density``).

    Raises
    ------
    InputError
        With ``problems`` (file, where, message, fix): missing columns;
        missing, non-numeric or non-positive DBH; height missing or not above
        breast height; DBH in millimetres or metres (whole column, or single
        rows above 300 cm); heights in dm/cm; wood density outside
        0.05-1.5 g/cm3; duplicate (plot_id, tree_id); empty species or
        tree_id; trees of plots not in the plot sheet.

    Warns
    -----
    MinecarbonWarning
        Counted: DBH below 1 cm in a table whose median is 5 cm or more
        (possibly metres).
    """
    plot_ids = None if plots is None else set(plots["plot_id"].astype(str).str.strip())
    return TREE_SHEET.validate(trees, source, plot_ids=plot_ids).reset_index(drop=True)


def tree_carbon(trees: pd.DataFrame, table: AllometryTable, dbh_out_of_range: str = "warn",
                source: str = "tree table") -> pd.DataFrame:
    """Add ``species_group, agb_kg, carbon_fraction, agc_kg, equation_rows, equation`` to a tree table.

    The ``wood_density`` column (g cm-3), when present, is passed to the
    equations that use it.
    """
    wd = trees["wood_density"].to_numpy(dtype=float) if "wood_density" in trees.columns else None
    res = table.tree_biomass(trees["species"], trees["dbh_cm"].to_numpy(dtype=float),
                             trees["height_m"].to_numpy(dtype=float), wood_density=wd,
                             dbh_out_of_range=dbh_out_of_range, source=source,
                             tree_ids=trees["tree_id"].astype(str).to_numpy() if "tree_id" in trees.columns else None)
    out = trees.reset_index(drop=True).copy()
    for c in res.columns:
        out[c] = res[c].to_numpy()
    return out


def plot_area_ha(plots: pd.DataFrame) -> np.ndarray:
    """Horizontal plot area (ha): size_m**2, times cos(slope_deg) where ``size_on_slope`` is true."""
    size = pd.to_numeric(plots["size_m"], errors="coerce").to_numpy(dtype=float)
    area = size * size / 10000.0
    if "size_on_slope" in plots.columns and "slope_deg" in plots.columns:
        on_slope = plots["size_on_slope"].astype(str).str.strip().str.lower().isin(("1", "true", "yes", "y"))
        cosv = np.cos(np.radians(pd.to_numeric(plots["slope_deg"], errors="coerce").fillna(0).to_numpy()))
        area = np.where(on_slope.to_numpy(), area * cosv, area)
    return area


def monte_carlo_agc_kg(trees: pd.DataFrame, table: AllometryTable, plot_index: np.ndarray, n_plots: int,
                       dbh_error_cm: float = 0.5, height_error_rel: float = 0.05, draws: int = 500,
                       seed: int = 0, residual_error: bool = True,
                       block_draws: int | None = None) -> np.ndarray:
    """Monte Carlo draws of plot AGC (kg C), vectorised as (draws x trees) blocks.

    Parameters
    ----------
    trees : DataFrame
        Output of :func:`tree_carbon` (``dbh_cm, height_m, species_group,
        carbon_fraction``, optional ``wood_density``).
    table : AllometryTable
        The table the trees were computed with.
    plot_index : array of int
        Plot number (0 .. n_plots-1) of each tree.
    n_plots : int
        Number of plots.
    dbh_error_cm : float
        SD of the absolute DBH measurement error (cm).
    height_error_rel : float
        SD of the relative height measurement error (fraction).
    draws : int
        Number of draws.
    seed : int
        Seed; DBH/height errors come from ``numpy.random.default_rng(seed)``
        (drawn per draw as DBH errors of all trees, then height errors),
        equation residuals from an independent child stream.
    residual_error : bool
        Propagate ``residual_sd_log`` of the equations that give one.
    block_draws : int, optional
        Draws per block (default: about 2**18 values per block).  Does not
        change the result.

    Returns
    -------
    numpy.ndarray
        (draws, n_plots) plot AGC in kg C.
    """
    d = trees["dbh_cm"].to_numpy(dtype=float)
    h = trees["height_m"].to_numpy(dtype=float)
    cf = trees["carbon_fraction"].to_numpy(dtype=float)
    wd = trees["wood_density"].to_numpy(dtype=float) if "wood_density" in trees.columns else None
    groups = trees["species_group"].to_numpy()
    plot_index = np.asarray(plot_index, dtype=np.intp)
    n = d.size
    out = np.zeros((draws, n_plots))
    if n == 0 or draws == 0:
        return out
    by_group = []  # (tree selection, n trees, [(equation, residual SD, offset in eps)], wood density)
    n_resid = 0
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        sel: slice | np.ndarray = slice(None) if idx.size == n else idx
        terms = []
        for e in table.equations_for(str(g)):
            s = e.residual_sd_log if residual_error and e.residual_sd_log else 0.0
            terms.append((e, s, n_resid))
            if s:
                n_resid += idx.size
        by_group.append((sel, idx.size, terms, None if wd is None else wd[sel]))
    rng = np.random.default_rng(seed)
    rng_res = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    block = block_draws or max(1, min(draws, _BLOCK_ELEMENTS // max(n, 1)))
    for k0 in range(0, draws, block):
        b = min(block, draws - k0)
        z = rng.standard_normal((b, 2, n))
        dk = np.maximum(d + dbh_error_cm * z[:, 0, :], DBH_FLOOR_CM)
        hk = np.maximum(h * (1.0 + height_error_rel * z[:, 1, :]), HEIGHT_FLOOR_M)
        del z
        eps = rng_res.standard_normal((b, n_resid)) if n_resid else None
        mk = np.zeros((b, n))
        for sel, size, terms, wdg in by_group:
            dg, hg = dk[:, sel], hk[:, sel]
            acc = np.zeros((b, size))
            for e, s, off in terms:
                m = e.biomass_kg(dg, hg, wdg)
                if s:
                    m = m * np.exp(s * eps[:, off:off + size] - 0.5 * s * s)
                acc += m
            mk[:, sel] = acc
        flat = (np.arange(b, dtype=np.intp)[:, None] * n_plots + plot_index[None, :]).ravel()
        out[k0:k0 + b] = np.bincount(flat, weights=(mk * cf).ravel(), minlength=b * n_plots).reshape(b, n_plots)
    return out


def plot_carbon(plots: pd.DataFrame, trees: pd.DataFrame, table: AllometryTable,
                dbh_error_cm: float = 0.5, height_error_rel: float = 0.05, draws: int = 500,
                seed: int = 0, residual_error: bool = True) -> pd.DataFrame:
    """Per-plot AGB/AGC totals and densities with Monte Carlo mean, SD and 95 % interval.

    Parameters
    ----------
    plots : DataFrame
        Plot sheet (``plot_id, size_m``; optional ``slope_deg, size_on_slope``).
    trees : DataFrame
        Output of :func:`tree_carbon`.
    table : AllometryTable
        The table used for the trees.
    dbh_error_cm, height_error_rel, draws, seed, residual_error
        Monte Carlo settings, see :func:`monte_carlo_agc_kg`.

    Returns
    -------
    DataFrame
        The plot sheet plus ``area_ha, n_trees, agb_kg, agc_kg, agb_t_ha,
        agc_t_ha`` (point estimates), ``agc_mc_mean_t_ha, agc_sd_t_ha,
        agc_lo95_t_ha, agc_hi95_t_ha`` (Monte Carlo), ``mc_draws,
        mc_error_sources`` and ``dominant_group`` (largest AGC share).
        Plots without trees have 0 carbon and 0 SD.
    """
    plots = plots.copy()
    plots["plot_id"] = plots["plot_id"].astype(str).str.strip()
    area_ha = plot_area_ha(plots)
    bad = ~np.isfinite(area_ha) | (area_ha <= 0)
    if np.any(bad):
        raise InputError(f"Plot sheet: size_m must be a positive number (m) on every row; not on line(s) "
                         f"{_lines(bad, np.arange(len(plots)) + 2)}.")
    plots["area_ha"] = area_ha
    idx = {pid: i for i, pid in enumerate(plots["plot_id"])}
    tree_plot = trees["plot_id"].astype(str).map(idx)
    if tree_plot.isna().any():
        raise InputError("Tree table: plot_id(s) "
                         f"{sorted(set(trees.loc[tree_plot.isna(), 'plot_id'].astype(str)))[:8]} are not in "
                         f"the plot sheet. Correct the plot_id or add the plots.")
    tree_plot = tree_plot.to_numpy(dtype=np.intp)
    n = len(plots)
    agb = np.bincount(tree_plot, weights=trees["agb_kg"].to_numpy(dtype=float), minlength=n)
    agc = np.bincount(tree_plot, weights=trees["agc_kg"].to_numpy(dtype=float), minlength=n)
    ntree = np.bincount(tree_plot, minlength=n)
    sims = monte_carlo_agc_kg(trees, table, tree_plot, n, dbh_error_cm, height_error_rel, draws, seed,
                              residual_error)
    sims_dens = sims / 1000.0 / area_ha
    out = plots.copy()
    out["n_trees"] = ntree
    out["agb_kg"] = agb
    out["agc_kg"] = agc
    out["agb_t_ha"] = agb / 1000.0 / area_ha
    out["agc_t_ha"] = agc / 1000.0 / area_ha
    out["agc_mc_mean_t_ha"] = sims_dens.mean(axis=0)
    out["agc_sd_t_ha"] = sims_dens.std(axis=0, ddof=1) if draws > 1 else 0.0
    out["agc_lo95_t_ha"] = np.quantile(sims_dens, 0.025, axis=0)
    out["agc_hi95_t_ha"] = np.quantile(sims_dens, 0.975, axis=0)
    out["mc_draws"] = draws
    out["mc_error_sources"] = _error_sources(trees, table, tree_plot, n, dbh_error_cm, height_error_rel,
                                             residual_error)
    share = trees.groupby([trees["plot_id"].astype(str), "species_group"])["agc_kg"].sum()
    dom = share.groupby(level=0).idxmax().map(lambda t: t[1]) if len(share) else pd.Series(dtype=str)
    out["dominant_group"] = out["plot_id"].map(dom).fillna("")
    return out


def _error_sources(trees: pd.DataFrame, table: AllometryTable, tree_plot: np.ndarray, n_plots: int,
                   dbh_error_cm: float, height_error_rel: float, residual_error: bool) -> list[str]:
    """Per plot, the errors the Monte Carlo propagated, e.g. ``dbh;height;residual``.

    ``residual`` when every equation of every tree of the plot has a residual
    SD, ``residual (partly)`` when only some have, nothing when none has.
    """
    base = [s for s, on in (("dbh", dbh_error_cm > 0), ("height", height_error_rel > 0)) if on]
    full = np.zeros(n_plots)
    some = np.zeros(n_plots)
    if residual_error and len(trees):
        state = {}
        for g in pd.unique(trees["species_group"]):
            sds = [bool(e.residual_sd_log) for e in table.equations_for(str(g))]
            state[g] = (float(all(sds)), float(any(sds)))
        st = trees["species_group"].map(state)
        full = np.bincount(tree_plot, weights=st.map(lambda v: v[0]).to_numpy(float), minlength=n_plots)
        some = np.bincount(tree_plot, weights=st.map(lambda v: v[1]).to_numpy(float), minlength=n_plots)
    count = np.bincount(tree_plot, minlength=n_plots)
    out = []
    for f, sm, c in zip(full, some, count):
        parts = list(base)
        if c and f == c:
            parts.append("residual")
        elif sm > 0:
            parts.append("residual (partly)")
        out.append(";".join(parts) or "none")
    return out


def plot_carbon_by_group(plot_table: pd.DataFrame, trees: pd.DataFrame) -> pd.DataFrame:
    """AGB/AGC totals and densities per plot and species group.

    Returns ``plot_id, species_group, n_trees, agb_kg, agc_kg, agb_t_ha,
    agc_t_ha, agc_share`` (share of the plot's AGC, 0-1).
    """
    t = trees.assign(plot_id=trees["plot_id"].astype(str))
    g = (t.groupby(["plot_id", "species_group"], sort=True)
         .agg(n_trees=("agc_kg", "size"), agb_kg=("agb_kg", "sum"), agc_kg=("agc_kg", "sum"))
         .reset_index())
    area = plot_table.set_index(plot_table["plot_id"].astype(str))["area_ha"]
    total = g.groupby("plot_id")["agc_kg"].transform("sum")
    g["agb_t_ha"] = g["agb_kg"] / 1000.0 / g["plot_id"].map(area).to_numpy(float)
    g["agc_t_ha"] = g["agc_kg"] / 1000.0 / g["plot_id"].map(area).to_numpy(float)
    g["agc_share"] = np.where(total > 0, g["agc_kg"] / total.where(total > 0, 1.0), 0.0)
    return g


def summary_by_forest_type(plot_table: pd.DataFrame, column: str = "forest_type",
                           names: dict[int, str] | None = None) -> pd.DataFrame:
    """Plot AGC density statistics per forest type.

    Parameters
    ----------
    plot_table : DataFrame
        Output of :func:`plot_carbon`.
    column : str
        Column with the forest type (code or name); when absent every plot is
        counted under ``"(not given)"``.
    names : dict, optional
        Code -> name (e.g. ``{1: "coniferous"}``) to label numeric codes.

    Returns
    -------
    DataFrame
        ``forest_type, forest_type_name, n_plots, agc_mean_t_ha, agc_sd_t_ha``
        (between-plot SD, ddof = 1), ``agc_min_t_ha, agc_max_t_ha,
        agc_mc_sd_mean_t_ha`` (mean within-plot Monte Carlo SD).
    """
    key = plot_table[column] if column in plot_table.columns else pd.Series("(not given)", index=plot_table.index)
    rows = []
    for ft, grp in plot_table.groupby(key, sort=True):
        v = grp["agc_t_ha"].to_numpy(dtype=float)
        label = str(ft)
        if names:
            try:
                label = names.get(int(float(ft)), label)
            except (TypeError, ValueError):
                pass
        rows.append({"forest_type": ft, "forest_type_name": label, "n_plots": int(v.size),
                     "agc_mean_t_ha": float(v.mean()), "agc_sd_t_ha": float(v.std(ddof=1)) if v.size > 1
                     else float("nan"), "agc_min_t_ha": float(v.min()), "agc_max_t_ha": float(v.max()),
                     "agc_mc_sd_mean_t_ha": float(grp["agc_sd_t_ha"].mean())})
    return pd.DataFrame(rows, columns=["forest_type", "forest_type_name", "n_plots", "agc_mean_t_ha",
                                       "agc_sd_t_ha", "agc_min_t_ha", "agc_max_t_ha",
                                       "agc_mc_sd_mean_t_ha"])


def dominant_species(trees: pd.DataFrame) -> str | None:
    """Species with the largest basal area (sum of DBH^2) in a tree table; None if empty."""
    if trees is None or len(trees) == 0 or "species" not in trees.columns:
        return None
    d = pd.to_numeric(trees["dbh_cm"], errors="coerce").fillna(0.0)
    ba = (d * d).groupby(trees["species"].astype(str)).sum()
    return str(ba.idxmax()) if len(ba) else None

"""Checks of the field tables through their specs, and the cross-file checks (area, plots, species, CV)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MinecarbonError, MissingValueError, UnknownSpeciesError
from ..inputs._text import numeric as _numeric
from ..inputs._text import one_line as _one_line
from ..inputs._text import rows as _rows
from ..inputs._text import values as _values
from ._context import _Context, _crs_name, _same_crs


def _check_plots(ctx: _Context) -> None:
    """The plot sheet through :data:`minecarbon.inputs.PLOT_SHEET`; then the plots against the monitoring area."""
    from ..inputs import PLOT_SHEET
    from ..inputs.spec import read_sheet
    from ..inputs.tables import plot_xy

    cfg = ctx.cfg
    path = cfg.path(cfg.inputs.plots)
    assert path is not None
    if not path.is_file():
        return
    shown = ctx.show(path)
    try:
        sheet = read_sheet(path, PLOT_SHEET.what, "[inputs].plots")
    except MinecarbonError as exc:
        ctx.problems += [replace(p, file=shown) for p in exc.problems]
        return
    ctx.problems += PLOT_SHEET.sheet_problems(sheet, shown, cfg=cfg)
    df = sheet.df
    if len(df) == 0:
        return
    if "plot_id" in df.columns:
        ctx.plot_ids = set(df["plot_id"][df["plot_id"] != ""])
    if "x" in df.columns and "y" in df.columns:
        x, y, ok = plot_xy(sheet)
        ctx.plot_xy = np.column_stack([x[ok].to_numpy(float), y[ok].to_numpy(float)])
        if bool(ok.any()) and ctx.area is not None:
            _plots_outside(ctx, df, shown, sheet.word, x, y, ok)


def _check_model_plots(ctx: _Context) -> None:
    """What the model stage would fail on: too few plots, or too few spatial groups, for the CV."""
    from ..model.cv import MIN_SAMPLES, spatial_groups

    m, cfg = ctx.cfg.model, ctx.cfg
    if ctx.plot_ids is None:
        return
    shown = ctx.show(cfg.path(cfg.inputs.plots))
    n = len(ctx.plot_ids)
    need = max(m.cv_folds, MIN_SAMPLES)
    if 0 < n < need:
        ctx.add(shown, "(file)", f"the plot sheet has {n} plot(s); the AGC model needs at least {need} "
                f"({m.cv_folds}-fold cross-validation, [model].cv_folds, and at least {MIN_SAMPLES} plots in any "
                f"case)", "Survey more plots" + (" or lower [model].cv_folds" if m.cv_folds > MIN_SAMPLES else "")
                + " (plots without usable features are dropped too, so keep a margin).")
        return
    xy = ctx.plot_xy
    if m.cv_scheme != "spatial" or xy is None or len(xy) < 2:
        return
    k = int(np.unique(spatial_groups(xy[:, 0], xy[:, 1], m.cv_block_m, m.cv_link_m)).size)
    blocks = (f"blocks of [model].cv_block_m = {m.cv_block_m:g} m, plots closer than cv_link_m = "
              f"{m.cv_link_m:g} m joined")
    fix = ("Use smaller blocks ([model].cv_block_m) or a smaller cv_link_m, or cv_scheme = 'random' (optimistic "
           "where plots are spatially autocorrelated).")
    if k < 2:
        ctx.add(ctx.project_file, "[model].cv_block_m", f"all {len(xy)} plots of {shown} fall in one spatial "
                f"cross-validation group ({blocks}), so the cross-validation cannot split them", fix)
    elif k < m.cv_folds:
        ctx.add(ctx.project_file, "[model].cv_folds", f"the {len(xy)} plots of {shown} fall in only {k} spatial "
                f"cross-validation groups ({blocks}), fewer than cv_folds = {m.cv_folds}: the CV will use {k} "
                f"folds", fix + f" Or set cv_folds = {k} so that the model card says what is done.", "warning")


def _plots_outside(ctx: _Context, df: pd.DataFrame, shown: str, word: str, x: pd.Series, y: pd.Series,
                   ok: pd.Series) -> None:
    import shapely

    xs, ys = x[ok].to_numpy(float), y[ok].to_numpy(float)
    plots_crs = ctx.target_crs or ctx.area_crs
    if not _same_crs(plots_crs, ctx.area_crs):
        from pyproj import Transformer

        xs, ys = Transformer.from_crs(plots_crs, ctx.area_crs, always_xy=True).transform(xs, ys)
    inside = shapely.contains_xy(ctx.area, np.asarray(xs), np.asarray(ys))
    idx = df.index[ok][~inside]
    if len(idx):
        ids = list(df.loc[idx, "plot_id"]) if "plot_id" in df.columns else []
        ctx.add(shown, _rows(idx, word, "x, y"), f"plot(s) {_values(ids, 8)} lie outside the monitoring "
                f"area (boundary + {ctx.cfg.area.buffer_m:g} m buffer, coordinates read in "
                f"{_crs_name(plots_crs)})", "Check the coordinates (swapped x/y, another CRS or a typo); "
                "plots outside the area are not used.", "warning")


def _load_allometry(ctx: _Context) -> None:
    from ..allometry import AllometryTable

    cfg, pf = ctx.cfg, ctx.project_file
    src = cfg.plots.allometry
    path = cfg.path(src) if src else None
    if path is not None and not path.is_file():
        return  # reported by _check_files_exist
    try:
        base = AllometryTable.from_csv(path) if path is not None else AllometryTable.default()
    except Exception as exc:  # noqa: BLE001
        ctx.add(ctx.show(path) if path else pf, "(file)" if path else "[plots].allometry",
                f"the allometry table cannot be used: {_one_line(str(exc))}",
                "Fix the table (format in docs/design.md, 'Allometry table format').")
        return
    overrides: dict[str, tuple[float, str]] = {}
    for group, cf in cfg.plots.carbon_fractions.items():
        where = f"[plots.carbon_fractions.{group}]"
        if group in base.groups:
            overrides[group] = (cf.value, cf.source)
            continue
        try:
            real = base.resolve(group)
        except UnknownSpeciesError as exc:
            ctx.add(pf, where, f"{group!r} is not a species group of the allometry table ({base.name})",
                    _species_fix(str(exc), group, base.name) or "Use a species_group name of the table.")
            continue
        ctx.add(pf, where, f"{group!r} is another name of the species group {real!r}; carbon fractions are "
                f"keyed by the group name, so this value would be ignored",
                f"Rename the table to [plots.carbon_fractions.{real}].")
    ctx.table = AllometryTable(base.frame, name=base.name, carbon_fractions=overrides) if overrides else base


def _species_fix(message: str, name: str, table: str) -> str:
    prefix = f"Species {name!r} is not in the allometry table ({table})."
    return message[len(prefix):].strip() if message.startswith(prefix) else ""


def _check_trees(ctx: _Context) -> None:
    path = ctx.cfg.path(ctx.cfg.inputs.trees)
    assert path is not None
    if path.is_file():
        _check_tree_sheet(ctx, path, "tree tally", "[inputs].trees", check_plots=True)


def _check_tally(ctx: _Context) -> None:
    path = ctx.cfg.path(ctx.cfg.inputs.tally)
    if path is not None and path.is_file():
        _check_tree_sheet(ctx, path, "tape tally", "[inputs].tally", check_plots=False)


def _check_tree_sheet(ctx: _Context, path: Path, what: str, key: str, check_plots: bool) -> None:
    """A tree sheet through its spec (:data:`minecarbon.inputs.TREE_SHEET` / ``TALLY_SHEET``); then its species."""
    from ..inputs import TABLES
    from ..inputs.spec import read_sheet

    spec = TABLES[key.replace("[", "").replace("]", "")]
    shown = ctx.show(path)
    try:
        sheet = read_sheet(path, spec.what, key)
    except MinecarbonError as exc:
        ctx.problems += [replace(p, file=shown) for p in exc.problems]
        return
    plot_ids = ctx.plot_ids if check_plots else None
    ctx.problems += spec.sheet_problems(sheet, shown, plot_ids=plot_ids,
                                        plot_sheet=ctx.show(ctx.cfg.path(ctx.cfg.inputs.plots)))
    if len(sheet.df) and "species" in sheet.df.columns:
        _check_species(ctx, sheet.df, shown, sheet.word)


def _check_species(ctx: _Context, df: pd.DataFrame, shown: str, word: str) -> None:
    """Species against the allometry table (a cross-file check): known names, carbon fractions, DBH ranges."""
    sp = df["species"]
    blank = sp == ""
    table = ctx.table
    if table is None:
        return
    groups: dict[str, str] = {}
    for name in dict.fromkeys(sp[~blank]):
        try:
            groups[name] = table.resolve(name)
        except UnknownSpeciesError as exc:
            rows = df.index[sp == name]
            ctx.add(shown, _rows(rows, word, "species"), f"species {name!r} is not in the allometry table "
                    f"({table.name})", _species_fix(str(exc), name, table.name)
                    or "Correct the name, add it as an alias, or load a table that covers it with "
                    "[plots].allometry.")
    used = list(dict.fromkeys(groups.values()))
    from ..allometry import TIER1_MARK

    for group in used:
        try:
            cf, cf_source = table.carbon_fraction(group)
            if cf_source.startswith(TIER1_MARK):
                names = [n for n, g in groups.items() if g == group]
                ctx.add(shown, _rows(df.index[sp.isin(names)], word, "species"), f"species group {group!r} "
                        f"({_values(names, 3)}) has no carbon fraction of its own in {table.name}: the tier-1 "
                        f"default {cf:g} is used ({cf_source.split(';')[0]})",
                        f"Nothing, if a generic value suits the report (it is flagged there as tier-1); a "
                        f"species-specific value goes into {ctx.project_file} as [plots.carbon_fractions.{group}] "
                        f"with value and source.", "warning")
        except MissingValueError:
            names = [n for n, g in groups.items() if g == group]
            rows = df.index[sp.isin(names)]
            ctx.add(shown, _rows(rows, word, "species"), f"no carbon fraction is known for species group "
                    f"{group!r} ({_values(names, 3)}) in {table.name}",
                    f"Supply one in {ctx.project_file}: add a table [plots.carbon_fractions.{group}] with "
                    f"value = <fraction, e.g. 0.47> and source = \"<citation or decision, e.g. IPCC 2006 "
                    f"default, chosen by <who>>\".")
        except Exception as exc:  # noqa: BLE001 - inconsistent table rows
            ctx.add(shown, "column species", f"carbon fraction of {group!r}: {_one_line(str(exc))}",
                    "Fix the allometry table.")
    # DBH outside the fitted range of the equations
    if "dbh_cm" in df.columns and groups:
        d, _, _ = _numeric(df["dbh_cm"])
        outside = pd.Series(False, index=df.index)
        for name, group in groups.items():
            sel = (sp == name) & d.notna() & (d > 0)
            for e in table.equations_for(group):
                lo = e.dbh_min_cm if e.dbh_min_cm is not None else -np.inf
                hi = e.dbh_max_cm if e.dbh_max_cm is not None else np.inf
                outside |= sel & ((d < lo) | (d > hi))
        if bool(outside.any()):
            err = ctx.cfg.plots.dbh_out_of_range == "error"
            ctx.add(shown, _rows(df.index[outside], word, "dbh_cm"), f"DBH {_values(d[outside])} cm is "
                    f"outside the fitted range of the species' biomass equation; the biomass would be "
                    f"extrapolated", "Check the values; set [plots].dbh_out_of_range = 'warn' to accept "
                    "the extrapolation." if err else "Check the values; extrapolation is accepted "
                    "([plots].dbh_out_of_range = 'warn').", "error" if err else "warning")

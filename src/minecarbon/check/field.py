"""Checks of the field tables through their specs, and the cross-file checks (area, plots, species, CV)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MinecarbonError
from ..inputs._text import rows as _rows
from ..inputs._text import values as _values
from ..inputs.species import species_problems
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
    """What the model stage would fail on (:func:`minecarbon.project.advice.model_plot_problems`)."""
    from ..project.advice import model_plot_problems

    if ctx.plot_ids is not None:
        ctx.problems += model_plot_problems(ctx.cfg, len(ctx.plot_ids), ctx.plot_xy,
                                            ctx.show(ctx.cfg.path(ctx.cfg.inputs.plots)), ctx.project_file)


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
    from ..project.readers import checked_allometry

    ctx.table, found = checked_allometry(ctx.cfg, ctx.show, ctx.project_file)
    ctx.problems += found


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
        ctx.problems += species_problems(sheet, shown, ctx.table, ctx.project_file, ctx.cfg.plots.dbh_out_of_range)

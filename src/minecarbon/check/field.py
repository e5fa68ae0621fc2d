"""Checks of the field tables through their specs, and the cross-file checks (area, plots, species, CV)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..errors import MinecarbonError
from ..inputs.species import species_problems
from ..inputs.spec import Report
from ..inputs.tables import plots_outside
from ._context import _Context


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
            rep = Report(shown)
            plots_outside(rep, SimpleNamespace(target_crs=ctx.target_crs, area=ctx.area, area_crs=ctx.area_crs,
                                               buffer_m=cfg.area.buffer_m), df, sheet.word, x, y, ok)
            ctx.problems += rep.problems


def _check_model_plots(ctx: _Context) -> None:
    """What the model stage would fail on (:func:`minecarbon.project.advice.model_plot_problems`)."""
    from ..project.advice import model_plot_problems

    if ctx.plot_ids is not None:
        ctx.problems += model_plot_problems(ctx.cfg, len(ctx.plot_ids), ctx.plot_xy,
                                            ctx.show(ctx.cfg.path(ctx.cfg.inputs.plots)), ctx.project_file)


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

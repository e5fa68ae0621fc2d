"""Project-level readers: the project's inputs read through their specs, as the stages and check use them.

Each takes the :class:`~minecarbon.config.ProjectConfig` and returns data
(DataFrames, tables, paths); none knows about the pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..allometry import AllometryTable
from ..config import ProjectConfig
from ..errors import InputError, Problem
from ..inputs import PLOT_LAYOUT, PLOT_SHEET
from ..inputs._text import one_line
from ..inputs.spec import Report
from ..io import read_table

log = logging.getLogger(__name__)

__all__ = ["SCAN_POSITION_COLUMNS", "checked_allometry", "distinct_plots", "load_allometry", "read_plot_sheet", "read_scan_positions",
           "scan_paths"]


def load_allometry(cfg: ProjectConfig) -> AllometryTable:
    """The project's allometry table (user table or the shipped one) with its carbon-fraction overrides."""
    overrides = {k: (v.value, v.source) for k, v in cfg.plots.carbon_fractions.items()}
    if cfg.plots.allometry:
        return AllometryTable.from_csv(cfg.path(cfg.plots.allometry), carbon_fractions=overrides)
    return AllometryTable.default(carbon_fractions=overrides)


def checked_allometry(cfg: ProjectConfig, show: Callable[[Path | None], str], pf: str
                      ) -> tuple[AllometryTable | None, list[Problem]]:
    """The allometry table as :func:`load_allometry` builds it, with the problems of the table and of
    ``[plots.carbon_fractions]`` (a group the table lacks, another name of a group) instead of raising."""
    from ..errors import UnknownSpeciesError
    from ..inputs.species import species_fix

    rep = Report(pf)
    src = cfg.plots.allometry
    path = cfg.path(src) if src else None
    if path is not None and not path.is_file():
        return None, rep.problems  # reported by check's file rule
    try:
        base = AllometryTable.from_csv(path) if path is not None else AllometryTable.default()
    except Exception as exc:  # noqa: BLE001
        rep.problems.append(Problem(show(path) if path else pf, "(file)" if path else "[plots].allometry",
                                    f"the allometry table cannot be used: {one_line(str(exc))}",
                                    "Fix the table (format in docs/design.md, 'Allometry table format')."))
        return None, rep.problems
    overrides: dict[str, tuple[float, str]] = {}
    for group, cf in cfg.plots.carbon_fractions.items():
        where = f"[plots.carbon_fractions.{group}]"
        if group in base.groups:
            overrides[group] = (cf.value, cf.source)
            continue
        try:
            real = base.resolve(group)
        except UnknownSpeciesError as exc:
            rep.add(where, f"{group!r} is not a species group of the allometry table ({base.name})",
                    species_fix(str(exc), group, base.name) or "Use a species_group name of the table.")
            continue
        rep.add(where, f"{group!r} is another name of the species group {real!r}; carbon fractions are "
                f"keyed by the group name, so this value would be ignored",
                f"Rename the table to [plots.carbon_fractions.{real}].")
    return (AllometryTable(base.frame, name=base.name, carbon_fractions=overrides) if overrides else base,
            rep.problems)


def read_plot_sheet(cfg: ProjectConfig, path: Path | None = None, check_years: bool = True) -> pd.DataFrame:
    """Read a plot sheet (default: ``[inputs].plots``) through its spec; every bad row in one error.

    ``check_years=False`` reads the layout only (ids and centres,
    :data:`minecarbon.inputs.PLOT_LAYOUT`), for ``minecarbon plots check``.
    """
    path = path or cfg.path(cfg.inputs.plots)
    return (PLOT_SHEET if check_years else PLOT_LAYOUT).read(path, cfg=cfg)


def distinct_plots(sheet: pd.DataFrame) -> pd.DataFrame:
    """One row per plot: visits of a re-measured plot (same ``permanent_id``) count once."""
    if "permanent_id" not in sheet.columns:
        return sheet
    pid = sheet["permanent_id"].astype(str).str.strip()
    keep = sheet["permanent_id"].isna() | (pid == "") | ~pid.duplicated()
    return sheet[keep.to_numpy()]


def scan_paths(cfg: ProjectConfig) -> dict[str, Path]:
    """plot_id -> scan file for every file matched by ``[inputs].tls``."""
    out = {}
    for key, path in cfg.input_paths().items():
        if key.startswith("inputs.tls["):
            out[path.stem] = path
    return dict(sorted(out.items()))


SCAN_POSITION_COLUMNS = ("centre_x_m", "centre_y_m", "rotation_deg")
"""Optional columns of ``[lidar].scan_positions`` (besides ``plot_id``); 0 where a column is absent."""


def read_scan_positions(cfg: ProjectConfig, scanned: list[str]) -> dict[str, tuple[float, float, float]]:
    """plot_id -> (centre_x_m, centre_y_m, rotation_deg) from ``[lidar].scan_positions`` (every bad row in one error)."""
    if not cfg.lidar.scan_positions:
        return {}
    path = cfg.path(cfg.lidar.scan_positions)
    df = read_table(path, ("plot_id",), what="scan positions ([lidar].scan_positions)")
    df["plot_id"] = df["plot_id"].astype(str).str.strip()
    problems = []
    dup = df["plot_id"].duplicated(keep=False)
    if dup.any():
        problems.append(f"plot_id repeated on line(s) {', '.join(str(i + 2) for i in np.flatnonzero(dup))}")
    present = [c for c in SCAN_POSITION_COLUMNS if c in df.columns]
    if not present:
        problems.append(f"none of the columns {', '.join(SCAN_POSITION_COLUMNS)}")
    for c in SCAN_POSITION_COLUMNS:
        if c not in df.columns:
            df[c] = 0.0
            continue
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() | (v.abs() > (360.0 if c == "rotation_deg" else 1000.0))
        if bad.any():
            problems.append(f"{c} missing, not a number or out of range on line(s) "
                            f"{', '.join(str(i + 2) for i in np.flatnonzero(bad))}")
        df[c] = v
    if problems:
        raise InputError(f"Scan positions {path}: " + "; ".join(problems) + ". Each row is plot_id, centre_x_m, "
                         f"centre_y_m (the plot centre in the scan frame, m) and rotation_deg (clockwise from the "
                         f"scan's +y axis to grid north).")
    unknown = sorted(set(df["plot_id"]) - set(scanned))
    if unknown:
        log.warning("scan positions %s: plot(s) %s have no scan matched by [inputs].tls; ignored", path,
                    ", ".join(unknown))
    return {r.plot_id: (float(r.centre_x_m), float(r.centre_y_m), float(r.rotation_deg))
            for r in df.itertuples(index=False)}

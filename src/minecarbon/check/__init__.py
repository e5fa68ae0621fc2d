"""``minecarbon check``: validate a whole project before anything is computed.

:func:`check_project` loads the project file and opens every input it names;
it returns *every* problem it finds as a :class:`Problem` (file, where in the
file, what is wrong, how to fix it) instead of stopping at the first.  It
never raises on bad inputs: a check that fails unexpectedly becomes a
problem too, and the other checks still run.

The check is read-only: it opens files for reading only, disables GDAL's
``.aux.xml`` side-car files and writes nothing anywhere (not even a cache).

Row numbers are reported as they appear in the file: the header is line 1,
so the first data row is "line 2".

What is checked, in order: the settings (:mod:`minecarbon.project.advice`);
every named file exists (:mod:`minecarbon.inputs.files`); then each input
through its declaration in :mod:`minecarbon.inputs` -- rasters, polygon
layers, tables, point clouds -- with the rules the stages read it with
(``spec.read``), so ``check`` and ``run`` agree by construction.  What stays
here is the loop and the genuinely cross-file checks: the CRS the project
works in (chosen from the opened rasters), the monitoring area (from the
boundary), canopy band names unique across files, the covariates of the
cumulative effect, plots inside the area, trees of known plots, species
against the allometry table, scans named after plots, ALS tiles over the
area, the plot sheet against ``[model]`` and the scenes; the labelled layers of ``[classify]`` on the images'
grid with the classify stage's rules (:mod:`minecarbon.inputs.samples`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..config import ProjectConfig, load_config
from ..errors import ConfigError, MissingInputError, Problem, format_problems
from ._context import _Context
from .classify import _check_classify
from .field import _check_model_plots, _check_plots, _check_tally, _check_trees, _load_allometry
from .layers import _check_boundary, _check_layers, _check_plan_restoration, _check_zones
from .lidar import _check_als, _check_scan_positions, _check_tls
from .rasters import (
    _check_covariates,
    _check_feature_rasters,
    _check_files_exist,
    _check_rasters,
    _check_scenes,
    _choose_target_crs,
    _open_rasters,
)
from .settings import _check_settings, _need_bands

__all__ = ["Problem", "check_config", "check_project", "format_problems"]  # Problem: from minecarbon.errors


def check_project(path: str | Path) -> list[Problem]:
    """Check a whole project: the project file and every input it names.

    Parameters
    ----------
    path : str or Path
        The project file (``minecarbon.toml``) or the folder holding it.

    Returns
    -------
    list of Problem
        Every problem found, in the order of the checks; empty when the
        project is ready.  If the project file itself is malformed, its
        problems are returned and the content checks are skipped.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "minecarbon.toml"
    shown = str(path)
    try:
        cfg = load_config(path, settings=False)  # the settings rules are listed with the inputs' problems
    except MissingInputError:
        return [Problem(shown, "(file)", "the project file does not exist",
                        "Create one (see docs/design.md, 'Project file') or run 'minecarbon simulate DIR' "
                        "to get an example.")]
    except ConfigError as exc:
        return list(exc.problems)
    except Exception as exc:  # noqa: BLE001 - unreadable file, permissions, ...
        return [Problem(shown, "(file)", f"the project file cannot be read ({type(exc).__name__}: {exc})",
                        "Check that it is a readable UTF-8 text file.")]
    return check_config(cfg, project_file=shown)


def check_config(cfg: ProjectConfig, project_file: str | None = None) -> list[Problem]:
    """Check the inputs named by a loaded project file.

    Parameters
    ----------
    cfg : ProjectConfig
        A project file loaded with :func:`minecarbon.config.load_config`.
    project_file : str, optional
        Name of the project file for problems about its keys (default
        ``<root>/minecarbon.toml``).

    Returns
    -------
    list of Problem
        Every problem found; empty when the project is ready.
    """
    ctx = _Context(cfg=cfg, project_file=project_file or str(cfg.root / "minecarbon.toml"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steps: list[tuple[str, str, Callable[[_Context], None]]] = [
            (ctx.project_file, "(project settings)", _check_settings),
            (ctx.project_file, "[features]", _need_bands),
            (ctx.project_file, "(input files)", _check_files_exist),
            (ctx.project_file, "(rasters)", _open_rasters),
            (ctx.project_file, "[project].crs", _choose_target_crs),
            (ctx.show(cfg.path(cfg.area.boundary)), "(file)", _check_boundary),
            (ctx.project_file, "(rasters)", _check_rasters),
            (ctx.project_file, "(vector layers)", _check_layers),
            (ctx.project_file, "[features].canopy", _check_feature_rasters),
            (ctx.project_file, "[assess].zones", _check_zones),
            (ctx.project_file, "[assess].cumulative_covariates", _check_covariates),
            (ctx.project_file, "[plots].plan_restoration", _check_plan_restoration),
            (ctx.project_file, "[plots].allometry", _load_allometry),
            (ctx.show(cfg.path(cfg.inputs.plots)), "(file)", _check_plots),
            (ctx.show(cfg.path(cfg.inputs.trees)), "(file)", _check_trees),
            (ctx.show(cfg.path(cfg.inputs.tally)) if cfg.inputs.tally else "", "(file)", _check_tally),
            (ctx.project_file, "[inputs].tls", _check_tls),
            (ctx.project_file, "[lidar].scan_positions", _check_scan_positions),
            (ctx.project_file, "[lidar].als", _check_als),
            (ctx.project_file, "[model]", _check_model_plots),
            (ctx.project_file, "[images].scenes", _check_scenes),
            (ctx.project_file, "[classify]", _check_classify),
        ]
        for file, where, step in steps:
            before = len(ctx.problems)
            ctx.guard(file, where, step, ctx)
            if step is _check_model_plots:  # rules of the model stage, whatever file they name
                ctx.problems[before:] = [replace(p, stage="model") for p in ctx.problems[before:]]
    return ctx.problems

"""Advice on a project's settings that ``minecarbon check`` gives with the rules ``load_config`` enforces.

:func:`settings_advice` adds to a :class:`~minecarbon.inputs.spec.Report` of
the project file: the buffer width against the standard's range, then the
rules between settings (:func:`minecarbon.config.settings_problems`, which
``run`` enforces too), then what would be ignored or fail (mining start
year, climate paths without ``{year}``, features that cannot be set up,
``zones_field`` without zones, learners and grids).  :func:`model_plot_problems`:
the plot sheet against ``[model]`` (enough plots and spatial CV groups).
"""

from __future__ import annotations

from typing import Any

from ..config import ProjectConfig, settings_problems
from ..errors import Problem
from ..inputs._text import one_line as _one_line
from ..inputs.spec import Report

BUFFER_RANGE_M = (100.0, 500.0)
"""The standard says the buffer is 'generally 100-500 m'."""


def settings_advice(cfg: ProjectConfig, rep: Report) -> None:
    """The rules between settings (:func:`minecarbon.config.settings_problems`) with check's advice, in order."""
    pf = rep.file
    lo, hi = BUFFER_RANGE_M
    if not lo <= cfg.area.buffer_m <= hi:
        rep.add("[area].buffer_m", f"buffer_m = {cfg.area.buffer_m:g} m is outside the usual "
                f"{lo:g}-{hi:g} m (the standard says the buffer is generally {lo:g}-{hi:g} m)",
                "Use the width found by field reconnaissance, normally 100-500 m; keep it if your "
                "reconnaissance justifies it and say so in the report.", "warning")
    rep.problems += settings_problems(cfg, pf)
    years = cfg.project.years
    ms = cfg.project.mining_start_year
    if ms is not None and ms > cfg.project.end_year:
        rep.add("[project].mining_start_year", f"mining_start_year {ms} is after the end year "
                f"{cfg.project.end_year}", "Correct the year or remove the key (default: the first "
                "disturbance year).", "warning")
    for key, pat in (("temperature", cfg.climate.temperature), ("precipitation", cfg.climate.precipitation)):
        if "{year}" not in pat and len(years) > 1:
            rep.add(f"[climate].{key}", f"the path {pat!r} has no {{year}}; the same grid will be "
                    f"used for every year", "Use one grid per year, e.g. 'climate/tmean_{year}.tif', if "
                    "you have them.", "warning")
    _feature_settings(cfg, rep)
    _assess_settings(cfg, rep)
    _model_settings(cfg, rep)


def _feature_settings(cfg: ProjectConfig, rep: Report) -> None:
    """``[features]``: the features can be set up (the image bands they need are found)."""
    from ..errors import InputError
    from ..features import required_bands
    from ..project.plans import stack_spec

    try:
        required_bands(stack_spec(cfg), cfg.images.sensor)
    except InputError as exc:
        from ..features import coefficient_sets

        if cfg.features.tasseled_cap and cfg.images.sensor is None:
            rep.add("[features].tasseled_cap_coefficients", f"the tasseled cap "
                    f"({', '.join(cfg.features.tasseled_cap)}) takes its coefficients from the sensor "
                    f"(tasseled_cap_coefficients = {cfg.features.tasseled_cap_coefficients!r}), but "
                    f"[images].sensor is not set", f"Set [images].sensor (e.g. 'landsat8') or name a "
                    f"coefficient set in [features].tasseled_cap_coefficients "
                    f"({', '.join(coefficient_sets())}).")
        else:
            rep.add("[features]", f"the features cannot be set up: {_one_line(str(exc))}",
                    "Correct [features] / [images].sensor as the message says.")


def _assess_settings(cfg: ProjectConfig, rep: Report) -> None:
    a = cfg.assess
    if a.zones_field and not a.zones:
        rep.add("[assess].zones_field", "zones_field is set but [assess].zones is not, so it is ignored",
                "Set [assess].zones to the zone layer, or remove zones_field.", "warning")


def _model_settings(cfg: ProjectConfig, rep: Report) -> None:
    import importlib.util

    m = cfg.model
    learners = m.learner_list
    if "xgb" in learners and importlib.util.find_spec("xgboost") is None:
        rep.add("[model].learner" if m.learner else "[model].learners", "learner 'xgb' needs the xgboost "
                "package, which is not installed", "Install it ('pip install xgboost') or remove 'xgb' from the "
                "learners.")
    for name in m.grids:
        if name not in learners:
            rep.add(f"[model.grids.{name}]", f"a grid is given for {name!r}, which is not among the learners "
                    f"compared ({', '.join(learners)}), so it is ignored", f"Add {name!r} to [model].learners or "
                    f"remove the grid.", "warning")
    if m.grids and not m.grid_search:
        rep.add("[model].grid_search", "grid_search = false, so the grids of [model.grids] are ignored and "
                "every learner uses its default hyper-parameters", "Set grid_search = true to search them, or "
                "remove [model.grids].", "warning")


def model_plot_problems(cfg: ProjectConfig, n: int, xy: Any, shown: str, pf: str) -> list[Problem]:
    """What the model stage would fail on: too few plots, or too few spatial groups, for the CV.

    ``n`` plots of the sheet ``shown``, ``xy`` the (n, 2) centres with usable coordinates (or None).
    """
    import numpy as np

    from ..model.cv import MIN_SAMPLES, spatial_groups

    m = cfg.model
    out: list[Problem] = []
    need = max(m.cv_folds, MIN_SAMPLES)
    if 0 < n < need:
        out.append(Problem(shown, "(file)", f"the plot sheet has {n} plot(s); the AGC model needs at least {need} "
                f"({m.cv_folds}-fold cross-validation, [model].cv_folds, and at least {MIN_SAMPLES} plots in any "
                f"case)", "Survey more plots" + (" or lower [model].cv_folds" if m.cv_folds > MIN_SAMPLES else "")
                + " (plots without usable features are dropped too, so keep a margin)."))
        return out
    if m.cv_scheme != "spatial" or xy is None or len(xy) < 2:
        return out
    k = int(np.unique(spatial_groups(xy[:, 0], xy[:, 1], m.cv_block_m, m.cv_link_m)).size)
    blocks = (f"blocks of [model].cv_block_m = {m.cv_block_m:g} m, plots closer than cv_link_m = "
              f"{m.cv_link_m:g} m joined")
    fix = ("Use smaller blocks ([model].cv_block_m) or a smaller cv_link_m, or cv_scheme = 'random' (optimistic "
           "where plots are spatially autocorrelated).")
    if k < 2:
        out.append(Problem(pf, "[model].cv_block_m", f"all {len(xy)} plots of {shown} fall in one spatial "
                f"cross-validation group ({blocks}), so the cross-validation cannot split them", fix))
    elif k < m.cv_folds:
        out.append(Problem(pf, "[model].cv_folds", f"the {len(xy)} plots of {shown} fall in only {k} spatial "
                f"cross-validation groups ({blocks}), fewer than cv_folds = {m.cv_folds}: the CV will use {k} "
                f"folds", fix + f" Or set cv_folds = {k} so that the model card says what is done.", "warning"))
    return out

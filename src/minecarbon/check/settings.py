"""Checks of the project file's settings: the rules between settings (``config.settings_problems``) and advice."""

from __future__ import annotations

from ..config import settings_problems
from ..inputs._text import one_line as _one_line
from ._context import BUFFER_RANGE_M, _Context


def _check_settings(ctx: _Context) -> None:
    cfg, pf = ctx.cfg, ctx.project_file
    lo, hi = BUFFER_RANGE_M
    if not lo <= cfg.area.buffer_m <= hi:
        ctx.add(pf, "[area].buffer_m", f"buffer_m = {cfg.area.buffer_m:g} m is outside the usual "
                f"{lo:g}-{hi:g} m (the standard says the buffer is generally {lo:g}-{hi:g} m)",
                "Use the width found by field reconnaissance, normally 100-500 m; keep it if your "
                "reconnaissance justifies it and say so in the report.", "warning")
    ctx.problems += settings_problems(cfg, pf)
    years = cfg.project.years
    ms = cfg.project.mining_start_year
    if ms is not None and ms > cfg.project.end_year:
        ctx.add(pf, "[project].mining_start_year", f"mining_start_year {ms} is after the end year "
                f"{cfg.project.end_year}", "Correct the year or remove the key (default: the first "
                "disturbance year).", "warning")
    for key, pat in (("temperature", cfg.climate.temperature), ("precipitation", cfg.climate.precipitation)):
        if "{year}" not in pat and len(years) > 1:
            ctx.add(pf, f"[climate].{key}", f"the path {pat!r} has no {{year}}; the same grid will be "
                    f"used for every year", "Use one grid per year, e.g. 'climate/tmean_{year}.tif', if "
                    "you have them.", "warning")
    _check_feature_settings(ctx)
    _check_assess_settings(ctx)
    _check_model_settings(ctx)


def _check_feature_settings(ctx: _Context) -> None:
    """``[features]``: the image bands the features need (used per image by :func:`_image_bands`)."""
    from ..errors import InputError
    from ..features import required_bands
    from ..project.plans import stack_spec

    cfg = ctx.cfg
    try:
        ctx.need_bands = required_bands(stack_spec(cfg), cfg.images.sensor)
    except InputError as exc:
        from ..features import coefficient_sets

        if cfg.features.tasseled_cap and cfg.images.sensor is None:
            ctx.add(ctx.project_file, "[features].tasseled_cap_coefficients", f"the tasseled cap "
                    f"({', '.join(cfg.features.tasseled_cap)}) takes its coefficients from the sensor "
                    f"(tasseled_cap_coefficients = {cfg.features.tasseled_cap_coefficients!r}), but "
                    f"[images].sensor is not set", f"Set [images].sensor (e.g. 'landsat8') or name a "
                    f"coefficient set in [features].tasseled_cap_coefficients "
                    f"({', '.join(coefficient_sets())}).")
        else:
            ctx.add(ctx.project_file, "[features]", f"the features cannot be set up: {_one_line(str(exc))}",
                    "Correct [features] / [images].sensor as the message says.")


def _check_assess_settings(ctx: _Context) -> None:
    pf, a = ctx.project_file, ctx.cfg.assess
    if a.zones_field and not a.zones:
        ctx.add(pf, "[assess].zones_field", "zones_field is set but [assess].zones is not, so it is ignored",
                "Set [assess].zones to the zone layer, or remove zones_field.", "warning")


def _check_model_settings(ctx: _Context) -> None:
    import importlib.util

    m, pf = ctx.cfg.model, ctx.project_file
    learners = m.learner_list
    if "xgb" in learners and importlib.util.find_spec("xgboost") is None:
        ctx.add(pf, "[model].learner" if m.learner else "[model].learners", "learner 'xgb' needs the xgboost "
                "package, which is not installed", "Install it ('pip install xgboost') or remove 'xgb' from the "
                "learners.")
    for name in m.grids:
        if name not in learners:
            ctx.add(pf, f"[model.grids.{name}]", f"a grid is given for {name!r}, which is not among the learners "
                    f"compared ({', '.join(learners)}), so it is ignored", f"Add {name!r} to [model].learners or "
                    f"remove the grid.", "warning")
    if m.grids and not m.grid_search:
        ctx.add(pf, "[model].grid_search", "grid_search = false, so the grids of [model.grids] are ignored and "
                "every learner uses its default hyper-parameters", "Set grid_search = true to search them, or "
                "remove [model.grids].", "warning")

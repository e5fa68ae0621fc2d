"""Checks of the project file's settings: the rules between settings and advice (``project.advice``)."""

from __future__ import annotations

from ..inputs.spec import Report
from ..project.advice import settings_advice
from ._context import _Context


def _check_settings(ctx: _Context) -> None:
    rep = Report(ctx.project_file)
    settings_advice(ctx.cfg, rep)
    ctx.problems += rep.problems


def _need_bands(ctx: _Context) -> None:
    """The image bands the features need (used per image by the image spec's band rule)."""
    from ..errors import InputError
    from ..features import required_bands
    from ..project.plans import stack_spec

    try:
        ctx.need_bands = required_bands(stack_spec(ctx.cfg), ctx.cfg.images.sensor)
    except InputError:
        pass  # reported by settings_advice

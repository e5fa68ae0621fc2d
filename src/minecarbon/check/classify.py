"""Checks of ``[classify]``'s inputs: the species code list and the labelled layers (``samples``, ``validation``)
with the rules the classify stage reads them with (:mod:`minecarbon.inputs.samples`)."""

from __future__ import annotations

from dataclasses import replace

from ..errors import InputError, Problem
from ..inputs.samples import LABELLED_LAYERS, classify_enabled, labelled_problems, species_table
from ._context import _Context


def _check_classify(ctx: _Context) -> None:
    cfg = ctx.cfg
    if not classify_enabled(cfg):
        return  # the stage does not classify: its inputs are not read
    try:
        _, look = species_table(cfg)
    except InputError as exc:
        path = cfg.path(cfg.classify.species_codes) if cfg.classify.species_codes else None
        ctx.problems.append(Problem(ctx.show(path) if path is not None else ctx.project_file,
                                    "(file)" if path is not None else "[classify].species_codes", str(exc),
                                    "Give the CSV of dominant species (code, name_zh, name_latin) in "
                                    "[classify].species_codes.", stage="classify"))
        return
    layers = [w for w in LABELLED_LAYERS if (p := cfg.path(getattr(cfg.classify, w))) is not None and p.is_file()]
    if not layers:
        return  # not set, or reported by _check_files_exist
    try:
        from ..inputs.grid import project_grid

        grid = project_grid(cfg)[0]
    except InputError:
        return  # the images or the boundary: reported by their own checks
    for which in layers:
        path = cfg.path(getattr(cfg.classify, which))
        ctx.guard(ctx.show(path), "(file)", _check_labelled, ctx, which, grid, look)


def _check_labelled(ctx: _Context, which: str, grid, look: dict[str, str]) -> None:
    path = ctx.cfg.path(getattr(ctx.cfg.classify, which))
    ctx.problems += [replace(p, file=ctx.show(path), stage="classify")
                     for p in labelled_problems(ctx.cfg, which, grid, look)]

"""Checks of ``[classify]``'s inputs: the species code list and the labelled layers (``samples``, ``validation``)
with the rules the classify stage reads them with (:mod:`minecarbon.inputs.samples`)."""

from __future__ import annotations

from dataclasses import replace

from ..errors import InputError, Problem
from ..inputs.samples import (
    LABELLED_LAYERS,
    classify_enabled,
    evergreen_labels,
    labelled_problems,
    species_table,
    too_few_samples,
    training_samples,
)
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
    try:
        evergreen = evergreen_labels(cfg, look)
    except InputError as exc:
        ctx.problems.append(Problem(ctx.project_file, "[classify].evergreen", str(exc), "List the evergreen species "
                                    "(codes or names of [classify].species_codes).", stage="classify"))
        evergreen = None
    layers = [w for w in LABELLED_LAYERS if (p := cfg.path(getattr(cfg.classify, w))) is not None and p.is_file()]
    try:
        from ..inputs.grid import project_grid

        grid = project_grid(cfg)[0]
    except InputError:
        return  # the images or the boundary: reported by their own checks
    for which in layers:
        path = cfg.path(getattr(cfg.classify, which))
        ctx.guard(ctx.show(path), "(file)", _check_labelled, ctx, which, grid, look)
    if evergreen is not None:
        ctx.guard(ctx.project_file, "[classify]", _check_training, ctx, grid, look, evergreen)


def _check_training(ctx: _Context, grid, look: dict[str, str], evergreen: set[str]) -> None:
    """The samples per class the stage will train on (plots and ``[classify].samples``): the stage's rule
    (:func:`~minecarbon.inputs.samples.too_few_samples`) on every labelled sample; skipped when the plots, the tree
    table or the samples layer already have errors (reported by their own checks)."""
    cfg = ctx.cfg
    mine = {ctx.show(cfg.path(v)) for v in (cfg.inputs.plots, cfg.inputs.trees, cfg.classify.samples) if v}
    if any(p.is_error and p.file in mine for p in ctx.problems):
        return
    try:
        samples = training_samples(cfg, grid, look)
    except InputError as exc:
        ctx.problems.append(Problem(ctx.project_file, "[classify]", str(exc), "Correct the plots, the tree table or "
                                    "the samples as said; the classify stage trains on them.", stage="classify"))
        return
    few = too_few_samples(cfg, samples["label"].to_numpy(str), evergreen)
    if few is not None:
        path = cfg.path(cfg.classify.samples) if cfg.classify.samples else None
        ctx.problems.append(Problem(ctx.show(path) if path is not None else ctx.project_file,
                                    "(file)" if path is not None else "[classify].samples", *few, stage="classify"))


def _check_labelled(ctx: _Context, which: str, grid, look: dict[str, str]) -> None:
    path = ctx.cfg.path(getattr(ctx.cfg.classify, which))
    ctx.problems += [replace(p, file=ctx.show(path), stage="classify")
                     for p in labelled_problems(ctx.cfg, which, grid, look)]

"""Before a stage runs: the inputs it reads pass the checks of ``minecarbon check``.

One rule, one place: ``run`` does not restate the rules of
:mod:`minecarbon.check`, it calls :func:`minecarbon.check.check_config` (once
per run) and keeps the problems that concern the stage about to run:

* problems of the files the stage reads (its declared ``inputs``), and
* problems of the project file's keys in the sections the stage depends on
  (its ``settings`` and the sections of its inputs; ``[project]`` always),

except the rules of another stage (``Problem.stage``) and missing files,
which the stage's own readers report when (and only if) they need the file.

Errors stop the stage with the message ``check`` gives.  Plausibility
warnings that would make the numbers meaningless (those with a ``code``, see
:data:`minecarbon.config.PLAUSIBILITY_CODES`) stop it too, unless the project
file accepts them in ``[check].accept``.  Other warnings are logged.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ProjectCheckError

if TYPE_CHECKING:  # pragma: no cover
    from ..check import Problem
    from ..config import ProjectConfig
    from .core import Stage

log = logging.getLogger(__name__)

_CACHE_KEY = ("__check_problems__",)


class StageInputError(ProjectCheckError):
    """The inputs of a stage fail the checks of ``minecarbon check``."""

    def __init__(self, stage: str, lines: list[str]) -> None:
        super().__init__(lines)
        self.args = (f"Stage '{stage}' cannot run: {len(lines)} problem(s) in what it reads (the same "
                     f"'minecarbon check' reports):\n" + "\n".join(f"  - {ln}" for ln in lines),)

    def __str__(self) -> str:
        return str(self.args[0])


def project_problems(cfg: "ProjectConfig", cache: dict | None = None) -> list["Problem"]:
    """The problems ``minecarbon check`` finds in the project, computed once per ``cache``."""
    from ..check import check_config

    if cache is not None and _CACHE_KEY in cache:
        return cache[_CACHE_KEY]
    problems = check_config(cfg)
    if cache is not None:
        cache[_CACHE_KEY] = problems
    return problems


def stage_inputs(cfg: "ProjectConfig", stage: "Stage") -> dict[str, Path]:
    """The concrete input files a stage reads (its ``inputs`` keys, patterns expanded), by key."""
    all_inputs = cfg.input_paths()
    return {k: p for k, p in sorted(all_inputs.items())
            if any(k == pref or k.startswith(pref + "[") for pref in stage.inputs)}


def _shown(cfg: "ProjectConfig", path: Path | None) -> str:
    """A path as check shows it (relative to the project folder where possible)."""
    if path is None:
        return ""
    try:
        return Path(path).resolve().relative_to(Path(cfg.root).resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def _stage_files(cfg: "ProjectConfig", stage: "Stage") -> set[str]:
    """Every file (and ``{year}`` pattern) the stage reads, shown as check shows them."""
    out = {_shown(cfg, p) for p in stage_inputs(cfg, stage).values()}
    for key in stage.inputs:  # the patterns themselves: check names a pattern when years are missing
        obj = cfg
        for part in key.split("."):
            obj = getattr(obj, part, None)
        values = obj if isinstance(obj, (list, tuple)) else [obj]
        out |= {_shown(cfg, cfg.path(v)) for v in values if isinstance(v, str)}
    return out


def _sections(stage: "Stage") -> set[str]:
    return set(stage.settings) | {k.split(".")[0] for k in stage.inputs} | {"project", "check"}


def concerns(cfg: "ProjectConfig", stage: "Stage", problem: "Problem", files: set[str] | None = None) -> bool:
    """True when ``problem`` is about something ``stage`` reads (and is not another stage's rule)."""
    if problem.stage and problem.stage != stage.name:
        return False
    files = _stage_files(cfg, stage) if files is None else files
    if problem.file in files:
        return True
    pf = _shown(cfg, cfg.root / "minecarbon.toml")
    if problem.file not in (pf, str(cfg.root / "minecarbon.toml")) and not problem.file.endswith(".toml"):
        return False
    where = problem.where
    if where.startswith("["):
        return where[1:].split("]", 1)[0].split(".")[0] in _sections(stage)
    return problem.is_error  # a problem of the project file as a whole concerns every stage


def validate_stage_inputs(cfg: "ProjectConfig", stage: "Stage", cache: dict | None = None) -> None:
    """Raise :class:`StageInputError` when what ``stage`` reads fails the checks of ``check``.

    Errors, and plausibility warnings not listed in ``[check].accept``, stop
    the stage; the message lists each with its file, place and fix.  Other
    warnings of the stage's files are logged.
    """
    if not stage.inputs or (stage.active is not None and not stage.active(cfg)):
        return
    files = _stage_files(cfg, stage)
    mine = [p for p in project_problems(cfg, cache) if concerns(cfg, stage, p, files)]
    accepted = set(cfg.check.accept)
    lines = []
    for p in mine:
        if p.code == "missing-file":
            continue  # the stage's readers say which file is missing when (and only if) they need it
        if p.is_error:
            lines.append(f"error: {p}")
        elif p.code and p.code not in accepted:
            lines.append(f"warning taken as an error by 'run' ({p.code}): {p} If the data are right, accept "
                         f"it in the project file: [check] accept = [\"{p.code}\"].")
        else:
            log.warning("%s", p)
    if lines:
        raise StageInputError(stage.name, lines)

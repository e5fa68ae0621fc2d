"""Running the pipeline: the stages of :data:`minecarbon.pipeline.stages.STAGES`, in that order.

The runner is the only module that knows every stage; :mod:`.core` holds the
declarations (:class:`~.core.Stage`, :class:`~.core.Output`) and runs one
stage, and the stage modules import :mod:`.core` only.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Iterable

from ..config import ProjectConfig
from ..errors import StageError
from ..memory import bound_heap
from ..provenance import read_manifest
from .core import Stage, StageResult, is_up_to_date, run_stage, write_settings
from .lock import workspace_lock
from .stages import STAGES, STAGES_BY_NAME

log = logging.getLogger(__name__)

__all__ = ["make_report", "resolve_stages", "run_pipeline"]


def _peak_rss_mib() -> float:
    """Largest resident set of this process so far (MiB; NaN where the platform does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def resolve_stages(names: Iterable[str] | None) -> list[Stage]:
    """The stages named (all by default), in run order."""
    if not names:
        return list(STAGES)
    wanted = []
    for n in names:
        if n not in STAGES_BY_NAME:
            raise StageError(f"Unknown stage {n!r}. Stages are: {', '.join(STAGES_BY_NAME)}.")
        wanted.append(n)
    return [s for s in STAGES if s.name in wanted]


def run_pipeline(cfg: ProjectConfig, stages: Iterable[str] | None = None, force: bool = False,
                 progress: Callable[[str], None] | None = None,
                 on_stage: Callable[[Stage, str], None] | None = None) -> list[StageResult]:
    """Run the selected stages (all by default) in order, skipping up-to-date ones.

    Parameters
    ----------
    cfg : the loaded project.
    stages : names of stages to run (others are used as they are).
    force : re-run selected stages even when up to date.
    progress : callable receiving short progress messages.
    on_stage : callable(stage, status) with status 'start', 'ran' or 'skipped'.
    """
    progress = progress or (lambda msg: None)
    selected = resolve_stages(stages)
    bound_heap()  # resident memory follows the chunks held, not the most ever held (memory.MMAP_THRESHOLD_BYTES)
    cfg.workspace.mkdir(parents=True, exist_ok=True)
    with workspace_lock(cfg.workspace):  # one run at a time per workspace
        return _run_locked(cfg, selected, force, progress, on_stage)


def _run_locked(cfg: ProjectConfig, selected: list[Stage], force: bool, progress: Callable[[str], None],
                on_stage: Callable[[Stage, str], None] | None) -> list[StageResult]:
    write_settings(cfg)
    hash_cache: dict = {}
    results = []
    for stage in selected:
        t0, cpu0 = time.time(), time.process_time()
        if not force and is_up_to_date(cfg, stage, hash_cache):
            log.info("stage %s is up to date; skipped", stage.name)
            if on_stage:
                on_stage(stage, "skipped")
            results.append(StageResult(stage.name, "skipped", 0.0))
            continue
        if on_stage:
            on_stage(stage, "start")
        log.info("stage %s: running", stage.name)
        run_stage(cfg, stage, progress, hash_cache, STAGES_BY_NAME)
        dt = time.time() - t0
        # CPU: user + system of this process (all its threads; not the workers of a cluster)
        log.info("stage %s: done in %.1f s (CPU %.1f s in this process, peak RSS %.0f MiB so far)", stage.name, dt,
                 time.process_time() - cpu0, _peak_rss_mib())
        if on_stage:
            on_stage(stage, "ran")
        results.append(StageResult(stage.name, "ran", dt))
    return results


def make_report(cfg: ProjectConfig, languages: Iterable[str] | None = None, formats: Iterable[str] | None = None,
                progress=None, on_stage=None) -> list[Path]:
    """Run what the report needs (stages up to date are skipped) and write the report; returns its files.

    ``languages`` and ``formats`` override ``[report].languages`` / ``[report].formats`` for this run
    (the report stage's settings change, so it re-runs and its manifest records what was written).
    ``on_stage(stage, status)`` is passed to :func:`run_pipeline`.
    """
    rep = cfg.report
    update = {}
    if languages:
        update["languages"] = list(dict.fromkeys(languages))
    if formats:
        update["formats"] = list(dict.fromkeys(formats))
    if update:
        cfg = cfg.model_copy(update={"report": rep.model_copy(update=update)})
    run_pipeline(cfg, progress=progress, on_stage=on_stage)
    m = read_manifest(cfg, "report") or {}
    out = cfg.workspace / "outputs" / "report"
    return [out / rel for rel in sorted(m.get("outputs", {}))]

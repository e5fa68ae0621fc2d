"""Stages declared as data, and the runner that executes them.

A :class:`Stage` names the config inputs it reads, the upstream stages whose
outputs it reads, the settings sections that change its result, and its
outputs (id, path pattern, units, description).  The runner

* runs stages in the order of the explicit tuple
  :data:`minecarbon.pipeline.stages.STAGES` (:mod:`.runner`),
* skips a stage whose manifest says it is complete and whose fingerprint
  (input checksums + upstream fingerprints + settings + package version) is
  unchanged and whose outputs are all present and unchanged,
* removes the stage's manifest *before* running it, so a crash leaves the
  stage visibly incomplete and the next run redoes it,
* writes the manifest (with provenance: input checksums, settings, versions,
  times, output checksums) last, atomically.

Outputs themselves are written atomically by :mod:`minecarbon.io`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..config import ProjectConfig
from ..errors import StageError
from ..io.atomic import atomic_write_text
from ..provenance import MANIFEST, package_versions, read_manifest, sha256_file
from .validate import stage_inputs, validate_stage_inputs

log = logging.getLogger(__name__)

__all__ = ["MANIFEST", "Context", "Output", "Stage", "is_up_to_date", "package_versions", "read_manifest",
           "run_stage", "sha256_file", "write_settings"]


@dataclass(frozen=True)
class Output:
    """One declared output of a stage."""

    id: str
    """Identifier, unique within the stage."""
    path: str
    """Path relative to ``outputs/<stage>/``; may contain ``{year}``."""
    units: str
    """Units of the values ('t C/ha', 'class code', 'table', ...)."""
    about: str
    """One-line description (used by the report and the catalog)."""
    per_year: bool = False


@dataclass(frozen=True)
class Stage:
    """A step of the standard's method, declared as data."""

    name: str
    about: str
    func: Callable[["Context"], None]
    inputs: tuple[str, ...] = ()
    """Config keys of input files (as in :meth:`ProjectConfig.input_paths`, prefix match)."""
    upstream: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    """Config sections whose values change the result."""
    outputs: tuple[Output, ...] = ()
    upstream_if: Callable[[ProjectConfig], tuple[str, ...]] | None = None
    content_upstream: bool = False
    """The stage records the bytes of its upstream outputs (the catalog: their checksums), so a change of them
    (e.g. an upstream stage re-run after an edit of its outputs) re-runs it."""
    """Upstream stages needed only by some projects (e.g. ``plots`` reads the
    ``lidar`` stage's trees only with ``[plots].tree_source = "tls"``)."""

    active: Callable[[ProjectConfig], bool] | None = None
    """False for a project where the stage only records that it has nothing to do (``classify`` with given
    forest-type maps); its inputs are then not validated before it runs (their problems are other stages')."""

    def upstream_for(self, cfg: ProjectConfig) -> tuple[str, ...]:
        """The upstream stages of this stage for a project."""
        extra = tuple(u for u in (self.upstream_if(cfg) if self.upstream_if else ()) if u not in self.upstream)
        return self.upstream + extra


@dataclass
class Context:
    """What a stage function gets: the project, its folders, and helpers."""

    cfg: ProjectConfig
    stage: Stage
    progress: Callable[[str], None] = lambda msg: None
    written: list[Path] = field(default_factory=list)
    stages: Mapping[str, Stage] = field(default_factory=dict)
    """Every stage by name (the runner passes them); an upstream stage not in it is found by its manifest."""

    @property
    def workspace(self) -> Path:
        return self.cfg.workspace

    def stage_dir(self, stage: str | None = None) -> Path:
        return self.workspace / "outputs" / (stage or self.stage.name)

    def out(self, output_id: str, year: int | None = None, stage: str | None = None) -> Path:
        """Path of a declared output (of this stage, or of an upstream one)."""
        st = self.stage if stage is None or stage == self.stage.name else self.stages.get(stage)
        if st is None:
            st = _declared_in_manifest(self.cfg, stage)
        for o in st.outputs:
            if o.id == output_id:
                rel = o.path.replace("{year}", str(year)) if o.per_year else o.path
                if o.per_year and year is None:
                    raise ValueError(f"output {output_id} of stage {st.name} needs a year")
                return self.stage_dir(st.name) / rel
        raise KeyError(f"stage {st.name} declares no output {output_id!r}")

    def produced(self, path: Path) -> Path:
        """Record that the stage wrote ``path`` (for checksums in the manifest)."""
        self.written.append(Path(path))
        return Path(path)


def _declared_in_manifest(cfg: ProjectConfig, stage: str) -> Stage:
    """A completed stage's declaration as its manifest records it (outputs only)."""
    m = read_manifest(cfg, stage)
    if m is None:
        raise StageError(f"stage {stage!r} has not completed: its outputs cannot be read. Run it first "
                         f"('minecarbon run PROJECT --stages {stage}').")
    outs = tuple(Output(o["id"], o["path"], o["units"], o["about"], per_year="{year}" in o["path"])
                 for o in m.get("declared_outputs", []))
    return Stage(name=stage, about=m.get("about", ""), func=lambda ctx: None, outputs=outs)


# ---------------------------------------------------------------------------
# checksums and fingerprints
# ---------------------------------------------------------------------------
def _settings_for(cfg: ProjectConfig, sections: Iterable[str]) -> dict:
    dump = cfg.model_dump(mode="json")
    return {s: dump.get(s) for s in sorted(set(sections) | {"project"})}


def _fingerprint(cfg: ProjectConfig, stage: Stage, hash_cache: dict) -> tuple[str, dict]:
    # a missing file is fingerprinted as such; the stage then says which file is missing and how to fix it
    inputs = {k: sha256_file(p, hash_cache) if p.is_file() else "missing"
              for k, p in stage_inputs(cfg, stage).items()}
    upstream, upstream_outputs = {}, {}
    for up in stage.upstream_for(cfg):
        m = read_manifest(cfg, up)
        upstream[up] = m["fingerprint"] if m else None
        # a stage recording its upstream outputs' bytes (the catalog) re-runs when they change, so that
        # 'catalog verify' and 'run' never disagree
        if stage.content_upstream:
            upstream_outputs[up] = ({k: v.get("sha256") for k, v in sorted(m.get("outputs", {}).items())}
                                    if m else None)
    settings = _settings_for(cfg, stage.settings)
    version = package_versions().get("minecarbon", "")
    blob = json.dumps({"inputs": inputs, "upstream": upstream, "upstream_outputs": upstream_outputs,
                       "settings": settings, "version": version}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest(), {"inputs": inputs, "upstream": upstream,
                                                       "settings": settings}


def is_up_to_date(cfg: ProjectConfig, stage: Stage, hash_cache: dict | None = None) -> bool:
    """True when the stage completed with the same fingerprint and its outputs are intact."""
    hash_cache = {} if hash_cache is None else hash_cache
    m = read_manifest(cfg, stage.name)
    if not m:
        return False
    if any(m.get("upstream", {}).get(u) is None for u in stage.upstream_for(cfg)):
        return False
    fp, _ = _fingerprint(cfg, stage, hash_cache)
    if fp != m.get("fingerprint"):
        return False
    base = cfg.workspace / "outputs" / stage.name
    for rel, info in m.get("outputs", {}).items():
        p = base / rel
        # content, not size: a same-size edit of an output (which 'catalog verify' reports) re-runs the stage
        if not p.is_file() or p.stat().st_size != info["size"] or sha256_file(p, hash_cache) != info.get("sha256"):
            return False
    return True


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------
@dataclass
class StageResult:
    name: str
    status: str  # "ran" | "skipped"
    seconds: float


def run_stage(cfg: ProjectConfig, stage: Stage, progress: Callable[[str], None],
              hash_cache: dict, stages: Mapping[str, Stage] | None = None) -> None:
    """Run one stage unconditionally and write its manifest (``stages``: every stage by name, for ``ctx.out``)."""
    for up in stage.upstream_for(cfg):
        if read_manifest(cfg, up) is None:
            raise StageError(f"Stage '{stage.name}' needs the outputs of stage '{up}', which has not "
                             f"completed. Run 'minecarbon run PROJECT --stages {up},{stage.name}' "
                             f"(or without --stages to run everything).")
    validate_stage_inputs(cfg, stage, hash_cache)  # the rules of 'minecarbon check', before anything is read
    out_dir = cfg.workspace / "outputs" / stage.name
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / MANIFEST
    if manifest_path.exists():
        manifest_path.unlink()  # the stage is incomplete until its manifest is written again
    started = time.time()
    fp, parts = _fingerprint(cfg, stage, hash_cache)
    ctx = Context(cfg=cfg, stage=stage, progress=progress, stages=dict(stages or {}))
    stage.func(ctx)
    outputs = {}
    for p in sorted(set(ctx.written)):
        rel = p.relative_to(out_dir).as_posix() if p.is_relative_to(out_dir) else str(p)
        outputs[rel] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    manifest = {
        "stage": stage.name,
        "about": stage.about,
        "fingerprint": fp,
        "inputs": {k: {"path": str(p), "sha256": parts["inputs"][k]}
                   for k, p in stage_inputs(cfg, stage).items()},
        "upstream": parts["upstream"],
        "settings": parts["settings"],
        "versions": package_versions(),
        "outputs": outputs,
        "declared_outputs": [{"id": o.id, "path": o.path, "units": o.units, "about": o.about}
                             for o in stage.outputs],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.time() - started, 3),
    }
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False))


def write_settings(cfg: ProjectConfig) -> Path:
    """``<workspace>/settings.json``: the resolved settings of this run (atomically)."""
    path = cfg.workspace / "settings.json"
    atomic_write_text(path, json.dumps(cfg.model_dump(mode="json"), indent=2, ensure_ascii=False))
    return path

"""``catalog verify``: re-hash every catalogued file and report the missing, changed or unreadable ones.

What is checked:

* every dataset of the database (raw inputs where they are, and their archived
  copies; stage outputs; stage manifests) against its recorded SHA-256 and size;
* the outputs of stages that are not held in the database (the report, built
  after it) against the checksums in their stage manifest;
* the database file itself against the checksum in the ``catalog`` stage
  manifest, and SQLite's integrity check;
* with ``[catalog].url``: that the shared PostGIS database holds this build
  (its ``projects.catalog_sha256`` equals the GeoPackage's checksum, and its
  ``datasets`` the same ids and checksums).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ..config import ProjectConfig
from ..provenance import MANIFEST, read_manifest, sha256_file
from .build import NOT_CATALOGUED, catalog_path
from .gpkg import GeoPackageBackend

OK, MISSING, CHANGED, UNREADABLE = "ok", "missing", "changed", "unreadable"


@dataclass(frozen=True)
class Check:
    """The verdict on one file."""

    dataset_id: str
    path: str
    status: str
    """'ok', 'missing', 'changed' (content differs from the recorded checksum) or 'unreadable'."""
    expected_sha256: str | None = None
    actual_sha256: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class VerifyResult:
    """All checks; ``ok`` is True when every file is present and unchanged."""

    checks: list[Check]

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status != OK]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(c) for c in self.checks])


def _check(dataset_id: str, path: Path, shown: str, sha: str | None, size: int | None) -> Check:
    if not path.is_file():
        return Check(dataset_id, shown, MISSING, sha, None, "the file does not exist")
    try:
        got = sha256_file(path)
    except OSError as exc:
        return Check(dataset_id, shown, UNREADABLE, sha, None, str(exc))
    if sha and got != sha:
        now = path.stat().st_size
        why = (f"size {now} bytes, recorded {size}" if size is not None and now != size
               else "same size, different content")
        return Check(dataset_id, shown, CHANGED, sha, got, why)
    return Check(dataset_id, shown, OK, sha, got)


def _check_shared(cfg: ProjectConfig, local: pd.DataFrame, cat_m: dict | None, db: Path) -> Check:
    """The copy in the shared PostGIS database: published from this workspace's current catalog build?"""
    from ..errors import MinecarbonError
    from .build import open_shared_catalog, shared_key
    from .postgis import shown_url

    shown = f"{shown_url(cfg.catalog.url)} schema mc_{shared_key(cfg)}"
    try:
        with open_shared_catalog(cfg) as be:
            info = be.project_info() or {}
            remote = be.datasets()
    except MinecarbonError as exc:
        return Check("catalog:postgis", shown, MISSING, detail=str(exc))
    rec = next((v for k, v in (cat_m or {}).get("outputs", {}).items() if Path(k).name == db.name), None)
    want = rec["sha256"] if rec else None
    got = info.get("catalog_sha256")
    if want and got != want:
        return Check("catalog:postgis", shown, CHANGED, want, got,
                     "the shared database holds another build of this project's catalog; re-run "
                     "'minecarbon run PROJECT' to publish the current one")
    pairs = lambda df: set(zip(df["id"].astype(str), df["sha256"].astype(str)))  # noqa: E731
    if pairs(remote) != pairs(local):
        return Check("catalog:postgis", shown, CHANGED, want, got,
                     f"datasets differ from the GeoPackage ({len(pairs(remote) ^ pairs(local))} rows)")
    return Check("catalog:postgis", shown, OK, want, got)


def verify_catalog(cfg: ProjectConfig) -> VerifyResult:
    """Re-hash every catalogued file of a project.

    Raises
    ------
    MissingInputError
        The database does not exist (the pipeline never ran).
    """
    ws = cfg.workspace
    db = catalog_path(cfg)
    checks: list[Check] = []
    be = GeoPackageBackend(db, mode="r")
    try:
        integrity = be.integrity()
        ds = be.datasets()
    finally:
        be.close()
    cat_m = read_manifest(cfg, "catalog")
    shown_db = db.relative_to(ws).as_posix()
    if integrity != "ok":
        checks.append(Check("catalog:database", shown_db, UNREADABLE, detail=f"SQLite integrity check: {integrity}"))
    if cat_m:
        rec = next((v for k, v in cat_m.get("outputs", {}).items() if Path(k).name == db.name), None)
        if rec:
            checks.append(_check("catalog:database", db, shown_db, rec["sha256"], rec["size"]))
    for _, r in ds.iterrows():
        kind = r["kind"]
        base = cfg.root if kind == "raw" else ws
        p = Path(str(r["path"]))
        p = p if p.is_absolute() else base / p
        size = None if pd.isna(r["size_bytes"]) else int(r["size_bytes"])
        checks.append(_check(str(r["id"]), p, str(r["path"]), r["sha256"], size))
        if kind == "raw" and isinstance(r.get("archive_path"), str) and r["archive_path"]:
            checks.append(_check(f"{r['id']} (archived copy)", ws / r["archive_path"], str(r["archive_path"]),
                                 r["sha256"], size))
    if cfg.catalog.url:
        checks.append(_check_shared(cfg, ds, cat_m, db))
    for stage in NOT_CATALOGUED:
        m = read_manifest(cfg, stage)
        sdir = ws / "outputs" / stage
        if m is None:
            continue
        for rel, info in sorted(m.get("outputs", {}).items()):
            p = (sdir / rel)
            if stage == "catalog" and p.resolve() == db.resolve():
                continue  # checked above
            norm = Path(os.path.normpath(p))
            shown = norm.relative_to(ws).as_posix() if norm.is_relative_to(ws) else str(norm)
            checks.append(_check(f"output:{stage}/{rel}", p, shown, info["sha256"], info["size"]))
        mp = sdir / MANIFEST
        checks.append(Check(f"manifest:{stage}", mp.relative_to(ws).as_posix(), OK if mp.is_file() else MISSING))
    return VerifyResult(checks)

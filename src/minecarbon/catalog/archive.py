"""The raw-input archive: every input file of the project, referenced or copied read-only, with checksums.

``[report].archive = "reference"`` (default) records each input where it is,
with its SHA-256; ``"copy"`` also copies it into
``<workspace>/catalog/archive/<sha256[:2]>/<sha256>/<file name>`` (content
addressed: a file is stored once however often it is archived) and makes the
copy read-only.  Input folders are only read, never written.

Shapefiles travel with their side files (``.dbf``, ``.shx``, ``.prj`` ...):
each side file is archived and checksummed as a dataset of its own.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from ..io.atomic import atomic_path
from ..provenance import sha256_file

log = logging.getLogger(__name__)

SHAPEFILE_SIDECARS = (".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd")


@dataclass(frozen=True)
class RawFile:
    """One raw input file."""

    key: str
    """Dataset key: the project-file key (``images.path[2005]``), ``+.dbf`` for side files."""
    path: Path
    sha256: str
    size_bytes: int
    archive_path: Path | None = None


def input_files(keyed_paths: dict[str, Path]) -> dict[str, Path]:
    """The input files with their shapefile side files added (``key+.dbf`` ...)."""
    out: dict[str, Path] = {}
    for key, p in sorted(keyed_paths.items()):
        p = Path(p)
        out[key] = p
        if p.suffix.lower() == ".shp":
            for side in SHAPEFILE_SIDECARS:
                for cand in (p.with_suffix(side), p.with_suffix(side.upper())):
                    if cand.is_file():
                        out[f"{key}+{side}"] = cand
                        break
    return out


def _store(src: Path, digest: str, root: Path) -> Path:
    dest = root / digest[:2] / digest / src.name
    if dest.is_file() and dest.stat().st_size == src.stat().st_size and sha256_file(dest) == digest:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():  # a damaged earlier copy: replace it
        os.chmod(dest, stat.S_IWUSR | stat.S_IRUSR)
        dest.unlink()
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    got = sha256_file(dest)
    if got != digest:
        dest.unlink()
        raise OSError(f"the copy of {src} in the archive has checksum {got}, expected {digest} "
                      f"(the file changed while it was copied); re-run to archive it again")
    os.chmod(dest, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # read-only (files only, so rm -r works)
    return dest


def archive_inputs(keyed_paths: dict[str, Path], mode: str, archive_root: Path,
                   hash_cache: dict | None = None) -> list[RawFile]:
    """Checksum (and with ``mode='copy'`` copy) every input file.

    Parameters
    ----------
    keyed_paths : project-file key -> path (missing files are skipped with a warning).
    mode : 'reference' or 'copy'.
    archive_root : ``<workspace>/catalog/archive``.
    hash_cache : optional cache for :func:`minecarbon.pipeline.core.sha256_file`.
    """
    out = []
    for key, path in input_files(keyed_paths).items():
        if not path.is_file():
            log.warning("catalog: input %s (%s) does not exist; not archived", key, path)
            continue
        digest = sha256_file(path, hash_cache)
        stored = _store(path, digest, archive_root) if mode == "copy" else None
        out.append(RawFile(key=key, path=path, sha256=digest, size_bytes=path.stat().st_size,
                           archive_path=stored))
    return out

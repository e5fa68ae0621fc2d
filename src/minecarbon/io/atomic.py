"""Atomic output: write to a temporary name in the same folder, then rename.

A reader (or a re-run after a crash) therefore sees either the complete old
file, the complete new file, or nothing - never a half-written file under the
final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    The temporary name keeps the suffix so drivers chosen by extension work.
    On error the temporary file is removed and the final path is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part" + path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # drivers want to create the file themselves
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        for leftover in (tmp_path, Path(str(tmp_path) + "-journal"), Path(str(tmp_path) + ".aux.xml")):
            if leftover.exists():
                leftover.unlink()


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write text (UTF-8) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path

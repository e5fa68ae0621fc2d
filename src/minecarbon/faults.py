"""Faults of the machine and damaged files, told as such instead of as "internal errors".

:func:`explain` turns an exception that is not a :class:`MinecarbonError` but
has a known cause outside minecarbon (disk full, read-only or forbidden
folder, a damaged SQLite/GeoPackage database, a raster GDAL cannot decode,
memory) into a :class:`MinecarbonError` whose message names the file and the
fix.  The CLI calls it before calling anything a bug.
"""

from __future__ import annotations

import errno
import sqlite3

from .errors import EnvironmentProblemError, InputError, MinecarbonError

__all__ = ["explain"]


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _filename(exc: BaseException) -> str:
    for e in _chain(exc):
        name = getattr(e, "filename", None)
        if name:
            return str(name)
    return ""


def explain(exc: BaseException) -> MinecarbonError | None:
    """A :class:`MinecarbonError` telling the cause and the fix, or None when the cause is unknown."""
    if isinstance(exc, MinecarbonError):
        return exc
    for e in _chain(exc):
        if isinstance(e, MemoryError):
            return EnvironmentProblemError(
                f"Out of memory ({e or 'MemoryError'}). Close other programs, use a larger [run].chunk_px "
                f"only if memory allows (smaller chunks use less), split the area into several projects, or run "
                f"on a machine with more memory.")
        if isinstance(e, OSError) and e.errno is not None:
            name = _filename(e) or "a file of the workspace"
            if e.errno == errno.ENOSPC:
                return EnvironmentProblemError(
                    f"The disk is full: no space left writing {name}. Free space on that disk, or set "
                    f"[project].workspace to a folder on a disk with room, and run again (completed stages "
                    f"are kept; the interrupted one is redone).")
            if e.errno == errno.EROFS:
                return EnvironmentProblemError(
                    f"Cannot write {name}: the file system is read-only. Set [project].workspace to a "
                    f"writable folder (inputs may stay on the read-only disk).")
            if e.errno in (errno.EACCES, errno.EPERM):
                return EnvironmentProblemError(
                    f"Permission denied for {name}. Give your user write access to the workspace (and read "
                    f"access to the inputs), or set [project].workspace to a folder you can write.")
            if e.errno == errno.EDQUOT:
                return EnvironmentProblemError(
                    f"Disk quota exceeded writing {name}. Free space or ask for a larger quota, then run again.")
        if isinstance(e, sqlite3.DatabaseError):
            return EnvironmentProblemError(
                f"A database file is damaged or not a database ({e}). If it is the monitoring database "
                f"(<workspace>/catalog/), delete that folder and run again: 'minecarbon run PROJECT --stages "
                f"catalog,report --force' rebuilds it from the outputs. If it is an input GeoPackage, copy or "
                f"export it again.")
        if type(e).__module__.startswith("rasterio") and ("Read failed" in str(e) or "IReadBlock" in str(e)
                                                          or "TIFFRead" in str(e)):
            detail = "; ".join(str(x) for x in _chain(exc) if type(x).__module__.startswith("rasterio"))
            return InputError(f"A raster cannot be read: it is damaged or truncated ({detail}). Run "
                              f"'minecarbon check PROJECT' to name the file, then copy or export it again.")
    return None

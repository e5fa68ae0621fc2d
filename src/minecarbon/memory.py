"""Memory asked for by user values, checked before it is allocated.

A cell size, a resolution or the extent of a point cloud decides how large a
grid becomes; a typo (``--resolution 0.0001``) or coordinates in the wrong
units (an ALS tile in degrees among tiles in metres) can ask for terabytes.
:func:`check_grid` raises an :class:`InputError` giving the numbers before
numpy tries (and fails with a bare ``MemoryError``).

:func:`bound_heap` makes the C allocator give freed chunk-sized buffers back to the system, so that a process's
resident memory follows what it holds, not the most it ever held in pieces.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

__all__ = ["HEAP_ENV", "available_memory_bytes", "bound_heap", "check_grid"]

MMAP_THRESHOLD_BYTES = 64 * 1024
"""Buffers of at least this size are mapped from the system one by one and returned to it when freed (glibc's
``M_MMAP_THRESHOLD``).

glibc starts at 128 KiB but raises the threshold (up to 32 MiB) each time a mapped buffer is freed, after which
buffers of chunk size (a 128-px chunk of 13 files x 6 bands is 5 MiB) come from its heaps and arenas, where freed
pieces are kept for reuse and fragment: the classify stage's resident peak then grew with the scene although the
memory it held did not (memray: 552 MiB held at the peak on small, 560 MiB on medium; resident 0.675 vs 0.758
GiB). A fixed threshold turns the dynamic adjustment off (glibc ``mallopt``; benchmarks/README.md "Session 9")."""

HEAP_ENV = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD_BYTES)}
"""The same setting for worker processes started by minecarbon (glibc reads it when a process starts)."""


def bound_heap(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes in this process (see :data:`MMAP_THRESHOLD_BYTES`).

    Returns True when set; False on other C libraries (nothing to do) and when the user set
    ``MALLOC_MMAP_THRESHOLD_`` in the environment (their choice is kept).
    """
    import ctypes
    import platform

    if "MALLOC_MMAP_THRESHOLD_" in os.environ or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_mmap_threshold = -3  # malloc.h
    return bool(libc.mallopt(m_mmap_threshold, int(threshold)))

SHARE = 0.8
"""At most this share of the available memory may go to one grid."""


def available_memory_bytes() -> int | None:
    """Memory the system can still give (Linux ``MemAvailable``), or None where it is not known."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # other POSIX systems: physical memory
        import os

        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _gib(n: float) -> str:
    if n >= 2**40:
        return f"{n / 2**40:.1f} TiB"
    return f"{n / 2**30:.1f} GiB"


def check_grid(nx: int, ny: int, cell_m: float, bytes_per_cell: int, what: str, fix: str,
               available: int | None = None) -> None:
    """Raise :class:`InputError` when an ``nx`` x ``ny`` grid would not fit in memory.

    Parameters
    ----------
    nx, ny : columns and rows of the grid.
    cell_m : its cell size (for the message).
    bytes_per_cell : bytes per cell, all arrays of that size together.
    what : what the grid is for ("CHM of scan.laz").
    fix : what the user can change.
    available : bytes available (default: :func:`available_memory_bytes`).
    """
    need = float(nx) * float(ny) * bytes_per_cell
    available = available_memory_bytes() if available is None else available
    if available is None or need <= SHARE * available:
        return
    raise InputError(f"{what}: a grid of {nx:,} x {ny:,} cells of {cell_m:g} (an extent of {nx * cell_m:,.0f} x "
                     f"{ny * cell_m:,.0f} units) needs about {_gib(need)} of memory, and {_gib(available)} are "
                     f"available. {fix}")

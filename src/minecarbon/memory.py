"""Memory asked for by user values, checked before it is allocated.

A cell size, a resolution or the extent of a point cloud decides how large a
grid becomes; a typo (``--resolution 0.0001``) or coordinates in the wrong
units (an ALS tile in degrees among tiles in metres) can ask for terabytes.
:func:`check_grid` raises an :class:`InputError` giving the numbers before
numpy tries (and fails with a bare ``MemoryError``).
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError

__all__ = ["available_memory_bytes", "check_grid"]

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

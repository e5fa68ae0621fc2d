"""What the checks share: the context of one check run, the raster record, CRS helpers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ProjectConfig
from ..errors import Problem, Severity
from ..inputs._text import one_line as _one_line


BUFFER_RANGE_M = (100.0, 500.0)
"""The standard says the buffer is 'generally 100-500 m'."""


_SAMPLE_PX = 1024


_GDAL_READONLY = {"GDAL_PAM_ENABLED": "NO"}  # never write .aux.xml beside the inputs


@dataclass
class _Raster:
    """One raster input: what it is and, once opened, its metadata."""

    kind: str  # image, temperature, precipitation, dem, forest_type, canopy, covariate
    key: str  # "[images].path"
    year: int | None
    path: Path
    label: str = ""  # a covariate's name
    crs: Any = None  # pyproj CRS or None
    bounds: tuple[float, float, float, float] | None = None
    count: int = 0
    descriptions: tuple[str, ...] = ()
    ok: bool = False  # opened


@dataclass
class _Context:
    cfg: ProjectConfig
    project_file: str
    problems: list[Problem] = field(default_factory=list)
    rasters: list[_Raster] = field(default_factory=list)
    target_crs: Any = None  # pyproj CRS every input is brought to
    target_from: str = ""  # where target_crs comes from, for messages
    area: Any = None  # shapely geometry of the monitoring area (boundary + buffer)
    area_crs: Any = None
    plot_ids: set[str] | None = None
    plot_xy: Any = None  # (n, 2) plot centres with usable coordinates (plot sheet CRS)
    table: Any = None  # AllometryTable
    need_bands: dict[str, str] | None = None  # image band (common name) -> the feature needing it
    first_disturbance_year: int | None = None

    def add(self, file: str, where: str, message: str, fix: str, severity: Severity = "error",
            code: str = "") -> None:
        self.problems.append(Problem(file, where, message, fix, severity, code))

    def show(self, path: Path | None) -> str:
        """A path for messages: relative to the project folder where possible."""
        if path is None:
            return ""
        try:
            return Path(path).resolve().relative_to(Path(self.cfg.root).resolve()).as_posix()
        except (ValueError, OSError):
            return str(path)

    def guard(self, file: str, where: str, fn: Callable[..., None], *args: Any) -> None:
        """Run one check; an unexpected exception becomes a problem instead of a traceback."""
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - the check must never raise
            self.add(file or self.project_file, where,
                     f"this could not be checked ({type(exc).__name__}: {_one_line(str(exc))[:300]})",
                     "Check that the file is complete and in a supported format; if it is, report this "
                     "as a bug of minecarbon (the other checks still ran).")


def _pyproj(crs: Any) -> Any:
    """Any CRS-like object -> pyproj CRS (None stays None)."""
    if crs is None:
        return None
    from pyproj import CRS

    if isinstance(crs, CRS):
        return crs
    to_wkt = getattr(crs, "to_wkt", None)
    return CRS.from_wkt(to_wkt()) if callable(to_wkt) else CRS.from_user_input(crs)


def _crs_name(crs: Any) -> str:
    try:
        epsg = crs.to_epsg()
    except Exception:  # noqa: BLE001
        epsg = None
    return f"EPSG:{epsg}" if epsg else str(getattr(crs, "name", crs))


def _same_crs(a: Any, b: Any) -> bool:
    try:
        return bool(a.equals(b, ignore_axis_order=True)) or (a.to_epsg() is not None
                                                              and a.to_epsg() == b.to_epsg())
    except Exception:  # noqa: BLE001
        return False


def _transform_bounds(bounds: Sequence[float], src: Any, dst: Any) -> tuple[float, float, float, float]:
    """Bounds from CRS ``src`` to ``dst``; raises ValueError if they cannot be transformed."""
    if _same_crs(src, dst):
        return tuple(float(v) for v in bounds)  # type: ignore[return-value]
    from pyproj import Transformer

    t = Transformer.from_crs(src, dst, always_xy=True)
    out = t.transform_bounds(*bounds, densify_pts=21)
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"bounds cannot be transformed from {_crs_name(src)} to {_crs_name(dst)}")
    return tuple(float(v) for v in out)  # type: ignore[return-value]

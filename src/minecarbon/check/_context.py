"""What the checks share: the context of one check run (the raster record and CRS helpers live in ``inputs``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ProjectConfig
from ..errors import Problem, Severity
from ..inputs._text import one_line as _one_line
from ..inputs.rasters import RasterFile as _Raster


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

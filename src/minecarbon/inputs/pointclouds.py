"""The point clouds, declared once: ALS tiles (``[lidar].als``) and TLS scans (``[inputs].tls``).

A :class:`PointCloudInput` lists the problems of one LAS/LAZ file from its
header (``problems``): readable, holding points and, for georeferenced
clouds (ALS), a projected CRS (the header's or the project's), coordinates
that are not degrees, and the tile inside the monitoring area.  ``read``
raises an :class:`~minecarbon.errors.InputError` carrying the same problems
and returns the header's point count; the points themselves are read by
:func:`minecarbon.lidar.read_cloud`.

Options the rules read (keyword arguments of ``problems``/``read``):

``target_crs``
    The CRS the project works in: taken for a tile whose header has none.
``area``, ``area_crs``
    The monitoring area (boundary + buffer, a shapely geometry) and its CRS;
    without it the "outside the monitoring area" rule is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MissingInputError, Problem
from ._crs import crs_name as _crs_name
from ._crs import pyproj_crs as _pyproj
from ._crs import transform_bounds as _transform_bounds
from ._text import one_line as _one_line
from .spec import Report, raise_or_warn

__all__ = ["ALS_TILE", "POINT_CLOUDS", "PointCloudInput", "TLS_SCAN"]


@dataclass(frozen=True)
class PointCloudInput:
    """LAS/LAZ files matched by a glob of the project file."""

    key: str
    what: str
    about: str
    georeferenced: bool = True
    """False for scans in the scanner's local frame (TLS): no CRS rules."""
    noun: str = "tile"
    """One file in messages."""

    def header_problems(self, path: str | Path, file: str | None = None, **options: Any
                        ) -> tuple[list[Problem], int, bool | None]:
        """(problems, point count, inside the monitoring area: None when not judged)."""
        import laspy

        from ..lidar.lasfile import _crs_of

        rep = Report(file or str(path))
        f = Path(path)
        try:
            with laspy.open(str(f)) as reader:
                header = reader.header
                n = int(header.point_count)
                crs = _crs_of(header, f, self.what) if self.georeferenced else None
        except Exception as exc:  # noqa: BLE001 - laspy and lazrs raise many kinds
            rep.add("(file)", f"cannot be read as LAS/LAZ ({_one_line(str(exc))})",
                    f"Re-export the {self.noun} as LAS 1.2-1.4 or LAZ.")
            return rep.problems, 0, None
        if n == 0:
            rep.add("(file)", f"the {self.noun} holds no points", f"Re-export the {self.noun} or remove it from the "
                    "folder.")
            return rep.problems, n, None
        if not self.georeferenced:
            return rep.problems, n, None
        crs = crs if crs is not None else options.get("target_crs")
        if crs is None:
            rep.add("(header)", "no CRS in the header and none in the project",
                    "Set [project].crs or write the CRS into the tile headers.")
            return rep.problems, n, None
        crs = _pyproj(crs)
        if crs is not None and not crs.is_projected:
            rep.add("(header)", f"the CRS {_crs_name(crs)} is not projected (heights and cells need metres)",
                    "Reproject the tiles to the project's projected CRS (e.g. with PDAL or lasinfo/las2las).")
            return rep.problems, n, None
        x0, y0, x1, y1 = float(header.mins[0]), float(header.mins[1]), float(header.maxs[0]), float(header.maxs[1])
        if max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90:
            rep.add("(header)", f"the coordinates (x {x0:g} .. {x1:g}, y {y0:g} .. {y1:g}) look like "
                    f"degrees (longitude, latitude), but the tile is taken as {_crs_name(crs)} in metres",
                    "Reproject the tile to the project's projected CRS (e.g. 'pdal translate in.laz out.laz "
                    "reprojection --filters.reprojection.in_srs=EPSG:4326 --filters.reprojection.out_srs="
                    "EPSG:32649').")
            return rep.problems, n, None
        area, inside = options.get("area"), None
        if area is not None and crs is not None:
            from shapely.geometry import box

            try:
                b = _transform_bounds((x0, y0, x1, y1), crs, options.get("area_crs"))
                inside = bool(box(*b).intersects(area))
            except Exception:  # noqa: BLE001 - bounds that cannot be transformed are not judged
                inside = None
            if inside is False:
                rep.add("(header)", f"the tile (x {x0:.0f} .. {x1:.0f}, y {y0:.0f} .. {y1:.0f}, "
                        f"{_crs_name(crs)}) lies outside the monitoring area; it is not used",
                        "Remove it from the folder, or check its CRS.", "warning")
        return rep.problems, n, inside

    def problems(self, path: str | Path, file: str | None = None, **options: Any) -> list[Problem]:
        """Every problem of the file's header; never raises."""
        return self.header_problems(path, file, **options)[0]

    def read(self, path: str | Path, file: str | None = None, **options: Any) -> int:
        """The header's point count; raise :class:`~minecarbon.errors.InputError` on the problems of :meth:`problems`."""
        path = Path(path)
        file = file or str(path)
        if not path.is_file():
            raise MissingInputError(f"{self.what} {path} does not exist.", problems=[Problem(
                file, "(file)", f"the {self.what} does not exist", "Check the pattern in the project file.",
                code="missing-file")])
        found, n, _ = self.header_problems(path, file, **options)
        raise_or_warn(found, f"{file}: {sum(p.is_error for p in found)} problem(s) in the {self.what}:")
        return n


ALS_TILE = PointCloudInput("lidar.als", "ALS tile", "Airborne lidar tiles (LAS/LAZ) over the monitoring area, in "
                           "the project CRS or with the CRS in their headers.")
"""``[lidar].als``."""

TLS_SCAN = PointCloudInput("inputs.tls", "TLS scan", "Terrestrial lidar scans of the validation plots, one per "
                           "plot, named <plot_id>.laz, in the scanner's local frame.", georeferenced=False, noun="scan")
"""``[inputs].tls``."""

POINT_CLOUDS = {spec.key: spec for spec in (ALS_TILE, TLS_SCAN)}
"""The declared point clouds, by config key."""

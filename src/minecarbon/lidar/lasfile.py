"""LAS/LAZ point clouds in and out (laspy with the lazrs LAZ backend).

This module is the point-cloud part of minecarbon's I/O layer: it is the only
lidar code that opens files.  Reading goes chunk by chunk into preallocated
arrays, so a large file never exists twice in memory (raw records + scaled
coordinates).  Every problem is reported as one
:class:`~minecarbon.errors.MinecarbonError` naming the file and the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import laspy
import numpy as np

from ..errors import CRSError, InputError, MissingInputError
from ..io.atomic import atomic_path
from .cloud import PointCloud, col_max, col_min

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_FIELDS", "read_cloud", "write_cloud"]

#: Standard LAS attributes read by default when present.
DEFAULT_FIELDS = ("classification", "return_number", "number_of_returns", "intensity")


def _crs_of(header: laspy.LasHeader, path: Path, what: str) -> Any:
    try:
        return header.parse_crs()
    except Exception as exc:  # noqa: BLE001 - any unreadable CRS record
        log.warning("%s %s: the CRS record of the header cannot be parsed (%s); treated as no CRS",
                    what, path, exc)
        return None


def _check_crs(crs: Any, path: Path, what: str) -> None:
    if crs is None:
        return
    if getattr(crs, "is_geographic", False):
        raise CRSError(f"{what} {path} is in a geographic CRS ({crs.name}, degrees); heights, diameters and "
                       f"distances need metres. Reproject the cloud to a projected CRS in metres (e.g. UTM: "
                       f"'pdal translate in.laz out.laz reprojection --filters.reprojection.out_srs=EPSG:32649').")
    try:
        unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    except Exception:  # noqa: BLE001
        unit = "metre"
    if unit not in ("metre", "meter", "m"):
        raise CRSError(f"{what} {path} has coordinates in {unit} ({crs.name}); minecarbon works in metres. "
                       f"Reproject it to a metric CRS first (e.g. the UTM zone of the project).")


def read_cloud(path: str | Path, *, crs: Any = None, fields: Sequence[str] = DEFAULT_FIELDS,
               extra_dims: bool | Iterable[str] = True, chunk_points: int = 2_000_000,
               what: str = "point cloud") -> PointCloud:
    """Read a LAS/LAZ file (LAS 1.0-1.4) into a :class:`PointCloud`.

    Parameters
    ----------
    path : the .las or .laz file.
    crs : CRS to assume when the header has none (e.g. the project CRS).  A
        scan without CRS and without ``crs`` is taken to be in a local metric
        frame (normal for TLS in scanner coordinates).
    fields : standard attributes to keep (absent ones are skipped).
    extra_dims : keep the extra dimensions (True: all; or an iterable of names).
    chunk_points : points decoded per chunk.
    what : what the file is, for messages ("TLS scan of plot P01", ...).

    Raises
    ------
    MissingInputError : the file does not exist.
    InputError : unreadable, corrupt or empty file; non-finite coordinates.
    CRSError : geographic or non-metric CRS; coordinates that look like degrees.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{what} {path} does not exist. Check the path (scans are named "
                                f"<plot_id>.laz) or the [inputs].tls pattern of the project file.")
    try:
        backend = laspy.LazBackend.LazrsParallel if laspy.LazBackend.LazrsParallel.is_available() else None
        reader = laspy.open(str(path), laz_backend=backend) if backend else laspy.open(str(path))
    except laspy.errors.LaspyException as exc:
        raise InputError(f"{what} {path} cannot be read as LAS/LAZ ({exc}). Check that it is a LAS 1.0-1.4 "
                         f"or LAZ file and not truncated (re-export it from the scanner software).") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be opened ({exc}). Check the file permissions.") from None
    with reader:
        header = reader.header
        n = int(header.point_count)
        if n == 0:
            raise InputError(f"{what} {path} holds no points (empty point cloud). Export the scan again; "
                             f"check that the export did not filter every point out.")
        file_crs = _crs_of(header, path, what)
        if file_crs is not None and crs is not None:
            try:
                same = file_crs.equals(crs) if hasattr(file_crs, "equals") else file_crs == crs
            except Exception:  # noqa: BLE001
                same = True
            if not same:
                log.warning("%s %s: header CRS %s differs from the project CRS %s; the header CRS is used",
                            what, path, getattr(file_crs, "name", file_crs), crs)
        use_crs = file_crs if file_crs is not None else crs
        if use_crs is not None and not hasattr(use_crs, "is_geographic"):
            from pyproj import CRS

            use_crs = CRS.from_user_input(use_crs)
        _check_crs(use_crs, path, what)
        dims = set(header.point_format.dimension_names)
        keep = [f for f in fields if f in dims]
        extra_names = list(header.point_format.extra_dimension_names)
        if extra_dims is True:
            keep_extra = extra_names
        elif extra_dims:
            keep_extra = [e for e in extra_dims if e in extra_names]
        else:
            keep_extra = []
        xyz = np.empty((n, 3), dtype=np.float64)
        out: dict[str, np.ndarray] = {}
        pos = 0
        try:
            for chunk in reader.chunk_iterator(max(int(chunk_points), 1)):
                m = len(chunk)
                if pos + m > n:
                    m = n - pos
                xyz[pos:pos + m, 0] = np.asarray(chunk.x)[:m]
                xyz[pos:pos + m, 1] = np.asarray(chunk.y)[:m]
                xyz[pos:pos + m, 2] = np.asarray(chunk.z)[:m]
                for f in keep + keep_extra:
                    arr = np.asarray(chunk[f])[:m]
                    if f not in out:
                        out[f] = np.empty(n, dtype=arr.dtype)
                    out[f][pos:pos + m] = arr
                pos += m
                if pos >= n:
                    break
        except Exception as exc:  # noqa: BLE001 - lazrs/laspy raise various errors on corrupt data
            raise InputError(f"{what} {path} is corrupt: decoding stopped after {pos:,} of {n:,} points "
                             f"({type(exc).__name__}: {exc}). Copy or export the file again.") from None
    if pos < n:
        log.warning("%s %s: header announces %d points but only %d could be read", what, path, n, pos)
        xyz = xyz[:pos]
        out = {k: v[:pos] for k, v in out.items()}
        if pos == 0:
            raise InputError(f"{what} {path} holds no readable points. Export the scan again.")
    if not np.all(np.isfinite(xyz)):
        bad = int((~np.isfinite(xyz)).any(axis=1).sum())
        raise InputError(f"{what} {path} has {bad:,} points with non-finite coordinates. Repair the file "
                         f"(e.g. re-export it) before processing.")
    if use_crs is None:
        lo, hi = col_min(xyz), col_max(xyz)
        ext = hi - lo
        if (np.all(np.abs(xyz[:, 0]) <= 180.0) and np.all(np.abs(xyz[:, 1]) <= 90.0)
                and ext[0] < 0.05 and ext[1] < 0.05 and ext[2] > 2.0):
            raise CRSError(f"{what} {path} has no CRS and its x/y span only {ext[0]:.4f} x {ext[1]:.4f} units "
                           f"while z spans {ext[2]:.1f}: the coordinates look like geographic degrees. "
                           f"Reproject the cloud to a projected CRS in metres.")
    hdr = {"version": str(header.version), "point_format": int(header.point_format.id),
           "point_count": int(xyz.shape[0]), "scales": [float(s) for s in header.scales]}
    return PointCloud(xyz, use_crs, out, str(path), hdr)


def write_cloud(path: str | Path, cloud: PointCloud, extra: dict[str, np.ndarray] | None = None,
                classification: np.ndarray | None = None, scale_m: float = 0.001) -> Path:
    """Write a cloud as LAS 1.4 (point format 6) or LAZ (by extension), atomically.

    Parameters
    ----------
    path : output .las/.laz.
    cloud : the points; its ``classification``, ``intensity``, ``return_number``
        and ``number_of_returns`` fields are written when present.
    extra : extra dimensions to add (name -> (n,) integer or float array), e.g.
        ``{"tree_id": labels}``.
    classification : overrides the cloud's classification (ASPRS codes: 2 ground, ...).
    scale_m : coordinate resolution.
    """
    path = Path(path)
    n = len(cloud)
    header = laspy.LasHeader(point_format=6, version="1.4")
    extra = dict(extra or {})
    for name, arr in extra.items():
        arr = np.asarray(arr)
        if arr.shape != (n,):
            raise ValueError(f"extra dimension {name} has shape {arr.shape}, expected ({n},)")
        header.add_extra_dims([laspy.ExtraBytesParams(name=name, type=arr.dtype)])
    header.scales = np.array([scale_m] * 3)
    header.offsets = np.floor(col_min(cloud.xyz)) if n else np.zeros(3)
    header.generating_software = "minecarbon"
    if cloud.crs is not None:
        try:
            header.add_crs(cloud.crs)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not write the CRS into %s: %s", path, exc)
    las = laspy.LasData(header)
    las.x, las.y, las.z = cloud.xyz[:, 0], cloud.xyz[:, 1], cloud.xyz[:, 2]
    cls = classification if classification is not None else cloud.fields.get("classification")
    if cls is not None:
        las.classification = np.asarray(cls, dtype=np.uint8)
    for f in ("intensity", "return_number", "number_of_returns"):
        if f in cloud.fields:
            las[f] = cloud.fields[f]
    for name, arr in extra.items():
        las[name] = np.asarray(arr)
    with atomic_path(path) as tmp:
        las.write(str(tmp))
    return path

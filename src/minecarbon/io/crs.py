"""CRS comparison by meaning, not by spelling.

Users write the same CRS in many ways: ``EPSG:32649``, ``epsg:32649``, a PROJ
string (``+proj=utm +zone=49 +datum=WGS84 +units=m +no_defs``), WKT, or a
rasterio/pyproj CRS object.  :func:`same_crs` says whether two of them mean
the same CRS; :func:`to_pyproj` turns any of them into a :class:`pyproj.CRS`.
"""

from __future__ import annotations

from typing import Any

from ..errors import CRSError

__all__ = ["same_crs", "to_pyproj"]


def to_pyproj(crs: Any, what: str = "CRS") -> Any:
    """Any CRS-like value (text, pyproj, rasterio) -> :class:`pyproj.CRS`; None stays None.

    Raises :class:`CRSError` naming ``what`` when the value is not a CRS.
    """
    if crs is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    if isinstance(crs, CRS):
        return crs
    try:
        to_wkt = getattr(crs, "to_wkt", None)
        return CRS.from_wkt(to_wkt()) if callable(to_wkt) else CRS.from_user_input(crs)
    except (PyprojCRSError, TypeError, ValueError) as exc:
        raise CRSError(f"{what} {crs!r} is not a CRS that PROJ knows ({exc}). Write it as "
                       f"'EPSG:<code>' (e.g. 'EPSG:32649'), a PROJ string or WKT.") from None


def same_crs(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` denote the same CRS, however each is written.

    Two CRSs are the same when pyproj finds them equal (axis order ignored) or
    when both resolve to the same EPSG code (a PROJ string of UTM 49N and
    ``EPSG:32649`` do, although their WKT differ in names).  None equals only
    None.
    """
    if a is None or b is None:
        return a is None and b is None
    pa, pb = to_pyproj(a), to_pyproj(b)
    if pa.equals(pb, ignore_axis_order=True):
        return True
    ea, eb = pa.to_epsg(min_confidence=70), pb.to_epsg(min_confidence=70)
    return ea is not None and ea == eb

"""CRS helpers of the input rules: names for messages, bounds between CRSs.

Parsing and comparing CRSs is :mod:`minecarbon.io.crs`'s job (one parser for the whole package); this module
only adds what the input rules need on top: a tolerant comparison (an unreadable CRS is "not the same", and
the rule that reads it reports it) and bounds transformed between two CRSs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..errors import CRSError
from ..io.crs import same_crs as _io_same_crs
from ..io.crs import to_pyproj


def pyproj_crs(crs: Any, what: str = "CRS") -> Any:
    """Any CRS-like object -> pyproj CRS (None stays None); :class:`CRSError` naming ``what`` if it is not one."""
    return to_pyproj(crs, what)


def crs_name(crs: Any) -> str:
    try:
        epsg = crs.to_epsg()
    except Exception:  # noqa: BLE001
        epsg = None
    return f"EPSG:{epsg}" if epsg else str(getattr(crs, "name", crs))


def same_crs(a: Any, b: Any) -> bool:
    """:func:`minecarbon.io.crs.same_crs`, but False (not an error) when either is not a CRS PROJ reads."""
    try:
        return _io_same_crs(a, b)
    except CRSError:
        return False


def transform_bounds(bounds: Sequence[float], src: Any, dst: Any) -> tuple[float, float, float, float]:
    """Bounds from CRS ``src`` to ``dst``; raises ValueError if they cannot be transformed."""
    if same_crs(src, dst):
        return tuple(float(v) for v in bounds)  # type: ignore[return-value]
    from pyproj import Transformer

    t = Transformer.from_crs(src, dst, always_xy=True)
    out = t.transform_bounds(*bounds, densify_pts=21)
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"bounds cannot be transformed from {crs_name(src)} to {crs_name(dst)}")
    return tuple(float(v) for v in out)  # type: ignore[return-value]

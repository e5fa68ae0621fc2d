"""CRS helpers of the input rules: any CRS-like object to pyproj, names for messages, bounds between CRSs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def pyproj_crs(crs: Any) -> Any:
    """Any CRS-like object -> pyproj CRS (None stays None)."""
    if crs is None:
        return None
    from pyproj import CRS

    if isinstance(crs, CRS):
        return crs
    to_wkt = getattr(crs, "to_wkt", None)
    return CRS.from_wkt(to_wkt()) if callable(to_wkt) else CRS.from_user_input(crs)


def crs_name(crs: Any) -> str:
    try:
        epsg = crs.to_epsg()
    except Exception:  # noqa: BLE001
        epsg = None
    return f"EPSG:{epsg}" if epsg else str(getattr(crs, "name", crs))


def same_crs(a: Any, b: Any) -> bool:
    try:
        return bool(a.equals(b, ignore_axis_order=True)) or (a.to_epsg() is not None
                                                              and a.to_epsg() == b.to_epsg())
    except Exception:  # noqa: BLE001
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

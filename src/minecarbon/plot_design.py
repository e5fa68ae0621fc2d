"""Plot layout design: where to put the field plots of each assessment unit.

The standard (section 3 of ``docs/STANDARD.md``) asks for plots that are
representative and typical - never only in healthy, clustered stands - placed
in advance on damaged land where it may be restored, with extra plots in
to-be-damaged areas; at least 3 square plots per assessment unit, sized to
the pixel of the target imagery.  :func:`design_plots` turns this into rules:

* **Units**: every level-2 assessment unit of the units raster (codes of
  :mod:`minecarbon.units`; 0 and the nodata value are not units).
* **How many**: ``max(min_per_unit, ceil(area_ha / ha_per_plot))`` (the
  second term only when ``ha_per_plot`` is given), plus
  ``extra_to_be_damaged`` in to-be-damaged units (level 1 = 2), capped at
  ``max_per_unit``.
* **Size and position**: square plots of side ``plot_size_m`` (default: the
  pixel size) centred on pixel centres, so a pixel-sized plot is exactly one
  pixel of the imagery.
* **Away from edges**: a centre is a candidate only if the square grown by
  ``edge_margin_m`` lies inside the unit (erosion of the unit by half a plot
  + margin, on whole pixels).  Where a unit is too small for that, the margin
  is dropped (0); where even the bare square does not fit, any pixel of the
  unit is used and ``fits_inside`` is false.  The margin used is recorded.
* **Spread**: the candidate pixels are split into as many k-means clusters
  (scikit-learn, seeded) as plots are wanted, and the candidate nearest each
  cluster centre is taken - a spatially balanced sample that covers the whole
  unit - then greedy farthest-point sampling fills any gap.  Plot centres of
  one unit are at least ``min_spacing_m`` apart (default 3 plot sides); where
  a unit cannot hold its plots at that spacing, the spacing shrinks by 0.7
  steps (recorded per plot) down to squares that merely do not overlap.
* **Damaged land**: in damaged units (level 1 = 3) the candidates are
  restricted to land where restoration is planned when such a mask is given
  (fallback to the whole unit, noted in ``purpose``).

All functions are pure: they take a units :class:`xarray.DataArray` (numpy-
or dask-backed; the result is the same) and return tables.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from scipy import ndimage

from . import units as unit_codes
from .errors import CRSError, GridError, InputError

if TYPE_CHECKING:
    import geopandas as gpd

log = logging.getLogger(__name__)

UNITS_NODATA = 255
"""Nodata value of the units rasters written by the ``units`` stage."""
_MAX_CANDIDATES = 20000
"""Candidate pixels per unit kept for the k-means (seeded subsample above this)."""
_SPACING_STEP = 0.7
"""Factor by which the minimum spacing shrinks when a unit cannot hold its plots."""


def _pixel_size(units: xr.DataArray) -> tuple[float, float]:
    t = units.rio.transform()
    if t.b != 0 or t.d != 0:
        raise GridError("The units raster is rotated; plot squares need a north-up grid (gdalwarp it).")
    return abs(t.a), abs(t.e)


def _as_2d(units: xr.DataArray) -> xr.DataArray:
    if units.ndim == 3:
        if units.sizes[units.dims[0]] != 1:
            raise InputError(f"The units raster has {units.sizes[units.dims[0]]} bands; give the single "
                             f"level-2 band (units_level2.tif).")
        units = units.isel({units.dims[0]: 0})
    if units.rio.crs is None:
        raise CRSError("The units raster has no CRS; plot coordinates need the project CRS.")
    if units.rio.crs.is_geographic:
        raise CRSError("The units raster is in a geographic CRS (degrees); plots are laid out in metres. "
                       "Use the projected project grid (outputs/units/units_level2.tif).")
    return units


def plots_wanted(code_l2: int, area_ha: float, min_per_unit: int = 3, extra_to_be_damaged: int = 2,
                 ha_per_plot: float | None = None, max_per_unit: int = 50) -> int:
    """Number of plots wanted in one unit (see the module docstring)."""
    n = min_per_unit
    if ha_per_plot:
        n = max(n, math.ceil(area_ha / ha_per_plot))
    if code_l2 // 10 == 2:
        n += extra_to_be_damaged
    return int(max(min(n, max_per_unit), min_per_unit))


def _erode(mask: np.ndarray, half_x_px: float, half_y_px: float) -> np.ndarray:
    """Pixels whose square of half-sizes (pixels, centre to side) lies inside ``mask``.

    A square centred on a pixel centre with half-size q pixels touches the
    pixels at offsets |k| < q + 0.5, so all pixels with |k| <= ceil(q + 0.5) - 1
    must be in the mask: an erosion by a (2k+1)-pixel square.  Outside the
    raster counts as outside the mask.
    """
    kx = max(math.ceil(half_x_px + 0.5 - 1e-9) - 1, 0)
    ky = max(math.ceil(half_y_px + 0.5 - 1e-9) - 1, 0)
    if kx == 0 and ky == 0:
        return mask.copy()
    return ndimage.minimum_filter(mask.astype(np.uint8), size=(2 * ky + 1, 2 * kx + 1), mode="constant",
                                  cval=0).astype(bool)


def _kmeans_order(xy: np.ndarray, n: int, seed: int) -> list[int]:
    """Candidates nearest the centres of ``n`` k-means clusters of ``xy`` (largest cluster first)."""
    from sklearn.cluster import KMeans

    k = min(n, len(xy))
    if k == len(xy):
        return list(range(len(xy)))
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(xy)
    sizes = np.bincount(km.labels_, minlength=k)
    order = []
    for c in np.argsort(-sizes, kind="stable"):
        order.append(int(np.argmin(np.hypot(*(xy - km.cluster_centers_[c]).T))))
    return order


def _select(xy: np.ndarray, n: int, spacing: float, side_x: float, side_y: float,
            order: list[int]) -> list[int]:
    """Indices of up to ``n`` points of ``xy``: the k-means ``order`` first, then farthest-point; spaced."""
    if len(xy) == 0:
        return []
    chosen: list[int] = []

    def admissible(i: int) -> bool:
        if not chosen:
            return True
        c = xy[chosen]
        dx = np.abs(c[:, 0] - xy[i, 0])
        dy = np.abs(c[:, 1] - xy[i, 1])
        no_overlap = (dx >= side_x - 1e-6) | (dy >= side_y - 1e-6)
        return bool(np.all(no_overlap) and np.all(np.hypot(dx, dy) >= spacing - 1e-6))

    for i in order:
        if len(chosen) < n and i not in chosen and admissible(i):
            chosen.append(i)
    # farthest-point fill
    while len(chosen) < n:
        c = xy[chosen]
        d = np.min(np.hypot(xy[:, None, 0] - c[None, :, 0], xy[:, None, 1] - c[None, :, 1]), axis=1)
        picked = False
        for i in np.argsort(-d, kind="stable"):
            if d[i] < spacing - 1e-6:
                break
            if admissible(int(i)):
                chosen.append(int(i))
                picked = True
                break
        if not picked:
            break
    return chosen


def _spacing_ladder(spacing0: float, side: float) -> list[float]:
    """Spacings tried in turn: spacing0, x0.7, ... while >= the plot side, then 0 (no overlap only)."""
    out = [spacing0]
    while out[-1] * _SPACING_STEP >= side:
        out.append(out[-1] * _SPACING_STEP)
    return out + [0.0]


def _place(sub: np.ndarray, region: np.ndarray, n: int, side: float, px_x: float, px_y: float,
           edge_margin_m: float, spacing0: float, xs: np.ndarray, ys: np.ndarray, seed: int):
    """Place ``n`` plots in one unit (``sub``: its bounding-box mask; ``region``: allowed centres).

    Tries the spacings of :func:`_spacing_ladder` in turn; at each, first with
    the edge margin, then without; the first attempt that places ``n`` plots
    wins (spacing matters more than the margin: neighbouring plots are not
    independent).  If none does, squares that cross the unit edge are
    allowed.  Returns (chosen, (row, col) in ``sub``, margin, spacing,
    inside) of the best attempt, or None when nothing can be placed.
    """
    margins = [edge_margin_m, 0.0] if edge_margin_m > 0 else [0.0]
    cache: dict[tuple[float, bool], tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]] = {}

    def candidates(margin: float, inside: bool):
        key = (margin, inside)
        if key not in cache:
            if inside:  # the square (+ margin) inside the unit, the centre in the region
                cand = _erode(sub, (side / 2 + margin) / px_x, (side / 2 + margin) / px_y) & region
            else:
                cand = region
            rr, cc = np.nonzero(cand)
            if rr.size > _MAX_CANDIDATES:
                keep = np.sort(np.random.default_rng(seed).choice(rr.size, _MAX_CANDIDATES, replace=False))
                rr, cc = rr[keep], cc[keep]
            xy = np.column_stack([xs[cc], ys[rr]])
            cache[key] = (rr, cc, xy, _kmeans_order(xy, n, seed) if rr.size else [])
        return cache[key]

    best = None
    for inside in (True, False):
        for spacing in _spacing_ladder(spacing0, side):
            for margin in (margins if inside else [0.0]):
                rr, cc, xy, order = candidates(margin, inside)
                if rr.size == 0:
                    continue
                chosen = _select(xy, n, spacing, side, side, order)
                if best is None or len(chosen) > len(best[0]):
                    best = (chosen, np.column_stack([rr[chosen], cc[chosen]]), margin, spacing, inside)
                if len(chosen) >= n:
                    return best
    return best


def _random(sub: np.ndarray, region: np.ndarray, n: int, side: float, px_x: float, px_y: float, seed: int,
            code: int):
    """Simple random sample of ``n`` centres among the region pixels whose plot square lies inside the unit
    (all region pixels where none does); returns (best as in :func:`_place`, population size)."""
    cand = _erode(sub, (side / 2) / px_x, (side / 2) / px_y) & region
    inside = bool(cand.any())
    if not inside:
        cand = region
    rr, cc = np.nonzero(cand)
    if rr.size == 0:
        return None, 0
    rng = np.random.default_rng([int(seed), int(code)])
    chosen = np.sort(rng.choice(rr.size, size=min(n, rr.size), replace=False))
    return (list(chosen), np.column_stack([rr[chosen], cc[chosen]]), 0.0, 0.0, inside), int(rr.size)


def design_plots(units_l2: xr.DataArray, plot_size_m: float | None = None, min_per_unit: int = 3,
                 extra_to_be_damaged: int = 2, edge_margin_m: float = 15.0,
                 min_spacing_m: float | None = None, ha_per_plot: float | None = None,
                 max_per_unit: int = 50, restoration: xr.DataArray | None = None,
                 nodata: int = UNITS_NODATA, seed: int = 0, method: str = "balanced") -> pd.DataFrame:
    """Propose square field plots for every level-2 assessment unit.

    ``method="random"`` draws a stratified random sample instead of the
    balanced layout: in each unit, ``n`` plot centres by simple random sampling
    without replacement among the pixels whose plot square lies inside the
    unit (no margin, no spacing rule), so each of those pixels has the
    inclusion probability ``n / population_px`` (columns of the result).  This
    is the probability design under which the model-assisted intervals of
    :mod:`minecarbon.model.unit_estimates` are design-based.

    Parameters
    ----------
    units_l2 : xarray.DataArray
        Level-2 unit codes (y, x) or (1, y, x) on a projected, north-up grid
        (``outputs/units/units_level2.tif``); 0 and ``nodata`` are not units.
    plot_size_m : float, optional
        Side of the square plots (m); default: the pixel size (x).
    min_per_unit : int
        Minimum plots per unit (the standard: 3).
    extra_to_be_damaged : int
        Plots added in to-be-damaged units (level 1 = 2).
    edge_margin_m : float
        Clearance between plot squares and the unit edge (m).
    min_spacing_m : float, optional
        Minimum distance between plot centres within a unit (m); default 3
        plot sides.
    ha_per_plot : float, optional
        One plot per this many ha of unit area (when more than the minimum).
    max_per_unit : int
        Cap on the plots of one unit.
    restoration : xarray.DataArray, optional
        Same grid, true (non-zero) where restoration is planned; plots of
        damaged units (level 1 = 3) go there.
    nodata : int
        Nodata value of ``units_l2``.
    seed : int
        Seed of the k-means (the design is reproducible).

    Returns
    -------
    pandas.DataFrame
        One row per plot: ``plot_id, unit_l2, unit_l1, unit_name_en,
        unit_name_zh, purpose, row, col, x, y`` (centre, project CRS),
        ``size_m, n_wanted, edge_margin_m, spacing_m, fits_inside``.
        Units that cannot hold ``n_wanted`` plots get fewer (logged; see
        :func:`count_plots_per_unit`).
    """
    units_l2 = _as_2d(units_l2)
    px_x, px_y = _pixel_size(units_l2)
    side = float(plot_size_m) if plot_size_m else px_x
    spacing0 = float(min_spacing_m) if min_spacing_m else 3.0 * side
    codes = np.asarray(units_l2.values).astype(np.int64)
    valid = (codes > 0) & (codes != nodata)
    rest = None
    if restoration is not None:
        r = restoration.isel({restoration.dims[0]: 0}) if restoration.ndim == 3 else restoration
        if r.shape != codes.shape:
            raise GridError(f"The restoration mask ({r.shape}) is not on the units grid ({codes.shape}).")
        rest = np.nan_to_num(np.asarray(r.values, dtype=float)) != 0
    xs = np.asarray(units_l2["x"].values, dtype=float)
    ys = np.asarray(units_l2["y"].values, dtype=float)
    px_ha = px_x * px_y / 10000.0
    rows_out = []
    for code in [int(c) for c in np.unique(codes[valid])]:
        mask = codes == code
        r0, r1 = np.flatnonzero(mask.any(axis=1))[[0, -1]]
        c0, c1 = np.flatnonzero(mask.any(axis=0))[[0, -1]]
        sub = mask[r0:r1 + 1, c0:c1 + 1]
        area_ha = float(sub.sum()) * px_ha
        n = plots_wanted(code, area_ha, min_per_unit, extra_to_be_damaged, ha_per_plot, max_per_unit)
        purpose = _purpose(code)
        region = sub
        if code // 10 == 3 and rest is not None:
            rsub = sub & rest[r0:r1 + 1, c0:c1 + 1]
            if rsub.any():
                region = rsub
                purpose = "damaged land where restoration is planned: survey before and after restoration"
            else:
                purpose += " (no planned restoration inside this unit)"
        population = None
        if method == "random":
            best, population = _random(sub, region, n, side, px_x, px_y, seed, code)
        elif method == "balanced":
            best = _place(sub, region, n, side, px_x, px_y, edge_margin_m, spacing0, xs[c0:c1 + 1],
                          ys[r0:r1 + 1], seed)
        else:
            raise InputError(f"plot layout method {method!r} is not 'balanced' or 'random'.")
        if best is None or not best[0]:
            log.warning("unit %d (%s): no plot could be placed", code, unit_codes.unit_name(code))
            continue
        chosen, rc, margin, spacing, inside = best
        rc = rc + np.array([r0, c0])
        if len(chosen) < n:
            log.warning("unit %d (%s): only %d of %d plots fit", code, unit_codes.unit_name(code),
                        len(chosen), n)
        # order plots north-west to south-east for the field crew
        order = np.lexsort((rc[:, 1], rc[:, 0]))
        for k, (r, c) in enumerate(rc[order], start=1):
            rows_out.append({
                "plot_id": f"P{code:02d}-{k:02d}", "unit_l2": code, "unit_l1": code // 10,
                "unit_name_en": unit_codes.unit_name(code, "en"), "unit_name_zh": unit_codes.unit_name(code, "zh"),
                "purpose": purpose, "row": int(r), "col": int(c), "x": float(xs[c]), "y": float(ys[r]),
                "size_m": side, "n_wanted": n, "edge_margin_m": float(margin),
                "spacing_m": round(float(spacing), 2),
                "fits_inside": bool(inside), "design": method,
                "population_px": population if population is not None else np.nan,
                "inclusion_prob": len(chosen) / population if population else np.nan})
    cols = ["plot_id", "unit_l2", "unit_l1", "unit_name_en", "unit_name_zh", "purpose", "row", "col", "x", "y",
            "size_m", "n_wanted", "edge_margin_m", "spacing_m", "fits_inside", "design", "population_px",
            "inclusion_prob"]
    return pd.DataFrame(rows_out, columns=cols)


def _purpose(code: int) -> str:
    l1 = code // 10
    return {1: "persistent forest: spread over the unit",
            2: "to-be-damaged forest: extra plots before mining (standard section 3)",
            3: "damaged land: survey after restoration",
            4: "reclaimed forest: spread over the unit",
            5: "other disturbance: spread over the unit"}.get(l1, "")


def field_sheet(design: pd.DataFrame, crs) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Field sheet and plot squares of a design.

    Parameters
    ----------
    design : DataFrame
        Output of :func:`design_plots`.
    crs : pyproj.CRS or str
        Projected CRS of ``x, y``.

    Returns
    -------
    (sheet, squares)
        ``sheet``: the design plus ``lon, lat`` (WGS84, EPSG:4326, for GNSS),
        ``area_ha``, the corner coordinates ``x_nw, y_nw, x_ne, y_ne, x_se,
        y_se, x_sw, y_sw`` (project CRS) and ``lon_nw, lat_nw, ...`` (WGS84),
        ``crs`` and empty ``survey_year`` and ``notes`` columns for the crew.
        ``squares``: a GeoDataFrame of the plot squares (project CRS) with
        the same attributes.
    """
    import geopandas as gpd
    from pyproj import CRS, Transformer
    from shapely.geometry import box

    crs = CRS.from_user_input(crs)
    to_wgs = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
    s = design.copy()
    half = s["size_m"].to_numpy(dtype=float) / 2.0
    x, y = s["x"].to_numpy(dtype=float), s["y"].to_numpy(dtype=float)
    lon, lat = to_wgs.transform(x, y)
    s.insert(s.columns.get_loc("y") + 1, "lon", np.round(lon, 7))
    s.insert(s.columns.get_loc("lon") + 1, "lat", np.round(lat, 7))
    s["area_ha"] = s["size_m"].astype(float) ** 2 / 10000.0
    corners = {"nw": (-1, 1), "ne": (1, 1), "se": (1, -1), "sw": (-1, -1)}
    for name, (sx, sy) in corners.items():
        s[f"x_{name}"] = x + sx * half
        s[f"y_{name}"] = y + sy * half
    for name in corners:
        clon, clat = to_wgs.transform(s[f"x_{name}"].to_numpy(), s[f"y_{name}"].to_numpy())
        s[f"lon_{name}"] = np.round(clon, 7)
        s[f"lat_{name}"] = np.round(clat, 7)
    s["crs"] = crs.to_string()
    s["survey_year"] = pd.Series([pd.NA] * len(s), dtype="Int64")
    s["notes"] = ""
    squares = gpd.GeoDataFrame(s.copy(), geometry=[box(a - h, b - h, a + h, b + h) for a, b, h in zip(x, y, half)],
                               crs=crs)
    return s, squares


def sample_units(units_l2: xr.DataArray, x: np.ndarray, y: np.ndarray, nodata: int = UNITS_NODATA) -> np.ndarray:
    """Level-2 unit code at points (0 outside the raster, outside any unit or on nodata).

    Works lazily on dask-backed rasters (only the sampled pixels are read).
    """
    units_l2 = _as_2d(units_l2)
    t = units_l2.rio.transform()
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    col = np.floor((x - t.c) / t.a).astype(np.int64)
    row = np.floor((y - t.f) / t.e).astype(np.int64)
    h, w = units_l2.shape
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h) & np.isfinite(x) & np.isfinite(y)
    out = np.zeros(x.shape, dtype=np.int64)
    if inside.any():
        vals = units_l2.isel(y=xr.DataArray(row[inside], dims="p"), x=xr.DataArray(col[inside], dims="p"))
        v = np.nan_to_num(np.asarray(vals.values, dtype=float), nan=nodata).astype(np.int64)
        out[inside] = np.where(v == nodata, 0, v)
    return out


def count_plots_per_unit(units_l2: xr.DataArray, x: np.ndarray, y: np.ndarray, min_per_unit: int = 3,
                         nodata: int = UNITS_NODATA) -> pd.DataFrame:
    """Plots (by centre) in every level-2 unit, against the minimum of the standard.

    Returns
    -------
    pandas.DataFrame
        ``unit_l2, unit_l1, name_en, name_zh, area_ha, n_plots, min_per_unit,
        enough, short_by`` for every unit of the raster, plus a row with
        ``unit_l2`` 0 for plots outside every unit (when there are any).
    """
    units_l2 = _as_2d(units_l2)
    px_x, px_y = _pixel_size(units_l2)
    codes = np.asarray(units_l2.values).astype(np.int64)
    valid = (codes > 0) & (codes != nodata)
    present, counts_px = np.unique(codes[valid], return_counts=True)
    at = sample_units(units_l2, x, y, nodata)
    n_at = pd.Series(at).value_counts()
    rows = []
    for code, npx in zip(present.tolist(), counts_px.tolist()):
        k = int(n_at.get(code, 0))
        rows.append({"unit_l2": code, "unit_l1": code // 10, "name_en": unit_codes.unit_name(code, "en"),
                     "name_zh": unit_codes.unit_name(code, "zh"), "area_ha": npx * px_x * px_y / 10000.0,
                     "n_plots": k, "min_per_unit": min_per_unit, "enough": k >= min_per_unit,
                     "short_by": max(min_per_unit - k, 0)})
    outside = int(n_at.get(0, 0))
    if outside:
        rows.append({"unit_l2": 0, "unit_l1": 0, "name_en": "outside every unit", "name_zh": "单元外",
                     "area_ha": float("nan"), "n_plots": outside, "min_per_unit": 0, "enough": True,
                     "short_by": 0})
    return pd.DataFrame(rows, columns=["unit_l2", "unit_l1", "name_en", "name_zh", "area_ha", "n_plots",
                                       "min_per_unit", "enough", "short_by"])

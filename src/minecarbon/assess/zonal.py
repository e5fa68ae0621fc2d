"""Zonal statistics per assessment unit or any zone layer (the standard, section 5).

For every zone: ``count`` (valid pixels), ``mean``, ``min``, ``max``,
``variance`` (population variance, ddof = 0, i.e. divided by ``count``),
``std`` (its square root), ``sum`` (sum of the values) and ``sum_t`` = sum x
pixel area (ha) - the total in t C when the values are densities in t C/ha -
and ``area_ha`` (count x pixel area).  NaN values are skipped.

Zones are an integer raster on the values' grid, or polygons: a pixel belongs to
a polygon when its centre is inside it (GDAL's rasterisation rule), or, with
``all_touched=True``, when the polygon touches it.  Polygons are handled one by
one as ``rasterstats`` does, so overlapping polygons each count the shared
pixels (they are burnt on separate layers of non-intersecting polygons).

The kernel is one compiled pass (numba) over the pixels for count, sum, min and
max with per-thread accumulators, and a second pass for the sum of squared
deviations from the zone mean (two-pass variance, as exact as float64 allows).
Dask-backed inputs are reduced block by block and merged with the pairwise
formula of Chan, Golub & LeVeque (1979), so nothing is materialised whole.
"""

from __future__ import annotations

import logging

import dask
import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import xarray as xr

from ..errors import CRSError, GridError, InputError
from ._common import check_same_grid, describe, is_dask, pixel_size_m

log = logging.getLogger(__name__)

COLUMNS = ["zone", "count", "mean", "min", "max", "variance", "std", "sum", "sum_t", "area_ha"]
"""Columns of :func:`zonal_stats` tables (``variance`` is the population variance)."""

_MAX_DENSE_RANGE = 1 << 24


# ---------------------------------------------------------------------------
# compiled kernels (values of any float dtype, zones of any integer dtype: no copies)
# ---------------------------------------------------------------------------
_SKIP = np.iinfo(np.int64).min
"""Zone code that marks "no zone" for float zone rasters (NaN zones)."""


@numba.njit(cache=True, nogil=True)
def _accumulate(v, z, zmin, nz, ignore, lo, hi, cnt, s, m2, mn, mx):
    """count, sum, M2 (about the zone mean), min, max per zone over v[lo:hi], in one pass.

    Zones come in runs (neighbouring pixels share a zone).  Each run is
    reduced in registers - count, sum, min, max, then the squared deviations
    from the run's own mean while the run is still in cache - and merged into
    its zone's totals with the pairwise update of Chan, Golub & LeVeque
    (1979).  One read of the data, and no memory round trip per pixel.
    """
    i = lo
    while i < hi:
        c = z[i]
        j = i + 1
        while j < hi and z[j] == c:
            j += 1
        k = np.int64(c) - zmin
        if c != ignore and 0 <= k < nz:
            # four interleaved partial sums break the add-latency chain (a fixed, deterministic order)
            rc = 0
            s0 = s1 = s2 = s3 = 0.0
            rmn = np.inf
            rmx = -np.inf
            q = i
            while q + 4 <= j:
                x0 = np.float64(v[q])
                x1 = np.float64(v[q + 1])
                x2 = np.float64(v[q + 2])
                x3 = np.float64(v[q + 3])
                ok0, ok1, ok2, ok3 = x0 == x0, x1 == x1, x2 == x2, x3 == x3  # not NaN
                rc += ok0 + ok1 + ok2 + ok3
                s0 += x0 if ok0 else 0.0
                s1 += x1 if ok1 else 0.0
                s2 += x2 if ok2 else 0.0
                s3 += x3 if ok3 else 0.0
                rmn = min(rmn, min(min(x0 if ok0 else np.inf, x1 if ok1 else np.inf),
                                   min(x2 if ok2 else np.inf, x3 if ok3 else np.inf)))
                rmx = max(rmx, max(max(x0 if ok0 else -np.inf, x1 if ok1 else -np.inf),
                                   max(x2 if ok2 else -np.inf, x3 if ok3 else -np.inf)))
                q += 4
            while q < j:
                x = np.float64(v[q])
                if x == x:
                    rc += 1
                    s0 += x
                    rmn = min(rmn, x)
                    rmx = max(rmx, x)
                q += 1
            rs = (s0 + s1) + (s2 + s3)
            if rc > 0:
                rmean = rs / rc
                t0 = t1 = t2 = t3 = 0.0
                q = i
                while q + 4 <= j:
                    d0 = np.float64(v[q]) - rmean
                    d1 = np.float64(v[q + 1]) - rmean
                    d2 = np.float64(v[q + 2]) - rmean
                    d3 = np.float64(v[q + 3]) - rmean
                    t0 += d0 * d0 if d0 == d0 else 0.0
                    t1 += d1 * d1 if d1 == d1 else 0.0
                    t2 += d2 * d2 if d2 == d2 else 0.0
                    t3 += d3 * d3 if d3 == d3 else 0.0
                    q += 4
                while q < j:
                    d0 = np.float64(v[q]) - rmean
                    if d0 == d0:
                        t0 += d0 * d0
                    q += 1
                r2 = (t0 + t1) + (t2 + t3)
                na = cnt[k]
                if na == 0:
                    m2[k] = r2
                else:
                    delta = rmean - s[k] / na
                    m2[k] += r2 + delta * delta * (na * rc / (na + rc))
                cnt[k] = na + rc
                s[k] += rs
                mn[k] = min(mn[k], rmn)
                mx[k] = max(mx[k], rmx)
        i = j


@numba.njit(cache=True, parallel=True)
def _stats_parallel(v, z, zmin, nz, ignore, nchunks):
    n = v.size
    step = (n + nchunks - 1) // nchunks
    cnt = np.zeros((nchunks, nz), np.int64)
    s = np.zeros((nchunks, nz), np.float64)
    m2 = np.zeros((nchunks, nz), np.float64)
    mn = np.full((nchunks, nz), np.inf)
    mx = np.full((nchunks, nz), -np.inf)
    for c in numba.prange(nchunks):
        lo = c * step
        hi = min(n, lo + step)
        _accumulate(v, z, zmin, nz, ignore, lo, hi, cnt[c], s[c], m2[c], mn[c], mx[c])
    # merge the chunks (same pairwise update)
    tc = cnt[0].copy()
    ts = s[0].copy()
    tm2 = m2[0].copy()
    tmn = mn[0].copy()
    tmx = mx[0].copy()
    for c in range(1, nchunks):
        for k in range(nz):
            nb = cnt[c, k]
            if nb == 0:
                continue
            na = tc[k]
            if na == 0:
                tm2[k] = m2[c, k]
            else:
                delta = s[c, k] / nb - ts[k] / na
                tm2[k] += m2[c, k] + delta * delta * (na * nb / (na + nb))
            tc[k] = na + nb
            ts[k] += s[c, k]
            tmn[k] = min(tmn[k], mn[c, k])
            tmx[k] = max(tmx[k], mx[c, k])
    return tc, ts, tm2, tmn, tmx


@numba.njit(cache=True, nogil=True)
def _stats_serial(v, z, zmin, nz, ignore):
    cnt = np.zeros(nz, np.int64)
    s = np.zeros(nz, np.float64)
    m2 = np.zeros(nz, np.float64)
    mn = np.full(nz, np.inf)
    mx = np.full(nz, -np.inf)
    _accumulate(v, z, zmin, nz, ignore, np.int64(0), v.size, cnt, s, m2, mn, mx)  # int64 (not literal): one variant
    return cnt, s, m2, mn, mx


@numba.njit(cache=True, nogil=True)
def _range_chunk(z, ignore, lo, hi):
    a = np.iinfo(np.int64).max
    b = np.iinfo(np.int64).min
    for i in range(lo, hi):
        if z[i] == ignore:
            continue
        v = np.int64(z[i])
        a = min(a, v)
        b = max(b, v)
    return a, b


@numba.njit(cache=True, parallel=True)
def _range_parallel(z, ignore, nchunks):
    """(min, max) of the codes other than ``ignore`` (min > max when there is none)."""
    n = z.size
    step = (n + nchunks - 1) // nchunks
    lo_ = np.full(nchunks, np.iinfo(np.int64).max)
    hi_ = np.full(nchunks, np.iinfo(np.int64).min)
    for c in numba.prange(nchunks):
        lo_[c], hi_[c] = _range_chunk(z, ignore, c * step, min(n, c * step + step))
    return lo_.min(), hi_.max()


@numba.njit(cache=True, nogil=True)
def _range_serial(z, ignore, nchunks):
    return _range_chunk(z, ignore, 0, z.size)


# ---------------------------------------------------------------------------
# numpy level
# ---------------------------------------------------------------------------
def _int_zones(zones: np.ndarray, ignore_zone: int | None, what: str = "zones") -> tuple[np.ndarray, int]:
    """Zone codes as a flat integer array (a view when possible) and the code to skip.

    Float zones (e.g. a raster read with NaN nodata) become int64 with NaN -> the skip code; the
    ignored zone, if any, is mapped to the skip code as well.
    """
    z = np.asarray(zones)
    if z.dtype == bool or (np.issubdtype(z.dtype, np.integer) and z.dtype.itemsize < 4):
        z = z.astype(np.int32)  # few compiled variants: int32 and int64 zones only
    elif z.dtype == np.uint32 or z.dtype == np.uint64:
        if z.size and z.max() > np.iinfo(np.int64).max:
            raise InputError(f"{what} has codes above {np.iinfo(np.int64).max}; recode the zones.")
        z = z.astype(np.int64)
    if np.issubdtype(z.dtype, np.integer):
        z = np.ascontiguousarray(z).ravel()
        info = np.iinfo(z.dtype)
        if ignore_zone is None or not info.min <= ignore_zone <= info.max:
            return z, _SKIP  # the int64 minimum is never taken as a zone code
        return z, int(ignore_zone)
    if not np.issubdtype(z.dtype, np.floating):
        raise InputError(f"{what} must be integer codes, not {z.dtype}. Use an integer zone raster "
                         f"or give polygons.")
    ok = np.isfinite(z)
    zi = np.where(ok, z, 0)
    if np.any(zi != np.round(zi)):
        raise InputError(f"{what} contains non-integer values (e.g. {zi[zi != np.round(zi)][0]}); zones "
                         f"must be integer codes. Use a classified zone raster.")
    zi = zi.astype(np.int64)
    zi[~ok] = _SKIP
    if ignore_zone is not None:
        zi[zi == ignore_zone] = _SKIP
    return zi.ravel(), _SKIP


def _nchunks(n: int) -> int:
    return max(1, min(4 * numba.get_num_threads(), n // (1 << 14)))


def _zone_range(zones, ignore_zone: int | None, parallel: bool = True) -> tuple[int, int] | None:
    """(min, max) of the zone codes other than ``ignore_zone``; None when there is none."""
    z, skip = _int_zones(zones, ignore_zone)
    if z.size == 0:
        return None
    lo, hi = int(z.min()), int(z.max())  # vectorised; may include the skipped code
    if lo == hi == skip:
        return None
    if hi - lo >= _MAX_DENSE_RANGE or lo == skip or hi == skip:
        rng = _range_parallel if parallel else _range_serial
        lo, hi = rng(z, skip, _nchunks(z.size))  # exact, without the skipped code
    if lo > hi:
        return None
    return int(lo), int(hi)


def _block_partials(values: np.ndarray, zones: np.ndarray, zmin: int, nz: int, ignore_zone: int | None,
                    parallel: bool) -> tuple[np.ndarray, ...]:
    """(count, sum, M2, min, max) per dense zone index 0..nz-1 (code - zmin) for one block."""
    v = np.asarray(values)
    if v.dtype not in (np.float32, np.float64):  # few compiled variants: float32 and float64 values only
        v = v.astype(np.float64)
    v = np.ascontiguousarray(v).ravel()
    z, skip = _int_zones(zones, ignore_zone)
    if parallel and v.size >= 1 << 16:
        return _stats_parallel(v, z, np.int64(zmin), nz, skip, _nchunks(v.size))
    return _stats_serial(v, z, np.int64(zmin), nz, skip)


def _merge(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Merge two partial results (Chan, Golub & LeVeque 1979 pairwise update of M2)."""
    ca, sa, m2a, mna, mxa = a
    cb, sb, m2b, mnb, mxb = b
    c = ca + cb
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a = np.where(ca > 0, sa / np.maximum(ca, 1), 0.0)
        mean_b = np.where(cb > 0, sb / np.maximum(cb, 1), 0.0)
        delta = mean_b - mean_a
        m2 = m2a + m2b + np.where(c > 0, delta * delta * ca * cb / np.maximum(c, 1), 0.0)
    return c, sa + sb, m2, np.minimum(mna, mnb), np.maximum(mxa, mxb)


def _table(parts: tuple[np.ndarray, ...], zmin: int, pixel_area_ha: float) -> pd.DataFrame:
    cnt, s, m2, mn, mx = parts
    idx = np.flatnonzero(cnt > 0)
    c = cnt[idx].astype(np.float64)
    mean = s[idx] / c
    var = m2[idx] / c
    df = pd.DataFrame({
        "zone": (idx + zmin).astype(np.int64),
        "count": cnt[idx].astype(np.int64),
        "mean": mean,
        "min": mn[idx],
        "max": mx[idx],
        "variance": var,
        "std": np.sqrt(var),
        "sum": s[idx],
        "sum_t": s[idx] * pixel_area_ha,
        "area_ha": c * pixel_area_ha,
    })
    return df[COLUMNS]


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def zonal_stats(values, zones, pixel_area_ha: float | None = None, ignore_zone: int | None = 0) -> pd.DataFrame:
    """count, mean, min, max, population variance, std, sum and totals per zone.

    Parameters
    ----------
    values : (y, x) array or DataArray (numpy- or dask-backed), e.g. AGC in t C/ha; NaN = nodata.
    zones : integer zone codes on the same grid (array or DataArray); NaN zones (float) have no zone.
    pixel_area_ha : area of one pixel in hectares; default: from the DataArray's transform
        (CRS units taken as metres).
    ignore_zone : code that means "no zone" (default 0); None to keep every code.

    Returns
    -------
    DataFrame with :data:`COLUMNS`, one row per zone with at least one valid pixel, sorted by zone.
    ``sum_t`` = sum x ``pixel_area_ha`` (t C when the values are t C/ha).

    Raises
    ------
    GridError
        ``values`` and ``zones`` are not on the same grid.
    InputError
        Zones are not integer codes.
    """
    if isinstance(values, xr.DataArray) and isinstance(zones, xr.DataArray):
        check_same_grid(values, zones, "values", "zones")
    elif np.shape(values)[-2:] != np.shape(zones)[-2:]:
        raise GridError(f"values have shape {np.shape(values)} but zones {np.shape(zones)}; they must be on "
                        f"the same grid.")
    if pixel_area_ha is None:
        if not isinstance(values, xr.DataArray):
            raise InputError("pixel_area_ha is needed when values are a plain array.")
        px, py = pixel_size_m(values)
        pixel_area_ha = px * py / 10_000.0
    vdata = values.data if isinstance(values, xr.DataArray) else values
    zdata = zones.data if isinstance(zones, xr.DataArray) else zones
    lazy = hasattr(vdata, "dask") or hasattr(zdata, "dask")
    if not lazy:
        rng = _zone_range(np.asarray(zdata), ignore_zone)
        if rng is None:
            return pd.DataFrame(columns=COLUMNS)
        zmin, zmax = rng
        if zmax - zmin >= _MAX_DENSE_RANGE:
            return _sparse_codes(np.asarray(vdata), np.asarray(zdata), ignore_zone, pixel_area_ha)
        parts = _block_partials(np.asarray(vdata), np.asarray(zdata), zmin, zmax - zmin + 1, ignore_zone,
                                parallel=True)
        return _table(parts, zmin, pixel_area_ha)
    return _zonal_dask(vdata, zdata, ignore_zone, pixel_area_ha)


def _sparse_codes(v: np.ndarray, z: np.ndarray, ignore_zone, pixel_area_ha: float) -> pd.DataFrame:
    """Zones whose codes span too wide a range for a dense table: recode through np.unique."""
    zi, skip = _int_zones(z, ignore_zone)
    keep = zi != skip
    codes, inv = np.unique(zi[keep], return_inverse=True)
    dense = np.full(zi.shape, -1, dtype=np.int64)
    dense[keep] = inv
    parts = _block_partials(v, dense, 0, codes.size, -1, parallel=True)
    df = _table(parts, 0, pixel_area_ha)
    df["zone"] = codes[df["zone"].to_numpy()]
    return df


def _zonal_dask(vdata, zdata, ignore_zone, pixel_area_ha: float) -> pd.DataFrame:
    import dask.array as dsa

    v = vdata if hasattr(vdata, "dask") else dsa.from_array(np.asarray(vdata), chunks=2048)
    z = zdata if hasattr(zdata, "dask") else dsa.from_array(np.asarray(zdata), chunks=v.chunks)
    z = z.rechunk(v.chunks)

    def _rng(block):
        r = _zone_range(block, ignore_zone, parallel=False)
        return np.array([r if r else (np.iinfo(np.int64).max, np.iinfo(np.int64).min)], dtype=np.int64)

    ranges = [dask.delayed(_rng)(b) for b in z.to_delayed().ravel()]
    ranges = np.concatenate(dask.compute(*ranges))
    zmin, zmax = int(ranges[:, 0].min()), int(ranges[:, 1].max())
    if zmin > zmax:
        return pd.DataFrame(columns=COLUMNS)
    if zmax - zmin >= _MAX_DENSE_RANGE:
        raise InputError(f"zone codes span {zmin}..{zmax}; recode the zones to a compact range "
                         f"(fewer than {_MAX_DENSE_RANGE} codes) for chunked zonal statistics.")
    nz = zmax - zmin + 1
    parts = [dask.delayed(_block_partials)(vb, zb, zmin, nz, ignore_zone, False)
             for vb, zb in zip(v.to_delayed().ravel(), z.to_delayed().ravel())]
    while len(parts) > 1:  # tree reduction
        parts = [dask.delayed(_merge)(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    (merged,) = dask.compute(parts[0])
    return _table(merged, zmin, pixel_area_ha)


def zones_to_layers(gdf: gpd.GeoDataFrame, template: xr.DataArray, all_touched: bool = False
                    ) -> list[np.ndarray]:
    """Burn polygons as 1-based feature numbers (row order) on layers of non-intersecting polygons.

    Each returned int32 raster holds the number (1..len(gdf)) of the polygon
    covering each pixel (0 = none).  Polygons that intersect (overlap or touch)
    go to different layers, so every polygon gets exactly the pixels it would
    get on its own.
    """
    from shapely.strtree import STRtree

    from ..grid import rasterize

    geoms = list(gdf.geometry)
    tree = STRtree(geoms)
    layer_of = np.full(len(geoms), -1, dtype=np.int64)
    n_layers = 0
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        taken = {layer_of[j] for j in tree.query(g, predicate="intersects") if j != i and layer_of[j] >= 0}
        k = 0
        while k in taken:
            k += 1
        layer_of[i] = k
        n_layers = max(n_layers, k + 1)
    layers = []
    for k in range(n_layers):
        sel = np.flatnonzero(layer_of == k)
        layers.append(rasterize(gdf.iloc[sel], template, values=sel + 1, dtype="int32",
                                all_touched=all_touched))
    return layers


def polygon_zonal_stats(values: xr.DataArray, polygons: gpd.GeoDataFrame, field: str | None = None,
                        all_touched: bool = False, pixel_area_ha: float | None = None) -> pd.DataFrame:
    """Zonal statistics of a raster for each polygon (or each value of ``field``).

    Parameters
    ----------
    values : (y, x) DataArray with a CRS (numpy- or dask-backed).
    polygons : polygon layer; reprojected to the raster's CRS when it is in another one.
    field : attribute naming the zones; polygons sharing a value form one zone (a pixel counts
        once). Default: one zone per polygon, labelled by its row number (0-based).
    all_touched : count every pixel a polygon touches, not only those whose centre is inside.
    pixel_area_ha : see :func:`zonal_stats`.

    Returns
    -------
    DataFrame with :data:`COLUMNS`; ``zone`` holds the field value (or the row number).
    Zones without any valid pixel are listed with count 0.

    Raises
    ------
    CRSError
        The layer has no CRS.
    InputError
        ``field`` is not an attribute of the layer.
    GridError
        No polygon overlaps the raster.
    """
    if polygons.crs is None:
        raise CRSError("The zone layer has no CRS. Set it (QGIS: Layer > Set CRS; or ogr2ogr -a_srs) so it "
                       "can be matched to the raster.")
    rcrs = values.rio.crs
    if len(polygons) and polygons.crs.is_geographic:
        x0, y0, x1, y1 = polygons.total_bounds
        if min(x0, x1) < -360 or max(x0, x1) > 360 or min(y0, y1) < -90 or max(y0, y1) > 90:
            raise CRSError(f"The zone layer says it is in {polygons.crs.to_string()} (degrees) but its "
                           f"coordinates ({x0:.1f}, {y0:.1f} .. {x1:.1f}, {y1:.1f}) are not longitudes and "
                           f"latitudes: its CRS (.prj) is wrong. Assign the right one (QGIS: Layer > Set CRS; "
                           f"or ogr2ogr -a_srs EPSG:XXXX) - probably the raster's, {rcrs}.")
    if rcrs is not None and not polygons.crs.equals(rcrs):
        log.info("zone layer reprojected from %s to %s", polygons.crs, rcrs)
        polygons = polygons.to_crs(rcrs)
    if field is not None and field not in polygons.columns:
        raise InputError(f"The zone layer has no attribute {field!r} (it has: "
                         f"{', '.join(c for c in polygons.columns if c != 'geometry')}). Pick one with --field.")
    l, b, r, t = values.rio.bounds()
    minx, miny, maxx, maxy = polygons.total_bounds
    if len(polygons) == 0 or maxx <= l or minx >= r or maxy <= b or miny >= t:
        raise GridError(f"No zone polygon overlaps {describe(values, 'the raster')} (raster bounds {l:.1f}, "
                        f"{b:.1f}, {r:.1f}, {t:.1f}; zones {minx:.1f}, {miny:.1f}, {maxx:.1f}, {maxy:.1f}). "
                        f"Check the CRS of both and that they cover the same place.")
    polygons = polygons.reset_index(drop=True)
    if field is not None:
        labels = polygons[field]
        keys = pd.unique(labels)
        dissolved = polygons.dissolve(by=field, as_index=False, sort=False)
        dissolved = dissolved.set_index(field).loc[keys].reset_index()
        layers = zones_to_layers(dissolved, values, all_touched)
        label_values = list(keys)
    else:
        layers = zones_to_layers(polygons, values, all_touched)
        label_values = list(range(len(polygons)))
    frames = []
    for layer in layers:
        zda = values.copy(data=layer)
        if is_dask(values):
            zda = zda.chunk(dict(zip(values.dims, values.chunks)))
        frames.append(zonal_stats(values, zda, pixel_area_ha, ignore_zone=0))
    found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    found = found.set_index("zone")
    rows = []
    for i, lab in enumerate(label_values):
        if i + 1 in found.index:
            row = found.loc[i + 1].to_dict()
        else:
            row = {c: (0 if c in ("count",) else (0.0 if c in ("sum", "sum_t", "area_ha") else np.nan))
                   for c in COLUMNS if c != "zone"}
        rows.append({"zone": lab, **row})
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["count"] = out["count"].astype(np.int64)
    return out

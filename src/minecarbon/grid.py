"""The project grid: every raster is aligned to it before any computation.

The grid is the pixel grid of the reference image (the base-year image),
cropped to the bounding box of the monitoring area (mine boundary + buffer),
snapped outwards to whole pixels.  Rasters on the same CRS and pixel lattice
are cropped by index (lazy, no resampling); any other raster is reprojected
with rioxarray (nearest for categories, bilinear for continuous values).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import rasterio.features
import xarray as xr
from affine import Affine
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from .errors import GridError


def monitoring_area(boundary: gpd.GeoDataFrame, buffer_m: float) -> gpd.GeoDataFrame:
    """Mining-right boundary dissolved and buffered by ``buffer_m`` metres."""
    geom = boundary.geometry.union_all() if hasattr(boundary.geometry, "union_all") \
        else boundary.geometry.unary_union
    area = geom.buffer(buffer_m)
    return gpd.GeoDataFrame({"name": ["monitoring area"], "buffer_m": [buffer_m]},
                            geometry=[area], crs=boundary.crs)


def grid_from_reference(ref: xr.DataArray, bounds: tuple[float, float, float, float]) -> xr.DataArray:
    """A (y, x) float32 template on ``ref``'s lattice covering ``bounds`` (snapped outwards)."""
    t: Affine = ref.rio.transform()
    if t.b != 0 or t.d != 0:
        raise GridError(f"Reference image {ref.attrs.get('source_path', '')} is rotated; "
                        f"warp it to a north-up grid first (gdalwarp).")
    res_x, res_y = t.a, -t.e
    minx, miny, maxx, maxy = bounds
    left = t.c + math.floor((minx - t.c) / res_x) * res_x
    top = t.f - math.floor((t.f - maxy) / res_y) * res_y
    right = t.c + math.ceil((maxx - t.c) / res_x) * res_x
    bottom = t.f - math.ceil((t.f - miny) / res_y) * res_y
    width = int(round((right - left) / res_x))
    height = int(round((top - bottom) / res_y))
    transform = from_origin(left, top, res_x, res_y)
    xs = left + (np.arange(width) + 0.5) * res_x
    ys = top - (np.arange(height) + 0.5) * res_y
    tmpl = xr.DataArray(np.zeros((height, width), dtype=np.float32), dims=("y", "x"),
                        coords={"y": ys, "x": xs})
    # in place: rioxarray's copies are deep, and a copy of the zeros is a grid-sized array written to memory
    # (the zeros themselves stay untouched pages that are never resident)
    tmpl.rio.write_crs(ref.rio.crs, inplace=True).rio.write_transform(transform, inplace=True)
    return tmpl


def pixel_area_m2(template: xr.DataArray) -> float:
    t = template.rio.transform()
    return abs(t.a * t.e)


def align(da: xr.DataArray, template: xr.DataArray, categorical: bool = False) -> xr.DataArray:
    """Align ``da`` (band, y, x) or (y, x) to the template grid.

    Same CRS and lattice: an index crop (stays lazy).  Otherwise: reproject
    (nearest for categorical, bilinear otherwise).
    """
    t_src: Affine = da.rio.transform()
    t_dst: Affine = template.rio.transform()
    same_crs = da.rio.crs is not None and da.rio.crs == template.rio.crs
    same_res = np.isclose(t_src.a, t_dst.a) and np.isclose(t_src.e, t_dst.e)
    if same_crs and same_res:
        col0 = (t_dst.c - t_src.c) / t_src.a
        row0 = (t_dst.f - t_src.f) / t_src.e
        if np.isclose(col0, round(col0), atol=1e-6) and np.isclose(row0, round(row0), atol=1e-6):
            c0, r0 = int(round(col0)), int(round(row0))
            h, w = template.shape[-2:]
            if c0 >= 0 and r0 >= 0 and c0 + w <= da.sizes["x"] and r0 + h <= da.sizes["y"]:
                out = da.isel(x=slice(c0, c0 + w), y=slice(r0, r0 + h))
                return out.assign_coords(x=template.x.values, y=template.y.values)
    resampling = Resampling.nearest if categorical else Resampling.bilinear
    return _reproject(da, template, resampling)


def rasterize(gdf: gpd.GeoDataFrame, template: xr.DataArray, values=None, fill: int = 0,
              dtype: str = "int32", all_touched: bool = False) -> np.ndarray:
    """Burn polygons into the template grid (pixel-centre rule unless ``all_touched``).

    Later features overwrite earlier ones; sort the frame to set precedence.
    """
    h, w = template.shape[-2:]
    if gdf is None or len(gdf) == 0:
        return np.full((h, w), fill, dtype=dtype)
    if values is None:
        values = np.ones(len(gdf), dtype=dtype)
    shapes = [(g, int(v)) for g, v in zip(gdf.geometry, values) if g is not None and not g.is_empty]
    if not shapes:
        return np.full((h, w), fill, dtype=dtype)
    return rasterio.features.rasterize(shapes, out_shape=(h, w), transform=template.rio.transform(),
                                       fill=fill, dtype=dtype, all_touched=all_touched)


def align_to(da: xr.DataArray, template: xr.DataArray, resampling: Resampling = Resampling.bilinear) -> xr.DataArray:
    """Put a (y, x) raster on ``template``'s grid.

    On the same CRS and pixel lattice: crop by index and pad with NaN where the
    raster does not reach (lazy for dask).  Otherwise: reproject with
    ``resampling`` (rioxarray).
    """
    t_src: Affine = da.rio.transform()
    t_dst: Affine = template.rio.transform()
    h, w = template.shape[-2:]
    same_crs = da.rio.crs is not None and da.rio.crs == template.rio.crs
    if same_crs and np.isclose(t_src.a, t_dst.a) and np.isclose(t_src.e, t_dst.e) and t_src.b == 0 and t_src.d == 0:
        col0 = (t_dst.c - t_src.c) / t_src.a
        row0 = (t_dst.f - t_src.f) / t_src.e
        if np.isclose(col0, round(col0), atol=1e-6) and np.isclose(row0, round(row0), atol=1e-6):
            c0, r0 = round(col0), round(row0)
            ny, nx = da.sizes["y"], da.sizes["x"]
            ys = slice(min(max(r0, 0), ny), min(max(r0 + h, 0), ny))
            xs = slice(min(max(c0, 0), nx), min(max(c0 + w, 0), nx))
            sub = da.isel(y=ys, x=xs)
            top, left = max(0, -r0), max(0, -c0)
            bottom, right = h - top - sub.sizes["y"], w - left - sub.sizes["x"]
            if top or left or bottom or right:
                sub = sub.astype("float32").pad(y=(top, bottom), x=(left, right), constant_values=np.nan)
            out = sub.assign_coords(x=template.x.values, y=template.y.values)
            return out.rio.write_transform(t_dst).rio.write_crs(template.rio.crs)
    return _reproject(da, template, resampling)


BLOCKWISE_SOURCE_MAX_BYTES = 32 * 2**20
"""A source up to this size (e.g. a climate grid of about 1 km) is warped chunk by chunk of a dask template."""


def _reproject(da: xr.DataArray, template: xr.DataArray, resampling: Resampling) -> xr.DataArray:
    """``da`` (y, x) warped onto ``template``'s grid.

    A dask-backed template, a small source (:data:`BLOCKWISE_SOURCE_MAX_BYTES`) in the template's CRS: lazily,
    one ``rasterio.warp.reproject`` per template chunk into that chunk's window, so memory follows the chunk
    size and not the grid (a 5000 x 5000 grid of 20 climate years is 8 GB as one float64 array).  In one CRS
    the pixel-to-pixel transform is affine and exact, so the warp of a window equals the warp of the whole
    grid at its pixels (tests).  Across CRSs GDAL approximates the transform over each warped window (error
    up to 0.125 source pixels), so windows would not equal the whole; such sources are warped whole, in
    memory, with rioxarray's ``reproject_match``, as is everything else.
    """
    chunks = getattr(template.data, "chunks", None)
    if chunks is None or da.ndim != 2 or da.nbytes > BLOCKWISE_SOURCE_MAX_BYTES or da.rio.crs is None \
            or da.rio.crs != template.rio.crs:
        out = da.rio.reproject_match(template, resampling=resampling)
        return out.assign_coords(x=template.x.values, y=template.y.values)
    import dask.array as dsa

    src = np.asarray(da.values)
    dtype = src.dtype if np.issubdtype(src.dtype, np.floating) else np.dtype("float64")
    nodata = da.rio.nodata if da.rio.nodata is not None else da.rio.encoded_nodata
    data = dsa.map_blocks(_warp_block, dsa.zeros(template.shape, chunks=chunks, dtype=np.uint8), dtype=dtype,
                          meta=np.array((), dtype=dtype), src=src, src_transform=da.rio.transform(),
                          src_crs=da.rio.crs, dst_transform=template.rio.transform(), dst_crs=template.rio.crs,
                          src_nodata=nodata, resampling=resampling)
    out = xr.DataArray(data, dims=("y", "x"), coords={"y": template.y.values, "x": template.x.values},
                       attrs=dict(da.attrs))
    out = out.rio.write_crs(template.rio.crs).rio.write_transform(template.rio.transform())
    return out.rio.write_nodata(np.nan, encoded=False)


def _warp_block(dummy: np.ndarray, src: np.ndarray, src_transform: Affine, src_crs, dst_transform: Affine,
                dst_crs, src_nodata, resampling: Resampling, block_info=None) -> np.ndarray:
    """One template chunk of :func:`_reproject` (a top-level function: the graph pickles for a cluster)."""
    from rasterio.warp import reproject

    (r0, _), (c0, _) = block_info[0]["array-location"]
    out = np.full(dummy.shape, np.nan, dtype=block_info[None]["dtype"])
    reproject(src, out, src_transform=src_transform, src_crs=src_crs,
              dst_transform=dst_transform * Affine.translation(c0, r0), dst_crs=dst_crs,
              src_nodata=src_nodata, dst_nodata=np.nan, resampling=resampling)
    return out


def pad_template(tmpl: xr.DataArray, margin: int) -> xr.DataArray:
    """The template grid widened by ``margin`` pixels on every side."""
    if margin <= 0:
        return tmpl
    t: Affine = tmpl.rio.transform()
    h, w = tmpl.shape[-2:]
    transform = t * Affine.translation(-margin, -margin)
    xs = transform.c + (np.arange(w + 2 * margin) + 0.5) * transform.a
    ys = transform.f + (np.arange(h + 2 * margin) + 0.5) * transform.e
    out = xr.DataArray(np.zeros((h + 2 * margin, w + 2 * margin), np.float32), dims=("y", "x"),
                       coords={"y": ys, "x": xs})
    return out.rio.write_crs(tmpl.rio.crs, inplace=True).rio.write_transform(transform, inplace=True)

"""Bad inputs of issue 17, applied to a copy of the tiny simulated project (seed 7).

Each mutation takes the project folder and changes one input in place, the
way a user's mistake would.  Used by tests/pipeline/test_run_validates.py and
the fuzz suite.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from shapely.geometry import Polygon

INPUTS = "inputs"


def copy_project(src: Path, dst: Path, workspace: bool = True) -> Path:
    """Copy a simulated project (inputs, project file, optionally the workspace of a full run)."""
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "minecarbon.toml", dst / "minecarbon.toml")
    shutil.copytree(src / "inputs", dst / "inputs")
    if (src / "truth").is_dir():
        shutil.copytree(src / "truth", dst / "truth")
    if workspace and (src / "workspace").is_dir():
        shutil.copytree(src / "workspace", dst / "workspace", symlinks=True)
    return dst / "minecarbon.toml"


def set_toml(root: Path, section: str, key: str, value: str) -> None:
    """Set ``key = value`` (TOML text) in ``[section]`` of the project file."""
    p = root / "minecarbon.toml"
    text = p.read_text(encoding="utf-8")
    head = f"[{section}]\n"
    if head not in text:
        text += f"\n{head}{key} = {value}\n"
    else:
        start = text.index(head) + len(head)
        nxt = re.search(r"^\[", text[start:], flags=re.M)
        end = start + nxt.start() if nxt else len(text)
        body = text[start:end]
        if re.search(rf"^{re.escape(key)}\s*=", body, flags=re.M):
            body = re.sub(rf"^{re.escape(key)}\s*=.*$", lambda m: f"{key} = {value}", body, count=1, flags=re.M)
        else:
            body = f"{key} = {value}\n" + body
        text = text[:start] + body + text[end:]
    p.write_text(text, encoding="utf-8")


def edit_raster(path: Path, fn, dtype: str | None = None) -> None:
    """Rewrite a raster with ``fn(array, profile) -> array`` applied to band 1..n (same georeferencing)."""
    with rasterio.open(path) as src:
        arr = src.read()
        profile = src.profile.copy()
        desc = src.descriptions
    arr = fn(arr, profile)
    if dtype:
        profile["dtype"] = dtype
        arr = arr.astype(dtype)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr)
        for i, d in enumerate(desc, start=1):
            if d:
                dst.set_band_description(i, d)


# -- the examples of issue 17 -------------------------------------------------------------------
def trees_header_only(root: Path) -> None:
    p = root / INPUTS / "field" / "trees.csv"
    p.write_text(p.read_text(encoding="utf-8-sig").splitlines()[0] + "\n", encoding="utf-8")


def forest_code(root: Path, code: int, year: int = 2005) -> None:
    """Forest pixels of one forest-type map recoded to ``code`` (not one of [forest_type_codes])."""
    def fn(a, profile):
        a = a.astype("int16")
        a[(a >= 1) & (a <= 4)] = code
        profile["nodata"] = -9999
        return a
    edit_raster(root / INPUTS / "forest_type" / f"forest_type_{year}.tif", fn, dtype="int16")


def boundary_points(root: Path) -> None:
    p = root / INPUTS / "boundary.gpkg"
    gdf = gpd.read_file(p)
    pts = gdf.copy()
    pts["geometry"] = gdf.geometry.representative_point()
    pts.to_file(p, driver="GPKG")


def boundary_self_intersecting(root: Path) -> None:
    """The boundary as a bow-tie: its ring visits the corners in the wrong order."""
    p = root / INPUTS / "boundary.gpkg"
    gdf = gpd.read_file(p)
    x0, y0, x1, y1 = gdf.total_bounds
    gdf = gdf.iloc[:1].copy()
    gdf["geometry"] = [Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])]
    gdf.to_file(p, driver="GPKG")


def boundary_empty(root: Path) -> None:
    p = root / INPUTS / "boundary.gpkg"
    gdf = gpd.read_file(p)
    gdf.iloc[:0].to_file(p, driver="GPKG")


def disturbance_wrong_crs_label(root: Path) -> None:
    """UTM coordinates labelled EPSG:4326."""
    p = root / INPUTS / "disturbance.gpkg"
    gdf = gpd.read_file(p).set_crs(4326, allow_override=True)
    gdf.to_file(p, driver="GPKG")


def disturbance_empty_first_layer(root: Path) -> None:
    p = root / INPUTS / "disturbance.gpkg"
    gdf = gpd.read_file(p)
    p.unlink()
    gdf.iloc[:0].to_file(p, driver="GPKG", layer="aaa_empty")
    gdf.to_file(p, driver="GPKG", layer="disturbance")


def dem_all_nan(root: Path) -> None:
    edit_raster(root / INPUTS / "dem.tif", lambda a, p: np.full_like(a, np.nan))


def dem_huge(root: Path) -> None:
    def fn(a, profile):
        a = a.copy()
        a[..., ::7, ::5] = 1e30
        return a
    edit_raster(root / INPUTS / "dem.tif", fn)


def images_scale_zero(root: Path) -> None:
    set_toml(root, "images", "scale", "0")


def images_already_scaled(root: Path) -> None:
    """Every image delivered as reflectance 0-1 (float), project file still with the DN scale."""
    for p in sorted((root / INPUTS / "images").glob("*.tif")):
        def fn(a, profile):
            out = np.where(a == 0, np.nan, a * 2.75e-05 - 0.2).astype("float32")
            profile["nodata"] = None
            return out
        edit_raster(p, fn, dtype="float32")


def climate_inf(root: Path, year: int = 2006) -> None:
    def fn(a, profile):
        a = a.copy()
        a[..., 0, 0] = np.inf
        return a
    edit_raster(root / INPUTS / "climate" / f"tmean_{year}.tif", fn)


EXAMPLES = {
    "trees_header_only": (trees_header_only, "plots", "trees.csv"),
    "forest_code_7": (lambda r: forest_code(r, 7), "units", "forest_type_2005.tif"),
    "forest_code_minus1": (lambda r: forest_code(r, -1), "units", "forest_type_2005.tif"),
    "boundary_points": (boundary_points, "units", "boundary.gpkg"),
    "boundary_self_intersecting": (boundary_self_intersecting, "units", "boundary.gpkg"),
    "boundary_empty": (boundary_empty, "units", "boundary.gpkg"),
    "disturbance_wrong_crs_label": (disturbance_wrong_crs_label, "units", "disturbance.gpkg"),
    "disturbance_empty_first_layer": (disturbance_empty_first_layer, "units", "disturbance.gpkg"),
    "dem_all_nan": (dem_all_nan, "features", "dem.tif"),
    "dem_huge": (dem_huge, "features", "dem.tif"),
    "images_scale_zero": (images_scale_zero, "features", "LC08_SR_"),
    "images_already_scaled": (images_already_scaled, "features", "LC08_SR_"),
    "climate_inf": (climate_inf, "assess", "tmean_2006.tif"),
}
"""name -> (mutation, the stage that reads the file, text the error must name)."""


def als_tile_in_degrees(root: Path) -> None:
    """One ALS tile with longitude/latitude coordinates, its header still saying UTM 49N."""
    import laspy
    from pyproj import Transformer

    p = sorted((root / INPUTS / "als").glob("*.laz"))[0]
    las = laspy.read(p)
    lon, lat = Transformer.from_crs(32649, 4326, always_xy=True).transform(np.asarray(las.x), np.asarray(las.y))
    las.header.offsets = [float(np.min(lon)), float(np.min(lat)), las.header.offsets[2]]
    las.header.scales = [1e-7, 1e-7, las.header.scales[2]]
    las.x, las.y = lon, lat
    las.write(p)


EXAMPLES["als_tile_in_degrees"] = (als_tile_in_degrees, "lidar", "als_380_4098.laz")


def flip_bytes_silently(path: Path, n: int = 256, seed: int = 0) -> int:
    """XOR ``n`` bytes inside the compressed data of a GeoTIFF such that GDAL still reads it without error.

    Returns the offset of the first flipped byte.  Tries positions until the
    damaged file decodes silently to other values (as in issue 17).
    """
    orig = path.read_bytes()
    with rasterio.open(path) as src:
        good = src.read()
        start = int(src.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1))
        size = int(src.get_tag_item("BLOCK_SIZE_0_0", "TIFF", bidx=1))
    rng = np.random.default_rng(seed)
    for _ in range(200):
        data = bytearray(orig)
        at = int(rng.integers(start + 64, start + max(size - n, 65)))
        for i in range(at, at + n):
            data[i] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(data))
        try:
            with rasterio.open(path) as src:
                if (src.read() != good).any():
                    return at
        except rasterio.errors.RasterioError:
            pass
    raise AssertionError("no silent corruption found")


def image_flipped(root: Path, year: int = 2010) -> None:
    flip_bytes_silently(root / INPUTS / "images" / f"LC08_SR_{year}.tif")


def dem_truncated(root: Path) -> None:
    p = root / INPUTS / "dem.tif"
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * 0.6)])


EXAMPLES["image_flipped_bytes"] = (image_flipped, "features", "LC08_SR_2010.tif")
EXAMPLES["dem_truncated"] = (dem_truncated, "features", "dem.tif")


def tallied_scan(root: Path) -> Path:
    """The first TLS scan of a plot that has a tape tally."""
    import pandas as pd

    tallied = set(pd.read_csv(root / INPUTS / "field" / "tally.csv", encoding="utf-8-sig")["plot_id"].astype(str))
    return next(p for p in sorted((root / INPUTS / "tls").glob("*.laz")) if p.stem in tallied)


def _edit_scan(root: Path, fn) -> None:
    import laspy

    p = tallied_scan(root)
    las = laspy.read(p)
    xyz = np.column_stack([np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)])
    keep, xyz = fn(xyz)
    las.points = las.points[keep]
    las.x, las.y, las.z = xyz[keep, 0], xyz[keep, 1], xyz[keep, 2]
    las.update_header()
    las.write(p)


def tls_in_feet(root: Path) -> None:
    """The scan of a tallied plot exported in feet."""
    _edit_scan(root, lambda xyz: (np.ones(len(xyz), bool), xyz * 3.28084))


def tls_lower_part_cut(root: Path) -> None:
    """The scan of a tallied plot without its lower 40 % (no ground)."""
    def fn(xyz):
        z0, z1 = xyz[:, 2].min(), xyz[:, 2].max()
        return xyz[:, 2] >= z0 + 0.4 * (z1 - z0), xyz
    _edit_scan(root, fn)


EXAMPLES_LIDAR = {
    "tls_in_feet": (tls_in_feet, "lidar", ".laz"),
    "tls_lower_part_cut": (tls_lower_part_cut, "lidar", ".laz"),
}
"""Bad scans found by the lidar stage itself (not by check): name -> (mutation, stage, text the error names)."""

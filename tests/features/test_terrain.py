"""Terrain variables against gdaldem, hand-computed 3 x 3 cases and exact quadratic surfaces."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from minecarbon.errors import CRSError, InputError
from minecarbon.features import TERRAIN, terrain, terrain_variables

from .conftest import make_raster, smooth_field

Z3 = np.array([[50, 45, 50], [30, 30, 30], [8, 10, 10]], dtype=float)


def centre(var, z=Z3, res=10.0):
    return float(terrain(make_raster(z, res=res), var).values[1, 1])


def test_hand_3x3():
    # Horn: dz/dx = ((c + 2f + i) - (a + 2d + g)) / (8 res), dz/dy (north) = ((a + 2b + c) - (g + 2h + i)) / (8 res)
    dzdx = ((50 + 60 + 10) - (50 + 60 + 8)) / 80.0           # 0.025
    dzdy = ((50 + 90 + 50) - (8 + 20 + 10)) / 80.0           # 1.9
    assert centre("slope") == pytest.approx(np.degrees(np.arctan(np.hypot(dzdx, dzdy))), rel=1e-6)
    # uphill is to the north (and a little east); the slope faces (downhill) south, a little west of south
    aspect = centre("aspect")
    assert aspect == pytest.approx(np.degrees(np.arctan2(-dzdx, -dzdy)) % 360, rel=1e-6)
    assert 180 < aspect < 181.5
    assert centre("aspect_sin") == pytest.approx(np.sin(np.radians(aspect)), abs=1e-6)
    assert centre("aspect_cos") == pytest.approx(np.cos(np.radians(aspect)), abs=1e-6)
    assert centre("tpi") == pytest.approx(30 - (50 + 45 + 50 + 30 + 30 + 8 + 10 + 10) / 8)   # 0.875
    assert centre("tri") == pytest.approx(np.sqrt(20**2 + 15**2 + 20**2 + 0 + 0 + 22**2 + 20**2 + 20**2))
    assert centre("roughness") == 42.0
    assert centre("elevation") == 30.0
    # Zevenbergen-Thorne, L = 10: D = ((30+30)/2 - 30)/100 = 0, E = ((45+10)/2 - 30)/100 = -0.025
    assert centre("curvature") == pytest.approx(-2 * (0 - 0.025))


def quadratic(a, b, c, p, q, res=5.0, n=7):
    """z = a x^2 + b y^2 + c x y + p x + q y (x east, y north, m) around the centre pixel."""
    coords = (np.arange(n) - n // 2) * res
    x = coords[None, :]
    y = -coords[:, None]          # row 0 is north
    return a * x**2 + b * y**2 + c * x * y + p * x + q * y


@pytest.mark.parametrize("a, b, c, p, q", [
    (-0.01, 0.0, 0.0, 0.0, 0.2),      # spur running south: laterally convex
    (0.01, 0.0, 0.0, 0.0, 0.2),       # valley: laterally concave
    (0.0, -0.02, 0.0, 0.0, 0.3),      # shoulder: the slope steepens downhill (convex profile)
    (0.003, -0.004, 0.005, 0.1, -0.25),
])
def test_curvatures_exact_on_quadratics(a, b, c, p, q):
    """ZT curvatures are exact for quadratic surfaces: compare with the Hessian along/across the gradient."""
    z = quadratic(a, b, c, p, q)
    out = terrain_variables(make_raster(z, res=5.0), ["curvature", "profile_curvature", "plan_curvature"])
    cz = z.shape[0] // 2
    hess = np.array([[2 * a, c], [c, 2 * b]])
    g = np.array([p, q])
    u = g / np.linalg.norm(g)                 # along the gradient
    v = np.array([-u[1], u[0]])               # along the contour
    assert out.values[0, cz, cz] == pytest.approx(-np.trace(hess), rel=1e-6, abs=1e-12)
    assert out.values[1, cz, cz] == pytest.approx(-u @ hess @ u, rel=1e-5, abs=1e-9)
    assert out.values[2, cz, cz] == pytest.approx(-v @ hess @ v, rel=1e-5, abs=1e-9)


def test_curvature_signs_positive_is_convex():
    spur = terrain_variables(make_raster(quadratic(-0.01, 0, 0, 0, 0.2), res=5.0), ["plan_curvature"])
    valley = terrain_variables(make_raster(quadratic(0.01, 0, 0, 0, 0.2), res=5.0), ["plan_curvature"])
    hilltop = terrain(make_raster(quadratic(-0.01, -0.01, 0, 0, 0), res=5.0), "curvature")
    assert spur.values[0, 3, 3] > 0 > valley.values[0, 3, 3]
    assert hilltop.values[3, 3] > 0


def test_plane_slope_aspect_and_flat():
    x = np.arange(6) * 30.0
    z = np.tile(x / 30.0, (5, 1))          # rises 1 m per 30 m eastwards: faces west
    out = terrain_variables(make_raster(z), ["slope", "aspect", "aspect_sin", "aspect_cos", "tpi", "curvature"])
    np.testing.assert_allclose(out.values[0][:, 1:-1], np.degrees(np.arctan(1 / 30)), rtol=1e-5)
    np.testing.assert_allclose(out.values[1][:, 1:-1], 270.0, atol=1e-9)
    np.testing.assert_allclose(out.values[2], -1.0, atol=1e-6)
    np.testing.assert_allclose(out.values[3], 0.0, atol=1e-6)
    np.testing.assert_allclose(out.values[4][:, 1:-1], 0.0, atol=1e-6)   # a plane has no relative position
    flat = terrain_variables(make_raster(np.full((4, 4), 12.0)), ["aspect", "aspect_sin", "aspect_cos", "slope",
                                                                  "plan_curvature"])
    assert np.isnan(flat.values[0]).all()            # gdaldem writes -9999 on flat cells
    assert (flat.values[1:] == 0).all()


def test_nan_neighbour_gives_nan():
    z = smooth_field((8, 9), seed=1, scale=50, offset=300)
    z[4, 4] = np.nan
    out = terrain_variables(make_raster(z), ["slope", "tpi", "tri", "roughness", "profile_curvature", "aspect_cos"])
    for k in range(out.sizes["band"]):
        block = out.values[k, 3:6, 3:6]
        assert np.isnan(block).all(), str(out["band"].values[k])
        assert np.isfinite(out.values[k, 0, 0])


def test_chunked_equals_unchunked_exactly():
    z = smooth_field((57, 43), seed=2, scale=300, offset=900)
    ref = terrain_variables(make_raster(z), list(TERRAIN))
    assert ref.dtype == np.float32 and list(ref["band"].values) == list(TERRAIN)
    for chunks in [(10, 10), (57, 7), (1, 43), (13, 2)]:
        got = terrain_variables(make_raster(z, chunks=chunks), list(TERRAIN)).compute()
        np.testing.assert_array_equal(got.values, ref.values)


def test_errors():
    z = np.ones((5, 5))
    with pytest.raises(InputError, match="Unknown terrain variable"):
        terrain(make_raster(z), "hillshade")
    with pytest.raises(CRSError, match="geographic"):
        terrain(make_raster(z, res=0.001, crs="EPSG:4326", x0=110, y0=36), "slope")
    with pytest.raises(CRSError, match="no CRS"):
        terrain(make_raster(z, crs=None), "slope")
    two = make_raster(z).expand_dims(band=[1, 2])
    with pytest.raises(InputError, match="2 bands"):
        terrain(two, "slope")


GDALDEM = shutil.which("gdaldem")


@pytest.mark.skipif(GDALDEM is None, reason="gdaldem (GDAL command-line tools) is not installed")
def test_equals_gdaldem_on_interior_pixels(tmp_path):
    z = smooth_field((48, 52), seed=7, scale=400, offset=800).astype(np.float32)
    z[30:36, 5:12] = 777.0                                  # a flat patch: aspect undefined
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", height=z.shape[0], width=z.shape[1], count=1, dtype="float32",
                       crs="EPSG:32649", transform=from_origin(500000, 4000000, 30, 30)) as dst:
        dst.write(z, 1)
    ours = terrain_variables(make_raster(z.astype(np.float64), res=30.0), ["slope", "aspect", "tpi", "tri",
                                                                         "roughness"])
    # gdaldem works in single precision: tolerances are float32 round-off at 800 m elevations
    tolerance = {"slope": 2e-3, "aspect": 2e-2, "TPI": 2e-3, "TRI": 2e-3, "roughness": 1e-4}
    for mode, var in [("slope", "slope"), ("aspect", "aspect"), ("TPI", "tpi"), ("TRI", "tri"),
                      ("roughness", "roughness")]:
        out = tmp_path / f"{mode}.tif"
        subprocess.run([GDALDEM, mode, str(path), str(out), "-q"], check=True)
        with rasterio.open(out) as src:
            ref = src.read(1).astype(np.float64)[1:-1, 1:-1]
            nodata = src.nodata
        mine = ours.sel(band=var).values.astype(np.float64)[1:-1, 1:-1]
        if var == "aspect":
            flat = ref == nodata
            assert flat.sum() >= 20 and np.array_equal(flat, np.isnan(mine))
            diff = np.abs((mine[~flat] - ref[~flat] + 180) % 360 - 180)
        else:
            assert not np.isnan(mine).any()
            diff = np.abs(mine - ref)
        assert diff.max() <= tolerance[mode], (mode, diff.max())


def test_terrain_and_texture_take_one_band():
    """A single band is used as is; several bands are refused with the band count and the fix."""
    import xarray as xr

    from minecarbon.features import glcm_texture

    dem = make_raster(smooth_field((20, 20), seed=1) * 100.0)
    one = dem.expand_dims(band=[1])
    np.testing.assert_array_equal(terrain_variables(one, ["slope"]).values, terrain_variables(dem, ["slope"]).values)
    two = xr.concat([one, one.assign_coords(band=[2])], dim="band")
    with pytest.raises(InputError, match="has 2 bands; a DEM must have one band"):
        terrain_variables(two, ["slope"])
    with pytest.raises(InputError, match="has 2 bands; texture is computed on one band"):
        glcm_texture(two, measures=["contrast"])
    with pytest.raises(InputError, match=r"must be a \(y, x\) raster"):
        terrain_variables(dem.expand_dims(t=[0, 1]), ["slope"])

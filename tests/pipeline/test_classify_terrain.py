"""The classify stage's terrain features (``[classify].terrain``): the DEM put on the project grid, then its
elevation, slope and aspect, checked against hand arithmetic on tilted planes (Horn's slope of a plane is exact).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from affine import Affine

from minecarbon.errors import GridError, InputError
from minecarbon.io import write_raster
from minecarbon.pipeline.stages.classify import TERRAIN, terrain_features

PX = 30.0


def _grid(n: int, x0: float, y0: float) -> xr.DataArray:
    xs = x0 + (np.arange(n) + 0.5) * PX
    ys = y0 - (np.arange(n) + 0.5) * PX
    da = xr.DataArray(np.zeros((n, n), np.float32), dims=("y", "x"), coords={"y": ys, "x": xs})
    return da.rio.write_crs("EPSG:32649").rio.write_transform(Affine(PX, 0, x0, 0, -PX, y0))


def _cfg(tmp_path, dem_path, terrain=True):
    return SimpleNamespace(classify=SimpleNamespace(terrain=terrain), inputs=SimpleNamespace(dem=str(dem_path)),
                           run=SimpleNamespace(chunk_px=8), path=lambda p: tmp_path / p)


@pytest.mark.parametrize("gx, gy, aspect_deg", [(0.1, 0.0, 270.0), (0.0, 0.2, 180.0), (-0.05, -0.05, 45.0)])
def test_terrain_of_a_plane(tmp_path, gx, gy, aspect_deg):
    """z = 500 + gx * east + gy * north: slope atan(|g|) everywhere, aspect the downhill direction; the project
    grid is a window inside the DEM (cropped by index), so no pixel sees the DEM's edge."""
    dem = _grid(20, 600000.0, 4000000.0)
    east, north = np.meshgrid(dem.x.values - 600000.0, dem.y.values - 4000000.0)
    dem = dem.copy(data=(500.0 + gx * east + gy * north).astype(np.float32))
    write_raster(dem, tmp_path / "dem.tif", ["elevation"], dtype="float32")
    tmpl = _grid(10, 600000.0 + 5 * PX, 4000000.0 - 5 * PX)
    out = terrain_features(_cfg(tmp_path, "dem.tif"), tmpl).compute()
    assert list(out.band.values) == [f"terrain_{v}" for v in TERRAIN]
    assert out.shape == (4, 10, 10)
    # elevation: the DEM's pixels 5..14 (same lattice: cropped, not resampled)
    np.testing.assert_allclose(out.sel(band="terrain_elevation").values, dem.values[5:15, 5:15], atol=1e-3)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    np.testing.assert_allclose(out.sel(band="terrain_slope").values, slope, atol=1e-3)
    np.testing.assert_allclose(out.sel(band="terrain_aspect_sin").values, np.sin(np.radians(aspect_deg)), atol=1e-4)
    np.testing.assert_allclose(out.sel(band="terrain_aspect_cos").values, np.cos(np.radians(aspect_deg)), atol=1e-4)


def test_terrain_off_and_bad_dem(tmp_path):
    tmpl = _grid(10, 600000.0, 4000000.0)
    assert terrain_features(_cfg(tmp_path, "dem.tif", terrain=False), tmpl) is None
    two = xr.concat([tmpl, tmpl], dim="band").assign_coords(band=[1, 2])
    write_raster(two, tmp_path / "dem2.tif", ["a", "b"], dtype="float32")
    with pytest.raises(InputError, match=r"2 bands.*\[classify\]\.terrain = false"):
        terrain_features(_cfg(tmp_path, "dem2.tif"), tmpl)


def test_dem_beside_the_grid_is_an_error(tmp_path):
    write_raster(_grid(10, 700000.0, 4000000.0), tmp_path / "far.tif", ["elevation"], dtype="float32")
    with pytest.raises(GridError, match="DEM .* does not overlap"):
        terrain_features(_cfg(tmp_path, "far.tif"), _grid(10, 600000.0, 4000000.0))

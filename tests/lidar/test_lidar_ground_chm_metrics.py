"""Ground filters, CHM, pit filling and canopy metrics against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from rasterio.transform import from_origin

from minecarbon.lidar import PointCloud, canopy_height_model, classify_ground, fill_pits, pixel_metrics, plot_metrics
from minecarbon.lidar.ground import Surface, height_above_ground
from minecarbon.scenario.tls import _Ground


@pytest.mark.parametrize("method", ["csf", "pmf"])
def test_both_ground_filters_recover_the_simulated_terrain(sim_moderate, method):
    truth = _Ground(sim_moderate.slope_deg, sim_moderate.aspect_deg, 1.5, np.random.default_rng(sim_moderate.seed))
    res = classify_ground(sim_moderate.cloud.xyz, method=method)
    d = res.dtm
    ny, nx = d.z.shape
    xx, yy = np.meshgrid(d.x0 + np.arange(nx) * d.cell, d.y0 + np.arange(ny) * d.cell)
    inside = (np.abs(xx) < 15) & (np.abs(yy) < 15)
    err = (d.z - truth(xx.ravel(), yy.ravel()).reshape(xx.shape))[inside]
    assert np.sqrt(np.mean(err ** 2)) < 0.05
    assert abs(err.mean()) < 0.02
    # the multipath returns below the ground were removed, not used
    assert res.info["low_outliers"] > 0
    below = sim_moderate.cloud.xyz[res.low_outliers]
    assert np.median(below[:, 2] - truth(below[:, 0], below[:, 1])) < -0.1


def test_cloth_simulation_runs_on_one_openmp_thread(sim_moderate, monkeypatch):
    """CSF's parallel cloth update races between neighbours; the ground must not depend on scheduling."""
    import CSF
    from threadpoolctl import threadpool_info

    seen = []
    original = CSF.CSF.do_filtering

    def recording(self, *args):
        seen.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp")
        return original(self, *args)

    monkeypatch.setattr(CSF.CSF, "do_filtering", recording)
    first = classify_ground(sim_moderate.cloud.xyz, method="csf")
    second = classify_ground(sim_moderate.cloud.xyz, method="csf")
    assert seen and set(seen) == {1}
    np.testing.assert_array_equal(first.is_ground, second.is_ground)
    np.testing.assert_array_equal(first.dtm.z, second.dtm.z)


def test_surface_bilinear_matches_hand_arithmetic():
    s = Surface(0.0, 0.0, 1.0, np.array([[0.0, 1.0], [2.0, 3.0]]))  # z = x + 2 y on the cell centres
    assert s(np.array([0.5, 0.25, -5.0]), np.array([0.5, 0.75, 0.0])).tolist() == pytest.approx([1.5, 1.75, 0.0])
    da = s.to_dataarray()
    assert da.sel(x=1.0, y=1.0).item() == 3.0 and da.rio.transform().e < 0   # north-up


def _towers():
    """Flat ground at z=100 with three 'trees': vertical point columns of known heights."""
    rng = np.random.default_rng(0)
    g = np.column_stack([rng.uniform(0, 20, 20000), rng.uniform(0, 20, 20000), np.full(20000, 100.0)])
    cols = []
    for (x, y, h) in ((5.2, 5.2, 12.0), (14.7, 6.3, 7.5), (9.9, 15.1, 20.0)):
        z = np.linspace(100.0, 100.0 + h, 200)
        cols.append(np.column_stack([np.full(200, x), np.full(200, y), z]))
    xyz = np.vstack([g] + cols)
    cls = np.r_[np.full(len(g), 2), np.full(600, 1)].astype(np.uint8)
    return PointCloud(xyz, "EPSG:32649", {"classification": cls})


def test_chm_cells_hold_the_highest_return():
    from pyproj import CRS

    cloud = _towers()
    cloud.crs = CRS.from_epsg(32649)
    chm = canopy_height_model(cloud, 1.0, pit_fill=False)
    assert chm.rio.crs.to_epsg() == 32649
    assert float(chm.sel(x=5.5, y=5.5, method="nearest")) == pytest.approx(12.0, abs=1e-3)
    assert float(chm.sel(x=14.5, y=6.5, method="nearest")) == pytest.approx(7.5, abs=1e-3)
    assert float(chm.max()) == pytest.approx(20.0, abs=1e-3)
    assert float(chm.sel(x=2.5, y=17.5, method="nearest")) == pytest.approx(0.0, abs=1e-3)


def test_pit_filling_numpy_equals_dask_and_fills_a_pit():
    rng = np.random.default_rng(1)
    a = rng.uniform(10, 11, (40, 50)).astype(np.float32)
    a[20, 20] = 2.0            # a pit: 8 neighbours around 10.5
    a[5, 5] = np.nan           # a hole
    da = xr.DataArray(a, dims=("y", "x"), coords={"y": np.arange(40)[::-1] + 0.5, "x": np.arange(50) + 0.5})
    da = da.rio.write_transform(from_origin(0, 40, 1, 1))
    f = fill_pits(da)
    nb = np.delete(a[19:22, 19:22].ravel(), 4)
    assert float(f[20, 20]) == pytest.approx(np.median(np.r_[nb, 2.0]), rel=1e-6)  # 3x3 median incl. centre
    assert np.isfinite(float(f[5, 5]))
    fd = fill_pits(da.chunk({"y": 13, "x": 17}))
    assert np.array_equal(f.values, fd.values, equal_nan=True)


def test_pixel_metrics_match_a_direct_loop():
    rng = np.random.default_rng(2)
    n = 20000
    x = rng.uniform(0, 90, n)
    y = rng.uniform(0, 60, n)
    hag = np.where(rng.uniform(size=n) < 0.3, 0.0, rng.gamma(3.0, 4.0, n))
    hag[::97] = np.nan
    ret = rng.integers(1, 3, n)
    tmpl = xr.DataArray(np.zeros((2, 3), np.float32), dims=("y", "x"), coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    tmpl = tmpl.rio.write_transform(from_origin(0, 60, 30, 30)).rio.write_crs("EPSG:32649")
    da = pixel_metrics(x, y, hag, tmpl, ["max", "mean", "std", "p25", "p95", "cover_2m", "count"], return_number=ret)
    assert da.dims == ("band", "y", "x") and da.rio.crs.to_epsg() == 32649
    for i, yc in enumerate((45.0, 15.0)):
        for j, xc in enumerate((15.0, 45.0, 75.0)):
            inpix = (np.abs(x - xc) < 15) & (np.abs(y - yc) < 15) & np.isfinite(hag)
            h = hag[inpix]
            assert float(da.sel(band="max")[i, j]) == pytest.approx(h.max(), rel=1e-6)
            assert float(da.sel(band="mean")[i, j]) == pytest.approx(h.mean(), rel=1e-5)
            assert float(da.sel(band="std")[i, j]) == pytest.approx(h.std(), rel=1e-5)
            assert float(da.sel(band="p25")[i, j]) == pytest.approx(np.percentile(h, 25), rel=1e-5)
            assert float(da.sel(band="p95")[i, j]) == pytest.approx(np.percentile(h, 95), rel=1e-5)
            first = inpix & (ret == 1)
            assert float(da.sel(band="cover_2m")[i, j]) == pytest.approx((hag[first] > 2).mean(), rel=1e-5)
            assert float(da.sel(band="count")[i, j]) == inpix.sum()
    pm = plot_metrics(hag, ["p50", "cover_2m"])
    fin = np.isfinite(hag)
    assert pm["p50"] == pytest.approx(np.median(hag[fin]))
    assert pm["cover_2m"] == pytest.approx((hag[fin] > 2).mean())


def test_height_above_ground_of_towers():
    cloud = _towers()
    res = classify_ground(cloud.xyz, method="pmf", cell_m=1.0)
    hag = height_above_ground(cloud.xyz, res.dtm)
    assert np.abs(hag[:20000]).max() < 1e-6
    assert hag[-1] == pytest.approx(20.0, abs=1e-6)

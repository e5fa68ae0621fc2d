"""Zonal statistics against hand arithmetic, rasterstats and the rasterstats reference data."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterstats
from _assess_helpers import make_da
from shapely.geometry import box

from minecarbon.assess import polygon_zonal_stats, zonal_stats
from minecarbon.errors import CRSError, GridError, InputError
from minecarbon.io import open_raster, write_raster


def test_by_hand():
    v = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])
    z = np.array([[1, 1, 2], [2, 2, 0]])
    out = zonal_stats(v, z, pixel_area_ha=0.09).set_index("zone")
    assert list(out.index) == [1, 2]
    assert out.loc[1, "count"] == 2 and out.loc[1, "mean"] == 1.5
    assert out.loc[1, "variance"] == pytest.approx(0.25)        # population variance of [1, 2]
    assert out.loc[1, "std"] == pytest.approx(0.5)
    assert out.loc[2, "count"] == 2 and out.loc[2, "min"] == 3 and out.loc[2, "max"] == 4  # NaN skipped
    assert out.loc[2, "sum"] == 7 and out.loc[2, "sum_t"] == pytest.approx(7 * 0.09)
    assert out.loc[2, "area_ha"] == pytest.approx(2 * 0.09)
    # zone 0 is kept when ignore_zone is None; negative, huge and float (NaN) codes work
    assert zonal_stats(v, z, 1.0, ignore_zone=None)["zone"].tolist() == [0, 1, 2]
    z2 = np.array([[-5, -5, 10**12], [10**12, 10**12, 7]])
    o2 = zonal_stats(v, z2, 1.0, ignore_zone=None).set_index("zone")
    assert o2.loc[-5, "mean"] == 1.5 and o2.loc[10**12, "count"] == 2 and o2.loc[7, "sum"] == 6
    zf = np.array([[1.0, 1.0, np.nan], [2.0, 2.0, 2.0]])
    assert zonal_stats(v, zf, 1.0)["count"].tolist() == [2, 2]  # the NaN-zone pixel (3.0) is in no zone
    with pytest.raises(InputError, match="integer"):
        zonal_stats(v, zf + 0.5, 1.0)


def test_matches_numpy_float64_and_dask(rng):
    v = rng.gamma(3.0, 15.0, (200, 230)).astype(np.float32)
    v[rng.random(v.shape) < 0.05] = np.nan
    z = rng.integers(0, 25, v.shape)
    da, zda = make_da(v), make_da(z)
    out = zonal_stats(da, zda).set_index("zone")
    for code in range(1, 25):
        sel = (z == code) & np.isfinite(v)
        x = v[sel].astype(np.float64)
        r = out.loc[code]
        assert r["count"] == x.size and r["min"] == x.min() and r["max"] == x.max()
        assert r["mean"] == pytest.approx(x.mean(), rel=1e-13)
        assert r["variance"] == pytest.approx(x.var(), rel=1e-12)
        assert r["sum_t"] == pytest.approx(x.sum() * 0.09, rel=1e-13)
    outd = zonal_stats(da.chunk(37), zda.chunk(37)).set_index("zone")
    pd.testing.assert_frame_equal(outd[["count", "min", "max"]], out[["count", "min", "max"]])
    np.testing.assert_allclose(outd[["mean", "variance", "sum"]].to_numpy(), out[["mean", "variance", "sum"]].to_numpy(),
                               rtol=1e-12)
    with pytest.raises(GridError):
        zonal_stats(da, make_da(z[:, :-1]))


def test_polygons_match_rasterstats(tmp_path, rng):
    v = rng.normal(40, 12, (50, 60))
    v[10:14, 10:20] = np.nan
    da = make_da(v)
    tif = write_raster(da, tmp_path / "v.tif", ["agc"])
    x0, y0 = 500_000.0, 4_000_000.0
    polys = gpd.GeoDataFrame({"name": ["a", "b", "a", "c"]}, crs="EPSG:32649", geometry=[
        box(x0 + 100, y0 - 900, x0 + 700, y0 - 200),
        box(x0 + 500, y0 - 1400, x0 + 1500, y0 - 700),      # overlaps the first
        box(x0 + 1000, y0 - 400, x0 + 1300, y0 - 100),
        box(x0 + 1711, y0 - 1111, x0 + 1799, y0 - 1019)])   # smaller than a pixel: maybe no centre inside
    shp = tmp_path / "z.gpkg"
    polys.to_file(shp)
    for at in (False, True):
        ours = polygon_zonal_stats(open_raster(tif, chunks=None).isel(band=0), polys, all_touched=at)
        ref = rasterstats.zonal_stats(str(shp), str(tif), stats="count mean min max std sum", all_touched=at,
                                      nodata=np.nan)
        assert ours["count"].tolist() == [r["count"] for r in ref]
        for (_, o), r in zip(ours.iterrows(), ref):
            if r["count"]:
                assert o["mean"] == pytest.approx(r["mean"], rel=1e-5)  # rasterstats sums in float32
                assert o["min"] == r["min"] and o["max"] == r["max"]
                assert o["std"] == pytest.approx(r["std"], rel=1e-4)
    # field: polygons sharing a value form one zone, a pixel counts once
    f = polygon_zonal_stats(da, polys, field="name").set_index("zone")
    assert list(f.index) == ["a", "b", "c"]
    per = polygon_zonal_stats(da, polys)
    assert f.loc["a", "count"] == per.loc[0, "count"] + per.loc[2, "count"]  # disjoint parts
    # another CRS is reprojected; a wrong .prj is explained
    same = polygon_zonal_stats(da, polys.to_crs("EPSG:4326"))
    np.testing.assert_array_equal(same["count"], per["count"])
    with pytest.raises(CRSError, match="not longitudes"):
        polygon_zonal_stats(da, polys.set_crs("EPSG:4326", allow_override=True))
    with pytest.raises(GridError, match="overlaps"):
        polygon_zonal_stats(da, polys.translate(1e6, 0))
    with pytest.raises(InputError, match="no attribute"):
        polygon_zonal_stats(da, polys, field="nope")


@pytest.mark.realdata
def test_rasterstats_reference_data(realdata_dir):
    d = realdata_dir / "rasterstats_zonal"
    exp = json.loads((d / "EXPECTED_zonal.json").read_text())
    da = open_raster(d / "slope.tif", chunks=None).isel(band=0)
    cases = {(c["vector"], c.get("all_touched", False), c.get("raster", "slope.tif")): c for c in exp["cases"]}
    poly = gpd.read_file(d / "polygons.shp")
    out = polygon_zonal_stats(da, poly)
    c = cases[("polygons.shp", False, "slope.tif")]
    assert out["count"].tolist() == c["count"]
    np.testing.assert_allclose(out["mean"].round(2), c["mean_verified_here"])
    assert round(out["mean"].iloc[0], 2) == c["mean_round2"][0]
    out_t = polygon_zonal_stats(da.chunk(20), poly, all_touched=True)
    assert out_t["count"].tolist() == cases[("polygons.shp", True, "slope.tif")]["count"]
    # multipolygons.shp carries a wrong .prj (EPSG:4326 on projected metres): explained, then fixed
    multi = gpd.read_file(d / "multipolygons.shp")
    with pytest.raises(CRSError, match="wrong"):
        polygon_zonal_stats(da, multi)
    out_m = polygon_zonal_stats(da, multi.set_crs(da.rio.crs, allow_override=True))
    assert out_m["count"].tolist() == cases[("multipolygons.shp", False, "slope.tif")]["count"]
    # categorical raster: class 1 pixels in the first polygon
    cls = open_raster(d / "slope_classes.tif", chunks=None, masked=False).isel(band=0)
    first = poly.iloc[[0]]
    ones = cls.where(cls == 1)
    assert polygon_zonal_stats(ones, first)["count"].iloc[0] == \
        cases[("polygons.shp", False, "slope_classes.tif")]["first_feature_class1_count"]
    with rasterio.open(d / "all_nodata.tif") as src:
        assert src.count >= 1

"""Assessment-unit rules on hand-made cases (docs/design.md and minecarbon/units.py, 'Assessment units')."""

import geopandas as gpd
import numpy as np
import pytest
from _assess_helpers import make_da
from shapely.geometry import box

from minecarbon.errors import GridError, InputError
from minecarbon.units import assign_units, burn_damage, damage_codes, unit_areas, unit_name, unit_polygons


def _case(**kw):
    base = dict(in_area=True, f0=False, f1=False, dist=0, plan=0, rec=0)
    base.update(kw)
    a = lambda k, dt=bool: np.array([[base[k]]], dtype=dt)  # noqa: E731
    l1, l2 = assign_units(a("in_area"), a("f0"), a("f1"), a("dist", int), a("plan", int), a("rec", int))
    return int(l1[0, 0]), int(l2[0, 0])


def test_rules_and_precedence():
    assert _case(f0=True, f1=True) == (1, 10)                      # persistent
    assert _case(f0=True, f1=True, plan=2) == (2, 22)              # to-be-damaged, subsidence planned
    assert _case(f0=True, f1=False, dist=1) == (3, 31)             # damaged by excavation
    assert _case(f0=True, f1=True, dist=2, plan=2) == (3, 32)      # subsidence keeps forest: still damaged
    assert _case(f0=True, f1=True, dist=3, rec=3) == (4, 43)       # reclaimed wins over damaged
    assert _case(f0=False, f1=True, dist=1, rec=1) == (4, 41)      # reclaimed on land that was not forest
    assert _case(f0=False, f1=False, rec=2) == (4, 42)             # reclaimed, not yet forest
    assert _case(f0=True, f1=False) == (5, 50)                     # forest lost without mining
    assert _case(f0=False, f1=True) == (5, 50)                     # forest gained without mining
    assert _case(f0=False, f1=False, dist=1) == (0, 0)             # mining on never-forest land
    assert _case(f0=False, f1=True, dist=1) == (5, 50)             # forest appeared on a mined patch (no reclamation)
    assert _case(f0=False, f1=False, plan=1) == (0, 0)             # planned on non-forest
    assert _case(f0=False, f1=False) == (0, 0)
    assert _case(in_area=False, f0=True, f1=True) == (0, 0)        # outside the monitoring area
    assert _case(in_area=False, rec=1) == (0, 0)


def test_reclaimed_without_type_takes_the_disturbance_type():
    one = lambda v, dt=int: np.array([[v]], dtype=dt)  # noqa: E731
    l1, l2 = assign_units(one(True, bool), one(True, bool), one(False, bool), one(3), one(0), one(0),
                          reclaimed=one(True, bool))
    assert (int(l1[0, 0]), int(l2[0, 0])) == (4, 43)
    l1, l2 = assign_units(one(True, bool), one(False, bool), one(True, bool), one(0), one(0), one(0),
                          reclaimed=one(True, bool))
    assert (int(l1[0, 0]), int(l2[0, 0])) == (4, 40)               # type unknown


def test_bad_arrays():
    ok = np.zeros((2, 2), bool)
    with pytest.raises(GridError, match="one grid"):
        assign_units(ok, ok, ok, np.zeros((2, 3), int), np.zeros((2, 2), int), np.zeros((2, 2), int))
    with pytest.raises(InputError, match="0-3"):
        assign_units(ok, ok, ok, np.full((2, 2), 7), np.zeros((2, 2), int), np.zeros((2, 2), int))


def test_unit_names():
    assert unit_name(32) == "damaged forest / subsidence"
    assert unit_name(43, "zh") == "已复垦森林·压占"
    assert unit_name(10) == "persistent forest"


def test_burning_damage_polygons_pixel_centres_and_overlap_precedence():
    tmpl = make_da(np.zeros((6, 8)), pixel_m=10.0, x0=0.0, y0=60.0)
    gdf = gpd.GeoDataFrame({"damage_type": ["塌陷", "excavation", "Occupation"]}, crs="EPSG:32649", geometry=[
        box(0, 0, 80, 60),          # subsidence everywhere
        box(10, 30, 32, 60),        # excavation (burned before occupation in the file order)
        box(20, 0, 80, 42)])        # occupation, overlapping the excavation
    codes = burn_damage(gdf, tmpl, "test layer")
    # pixel centres: x = 5, 15, ..., 75; y = 55, 45, ..., 5 (none on a polygon edge)
    xs = np.arange(8) * 10 + 5
    ys = 60 - (np.arange(6) * 10 + 5)
    X, Y = np.meshgrid(xs, ys)
    exp = np.full((6, 8), 2)
    exp[(X > 20) & (Y < 42)] = 3                                  # occupation beats subsidence
    exp[(X > 10) & (X < 32) & (Y > 30)] = 1                       # excavation beats both
    np.testing.assert_array_equal(codes, exp)
    with pytest.raises(InputError, match="feature\\(s\\) 2"):
        damage_codes(gpd.GeoDataFrame({"damage_type": ["挖损", "flood"]}, geometry=[box(0, 0, 1, 1)] * 2),
                     "layer x")


def test_unit_polygons_dissolved_with_areas():
    l2 = np.array([[10, 10, 31, 0],
                   [10, 255, 31, 31],
                   [50, 10, 0, 10]], dtype=np.uint8)
    tmpl = make_da(np.zeros(l2.shape), pixel_m=30.0)
    polys = unit_polygons(l2, tmpl, level=2)
    assert polys["unit_l2"].tolist() == [10, 31, 50]              # one (multi)polygon per code, 0 and 255 left out
    assert polys["pixels"].tolist() == [5, 3, 1]
    np.testing.assert_allclose(polys["area_ha"], [0.45, 0.27, 0.09])
    np.testing.assert_allclose(polys.geometry.area / 1e4, polys["area_ha"])  # polygon area == pixel area
    assert polys.crs == tmpl.rio.crs
    l1 = l2 // 10
    l1[l2 == 255] = 255
    p1 = unit_polygons(l1, tmpl, level=1)
    assert p1["unit_l1"].tolist() == [1, 3, 5] and p1["name_zh"].tolist() == ["持续森林", "已损毁森林", "其他扰动"]
    t2 = unit_areas(l2, 0.09, level=2)
    assert t2["pixels"].tolist() == [5, 3, 1] and t2["share_pct"].sum() == pytest.approx(100)
    t1 = unit_areas(l1, 0.09, level=1)
    assert t1["unit_l1"].tolist() == [1, 3, 5] and "unit_l2" not in t1.columns

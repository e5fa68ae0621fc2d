"""Model groups brought up to date with the disturbance and reclamation layers (pipeline/stages/_stand_state.py).

Expected codes written out by hand from the rules of the module docstring."""

import geopandas as gpd
import numpy as np
import rioxarray  # noqa: F401
import xarray as xr
from shapely.geometry import box

from minecarbon.pipeline.stages._stand_state import RECLAIMED, _clearing_rows, _first_year, update_groups

NF = 0


def test_update_groups_rules_by_hand():
    # pixel: 0 farmland later reclaimed 2015; 1 conifer cleared 2010; 2 broadleaf cleared 2010, reclaimed 2016;
    # 3 farmland, never touched; 4 conifer cleared 2003 (before the map); 5 mixed cleared 2012, reclaimed 2020
    g = np.array([NF, 1, 2, NF, 1, 3])
    cleared = np.array([0, 2010, 2010, 0, 2003, 2012])
    reclaimed = np.array([2015, 0, 2016, 0, 0, 2020])
    R = RECLAIMED
    expect = {  # year: (map year, codes)
        2005: (2005, [NF, 1, 2, NF, 1, 3]),
        2012: (2005, [NF, NF, NF, NF, 1, NF]),
        2016: (2005, [R, NF, R, NF, 1, NF]),
        2020: (2005, [R, NF, R, NF, 1, R]),
        2024: (2024, [R, 1, 2, NF, 1, 3]),  # the 2024 map is current: only its non-forest reclaimed pixel changes
    }
    for year, (m, codes) in expect.items():
        np.testing.assert_array_equal(update_groups(g, year, m, NF, cleared, reclaimed), codes, err_msg=str(year))


def test_update_groups_keeps_reclaimed_apart_from_uint8_codes():
    # forest-type maps are uint8 (255 = nodata): the reclaimed code must not wrap around to 255
    g = np.array([NF, 1, 255], dtype=np.uint8)
    out = update_groups(g, 2016, 2005, NF, np.zeros(3, np.int16), np.array([2015, 0, 0], np.int16))
    np.testing.assert_array_equal(out, [RECLAIMED, 1, 255])


def test_update_groups_per_plot_years():
    # plots: the map year is the survey year (the sheet's type is current)
    g = np.array([NF, NF, 2.0])
    yrs = np.array([2014, 2016, 2020])
    out = update_groups(g, yrs, yrs, NF, np.zeros(3, int), np.array([2015, 2015, 2015]))
    np.testing.assert_array_equal(out, [NF, RECLAIMED, 2.0])


def test_first_year_and_clearing_types():
    tmpl = xr.DataArray(np.zeros((4, 4)), dims=("y", "x"),
                        coords={"y": [3.5, 2.5, 1.5, 0.5], "x": [0.5, 1.5, 2.5, 3.5]}).rio.write_crs("EPSG:32649")
    gdf = gpd.GeoDataFrame({"year": [2012, 2009, 2011], "damage_type": ["塌陷", "excavation", "occupation"]},
                           geometry=[box(0, 0, 4, 4), box(0, 2, 2, 4), box(2, 2, 4, 4)], crs="EPSG:32649")
    np.testing.assert_array_equal(_clearing_rows(gdf), [False, True, True])
    first = _first_year(gdf, tmpl)  # earliest year over each pixel
    np.testing.assert_array_equal(first, [[2009, 2009, 2011, 2011], [2009, 2009, 2011, 2011],
                                          [2012] * 4, [2012] * 4])
    only = _first_year(gdf, tmpl, _clearing_rows(gdf))  # subsidence does not clear
    np.testing.assert_array_equal(only, [[2009, 2009, 2011, 2011], [2009, 2009, 2011, 2011], [0] * 4, [0] * 4])
    assert _first_year(None, tmpl).sum() == 0

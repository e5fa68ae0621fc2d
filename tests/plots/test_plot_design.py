"""Plot layout design on hand-made unit rasters: counts, edges, spacing, restoration, backends."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import rasterio.features
import xarray as xr
from rasterio.transform import from_origin
from shapely.geometry import box

from minecarbon import plot_design
from minecarbon.errors import CRSError

PX = 30.0
X0, Y0 = 500000.0, 4000000.0  # EPSG:32649: x = 500000 is the central meridian, 111 deg E


def _raster(a: np.ndarray, px: float = PX) -> xr.DataArray:
    h, w = a.shape
    da = xr.DataArray(a, dims=("y", "x"), coords={"y": Y0 - px / 2 - px * np.arange(h),
                                                   "x": X0 + px / 2 + px * np.arange(w)})
    return da.rio.write_crs("EPSG:32649").rio.write_transform(from_origin(X0, Y0, px, px))


@pytest.fixture(scope="module")
def units() -> xr.DataArray:
    a = np.zeros((70, 90), np.uint8)
    a[2:42, 2:50] = 10          # persistent forest, 40 x 48 px
    a[44:60, 4:30] = 21         # to-be-damaged / excavation
    a[44:52, 55:85] = 32        # damaged / subsidence
    a[60:62, 60:80] = 43        # reclaimed strip, 2 px wide: too thin for the margin
    a[5:8, 70:73] = 50          # other disturbance, 3 x 3 px
    a[:, 88:] = 255             # outside the monitoring area
    return _raster(a)


@pytest.fixture(scope="module")
def design(units) -> pd.DataFrame:
    return plot_design.design_plots(units)


def _touched(units: xr.DataArray, geom) -> np.ndarray:
    """Unit codes of every pixel the (open) polygon overlaps, by rasterio - independent of the erosion."""
    m = rasterio.features.geometry_mask([geom.buffer(-1e-6)], out_shape=units.shape,
                                        transform=units.rio.transform(), all_touched=True, invert=True)
    return np.asarray(units.values)[m]


def test_counts_per_unit(design):
    n = design.groupby("unit_l2").size().to_dict()
    assert n == {10: 3, 21: 5, 32: 3, 43: 3, 50: 3}  # >= 3 everywhere, 3 + 2 in the to-be-damaged unit
    assert design["plot_id"].is_unique
    assert set(design["size_m"]) == {PX}  # sized to the pixel


def test_more_plots_for_large_units():
    a = np.zeros((40, 40), np.uint8)
    a[:, :] = 10
    d = plot_design.design_plots(_raster(a), ha_per_plot=20.0)  # 144 ha -> ceil(144 / 20) = 8 plots
    assert len(d) == 8
    assert plot_design.plots_wanted(22, 10.0, ha_per_plot=5.0) == 3 + 2  # max(3, 10 / 5) + 2 extra
    assert plot_design.plots_wanted(12, 10.0, ha_per_plot=2.0) == 5
    assert plot_design.plots_wanted(22, 10.0, ha_per_plot=1.0, max_per_unit=6) == 6  # the cap is on the total


def test_squares_and_margins_stay_inside_their_unit(units, design):
    for _, p in design.iterrows():
        half = p["size_m"] / 2
        square = box(p["x"] - half, p["y"] - half, p["x"] + half, p["y"] + half)
        assert (_touched(units, square) == p["unit_l2"]).all(), p["plot_id"]
        grown = square.buffer(p["edge_margin_m"], join_style=2) if p["edge_margin_m"] else square
        assert (_touched(units, grown) == p["unit_l2"]).all(), p["plot_id"]
    # the default 15 m margin is kept where the unit is wide enough, dropped in the 2-px strip and
    # the 3 x 3 px unit
    assert set(design.loc[~design.unit_l2.isin([43, 50]), "edge_margin_m"]) == {15.0}
    assert set(design.loc[design.unit_l2.isin([43, 50]), "edge_margin_m"]) == {0.0}
    assert design["fits_inside"].all()


def test_spacing_rules(design):
    squares = [box(x - 15, y - 15, x + 15, y + 15) for x, y in zip(design.x, design.y)]
    for i in range(len(squares)):
        for j in range(i + 1, len(squares)):
            assert squares[i].intersection(squares[j]).area == pytest.approx(0.0)  # never overlapping
    for code, grp in design.groupby("unit_l2"):
        xy = grp[["x", "y"]].to_numpy()
        dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        dmin = dist[np.triu_indices(len(xy), 1)].min()
        assert dmin >= grp["spacing_m"].iloc[0] - 1e-6
        if code in (10, 21, 32):  # room enough: the default spacing, 3 plot sides
            assert grp["spacing_m"].iloc[0] == pytest.approx(90.0)
    # 3 x 3 px unit: 3 plots are at most 2 px = 60 m apart there; the spacing was relaxed (90 -> 63 -> 44.1)
    assert design.loc[design.unit_l2 == 50, "spacing_m"].iloc[0] == pytest.approx(44.1)


def test_plots_spread_over_a_large_unit(design):
    p = design[design.unit_l2 == 10]
    xy = p[["x", "y"]].to_numpy()
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    # in a 40 x 48 px (1200 x 1440 m) unit the three plots are far apart, not clustered
    assert dist[np.triu_indices(3, 1)].min() > 400.0


def test_damaged_plots_go_where_restoration_is_planned(units):
    rest = xr.zeros_like(units)
    rest.values[44:52, 70:85] = 1
    d = plot_design.design_plots(units, restoration=rest)
    dmg = d[d.unit_l2 == 32]
    assert len(dmg) == 3 and (dmg["col"] >= 70).all()
    assert dmg["purpose"].str.contains("restoration is planned").all()
    rest.values[:] = 0
    none = plot_design.design_plots(units, restoration=rest)
    assert none.loc[none.unit_l2 == 32, "purpose"].str.contains("no planned restoration").all()


def test_numpy_and_dask_give_the_same_design(units, design):
    lazy = plot_design.design_plots(units.chunk({"x": 32, "y": 32}))
    pd.testing.assert_frame_equal(lazy, design)


def test_bigger_plots_than_pixels():
    a = np.zeros((30, 30), np.uint8)
    a[1:29, 1:29] = 40
    r = _raster(a, px=10.0)
    d = plot_design.design_plots(r, plot_size_m=45.0, edge_margin_m=10.0)
    assert len(d) == 3 and set(d["size_m"]) == {45.0}
    for _, p in d.iterrows():
        sq = box(p.x - 22.5 - 10, p.y - 22.5 - 10, p.x + 22.5 + 10, p.y + 22.5 + 10)
        assert (_touched(r, sq) == 40).all()


def test_field_sheet_coordinates(design):
    sheet, squares = plot_design.field_sheet(design, "EPSG:32649")
    p = sheet.iloc[0]
    assert p["x_nw"] == p["x"] - 15 and p["y_nw"] == p["y"] + 15
    assert p["x_se"] == p["x"] + 15 and p["y_se"] == p["y"] - 15
    np.testing.assert_allclose(squares.area, 900.0)
    assert squares.crs.to_epsg() == 32649 and p["crs"] == "EPSG:32649"
    # UTM 49N: x = 500000 m is the central meridian 111 deg E; 4,000,000 m north is ~36.1 deg N
    edge, _ = plot_design.field_sheet(pd.DataFrame({"x": [500000.0], "y": [4000000.0], "size_m": [30.0]}),
                                      "EPSG:32649")
    assert edge["lon"].iloc[0] == pytest.approx(111.0, abs=1e-9)
    assert 36.0 < edge["lat"].iloc[0] < 36.2
    assert (sheet["lon_ne"] > sheet["lon_nw"]).all() and (sheet["lat_nw"] > sheet["lat_sw"]).all()
    assert {"plot_id", "unit_l2", "survey_year", "notes", "area_ha"} <= set(sheet.columns)


def test_count_plots_per_unit_by_hand(units):
    # two plots in 10, one in 21, one on nodata (outside), one off the raster
    x = np.array([X0 + 10 * PX, X0 + 20 * PX, X0 + 10 * PX, X0 + 89 * PX, X0 - 500])
    y = np.array([Y0 - 10 * PX, Y0 - 20 * PX, Y0 - 50 * PX, Y0 - 10 * PX, Y0])
    c = plot_design.count_plots_per_unit(units, x, y, min_per_unit=2).set_index("unit_l2")
    assert c.loc[10, "n_plots"] == 2 and c.loc[10, "enough"]
    assert c.loc[21, "n_plots"] == 1 and not c.loc[21, "enough"] and c.loc[21, "short_by"] == 1
    assert c.loc[50, "n_plots"] == 0 and c.loc[50, "short_by"] == 2
    assert c.loc[0, "n_plots"] == 2  # plots outside every unit are reported
    assert c.loc[21, "area_ha"] == pytest.approx(16 * 26 * 0.09)
    assert c.loc[21, "name_zh"] == "拟损毁森林·挖损"


def test_geographic_units_are_refused(units):
    with pytest.raises(CRSError, match="geographic"):
        plot_design.design_plots(units.rio.write_crs("EPSG:4326"))


def test_design_is_reproducible(units, design):
    again = plot_design.design_plots(units)
    pd.testing.assert_frame_equal(again, design)
    assert math.isfinite(design["x"].sum())


def test_random_design_is_a_stratified_random_sample(units):
    """method='random': n plots per unit, drawn with equal probability among the pixels where a plot fits."""
    d = plot_design.design_plots(units, min_per_unit=3, extra_to_be_damaged=2, method="random", seed=1)
    codes = np.asarray(units.values)
    for code, g in d.groupby("unit_l2"):
        assert len(g) == g["n_wanted"].iloc[0] or not g["fits_inside"].all()
        assert (codes[g["row"], g["col"]] == code).all()
        assert (g["design"] == "random").all()
        assert np.allclose(g["inclusion_prob"], len(g) / g["population_px"])
    # persistent forest 40 x 48 px: a 1-px plot fits on every pixel (erosion by half a pixel keeps all)
    p = d[d.unit_l2 == 10].iloc[0]
    assert p.population_px == 40 * 48
    # equal inclusion probabilities: over many seeds every pixel of the 3 x 3 unit is drawn n/N of the time
    hits = np.zeros((70, 90))
    draws = 600
    for s in range(draws):
        g = plot_design.design_plots(units, min_per_unit=3, method="random", seed=s)
        g = g[g.unit_l2 == 50]
        hits[g["row"], g["col"]] += 1
    freq = hits[5:8, 70:73] / draws
    assert np.allclose(freq, 3 / 9, atol=0.07), freq  # binomial SD sqrt(p(1-p)/600) = 0.019

"""Tally matching and statistics (hand arithmetic) and variable-window treetops (hand-built CHMs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from rasterio.transform import from_origin

from minecarbon.lidar import find_treetops, match_trees, match_treetops, paired_table, treetop_mask, validation_stats


def test_match_trees_and_statistics_by_hand():
    tally = pd.DataFrame({"tree_id": ["A", "B", "C"], "x_local_m": [0.0, 3.0, 10.0], "y_local_m": [0.0, 0.0, 10.0],
                          "dbh_cm": [20.0, 30.0, 15.0], "height_m": [15.0, 20.0, 10.0]})
    scan = pd.DataFrame({"tree_id": [1, 2, 3, 4], "x": [0.2, 2.5, 5.0, 0.5], "y": [0.0, 0.3, 5.0, 0.1],
                         "dbh_cm": [21.0, 29.0, 25.0, 40.0], "height_m": [16.0, 18.0, 12.0, 14.0],
                         "qc": ["ok", "check", "ok", "ok"]})
    m = match_trees(tally, scan, max_distance_m=1.0)
    # A-1 (0.2 m, DBH +1), B-2 (0.583 m, DBH -1); 4 is 0.51 m from A but its DBH differs by 20 cm > 0.3*20+3;
    # 3 has no tally tree within 1 m; C has no scanned tree within 1 m.
    assert sorted(zip(m["ref_index"], m["det_index"])) == [(0, 0), (1, 1)]
    assert m["distance_m"].tolist() == pytest.approx([0.2, np.hypot(0.5, 0.3)])
    st = validation_stats(tally, scan, m)
    assert st["detection_rate"] == pytest.approx(2 / 3)
    assert st["commission_rate"] == pytest.approx(2 / 4)
    assert st["dbh_cm"]["bias"] == pytest.approx(0.0)                       # (+1 - 1) / 2
    assert st["dbh_cm"]["rmse"] == pytest.approx(1.0)                       # sqrt((1 + 1) / 2)
    assert st["dbh_cm"]["rrmse_pct"] == pytest.approx(100 * 1.0 / 25.0)     # mean tally DBH of pairs 25
    assert st["height_m"]["bias"] == pytest.approx(-0.5)                    # (+1 - 2) / 2
    assert st["height_m"]["rmse"] == pytest.approx(np.sqrt(2.5))
    ok = validation_stats(tally, scan, m, qc_ok_only=True)                  # only pair A-1 is QC ok
    assert ok["height_m"]["n"] == 1 and ok["height_m"]["rmse"] == pytest.approx(1.0)
    pt = paired_table(tally, scan, m)
    assert pt["status"].value_counts().to_dict() == {"matched": 2, "commission": 2, "omission": 1}


def test_optimal_assignment_beats_nearest_first():
    # nearest-first would pair R1-D1 (0.3 m) and leave R2 alone; the optimum pairs both
    tally = pd.DataFrame({"x_local_m": [0.0, 1.0], "y_local_m": [0.0, 0.0], "dbh_cm": [20.0, 20.0]})
    scan = pd.DataFrame({"x": [0.3, -0.9], "y": [0.0, 0.0], "dbh_cm": [20.0, 20.0]})
    m = match_trees(tally, scan, max_distance_m=1.0)
    assert sorted(zip(m["ref_index"], m["det_index"])) == [(0, 1), (1, 0)]


def test_treetop_matching_index_of_lidartree():
    # radius 2.1 + 0.14 * 10 = 3.5 m; index = d^2 / 3.5^2
    ref = np.array([[0.0, 0.0, 10.0], [3.3, 0.0, 10.0]])
    det = np.array([[1.0, 0.0, 10.0], [-3.0, 0.0, 10.0]])
    greedy = match_treetops(ref, det, greedy=True)
    assert list(zip(greedy["ref_index"], greedy["det_index"])) == [(0, 0)]          # lidaRtRee's pairing
    assert greedy["index"].iloc[0] == pytest.approx(1.0 / 3.5 ** 2)
    best = match_treetops(ref, det)
    assert sorted(zip(best["ref_index"], best["det_index"])) == [(0, 1), (1, 0)]
    assert best["plan_diff_m"].tolist() == pytest.approx([3.0, 2.3])


def _chm(a: np.ndarray, cell: float = 0.5) -> xr.DataArray:
    ny, nx = a.shape
    da = xr.DataArray(a.astype(np.float32), dims=("y", "x"),
                      coords={"y": (np.arange(ny)[::-1] + 0.5) * cell, "x": (np.arange(nx) + 0.5) * cell})
    return da.rio.write_transform(from_origin(0, ny * cell, cell, cell)).rio.write_crs("EPSG:32649")


def test_variable_window_radius_conventions_by_hand():
    a = np.full((30, 30), 1.0)     # ground vegetation below the 2 m minimum
    a[10, 10] = 10.0      # window 0.07*10 + 0.8 = 1.5 m = 3 cells
    a[10, 13] = 9.0       # 3 cells (1.5 m) east of it; window 0.07*9 + 0.8 = 1.43 m = 2.86 cells
    a[25, 25] = 1.5       # below the minimum height
    a[3, 26] = 6.0
    chm = _chm(a)
    exact = treetop_mask(chm, 0.07, 0.8, 2.0, "exact").values
    # exact radius 2.86 cells does not reach the 10 m cell 3 cells away: both are treetops
    assert set(zip(*np.nonzero(exact))) == {(10, 10), (10, 13), (3, 26)}
    ft = treetop_mask(chm, 0.07, 0.8, 2.0, "forest_tools").values
    # ForestTools rounds 2.86 cells to 3 cells: the 9 m cell sees the 10 m cell and is not a treetop
    assert set(zip(*np.nonzero(ft))) == {(10, 10), (3, 26)}
    tops = find_treetops(chm, 0.07, 0.8, 2.0, "forest_tools")
    assert tops["height_m"].tolist() == [6.0, 10.0]                        # row-major order
    assert tops["window_radius_m"].tolist() == pytest.approx([0.07 * 6 + 0.8, 0.07 * 10 + 0.8])
    assert tops.crs.to_epsg() == 32649
    assert (tops.geometry.x.iloc[1], tops.geometry.y.iloc[1]) == (5.25, (30 - 10 - 0.5) * 0.5)


def test_treetops_dask_equals_numpy():
    rng = np.random.default_rng(0)
    from scipy import ndimage

    a = ndimage.gaussian_filter(rng.normal(size=(120, 150)), 3) * 40 + 10
    a[a < 0] = 0
    a[50:55, 60:70] = np.nan
    chm = _chm(a)
    for conv in ("exact", "forest_tools"):
        m1 = treetop_mask(chm, 0.07, 0.8, 2.0, conv)
        m2 = treetop_mask(chm.chunk({"y": 37, "x": 41}), 0.07, 0.8, 2.0, conv)
        assert m2.chunks is not None
        assert np.array_equal(m1.values, m2.values)
        assert m1.rio.crs == chm.rio.crs and m1.sum() > 10

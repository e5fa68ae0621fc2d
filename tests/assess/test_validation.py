"""Change and trend validation against truth: numbers by hand arithmetic."""

import numpy as np

from minecarbon.assess import validation


def _masks(l1):
    return validation.zones_of({"level1": l1}, (1, 2), lambda lvl, c: f"{lvl}-{c}")


def test_change_table_by_hand():
    l1 = np.array([[1, 1], [2, 0]])
    truth = {2005: np.array([[10.0, 20.0], [30.0, 5.0]]), 2024: np.array([[20.0, 30.0], [10.0, 5.0]])}
    maps = {2005: np.array([[12.0, 22.0], [28.0, 7.0]]), 2024: np.array([[16.0, np.nan], [12.0, 7.0]])}
    tab = validation.change_table(maps, truth, _masks(l1), [(2005, 2024)], px_ha=0.09)
    allr = tab[tab.level == "all"].iloc[0]
    # pixels (0,0) and (1,0) count (the NaN pixel is dropped; (1,1) is no forest unit)
    assert allr.n_px == 2
    assert np.isclose(allr.truth_t0, (10 + 30) * 0.09) and np.isclose(allr.truth_t1, (20 + 10) * 0.09)
    assert np.isclose(allr.map_t0, (12 + 28) * 0.09) and np.isclose(allr.map_t1, (16 + 12) * 0.09)
    assert np.isclose(allr.truth_change_t, -0.9) and np.isclose(allr.map_change_t, -1.08)
    assert np.isclose(allr.change_error_pct, 100 * (-1.08 + 0.9) / 0.9) and allr.sign_agrees
    # per-pixel change: truth (+10, -20), map (+4, -16): bias ((4-10) + (-16+20)) / 2 = -1
    assert np.isclose(allr.pixel_change_bias_t_ha, -1.0)
    assert np.isclose(allr.pixel_change_rmse_t_ha, np.sqrt((36 + 16) / 2))
    assert np.isclose(allr.pixel_change_r2, 1 - 52 / 450)
    assert np.isclose(allr.truth_growth_t_ha_yr, -5 / 19)
    u1 = tab[(tab.level == "level1") & (tab.unit == 1)].iloc[0]
    assert u1.n_px == 1 and np.isclose(u1.change_ratio, 4 / 10)


def test_wrong_sign_is_flagged():
    l1 = np.ones((1, 2), int)
    truth = {1: np.array([[10.0, 10.0]]), 2: np.array([[12.0, 12.0]])}
    maps = {1: np.array([[14.0, 14.0]]), 2: np.array([[13.0, 13.0]])}
    r = validation.change_table(maps, truth, _masks(l1), [(1, 2)], 1.0).iloc[0]
    assert not r.sign_agrees and np.isclose(r.change_ratio, -0.5)


def test_trend_table_by_hand():
    l1 = np.array([[1, 1, 2]])
    tab = validation.trend_table(np.array([[[1.0, 2.0, 0.0]], [[2, 1, 0]]]),
                                 np.array([[[1.5, 2.5, 0.5]], [[2, 2, 0]]]), _masks(l1))
    allr = tab[tab.level == "all"].iloc[0]
    assert np.isclose(allr.slope_error_t_ha_yr, -0.5)
    assert np.isclose(allr.trend_class_agreement, 2 / 3)
    assert np.isclose(allr.truth_share_significant_increase, 2 / 3)
    assert np.isclose(allr.map_share_significant_increase, 1 / 3)
    # slopes (1.5, 2.5, 0.5) vs (1, 2, 0): SSE 0.75, SST 2 -> R2 0.625
    assert np.isclose(allr.pixel_slope_r2, 0.625)


def test_change_interval_coverage_by_hand():
    l1 = np.array([[1, 1], [2, 0]])
    truth = {1: np.zeros((2, 2)), 2: np.array([[5.0, 10.0], [-3.0, 1.0]])}
    maps = {1: np.zeros((2, 2)), 2: np.array([[4.0, np.nan], [-2.0, 0.0]])}
    lo = np.array([[4.0, 0.0], [-2.0, 0.0]])
    hi = np.array([[6.0, 9.0], [np.nan, 2.0]])
    tab = validation.change_table(maps, truth, _masks(l1), [(1, 2)], 1.0, interval=(1, 2, lo, hi))
    # forest pixels with finite true change and interval ends: (0,0) inside [4, 6], (0,1) outside [0, 9];
    # (1,0) has no upper end; the map's NaN at (0,1) does not matter for the coverage
    assert np.isclose(tab[tab.level == "all"].iloc[0].pixel_change_interval_coverage, 0.5)
    assert np.isnan(tab[(tab.level == "level1") & (tab.unit == 2)].iloc[0].pixel_change_interval_coverage)


def _random_case(seed=3, shape=(37, 23)):
    rng = np.random.default_rng(seed)
    l1 = rng.integers(0, 4, shape)
    l2 = rng.integers(0, 6, shape) * 10 + 1
    years = [2005, 2010, 2015]
    truth = {y: rng.gamma(4.0, 10.0, shape) for y in years}
    maps = {y: truth[y] + rng.normal(0, 5, shape) for y in years}
    for d in (truth, maps):
        for y in years:
            d[y][rng.random(shape) < 0.05] = np.nan
    return l1, l2, years, truth, maps


def test_strips_and_dask_give_the_whole_scene_numbers():
    """Strips of any height, numpy or dask-backed DataArrays: the same table as one strip of the whole scene,
    and per zone the same R2 / RMSE / bias as model.metrics (two-pass) on that zone's pixels."""
    import xarray as xr

    from minecarbon.model.metrics import metrics

    l1, l2, years, truth, maps = _random_case()
    zones = validation.zones_of({"level1": l1, "level2": l2}, (1, 2), lambda lvl, c: f"{lvl}-{c}")
    pers = validation.periods(years, 2005, 2015)
    whole = validation.change_table(maps, truth, zones, pers, 0.09, rows=10_000)
    for rows in (1, 5, 16):
        pd_t = validation.change_table(maps, truth, zones, pers, 0.09, rows=rows)
        np.testing.assert_allclose(pd_t.select_dtypes("number").to_numpy(float),
                                   whole.select_dtypes("number").to_numpy(float), rtol=1e-12, atol=1e-9)
    lazy = {y: xr.DataArray(a, dims=("y", "x")).chunk(8) for y, a in maps.items()}
    tl = validation.change_table(lazy, truth, zones, pers, 0.09, rows=8)
    np.testing.assert_allclose(tl.select_dtypes("number").to_numpy(float),
                               whole.select_dtypes("number").to_numpy(float), rtol=1e-12, atol=1e-9)
    for r in whole.itertuples():
        mask = {"all": np.isin(l1, (1, 2)), "level1": l1 == r.unit, "level2": l2 == r.unit}[r.level]
        pt, pm = truth[r.year1] - truth[r.year0], maps[r.year1] - maps[r.year0]
        ok = mask & np.isfinite(pt) & np.isfinite(pm)
        m = metrics(pt[ok], pm[ok])
        assert r.n_px == m["n"]
        assert np.isclose(r.pixel_change_r2, m["r2"], rtol=1e-10)
        assert np.isclose(r.pixel_change_rmse_t_ha, m["rmse"], rtol=1e-10)
        assert np.isclose(r.pixel_change_bias_t_ha, m["bias"], rtol=1e-10, atol=1e-12)
        assert np.isclose(r.truth_t1, np.nansum(np.where(ok, truth[r.year1], 0)) * 0.09)


def test_agreement_equals_metrics_per_zone():
    from minecarbon.model.metrics import metrics

    l1, _, _, truth, maps = _random_case(seed=5)
    zones = validation.zones_of({"level1": l1}, (1, 2, 3), lambda lvl, c: f"{lvl}-{c}")
    got = validation.agreement(truth[2010], maps[2010], zones, 0.09, rows=7)
    assert [g[:2] for g in got] == [("all", 0), ("level1", 1), ("level1", 2), ("level1", 3)]
    for level, unit, _, g in got:
        mask = np.isin(l1, (1, 2, 3)) if level == "all" else l1 == unit
        t, e = truth[2010][mask], maps[2010][mask]
        m = metrics(t, e)
        for k in ("n", "r2", "rmse", "mae", "bias"):
            assert np.isclose(g[k], m[k], rtol=1e-10), k
        ok = np.isfinite(t) & np.isfinite(e)
        assert np.isclose(g["total_est_t"], e[ok].sum() * 0.09)
        assert np.isclose(g["mean_truth"], t[ok].mean())


def test_periods():
    assert validation.periods(range(2005, 2025), 2005, 2024) == [
        (2005, 2024), (2005, 2010), (2010, 2015), (2015, 2020), (2020, 2024)]
    assert validation.periods([2005, 2006], 2005, 2006) == [(2005, 2006)]


def test_change_sd_by_hand_numpy_and_dask():
    import pytest
    import xarray as xr

    from minecarbon.assess import change_sd
    from minecarbon.errors import InputError

    s1 = xr.DataArray(np.array([[3.0, 4.0]]), dims=("y", "x"))
    s2 = xr.DataArray(np.array([[4.0, 4.0]]), dims=("y", "x"))
    # rho 0: sqrt(9 + 16) = 5; rho 0.5: sqrt(25 - 2 * 0.5 * 12) = sqrt(13); identical SDs and rho 1: 0
    assert np.allclose(change_sd(s1, s2, 0.0).values, [[5.0, np.sqrt(32)]])
    assert np.allclose(change_sd(s1, s2, 0.5).values, [[np.sqrt(13), 4.0]])
    assert change_sd(s1, s2, 1.0).values[0, 1] == 0
    assert np.allclose(change_sd(s1.chunk(), s2.chunk(), 0.5).values, change_sd(s1, s2, 0.5).values)
    with pytest.raises(InputError):
        change_sd(s1, s2, 1.5)

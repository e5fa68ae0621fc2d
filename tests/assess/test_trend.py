"""Sen's slope + Mann-Kendall against pymannkendall (every pixel), scipy's Theil-Sen and reference data."""

import json

import numpy as np
import pandas as pd
import pymannkendall as mk
import pytest
from _assess_helpers import make_da
from scipy import stats

from minecarbon.assess import mann_kendall_sen, mann_kendall_sen_array
from minecarbon.assess.trend import STATS
from minecarbon.errors import InputError

I = {k: i for i, k in enumerate(STATS)}


def _adversarial(rng, n_px=1500, n_years=20):
    """Random series with ties, NaNs (gaps), constant and short series, infinities."""
    a = rng.normal(50, 15, (n_px, n_years)) + np.linspace(0, 10, n_years) * rng.normal(0, 1, (n_px, 1))
    a[:300] = np.round(a[:300] / 10)                                  # heavy ties
    a[300:320] = 7.0                                                  # constant series
    a[320:340, :5] = 1.0                                              # partly tied
    gaps = rng.random((n_px, n_years)) < 0.15
    a[340:900][gaps[340:900]] = np.nan                                # scattered gaps
    a[900:950, : n_years - 3] = np.nan                                # only 3 valid years
    a[950:970, : n_years - 2] = np.nan                                # 2 valid: too short
    a[970:980] = np.nan                                               # all missing
    a[980:990, 4] = np.inf                                            # infinity = missing
    a[990:1000] = np.arange(n_years)[::-1] * 1.0                      # perfect decrease
    return a


def test_equals_pymannkendall_on_every_pixel(rng):
    a = _adversarial(rng)
    years = np.arange(2005, 2025)
    r = mann_kendall_sen_array(a, years)
    checked = 0
    for i in range(a.shape[0]):
        x = np.where(np.isfinite(a[i]), a[i], np.nan)
        n = int(np.isfinite(x).sum())
        assert r[i, I["n"]] == n
        if n < 3:
            assert np.isnan(r[i, I["slope"]]) and np.isnan(r[i, I["p"]])
            continue
        o = mk.original_test(x)
        assert r[i, I["s"]] == o.s
        assert r[i, I["var_s"]] == pytest.approx(o.var_s, rel=1e-15)
        assert r[i, I["z"]] == pytest.approx(o.z, rel=1e-14, abs=1e-15)
        assert r[i, I["p"]] == pytest.approx(o.p, rel=1e-12, abs=1e-15)
        assert r[i, I["tau"]] == pytest.approx(o.Tau, rel=1e-14, abs=1e-15)
        # pymannkendall's slope and intercept keep the original (gap-aware) positions, as we do
        s = mk.sens_slope(x)
        assert r[i, I["slope"]] == pytest.approx(s.slope, rel=1e-13, abs=1e-13)
        assert r[i, I["intercept"]] == pytest.approx(s.intercept, rel=1e-12, abs=1e-11)
        checked += 1
    assert checked > 1300


def test_real_year_spacing_matches_scipy_theilslopes(rng):
    years = np.array([2000, 2001, 2003, 2004, 2007, 2010, 2011, 2015, 2016, 2020], float)
    a = rng.normal(0, 1, (200, years.size)) + 0.3 * years
    a[:50, 3] = np.nan
    r = mann_kendall_sen_array(a, years)
    for i in range(a.shape[0]):
        ok = np.isfinite(a[i])
        ts = stats.theilslopes(a[i, ok], years[ok])
        assert r[i, I["slope"]] == pytest.approx(ts.slope, rel=1e-12)
        # intercept at the first year of the stack: median(x) - median(t - t0) * slope (Conover)
        t = years[ok] - years[0]
        assert r[i, I["intercept"]] == pytest.approx(np.median(a[i, ok]) - np.median(t) * ts.slope, rel=1e-12)
        assert r[i, I["s"]] == mk.original_test(a[i, ok]).s  # S does not depend on the spacing


def test_trend_classes_by_hand():
    years = np.arange(2000, 2010)
    rows = np.array([np.arange(10.0),                       # strong increase: p < 0.05
                     -np.arange(10.0),                      # strong decrease
                     [0, 1, 0, 1, 0, 1, 0, 1, 0, 2.0],      # weak increase, not significant
                     np.full(10, 3.0),                       # constant: slope 0
                     [5, 4, 5, 4, 5, 4, 5, 4, 5, 3.9]])     # weak decrease
    r = mann_kendall_sen_array(rows, years, alpha=0.05)
    p = r[:, I["p"]]
    assert p[0] < 0.05 and p[1] < 0.05 and p[2] > 0.05 and p[4] > 0.05
    np.testing.assert_array_equal(r[:, I["trend"]], [2, -2, 0, 0, 0])  # rows 2 and 4 have Sen slope 0
    rows[2] = [0, 1, 0, 1, 1, 2, 1, 2, 2, 3.0]
    r = mann_kendall_sen_array(rows, years, alpha=0.001, stable_slope=0.0)
    assert r[2, I["slope"]] > 0 and r[2, I["p"]] > 0.001
    assert r[2, I["trend"]] == 1                                       # slight increase at alpha 0.001
    r = mann_kendall_sen_array(rows, years, stable_slope=abs(r[2, I["slope"]]))
    assert r[2, I["trend"]] == 0                                       # inside the stable band


def test_dataarray_numpy_equals_dask_and_keeps_grid(rng):
    a = rng.normal(50, 10, (12, 30, 40))
    a[:, 3:6, 5:9] = np.nan
    a[2, 10:20, 10:30] = np.nan
    da = make_da(a).assign_coords(year=np.arange(2010, 2022))
    da.attrs["units"] = "t C/ha"
    r1 = mann_kendall_sen(da)
    r2 = mann_kendall_sen(da.chunk({"year": 4, "y": 7, "x": 11}))
    assert r1.dims == ("stat", "y", "x") and list(r1.stat.values) == list(STATS)
    np.testing.assert_array_equal(r1.values, r2.values)
    assert r1.rio.crs == da.rio.crs and r1.attrs["units"].startswith("t C/ha/yr")
    flat = mann_kendall_sen_array(np.moveaxis(a, 0, -1), np.arange(2010, 2022))
    np.testing.assert_array_equal(r1.values, np.moveaxis(flat, -1, 0))


def test_bad_input_is_a_clear_error():
    da = make_da(np.ones((2, 3, 3))).assign_coords(year=[2000, 2001])
    with pytest.raises(InputError, match="at least 3"):
        mann_kendall_sen(da)
    da = make_da(np.ones((3, 3, 3))).assign_coords(year=[2000, 2002, 2001])
    with pytest.raises(InputError, match="increasing"):
        mann_kendall_sen(da)
    with pytest.raises(InputError, match="one year per layer"):
        mann_kendall_sen(make_da(np.ones((3, 3, 3))), years=[2000, 2001])
    with pytest.raises(InputError, match="min_years"):
        mann_kendall_sen(make_da(np.ones((3, 3, 3))).assign_coords(year=[1, 2, 3]), min_years=2)


@pytest.mark.realdata
def test_pymannkendall_reference_values(realdata_dir):
    ref = json.loads((realdata_dir / "pymannkendall_refs" / "EXPECTED_pymannkendall_tests.json").read_text())
    x = np.array([np.nan if v is None else v for v in ref["arbitrary_1d_data"]], float)
    r = mann_kendall_sen_array(x[None, :], np.arange(x.size))[0]
    exp = ref["expected"]["test_original_test"]["mk.original_test(arbitrary_1d_data)"]
    sen = ref["expected"]["test_sens_slope"]["mk.sens_slope(arbitrary_1d_data)"]
    assert r[I["s"]] == exp["s"]
    assert r[I["var_s"]] == pytest.approx(exp["var_s"], rel=1e-9)
    assert r[I["z"]] == pytest.approx(exp["z"], rel=1e-7)
    assert r[I["p"]] == pytest.approx(exp["p"], rel=1e-7)
    assert r[I["tau"]] == pytest.approx(exp["Tau"], rel=1e-7)
    assert r[I["slope"]] == pytest.approx(sen["slope"], rel=1e-9)
    assert r[I["intercept"]] == pytest.approx(sen["intercept"], rel=1e-9)
    assert r[I["trend"]] == -1  # no significant trend (pymannkendall: 'no trend'), negative slope


@pytest.mark.realdata
def test_meteoswiss_sen_slope_with_gaps_and_day_spacing(realdata_dir):
    d = realdata_dir / "mannkendall_meteoswiss"
    dates = pd.read_csv(d / "Sen_slope_test1_in1.csv").to_numpy()
    vals = pd.read_csv(d / "Sen_slope_test1_in2.csv")["data"].to_numpy(float)
    expected = float(pd.read_csv(d / "Sen_slope_test1_out1.csv", header=None).dropna().to_numpy().ravel()[0])
    t = pd.to_datetime(dict(year=dates[:, 0], month=dates[:, 1], day=dates[:, 2]))
    days = ((t - t.iloc[0]).dt.days).to_numpy(float)
    assert np.isnan(vals).sum() > 1000  # real gaps
    r = mann_kendall_sen_array(vals[None, :], days, parallel=False)[0]
    assert r[I["slope"]] == pytest.approx(expected, rel=1e-12)


# --- Sen's median: the bracketed selection (issue 18) against numpy and the quickselect -----------------------
def _medians(values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    from minecarbon.assess.trend import _median, _median_select

    ours, quick = [], []
    for v in values:
        v = np.ascontiguousarray(v, dtype=np.float64)
        keep = v.copy()
        a, b = np.empty(max(1, v.size)), np.empty(max(1, v.size))
        ours.append(_median(keep, v.size, a, b))
        assert keep.tobytes() == v.tobytes()  # left intact
        quick.append(_median_select(keep, v.size, a, b))
    return np.array(ours), np.array(quick)


def test_sen_median_equals_numpy_median_bit_for_bit(rng):
    cases = []
    for n in (1, 2, 3, 10, 29, 30, 31, 45, 190, 191, 435, 1000):  # below / above the sample, odd and even
        cases += [rng.normal(0, 1, n), np.round(rng.normal(0, 2, n)),  # ties
                  np.sort(rng.normal(0, 1, n)), np.sort(rng.normal(0, 1, n))[::-1],  # sorted input
                  np.full(n, 3.5), rng.choice([-1.0, 2.0], n),  # one value, two values
                  rng.standard_cauchy(n) * 1e6, rng.normal(0, 1, n) * 1e-300]
        if n >= 30:
            v = rng.normal(0, 1, n)
            v[[(2 * q + 1) * n // 30 for q in range(15)]] = -1e3  # every sample value the minimum: the fallback
            cases.append(v)
            w = rng.normal(0, 1, n)
            w[n // 2:] = np.inf  # infinite slopes (huge values over short gaps)
            cases.append(w)
    # + 0.0: no -0.0, which compares equal to 0.0, so that a sort may return either (a pairwise slope is
    # never -0.0: x_j - x_i is +0.0 for equal values)
    cases = [v + 0.0 for v in cases]
    ours, quick = _medians(cases)
    ref = np.array([np.median(v) for v in cases])
    assert ours.tobytes() == ref.tobytes()
    assert ours.tobytes() == quick.tobytes()


def test_kernel_slope_and_intercept_equal_numpy_bit_for_bit(rng):
    a = _adversarial(rng)
    a[:, 0] = np.where(np.isnan(a[:, 0]), 1.0, a[:, 0])  # the first year valid: the intercept's origin
    years = np.arange(2005, 2025, dtype=float)
    r = mann_kendall_sen_array(a, years)
    for i in range(a.shape[0]):
        x = a[i]
        ok = np.isfinite(x)
        if ok.sum() < 3:
            continue
        xv, tv = x[ok], years[ok]
        u, v = np.triu_indices(xv.size, 1)
        slope = np.median((xv[v] - xv[u]) / (tv[v] - tv[u]))
        intercept = np.median(xv) - np.median(tv - years[0]) * slope
        assert r[i, I["slope"]].tobytes() == np.float64(slope).tobytes(), i
        assert r[i, I["intercept"]].tobytes() == np.float64(intercept).tobytes(), i


def test_numpy_stack_function_equals_the_dataarray_function(rng):
    from minecarbon.assess.trend import mann_kendall_sen_stack

    a = _adversarial(rng, n_px=600).T.reshape(20, 20, 30).astype(np.float32)
    years = np.arange(2005, 2025)
    da = make_da(a).assign_coords(year=years)
    ref = mann_kendall_sen(da, alpha=0.1, stable_slope=0.01, min_years=4)
    got = mann_kendall_sen_stack(a, years, alpha=0.1, stable_slope=0.01, min_years=4)
    assert got.dtype == np.float64 and got.shape == ref.shape
    assert got.tobytes() == ref.values.tobytes()
    with pytest.raises(InputError, match=r"The stack \(s\.tif\) has 20 layers but 2 years"):
        mann_kendall_sen_stack(a, [1, 2], what="The stack (s.tif)")
    with pytest.raises(InputError, match="strictly increasing"):
        mann_kendall_sen_stack(a, years[::-1])
    with pytest.raises(InputError, match="alpha"):
        mann_kendall_sen_stack(a, years, alpha=1.5)

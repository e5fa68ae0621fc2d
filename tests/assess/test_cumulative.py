"""Cumulative effect: the MLR recovers a known generating model and the effect equals the known counterfactual."""

import numpy as np
import pytest
import xarray as xr
from _assess_helpers import make_da

from minecarbon.assess import cumulative_effect, effect_grades, fisher_jenks, fit_ideal_model
from minecarbon.errors import InputError

YEARS = list(range(2000, 2013))
FIT = [2000, 2001, 2002, 2003]
# true increment model per forest type: inc = b0 + bT * T + bP * P + bA * AGC(t-1)
TRUE = {1: (0.5, -0.10, 0.004, -0.010), 2: (0.9, -0.05, 0.002, -0.015)}


def _world(seed=0, h=20, w=24):
    rng = np.random.default_rng(seed)
    ny = len(YEARS)
    T = 9 + rng.normal(0, 0.6, (ny, 1, 1)) + rng.normal(0, 0.3, (ny, h, w))
    P = 500 * (1 + rng.normal(0, 0.12, (ny, 1, 1))) + rng.normal(0, 15, (ny, h, w))
    groups = np.where(np.arange(w)[None, :] < w // 2, 1, 2) * np.ones((h, 1), int)
    groups[:3, :3] = 0                                            # non-forest in the base year
    nm = np.zeros((ny, h, w))
    nm[0] = rng.uniform(20, 80, (h, w))
    for i in range(1, ny):
        for g, (b0, bt, bp, ba) in TRUE.items():
            sel = groups == g
            nm[i][sel] = nm[i - 1][sel] + b0 + bt * T[i][sel] + bp * P[i][sel] + ba * nm[i - 1][sel]
        nm[i][groups == 0] = nm[i - 1][groups == 0]
    actual = nm.copy()
    mined = np.zeros((h, w), bool)
    mined[8:14, 5:18] = True                                      # excavated in 2006: AGC 0 from then on
    actual[YEARS.index(2006):, mined] = 0.0
    clim = {"temperature_c": make_da(T).assign_coords(year=YEARS),
            "precipitation_mm": make_da(P).assign_coords(year=YEARS)}
    return make_da(actual).assign_coords(year=YEARS), make_da(nm).assign_coords(year=YEARS), clim, \
        make_da(groups.astype(float)), mined


def test_increment_model_recovers_truth_and_effect_equals_counterfactual():
    agc, nm, clim, groups, mined = _world()
    train = groups > 0
    m = fit_ideal_model(agc, clim, FIT, train, groups, kind="increment", fit="forest_type")
    for g, coef in TRUE.items():
        gf = m.groups[g]
        np.testing.assert_allclose([gf.intercept, *gf.coef], coef, rtol=1e-7, atol=1e-9)
        assert gf.r2 == pytest.approx(1.0)
    ce = cumulative_effect(agc, clim, m, 2000, 2012, groups)
    a0, a1 = agc.sel(year=2000).values, agc.sel(year=2012).values
    np.testing.assert_allclose(ce.sel(layer="actual_t_ha").values, a1 - a0, rtol=1e-6)
    true_effect = (a1 - a0) - (nm.sel(year=2012).values - nm.sel(year=2000).values)
    forest = groups.values > 0
    np.testing.assert_allclose(ce.sel(layer="effect_t_ha").values[forest], true_effect[forest], atol=1e-4)
    assert np.abs(ce.sel(layer="effect_t_ha").values[forest & ~mined]).max() < 1e-4
    assert (ce.sel(layer="effect_t_ha").values[mined] < -20).all()
    # no forest in the base year: no ideal growth
    assert (ce.sel(layer="ideal_t_ha").values[~forest] == 0).all()
    # chunked == unchunked
    ced = cumulative_effect(agc.chunk({"y": 7, "x": 9}), {k: v.chunk({"y": 7, "x": 9}) for k, v in clim.items()},
                            m, 2000, 2012, groups.chunk({"y": 7, "x": 9}))
    np.testing.assert_array_equal(ced.values, ce.values)
    md = fit_ideal_model(agc.chunk({"y": 7}), clim, FIT, train, groups, kind="increment")
    assert md.to_dict() == m.to_dict()


def test_pooled_and_level_models_by_hand():
    agc, nm, clim, groups, _ = _world(1)
    # level form: AGC itself linear in climate
    T, P = clim["temperature_c"], clim["precipitation_mm"]
    lvl = (30 - 2.0 * T + 0.05 * P).where(groups > 0)
    m = fit_ideal_model(lvl, clim, FIT, groups > 0, kind="level", fit="pooled")
    gf = m.groups[-1]
    np.testing.assert_allclose([gf.intercept, *gf.coef], [30, -2.0, 0.05], rtol=1e-8)
    ce = cumulative_effect(lvl, clim, m, 2001, 2010, groups)
    forest = groups.values > 0
    np.testing.assert_allclose(ce.sel(layer="ideal_t_ha").values[forest],
                               (lvl.sel(year=2010) - lvl.sel(year=2001)).values[forest], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ce.sel(layer="effect_t_ha").values[forest], 0, atol=1e-4)


def test_pixel_fit_recovers_each_pixel():
    rng = np.random.default_rng(5)
    h, w, years = 6, 7, list(range(2000, 2009))
    T = make_da(9 + rng.normal(0, 1, (len(years), h, w))).assign_coords(year=years)
    P = make_da(500 + rng.normal(0, 60, (len(years), h, w))).assign_coords(year=years)
    a, b, c = rng.uniform(0.5, 2, (h, w)), rng.uniform(-0.2, 0, (h, w)), rng.uniform(0, 0.004, (h, w))
    agc = np.zeros((len(years), h, w))
    agc[0] = 30
    for i in range(1, len(years)):
        agc[i] = agc[i - 1] + a + b * T.values[i] + c * P.values[i]
    agc = make_da(agc).assign_coords(year=years)
    groups = make_da(np.ones((h, w)))
    m = fit_ideal_model(agc, {"t": T, "p": P}, years[:7], groups > 0, groups, kind="increment", fit="pixel",
                        min_samples=10)
    np.testing.assert_allclose(m.pixel_coef, np.stack([a, b, c]), rtol=1e-6)
    ce = cumulative_effect(agc, {"t": T, "p": P}, m, 2000, 2008, groups)
    np.testing.assert_allclose(ce.sel(layer="effect_t_ha").values, 0, atol=1e-6)


def test_effect_grades():
    rng = np.random.default_rng(2)
    e = make_da(np.concatenate([rng.normal(-30, 8, 300), rng.normal(-2, 3, 900), rng.normal(15, 5, 200)])
                .reshape(35, 40))
    cls, res, s = effect_grades(e, 5, "jenks")
    ref = fisher_jenks(e.values, 5)
    np.testing.assert_array_equal(res.breaks, ref.breaks)
    zc = int(np.searchsorted(ref.breaks[1:-1], 0.0) + 1)
    assert s["zero_class"] == zc and s["middle_contains_zero"] == (zc == 3)
    cls, res, s = effect_grades(e, 5, "signed")
    mag = fisher_jenks(np.abs(e.values), 3)
    np.testing.assert_array_equal(res.breaks, mag.breaks)
    g = cls.values
    low = np.abs(e.values) <= mag.breaks[1]
    assert (g[low] == 3).all() and s["middle_contains_zero"]
    assert (g[~low & (e.values < 0)] < 3).all() and (g[~low & (e.values > 0)] > 3).all()
    assert (g[np.abs(e.values) > mag.breaks[2]] % 4 == 1).all()  # grades 1 and 5
    with pytest.raises(InputError, match="odd"):
        effect_grades(e, 4, "signed")


def test_bad_input():
    agc, nm, clim, groups, _ = _world()
    with pytest.raises(InputError, match="at least 2 pre-mining"):
        fit_ideal_model(agc, clim, [2000], groups > 0, groups)
    with pytest.raises(InputError, match="lacks the year"):
        fit_ideal_model(agc, {"t": clim["temperature_c"].sel(year=[2000, 2002])}, FIT, groups > 0, groups)
    with pytest.raises(InputError, match="groups"):
        fit_ideal_model(agc, clim, FIT, groups > 0, None, fit="forest_type")
    with pytest.raises(InputError, match="No training pixel"):
        fit_ideal_model(agc, clim, FIT, xr.zeros_like(groups, dtype=bool), groups)
    m = fit_ideal_model(agc, clim, FIT, groups > 0, groups)
    with pytest.raises(InputError, match="empty"):
        cumulative_effect(agc, clim, m, 2005, 2005, groups)

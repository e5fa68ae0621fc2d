"""Model-assisted estimation of totals and change (``minecarbon.model.estimation``).

Checked against (a) hand arithmetic written out below, (b) the textbook estimators
computed independently in another form (pi-expansion with the Horvitz-Thompson variance
over all pairs of plots, calibration (g-)weights of the GREG, numpy lstsq for the
regression coefficients, pandas groupby for strata), (c)/(d) Monte-Carlo sampling from
synthetic populations whose true total is known, and (e) every error case.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from minecarbon.errors import InputError, MinecarbonError
from minecarbon.model import (
    ChangeResult,
    EstimationInputError,
    GregResult,
    density,
    greg_change,
    greg_estimate,
)

# ----------------------------------------------------------------------------- (a) by hand

# N = 10 pixels, n = 4 plots, the map sums to 95 over the 10 pixels.
Y = [12.0, 7.0, 9.0, 15.0]
YHAT = [10.0, 8.0, 8.0, 13.0]


def test_difference_by_hand():
    r = greg_estimate(Y, YHAT, 95.0, 10)
    # e = y - yhat = [2, -1, 1, 2]; mean e = 4/4 = 1
    # T = 95 + 10 * 1 = 105
    # s_e^2 = ((2-1)^2 + (-1-1)^2 + (1-1)^2 + (2-1)^2) / 3 = (1 + 4 + 0 + 1) / 3 = 2
    # V = N^2 (1 - n/N) s_e^2 / n = 100 * 0.6 * 2 / 4 = 30
    assert isinstance(r, GregResult)
    assert r.estimate == pytest.approx(105.0, abs=1e-12)
    assert r.se == pytest.approx(math.sqrt(30.0), abs=1e-12)
    assert r.map_total == 95.0 and r.correction == pytest.approx(10.0, abs=1e-12)
    assert (r.n, r.N, r.df, r.method, r.design, r.df_method) == (4, 10, 3, "difference", "srs", "n-1")
    t = stats.t.ppf(0.975, 3)
    assert t == pytest.approx(3.1824, abs=1e-4)  # printed t table, df 3, two-sided 95 %
    assert r.lo == pytest.approx(105.0 - t * math.sqrt(30.0), abs=1e-12)
    assert r.hi == pytest.approx(105.0 + t * math.sqrt(30.0), abs=1e-12)
    (row,) = r.strata
    assert (row.stratum, row.n, row.N, row.a, row.b) == ("all", 4, 10, 0.0, 1.0)
    assert row.variance == pytest.approx(30.0, abs=1e-12)
    assert row.mean_residual == pytest.approx(1.0, abs=1e-12)


def test_regression_by_hand():
    r = greg_estimate(Y, YHAT, 95.0, 10, method="regression")
    # xbar = 39/4 = 9.75, ybar = 43/4 = 10.75
    # dx = [0.25, -1.75, -1.75, 3.25], dy = [1.25, -3.75, -1.75, 4.25]
    # Sxy = 0.3125 + 6.5625 + 3.0625 + 13.8125 = 23.75; Sxx = 0.0625 + 3.0625 + 3.0625 + 10.5625 = 16.75
    # b = 23.75 / 16.75 = 95/67; a = 10.75 - 95/67 * 9.75 = -206/67
    # T = N a + b * 95 = (-2060 + 9025) / 67 = 6965/67
    # Syy = 1.5625 + 14.0625 + 3.0625 + 18.0625 = 36.75; SSE = Syy - Sxy^2/Sxx = 9849/268 - 9025/268 = 206/67
    # V = 100 * 0.6 * SSE / (4 * 2) = 1545/67
    assert r.estimate == pytest.approx(6965 / 67, abs=1e-12)
    assert r.se ** 2 == pytest.approx(1545 / 67, abs=1e-11)
    assert (r.df, r.df_method) == (2, "n-2")
    (row,) = r.strata
    assert row.b == pytest.approx(95 / 67, abs=1e-12)
    assert row.a == pytest.approx(-206 / 67, abs=1e-12)
    assert row.mean_residual == pytest.approx(0.0, abs=1e-12)
    t = stats.t.ppf(0.975, 2)
    assert t == pytest.approx(4.3027, abs=1e-4)  # t table, df 2
    assert r.hi - r.estimate == pytest.approx(t * math.sqrt(1545 / 67), abs=1e-12)


def test_stratified_by_hand():
    # stratum a: the example above (T_a = 105, V_a = 30, df 3)
    # stratum b: N_b = 5, map total 12, y = [3, 4], yhat = [2, 2.5]; e = [1, 1.5], mean 1.25
    #   T_b = 12 + 5 * 1.25 = 18.25; s^2 = (0.25^2 + 0.25^2) / 1 = 0.125
    #   V_b = 25 * (1 - 2/5) * 0.125 / 2 = 0.9375 (df 1)
    # T = 123.25, V = 30.9375; Satterthwaite df = 30.9375^2 / (30^2/3 + 0.9375^2/1)
    #   = 957.12890625 / 300.87890625
    r = greg_estimate(Y + [3.0, 4.0], YHAT + [2.0, 2.5], None, None, strata=list("aaaabb"),
                      stratum_sizes={"a": 10, "b": 5}, stratum_map_totals={"a": 95.0, "b": 12.0})
    assert r.estimate == pytest.approx(123.25, abs=1e-12)
    assert r.se ** 2 == pytest.approx(30.9375, abs=1e-12)
    assert r.df == pytest.approx(957.12890625 / 300.87890625, abs=1e-12)
    assert (r.design, r.df_method, r.n, r.N, r.map_total) == ("stratified", "satterthwaite", 6, 15, 107.0)
    tab = r.strata_table().set_index("stratum")
    assert tab.loc["b", "estimate"] == pytest.approx(18.25, abs=1e-12)
    assert tab.loc["b", "variance"] == pytest.approx(0.9375, abs=1e-12)
    # the same with n_population / map_total given (consistent) and numpy labels
    r2 = greg_estimate(np.array(Y + [3.0, 4.0]), np.array(YHAT + [2.0, 2.5]), 107.0, 15,
                       strata=np.array(list("aaaabb")), stratum_sizes=pd.Series({"a": 10, "b": 5}),
                       stratum_map_totals={"a": 95.0, "b": 12.0})
    assert r2.estimate == r.estimate and r2.se == r.se


def test_change_by_hand():
    # year 0 as above: T0 = 105, V0 = 30, e0 = [2, -1, 1, 2]
    # year 1: y1 = [14, 8, 9, 18], yhat1 = [11, 9, 8, 15], map total 104; e1 = [3, -1, 1, 3], mean 1.5
    #   T1 = 104 + 10 * 1.5 = 119; s^2 = (2.25 + 6.25 + 0.25 + 2.25) / 3 = 11/3; V1 = 15 * 11/3 = 55
    # change: de = e1 - e0 = [1, 0, 0, 1], mean 0.5; T = (104 - 95) + 10 * 0.5 = 14 (= 119 - 105)
    #   s^2 = 4 * 0.25 / 3 = 1/3; V = 15 / 3 = 5
    # cov: sum (e0 - 1)(e1 - 1.5) = 1.5 + 5 + 0 + 1.5 = 8 -> c = 8/3; Cov = 15 * 8/3 = 40
    #   V0 + V1 - 2 Cov = 30 + 55 - 80 = 5; rho = 40 / sqrt(30 * 55)
    y1, yhat1 = [14.0, 8.0, 9.0, 18.0], [11.0, 9.0, 8.0, 15.0]
    c = greg_change(Y, y1, YHAT, yhat1, 95.0, 104.0, 10)
    assert isinstance(c, ChangeResult)
    assert c.estimate == pytest.approx(14.0, abs=1e-12)
    assert c.se == pytest.approx(math.sqrt(5.0), abs=1e-12)
    assert c.map_change == 9.0 and c.correction == pytest.approx(5.0, abs=1e-12)
    assert c.year0.estimate == pytest.approx(105.0, abs=1e-12)
    assert c.year1.estimate == pytest.approx(119.0, abs=1e-12)
    assert c.year1.se == pytest.approx(math.sqrt(55.0), abs=1e-12)
    assert c.se_quadrature == pytest.approx(math.sqrt(85.0), abs=1e-12)
    assert c.residual_correlation == pytest.approx(40.0 / math.sqrt(1650.0), abs=1e-12)
    assert c.stratum_residual_correlation["all"] == pytest.approx(40.0 / math.sqrt(1650.0), abs=1e-12)
    assert c.df == 3 and c.lo == pytest.approx(14.0 - stats.t.ppf(0.975, 3) * math.sqrt(5.0), abs=1e-12)
    assert c.strata_table()["residual_correlation"].iloc[0] == pytest.approx(c.residual_correlation)


def test_scaled_and_density_by_hand():
    # the hand example with y in t C/ha and 0.09 ha pixels (30 m): 105 t C/ha x pixels = 9.45 t C
    r = greg_estimate(Y, YHAT, 95.0, 10).scaled(0.09)
    assert r.estimate == pytest.approx(9.45, abs=1e-12)
    assert r.se == pytest.approx(0.09 * math.sqrt(30.0), abs=1e-12)
    assert r.strata[0].variance == pytest.approx(30.0 * 0.09 ** 2, abs=1e-12)
    d = density(r, 10 * 0.09)  # 10 pixels of 0.09 ha = 0.9 ha
    # mean per ha = 9.45 / 0.9 = 10.5 t C/ha = T / N in the plots' units
    assert d.estimate == pytest.approx(10.5, abs=1e-12)
    assert d.map_value == pytest.approx(9.5, abs=1e-12) and d.correction == pytest.approx(1.0, abs=1e-12)
    assert d.se == pytest.approx(math.sqrt(30.0) / 10, abs=1e-12)
    assert (d.lo, d.hi) == (pytest.approx(r.lo / 0.9, abs=1e-12), pytest.approx(r.hi / 0.9, abs=1e-12))
    c = greg_change(Y, [14.0, 8.0, 9.0, 18.0], YHAT, [11.0, 9.0, 8.0, 15.0], 95.0, 104.0, 10).scaled(0.09)
    dc = density(c, 0.9)
    assert dc.estimate == pytest.approx(1.4, abs=1e-12) and dc.map_value == pytest.approx(0.9, abs=1e-12)
    assert c.year0.estimate == pytest.approx(9.45, abs=1e-12)
    assert r.to_dict()["strata"][0]["stratum"] == "all"
    assert c.to_dict()["year1"]["estimate"] == pytest.approx(119 * 0.09)


# ----------------------------------------------------------------------------- (b) independent forms


def _ht_total_and_variance(e: np.ndarray, N: int) -> tuple[float, float]:
    """pi-expansion sum_s e_i / pi_i and the Horvitz-Thompson variance estimator
    sum_i sum_j (pi_ij - pi_i pi_j) / pi_ij * e_i/pi_i * e_j/pi_j for SRS without replacement:
    pi_i = n/N, pi_ij = n(n-1)/(N(N-1)) for i != j, pi_ii = pi_i."""
    n = e.size
    pi = n / N
    pij = np.full((n, n), n * (n - 1) / (N * (N - 1)))
    np.fill_diagonal(pij, pi)
    z = e / pi
    delta = (pij - pi * pi) / pij
    return float(np.sum(z)), float(z @ delta @ z)


def _population(rng, N):
    y = rng.gamma(4.0, 15.0, N)
    yhat = 0.75 * y + 8.0 + rng.normal(0, 10, N)
    return y, yhat


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_difference_equals_pi_expansion(seed):
    rng = np.random.default_rng(seed)
    N, n = 300, int(rng.integers(5, 60))
    y, yhat = _population(rng, N)
    s = rng.choice(N, n, replace=False)
    r = greg_estimate(y[s], yhat[s], yhat.sum(), N)
    t_e, v = _ht_total_and_variance(y[s] - yhat[s], N)
    assert r.estimate == pytest.approx(yhat.sum() + t_e, rel=1e-12)
    assert r.se ** 2 == pytest.approx(v, rel=1e-9)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_regression_equals_lstsq_and_calibration_weights(seed):
    rng = np.random.default_rng(seed)
    N, n = 400, int(rng.integers(5, 60))
    y, yhat = _population(rng, N)
    s = rng.choice(N, n, replace=False)
    r = greg_estimate(y[s], yhat[s], yhat.sum(), N, method="regression")
    X = np.column_stack([np.ones(n), yhat[s]])
    (a, b), *_ = np.linalg.lstsq(X, y[s], rcond=None)
    assert (r.strata[0].a, r.strata[0].b) == (pytest.approx(a, rel=1e-9), pytest.approx(b, rel=1e-9))
    # GREG as a weighted sum: calibration weights w_i = d_i (1 + x_i' lam), d_i = N/n, with
    # sum_s w_i x_i = (N, sum_U yhat): the g-weight form of the GREG (Sarndal et al. 1992, ch. 6)
    d = N / n
    t_x = np.array([N, yhat.sum()])
    lam = np.linalg.solve(d * X.T @ X, t_x - d * X.sum(axis=0))
    w = d * (1 + X @ lam)
    assert np.allclose(w @ X, t_x, rtol=1e-12)
    assert r.estimate == pytest.approx(float(w @ y[s]), rel=1e-10)
    e = y[s] - X @ np.array([a, b])
    _, v = _ht_total_and_variance(e, N)  # uses the divisor n - 1
    assert r.se ** 2 == pytest.approx(v * (n - 1) / (n - 2), rel=1e-9)


@pytest.mark.parametrize("method", ["difference", "regression"])
def test_stratified_equals_groupby(method):
    rng = np.random.default_rng(11)
    sizes = {"forest": 500, "shrub": 200, 7: 60}
    pops = {h: _population(rng, Nh) for h, Nh in sizes.items()}
    n_h = {"forest": 25, "shrub": 9, 7: 4}
    rows = []
    for h, (y, yhat) in pops.items():
        s = rng.choice(sizes[h], n_h[h], replace=False)
        rows += [(h, y[i], yhat[i]) for i in s]
    df = pd.DataFrame(rows, columns=["h", "y", "yhat"]).sample(frac=1, random_state=3)
    totals = {h: pops[h][1].sum() for h in sizes}
    r = greg_estimate(df.y, df.yhat, None, None, strata=df.h.to_numpy(object), stratum_sizes=sizes,
                      stratum_map_totals=totals, method=method)
    T = V = 0.0
    terms = []
    for h, g in df.groupby("h", sort=False):
        Nh, nh = sizes[h], len(g)
        if method == "difference":
            e = g.y - g.yhat
            Th = totals[h] + Nh * e.mean()
            vh = Nh ** 2 * (1 - nh / Nh) * e.var(ddof=1) / nh
            dfh = nh - 1
        else:
            X = np.column_stack([np.ones(nh), g.yhat])
            coef, *_ = np.linalg.lstsq(X, g.y.to_numpy(), rcond=None)
            Th = Nh * coef[0] + coef[1] * totals[h]
            e = g.y.to_numpy() - X @ coef
            vh = Nh ** 2 * (1 - nh / Nh) * (e @ e) / (nh * (nh - 2))
            dfh = nh - 2
        T += Th
        V += vh
        terms.append(vh ** 2 / dfh)
    df_sat = V ** 2 / sum(terms)
    assert r.estimate == pytest.approx(T, rel=1e-12)
    assert r.se ** 2 == pytest.approx(V, rel=1e-10)
    assert r.df == pytest.approx(df_sat, rel=1e-10)
    t = stats.t.ppf(0.975, df_sat)
    assert r.hi == pytest.approx(T + t * math.sqrt(V), rel=1e-10)
    assert min(n_h.values()) - (1 if method == "difference" else 2) <= r.df <= sum(n_h.values())


def test_change_difference_is_difference_of_years_and_variance_identity():
    rng = np.random.default_rng(21)
    N, n = 800, 30
    y0, yhat0 = _population(rng, N)
    y1 = y0 + rng.normal(5, 3, N)
    yhat1 = yhat0 + 0.6 * (y1 - y0) + rng.normal(0, 2, N)
    s = rng.choice(N, n, replace=False)
    c = greg_change(y0[s], y1[s], yhat0[s], yhat1[s], yhat0.sum(), yhat1.sum(), N)
    assert c.estimate == pytest.approx(c.year1.estimate - c.year0.estimate, rel=1e-12)
    e0, e1 = y0[s] - yhat0[s], y1[s] - yhat1[s]
    rho = np.corrcoef(e0, e1)[0, 1]
    assert c.residual_correlation == pytest.approx(rho, rel=1e-10)
    v = c.year0.se ** 2 + c.year1.se ** 2 - 2 * rho * c.year0.se * c.year1.se
    assert c.se ** 2 == pytest.approx(v, rel=1e-10)
    assert c.se < c.se_quadrature  # map errors persist between years here
    # the single-year estimates are greg_estimate's
    assert c.year1.estimate == greg_estimate(y1[s], yhat1[s], yhat1.sum(), N).estimate
    # regression change: fitted on the plot changes (not the difference of the two fits)
    cr = greg_change(y0[s], y1[s], yhat0[s], yhat1[s], yhat0.sum(), yhat1.sum(), N, method="regression")
    rr = greg_estimate(y1[s] - y0[s], yhat1[s] - yhat0[s], yhat1.sum() - yhat0.sum(), N,
                       method="regression")
    assert (cr.estimate, cr.se) == (rr.estimate, rr.se)


# ----------------------------------------------------------------------------- (c) Monte Carlo

REPS = 2000


def _mc(pop_y, pop_yhat, n, method, seed):
    rng = np.random.default_rng(seed)
    N = pop_y.size
    map_total = float(pop_yhat.sum())
    est, var, cover = np.empty(REPS), np.empty(REPS), 0
    truth = float(pop_y.sum())
    for k in range(REPS):
        s = rng.choice(N, n, replace=False)
        r = greg_estimate(pop_y[s], pop_yhat[s], map_total, N, method=method)
        est[k], var[k] = r.estimate, r.se ** 2
        cover += r.lo <= truth <= r.hi
    return truth, map_total, est, var, cover / REPS


@pytest.mark.parametrize("method", ["difference", "regression"])
def test_monte_carlo_srs_coverage_and_bias(method):
    rng = np.random.default_rng(2024)
    N = 5000
    y = rng.gamma(6.0, 10.0, N)                      # true AGC density, mean ~ 60
    yhat = 0.8 * y + 2.0 + rng.normal(0, 6.0, N)     # map: shrinks towards the mean, ~ -17 % total
    truth, map_total, est, var, cov = _mc(y, yhat, 40, method, seed=7)
    mc_se = est.std(ddof=1) / math.sqrt(REPS)
    assert abs(map_total - truth) > 50 * mc_se            # the map alone is biased
    bias = est.mean() - truth
    if method == "difference":
        assert abs(bias) < 3 * mc_se                       # design-unbiased: within MC error
    else:
        # GREG is only approximately unbiased (bias O(1/n); measured here about -0.04 % of the
        # total, over three sampling seeds); require a bias ratio |bias| / SD below 0.1, the
        # level below which bias does not affect interval coverage (Cochran 1977, sec. 1.8)
        assert abs(bias) < 0.1 * est.std(ddof=1)
    assert 0.93 <= cov <= 0.97
    assert 0.9 < var.mean() / est.var(ddof=1) < 1.1        # the SE is the sampling SD


def test_monte_carlo_stratified_coverage():
    rng = np.random.default_rng(99)
    sizes = {"forest": 3000, "shrub": 1000}
    y = {"forest": rng.gamma(6.0, 12.0, 3000), "shrub": rng.gamma(3.0, 6.0, 1000)}
    yhat = {"forest": 0.8 * y["forest"] + rng.normal(0, 8, 3000),          # too low
            "shrub": 1.3 * y["shrub"] + 5 + rng.normal(0, 3, 1000)}        # too high
    n_h = {"forest": 25, "shrub": 8}
    totals = {h: float(yhat[h].sum()) for h in sizes}
    truth = sum(float(y[h].sum()) for h in sizes)
    labels = np.array(["forest"] * 25 + ["shrub"] * 8, dtype=object)
    srng = np.random.default_rng(5)
    est, cover = np.empty(REPS), 0
    for k in range(REPS):
        idx = {h: srng.choice(sizes[h], n_h[h], replace=False) for h in sizes}
        ys = np.concatenate([y[h][idx[h]] for h in sizes])
        yhs = np.concatenate([yhat[h][idx[h]] for h in sizes])
        r = greg_estimate(ys, yhs, None, None, strata=labels, stratum_sizes=sizes,
                          stratum_map_totals=totals)
        est[k] = r.estimate
        cover += r.lo <= truth <= r.hi
    mc_se = est.std(ddof=1) / math.sqrt(REPS)
    assert abs(sum(totals.values()) - truth) > 20 * mc_se
    assert abs(est.mean() - truth) < 3 * mc_se
    assert 0.93 <= cover / REPS <= 0.97


# ----------------------------------------------------------------------------- (d) paired change


def test_monte_carlo_paired_change():
    rng = np.random.default_rng(31)
    N, n = 5000, 40
    y0 = rng.gamma(6.0, 10.0, N)
    y1 = y0 + rng.normal(4.0, 4.0, N)                      # growth ~ 4 per pixel
    u = rng.normal(0, 8.0, N)                              # pixel error that persists (same in both years)
    yhat0 = 0.8 * y0 + 2.0 + u + rng.normal(0, 3.0, N)
    yhat1 = 0.8 * y1 + 2.0 + u + rng.normal(0, 3.0, N)     # the map under-states growth by 20 %
    truth = float((y1 - y0).sum())
    map_change = float(yhat1.sum() - yhat0.sum())
    srng = np.random.default_rng(8)
    est, se, seq, rho, cover = np.empty(REPS), np.empty(REPS), np.empty(REPS), np.empty(REPS), 0
    for k in range(REPS):
        s = srng.choice(N, n, replace=False)
        c = greg_change(y0[s], y1[s], yhat0[s], yhat1[s], yhat0.sum(), yhat1.sum(), N)
        est[k], se[k], seq[k], rho[k] = c.estimate, c.se, c.se_quadrature, c.residual_correlation
        cover += c.lo <= truth <= c.hi
    mc_se = est.std(ddof=1) / math.sqrt(REPS)
    assert abs(map_change - truth) > 20 * mc_se
    assert abs(est.mean() - truth) < 3 * mc_se
    assert 0.93 <= cover / REPS <= 0.97
    assert rho.mean() > 0.5
    assert np.all(se < seq)
    # the paired SE is much smaller than the independent-samples one, and it is the true SD
    assert se.mean() < 0.6 * seq.mean()
    assert 0.9 < np.mean(se ** 2) / est.var(ddof=1) < 1.1


# ----------------------------------------------------------------------------- (e) errors


def _raises(match, fn, *args, **kw):
    with pytest.raises(EstimationInputError, match=match) as info:
        fn(*args, **kw)
    assert isinstance(info.value, InputError) and isinstance(info.value, MinecarbonError)
    assert isinstance(info.value, ValueError)
    return str(info.value)


STRAT = {"stratum_sizes": {"a": 10, "b": 5}, "stratum_map_totals": {"a": 95.0, "b": 12.0}}


def test_errors_too_few_plots():
    msg = _raises("1 plot", greg_estimate, [1.0], [2.0], 10.0, 5)
    assert "at least 2" in msg
    msg = _raises("stratum 'b'", greg_estimate, Y + [3.0], YHAT + [2.0], None, None,
                  strata=list("aaaab"), **STRAT)
    assert "at least 2" in msg and "add 1 plot" in msg
    msg = _raises("0 plot.*stratum 'b'", greg_estimate, Y, YHAT, None, None, strata=list("aaaa"), **STRAT)
    assert "add 2 plot" in msg
    msg = _raises("at least 3", greg_estimate, [1.0, 2.0], [2.0, 3.0], 10.0, 5, method="regression")
    assert "method='difference'" in msg


def test_errors_values_and_lengths():
    _raises(r"y\[2\] = nan", greg_estimate, [1.0, 2.0, np.nan], [1.0, 2.0, 3.0], 10.0, 5)
    _raises(r"yhat\[0\] = inf", greg_estimate, [1.0, 2.0, 3.0], [np.inf, 2.0, 3.0], 10.0, 5)
    _raises("map_total", greg_estimate, Y, YHAT, float("nan"), 10)
    _raises("map_total", greg_estimate, Y, YHAT, "lots", 10)
    _raises("y: 4, yhat: 3", greg_estimate, Y, YHAT[:3], 95.0, 10)
    _raises("5 labels but there are 4 plots", greg_estimate, Y, YHAT, None, None, strata=list("aaabb"),
            **STRAT)
    _raises(r"y1\[1\]", greg_change, Y, [1.0, np.nan, 2.0, 3.0], YHAT, YHAT, 95.0, 95.0, 10)
    _raises("yhat1: 3", greg_change, Y, Y, YHAT, YHAT[:3], 95.0, 95.0, 10)
    _raises("map_total1", greg_change, Y, Y, YHAT, YHAT, 95.0, None, 10)


def test_errors_population():
    _raises("4 plots but only 3 population units", greg_estimate, Y, YHAT, 95.0, 3)
    _raises("positive whole number", greg_estimate, Y, YHAT, 95.0, 10.5)
    _raises("positive whole number", greg_estimate, Y, YHAT, 95.0, 0)
    _raises("required without strata", greg_estimate, Y, YHAT, 95.0, None)
    _raises("stratum 'b'", greg_estimate, Y + [3.0, 4.0, 5.0], YHAT + [2.0, 2.0, 2.0], None, None,
            strata=list("aaaabbb"), stratum_sizes={"a": 10, "b": 2}, stratum_map_totals={"a": 95.0, "b": 4.0})
    _raises("n_population = 16 but the stratum sizes add up to 15", greg_estimate, Y + [3.0, 4.0],
            YHAT + [2.0, 2.5], None, 16, strata=list("aaaabb"), **STRAT)
    _raises("map_total = 100.0 but the map totals of the strata add up to 107.0", greg_estimate,
            Y + [3.0, 4.0], YHAT + [2.0, 2.5], 100.0, None, strata=list("aaaabb"), **STRAT)


def test_errors_strata_arguments():
    _raises("without strata", greg_estimate, Y, YHAT, 95.0, 10, stratum_sizes={"a": 10})
    _raises("without stratum_sizes", greg_estimate, Y, YHAT, 95.0, 10, strata=list("aaaa"))
    _raises("without stratum_map_totals", greg_estimate, Y, YHAT, None, None, strata=list("aaaa"),
            stratum_sizes={"a": 10})
    _raises(r"missing in stratum_map_totals: \['b'\]", greg_estimate, Y, YHAT, None, None,
            strata=list("aaaa"), stratum_sizes={"a": 10, "b": 5}, stratum_map_totals={"a": 95.0})
    _raises(r"strata \['c'\] that are not in stratum_sizes", greg_estimate, Y + [3.0, 4.0],
            YHAT + [2.0, 2.5], None, None, strata=list("aaaacc"), **STRAT)
    _raises("without stratum_map_totals1", greg_change, Y, Y, YHAT, YHAT, None, None, None,
            strata=list("aaaa"), stratum_sizes={"a": 10}, stratum_map_totals0={"a": 95.0})


def test_errors_method_level_regression_density():
    _raises("method = 'ratio' is unknown", greg_estimate, Y, YHAT, 95.0, 10, method="ratio")
    _raises("level = 95", greg_estimate, Y, YHAT, 95.0, 10, level=95)
    _raises("all equal", greg_estimate, Y, [8.0] * 4, 80.0, 10, method="regression")
    r = greg_estimate(Y, YHAT, 95.0, 10)
    _raises("area_ha = 0", density, r, 0)

"""Monte Carlo plot AGC: same numbers as the per-draw reference loop, analytic SD, coverage with known errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from minecarbon import plots
from minecarbon.allometry import AllometryTable


def _table(residual_sd: str = "") -> AllometryTable:
    frame = pd.DataFrame([
        {"species_group": "P", "component": "aboveground", "form": "power", "a": "0.08", "b": "2.5", "c": "0",
         "output_unit": "kg", "carbon_fraction": "0.5", "source": "t", "status": "user"},
        {"species_group": "Q", "component": "stem", "form": "d2h", "a": "0.05", "b": "0.9",
         "output_unit": "kg", "carbon_fraction": "0.47", "source": "t", "status": "user",
         "residual_sd_log": residual_sd},
        {"species_group": "Q", "component": "leaf", "form": "log_d2h", "a": "-5.3", "b": "0.88",
         "output_unit": "kg", "carbon_fraction": "0.47", "source": "t", "status": "user"},
    ])
    return AllometryTable(frame)


def _stand(n_plots: int, n_trees: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = n_plots * n_trees
    trees = pd.DataFrame({"plot_id": np.repeat(np.arange(n_plots), n_trees).astype(str),
                          "tree_id": np.arange(n).astype(str), "species": rng.choice(["P", "Q"], n),
                          "dbh_cm": rng.uniform(6, 35, n).round(1), "height_m": rng.uniform(4, 20, n).round(1)})
    sheet = pd.DataFrame({"plot_id": np.arange(n_plots).astype(str), "size_m": 30.0})
    return sheet, trees


def _reference_loop(trees: pd.DataFrame, table: AllometryTable, tree_plot, n_plots, draws, seed,
                    dbh_sd=0.5, h_rel=0.05):
    """The original per-draw loop (one draw at a time), kept as the reference."""
    rng = np.random.default_rng(seed)
    d = trees["dbh_cm"].to_numpy(float)
    h = trees["height_m"].to_numpy(float)
    cf = trees["carbon_fraction"].to_numpy(float)
    groups = trees["species_group"].to_numpy()
    sims = np.zeros((draws, n_plots))
    eq_by_group = {g: table.equations_for(g) for g in np.unique(groups)}
    for k in range(draws):
        dk = np.maximum(d + rng.normal(0.0, dbh_sd, d.size), 0.1)
        hk = np.maximum(h * (1.0 + rng.normal(0.0, h_rel, h.size)), 1.31)
        mk = np.zeros(d.size)
        for g, eqs in eq_by_group.items():
            sel = groups == g
            for e in eqs:
                mk[sel] += e.biomass_kg(dk[sel], hk[sel])
        sims[k] = np.bincount(tree_plot, weights=mk * cf, minlength=n_plots)
    return sims


def test_vectorised_draws_equal_the_per_draw_loop_for_any_block_size():
    table = _table()
    _, trees = _stand(7, 30, seed=5)
    t = plots.tree_carbon(trees, table)
    idx = t["plot_id"].astype(int).to_numpy()
    ref = _reference_loop(t, table, idx, 7, draws=60, seed=11)
    for block in (None, 1, 7, 60):
        got = plots.monte_carlo_agc_kg(t, table, idx, 7, draws=60, seed=11, block_draws=block)
        np.testing.assert_array_equal(got, ref)


def test_residual_draws_do_not_depend_on_block_size():
    table = _table(residual_sd="0.3")
    _, trees = _stand(4, 25, seed=2)
    t = plots.tree_carbon(trees, table)
    idx = t["plot_id"].astype(int).to_numpy()
    a = plots.monte_carlo_agc_kg(t, table, idx, 4, draws=40, seed=3, block_draws=3)
    b = plots.monte_carlo_agc_kg(t, table, idx, 4, draws=40, seed=3)
    np.testing.assert_array_equal(a, b)
    # the measurement-error stream is untouched by the residual stream
    no_res = plots.monte_carlo_agc_kg(t, table, idx, 4, draws=40, seed=3, residual_error=False)
    np.testing.assert_array_equal(no_res, _reference_loop(t, table, idx, 4, draws=40, seed=3))


def test_sd_matches_the_delta_method():
    # one tree, AGB = 0.08 D^2.5: SD(AGC) ~ CF * 0.08 * 2.5 * D^1.5 * sd_D (first order);
    # second order adds (b(b-1)/2 * sd^2/D^2)^2 relative variance, far below the 3 % tolerance here
    table = _table()
    sheet = pd.DataFrame({"plot_id": ["a"], "size_m": [100.0]})  # 1 ha: t C/ha == t C
    trees = pd.DataFrame({"plot_id": ["a"], "tree_id": ["1"], "species": ["P"], "dbh_cm": [20.0], "height_m": [10.0]})
    t = plots.tree_carbon(trees, table)
    res = plots.plot_carbon(sheet, t, table, dbh_error_cm=1.0, height_error_rel=0.05, draws=20000, seed=1)
    sd_delta = 0.5 * 0.08 * 2.5 * 20.0 ** 1.5 * 1.0 / 1000.0
    assert res["agc_sd_t_ha"].iloc[0] == pytest.approx(sd_delta, rel=0.03)
    # the 95 % interval of a near-normal draw is +-1.96 SD around the mean
    half = (res["agc_hi95_t_ha"] - res["agc_lo95_t_ha"]).iloc[0] / 2
    assert half == pytest.approx(1.96 * sd_delta, rel=0.05)
    assert res["agc_mc_mean_t_ha"].iloc[0] == pytest.approx(res["agc_t_ha"].iloc[0], rel=0.01)


def test_no_error_gives_a_zero_width_interval():
    table = _table()
    sheet, trees = _stand(3, 10, seed=1)
    t = plots.tree_carbon(trees, table)
    res = plots.plot_carbon(sheet, t, table, dbh_error_cm=0.0, height_error_rel=0.0, draws=20)
    np.testing.assert_allclose(res["agc_lo95_t_ha"], res["agc_t_ha"], rtol=1e-12)
    np.testing.assert_allclose(res["agc_hi95_t_ha"], res["agc_t_ha"], rtol=1e-12)
    np.testing.assert_allclose(res["agc_sd_t_ha"], 0, atol=1e-12)
    assert set(res["mc_error_sources"]) == {"none"}


@pytest.mark.parametrize("with_residual", [False, True])
def test_interval_coverage_with_known_errors(with_residual):
    """Simulated truth, measured with known errors: the 95 % intervals cover the truth ~95 % of the time."""
    sigma = 0.25
    table = _table(residual_sd=str(sigma) if with_residual else "")
    n_plots, n_trees = 300, 15
    sd_d, sd_h = 0.8, 0.08
    rng = np.random.default_rng(42)
    n = n_plots * n_trees
    species = rng.choice(["P", "Q"], n)
    d_true = rng.uniform(6, 35, n)
    h_true = np.maximum(1.3 + 0.9 * d_true ** 0.8 * rng.uniform(0.8, 1.2, n), 2.0)
    agb_true = plots.tree_carbon(pd.DataFrame({"species": species, "dbh_cm": d_true, "height_m": h_true}),
                                 _table())
    stem = np.where(species == "Q", 0.05 * (d_true ** 2 * h_true) ** 0.9, 0.0)
    if with_residual:  # the true stem deviates from its equation by a known log-normal error
        extra = stem * (np.exp(rng.normal(0, sigma, n) - sigma ** 2 / 2) - 1.0)
    else:
        extra = np.zeros(n)
    agc_true = (agb_true["agb_kg"].to_numpy() + extra) * agb_true["carbon_fraction"].to_numpy()
    plot_of = np.repeat(np.arange(n_plots), n_trees)
    truth_t_ha = np.bincount(plot_of, weights=agc_true) / 1000.0 / 0.09
    measured = pd.DataFrame({"plot_id": plot_of.astype(str), "tree_id": np.arange(n).astype(str),
                             "species": species, "dbh_cm": d_true + rng.normal(0, sd_d, n),
                             "height_m": h_true * (1 + rng.normal(0, sd_h, n))})
    sheet = pd.DataFrame({"plot_id": np.arange(n_plots).astype(str), "size_m": 30.0})
    t = plots.tree_carbon(measured, table)
    res = plots.plot_carbon(sheet, t, table, sd_d, sd_h, draws=400, seed=7, residual_error=with_residual)
    inside = (truth_t_ha >= res["agc_lo95_t_ha"]) & (truth_t_ha <= res["agc_hi95_t_ha"])
    # binomial SD of the coverage of 300 plots at p = 0.95 is 0.0126; allow 3 SD
    assert 0.95 - 0.038 <= inside.mean() <= 0.95 + 0.038
    z = (res["agc_t_ha"] - truth_t_ha) / res["agc_sd_t_ha"]
    assert 0.85 < z.std() < 1.15  # the SD is the size of the real error
    if with_residual:
        assert set(res["mc_error_sources"]) == {"dbh;height;residual (partly)"}


def test_wood_density_is_carried_through_the_draws():
    frame = pd.DataFrame([{"species_group": "T", "component": "aboveground", "form": "expr",
                           "expr": "0.0673*(wood_density*height_m*dbh_cm^2)^0.976", "output_unit": "kg",
                           "carbon_fraction": "0.47", "source": "Chave et al. 2014 eq. 4", "status": "user"}])
    table = AllometryTable(frame)
    sheet = pd.DataFrame({"plot_id": ["a"], "size_m": [100.0]})
    trees = pd.DataFrame({"plot_id": ["a", "a"], "tree_id": ["1", "2"], "species": ["T", "T"],
                          "dbh_cm": [30.0, 30.0], "height_m": [20.0, 20.0], "wood_density": [0.5, 0.8]})
    t = plots.tree_carbon(trees, table)
    res = plots.plot_carbon(sheet, t, table, dbh_error_cm=0.0, height_error_rel=0.0, draws=10)
    expected = 0.47 * 0.0673 * ((0.5 * 20 * 900) ** 0.976 + (0.8 * 20 * 900) ** 0.976) / 1000
    assert res["agc_t_ha"].iloc[0] == pytest.approx(expected, rel=1e-13)
    assert res["agc_hi95_t_ha"].iloc[0] == pytest.approx(expected, rel=1e-13)


def test_error_sources_say_what_was_propagated():
    frame = pd.DataFrame([{"species_group": "R", "component": "aboveground", "form": "d2h", "a": "0.05",
                           "b": "0.9", "output_unit": "kg", "carbon_fraction": "0.5", "source": "t",
                           "status": "user", "residual_sd_log": "0.2"}])
    table = AllometryTable(frame)
    sheet = pd.DataFrame({"plot_id": ["a"], "size_m": [30.0]})
    trees = pd.DataFrame({"plot_id": ["a"] * 3, "tree_id": ["1", "2", "3"], "species": ["R"] * 3,
                          "dbh_cm": [10.0, 20.0, 30.0], "height_m": [8.0, 12.0, 16.0]})
    t = plots.tree_carbon(trees, table)
    full = plots.plot_carbon(sheet, t, table, draws=20)
    assert full["mc_error_sources"].iloc[0] == "dbh;height;residual"
    off = plots.plot_carbon(sheet, t, table, dbh_error_cm=0, draws=20, residual_error=False)
    assert off["mc_error_sources"].iloc[0] == "height"
    # residual only: the relative SD of one tree's draws is sqrt(exp(s^2) - 1) of a log-normal with s = 0.2
    one = plots.plot_carbon(sheet, t.iloc[[0]], table, dbh_error_cm=0, height_error_rel=0, draws=20000, seed=2)
    assert one["agc_sd_t_ha"].iloc[0] / one["agc_t_ha"].iloc[0] == pytest.approx((np.exp(0.04) - 1) ** 0.5, rel=0.03)
    assert one["agc_mc_mean_t_ha"].iloc[0] == pytest.approx(one["agc_t_ha"].iloc[0], rel=0.01)  # mean-preserving

"""Benchmark: per-tree AGC and the plot Monte Carlo (1,000 draws) for 100,000 trees.

Compares, in the same run and on the same data:

* per-tree AGB/AGC (:func:`minecarbon.plots.tree_carbon`, shipped table, 9 species groups);
* the Monte Carlo of plot AGC, vectorised as (draws x trees) blocks
  (:func:`minecarbon.plots.monte_carlo_agc_kg`) against the per-draw loop it
  replaced (kept below as the reference), with the same seed: the draws must
  be identical (max |difference| is printed).

No peer library does Monte Carlo allometry for Chinese species in Python; the
closest peer, BIOMASS's ``AGBmonteCarlo`` (R), is not installed here, so the
ratio is against our own per-draw loop.  Times are medians of ``--repeat``
runs (the loop: one run); peak memory of the vectorised Monte Carlo is
measured with tracemalloc.

    .venv/bin/python benchmarks/bench_plots.py [--trees 100000] [--plots 2000] [--draws 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from minecarbon import plots
from minecarbon.allometry import AllometryTable

SPECIES = ["油松", "侧柏", "华北落叶松", "辽东栎", "刺槐", "杨树", "白桦", "樟子松", "云杉"]


def stand(n_trees: int, n_plots: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = rng.uniform(5, 40, n_trees).round(1)
    return pd.DataFrame({"plot_id": np.sort(rng.integers(0, n_plots, n_trees)).astype(str),
                         "tree_id": np.arange(n_trees).astype(str), "species": rng.choice(SPECIES, n_trees),
                         "dbh_cm": d, "height_m": (1.3 + 1.1 * d ** 0.75 * rng.uniform(0.8, 1.2, n_trees)).round(1)})


def per_draw_loop(trees: pd.DataFrame, table: AllometryTable, idx: np.ndarray, n_plots: int, draws: int,
                  seed: int, dbh_sd: float = 0.5, h_rel: float = 0.05) -> np.ndarray:
    """The Monte Carlo before vectorisation: one draw at a time."""
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
        sims[k] = np.bincount(idx, weights=mk * cf, minlength=n_plots)
    return sims


def timed(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", type=int, default=100_000)
    ap.add_argument("--plots", type=int, default=2_000)
    ap.add_argument("--draws", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-loop", action="store_true", help="do not time the per-draw loop")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    table = AllometryTable.default(carbon_fractions={"刺槐": (0.47, "benchmark placeholder")})
    raw = stand(args.trees, args.plots)
    t_tree, trees = timed(lambda: plots.tree_carbon(raw, table), args.repeat)
    idx = trees["plot_id"].astype(int).to_numpy()
    mc = lambda: plots.monte_carlo_agc_kg(trees, table, idx, args.plots, draws=args.draws, seed=0)
    t_vec, sims = timed(mc, args.repeat)
    tracemalloc.start()
    mc()
    peak_mib = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    rows = [("per-tree AGB/AGC (`tree_carbon`)", t_tree, "-", "-")]
    if not args.skip_loop:
        t_loop, ref = timed(lambda: per_draw_loop(trees, table, idx, args.plots, args.draws, seed=0), 1)
        diff = float(np.max(np.abs(ref - sims)))
        rows.append(("Monte Carlo, per-draw loop (before)", t_loop, "1.00", "-"))
        rows.append(("Monte Carlo, vectorised blocks (`monte_carlo_agc_kg`)", t_vec, f"{t_loop / t_vec:.2f}",
                     f"{diff:.1e}"))
    else:
        rows.append(("Monte Carlo, vectorised blocks (`monte_carlo_agc_kg`)", t_vec, "-", "-"))
    print(f"{args.trees:,} trees in {args.plots:,} plots, {len(SPECIES)} species groups (shipped table), "
          f"{args.draws:,} draws; {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; median of {args.repeat} runs (the loop: 1 run)\n")
    print("| step | wall time | speed-up vs loop | max abs diff vs loop (kg C) |")
    print("|---|---|---|---|")
    for name, t, ratio, diff in rows:
        print(f"| {name} | {t:.2f} s | {ratio} | {diff} |")
    print(f"\nPeak traced memory of the vectorised Monte Carlo: {peak_mib:.0f} MiB "
          f"(of which the (draws x plots) result: {args.draws * args.plots * 8 / 2 ** 20:.0f} MiB).")
    print(f"Throughput: {args.trees / t_tree:,.0f} trees/s per-tree AGC; "
          f"{args.trees * args.draws / t_vec:,.0f} tree-draws/s Monte Carlo.")


if __name__ == "__main__":
    main()

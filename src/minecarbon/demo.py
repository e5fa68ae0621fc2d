"""The end-of-demo summary: what was produced, where, the model's scores and agreement with truth."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .config import load_config


def summarise(project: str | Path) -> str:
    """A short plain-text summary of a completed run, read from its outputs."""
    cfg = load_config(project)
    ws = cfg.workspace / "outputs"
    card = json.loads((ws / "model" / "model_card.json").read_text(encoding="utf-8"))
    cv, tr = card["cv_metrics"], card["training_metrics"]
    plots = pd.read_csv(ws / "plots" / "plots_agc.csv")
    totals = pd.read_csv(ws / "assess" / "agc_totals.csv")
    y1, y2 = cfg.reference_year, cfg.compare_year
    t1 = totals.loc[totals["year"] == y1, "agc_t"].sum()
    t2 = totals.loc[totals["year"] == y2, "agc_t"].sum()
    lines = [
        "",
        f"minecarbon results for '{cfg.project.name}' ({cfg.project.start_year}-{cfg.project.end_year})",
        f"  report          {ws / 'report'}/report.html (+ report_zh.html, .pdf, .docx)",
        f"  catalog         {cfg.workspace / 'catalog'} (monitoring database, STAC; 'minecarbon catalog verify')",
        f"  yearly AGC maps {ws / 'map'}/agc_<year>.tif (t C/ha, Cloud-Optimized GeoTIFF)",
        f"  units           {ws / 'units'}/units.gpkg, units_level1.tif, units_level2.tif",
        f"  plots           {len(plots)} plots, mean AGC {plots['agc_t_ha'].mean():.1f} t C/ha "
        f"({ws / 'plots'}/plots_agc.csv)",
        f"  model           {card['learner']}, {card['n_plots']} plots, {card['cv']['folds']}-fold CV: "
        f"R2 {cv['r2']:.3f}, RMSE {cv['rmse']:.2f} t C/ha (training fit R2 {tr['r2']:.3f})",
        f"  AGC stock       maps: {t1:,.0f} t C in {y1} -> {t2:,.0f} t C in {y2} ({t2 - t1:+,.0f} t C)",
    ]
    epath = ws / "map" / "agc_unit_estimates.csv"
    est = pd.read_csv(epath) if epath.exists() else pd.DataFrame()
    chg = est[(est["kind"] == "change") & (est["level"] == "all")] if len(est) else est
    if len(chg) and pd.notna(chg["estimate_t"].iloc[0]):
        r = chg.iloc[0]
        basis = "design-based" if str(r["interval_basis"]).startswith("design") else "model-based"
        lines.append(f"  change          {r['estimate_t']:+,.0f} t C {int(r['year0'])}->{int(r['year1'])}, 95 % "
                     f"interval {r['lo_t']:+,.0f} to {r['hi_t']:+,.0f} (model-assisted, {int(r['n_plots'])} "
                     f"re-measured plots, {basis}; {epath.name})")
    vpath = ws / "assess" / "validation_truth.csv"
    val = pd.read_csv(vpath) if vpath.exists() else pd.DataFrame()
    if len(val):
        lines.append(f"  vs truth        pixel R2 {val['r2'].min():.3f}-{val['r2'].max():.3f}, RMSE "
                     f"{val['rmse'].min():.2f}-{val['rmse'].max():.2f} t C/ha over {len(val)} years; "
                     f"total bias {100 * (val['total_est_t'].sum() / val['total_truth_t'].sum() - 1):+.1f} %")
    cpath = ws / "assess" / "validation_change.csv"
    ch = pd.read_csv(cpath) if cpath.exists() else pd.DataFrame()
    allc = ch[(ch["level"] == "all") & (ch["year0"] == y1) & (ch["year1"] == y2)] if len(ch) else ch
    if len(allc):
        r = allc.iloc[0]
        lines.append(f"  change vs truth maps {r['map_change_t']:+,.0f} t C, truth {r['truth_change_t']:+,.0f} t C "
                     f"(sign {'right' if r['sign_agrees'] else 'WRONG'}; per-pixel change R2 "
                     f"{r['pixel_change_r2']:.2f}; {cpath.name})")
        if len(chg) and "truth_t" in chg.columns and pd.notna(chg["estimate_t"].iloc[0]):
            lines.append(f"                  model-assisted {chg['estimate_t'].iloc[0]:+,.0f} t C, truth "
                         f"{chg['truth_t'].iloc[0]:+,.0f} t C")
    return "\n".join(lines)

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
        f"  AGC stock       {t1:,.0f} t C in {y1} -> {t2:,.0f} t C in {y2} ({t2 - t1:+,.0f} t C)",
    ]
    vpath = ws / "assess" / "validation_truth.csv"
    val = pd.read_csv(vpath) if vpath.exists() else pd.DataFrame()
    if len(val):
        lines.append(f"  vs truth        pixel R2 {val['r2'].min():.3f}-{val['r2'].max():.3f}, RMSE "
                     f"{val['rmse'].min():.2f}-{val['rmse'].max():.2f} t C/ha over {len(val)} years; "
                     f"total bias {100 * (val['total_est_t'].sum() / val['total_truth_t'].sum() - 1):+.1f} %")
    return "\n".join(lines)

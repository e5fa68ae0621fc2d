"""The monitoring report: a self-contained HTML file built from the stage outputs.

Every number in the text is read from the workspace outputs (never typed in);
figures are rendered with matplotlib and embedded as base64 PNG so the file
opens offline.  User-supplied strings are escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .. import __version__, units  # noqa: E402
from ..io import open_raster  # noqa: E402
from ..io.atomic import atomic_write_text  # noqa: E402

UNIT_COLORS = {1: "#1b7837", 2: "#fdb863", 3: "#b2182b", 4: "#5aae61", 5: "#8073ac"}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _extent(da):
    left, bottom, right, top = da.rio.bounds()
    return [left, right, bottom, top]


def _map(da, title: str, cmap: str, label: str, vmin=None, vmax=None, boundary=None, plots_xy=None) -> str:
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(np.asarray(da.values, dtype=float), extent=_extent(da), cmap=cmap, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    if boundary is not None:
        boundary.boundary.plot(ax=ax, color="black", linewidth=0.8)
    if plots_xy is not None:
        ax.scatter(plots_xy[0], plots_xy[1], s=8, c="k", marker="s", label="plots")
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    cb.set_label(label)
    ax.set_title(title, fontsize=10)
    _decorate(ax, da)
    return _png(fig)


def _decorate(ax, da) -> None:
    """Scale bar, north arrow and CRS label."""
    left, bottom, right, top = da.rio.bounds()
    width = right - left
    bar = 10 ** np.floor(np.log10(width / 4))
    x0, y0 = left + 0.05 * width, bottom + 0.05 * (top - bottom)
    ax.plot([x0, x0 + bar], [y0, y0], color="k", linewidth=3)
    ax.text(x0 + bar / 2, y0 + 0.02 * (top - bottom), f"{bar / 1000:g} km", ha="center", fontsize=7)
    ax.annotate("N", xy=(0.93, 0.95), xytext=(0.93, 0.83), xycoords="axes fraction", ha="center",
                fontsize=9, arrowprops={"arrowstyle": "->"})
    ax.set_xlabel(f"x (m), {da.rio.crs.to_string() if da.rio.crs else ''}", fontsize=7)
    ax.tick_params(labelsize=6)


def _units_map(l1, boundary, plots_df) -> str:
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    arr = np.asarray(l1.values, dtype=float)
    arr[(arr == 0) | (arr == 255)] = np.nan
    cmap = ListedColormap([UNIT_COLORS[k] for k in range(1, 6)])
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    ax.imshow(arr, extent=_extent(l1), cmap=cmap, vmin=0.5, vmax=5.5, interpolation="nearest")
    boundary.boundary.plot(ax=ax, color="black", linewidth=0.8)
    ax.scatter(plots_df["x"], plots_df["y"], s=9, c="k", marker="s")
    ax.legend(handles=[Patch(color=UNIT_COLORS[k], label=units.L1_NAMES[k][0]) for k in range(1, 6)]
              + [Patch(color="k", label="plots")], fontsize=6, loc="lower right")
    ax.set_title("Level-1 assessment units and plots", fontsize=10)
    _decorate(ax, l1)
    return _png(fig)


def build_report(ctx) -> Path:
    """Render ``outputs/report/report.html`` from the outputs of the other stages."""
    from ..io import read_vector

    cfg = ctx.cfg
    out = ctx.out("html")
    ws = ctx.workspace / "outputs"
    years = cfg.project.years
    y1, y2 = cfg.reference_year, cfg.compare_year
    card = json.loads((ws / "model" / "model_card.json").read_text(encoding="utf-8"))
    plots_df = pd.read_csv(ws / "plots" / "plots_agc.csv", dtype={"plot_id": str})
    per_unit = pd.read_csv(ws / "plots" / "plots_per_unit.csv")
    allom = pd.read_csv(ws / "plots" / "allometry_used.csv")
    training = pd.read_csv(ws / "model" / "training_table.csv", dtype={"plot_id": str})
    totals = pd.read_csv(ws / "assess" / "agc_totals.csv")
    zonal = pd.read_csv(ws / "assess" / "zonal_stats.csv")
    validation = pd.read_csv(ws / "assess" / "validation_truth.csv")
    areas = pd.read_csv(ws / "units" / "unit_areas.csv")
    area_gdf = read_vector(ws / "units" / "monitoring_area.gpkg")
    boundary = read_vector(cfg.path(cfg.area.boundary), target_crs=area_gdf.crs)
    l1 = open_raster(ws / "units" / "units_level1.tif", chunks=None, masked=False).isel(band=0)
    a1 = open_raster(ws / "map" / f"agc_{y1}.tif", chunks=None).isel(band=0)
    a2 = open_raster(ws / "map" / f"agc_{y2}.tif", chunks=None).isel(band=0)
    amount = open_raster(ws / "assess" / "change_amount.tif", chunks=None).isel(band=0)
    vmax = float(np.nanpercentile(np.concatenate([np.asarray(a1.values).ravel(),
                                                  np.asarray(a2.values).ravel()]), 99)) or 1.0
    lim = float(np.nanpercentile(np.abs(np.asarray(amount.values)), 99)) or 1.0
    figs = {
        "units": _units_map(l1, boundary, plots_df),
        "agc1": _map(a1, f"AGC {y1} (t C/ha)", "YlGn", "t C/ha", 0, vmax, boundary),
        "agc2": _map(a2, f"AGC {y2} (t C/ha)", "YlGn", "t C/ha", 0, vmax, boundary),
        "change": _map(amount, f"AGC change {y1}-{y2} (t C/ha)", "RdBu", "t C/ha", -lim, lim, boundary),
    }
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.scatter(training["agc_t_ha"], training["agc_cv_pred_t_ha"], s=12)
    m = float(max(training["agc_t_ha"].max(), training["agc_cv_pred_t_ha"].max())) * 1.05
    ax.plot([0, m], [0, m], "k--", linewidth=0.8)
    ax.set_xlabel("plot AGC (t C/ha)")
    ax.set_ylabel("cross-validated prediction (t C/ha)")
    ax.set_title("Model: observed vs cross-validated", fontsize=10)
    figs["scatter"] = _png(fig)
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    for code, g in totals.groupby("unit_l1"):
        ax.plot(g["year"], g["agc_t"], marker="o", markersize=3, label=units.L1_NAMES[int(code)][0],
                color=UNIT_COLORS[int(code)])
    ax.set_xlabel("year")
    ax.set_ylabel("AGC stock (t C)")
    ax.legend(fontsize=7)
    ax.set_title("AGC stock per level-1 unit", fontsize=10)
    figs["totals"] = _png(fig)
    if len(validation):
        fig, ax = plt.subplots(figsize=(6.0, 3.0))
        ax.plot(validation["year"], validation["total_truth_t"], label="truth", marker="o", markersize=3)
        ax.plot(validation["year"], validation["total_est_t"], label="estimated", marker="s", markersize=3)
        ax.set_ylabel("total AGC (t C)")
        ax.legend(fontsize=7)
        ax.set_title("Total AGC in forest units: estimated vs truth", fontsize=10)
        figs["validation"] = _png(fig)

    z2 = zonal[(zonal["level"] == "level2") & zonal["layer"].isin([f"agc_{y1}", f"agc_{y2}", "change_amount",
                                                                    "change_degree"])]
    tot_y1 = totals[totals["year"] == y1]["agc_t"].sum()
    tot_y2 = totals[totals["year"] == y2]["agc_t"].sum()
    env = jinja2.Environment(loader=jinja2.PackageLoader("minecarbon", "report/templates"),
                             autoescape=jinja2.select_autoescape(["html"]))
    env.filters["f"] = lambda v, nd=2: "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) \
        else f"{v:,.{nd}f}"
    html = env.get_template("report.html.j2").render(
        cfg=cfg, version=__version__, years=years, y1=y1, y2=y2, card=card, figs=figs,
        plots=plots_df.to_dict("records"), per_unit=per_unit.to_dict("records"),
        allom=allom.to_dict("records"), zonal=z2.to_dict("records"), validation=validation.to_dict("records"),
        areas=areas.to_dict("records"), area_ha=float(area_gdf.geometry.area.sum() / 10000.0),
        boundary_ha=float(boundary.geometry.area.sum() / 10000.0), tot_y1=tot_y1, tot_y2=tot_y2,
        n_plots=len(plots_df), n_trees=int(plots_df["n_trees"].sum()),
        mean_plot_agc=float(plots_df["agc_t_ha"].mean()),
    )
    atomic_write_text(out, html)
    return out

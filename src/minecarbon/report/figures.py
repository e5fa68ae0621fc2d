"""Figures of the report (matplotlib, object API, no global state), returned as PNG bytes.

Every map carries a legend or colour bar with units, a scale bar, a north
arrow (grid north of the projected CRS), the CRS and the mine boundary.
Labels come from the caller in the report's language; Chinese is drawn with
the CJK font of :mod:`minecarbon.report.fonts` (DejaVu Sans for Latin text).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Sequence

import matplotlib
import matplotlib.lines
import matplotlib.patches
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .fonts import FontFile, matplotlib_rc

DPI = 110
FULL_W = 6.6
"""Width (inches) of a full-width figure."""

UNIT_COLORS = {1: "#1b7837", 2: "#f1a340", 3: "#b2182b", 4: "#7fbc41", 5: "#8073ac"}
TREND_COLORS = {-2: "#b2182b", -1: "#f4a582", 0: "#e0e0e0", 1: "#a6dba0", 2: "#1b7837"}
EFFECT_COLORS = {1: "#b2182b", 2: "#f4a582", 3: "#e0e0e0", 4: "#92c5de", 5: "#2166ac"}
GI_COLORS = {-3: "#2166ac", -2: "#67a9cf", -1: "#d1e5f0", 0: "#f0f0f0", 1: "#fddbc7", 2: "#ef8a62", 3: "#b2182b"}


@dataclass
class MapLabels:
    """Words drawn on every map, in the report's language."""

    north: str
    easting: str
    northing: str
    boundary: str
    area: str
    plots: str = ""


def nice_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^k m) of about a quarter of the map width."""
    target = width_m / 4.0
    k = 10 ** math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * k <= target:
            return m * k
    return k


def crs_label(crs) -> str:
    """'EPSG:32649 · WGS 84 / UTM zone 49N' (what a GIS user recognises)."""
    if crs is None:
        return ""
    try:
        from pyproj import CRS

        c = CRS.from_user_input(crs)
        epsg = c.to_epsg()
        return f"EPSG:{epsg} · {c.name}" if epsg else c.name
    except Exception:
        return str(crs)


class Figures:
    """Makes the report's figures in one language.

    Parameters
    ----------
    font : the CJK font (None when the text has no Chinese).
    labels : map words in the report's language.
    """

    def __init__(self, font: FontFile | None, labels: MapLabels) -> None:
        self.rc = matplotlib_rc(font)
        self.labels = labels

    # -- plumbing --------------------------------------------------------------------------
    def _new(self, w: float, h: float) -> Figure:
        with matplotlib.rc_context(self.rc):
            return Figure(figsize=(w, h), dpi=DPI, layout="constrained")

    def _png(self, fig: Figure) -> bytes:
        buf = io.BytesIO()
        with matplotlib.rc_context(self.rc):
            fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
        return buf.getvalue()

    @staticmethod
    def _outline(ax, gdf, **kw) -> None:
        """Polygon outlines (exterior and holes) as one line collection (faster than GeoDataFrame.plot)."""
        from matplotlib.collections import LineCollection
        from shapely import get_parts

        segs = []
        for geom in get_parts(gdf.geometry.to_numpy()):
            if geom is None or geom.is_empty:
                continue
            if geom.geom_type == "Polygon":
                rings = [geom.exterior, *geom.interiors]
            else:
                rings = [geom]
            segs += [np.asarray(r.coords)[:, :2] for r in rings]
        ax.add_collection(LineCollection(segs, **kw))

    # -- map furniture -----------------------------------------------------------------------
    def _furniture(self, ax, bounds: Sequence[float], crs, boundary=None, area=None) -> None:
        left, bottom, right, top = bounds
        if area is not None and len(area):
            self._outline(ax, area, colors="0.35", linewidths=0.7, linestyles="--", zorder=3)
        if boundary is not None and len(boundary):
            self._outline(ax, boundary, colors="black", linewidths=1.1, zorder=3)
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, top)
        w, h = right - left, top - bottom
        bar = nice_length(w)
        x0, y0 = left + 0.05 * w, bottom + 0.05 * h
        ax.add_patch(matplotlib.patches.Rectangle((x0 - 0.025 * w, y0 - 0.025 * h), bar + 0.09 * w, 0.11 * h,
                                                  facecolor="white", edgecolor="0.6", linewidth=0.4, alpha=0.85,
                                                  zorder=5))
        seg = bar / 2
        for i, color in enumerate(("black", "white")):
            ax.add_patch(matplotlib.patches.Rectangle((x0 + i * seg, y0), seg, 0.018 * h, facecolor=color,
                                                      edgecolor="black", linewidth=0.6, zorder=6))
        label = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
        ax.text(x0, y0 + 0.03 * h, "0", fontsize=6.5, ha="center", va="bottom", zorder=6)
        ax.text(x0 + bar, y0 + 0.03 * h, label, fontsize=6.5, ha="center", va="bottom", zorder=6)
        ax.add_patch(matplotlib.patches.FancyBboxPatch((0.905, 0.775), 0.07, 0.205, transform=ax.transAxes,
                                                       boxstyle="round,pad=0.005", facecolor="white",
                                                       edgecolor="0.6", linewidth=0.4, alpha=0.85, zorder=5))
        ax.annotate("", xy=(0.94, 0.965), xytext=(0.94, 0.85), xycoords="axes fraction",
                    arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.3}, zorder=6)
        ax.text(0.94, 0.835, self.labels.north, transform=ax.transAxes, ha="center", va="top", fontsize=8,
                zorder=6)
        ax.set_xlabel(f"{self.labels.easting} (m) — {crs_label(crs)}", fontsize=6.5)
        ax.set_ylabel(f"{self.labels.northing} (m)", fontsize=6.5)
        ax.tick_params(labelsize=5.5)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.ticklabel_format(style="plain", useOffset=False)
        ax.set_aspect("equal")

    @staticmethod
    def _extent(da) -> list[float]:
        left, bottom, right, top = da.rio.bounds()
        return [left, right, bottom, top]

    # -- maps -----------------------------------------------------------------------------------
    def continuous_map(self, da, title: str, cbar_label: str, cmap: str = "YlGn", vmin=None, vmax=None,
                       boundary=None, area=None, points=None, diverging: bool = False) -> bytes:
        """A map of a continuous layer with a colour bar labelled with its units."""
        fig = self._new(FULL_W * 0.78, FULL_W * 0.62)
        with matplotlib.rc_context(self.rc):
            ax = fig.add_subplot()
            vals = np.asarray(da.values, dtype=float)
            if diverging:
                lim = float(np.nanpercentile(np.abs(vals), 99)) if np.isfinite(vals).any() else 1.0
                vmin, vmax = -(lim or 1.0), (lim or 1.0)
            im = ax.imshow(vals, extent=self._extent(da), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if points is not None and len(points):
                ax.scatter(points[0], points[1], s=7, c="black", marker="s", linewidths=0, zorder=4,
                           label=self.labels.plots)
            cb = fig.colorbar(im, ax=ax, shrink=0.82, pad=0.02)
            cb.set_label(cbar_label, fontsize=7)
            cb.ax.tick_params(labelsize=6)
            ax.set_title(title, fontsize=9)
            self._furniture(ax, da.rio.bounds(), da.rio.crs, boundary, area)
        return self._png(fig)

    def class_map(self, da, classes: dict[int, tuple[str, str]], title: str, legend_title: str,
                  boundary=None, area=None, points=None, show_absent: bool = False) -> bytes:
        """A map of class codes; ``classes`` maps code -> (label, colour); the legend lists present classes."""
        from matplotlib.colors import BoundaryNorm, ListedColormap
        from matplotlib.patches import Patch

        vals = np.asarray(da.values, dtype=float)
        codes = sorted(classes)
        present = set(np.unique(vals[np.isfinite(vals)]).astype(int).tolist())
        index = np.full(vals.shape, np.nan)
        for i, c in enumerate(codes):
            index[vals == c] = i
        cmap = ListedColormap([classes[c][1] for c in codes])
        norm = BoundaryNorm(np.arange(-0.5, len(codes) + 0.5, 1.0), cmap.N)
        fig = self._new(FULL_W * 0.88, FULL_W * 0.6)
        with matplotlib.rc_context(self.rc):
            ax = fig.add_subplot()
            ax.imshow(index, extent=self._extent(da), cmap=cmap, norm=norm, interpolation="nearest")
            handles = [Patch(facecolor=classes[c][1], edgecolor="0.5", linewidth=0.4, label=classes[c][0])
                       for c in codes if show_absent or c in present]
            if points is not None and len(points):
                ax.scatter(points[0], points[1], s=7, c="black", marker="s", linewidths=0, zorder=4)
                handles.append(matplotlib.lines.Line2D([], [], color="black", marker="s", linestyle="",
                                                       markersize=3, label=self.labels.plots))
            handles.append(matplotlib.lines.Line2D([], [], color="black", linewidth=1.1, label=self.labels.boundary))
            if area is not None:
                handles.append(matplotlib.lines.Line2D([], [], color="0.35", linewidth=0.7, linestyle="--",
                                                       label=self.labels.area))
            ax.legend(handles=handles, title=legend_title, fontsize=6, title_fontsize=6.5, loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), frameon=False)
            ax.set_title(title, fontsize=9)
            self._furniture(ax, da.rio.bounds(), da.rio.crs, boundary, area)
        return self._png(fig)

    def map_panels(self, layers: list[tuple[str, object]], cbar_label: str, cmap: str = "YlGn",
                   boundary=None, area=None) -> bytes:
        """Small multiples of one variable (e.g. AGC in several years) with one shared colour bar."""
        n = len(layers)
        vals = np.concatenate([np.asarray(d.values, dtype=float).ravel() for _, d in layers])
        vmax = float(np.nanpercentile(vals, 99)) if np.isfinite(vals).any() else 1.0
        fig = self._new(FULL_W, FULL_W * 0.42 if n > 1 else FULL_W * 0.62)
        with matplotlib.rc_context(self.rc):
            axes = fig.subplots(1, n, squeeze=False)[0]
            im = None
            for ax, (title, da) in zip(axes, layers):
                im = ax.imshow(np.asarray(da.values, dtype=float), extent=self._extent(da), cmap=cmap, vmin=0,
                               vmax=vmax or 1.0, interpolation="nearest")
                ax.set_title(title, fontsize=8)
                self._furniture(ax, da.rio.bounds(), da.rio.crs, boundary, area)
                ax.set_xlabel("")
                if ax is not axes[0]:
                    ax.set_ylabel("")
            fig.supxlabel(f"{self.labels.easting} (m) — {crs_label(layers[0][1].rio.crs)}", fontsize=6.5)
            cb = fig.colorbar(im, ax=list(axes), shrink=0.75, pad=0.02)
            cb.set_label(cbar_label, fontsize=7)
            cb.ax.tick_params(labelsize=6)
        return self._png(fig)

    # -- charts ------------------------------------------------------------------------------------
    def time_series(self, series: list[tuple[str, str, pd.DataFrame]], xlabel: str, ylabel: str,
                    title: str, lo: str | None = None, hi: str | None = None, y: str = "value",
                    band_label: str = "") -> bytes:
        """Lines over years; ``series`` is (label, colour, frame with 'year', ``y`` [, lo, hi]) per line."""
        fig = self._new(FULL_W, FULL_W * 0.45)
        with matplotlib.rc_context(self.rc):
            ax = fig.add_subplot()
            for label, color, df in series:
                df = df.sort_values("year")
                ax.plot(df["year"], df[y], marker="o", markersize=3, color=color, label=label, linewidth=1.3)
                if lo and hi and lo in df and hi in df:
                    ax.fill_between(df["year"], df[lo], df[hi], color=color, alpha=0.18, linewidth=0)
            if lo and hi and band_label:
                ax.fill_between([], [], [], color="0.5", alpha=0.25, label=band_label)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return self._png(fig)

    def scatter(self, x, y, xlabel: str, ylabel: str, title: str, stats: str = "",
                groups=None, group_colors: dict | None = None) -> bytes:
        """Observed vs predicted with the 1:1 line."""
        fig = self._new(FULL_W * 0.6, FULL_W * 0.56)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        with matplotlib.rc_context(self.rc):
            ax = fig.add_subplot()
            if groups is None:
                ax.scatter(x, y, s=14, color="#2166ac", alpha=0.85, linewidths=0)
            else:
                g = pd.Series(list(groups))
                for i, (name, idx) in enumerate(g.groupby(g).groups.items()):
                    color = (group_colors or {}).get(name, matplotlib.colormaps["tab10"](i % 10))
                    ax.scatter(x[list(idx)], y[list(idx)], s=14, color=color, alpha=0.85, linewidths=0,
                               label=str(name))
                ax.legend(fontsize=6, frameon=False)
            fin = np.isfinite(x) & np.isfinite(y)
            top = float(max(x[fin].max(), y[fin].max())) * 1.05 if fin.any() else 1.0
            low = min(0.0, float(min(x[fin].min(), y[fin].min()))) if fin.any() else 0.0
            ax.plot([low, top], [low, top], color="0.3", linestyle="--", linewidth=0.8)
            ax.set_xlim(low, top)
            ax.set_ylim(low, top)
            ax.set_aspect("equal")
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            if stats:
                ax.text(0.04, 0.96, stats, transform=ax.transAxes, va="top", fontsize=7,
                        bbox={"facecolor": "white", "edgecolor": "0.7", "pad": 2})
        return self._png(fig)

    def histograms(self, groups: list[tuple[str, str, np.ndarray]], xlabel: str, ylabel: str, title: str,
                   symmetric: bool = True) -> bytes:
        """Histograms (step lines) of values per group, e.g. change amount per level-1 unit."""
        fig = self._new(FULL_W, FULL_W * 0.42)
        allv = np.concatenate([v[np.isfinite(v)] for _, _, v in groups]) if groups else np.array([0.0])
        if allv.size == 0:
            allv = np.array([0.0])
        lo, hi = np.percentile(allv, [0.5, 99.5])
        if symmetric:
            m = max(abs(lo), abs(hi)) or 1.0
            lo, hi = -m, m
        if hi <= lo:
            hi = lo + 1.0
        bins = np.linspace(lo, hi, 41)
        with matplotlib.rc_context(self.rc):
            ax = fig.add_subplot()
            for label, color, v in groups:
                v = v[np.isfinite(v)]
                if v.size:
                    ax.hist(np.clip(v, lo, hi), bins=bins, histtype="step", linewidth=1.4, color=color,
                            label=f"{label} (n = {v.size})")
            ax.axvline(0, color="0.3", linewidth=0.8, linestyle="--")
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return self._png(fig)

    def boxplot(self, groups: list[tuple[str, np.ndarray]], ylabel: str, title: str) -> bytes:
        """Box plots with the points, e.g. plot AGC per forest type."""
        fig = self._new(FULL_W * 0.8, FULL_W * 0.45)
        with matplotlib.rc_context(self.rc):
            ax = fig.add_subplot()
            data = [v[np.isfinite(v)] for _, v in groups]
            ax.boxplot(data, showfliers=False, widths=0.5)
            rng = np.random.default_rng(0)  # jitter of the points only
            for i, v in enumerate(data, start=1):
                ax.scatter(i + rng.uniform(-0.12, 0.12, v.size), v, s=8, color="#2166ac", alpha=0.7, linewidths=0)
            ax.set_xticks(range(1, len(groups) + 1), [f"{g}\n(n = {d.size})" for (g, _), d in zip(groups, data)])
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.grid(axis="y", alpha=0.3)
        return self._png(fig)

    def stacked_shares(self, table: pd.DataFrame, colors: dict, labels: dict, xlabel: str, title: str,
                       legend_title: str) -> bytes:
        """Horizontal stacked bars: rows = units, columns = class codes, values = share of area (%)."""
        fig = self._new(FULL_W, 0.45 + 0.32 * max(len(table), 1) + 0.4)
        with matplotlib.rc_context(self.rc):
            ax = fig.add_subplot()
            left = np.zeros(len(table))
            for code in table.columns:
                v = table[code].to_numpy(dtype=float)
                ax.barh(range(len(table)), v, left=left, color=colors.get(code, "0.6"), edgecolor="white",
                        linewidth=0.4, label=labels.get(code, str(code)))
                left += v
            ax.set_yticks(range(len(table)), [str(i) for i in table.index])
            ax.invert_yaxis()
            ax.set_xlim(0, 100)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.legend(title=legend_title, fontsize=6, title_fontsize=6.5, loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), frameon=False)
        return self._png(fig)

    def bars(self, names: list[str], values: list[float], xlabel: str, title: str, color: str = "#2166ac") -> bytes:
        """Horizontal bars (e.g. feature importance)."""
        fig = self._new(FULL_W * 0.75, 0.5 + 0.22 * max(len(names), 1))
        with matplotlib.rc_context(self.rc):
            ax = fig.add_subplot()
            ax.barh(range(len(names)), values, color=color)
            ax.set_yticks(range(len(names)), names)
            ax.invert_yaxis()
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
        return self._png(fig)

"""Key figures and chapters 1-3: basic situation, mineral development, monitoring extent and plot layout.

A mixin of :class:`~minecarbon.report.build.ReportBuilder` (its methods moved whole from ``build.py``):
it lays out results read from the monitoring database (``self.d``) with the builder's writing helpers
(``self.t``, ``self.para``, ``self.table``, ``self.optional`` ...)."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from .. import units
from .document import KeyFigures
from .figures import UNIT_COLORS

__all__ = ["SiteChapters"]


def _l2_palette(codes: Iterable[int]) -> dict[int, str]:
    shades = {10: "#1b7837", 20: "#fee391", 21: "#fee391", 22: "#fec44f", 23: "#ec7014", 30: "#fb6a4a",
              31: "#fb6a4a", 32: "#cb181d", 33: "#67000d", 40: "#c7e9c0", 41: "#c7e9c0", 42: "#7fcdbb",
              43: "#1d91c0", 50: "#8073ac"}
    return {c: shades.get(c, "#999999") for c in codes}


class SiteChapters:
    """Key figures and chapters 1-3 of the report."""

    # -- key figures ------------------------------------------------------------------------------------
    def key_figures(self) -> None:
        t, d = self.t, self.d
        items = []
        area = d.vector_output("units", "area")
        if area is not None:
            items.append((f"{self.n(area.geometry.area.sum() / 1e4, 0)} ha", t("kpi.area")))
        a1 = d.table("units", "areas_l1")
        if a1 is not None:
            items.append((f"{self.n(a1['area_ha'].sum(), 0)} ha", t("kpi.forest")))
        plots = d.table("plots", "plots")
        if plots is not None:
            items.append((f"{len(plots)}", t("kpi.plots", trees=int(plots["n_trees"].sum()))))
        card = d.document("model", "card")
        if isinstance(card, dict) and isinstance(card.get("cv_metrics"), dict):
            items.append((self.n(card["cv_metrics"].get("r2"), 3), t("kpi.cv_r2")))
        tot = self.totals()
        if tot is not None and len(tot):
            s1 = tot.loc[tot["year"] == self.y1, "agc_t"].sum()
            s2 = tot.loc[tot["year"] == self.y2, "agc_t"].sum()
            items.append((f"{self.n(s1, 0)} → {self.n(s2, 0)} t C", t("kpi.stock", y1=self.y1, y2=self.y2)))
        if items:
            self.doc.add(KeyFigures(items))

    # -- chapter 1 -------------------------------------------------------------------------------------
    def ch_basic(self) -> None:
        t, d, cfg = self.t, self.d, self.cfg
        area = d.vector_output("units", "area")
        boundary = d.boundary
        area_ha = float(area.geometry.area.sum() / 1e4) if area is not None else float("nan")
        b_ha = float(boundary.geometry.area.sum() / 1e4) if boundary is not None else float("nan")
        crs = d.crs
        from .figures import crs_label

        self.para("basic.p_area", name=cfg.project.name, boundary_ha=self.n(b_ha, 1),
                  buffer=self.n(cfg.area.buffer_m, 0), area_ha=self.n(area_ha, 1), crs=crs_label(crs),
                  y0=cfg.project.start_year, y1=cfg.project.end_year, base=cfg.project.base)
        a1 = d.table("units", "areas_l1")
        if a1 is not None and len(a1):
            forest = float(a1["area_ha"].sum())
            self.para("basic.p_forest", forest_ha=self.n(forest, 1),
                      share=self.n(100 * forest / area_ha if area_ha else float("nan"), 1))
            rows = [[int(r["unit_l1"]), self.l1_name(r["unit_l1"]), self.n(r["area_ha"], 2),
                     self.n(100 * r["area_ha"] / forest if forest else float("nan"), 1)]
                    for _, r in a1.sort_values("unit_l1").iterrows()]
            self.table([t("col.code"), t("col.unit_l1"), t("col.area_ha"), t("col.share_forest_pct")], rows,
                       t("basic.tab_l1"), align=["r", "l", "r", "r"])
        l1 = d.raster("units", "level1")
        if l1 is not None:
            classes = {k: (self.l1_name(k), UNIT_COLORS[k]) for k in UNIT_COLORS}
            self.figure(self.fig.class_map(l1, classes, t("basic.fig_l1_title"), t("map.legend_units"),
                                           boundary=boundary, area=area), t("basic.fig_l1"))

    # -- chapter 2 -------------------------------------------------------------------------------------
    def _cumulative_area(self, gdf, year_col: str, codes) -> pd.DataFrame:
        """Cumulative area (ha) of the union of features up to each year, per damage type."""
        yrs = pd.to_numeric(gdf[year_col], errors="coerce")
        rows = []
        for code in sorted(set(codes.dropna())):
            sub = gdf[(codes == code).to_numpy()]
            sy = yrs[(codes == code).to_numpy()]
            for y in range(self.cfg.project.start_year, self.cfg.project.end_year + 1):
                g = sub[(sy <= y).to_numpy()]
                rows.append({"year": y, "type": code, "value": float(g.geometry.union_all().area / 1e4)
                             if len(g) else 0.0})
        return pd.DataFrame(rows)

    def ch_mining(self) -> None:
        t, d, cfg = self.t, self.d, self.cfg
        doc = d.document("assess", "cumulative_model") or {}
        start = doc.get("mining_start_year") or cfg.project.mining_start_year
        dist = d.raw_vector("inputs.disturbance", ("year", "damage_type"))
        if start:
            self.para("mining.p_start", year=int(start))
        if dist is not None and len(dist):
            codes = dist["damage_type"].astype(str).str.strip().str.lower().map(units.DAMAGE_TYPE_ALIASES)
            cum = self._cumulative_area(dist, "year", codes)
            end = cum[cum["year"] == cfg.project.end_year]
            parts = [t("mining.type_area", type=t(f"damage.{r['type']}"), ha=self.n(r["value"], 1))
                     for _, r in end.iterrows()]
            allg = dist[(pd.to_numeric(dist["year"], errors="coerce") <= cfg.project.end_year).to_numpy()]
            total = float(allg.geometry.union_all().area / 1e4) if len(allg) else 0.0
            self.para("mining.p_disturbed", year=cfg.project.end_year, ha=self.n(total, 1), parts=t.join(parts),
                      n=len(dist))
            colors = {"excavation": "#b2182b", "subsidence": "#2166ac", "occupation": "#8c510a"}
            series = [(t(f"damage.{c}"), colors.get(c, "0.4"), g) for c, g in cum.groupby("type")]
            rec = d.raw_vector("inputs.reclamation", ("year",))
            if rec is not None and len(rec):
                ry = pd.to_numeric(rec["year"], errors="coerce")
                rrows = [{"year": y, "value": float(rec[(ry <= y).to_numpy()].geometry.union_all().area / 1e4)
                          if (ry <= y).any() else 0.0}
                         for y in range(cfg.project.start_year, cfg.project.end_year + 1)]
                series.append((t("mining.reclaimed"), "#1b7837", pd.DataFrame(rrows)))
                self.para("mining.p_reclaimed", year=cfg.project.end_year, ha=self.n(rrows[-1]["value"], 1))
            src = d.raw_dataset("inputs.disturbance")
            self.figure(self.fig.time_series(series, t("common.year"), t("mining.axis_area"),
                                             t("mining.fig_timeline_title")),
                        t("mining.fig_timeline", sha=str(src["sha256"])[:12] if src else "–"))
        plan = d.raw_vector("inputs.planned", ("planned_year",))
        if plan is not None and len(plan):
            py = pd.to_numeric(plan["planned_year"], errors="coerce")
            self.para("mining.p_planned", n=len(plan), ha=self.n(plan.geometry.union_all().area / 1e4, 1),
                      y0=int(py.min()), y1=int(py.max()))
        a2 = d.table("units", "areas")
        if a2 is not None and len(a2):
            rows = [[int(r["unit_l2"]), self.unit_name(r["unit_l2"]), self.n(r["area_ha"], 2)]
                    for _, r in a2.sort_values("unit_l2").iterrows()]
            self.table([t("col.code"), t("col.unit_l2"), t("col.area_ha")], rows, t("mining.tab_l2"),
                       align=["r", "l", "r"])
            self.para("mining.p_l2_codes")

    # -- chapter 3 ------------------------------------------------------------------------------------
    def ch_layout(self) -> None:
        t, d, cfg = self.t, self.d, self.cfg
        plots = d.table("plots", "plots")
        counts = d.table("plots", "counts")
        if plots is None:
            self.note("layout.no_plots")
            return
        sizes = sorted({float(s) for s in plots["size_m"]})
        years = sorted({int(y) for y in plots["survey_year"]})
        self.para("layout.p_plots", n=len(plots), sizes=t.join(self.n(s, 0) for s in sizes),
                  years=t.join(years), buffer=self.n(cfg.area.buffer_m, 0))
        if counts is not None and len(counts):
            enough = counts["enough_plots"].astype(bool)
            self.para("layout.p_counts", min=cfg.plots.min_per_unit, ok=int(enough.sum()), units=len(counts))
            if (~enough).any():
                short = [f"{self.unit_name(r['unit_l2'])} ({int(r['n_plots'])})"
                         for _, r in counts[~enough].iterrows()]
                self.note("layout.note_short", min=cfg.plots.min_per_unit, units=t.join(short))
            rows = [[int(r["unit_l2"]), self.unit_name(r["unit_l2"]), self.n(r.get("area_ha"), 2),
                     int(r["n_plots"]), int(r.get("min_per_unit", cfg.plots.min_per_unit)),
                     t.yes_no(r["enough_plots"])] for _, r in counts.sort_values("unit_l2").iterrows()]
            self.table([t("col.code"), t("col.unit_l2"), t("col.area_ha"), t("col.plots"), t("col.min_plots"),
                        t("col.enough")], rows, t("layout.tab_counts"), align=["r", "l", "r", "r", "r", "l"])
        l2 = d.raster("units", "level2")
        if l2 is not None:
            vals = np.asarray(l2.values)
            codes = sorted(int(c) for c in np.unique(vals[np.isfinite(vals)]) if 0 < c < 255)
            pal = _l2_palette(codes)
            classes = {c: (self.unit_name(c), pal[c]) for c in codes}
            pts = (plots["x"].to_numpy(float), plots["y"].to_numpy(float))
            self.figure(self.fig.class_map(l2, classes, t("layout.fig_title"), t("map.legend_units"),
                                           boundary=d.boundary, area=d.vector_output("units", "area"), points=pts),
                        t("layout.fig", n=len(plots)))

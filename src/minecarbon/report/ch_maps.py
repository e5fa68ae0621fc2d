"""Chapter 6: AGC inversion results (maps, totals, classes).

A mixin of :class:`~minecarbon.report.build.ReportBuilder` (its methods moved whole from ``build.py``):
it lays out results read from the monitoring database (``self.d``) with the builder's writing helpers
(``self.t``, ``self.para``, ``self.table``, ``self.optional`` ...)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import UNIT_COLORS

__all__ = ["MapsChapter"]



class MapsChapter:
    """Chapter 6 of the report."""

    # -- chapter 6 --------------------------------------------------------------------------------------
    def totals(self) -> pd.DataFrame | None:
        """AGC stock per level-1 unit and year (t C): the map stage's totals with intervals, else the assessment's."""
        mt = self.d.nonempty("map", "totals")
        if mt is not None and {"year", "level", "unit", "agc_t"} <= set(mt.columns):
            sel = mt[mt["level"] == "level1"].rename(columns={"unit": "unit_l1"})
            if len(sel):
                return sel
        return self.d.nonempty("assess", "totals")

    def map_years(self) -> list[int]:
        avail = self.d.years_of("map", "agc")
        if not avail:
            return []
        want = self.cfg.report.map_years or [self.y1, (self.y1 + self.y2) // 2, self.y2]
        out = []
        for y in want:
            if y in avail and y not in out:
                out.append(y)
        return out or [avail[0], avail[-1]]

    def ch_maps(self) -> None:
        t, d = self.t, self.d
        years = self.map_years()
        if not years:
            self.note("maps.no_maps")
            return
        tot = self.totals()
        if tot is not None and len(tot):
            s1 = float(tot.loc[tot["year"] == self.y1, "agc_t"].sum())
            s2 = float(tot.loc[tot["year"] == self.y2, "agc_t"].sum())
            self.para("maps.p_totals", y1=self.y1, y2=self.y2, s1=self.n(s1, 0), s2=self.n(s2, 0),
                      change=t.signed(s2 - s1, 0), pct=t.signed(100 * (s2 - s1) / s1 if s1 else float("nan"), 1))
        layers = [(str(y), d.raster("map", "agc", year=y)) for y in years]
        self.figure(self.fig.map_panels([(y, da) for y, da in layers if da is not None], t("unit.t_ha"),
                                        boundary=d.boundary), t("maps.fig_maps", years=t.join(years)))
        if tot is not None and len(tot):
            lo = next((c for c in tot.columns if c.startswith("agc_lo") or c.endswith("_lo_t") or "lower" in c), None)
            hi = next((c for c in tot.columns if c.startswith("agc_hi") or c.endswith("_hi_t") or "upper" in c), None)
            series = [(self.l1_name(c), UNIT_COLORS.get(int(c), "0.4"), g.rename(columns={"agc_t": "value"}))
                      for c, g in tot.groupby("unit_l1")]
            self.figure(self.fig.time_series(series, t("common.year"), t("maps.axis_stock"), t("maps.fig_totals_title"),
                                             lo=lo, hi=hi, band_label=t("maps.interval") if lo and hi else ""),
                        t("maps.fig_totals"))
            rows = []
            for c, g in tot.groupby("unit_l1"):
                a = float(g.loc[g["year"] == self.y1, "agc_t"].sum())
                b = float(g.loc[g["year"] == self.y2, "agc_t"].sum())
                row = [self.l1_name(c), self.n(a, 0), self.n(b, 0), t.signed(b - a, 0),
                       t.signed(100 * (b - a) / a if a else float("nan"), 1)]
                if lo and hi:
                    r2 = g[g["year"] == self.y2]
                    row.append(f"{self.n(r2[lo].sum(), 0)}–{self.n(r2[hi].sum(), 0)}" if len(r2) else "–")
                rows.append(row)
            cols = [t("col.unit_l1"), t("maps.col_stock", year=self.y1), t("maps.col_stock", year=self.y2),
                    t("col.change_t"), t("col.change_pct")]
            if lo and hi:
                cols.append(t("maps.col_interval", year=self.y2))
            self.table(cols, rows, t("maps.tab_totals"), align=["l"] + ["r"] * (len(cols) - 1))
        for o in d.declared_outputs("map"):  # the map stage's outputs, as the catalog records them
            if not (o.per_year and o.id != "agc" and self.y2 in d.years_of("map", o.id)):
                continue
            bands = d.bands("map", o.id, year=self.y2)
            if "agc_sd_t_ha" in bands:
                da = d.raster("map", o.id, year=self.y2, band="agc_sd_t_ha")
                self.para("maps.p_uncertainty", year=self.y2,
                          mean=self.n(float(np.nanmean(np.asarray(da.values, dtype=float))), 2))
                self.figure(self.fig.continuous_map(da, t("maps.fig_sd_title", year=self.y2), t("unit.sd_t_ha"),
                                                    cmap="magma_r", vmin=0, boundary=d.boundary),
                            t("maps.fig_sd", year=self.y2))
            else:
                da = d.raster("map", o.id, year=self.y2)
                about = self.output_about("map", o.id, o.about)
                self.figure(self.fig.continuous_map(da, f"{about} ({self.y2})", o.units, cmap="magma_r",
                                                    boundary=d.boundary), f"{about}, {self.y2} ({o.units})")
        from .classify_section import classify_section

        with self.optional("classify"):
            classify_section(self)  # forest-type / species maps of the classify stage, when it classified
        val = d.nonempty("assess", "validation")
        if val is not None:
            self.section("maps.s_validation")
            self.para("maps.p_validation", truth=str(self.cfg.validation.truth_dir), r2_min=self.n(val["r2"].min(), 3),
                      r2_max=self.n(val["r2"].max(), 3), rmse_min=self.n(val["rmse"].min()),
                      rmse_max=self.n(val["rmse"].max()),
                      bias=t.signed(100 * (val["total_est_t"].sum() / val["total_truth_t"].sum() - 1), 1))
            rows = [[int(r["year"]), int(r["n"]), self.n(r["r2"], 3), self.n(r["rmse"]), t.signed(r["bias"]),
                     self.n(r["total_est_t"], 0), self.n(r["total_truth_t"], 0)] for _, r in val.iterrows()]
            self.table([t("common.year"), t("col.pixels"), "R²", t("col.rmse_t_ha"), t("col.bias_t_ha"),
                        t("col.total_est_t"), t("col.total_truth_t")], rows, t("maps.tab_validation"), long=len(rows) > 12)
            series = [(t("maps.truth"), "#333333", val.rename(columns={"total_truth_t": "value"})),
                      (t("maps.estimated"), "#2166ac", val.rename(columns={"total_est_t": "value"}))]
            self.figure(self.fig.time_series(series, t("common.year"), t("maps.axis_total"),
                                             t("maps.fig_validation_title")), t("maps.fig_validation"))
            mv = d.nonempty("map", "validation")
            if mv is not None and {"interval_coverage", "forest_type"} <= set(mv.columns):
                allv = mv[mv["forest_type"] == "all"]
                if len(allv):
                    self.para("maps.p_coverage", lo=self.n(100 * allv["interval_coverage"].min(), 1),
                              hi=self.n(100 * allv["interval_coverage"].max(), 1),
                              width=self.n(allv["mean_width_t_ha"].mean(), 1) if "mean_width_t_ha" in allv else "–")

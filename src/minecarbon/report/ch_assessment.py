"""Chapter 7: spatio-temporal assessment (change, trust, trend, cumulative effect, zones, hot spots).

A mixin of :class:`~minecarbon.report.build.ReportBuilder` (its methods moved whole from ``build.py``):
it lays out results read from the monitoring database (``self.d``) with the builder's writing helpers
(``self.t``, ``self.para``, ``self.table``, ``self.optional`` ...)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import EFFECT_COLORS, GI_COLORS, TREND_COLORS, UNIT_COLORS

__all__ = ["AssessmentChapter"]



class AssessmentChapter:
    """Chapter 7 of the report."""

    # -- chapter 7 ------------------------------------------------------------------------------------------
    def _zonal(self, layer: str, level: str = "level1") -> pd.DataFrame | None:
        z = self.d.table("assess", "zonal")
        if z is None:
            return None
        return z[(z["layer"] == layer) & (z["level"] == level)].sort_values("zone")

    def _class_shares(self, layer: str) -> pd.DataFrame | None:
        ca = self.d.table("assess", "class_areas")
        if ca is None or not len(ca):
            return None
        sel = ca[(ca["layer"] == layer) & (ca["level"] == "level1")]
        if not len(sel):
            return None
        tab = sel.pivot_table(index="zone", columns="class", values="pixels", aggfunc="sum", fill_value=0)
        tab = 100.0 * tab.div(tab.sum(axis=1), axis=0)
        tab.index = [self.l1_name(z) for z in tab.index]
        return tab

    def ch_assessment(self) -> None:
        t = self.t
        self.section("assessment.s_change", y1=self.y1, y2=self.y2)
        with self.optional(t("assessment.s_change", y1=self.y1, y2=self.y2)):
            self.assess_change()
        with self.optional(t("assessment.s_trust")):
            self.assess_trust()
        for key, part in (("assessment.s_trend", self.assess_trend),
                          ("assessment.s_cumulative", self.assess_cumulative),
                          ("assessment.s_zonal", self.assess_zonal),
                          ("assessment.s_hotspots", self.assess_hotspots)):
            self.section(key)
            with self.optional(t(key)):
                part()

    def assess_change(self) -> None:
        t, d = self.t, self.d
        self.para("assessment.p_change_def", y1=self.y1, y2=self.y2,
                  min=self.n(self.cfg.assess.degree_min_agc_t_ha, 1))
        za, zd = self._zonal("change_amount"), self._zonal("change_degree")
        if za is not None and len(za):
            rows = []
            for _, r in za.iterrows():
                deg = zd[zd["zone"] == r["zone"]] if zd is not None else pd.DataFrame()
                rows.append([self.l1_name(r["zone"]), int(r["count"]), t.signed(r["mean"]), self.n(r["min"]),
                             self.n(r["max"]), t.signed(r.get("sum_t"), 0),
                             t.signed(deg["mean"].iloc[0], 1) if len(deg) else "–"])
            self.table([t("col.unit_l1"), t("col.pixels"), t("col.mean_change_t_ha"), t("col.min_t_ha"),
                        t("col.max_t_ha"), t("col.change_t"), t("col.mean_degree_pct")], rows,
                       t("assessment.tab_change", y1=self.y1, y2=self.y2))
        amount = d.raster("assess", "amount")
        if amount is not None:
            self.figure(self.fig.continuous_map(amount, t("assessment.fig_change_title", y1=self.y1, y2=self.y2),
                                                t("unit.t_ha"), cmap="RdBu", boundary=d.boundary, diverging=True),
                        t("assessment.fig_change", y1=self.y1, y2=self.y2))
            l1 = d.raster("units", "level1")
            if l1 is not None and l1.shape == amount.shape:
                lv, av = np.asarray(l1.values), np.asarray(amount.values, dtype=float)
                groups = [(self.l1_name(c), UNIT_COLORS[c], av[lv == c]) for c in UNIT_COLORS if (lv == c).any()]
                self.figure(self.fig.histograms(groups, t("assessment.axis_change"), t("common.pixels"),
                                                t("assessment.fig_hist_title")), t("assessment.fig_hist"))

    def assess_trust(self) -> None:
        """How far the change can be trusted: model-assisted change, re-measured plots, truth (issue #12)."""
        t, d = self.t, self.d
        self.section("assessment.s_trust")
        est = d.nonempty("map", "estimates")
        chg = est[est["kind"] == "change"] if est is not None else None
        allc = chg[chg["level"] == "all"] if chg is not None else None
        ma = None
        if allc is not None and len(allc) and pd.notna(allc["estimate_t"].iloc[0]):
            r = allc.iloc[0]
            ma = r["estimate_t"]
            basis = t("assessment.basis_design") if str(r["interval_basis"]).startswith("design") else \
                t("assessment.basis_model")
            self.para("assessment.p_trust_ma", y1=int(r["year0"]), y2=int(r["year1"]), n=int(r["n_plots"]),
                      est=t.signed(r["estimate_t"], 0), lo=t.signed(r["lo_t"], 0), hi=t.signed(r["hi_t"], 0),
                      map=t.signed(r["map_t"], 0), basis=basis)
            truth = "truth_t" in chg.columns
            rows = [[self.l1_name(int(x["unit"])) if x["level"] == "level1" else t("assessment.all_forest"),
                     int(x["n_plots"]), t.signed(x["map_t"], 0), t.signed(x["estimate_t"], 0),
                     f"{t.signed(x['lo_t'], 0)} … {t.signed(x['hi_t'], 0)}"]
                    + ([t.signed(x["truth_t"], 0)] if truth else []) for _, x in chg.iterrows()]
            self.table([t("col.unit_l1"), t("col.plots"), t("assessment.col_map_change"),
                        t("assessment.col_ma_change"), t("assessment.col_interval")]
                       + ([t("assessment.col_truth")] if truth else []), rows,
                       t("assessment.tab_trust", y1=int(r["year0"]), y2=int(r["year1"])))
        card = d.document("model", "card") or {}
        tv = card.get("temporal_validation") or {}
        periods = [p for p in tv.get("remeasured_by_period", []) if p.get("n_pairs")]
        by_year = d.nonempty("model", "by_year")
        if periods:
            p = max(periods, key=lambda q: (q["year1"] - q["year0"], q["n_pairs"]))
            lo = hi = None
            if by_year is not None and "bias_leave_year_out" in by_year:
                lo, hi = by_year["bias_leave_year_out"].min(), by_year["bias_leave_year_out"].max()
            obs, pred = p["obs_change_mean_t_ha"], p["pred_change_mean_t_ha"]
            attenuated = abs(pred - obs) > max(0.2 * abs(obs), 1.0)
            self.para("assessment.p_trust_remeasured", y1=p["year0"], y2=p["year1"], obs=t.signed(obs, 2),
                      pred=t.signed(pred, 2), r2=self.n(p["change_r2"], 2), bias_lo=t.signed(lo, 2),
                      bias_hi=t.signed(hi, 2),
                      verdict=t("assessment.verdict_attenuated") if attenuated else t("assessment.verdict_ok"))
        vc = d.nonempty("assess", "validation_change")
        if vc is not None:
            a = vc[(vc["level"] == "all") & (vc["year0"] == self.y1) & (vc["year1"] == self.y2)]
            if len(a):
                r = a.iloc[0]
                self.para("assessment.p_trust_truth", map=t.signed(r["map_change_t"], 0),
                          truth=t.signed(r["truth_change_t"], 0),
                          sign=t("assessment.sign_right") if bool(r["sign_agrees"]) else t("assessment.sign_wrong"),
                          ma=t.signed(ma, 0), r2=self.n(r["pixel_change_r2"], 2))
        if not periods and vc is None:
            self.note("assessment.p_trust_none")

    def assess_trend(self) -> None:
        t, d, a = self.t, self.d, self.cfg.assess
        self.para("assessment.p_trend_def", alpha=self.n(a.trend_alpha, 2), stable=self.n(a.trend_stable_slope_t_ha_yr, 2),
                  min_years=a.trend_min_years)
        shares = self._class_shares("trend")
        if shares is not None:
            ca = d.table("assess", "class_areas")
            sel = ca[(ca["layer"] == "trend") & (ca["level"] == "level1")]
            tot = float(sel["pixels"].sum())
            up = float(sel.loc[sel["class"] == 2, "pixels"].sum())
            down = float(sel.loc[sel["class"] == -2, "pixels"].sum())
            self.para("assessment.p_trend", up=self.n(100 * up / tot if tot else np.nan, 1),
                      down=self.n(100 * down / tot if tot else np.nan, 1))
            labels = {c: t(f"trend.{c}") for c in TREND_COLORS}
            shares = shares[[c for c in sorted(shares.columns, reverse=True)]]
            self.figure(self.fig.stacked_shares(shares, TREND_COLORS, labels, t("common.share_pct"),
                                                t("assessment.fig_trend_shares_title"), t("assessment.legend_trend")),
                        t("assessment.fig_trend_shares"))
        bands = d.bands("assess", "trend")
        if "trend" in bands:
            tr = d.raster("assess", "trend", band="trend")
            classes = {c: (t(f"trend.{c}"), TREND_COLORS[c]) for c in sorted(TREND_COLORS, reverse=True)}
            self.figure(self.fig.class_map(tr, classes, t("assessment.fig_trend_title"), t("assessment.legend_trend"),
                                           boundary=d.boundary, show_absent=True), t("assessment.fig_trend"))

    def assess_cumulative(self) -> None:
        t, d = self.t, self.d
        doc = d.document("assess", "cumulative_model")
        if doc is None:
            self.note("assessment.no_cumulative", reason="–")
            return
        if not doc.get("computed"):
            self.note("assessment.no_cumulative", reason=str(doc.get("reason") or "–"))
            return
        model = doc.get("model", {})
        groups = model.get("groups", {})
        r2s = [g.get("r2") for g in groups.values() if isinstance(g, dict) and g.get("r2") is not None]
        p0, p1 = doc.get("period", [self.y1, self.y2])
        self.para("assessment.p_cumulative_def", p0=p0, p1=p1, fit=t.join(doc.get("fit_years", [])),
                  start=doc.get("mining_start_year", "–"), kind=t.get(f"assessment.mlr.{model.get('kind')}",
                                                                      str(model.get("kind"))),
                  covariates=", ".join(model.get("covariates", [])),
                  r2=(f"{self.n(min(r2s), 3)}–{self.n(max(r2s), 3)}" if r2s else "–"))
        if r2s and max(r2s) < 0.3:
            self.note("assessment.note_low_r2", r2=self.n(max(r2s), 3))
        br = d.nonempty("assess", "breaks")
        if br is not None:
            rows = [[int(r["class"]), t.get(f"effect.{int(r['class'])}", str(r.get("name_en"))),
                     f"{self.n(r['lower_t_ha'])} – {self.n(r['upper_t_ha'])}", self.n(r["area_ha"], 2),
                     self.n(r["mean_t_ha"])] for _, r in br.iterrows()]
            self.table([t("col.grade"), t("col.name"), t("col.range_t_ha"), t("col.area_ha"), t("col.mean_t_ha")],
                       rows, t("assessment.tab_breaks"), align=["r", "l", "r", "r", "r"])
        ec = d.raster("assess", "effect_class")
        if ec is not None:
            classes = {c: (t(f"effect.{c}"), EFFECT_COLORS[c]) for c in EFFECT_COLORS}
            self.figure(self.fig.class_map(ec, classes, t("assessment.fig_effect_title", p0=p0, p1=p1),
                                           t("assessment.legend_effect"), boundary=d.boundary, show_absent=True),
                        t("assessment.fig_effect", p0=p0, p1=p1))
        shares = self._class_shares("effect")
        if shares is not None:
            labels = {c: t(f"effect.{c}") for c in EFFECT_COLORS}
            self.figure(self.fig.stacked_shares(shares, EFFECT_COLORS, labels, t("common.share_pct"),
                                                t("assessment.fig_effect_shares_title"), t("assessment.legend_effect")),
                        t("assessment.fig_effect_shares"))
        vc = d.nonempty("assess", "validation_cumulative")
        if vc is not None:
            vc = vc[vc["source"] == "maps"] if "source" in vc else vc
            rows = [[self.l1_name(r["unit_l1"]) if int(r["unit_l1"]) else t("assessment.all_forest"), int(r["n"]),
                     self.n(r["r2"], 3), self.n(r["rmse"]), t.signed(r["bias"]), self.n(r["mean_truth"]),
                     self.n(r["mean_est"])] for _, r in vc.iterrows()]
            self.table([t("col.unit_l1"), t("col.pixels"), "R²", t("col.rmse_t_ha"), t("col.bias_t_ha"),
                        t("col.mean_truth_t_ha"), t("col.mean_est_t_ha")], rows, t("assessment.tab_effect_validation"))

    def assess_zonal(self) -> None:
        t, d = self.t, self.d
        z = d.table("assess", "zonal")
        if z is None:
            return
        layers = [(f"agc_{self.y1}", t("assessment.layer_agc", year=self.y1)),
                  (f"agc_{self.y2}", t("assessment.layer_agc", year=self.y2)),
                  ("change_amount", t("assessment.layer_change")), ("change_degree", t("assessment.layer_degree")),
                  ("trend_slope", t("assessment.layer_slope")), ("cumulative_effect", t("assessment.layer_effect"))]
        self.para("assessment.p_zonal")
        rows = []
        for layer, label in layers:
            sub = z[(z["layer"] == layer) & (z["level"] == "level2")].sort_values("zone")
            for _, r in sub.iterrows():
                rows.append([label, self.unit_name(r["zone"]), int(r["count"]), self.n(r["mean"]), self.n(r["max"]),
                             self.n(r["min"]), self.n(r["variance"])])
        if rows:
            self.table([t("col.layer"), t("col.unit_l2"), t("col.pixels"), t("col.mean"), t("col.max"), t("col.min"),
                        t("col.variance")], rows, t("assessment.tab_zonal"), align=["l", "l", "r", "r", "r", "r", "r"],
                       long=True)

    def assess_hotspots(self) -> None:
        t, d, a = self.t, self.d, self.cfg.assess
        hood = (t("assessment.hood_distance", d=self.n(a.hotspot_distance_m, 0)) if a.hotspot_distance_m
                else t("assessment.hood_window", w=a.hotspot_window))
        self.para("assessment.p_hotspots_def", hood=hood, fdr=t.yes_no(a.hotspot_fdr))
        classes = {c: (t(f"gi.{c}"), GI_COLORS[c]) for c in sorted(GI_COLORS, reverse=True)}
        ca = d.table("assess", "class_areas")
        rows = []
        for key, layer_name in (("gi_agc", t("assessment.gi_layer_agc", year=self.y2)),
                                ("gi_change", t("assessment.gi_layer_change", y1=self.y1, y2=self.y2)),
                                ("gi_effect", t("assessment.gi_layer_effect"))):
            da = d.raster("assess", key, band="bin") if "bin" in d.bands("assess", key) else None
            if da is None:
                continue
            if key in ("gi_change", "gi_agc"):
                self.figure(self.fig.class_map(da, classes, t("assessment.fig_gi_title", layer=layer_name),
                                               t("assessment.legend_gi"), boundary=d.boundary, show_absent=True),
                            t("assessment.fig_gi", layer=layer_name))
            if ca is not None and len(ca):
                sel = ca[(ca["layer"] == key) & (ca["level"] == "level1")]
                for z, g in sel.groupby("zone"):
                    hot = float(g.loc[g["class"] >= 2, "area_ha"].sum())
                    cold = float(g.loc[g["class"] <= -2, "area_ha"].sum())
                    rows.append([layer_name, self.l1_name(z), self.n(hot, 2), self.n(cold, 2),
                                 self.n(float(g["area_ha"].sum()), 2)])
        if rows:
            self.table([t("col.layer"), t("col.unit_l1"), t("col.hot_ha"), t("col.cold_ha"), t("col.area_ha")], rows,
                       t("assessment.tab_gi"), align=["l", "l", "r", "r", "r"])

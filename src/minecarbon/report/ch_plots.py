"""Chapter 4: plot AGC, with the TLS validation against the tape tally.

A mixin of :class:`~minecarbon.report.build.ReportBuilder` (its methods moved whole from ``build.py``):
it lays out results read from the monitoring database (``self.d``) with the builder's writing helpers
(``self.t``, ``self.para``, ``self.table``, ``self.optional`` ...)."""

from __future__ import annotations

import numpy as np
import pandas as pd


__all__ = ["PlotsChapter"]



class PlotsChapter:
    """Chapter 4 of the report."""

    # -- chapter 4 ------------------------------------------------------------------------------------
    def ch_plots(self) -> None:
        t, d, cfg = self.t, self.d, self.cfg
        plots = d.table("plots", "plots")
        trees = d.table("plots", "trees")
        if plots is None:
            self.note("layout.no_plots")
            return
        self.section("plots.s_summary")
        n_trees = int(plots["n_trees"].sum())
        groups = sorted(set(trees["species_group"].dropna())) if trees is not None else []
        agc = plots["agc_t_ha"].astype(float)
        self.para("plots.p_summary", n=len(plots), trees=n_trees, groups=len(groups), names=t.join(groups),
                  mean=self.n(agc.mean()), sd=self.n(agc.std(ddof=1)), min=self.n(agc.min()), max=self.n(agc.max()))
        sources = str(plots["mc_error_sources"].dropna().iloc[0]) if "mc_error_sources" in plots and \
            plots["mc_error_sources"].notna().any() else ""
        draws = int(plots["mc_draws"].iloc[0]) if "mc_draws" in plots else cfg.plots.mc_draws
        self.para("plots.p_uncertainty", draws=draws, dbh=self.n(cfg.plots.dbh_error_cm, 2),
                  height=self.n(100 * cfg.plots.height_error_rel, 1),
                  sources=t.join(t.get(f"plots.error_source.{s}", s) for s in sources.split(";") if s),
                  sd=self.n(plots["agc_sd_t_ha"].mean()) if "agc_sd_t_ha" in plots else "–")
        ft = d.table("plots", "by_forest_type")
        if ft is not None and len(ft):
            rows = [[self.forest_type_name(r.get("forest_type_name", r["forest_type"])), int(r["n_plots"]),
                     self.n(r["agc_mean_t_ha"]), self.n(r["agc_sd_t_ha"]), self.n(r["agc_min_t_ha"]),
                     self.n(r["agc_max_t_ha"]), self.n(r.get("agc_mc_sd_mean_t_ha"))] for _, r in ft.iterrows()]
            self.table([t("col.forest_type"), t("col.plots"), t("col.mean_t_ha"), t("col.sd_t_ha"),
                        t("col.min_t_ha"), t("col.max_t_ha"), t("col.mc_sd_t_ha")], rows, t("plots.tab_forest_type"))
            if "forest_type" in plots:
                names = dict(zip(ft["forest_type"], ft.get("forest_type_name", ft["forest_type"])))
                grp = [(self.forest_type_name(names.get(k, k)), g["agc_t_ha"].to_numpy(float))
                       for k, g in plots.groupby("forest_type")]
                self.figure(self.fig.boxplot(grp, t("col.agc_t_ha"), t("plots.fig_box_title")),
                            t("plots.fig_box"), width=0.8)
        bg = d.table("plots", "by_group")
        if bg is not None and len(bg):
            g = bg.groupby("species_group").agg(plots=("plot_id", "nunique"), trees=("n_trees", "sum"),
                                                agc_kg=("agc_kg", "sum")).reset_index()
            total = float(g["agc_kg"].sum())
            g = g.sort_values("agc_kg", ascending=False)
            rows = [[r["species_group"], int(r["plots"]), int(r["trees"]), self.n(r["agc_kg"] / 1000.0, 2),
                     self.n(100 * r["agc_kg"] / total if total else float("nan"), 1)] for _, r in g.iterrows()]
            self.table([t("col.species_group"), t("col.plots"), t("col.trees"), t("col.agc_t"), t("col.share_pct")],
                       rows, t("plots.tab_group"), align=["l", "r", "r", "r", "r"])
        al = d.table("plots", "allometry")
        if al is not None and len(al):
            self.section("plots.s_allometry")
            name = str(al["table"].iloc[0]) if "table" in al else "–"
            if name.startswith("shipped default"):
                name = t("plots.shipped_table", file=name.split("(")[-1].rstrip(")"))
            self.para("plots.p_allometry", table=name)
            rows = []
            for _, r in al.iterrows():
                rng = f"{self.n(r.get('dbh_min_cm'), 0)}–{self.n(r.get('dbh_max_cm'), 0)}" \
                    if pd.notna(r.get("dbh_min_cm")) else "–"
                status = t.get(f"plots.status.{r.get('status')}", str(r.get("status")))
                if isinstance(r.get("proxy_for"), str) and r.get("proxy_for"):
                    status += " · " + t("plots.proxy", name=r["proxy_for"])
                rows.append([r["species_group"], t.get(f"plots.component.{r['component']}", str(r["component"])),
                             r.get("formula", r.get("form", "")), rng, self.n(r.get("carbon_fraction"), 4), status,
                             r.get("source", "")])
            self.table([t("col.species_group"), t("col.component"), t("col.formula"), t("col.dbh_range"),
                        t("col.carbon_fraction"), t("col.status"), t("col.source")], rows, t("plots.tab_allometry"),
                       align=["l", "l", "l", "r", "r", "l", "l"], long=len(rows) > 12)
            cf = self.cfg.plots.carbon_fractions
            for g_name, ov in cf.items():
                self.note("plots.note_cf", group=g_name, value=self.n(ov.value, 3), source=ov.source)
            if "carbon_fraction_source" in al:
                tier1 = al[al["carbon_fraction_source"].astype(str).str.startswith("TIER-1 DEFAULT")]
                groups = sorted(set(tier1["species_group"].astype(str)) - set(cf))
                if groups:
                    self.note("plots.note_tier1", groups="、".join(groups) if self.lang == "zh" else ", ".join(groups),
                              value=self.n(tier1["carbon_fraction"].iloc[0], 2))
        self.tls_validation()
        rows = []
        for _, r in plots.sort_values("plot_id").iterrows():
            rows.append([r["plot_id"], int(r["survey_year"]), self.forest_type_name(r.get("forest_type", "")),
                         int(r["unit_l2"]) if pd.notna(r.get("unit_l2")) else "–", int(r["n_trees"]),
                         self.n(r["agc_t_ha"]), self.n(r.get("agc_sd_t_ha")),
                         f"{self.n(r.get('agc_lo95_t_ha'))}–{self.n(r.get('agc_hi95_t_ha'))}"])
        if "forest_type" in plots:
            ftn = d.table("plots", "by_forest_type")
            if ftn is not None and "forest_type_name" in ftn:
                names = dict(zip(ftn["forest_type"].astype(int), ftn["forest_type_name"]))
                for row, (_, r) in zip(rows, plots.sort_values("plot_id").iterrows()):
                    row[2] = self.forest_type_name(names.get(int(r["forest_type"]), r["forest_type"]))
        self.section("plots.s_table")
        self.table([t("col.plot"), t("col.survey_year"), t("col.forest_type"), t("col.unit_l2_code"), t("col.trees"),
                    t("col.agc_t_ha"), t("col.sd_t_ha"), t("col.ci95_t_ha")], rows, t("plots.tab_plots", n=len(rows)),
                   align=["l", "r", "l", "r", "r", "r", "r", "r"], long=True)

    def tls_validation(self) -> None:
        t, d = self.t, self.d
        val = d.nonempty("lidar", "validation")
        if val is None:
            return
        self.section("plots.s_tls")
        self.para("plots.p_tls", n=len(val), plots=t.join(val["plot_id"]))
        rows = []
        for _, r in val.iterrows():
            rows.append([r["plot_id"], int(r.get("n_tally", 0)), int(r.get("n_tls", 0)), int(r.get("n_matched", 0)),
                         self.n(100 * r.get("detection_rate", np.nan), 1), self.n(100 * r.get("commission_rate", np.nan), 1),
                         self.n(r.get("dbh_bias_cm")), self.n(r.get("dbh_rmse_cm")), self.n(r.get("height_bias_m")),
                         self.n(r.get("height_rmse_m"))])
        self.table([t("col.plot"), t("col.n_tally"), t("col.n_tls"), t("col.n_matched"), t("col.detection_pct"),
                    t("col.commission_pct"), t("col.dbh_bias_cm"), t("col.dbh_rmse_cm"), t("col.h_bias_m"),
                    t("col.h_rmse_m")], rows, t("plots.tab_tls"))
        tp = d.nonempty("lidar", "plots")
        if tp is not None and {"agc_t_ha_tls", "agc_t_ha_tally"} <= set(tp.columns):
            tp = tp[tp["agc_t_ha_tally"].notna()]
            if len(tp):
                rows = [[r["plot_id"], self.n(r["agc_t_ha_tls"]), self.n(r["agc_t_ha_tally"]),
                         self.n(r.get("agc_diff_t_ha", r["agc_t_ha_tls"] - r["agc_t_ha_tally"]))]
                        for _, r in tp.iterrows()]
                self.table([t("col.plot"), t("col.agc_tls"), t("col.agc_tally"), t("col.agc_diff")], rows,
                           t("plots.tab_tls_agc"))
        used = d.nonempty("plots", "tls_vs_tally")
        if self.cfg.plots.tree_source == "tls" and used is not None and "agc_diff_pct" in used:
            self.para("plots.p_tls_used", n=len(used), plots=t.join(used["plot_id"]),
                      diff=t.signed(float(np.nanmean(used["agc_diff_pct"].astype(float))), 1))
        pairs = d.nonempty("lidar", "pairs")
        if pairs is not None and "status" in pairs:
            m = pairs[pairs["status"] == "matched"]
            if len(m) and {"dbh_cm_ref", "dbh_cm_det"} <= set(m.columns):
                self.figure(self.fig.scatter(m["dbh_cm_ref"], m["dbh_cm_det"], t("plots.axis_dbh_tally"),
                                             t("plots.axis_dbh_tls"), t("plots.fig_tls_title"),
                                             stats=t("plots.tls_stats", n=len(m))),
                            t("plots.fig_tls"), width=0.6)

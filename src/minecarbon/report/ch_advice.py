"""Chapters 8-9 and the annexes: zoning management advice, limitations, data inventory, terms.

A mixin of :class:`~minecarbon.report.build.ReportBuilder` (its methods moved whole from ``build.py``):
it lays out results read from the monitoring database (``self.d``) with the builder's writing helpers
(``self.t``, ``self.para``, ``self.table``, ``self.optional`` ...)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import advice as advice_rules
from .document import Bullets

__all__ = ["AdviceChapters"]



class AdviceChapters:
    """Chapters 8-9 and the annexes of the report."""

    # -- chapter 8 ----------------------------------------------------------------------------------------
    def advice_table(self) -> pd.DataFrame | None:
        d = self.d
        ua = d.table("units", "areas")
        if ua is None or not len(ua):
            return None
        return advice_rules.zoning_advice(ua, d.table("assess", "class_areas"), d.table("assess", "zonal"), self.y2,
                                          self.cfg.report.advice_min_share_pct)

    def ch_advice(self) -> None:
        t, d = self.t, self.d
        adv = self.advice_table()
        if adv is None:
            self.note("advice.no_units")
            return
        thr = self.n(self.cfg.report.advice_min_share_pct, 0)
        self.para("advice.p_intro", share=thr)
        self.doc.add(Bullets([f"{rule}: {t('advice.rule.' + rule, share=thr, majority=self.n(advice_rules.MAJORITY_PCT, 0))}"
                              for rule in advice_rules.ZONES]))
        rows = []
        for _, r in adv.iterrows():
            rows.append([self.unit_name(r["unit_l2"]), self.n(r["area_ha"], 2), t(f"advice.zone.{r['zone']}"),
                         r["rule"], self._evidence(r), t(f"advice.action.{r['zone']}")])
        self.table([t("col.unit_l2"), t("col.area_ha"), t("col.zone"), t("col.rule"), t("col.evidence"),
                    t("col.action")], rows, t("advice.tab"), align=["l", "r", "l", "l", "l", "l"])
        l2 = d.raster("units", "level2")
        if l2 is not None:
            rule_of = dict(zip(adv["unit_l2"].astype(int), adv["rule"]))
            keys = list(advice_rules.ZONES)
            vals = np.asarray(l2.values, dtype=float)
            out = np.full(vals.shape, np.nan)
            for code, rule in rule_of.items():
                out[vals == code] = keys.index(rule) + 1
            zmap = l2.copy(data=out)
            classes = {i + 1: (f"{k} {t('advice.zone.' + advice_rules.ZONES[k]['zone'])}", advice_rules.ZONES[k]["color"])
                       for i, k in enumerate(keys)}
            self.figure(self.fig.class_map(zmap, classes, t("advice.fig_title"), t("advice.legend"), boundary=d.boundary,
                                           area=d.vector_output("units", "area")), t("advice.fig"))

    def _evidence(self, r: pd.Series) -> str:
        t = self.t
        parts = []
        for col, key, nd in (("cold_spot_share_pct", "advice.ev.cold", 1), ("sig_increase_share_pct", "advice.ev.up", 1),
                             ("sig_decrease_share_pct", "advice.ev.down", 1),
                             ("negative_effect_share_pct", "advice.ev.negative", 1),
                             ("agc_mean_t_ha", "advice.ev.agc", 1), ("change_mean_t_ha", "advice.ev.change", 1)):
            v = r.get(col)
            if v is not None and pd.notna(v):
                parts.append(t(key, v=self.n(v, nd) if "change" not in col else t.signed(v, nd), year=self.y2))
        return "; ".join(parts) if parts else "–"

    # -- chapter 9 -----------------------------------------------------------------------------------------
    def ch_limitations(self) -> None:
        t, d, cfg = self.t, self.d, self.cfg
        items = []
        al = d.table("plots", "allometry")
        if al is not None and len(al):
            prox = sorted({f"{r['species_group']} ({r['proxy_for']})" for _, r in al.iterrows()
                           if isinstance(r.get("proxy_for"), str) and r.get("proxy_for")})
            notver = sorted({str(r["species_group"]) for _, r in al.iterrows() if str(r.get("status")) != "verified"})
            items.append(t("limits.allometry", n=len(al), groups=len(set(al["species_group"]))))
            if prox:
                items.append(t("limits.proxy", names=t.join(prox)))
            if notver:
                items.append(t("limits.unverified", names=t.join(notver)))
        for g, ov in cfg.plots.carbon_fractions.items():
            items.append(t("limits.cf", group=g, value=self.n(ov.value, 3), source=ov.source))
        plots = d.table("plots", "plots")
        if plots is not None and "mc_error_sources" in plots:
            src = str(plots["mc_error_sources"].dropna().iloc[0]) if plots["mc_error_sources"].notna().any() else ""
            if "residual" not in src:
                items.append(t("limits.residual"))
        counts = d.table("plots", "counts")
        if counts is not None and len(counts) and (~counts["enough_plots"].astype(bool)).any():
            items.append(t("limits.few_plots", n=int((~counts["enough_plots"].astype(bool)).sum()),
                           min=cfg.plots.min_per_unit))
        card = d.document("model", "card")
        if isinstance(card, dict):
            cvm, trm = card.get("cv_metrics") or {}, card.get("training_metrics") or {}
            if cvm and trm:
                items.append(t("limits.model", cv=self.n(cvm.get("r2"), 3), train=self.n(trm.get("r2"), 3),
                               rmse=self.n(cvm.get("rmse")), n=card.get("n_plots", "–")))
        doc = d.document("assess", "cumulative_model") or {}
        if doc.get("computed"):
            items.append(t("limits.cumulative", fit=t.join(doc.get("fit_years", []))))
        items.append(t("limits.hotspots"))
        items.append(t("limits.maps"))
        if cfg.validation.truth_dir:
            items.append(t("limits.truth", truth=str(cfg.validation.truth_dir)))
        items.append(t("limits.scope"))
        self.doc.add(Bullets(items))

    # -- annexes -----------------------------------------------------------------------------------------------
    def annex_inventory(self) -> None:
        t, d = self.t, self.d
        ds = d.datasets
        raw, out, man = (ds[ds["kind"] == k] for k in ("raw", "output", "manifest"))
        from ..catalog.build import catalog_path

        self.para("inventory.p_intro", db=catalog_path(self.cfg).relative_to(self.cfg.workspace).as_posix(),
                  raw=len(raw), out=len(out), man=len(man),
                  # data only: a manifest's size follows its run (times, the workspace path), so a total with
                  # them would make two runs with the same outputs report differently
                  mb=self.n((raw["size_bytes"].astype(float).sum() + out["size_bytes"].astype(float).sum()) / 2 ** 20, 1),
                  archive=t(f"inventory.archive.{self.cfg.report.archive}"))
        rows = [[str(r["output_id"]), str(r["path"]), self.n(float(r["size_bytes"]) / 1024, 1), str(r["sha256"])[:16]]
                for _, r in raw.iterrows()]
        self.table([t("col.key"), t("col.file"), t("col.size_kb"), t("col.sha256")], rows, t("inventory.tab_raw"),
                   align=["l", "l", "r", "l"], long=True)
        runs = d.db.runs()
        lin = d.db.lineage()
        rows = []
        for _, r in runs.iterrows():  # no times, no fingerprints (they hold the workspace path): same outputs,
            sub = lin[lin["stage"] == r["stage"]]  # same report
            rows.append([r["stage"],
                         int(sub.loc[sub["relation"] == "input", "source_id"].nunique()),
                         t.join(sorted({s.split(":", 1)[1] for s in sub.loc[sub["relation"] == "upstream", "source_id"]}))
                         or "–", int((out["stage"] == r["stage"]).sum())])
        self.table([t("col.stage"), t("col.n_inputs"), t("col.upstream"), t("col.n_outputs")],
                   rows, t("inventory.tab_runs"), align=["l", "r", "l", "r"])
        rows = [[r["stage"], str(r["path"]).split("/", 2)[-1], str(r["units"] or "–"),
                 self.output_about(str(r["stage"]), str(r["output_id"]), str(r["about"] or "–")),
                 str(r["sha256"])[:16] if r["format"] != "GeoPackage" else "*"]
                for _, r in out.iterrows()]
        self.table([t("col.stage"), t("col.file"), t("col.units"), t("col.about"), t("col.sha256")], rows,
                   t("inventory.tab_outputs"), align=["l", "l", "l", "l", "l"], long=True,
                   note=t("inventory.note_gpkg"))
        self.para("inventory.p_verify")

    def annex_terms(self) -> None:
        t = self.t
        keys = ("compound_area", "unit", "agc", "base_period", "cumulative_effect", "actual_accumulation",
                "ideal_accumulation", "damage_type")
        rows = [[t(f"terms.{k}.name"), t(f"terms.{k}.other"), t(f"terms.{k}.means")] for k in keys]
        self.table([t("col.term"), t("col.term_other"), t("col.meaning")], rows, t("terms.tab"), align=["l", "l", "l"])

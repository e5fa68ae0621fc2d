"""Chapter 5: model construction and selection.

A mixin of :class:`~minecarbon.report.build.ReportBuilder` (its methods moved whole from ``build.py``):
it lays out results read from the monitoring database (``self.d``) with the builder's writing helpers
(``self.t``, ``self.para``, ``self.table``, ``self.optional`` ...)."""

from __future__ import annotations

import pandas as pd

from .document import Bullets

__all__ = ["ModelChapter"]



class ModelChapter:
    """Chapter 5 of the report."""

    # -- chapter 5 --------------------------------------------------------------------------------------
    def ch_model(self) -> None:
        t, d = self.t, self.d
        card = d.document("model", "card")
        if not isinstance(card, dict):
            self.note("model.no_model")
            return
        feats = [str(f) for f in card.get("features", [])]
        self.section("model.s_features")
        self.para("model.p_features", k=len(feats), features=", ".join(feats), n=card.get("n_plots", "–"))
        cons = d.nonempty("images", "consistency")  # composites made from scenes (docs/composite.md)
        if cons is not None and "ndvi_step" in cons and len(cons) > 1:
            big = cons.loc[cons["ndvi_step"].abs().idxmax()]
            self.para("model.p_composites", px=int(cons["stable_px"].iloc[0]), n=len(cons),
                      lo=self.n(cons["ndvi_median"].min(), 3), hi=self.n(cons["ndvi_median"].max(), 3),
                      step=t.signed(big["ndvi_step"], 3), year=int(big["year"]))
        als = d.nonempty("lidar", "als_plots")
        if als is not None and self.cfg.lidar.als:
            p95 = als["als_p95"].astype(float) if "als_p95" in als else pd.Series(dtype=float)
            self.para("model.p_als", res=self.n(self.cfg.lidar.chm_resolution_m, 1),
                      metrics=", ".join(self.cfg.lidar.canopy_metrics), n=int((als["n_returns"] > 0).sum()),
                      p95=self.n(float(p95.mean()) if p95.notna().any() else float("nan")),
                      used=t("model.als_used") if self.cfg.features.lidar_canopy else t("model.als_not_used"))
        sel = card.get("selection")
        if isinstance(sel, dict) and sel:
            pca = sel.get("pca") if isinstance(sel.get("pca"), dict) else {}
            self.para("model.p_selection", method=t.get(f"model.selection.{sel.get('method')}", str(sel.get("method"))),
                      r=self.n(sel.get("max_collinearity"), 2), pcs=pca.get("n_components", "–"),
                      var=self.n(100 * float(pca.get("variance_target", float("nan"))), 0),
                      applied=t.get("model.applied_in_folds", str(sel.get("applied", ""))) if sel.get("applied") else "–")
        fs = d.nonempty("model", "selection")
        if fs is not None and "feature" in fs:
            order = fs.sort_values("rf_importance", ascending=False) if "rf_importance" in fs else fs
            rows = [[r["feature"], t.signed(r.get("r_with_target"), 3), t.yes_no(r.get("kept_by_correlation", True)),
                     str(r["collinear_with"]) if isinstance(r.get("collinear_with"), str) else "–",
                     self.n(r.get("rf_importance"), 3), self.n(r.get("permutation_importance"), 3)]
                    for _, r in order.iterrows()]
            self.table([t("col.feature"), t("col.r_target"), t("col.kept"), t("col.collinear_with"),
                        t("col.rf_importance"), t("col.perm_importance")], rows, t("model.tab_selection"),
                       align=["l", "r", "l", "l", "r", "r"])
            if "rf_importance" in order:
                top = order.head(15)
                self.figure(self.fig.bars(list(top["feature"].astype(str)), list(top["rf_importance"].astype(float)),
                                          t("model.axis_importance"), t("model.fig_importance_title")),
                            t("model.fig_importance"), width=0.7)
        self.section("model.s_learners")
        learners = card.get("learners") if isinstance(card.get("learners"), dict) else {}
        cv = card.get("cv") or {}
        if learners:
            self.doc.add(Bullets([f"{k}: {t.get(f'model.learner.{k}', str(v.get('about', '')))}"
                                  for k, v in learners.items() if isinstance(v, dict)]))
        self.para("model.p_cv", scheme=cv.get("scheme", "–"), folds=cv.get("folds", "–"),
                  inner=cv.get("inner_folds", "–"))
        cmp_ = d.nonempty("model", "comparison")
        if cmp_ is not None and "learner" in cmp_:
            rows = []
            for _, r in cmp_.iterrows():
                grp = self.forest_type_name(r.get("group")) if str(r.get("scope")) != "pooled" else t("model.all_plots")
                scope = str(r.get("scope"))
                key = "own" if scope.startswith("own") else "pooled_on_type" if scope.startswith("pooled model on") \
                    else scope
                rows.append([grp, t.get(f"model.scope.{key}", scope), r["learner"],
                             int(r.get("n_plots", 0)), self.n(r.get("cv_r2"), 3), self.n(r.get("cv_rmse")),
                             self.n(r.get("cv_mae")), self.n(r.get("cv_rrmse_pct"), 1),
                             "✓" if bool(r.get("chosen")) else ""])
            self.table([t("col.group"), t("col.scope"), t("col.learner"), t("col.plots"), "R²", t("col.rmse_t_ha"),
                        t("col.mae_t_ha"), t("col.rrmse_pct"), t("col.chosen")], rows, t("model.tab_candidates"),
                       align=["l", "l", "l", "r", "r", "r", "r", "r", "l"], long=len(rows) > 15)
        self.section("model.s_selected")
        pooled = card.get("pooled") if isinstance(card.get("pooled"), dict) else {}
        best = str(pooled.get("learner", "–"))
        types = [ty for ty in card.get("types") or [] if isinstance(ty, dict)]
        if types and any(ty.get("source") == "own" or ty.get("learner") != best for ty in types):
            entries = []
            for ty in types:
                source = str(ty.get("source", "–"))
                entries.append(f"{self.forest_type_name(ty.get('name', ty.get('code')))}: {ty.get('learner', '–')} "
                               f"({t.get('model.source.' + source, source)})")
            self.para("model.p_choice_types", learner=best, types=t.join(entries))
        else:
            self.para("model.p_choice_pooled", learner=best,
                      about=t.get(f"model.learner.{best}", str(pooled.get("learner_about", ""))))
        rows = []
        for ty in card.get("types") or []:
            if not isinstance(ty, dict):
                continue
            m = ty.get("cv_metrics") or {}
            rows.append([self.forest_type_name(ty.get("name", ty.get("code"))), ty.get("n_plots", "–"),
                         t.get(f"model.source.{ty.get('source')}", str(ty.get("source", "–"))), ty.get("learner", "–"),
                         self.n(m.get("r2"), 3), self.n(m.get("rmse")), self.n(m.get("rrmse_pct"), 1),
                         t.signed(m.get("bias"))])
        cvm, trm = card.get("cv_metrics") or {}, card.get("training_metrics") or {}
        rows.append([t("model.all_plots"), card.get("n_plots", "–"), t("model.source.combined"), "–",
                     self.n(cvm.get("r2"), 3), self.n(cvm.get("rmse")), self.n(cvm.get("rrmse_pct"), 1),
                     t.signed(cvm.get("bias"))])
        self.table([t("col.forest_type"), t("col.plots"), t("col.model_source"), t("col.learner"), "R²",
                    t("col.rmse_t_ha"), t("col.rrmse_pct"), t("col.bias_t_ha")], rows, t("model.tab_metrics"),
                   align=["l", "r", "l", "l", "r", "r", "r", "r"])
        self.para("model.p_overall", r2=self.n(cvm.get("r2"), 3), rmse=self.n(cvm.get("rmse")),
                  rrmse=self.n(cvm.get("rrmse_pct"), 1), train=self.n(trm.get("r2"), 3))
        self.para("model.p_metrics_defs")
        tr = d.table("model", "training")
        if tr is not None and {"agc_t_ha", "agc_cv_pred_t_ha"} <= set(tr.columns):
            groups = None
            if "forest_type" in tr:
                names = {int(v): k for k, v in self.cfg.forest_type_codes.model_dump().items()}
                groups = [self.forest_type_name(names.get(int(v), v)) if pd.notna(v) else "–"
                          for v in tr["forest_type"]]
            self.figure(self.fig.scatter(tr["agc_t_ha"], tr["agc_cv_pred_t_ha"], t("model.axis_observed"),
                                         t("model.axis_predicted"), t("model.fig_scatter_title"),
                                         stats=f"R² = {self.n(cvm.get('r2'), 3)}\nRMSE = {self.n(cvm.get('rmse'))} "
                                               f"t C/ha\nn = {len(tr)}", groups=groups),
                        t("model.fig_scatter"), width=0.62)
        unc = card.get("uncertainty")
        if isinstance(unc, dict) and unc.get("level"):
            self.para("model.p_uncertainty", level=self.n(100 * float(unc["level"]), 0),
                      method=t.get(f"model.uncertainty.{unc.get('method')}", str(unc.get("method"))))
        ex = d.table("model", "excluded")
        if ex is not None and len(ex):
            self.note("model.note_excluded", n=len(ex), plots=t.join(ex["plot_id"]))

"""Build the monitoring report (the standard's Appendix E outline) from the monitoring database.

:func:`build_document` turns a project's results into a language-specific
:class:`~minecarbon.report.document.Document`, chapter by chapter; every
number is read from the database (tables loaded by the ``catalog`` stage
from the stage outputs) or from the catalogued rasters.  A part whose outputs
do not exist is left out; a part whose outputs cannot be read is replaced by
a visible note (and a logged warning) instead of stopping the report.
:func:`write_reports` renders the documents as HTML, PDF and DOCX.

Chapters: 1 basic situation, 2 mineral development, 3 monitoring extent and
plot layout, 4 plot AGC (with TLS vs tally), 5 model construction and
selection, 6 AGC inversion results, 7 spatio-temporal assessment, 8 zoning
management advice, 9 limitations; annexes: data inventory and lineage, terms.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from .. import __version__, units
from ..config import ProjectConfig
from ..errors import MinecarbonError
from ..progress import track
from . import advice as advice_rules
from .data import ReportData
from .document import (
    Bullets,
    Document,
    Figure,
    Heading,
    KeyFigures,
    Note,
    Paragraph,
    Table,
)
from .figures import (
    EFFECT_COLORS,
    GI_COLORS,
    TREND_COLORS,
    UNIT_COLORS,
    Figures,
    MapLabels,
)
from .fonts import FontFile
from .i18n import Translator

log = logging.getLogger(__name__)

FORMATS = ("html", "pdf", "docx")
CHAPTERS = ("basic", "mining", "layout", "plots", "model", "maps", "assessment", "advice", "limitations")
"""Chapter keys in the order of the standard's Appendix E (plus limitations)."""

_OPTIONAL_ERRORS = (KeyError, ValueError, TypeError, IndexError, AttributeError, MinecarbonError)


def _l2_palette(codes: Iterable[int]) -> dict[int, str]:
    shades = {10: "#1b7837", 20: "#fee391", 21: "#fee391", 22: "#fec44f", 23: "#ec7014", 30: "#fb6a4a",
              31: "#fb6a4a", 32: "#cb181d", 33: "#67000d", 40: "#c7e9c0", 41: "#c7e9c0", 42: "#7fcdbb",
              43: "#1d91c0", 50: "#8073ac"}
    return {c: shades.get(c, "#999999") for c in codes}


class ReportBuilder:
    """Builds one :class:`Document` in one language.

    Parameters
    ----------
    cfg : the project.
    data : access to the results (:class:`ReportData`).
    lang : 'zh' or 'en'.
    font : CJK font for the figures (None: Latin only).
    """

    def __init__(self, cfg: ProjectConfig, data: ReportData, lang: str, font: FontFile | None) -> None:
        self.cfg = cfg
        self.d = data
        self.t = Translator(lang)
        self.lang = lang
        t = self.t
        self.fig = Figures(font, MapLabels(north=t("map.north"), easting=t("map.easting"),
                                           northing=t("map.northing"), boundary=t("map.boundary"),
                                           area=t("map.area"), plots=t("map.plots")))
        self.y1, self.y2 = cfg.reference_year, cfg.compare_year
        self.doc = Document(lang=lang, title=t("doc.title", name=cfg.project.name), subtitle=t("doc.subtitle"),
                            meta=[], project=cfg.project.name, report_title=t("doc.report_title"),
                            toc_title=t("doc.contents"))
        self._chapter = 0
        self._section = 0
        self._fig = 0
        self._tab = 0
        self.problems: list[str] = []

    # -- writing helpers ------------------------------------------------------------------
    def n(self, v, nd: int = 2) -> str:
        return self.t.num(v, nd)

    def chapter(self, key: str) -> None:
        self._chapter += 1
        self._section = 0
        self._fig = self._tab = 0
        title = self.t(f"{key}.title")
        self.doc.add(Heading(f"{self._chapter} {title}" if isinstance(self._chapter, int) else title, 1,
                             f"ch{self._chapter}"))

    def annex(self, letter: str, key: str) -> None:
        self._chapter = letter  # type: ignore[assignment]
        self._section = 0
        self._fig = self._tab = 0
        self.doc.add(Heading(self.t("common.annex", letter=letter, title=self.t(f"{key}.title")), 1,
                             f"annex{letter}"))

    def section(self, key: str, **kw) -> None:
        self._section += 1
        self.doc.add(Heading(f"{self._chapter}.{self._section} {self.t(key, **kw)}", 2,
                             f"s{self._chapter}-{self._section}"))

    def para(self, key: str, **kw) -> None:
        self.doc.add(Paragraph(self.t(key, **kw)))

    def note(self, key: str, **kw) -> None:
        self.doc.add(Note(self.t(key, **kw)))

    def table(self, columns: list[str], rows: list[list], caption: str, **kw) -> None:
        self._tab += 1
        number = self.t("common.table_no", n=f"{self._chapter}-{self._tab}")
        self.doc.add(Table(columns=columns, rows=[[str(c) for c in r] for r in rows], caption=caption,
                           number=number, **kw))

    def figure(self, png: bytes, caption: str, width: float = 1.0) -> None:
        self._fig += 1
        number = self.t("common.figure_no", n=f"{self._chapter}-{self._fig}")
        self.doc.add(Figure(png=png, caption=caption, number=number, width=width))

    @contextlib.contextmanager
    def optional(self, what: str) -> Iterator[None]:
        """Run one part of a chapter; if its outputs cannot be read, put a note in its place and go on."""
        try:
            yield
        except _OPTIONAL_ERRORS as exc:
            msg = f"{what}: {type(exc).__name__}: {exc}"
            log.warning("report (%s): part left out - %s", self.lang, msg)
            self.problems.append(msg)
            self.doc.add(Note(self.t("common.part_failed", what=what, error=f"{type(exc).__name__}: {exc}")))

    # -- names -------------------------------------------------------------------------------------
    def unit_name(self, code: int, level: int = 2) -> str:
        code = int(code)
        return units.unit_name(code if level == 2 else code * 10, self.lang)

    def l1_name(self, code: int) -> str:
        return units.L1_NAMES.get(int(code), (str(code), str(code)))[0 if self.lang == "en" else 1]

    def forest_type_name(self, key) -> str:
        return self.t.get(f"forest_type.{key}", str(key))

    def output_about(self, stage: str, output_id: str, default: str) -> str:
        return self.t.get(f"output.{stage}.{output_id}", default) if self.lang == "zh" else default

    # -- the document ---------------------------------------------------------------------------------
    def build(self) -> Document:
        t = self.t
        cfg = self.cfg
        self.doc.meta = [
            t("doc.meta_period", y0=cfg.project.start_year, y1=cfg.project.end_year, base=cfg.project.base),
            t("doc.meta_generated", date=self.doc.date.isoformat(), version=__version__),
        ]
        with self.optional(t("doc.key_figures")):
            self.key_figures()
        for key in CHAPTERS:
            self.chapter(key)
            with self.optional(t(f"{key}.title")):
                getattr(self, f"ch_{key}")()
        self.annex("A", "inventory")
        with self.optional(t("inventory.title")):
            self.annex_inventory()
        self.annex("B", "terms")
        self.annex_terms()
        return self.doc

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
        self.section("assessment.s_trend")
        with self.optional(t("assessment.s_trend")):
            self.assess_trend()
        self.section("assessment.s_cumulative")
        with self.optional(t("assessment.s_cumulative")):
            self.assess_cumulative()
        self.section("assessment.s_zonal")
        with self.optional(t("assessment.s_zonal")):
            self.assess_zonal()
        self.section("assessment.s_hotspots")
        with self.optional(t("assessment.s_hotspots")):
            self.assess_hotspots()

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
                  mb=self.n(ds["size_bytes"].astype(float).sum() / 2 ** 20, 1),
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


def build_document(cfg: ProjectConfig, data: ReportData, lang: str, font: FontFile | None) -> tuple[Document, list[str]]:
    """The report in one language, and the parts that had to be left out (empty when all went well)."""
    b = ReportBuilder(cfg, data, lang, font)
    doc = b.build()
    return doc, b.problems


def report_name(cfg: ProjectConfig, lang: str, fmt: str) -> str:
    """``report.<fmt>`` in the project's language, ``report_<lang>.<fmt>`` otherwise."""
    return f"report.{fmt}" if lang == cfg.project.language else f"report_{lang}.{fmt}"


def write_reports(cfg: ProjectConfig, out_dir: Path, languages: Iterable[str] | None = None,
                  formats: Iterable[str] | None = None) -> list[Path]:
    """Build and write the report in every language and format; returns the written files.

    Also writes ``management_advice.csv`` (the zoning advice with its evidence).

    Raises
    ------
    MissingInputError
        The monitoring database does not exist, or a Chinese text must be drawn and no CJK font is found.
    """
    from ..catalog import open_catalog
    from ..io import write_table
    from .fonts import find_cjk_font, has_cjk, require_cjk_font, subset_font

    languages = list(languages or cfg.report.languages)
    formats = list(formats or cfg.report.formats)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with open_catalog(cfg) as db:
        data = ReportData(cfg, db)
        font = find_cjk_font(cfg.report.font)
        needs_cjk = "zh" in languages or has_cjk(cfg.project.name)
        if needs_cjk and font is None:
            font = require_cjk_font(cfg.report.font, "the report has Chinese text (figures and PDF need the glyphs)")
        docs = {}
        for lang in languages:
            doc, problems = build_document(cfg, data, lang, font)
            docs[lang] = doc
            if has_cjk(doc.text()) and font is None:
                font = require_cjk_font(cfg.report.font, f"the {lang} report contains Chinese names")
        builder = ReportBuilder(cfg, data, languages[0], font)
        adv = builder.advice_table()
        if adv is not None:
            adv = adv.copy()
            for lang in ("en", "zh"):
                tl = Translator(lang)
                adv[f"zone_{lang}"] = [tl(f"advice.zone.{z}") for z in adv["zone"]]
                adv[f"action_{lang}"] = [tl(f"advice.action.{z}") for z in adv["zone"]]
            written.append(write_table(adv.drop(columns=["color"]), out_dir / "management_advice.csv"))
    all_text = "\n".join(d.text() for d in docs.values())
    subset = subset_font(font, all_text) if font is not None and has_cjk(all_text) else None
    for lang, doc in track(docs.items(), "report files", len(docs), "languages"):
        for fmt in formats:
            path = out_dir / report_name(cfg, lang, fmt)
            if fmt == "html":
                from .html import write_html

                write_html(doc, path, subset if cfg.report.embed_font else None)
            elif fmt == "pdf":
                from .pdf import write_pdf

                write_pdf(doc, path, subset)
            elif fmt == "docx":
                from .docx import write_docx

                write_docx(doc, path)
            else:
                raise ValueError(f"unknown report format {fmt!r} (html, pdf, docx)")
            written.append(path)
    return written

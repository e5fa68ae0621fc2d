"""Build the monitoring report (the standard's Appendix E outline) from the monitoring database.

:func:`build_document` turns a project's results into a language-specific
:class:`~minecarbon.report.document.Document`, chapter by chapter; every
number is read from the database (tables loaded by the ``catalog`` stage
from the stage outputs) or from the catalogued rasters.  A part whose outputs
do not exist is left out; a part whose outputs cannot be read is replaced by
a visible note (and a logged warning) instead of stopping the report.
:func:`.write.write_reports` renders the documents as HTML, PDF and DOCX.

Chapters: 1 basic situation, 2 mineral development, 3 monitoring extent and
plot layout, 4 plot AGC (with TLS vs tally), 5 model construction and
selection, 6 AGC inversion results, 7 spatio-temporal assessment, 8 zoning
management advice, 9 limitations; annexes: data inventory and lineage, terms.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

from .. import __version__, units
from ..config import ProjectConfig
from ..errors import MinecarbonError
from .ch_advice import AdviceChapters
from .ch_assessment import AssessmentChapter
from .ch_maps import MapsChapter
from .ch_model import ModelChapter
from .ch_plots import PlotsChapter
from .ch_site import SiteChapters
from .data import ReportData
from .document import (
    Document,
    Figure,
    Heading,
    Note,
    Paragraph,
    Table,
)
from .figures import (
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


class ReportBuilder(SiteChapters, PlotsChapter, ModelChapter, MapsChapter, AssessmentChapter,  # one per chapter
                    AdviceChapters):
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



def build_document(cfg: ProjectConfig, data: ReportData, lang: str, font: FontFile | None) -> tuple[Document, list[str]]:
    """The report in one language, and the parts that had to be left out (empty when all went well)."""
    b = ReportBuilder(cfg, data, lang, font)
    doc = b.build()
    return doc, b.problems


def report_name(cfg: ProjectConfig, lang: str, fmt: str) -> str:
    """``report.<fmt>`` in the project's language, ``report_<lang>.<fmt>`` otherwise."""
    return f"report.{fmt}" if lang == cfg.project.language else f"report_{lang}.{fmt}"

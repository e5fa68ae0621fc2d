"""The monitoring report (the standard's Appendix E outline) in Chinese and English, as HTML, PDF and DOCX.

The report is built from the monitoring database (``minecarbon.catalog``) and
the catalogued rasters only: every number in the text is read from the
outputs, a chapter or figure appears when its outputs exist.  One
language-neutral build produces a :class:`~minecarbon.report.document.Document`
per language, which the HTML (self-contained, opens offline), PDF (fpdf2) and
DOCX (python-docx) writers render alike.

Typical use::

    from minecarbon.config import load_config
    from minecarbon.pipeline import make_report

    files = make_report(load_config("minecarbon.toml"), languages=["zh"], formats=["pdf"])

(``make_report`` runs the pipeline, so it lives in :mod:`minecarbon.pipeline`;
this package only renders.)
"""

from __future__ import annotations

from .build import FORMATS, ReportBuilder, build_document, report_name
from .document import Document
from .i18n import LANGUAGES, Translator
from .write import write_reports

__all__ = ["FORMATS", "LANGUAGES", "Document", "ReportBuilder", "Translator", "build_document", "report_name",
           "write_reports"]

"""The monitoring report (the standard's Appendix E outline) in Chinese and English, as HTML, PDF and DOCX.

The report is built from the monitoring database (``minecarbon.catalog``) and
the catalogued rasters only: every number in the text is read from the
outputs, a chapter or figure appears when its outputs exist.  One
language-neutral build produces a :class:`~minecarbon.report.document.Document`
per language, which the HTML (self-contained, opens offline), PDF (fpdf2) and
DOCX (python-docx) writers render alike.

Typical use::

    from minecarbon.config import load_config
    from minecarbon.report import make_report

    files = make_report(load_config("minecarbon.toml"), languages=["zh"], formats=["pdf"])
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .build import FORMATS, ReportBuilder, build_document, report_name, write_reports
from .document import Document
from .i18n import LANGUAGES, Translator

__all__ = ["FORMATS", "LANGUAGES", "Document", "ReportBuilder", "Translator", "build_document", "make_report",
           "report_name", "write_reports"]


def make_report(cfg, languages: Iterable[str] | None = None, formats: Iterable[str] | None = None,
                progress=None, on_stage=None) -> list[Path]:
    """Run what the report needs (stages up to date are skipped) and write the report; returns its files.

    ``languages`` and ``formats`` override ``[report].languages`` / ``[report].formats`` for this run
    (the report stage's settings change, so it re-runs and its manifest records what was written).
    ``on_stage(stage, status)`` is passed to :func:`minecarbon.pipeline.run_pipeline`.
    """
    from ..pipeline import run_pipeline
    from ..pipeline.core import read_manifest

    rep = cfg.report
    update = {}
    if languages:
        update["languages"] = list(dict.fromkeys(languages))
    if formats:
        update["formats"] = list(dict.fromkeys(formats))
    if update:
        cfg = cfg.model_copy(update={"report": rep.model_copy(update=update)})
    run_pipeline(cfg, progress=progress, on_stage=on_stage)
    m = read_manifest(cfg, "report") or {}
    out = cfg.workspace / "outputs" / "report"
    return [out / rel for rel in sorted(m.get("outputs", {}))]

"""Write the report files: every language built and rendered, the second language in a second process.

:func:`write_reports` builds one :class:`~minecarbon.report.document.Document`
per language (:func:`.build.build_document`: chapters, figures) and renders
each as HTML, PDF and DOCX.  With two languages (and a CJK font found, which
the Chinese report needs anyway), the second language is built and rendered
in a worker process (:class:`Worker`) while this process does the first: matplotlib's settings
(``rcParams``) are global to a process and the PDF and DOCX writers are pure
Python, so threads would be neither safe nor faster.  The embedded font
subset holds the characters of *both* documents, as before, so there are two
steps: both documents are built at once, then the subset is made from their
text and both are rendered at once.  The files are those of a one-process run
(same figures, same font subset), byte for byte (tested).  The worker's
log records are passed back and logged here, into the run log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..config import ProjectConfig
from ..progress import steps
from .build import ReportBuilder, build_document, report_name
from .data import ReportData
from .document import Document
from .fonts import FontFile, FontSubset
from .i18n import Translator

log = logging.getLogger(__name__)


def write_document(doc: Document, cfg: ProjectConfig, lang: str, formats: Iterable[str], out_dir: Path,
                   subset: FontSubset | None) -> list[Path]:
    """Render one language's document in ``formats``; returns the files written."""
    written = []
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


class _Records(logging.Handler):
    """Keeps the worker's log records (name, level, message) to be logged again by the parent."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


@contextmanager
def _recorded() -> Iterator[_Records]:
    root = logging.getLogger("minecarbon")
    handler, level, propagate = _Records(), root.level, root.propagate
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False  # nothing to the worker's stderr: the parent logs the records
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        root.propagate = propagate


def _worker_build(cfg: ProjectConfig, lang: str, font: FontFile | None):
    """(In the worker) the document of ``lang``, the parts left out, and the log records."""
    from ..catalog import open_catalog

    with _recorded() as rec, open_catalog(cfg) as db:
        doc, problems = build_document(cfg, ReportData(cfg, db), lang, font)
    return doc, problems, rec.records


def _worker_write(doc: Document, cfg: ProjectConfig, lang: str, formats: list[str], out_dir: Path,
                  subset: FontSubset | None):
    with _recorded() as rec:
        written = write_document(doc, cfg, lang, formats, out_dir, subset)
    return written, rec.records


def _relog(records: list[tuple[str, int, str]]) -> None:
    for name, level, msg in records:
        logging.getLogger(name).log(level, "%s", msg)


def _result(worker: Worker):
    *out, records = worker.result()
    _relog(records)
    return out[0] if len(out) == 1 else tuple(out)


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
    font = find_cjk_font(cfg.report.font)
    needs_cjk = "zh" in languages or has_cjk(cfg.project.name)
    if needs_cjk and font is None:
        font = require_cjk_font(cfg.report.font, "the report has Chinese text (figures and PDF need the glyphs)")
    # a second process only when the font is known before building (it is whenever Chinese is one language)
    second = languages[1] if len(languages) == 2 and font is not None else None
    with _second_process(second is not None) as worker:
        other = worker.submit(_worker_build, cfg, second, font) if worker is not None else None
        with open_catalog(cfg) as db:
            data = ReportData(cfg, db)
            docs = {}
            for lang in languages if other is None else languages[:1]:
                doc, problems = build_document(cfg, data, lang, font)
                docs[lang] = doc
                if has_cjk(doc.text()) and font is None:
                    font = require_cjk_font(cfg.report.font, f"the {lang} report contains Chinese names")
            if other is not None:
                docs[second], _ = _result(other)
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
        with steps("report files", len(docs), "languages") as step:
            other = worker.submit(_worker_write, docs[second], cfg, second, formats, out_dir, subset) \
                if worker is not None else None
            for lang, doc in docs.items():
                if lang != second or other is None:
                    written.extend(write_document(doc, cfg, lang, formats, out_dir, subset))
                    step()
            if other is not None:
                written.extend(_result(other))
                step()
    return written


class Worker:
    """A Python process running :mod:`._worker`: ``submit`` a module-level function and its arguments, then
    ``result`` (its return value, or its exception raised again here).  One call at a time."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # the same modules
        self.proc = subprocess.Popen([sys.executable, "-m", "minecarbon.report._worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)

    def submit(self, fn, *args) -> Worker:
        pickle.dump((fn, args), self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()
        return self

    def result(self):
        try:
            ok, value = pickle.load(self.proc.stdout)
        except EOFError:
            raise RuntimeError(f"the report's worker process stopped (exit status {self.proc.wait()})") from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


@contextmanager
def _second_process(wanted: bool) -> Iterator[Worker | None]:
    """A :class:`Worker`, or None when not ``wanted`` or no process can be started."""
    if not wanted:
        yield None
        return
    try:
        worker = Worker()
    except OSError as e:
        log.info("report languages rendered one after the other (no worker process: %s)", e)
        yield None
        return
    try:
        yield worker
    except BaseException:  # an error or Ctrl-C here: the worker's result is not wanted
        worker.proc.kill()
        raise
    finally:
        worker.close()

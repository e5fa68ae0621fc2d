"""Stage `report`: the monitoring report (Appendix E outline) in the languages and formats of ``[report]``.

Runs after ``catalog`` and reads the monitoring database it builds.  The
report in the project's language is ``report.<format>``; other languages are
``report_<lang>.<format>``.  ``management_advice.csv`` holds the zoning advice
with its evidence.  Report files of an earlier run that this run does not
write (a language or format no longer asked for) are removed, so the folder
always matches the stage manifest.
"""

from __future__ import annotations

import logging

from ..core import Context, Output, Stage

log = logging.getLogger(__name__)

_FILES = [("html", "html", "self-contained HTML, opens offline"), ("pdf", "pdf", "PDF"),
          ("docx", "docx", "editable Word document")]


def _run_report(ctx: Context) -> None:
    from ...report import write_reports

    out_dir = ctx.stage_dir()
    written = write_reports(ctx.cfg, out_dir)
    keep = {p.resolve() for p in written}
    for o in ctx.stage.outputs:
        p = ctx.out(o.id)
        if p.resolve() not in keep and p.exists():
            p.unlink()
    for p in written:
        ctx.produced(p)
    log.info("report: wrote %s", ", ".join(p.name for p in written))


STAGE = Stage(
    name="report",
    about="Monitoring report (Appendix E outline) in Chinese and English: HTML, PDF, DOCX",
    func=_run_report,
    upstream=("catalog",),
    settings=("report",),
    outputs=tuple(
        [Output(fmt, f"report.{ext}", fmt, f"The monitoring report in the project's language ({about})")
         for fmt, ext, about in _FILES]
        + [Output(f"{fmt}_{lang}", f"report_{lang}.{ext}", fmt,
                  f"The monitoring report in {'Chinese' if lang == 'zh' else 'English'} ({about}), when that is "
                  f"not the project's language")
           for lang in ("zh", "en") for fmt, ext, about in _FILES]
        + [Output("advice", "management_advice.csv", "table",
                  "Zoning management advice per level-2 unit: zone, rule and evidence")]),
)

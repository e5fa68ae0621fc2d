"""Stage `report`."""

from __future__ import annotations

import logging


from ..core import Context, Output, Stage, register

log = logging.getLogger(__name__)


def _run_report(ctx: Context) -> None:
    from ...report import build_report

    path = build_report(ctx)
    ctx.produced(path)


register(Stage(
    name="report",
    about="Self-contained HTML report following the standard's outline",
    func=_run_report,
    upstream=("units", "plots", "model", "map", "assess"),
    settings=("project", "assess", "validation"),
    outputs=(Output("html", "report.html", "html", "The monitoring report (self-contained HTML)"),),
))

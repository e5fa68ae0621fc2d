"""Self-contained HTML: figures as data URIs, the used CJK glyphs embedded as a WOFF font, no external links.

Rendered with Jinja2 (``templates/report.html.j2``) with autoescaping on: every
text of the document (project and plot names, file names ...) is escaped.
"""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2

from ..io.atomic import atomic_write_text
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
from .fonts import FontSubset

EMBEDDED_FAMILY = "minecarbon CJK"


def _kind(block) -> str:
    return {Heading: "heading", Paragraph: "paragraph", Bullets: "bullets", Note: "note", KeyFigures: "kpi",
            Table: "table", Figure: "figure"}[type(block)]


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("minecarbon", "report/templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["b64png"] = lambda b: "data:image/png;base64," + base64.b64encode(b).decode("ascii")
    env.filters["kind"] = _kind
    return env


def render_html(doc: Document, font: FontSubset | None = None) -> str:
    """The HTML text of a document.

    Parameters
    ----------
    doc : the document.
    font : subset of the CJK font covering the document's Chinese characters, embedded as WOFF (None: rely
        on the reader's fonts).
    """
    font_uri = None
    if font is not None and font.chars:
        font_uri = "data:font/woff;base64," + base64.b64encode(font.woff).decode("ascii")
    return _env().get_template("report.html.j2").render(doc=doc, font_uri=font_uri, family=EMBEDDED_FAMILY)


def write_html(doc: Document, path: Path, font: FontSubset | None = None) -> Path:
    """Write the self-contained HTML report atomically."""
    return atomic_write_text(path, render_html(doc, font))

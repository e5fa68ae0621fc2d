"""The report as data: a list of blocks that the HTML, PDF and DOCX writers render alike.

The builder (:mod:`minecarbon.report.build`) produces one :class:`Document` per
language; the writers never compute anything, so the three formats hold the
same text, tables and figures.  Text is plain (no markup): each writer escapes
it for its format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int
    """1 = chapter, 2 = section."""
    anchor: str


@dataclass
class Paragraph:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Note:
    """A highlighted remark (warning, assumption)."""

    text: str


@dataclass
class KeyFigures:
    items: list[tuple[str, str]]
    """(value, label) pairs."""


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str
    number: str
    align: list[str] | None = None
    """'l' or 'r' per column (default: first column left, others right)."""
    long: bool = False
    """Long tables: folded in HTML, smaller type in PDF/DOCX."""
    note: str | None = None

    def alignment(self) -> list[str]:
        if self.align:
            return self.align
        return ["l"] + ["r"] * (len(self.columns) - 1)


@dataclass
class Figure:
    png: bytes
    caption: str
    number: str
    width: float = 1.0
    """Width as a fraction of the text width."""


Block = Heading | Paragraph | Bullets | Note | KeyFigures | Table | Figure


@dataclass
class Document:
    """One report in one language."""

    lang: str
    title: str
    """Full title (project and report), for window titles and footers."""
    subtitle: str
    meta: list[str]
    blocks: list = field(default_factory=list)
    project: str = ""
    """The project's name (first line of the cover)."""
    report_title: str = ""
    """The report's title without the project name (second line of the cover)."""
    toc_title: str = "Contents"
    date: dt.date = field(default_factory=dt.date.today)
    """Date of the report; also the creation date inside the PDF and DOCX (so a file is the same all day)."""

    def add(self, block) -> None:
        self.blocks.append(block)

    def headings(self, max_level: int = 2) -> list[Heading]:
        return [b for b in self.blocks if isinstance(b, Heading) and b.level <= max_level]

    def text(self) -> str:
        """All text of the document (for font subsetting and tests)."""
        parts = [self.title, self.subtitle, self.project, self.report_title, self.toc_title, *self.meta]
        for b in self.blocks:
            if isinstance(b, (Heading, Paragraph, Note)):
                parts.append(b.text)
            elif isinstance(b, Bullets):
                parts += b.items
            elif isinstance(b, KeyFigures):
                parts += [x for pair in b.items for x in pair]
            elif isinstance(b, Table):
                parts += [b.caption, b.number, *b.columns, *(c for r in b.rows for c in r), b.note or ""]
            elif isinstance(b, Figure):
                parts += [b.caption, b.number]
        return "\n".join(parts)

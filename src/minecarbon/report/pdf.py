"""PDF with fpdf2 (pure Python, from PyPI; no system libraries): A4, outline, table of contents, page numbers.

Text is set in DejaVu Sans (shipped with matplotlib) with the CJK font as
fallback for English, and in the CJK font with DejaVu as fallback for Chinese;
fpdf2 embeds subsets of both, so the PDF shows Chinese on any machine.
"""

from __future__ import annotations

import datetime
import io
import math
import tempfile
from pathlib import Path

from ..errors import MissingInputError
from ..io.atomic import atomic_path
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
from .fonts import INSTALL_HINT, FontSubset, dejavu_paths, has_cjk

GREEN = (27, 107, 52)
LIGHT = (238, 245, 239)
LINE = (201, 211, 203)


def _pdf_class():
    from fpdf import FPDF

    class ReportPDF(FPDF):
        footer_text = ""
        body_family = "dejavu"
        wrap = "WORD"

        def multi_cell(self, *args, **kwargs):  # Chinese wraps between any two characters
            kwargs.setdefault("wrapmode", self.wrap)
            return super().multi_cell(*args, **kwargs)

        def footer(self) -> None:
            if self.page_no() == 1:
                return
            self.set_y(-12)
            self.set_font(self.body_family, size=7)
            self.set_text_color(110, 120, 114)
            self.cell(0, 5, f"{self.footer_text}    {self.page_no()}", align="R")
            self.set_text_color(0, 0, 0)

    return ReportPDF


def _string_width(pdf, text: str) -> float:
    """``pdf.get_string_width`` remembered per font, size and text: fpdf2 runs its bidirectional-text
    analysis on every call, and table cells are measured up to three times (widths, lines, drawing)."""
    cache = pdf.__dict__.setdefault("_minecarbon_widths", {})
    key = (pdf.font_family, pdf.font_style, pdf.font_size_pt, pdf.char_spacing, pdf.font_stretching, text)
    w = cache.get(key)
    if w is None:
        w = cache[key] = pdf.get_string_width(text)
    return w


def _col_widths(table: Table, pdf) -> list[float]:
    """Column widths from the widest text of each column (headers may wrap), scaled down to the page width."""
    widths = []
    for j, c in enumerate(table.columns):
        body_w = max([_string_width(pdf, str(r[j])) for r in table.rows[:300]] or [0.0]) + 3
        head_w = min(_string_width(pdf, str(c)) + 3, max(body_w, 18.0))
        widths.append(min(max(body_w, head_w, 9.0), 90.0))
    return _fit(widths, pdf.epw)


def _fit(widths: list[float], total: float, keep: float = 24.0) -> list[float]:
    """Shrink the widths to ``total``: columns up to ``keep`` mm keep their width, wider ones shrink in proportion."""
    if sum(widths) <= total:
        return widths
    if sum(min(w, keep) for w in widths) > total:
        keep = total / len(widths)
    fixed = [min(w, keep) for w in widths]
    spare = total - sum(fixed)
    extra = [w - f for w, f in zip(widths, fixed)]
    k = max(spare, 0.0) / sum(extra) if sum(extra) else 0.0
    return [f + e * k for f, e in zip(fixed, extra)]


def write_pdf(doc: Document, path: Path, font: FontSubset | None) -> Path:
    """Write the document as PDF atomically.

    ``font`` is the subset of the CJK font covering the document's Chinese characters
    (:func:`minecarbon.report.fonts.subset_font`).

    Raises
    ------
    MissingInputError
        The document has Chinese text and no CJK font was found.
    """
    from fpdf.enums import Align, XPos, YPos
    from fpdf.fonts import FontFace
    from fpdf.outline import TableOfContents

    if (font is None or not font.chars) and has_cjk(doc.text()):
        raise MissingInputError(f"The PDF report {path} has Chinese text and no font with Chinese glyphs was "
                                f"found. {INSTALL_HINT}")
    pdf = _pdf_class()(orientation="P", unit="mm", format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=16)
    dv = dejavu_paths()
    pdf.add_font("dejavu", "", str(dv[""]))
    pdf.add_font("dejavu", "B", str(dv["B"]))
    tmpdir = tempfile.TemporaryDirectory(prefix="minecarbon-font-")
    if font is not None and font.chars:
        cjk = Path(tmpdir.name) / "cjk-subset.ttf"  # fpdf2 reads fonts from files
        cjk.write_bytes(font.ttf)
        pdf.add_font("cjk", "", str(cjk))
        pdf.add_font("cjk", "B", str(cjk))  # no bold CJK face: headings use the regular glyphs
    has_font = font is not None and bool(font.chars)
    body = "cjk" if (doc.lang == "zh" and has_font) else "dejavu"
    other = "dejavu" if body == "cjk" else ("cjk" if has_font else None)
    if other:
        pdf.set_fallback_fonts([other], exact_match=False)
    pdf.body_family = body
    pdf.wrap = "CHAR" if doc.lang == "zh" else "WORD"
    pdf.footer_text = doc.title
    pdf.set_title(doc.title)
    pdf.set_creation_date(datetime.datetime.combine(doc.date, datetime.time(0, 0), tzinfo=datetime.timezone.utc))
    pdf.set_creator("minecarbon")
    pdf.set_lang("zh-CN" if doc.lang == "zh" else "en")

    # -- cover ---------------------------------------------------------------------------
    pdf.add_page()
    pdf.set_y(45)
    pdf.set_font(body, "B", 20)
    pdf.set_text_color(*GREEN)
    if doc.project:
        pdf.multi_cell(0, 10, doc.project, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(body, "B", 16)
    pdf.multi_cell(0, 9, doc.report_title or doc.title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    pdf.set_font(body, "", 12)
    pdf.multi_cell(0, 6.5, doc.subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(body, "", 9.5)
    for m in doc.meta:
        pdf.multi_cell(0, 5.5, m, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    for b in doc.blocks:
        if isinstance(b, KeyFigures):
            _kpis(pdf, b, body)
    n_heads = len(doc.headings(2))
    pdf.add_page()
    toc_title = doc.toc_title
    pdf.set_font(body, "B", 14)
    pdf.set_text_color(*GREEN)
    pdf.cell(0, 10, toc_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    from fpdf.fonts import TextStyle

    toc = TableOfContents(text_style=TextStyle(font_family=body, font_size_pt=9), level_indent=6, line_spacing=1.45)
    pdf.insert_toc_placeholder(toc.render_toc, pages=max(1, math.ceil(n_heads / 42)), allow_extra_pages=True)

    # -- body --------------------------------------------------------------------------------
    for b in doc.blocks:
        if isinstance(b, Heading):
            if b.level == 1:
                pdf.add_page()
                pdf.start_section(b.text, level=0)
                pdf.set_font(body, "B", 15)
                pdf.set_text_color(*GREEN)
                pdf.multi_cell(0, 8, b.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.set_draw_color(*GREEN)
                pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
                pdf.ln(4)
            else:
                if pdf.get_y() > pdf.h - 45:
                    pdf.add_page()
                pdf.ln(2)
                pdf.start_section(b.text, level=1)
                pdf.set_font(body, "B", 11.5)
                pdf.set_text_color(36, 64, 44)
                pdf.multi_cell(0, 6.5, b.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.ln(1)
            pdf.set_text_color(0, 0, 0)
        elif isinstance(b, Paragraph):
            pdf.set_font(body, "", 9.5)
            pdf.multi_cell(0, 5.2, b.text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1.5)
        elif isinstance(b, Note):
            pdf.set_font(body, "", 9)
            pdf.set_fill_color(255, 247, 224)
            pdf.set_draw_color(224, 165, 38)
            pdf.multi_cell(0, 5, b.text, border="L", fill=True, padding=(1.5, 2.5), new_x=XPos.LMARGIN,
                           new_y=YPos.NEXT)
            pdf.ln(2)
        elif isinstance(b, Bullets):
            pdf.set_font(body, "", 9.2)
            for item in b.items:
                pdf.set_x(pdf.l_margin + 3)
                pdf.multi_cell(pdf.epw - 3, 5, "• " + item, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.ln(0.8)
            pdf.ln(1)
        elif isinstance(b, Table):
            _table(pdf, b, body, FontFace)
        elif isinstance(b, Figure):
            _figure(pdf, b, body)
    with atomic_path(path) as tmp:
        pdf.output(str(tmp))
    tmpdir.cleanup()
    return path


def _kpis(pdf, b: KeyFigures, body: str) -> None:
    from fpdf.enums import XPos, YPos

    w = (pdf.epw - 4 * 3) / 3
    x0 = pdf.l_margin
    for i, (value, label) in enumerate(b.items):
        col = i % 3
        if col == 0 and i:
            pdf.ln(22)
        x = x0 + col * (w + 4)
        y = pdf.get_y()
        pdf.set_fill_color(*LIGHT)
        pdf.set_draw_color(*LINE)
        pdf.rect(x, y, w, 19, style="DF")
        pdf.set_xy(x + 2, y + 2)
        pdf.set_font(body, "B", 11)
        pdf.set_text_color(*GREEN)
        pdf.cell(w - 4, 6, value, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_x(x + 2)
        pdf.set_font(body, "", 7.5)
        pdf.set_text_color(60, 70, 64)
        pdf.multi_cell(w - 4, 3.8, label, new_x=XPos.LMARGIN, new_y=YPos.TOP)
        pdf.set_xy(x0, y)
    pdf.ln(24)
    pdf.set_text_color(0, 0, 0)


def _table(pdf, b: Table, body: str, FontFace) -> None:
    """A grid table: one-line cells are drawn with ``cell`` (fast), longer ones wrap with ``multi_cell``."""
    from fpdf.enums import XPos, YPos

    size = 7 if b.long or len(b.columns) > 6 else 8
    pad = 0.8
    line_h = size * 0.42
    if pdf.get_y() > pdf.h - 40:
        pdf.add_page()
    pdf.set_font(body, "B", 8.8)
    pdf.set_text_color(36, 64, 44)
    pdf.multi_cell(0, 5, f"{b.number} {b.caption}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(body, "", size)
    widths = _col_widths(b, pdf)
    align = ["L" if a == "l" else "R" for a in b.alignment()]
    pdf.set_draw_color(*LINE)
    pdf.set_line_width(0.15)

    def lines(text: str, w: float) -> int:
        """Lines a cell needs: exact for one line, else estimated from the text width (wrapping wastes some)."""
        usable = max(w - 2 * pad, 6.0)
        sw = _string_width(pdf, text)
        if sw <= usable:
            return 1
        return int(math.ceil(sw * 1.12 / usable)) + (1 if " " in text and pdf.wrap == "WORD" else 0)

    def row(cells: list[str], header: bool) -> None:
        if header:
            pdf.set_font(body, "B", size)
        ns = [lines(c, w) for c, w in zip(cells, widths)]  # once per cell: string widths are costly in fpdf
        n = max(ns)
        h = n * line_h + 2 * pad
        if pdf.get_y() + h > pdf.h - pdf.b_margin:
            pdf.add_page()
            if not header:
                row(b.columns, True)
        y = pdf.get_y()
        x = pdf.l_margin
        for c, w, a, nc in zip(cells, widths, align, ns):
            if header:
                pdf.set_fill_color(*LIGHT)
                pdf.rect(x, y, w, h, style="DF")
            else:
                pdf.rect(x, y, w, h, style="D")
            pdf.set_xy(x + pad, y + pad)
            if nc == 1:
                pdf.cell(w - 2 * pad, line_h, c, align=a if not header else "L")
            else:
                pdf.multi_cell(max(w - 2 * pad, 6.0), line_h, c, align=a if not header else "L")
            x += w
        pdf.set_xy(pdf.l_margin, y + h)
        if header:
            pdf.set_font(body, "", size)

    row([str(c) for c in b.columns], True)
    for r in b.rows:
        row([str(c) for c in r], False)
    if b.note:
        pdf.set_font(body, "", 7.5)
        pdf.multi_cell(0, 4, b.note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _figure(pdf, b: Figure, body: str) -> None:
    from fpdf.enums import Align, XPos, YPos
    from PIL import Image

    with Image.open(io.BytesIO(b.png)) as im:
        w_px, h_px = im.size
    w = pdf.epw * min(b.width, 1.0)
    h = w * h_px / w_px
    max_h = pdf.h - pdf.t_margin - pdf.b_margin - 14
    if h > max_h:
        h = max_h
        w = h * w_px / h_px
    if pdf.get_y() + h + 10 > pdf.h - pdf.b_margin:
        pdf.add_page()
    x = pdf.l_margin + (pdf.epw - w) / 2
    pdf.image(io.BytesIO(b.png), x=x, y=pdf.get_y(), w=w, h=h)
    pdf.set_y(pdf.get_y() + h + 1)
    pdf.set_font(body, "", 8.5)
    pdf.set_text_color(36, 64, 44)
    pdf.multi_cell(0, 4.5, f"{b.number} {b.caption}", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)

"""Editable Word document (python-docx): real headings, tables and captions, a table-of-contents field.

Consultants edit the report in Word: headings use Word's built-in heading
styles (so the navigation pane and the table of contents work), tables are
Word tables, figures are pictures with captions.  Word fills the table of
contents when the file is opened (it asks to update fields).  Chinese text
uses 宋体 (SimSun) / 黑体 (SimHei), the fonts every Chinese Windows has;
Latin text uses Calibri.
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path

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

LATIN_FONT = "Calibri"
CJK_BODY_FONT = "SimSun"
CJK_HEADING_FONT = "SimHei"


def _set_fonts(style, latin: str, east_asia: str) -> None:
    from docx.oxml.ns import qn

    style.font.name = latin
    rpr = style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    for attr, val in (("w:ascii", latin), ("w:hAnsi", latin), ("w:eastAsia", east_asia), ("w:cs", latin)):
        rfonts.set(qn(attr), val)


def _shade(cell_or_par, fill: str) -> None:
    from docx.oxml.ns import qn

    el = cell_or_par._tc.get_or_add_tcPr() if hasattr(cell_or_par, "_tc") else cell_or_par._p.get_or_add_pPr()
    shd = el.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:color"): "auto", qn("w:fill"): fill})
    el.append(shd)


def _field(paragraph, instr: str) -> None:
    """A Word field (TOC, PAGE) that Word computes."""
    from docx.oxml.ns import qn

    run = paragraph.add_run()
    for tag, attrs, text in (("w:fldChar", {qn("w:fldCharType"): "begin"}, None),
                             ("w:instrText", {qn("xml:space"): "preserve"}, instr),
                             ("w:fldChar", {qn("w:fldCharType"): "separate"}, None),
                             ("w:t", {}, " "),
                             ("w:fldChar", {qn("w:fldCharType"): "end"}, None)):
        el = run._r.makeelement(qn(tag), attrs)
        if text is not None:
            el.text = text
        run._r.append(el)


def _widths(t, b: Table, total: int) -> None:
    """Column widths from the longest text of each column (CJK characters count double), fitted to the page."""
    from .fonts import has_cjk

    def size(text: str) -> float:
        return sum(2.0 if has_cjk(c) else 1.0 for c in text)

    need = []
    for j, c in enumerate(b.columns):
        body = max([size(str(r[j])) for r in b.rows[:300]] or [0.0])
        need.append(min(max(body, min(size(str(c)), 12.0), 6.0), 60.0))
    if sum(need) > 95:  # too wide for one line per cell: narrow columns keep their width, wide ones share the rest
        keep = [min(n, 14.0) for n in need]
        spare = max(95.0 - sum(keep), 0.0)
        extra = [n - k for n, k in zip(need, keep)]
        need = [k + (e * spare / sum(extra) if sum(extra) else 0.0) for k, e in zip(keep, extra)]
    tot = sum(need)
    t.autofit = False
    for j, w in enumerate(need):
        width = int(total * w / tot)
        t.columns[j].width = width
        for cell in t.columns[j].cells:
            cell.width = width


def write_docx(doc: Document, path: Path) -> Path:
    """Write the document as DOCX atomically."""
    import docx
    from docx.enum.section import WD_ORIENT  # noqa: F401  (portrait default)
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    d = docx.Document()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.0)
    sec.top_margin = sec.bottom_margin = Cm(2.0)
    text_width = sec.page_width - sec.left_margin - sec.right_margin
    styles = d.styles
    _set_fonts(styles["Normal"], LATIN_FONT, CJK_BODY_FONT)
    styles["Normal"].font.size = Pt(10.5)
    for name in ("Title", "Subtitle", "Heading 1", "Heading 2", "Caption"):
        _set_fonts(styles[name], LATIN_FONT, CJK_HEADING_FONT)
    green = RGBColor(0x1B, 0x6B, 0x34)
    for name, size in (("Title", 22), ("Heading 1", 15), ("Heading 2", 12)):
        styles[name].font.color.rgb = green
        styles[name].font.size = Pt(size)
    styles["Caption"].font.size = Pt(9)
    styles["Caption"].font.color.rgb = RGBColor(0x24, 0x40, 0x2C)
    # ask Word to update the table of contents when the file is opened
    settings = d.settings.element
    upd = settings.makeelement(qn("w:updateFields"), {qn("w:val"): "true"})
    settings.append(upd)
    footer = sec.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer.add_run(doc.title + "    ").font.size = Pt(8)
    _field(footer, "PAGE")

    stamp = datetime.datetime.combine(doc.date, datetime.time(0, 0))
    d.core_properties.created = stamp
    d.core_properties.modified = stamp
    d.core_properties.last_printed = stamp
    d.core_properties.revision = 1
    d.core_properties.title = doc.title
    d.core_properties.author = "minecarbon"
    d.core_properties.language = "zh-CN" if doc.lang == "zh" else "en"
    if doc.project:
        d.add_paragraph(doc.project, style="Subtitle")
    d.add_paragraph(doc.report_title or doc.title, style="Title")
    d.add_paragraph(doc.subtitle)
    for m in doc.meta:
        p = d.add_paragraph(m)
        p.runs[0].font.size = Pt(9)
    for b in doc.blocks:
        if isinstance(b, KeyFigures):
            t = d.add_table(rows=0, cols=2)
            t.style = "Table Grid"
            for value, label in b.items:
                cells = t.add_row().cells
                cells[0].text = value
                cells[1].text = label
                _shade(cells[0], "EEF5EF")
                cells[0].paragraphs[0].runs[0].bold = True
    toc = d.add_paragraph()
    run = toc.add_run(doc.toc_title)
    run.bold = True
    run.font.size = Pt(15)
    run.font.color.rgb = green
    _field(d.add_paragraph(), 'TOC \\o "1-2" \\h \\z \\u')
    d.add_page_break()

    first_chapter = True
    for b in doc.blocks:
        if isinstance(b, Heading):
            if b.level == 1 and not first_chapter:
                d.add_page_break()
            first_chapter = first_chapter and b.level != 1
            d.add_heading(b.text, level=b.level)
        elif isinstance(b, Paragraph):
            d.add_paragraph(b.text)
        elif isinstance(b, Note):
            p = d.add_paragraph(b.text)
            _shade(p, "FFF7E0")
        elif isinstance(b, Bullets):
            for item in b.items:
                d.add_paragraph(item, style="List Bullet")
        elif isinstance(b, Table):
            d.add_paragraph(f"{b.number} {b.caption}", style="Caption")
            size = Pt(7.5) if b.long or len(b.columns) > 6 else Pt(8.5)
            t = d.add_table(rows=1, cols=len(b.columns))
            t.style = "Table Grid"
            t.alignment = WD_TABLE_ALIGNMENT.LEFT
            al = b.alignment()
            for j, c in enumerate(b.columns):
                cell = t.rows[0].cells[j]
                cell.text = str(c)
                _shade(cell, "EEF5EF")
                run = cell.paragraphs[0].runs[0]
                run.bold = True
                run.font.size = size
            for r in b.rows:
                cells = t.add_row().cells
                for j, c in enumerate(r):
                    cells[j].text = str(c)
                    par = cells[j].paragraphs[0]
                    if al[j] == "r":
                        par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                    for run in par.runs:
                        run.font.size = size
            _widths(t, b, int(text_width))
            # repeat the header row on every page
            trpr = t.rows[0]._tr.get_or_add_trPr()
            trpr.append(trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))
            if b.note:
                p = d.add_paragraph(b.note)
                p.runs[0].font.size = Pt(8)
            d.add_paragraph()
        elif isinstance(b, Figure):
            d.add_picture(io.BytesIO(b.png), width=int(text_width * min(b.width, 1.0)))
            d.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap = d.add_paragraph(f"{b.number} {b.caption}", style="Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
    buf = io.BytesIO()
    d.save(buf)
    with atomic_path(path) as tmp:
        _fixed_zip(buf.getvalue(), tmp, (doc.date.year, doc.date.month, doc.date.day, 0, 0, 0))
    return path


def _fixed_zip(data: bytes, path: Path, date_time: tuple) -> None:
    """Rewrite the DOCX container with fixed member times (python-docx stamps the current second)."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, src.read(info.filename))

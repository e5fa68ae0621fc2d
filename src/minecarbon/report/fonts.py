"""Fonts: a CJK font for figures, PDF and the HTML report, found without network access.

Search order (first hit wins):

1. ``[report].font`` - a font file the user names (OTF, TTF or TTC);
2. the package ``noto-cjk-sans-otc`` (PyPI; Noto Sans CJK 2.004, SIL Open Font
   License 1.1): the "Noto Sans CJK SC" face of ``NotoSansCJK-Regular.ttc``;
3. a system font known to matplotlib's font manager: Noto Sans CJK SC, Source
   Han Sans SC/CN, WenQuanYi Micro/Zen Hei, Microsoft YaHei, SimHei, PingFang SC
   (on Debian: ``apt-get install fonts-noto-cjk`` or ``fonts-wqy-microhei``).

Latin text uses DejaVu Sans (shipped with matplotlib); glyphs it lacks fall
back to the CJK font.  Nothing is installed or downloaded at run time.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingInputError

log = logging.getLogger(__name__)

CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Noto Sans SC")
"""System font families searched (in this order) when neither [report].font nor noto-cjk-sans-otc is there."""

INSTALL_HINT = ("Install a font with Chinese glyphs: 'pip install noto-cjk-sans-otc' (Noto Sans CJK, SIL Open "
                "Font License), or 'apt-get install fonts-noto-cjk' on Debian/Ubuntu, or name a font file in "
                "the project file ([report].font = \"/path/to/font.ttf\").")

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def has_cjk(text: str) -> bool:
    """True when the text holds CJK characters (ideographs, CJK punctuation, full-width forms)."""
    return bool(_CJK.search(text))


@dataclass(frozen=True)
class FontFile:
    """A font file and, for collections (.ttc), the index of the face to use."""

    path: Path
    index: int
    family: str


def _face_index(path: Path, family: str | None = None) -> tuple[int, str]:
    """Index and family of the Simplified-Chinese face of a font file (0 for single fonts)."""
    from fontTools.ttLib import TTCollection, TTFont

    if path.suffix.lower() in (".ttc", ".otc"):
        coll = TTCollection(str(path), lazy=True)
        names = [f["name"].getDebugName(1) or "" for f in coll.fonts]
        for want in ([family] if family else []) + ["CJK SC", " SC", "CN", "GB"]:
            for i, n in enumerate(names):
                if want and want in n and "Mono" not in n:
                    return i, n
        return 0, names[0] if names else path.stem
    f = TTFont(str(path), lazy=True)
    return 0, f["name"].getDebugName(1) or path.stem


@functools.lru_cache(maxsize=8)
def find_cjk_font(user_font: str | None = None) -> FontFile | None:
    """The CJK font to use (see the module docstring), or None when there is none."""
    if user_font:
        p = Path(user_font).expanduser()
        if not p.is_file():
            raise MissingInputError(f"[report].font {p} does not exist. Correct the path, or remove the key to "
                                    f"use the default font. {INSTALL_HINT}")
        idx, fam = _face_index(p)
        return FontFile(p, idx, fam)
    try:
        import noto_cjk_sans_otc  # type: ignore[import-not-found]

        p = Path(str(noto_cjk_sans_otc.FONT_PATH))
        if p.is_file():
            idx, fam = _face_index(p, "Noto Sans CJK SC")
            return FontFile(p, idx, fam)
    except ImportError:
        pass
    from matplotlib import font_manager

    by_name: dict[str, list] = {}
    for f in font_manager.fontManager.ttflist:
        by_name.setdefault(f.name, []).append(f)
    for fam in CJK_FAMILIES:
        if fam in by_name:
            entry = sorted(by_name[fam], key=lambda e: (e.weight not in (400, "normal", "regular"), e.fname))[0]
            p = Path(entry.fname)
            idx, name = _face_index(p, fam)
            return FontFile(p, idx, name)
    return None


def require_cjk_font(user_font: str | None, why: str) -> FontFile:
    """The CJK font, or :class:`MissingInputError` saying why one is needed and how to get it."""
    f = find_cjk_font(user_font)
    if f is None:
        raise MissingInputError(f"No font with Chinese glyphs was found, and {why}. {INSTALL_HINT}")
    return f


@functools.lru_cache(maxsize=4)
def register_with_matplotlib(path: str) -> None:
    """Make every face of a font file known to matplotlib's font manager (idempotent)."""
    from matplotlib import font_manager

    known = {f.fname for f in font_manager.fontManager.ttflist}
    if path not in known:
        font_manager.fontManager.addfont(path)


def matplotlib_rc(font: FontFile | None) -> dict:
    """rcParams for figures: DejaVu Sans for Latin text, falling back to the CJK font."""
    families = ["DejaVu Sans"]
    if font is not None:
        register_with_matplotlib(str(font.path))
        families.append(font.family)
    return {"font.family": families, "axes.unicode_minus": True, "pdf.fonttype": 42}


def dejavu_paths() -> dict[str, Path]:
    """DejaVu Sans regular and bold as shipped in matplotlib's data folder."""
    import matplotlib

    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return {"": base / "DejaVuSans.ttf", "B": base / "DejaVuSans-Bold.ttf"}


@dataclass(frozen=True)
class FontSubset:
    """Some glyphs of the CJK font as a small TrueType font (for fpdf2) and as WOFF (for HTML)."""

    ttf: bytes
    woff: bytes
    family: str
    chars: str
    """The CJK characters of the text (empty: the text has none)."""


SUBSET_FAMILY = "minecarbon CJK"
"""Name of the subset fonts (the OFL reserves the upstream names for unmodified fonts)."""


@functools.lru_cache(maxsize=8)
def _subset_cached(path: str, index: int, chars: str) -> FontSubset:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont

    src = TTFont(path, fontNumber=index, lazy=True)
    cmap = src.getBestCmap()
    glyph_set = src.getGlyphSet()
    wanted = set(chars) | {chr(c) for c in range(0x20, 0x7F)}
    cps = sorted(ord(c) for c in wanted if ord(c) in cmap)
    names = [".notdef"] + sorted({cmap[c] for c in cps} - {".notdef"}, key=src.getGlyphID)
    glyphs = {}
    for n in names:  # cubic (CFF) outlines to quadratic (TrueType): fast to embed for fpdf2, fine for browsers
        pen = TTGlyphPen(None)
        glyph_set[n].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[n] = pen.glyph()
    fb = FontBuilder(src["head"].unitsPerEm, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({c: cmap[c] for c in cps})
    fb.setupGlyf(glyphs)
    glyf, hmtx = fb.font["glyf"], src["hmtx"]
    fb.setupHorizontalMetrics({n: (hmtx[n][0], getattr(glyf[n], "xMin", 0)) for n in names})
    hh = src["hhea"]
    fb.setupHorizontalHeader(ascent=hh.ascent, descent=hh.descent, lineGap=hh.lineGap)
    nm = src["name"]
    fb.setupNameTable({"familyName": SUBSET_FAMILY, "styleName": "Regular",
                       "copyright": nm.getDebugName(0) or "", "version": nm.getDebugName(5) or "Version 1.0",
                       "description": f"Subset of {nm.getDebugName(4) or Path(path).name} made by minecarbon",
                       "licenseDescription": nm.getDebugName(13) or "", "licenseInfoURL": nm.getDebugName(14) or ""})
    os2 = src["OS/2"]
    fb.setupOS2(sTypoAscender=os2.sTypoAscender, sTypoDescender=os2.sTypoDescender, sTypoLineGap=os2.sTypoLineGap,
                usWinAscent=os2.usWinAscent, usWinDescent=os2.usWinDescent, fsType=os2.fsType,
                achVendID=os2.achVendID, ulUnicodeRange1=os2.ulUnicodeRange1, ulUnicodeRange2=os2.ulUnicodeRange2,
                ulCodePageRange1=os2.ulCodePageRange1)
    fb.setupPost()
    fb.font["head"].created = src["head"].created  # the source's times: the same text gives the same bytes
    fb.font["head"].modified = src["head"].modified
    fb.font.recalcTimestamp = False
    ttf = io.BytesIO()
    fb.save(ttf)
    fb.font.flavor = "woff"
    woff = io.BytesIO()
    fb.font.save(woff)
    cjk = "".join(c for c in chars if has_cjk(c))
    return FontSubset(ttf=ttf.getvalue(), woff=woff.getvalue(), family=SUBSET_FAMILY, chars=cjk)


def subset_font(font: FontFile, text: str) -> FontSubset:
    """The CJK font reduced to the characters of ``text`` (one subset serves every format of a report).

    Only the glyphs of the text are drawn (converted to TrueType outlines), so
    this takes a fraction of a second where subsetting the whole CFF font
    would take seconds.  The copyright and licence (SIL OFL 1.1) records of the
    source font are kept; the subset is named :data:`SUBSET_FAMILY`.
    """
    chars = "".join(sorted({c for c in text if ord(c) > 0x7E and not c.isspace()}))
    return _subset_cached(str(font.path), font.index, chars)

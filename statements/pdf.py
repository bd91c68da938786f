"""PDF documents with ReportLab (pure Python, from PyPI): a title, key-value blocks and
tables. `invariant=1` makes the bytes a function of the content (no timestamp or random
document id), so a statement rendered twice in one language is the same file."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_DIR = Path(settings.STATEMENT_PDF_FONT_DIR)


def _fonts() -> tuple[str, str]:
    """DejaVu Sans (embedded, subset) when installed (`fonts-dejavu-core`, bootstrap.sh):
    names in any Latin, Greek or Cyrillic script; else the PDF core font Helvetica, whose
    encoding misses letters such as `Ł` or `ș` (printed as a box)."""
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not (regular.exists() and bold.exists()):
        return "Helvetica", "Helvetica-Bold"
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
        pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold",
                                      italic="DejaVuSans", boldItalic="DejaVuSans-Bold")
    return "DejaVuSans", "DejaVuSans-Bold"


FONT, FONT_BOLD = _fonts()
_STYLES = getSampleStyleSheet()
for _name in ("BodyText", "Title", "Heading3", "Heading4", "Heading6"):
    _STYLES[_name].fontName = FONT_BOLD if _name != "BodyText" else FONT


def _p(text, style="BodyText") -> Paragraph:
    return Paragraph(escape(str(text)), _STYLES[style])


def table(header: list[str], rows: list[list], *, numeric_from: int = 1, bold_last: bool = False) -> Table:
    """A table whose columns from `numeric_from` on are right-aligned numbers."""
    data = [[_p(h, "Heading6") for h in header]]
    data += [[_p(c) if i < numeric_from else str(c) for i, c in enumerate(row)] for row in rows]
    t = Table(data, repeatRows=1, hAlign="LEFT")
    style = [
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("ALIGN", (numeric_from, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 1), (-1, -1), FONT),
        ("FONTSIZE", (0, 1), (-1, -1), 8),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
    ]
    if bold_last and rows:
        style += [("FONTNAME", (0, -1), (-1, -1), FONT_BOLD),
                  ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black)]
    t.setStyle(TableStyle(style))
    return t


def document(*, title: str, subtitle: str, blocks: list) -> bytes:
    """`blocks`: ("h", text) headings, ("p", text) paragraphs, ("kv", [(k, v)]) and
    ("table", Table) items, in order."""
    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=title, author="CommonWatt", subject=subtitle,
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, invariant=1)
    story = [_p(title, "Title"), _p(subtitle, "Heading4"), Spacer(1, 4 * mm)]
    for kind, value in blocks:
        if kind == "h":
            story += [Spacer(1, 3 * mm), _p(value, "Heading3")]
        elif kind == "p":
            story.append(_p(value))
        elif kind == "kv":
            story.append(table(["", ""], [[k, v] for k, v in value]))
        else:
            story.append(value)
    doc.build(story)
    return out.getvalue()

"""The 普法责任清单 as a Word document, written with python-docx: A4, headings for the list, each regulation and
each card, a Chinese body font so it prints as offices expect."""
from __future__ import annotations

import io

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm

from outreach.layout import BASIS, CONTENTS, Citation, Row

EAST_ASIAN_FONT = "宋体"
_STYLES = ("Normal", "Title", "Heading 1", "Heading 2", "List Bullet", "List Number")


class DocxWriter:
    def __init__(self) -> None:
        self.document = Document()
        section = self.document.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        for name in _STYLES:
            # The default template's theme fonts have no Chinese glyphs; name one for the East Asian script.
            fonts = self.document.styles[name].element.get_or_add_rPr().get_or_add_rFonts()
            fonts.attrib.pop(qn("w:eastAsiaTheme"), None)
            fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)

    def begin(self, heading: str, scope: str) -> None:
        self.document.core_properties.title = heading
        self.document.add_heading(heading, level=0)
        self.document.add_paragraph(scope)

    def fields(self, rows: list[Row]) -> None:
        table = self.document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for label, text in rows:
            cells = table.add_row().cells
            cells[0].paragraphs[0].add_run(label).bold = True
            cells[1].text = text

    def contents(self, entries: list[tuple[str, int]]) -> None:
        self.document.add_paragraph().add_run(f"{CONTENTS}：").bold = True
        for title, n in entries:
            self.document.add_paragraph(f"{title}（{n} 张卡片）", style="List Number")

    def regulation(self, title: str, version: str) -> None:
        self.document.add_heading(title, level=1)
        self.document.add_paragraph(version)

    def no_cards(self, note: str) -> None:
        self.document.add_paragraph(note)

    def card(self, heading: str, rows: list[Row], basis: list[Citation]) -> None:
        self.document.add_heading(heading, level=2)
        for label, text in rows:
            p = self.document.add_paragraph()
            p.add_run(f"{label}：").bold = True
            p.add_run(text)
        self.document.add_paragraph().add_run(f"{BASIS}：").bold = True
        for source, quote in basis:
            self.document.add_paragraph(f"{source}：“{quote}”", style="List Bullet")

    def end_regulation(self) -> None:
        pass

    def result(self) -> bytes:
        buf = io.BytesIO()
        self.document.save(buf)
        return buf.getvalue()

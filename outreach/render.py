"""The 普法责任清单 as Markdown, as a printable HTML page (its print stylesheet inlined), as DOCX or as JSON."""
from __future__ import annotations

import html
import json
from pathlib import Path

from corpus.errors import InvalidFilter
from corpus.index import ArticleIndex
from outreach.cards import build_outreach
from outreach.layout import BASIS, Citation, Row, walk
from outreach.word import DocxWriter

FORMATS = ("md", "html", "docx", "json")
PRINT_CSS = Path(__file__).resolve().parent / "print.css"


class MarkdownWriter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def begin(self, heading: str, scope: str) -> None:
        self.lines += [f"# {heading}", "", scope, ""]

    def regulation(self, title: str, version: str) -> None:
        self.lines += [f"## {title}", "", version, ""]

    def no_cards(self, note: str) -> None:
        self.lines += [note, ""]

    def card(self, heading: str, rows: list[Row], basis: list[Citation]) -> None:
        self.lines += [f"### {heading}", ""]
        self.lines += [f"- **{label}**：{text}" for label, text in rows]
        self.lines.append(f"- **{BASIS}**：")
        self.lines += [f"  - {source}：“{quote}”" for source, quote in basis]
        self.lines.append("")

    def end_regulation(self) -> None:
        pass

    def result(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


class HtmlWriter:
    """A standalone page (stylesheet inlined) that prints as the list: one card per block, no page chrome."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def begin(self, heading: str, scope: str) -> None:
        e = html.escape
        self.parts += ["<!doctype html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
                       f"<title>{e(heading)}</title>", f"<style>{PRINT_CSS.read_text(encoding='utf-8')}</style>",
                       '</head><body class="outreach">', f"<h1>{e(heading)}</h1>", f'<p class="scope">{e(scope)}</p>']

    def regulation(self, title: str, version: str) -> None:
        self.parts.append(f'<section class="regulation"><h2>{html.escape(title)}</h2>'
                          f'<p class="version">{html.escape(version)}</p>')

    def no_cards(self, note: str) -> None:
        self.parts.append(f"<p>{html.escape(note)}</p>")

    def card(self, heading: str, rows: list[Row], basis: list[Citation]) -> None:
        e = html.escape
        self.parts.append(f'<article class="card"><h3>{e(heading)}</h3><dl>')
        self.parts += [f"<dt>{e(label)}</dt><dd>{e(text)}</dd>" for label, text in rows]
        self.parts.append(f"<dt>{BASIS}</dt><dd><ul>")
        self.parts += [f"<li>{e(source)}：<q>{e(quote)}</q></li>" for source, quote in basis]
        self.parts.append("</ul></dd></dl></article>")

    def end_regulation(self) -> None:
        self.parts.append("</section>")

    def result(self) -> str:
        return "\n".join([*self.parts, "</body></html>"])


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidFilter("格式应为 md、html、docx 或 json", detail=str(fmt))


def to_markdown(doc: dict) -> str:
    return walk(doc, MarkdownWriter())


def to_html(doc: dict) -> str:
    return walk(doc, HtmlWriter())


def to_docx(doc: dict) -> bytes:
    return walk(doc, DocxWriter())


def render(doc: dict, fmt: str = "md") -> str | bytes:
    """The list in `fmt` (md, html, docx → bytes, json)."""
    check_format(fmt)
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2)
    return {"md": to_markdown, "html": to_html, "docx": to_docx}[fmt](doc)


def render_outreach(index: ArticleIndex, agency: str, *, region: str | None = None, fmt: str = "md") -> str | bytes:
    """Build the agency's list from the index and render it (the format is checked before the index is read)."""
    check_format(fmt)
    return render(build_outreach(index, agency, region=region), fmt)

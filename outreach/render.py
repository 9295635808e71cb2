"""The 普法责任清单 as Markdown, as a printable HTML page (its print stylesheet inlined), as the HTML fragment of the
page's tab, as DOCX or as JSON."""
from __future__ import annotations

import html
import json
from pathlib import Path

from corpus.errors import InvalidFilter
from corpus.index import ArticleIndex
from outreach.cards import build_outreach
from outreach.fields import FieldStore
from outreach.layout import BASIS, CONTENTS, Citation, Row, walk
from outreach.word import DocxWriter

FORMATS = ("md", "html", "fragment", "docx", "json")
PRINT_CSS = Path(__file__).resolve().parent / "print.css"
#: Where the service serves the stylesheet: a saved page has it inlined, a served one (whose Content-Security-Policy
#: refuses inline styles) and the page's fragment link to it.
PRINT_CSS_URL = "/api/outreach/print.css"


class MarkdownWriter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def begin(self, heading: str, scope: str) -> None:
        self.lines += [f"# {heading}", "", scope, ""]

    def fields(self, rows: list[Row]) -> None:
        self.lines += ["| 项目 | 内容 |", "| --- | --- |"]
        self.lines += [f"| {label} | {text.replace('|', '｜')} |" for label, text in rows]
        self.lines.append("")

    def contents(self, entries: list[tuple[str, int]]) -> None:
        self.lines += [f"{CONTENTS}：", ""]
        self.lines += [f"{i}. {title}（{n} 张卡片）" for i, (title, n) in enumerate(entries, 1)]
        self.lines.append("")

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
    """The list as HTML: a standalone page (stylesheet inlined and linked) that prints as the list, or the fragment
    the page's 普法清单 tab shows. Both carry the fields, a contents list linking to each regulation, and each
    regulation in a <details> section: open on the printable page, closed in the tab (one opens what one needs)."""

    def __init__(self, standalone: bool = True) -> None:
        self.standalone = standalone
        self.parts: list[str] = []
        self.n = 0

    def begin(self, heading: str, scope: str) -> None:
        e = html.escape
        if self.standalone:
            self.parts += ["<!doctype html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
                           '<meta name="viewport" content="width=device-width, initial-scale=1">',
                           f"<title>{e(heading)}</title>", f"<style>{PRINT_CSS.read_text(encoding='utf-8')}</style>",
                           f'<link rel="stylesheet" href="{PRINT_CSS_URL}">', '</head><body class="outreach">']
        else:
            self.parts += ['<div class="outreach">', f'<link rel="stylesheet" href="{PRINT_CSS_URL}">']
        self.parts += [f"<h1>{e(heading)}</h1>", f'<p class="scope">{e(scope)}</p>']

    def fields(self, rows: list[Row]) -> None:
        e = html.escape
        self.parts.append('<table class="fields"><tbody>')
        self.parts += [f"<tr><th>{e(label)}</th><td>{e(text)}</td></tr>" for label, text in rows]
        self.parts.append("</tbody></table>")

    def contents(self, entries: list[tuple[str, int]]) -> None:
        e = html.escape
        self.parts.append(f'<nav class="toc"><h2 class="toc-title">{CONTENTS}</h2><ol>')
        self.parts += [f'<li><a href="#reg-{i}">{e(title)}</a> <span class="count">{n} 张卡片</span></li>'
                       for i, (title, n) in enumerate(entries, 1)]
        self.parts.append("</ol></nav>")

    def regulation(self, title: str, version: str) -> None:
        self.n += 1
        opened = " open" if self.standalone else ""
        self.parts.append(f'<section class="regulation" id="reg-{self.n}"><details{opened}><summary>'
                          f"<h2>{html.escape(title)}</h2></summary>"
                          f'<p class="version">{html.escape(version)}</p>')

    def no_cards(self, note: str) -> None:
        self.parts.append(f"<p>{html.escape(note)}</p>")

    def card(self, heading: str, rows: list[Row], basis: list[Citation]) -> None:
        e = html.escape
        self.parts.append(f'<article class="card ocard"><h3>{e(heading)}</h3><dl>')
        self.parts += [f"<dt>{e(label)}</dt><dd>{e(text)}</dd>" for label, text in rows]
        self.parts.append(f"<dt>{BASIS}</dt><dd><ul>")
        self.parts += [f"<li>{e(source)}：<q>{e(quote)}</q></li>" for source, quote in basis]
        self.parts.append("</ul></dd></dl></article>")

    def end_regulation(self) -> None:
        self.parts.append("</details></section>")

    def result(self) -> str:
        return "\n".join([*self.parts, "</body></html>" if self.standalone else "</div>"])


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidFilter("格式应为 md、html、fragment、docx 或 json", detail=str(fmt))


def to_markdown(doc: dict) -> str:
    return walk(doc, MarkdownWriter())


def to_html(doc: dict) -> str:
    return walk(doc, HtmlWriter())


def to_fragment(doc: dict) -> str:
    """The list as the page's 普法清单 tab shows it: no page chrome, regulations collapsed under a contents list."""
    return walk(doc, HtmlWriter(standalone=False))


def to_docx(doc: dict) -> bytes:
    return walk(doc, DocxWriter())


def render(doc: dict, fmt: str = "md") -> str | bytes:
    """The list in `fmt` (md, html, fragment, docx → bytes, json)."""
    check_format(fmt)
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2)
    return {"md": to_markdown, "html": to_html, "fragment": to_fragment, "docx": to_docx}[fmt](doc)


def render_outreach(index: ArticleIndex, agency: str, *, region: str | None = None, fmt: str = "md",
                    store: FieldStore | None = None) -> str | bytes:
    """Build the agency's list from the index (with an admin's field overrides from `store`) and render it (the
    format is checked before the index is read)."""
    check_format(fmt)
    return render(build_outreach(index, agency, region=region, store=store), fmt)

"""One walk over a 普法责任清单 for every format: the list's heading, its fields (责任单位 … 完成标准), the contents,
each regulation and each card, in reading order.

A format is a `ListWriter`; `walk` calls it in the same order for Markdown, the printable HTML page and DOCX, so
the three hold the same cards with the same words.
"""
from __future__ import annotations

from typing import Protocol

from outreach.fields import field_rows

BASIS = "依据"
CONTENTS = "目录"
NO_CARDS = "（未找到可整理的义务条款）"

Row = tuple[str, str]  # (label, plain text)
Citation = tuple[str, str]  # (《title》第X条, the quoted words)


class ListWriter(Protocol):
    def begin(self, heading: str, scope: str) -> None: ...

    def fields(self, rows: list[Row]) -> None: ...

    def contents(self, entries: list[tuple[str, int]]) -> None: ...

    def regulation(self, title: str, version: str) -> None: ...

    def no_cards(self, note: str) -> None: ...

    def card(self, heading: str, rows: list[Row], basis: list[Citation]) -> None: ...

    def end_regulation(self) -> None: ...

    def result(self) -> str | bytes: ...


def list_title(doc: dict) -> str:
    return f"{doc['region'] or ''}{doc['agency']}部门普法责任清单"


def scope_line(doc: dict) -> str:
    return f"范围：{'、'.join(doc['regions'])}现行有效的法规，共 {len(doc['regulations'])} 部"


def version_line(reg: dict) -> str:
    bits = [reg.get("level") or "", reg.get("region") or ""]
    if reg.get("version_date"):
        bits.append(f"版本 {reg['version_date']}")
    if reg.get("effective_date"):
        bits.append(f"施行 {reg['effective_date']}")
    elif reg.get("first_effective_date"):
        bits.append(f"首次施行 {reg['first_effective_date']}（本版施行日期原文未载明）")
    return " · ".join(b for b in bits if b)


def card_fields(card: dict) -> list[Row]:
    """(label, plain text) rows of a card, in reading order; the 依据 citations come separately."""
    rows = [("适用对象", card.get("subject") or "见条文")]
    if card.get("duty"):
        rows.append(("应当做什么", card["duty"]))
    elif card.get("avoid"):
        rows.append(("应当做什么", f"不得有此行为：{card['avoid']}"))
    if card.get("consequences"):
        rows.append(("违反的后果", "；".join(consequence_words(c) for c in card["consequences"])))
    else:
        rows.append(("违反的后果", "本法规未规定相应罚则"))
    return rows


def consequence_words(c: dict) -> str:
    """（一）（二）项：罚款50元至200元（第三十条第一款） — the 项 it punishes when the card holds several."""
    scope = f"{c['scope']}：" if c.get("scope") else ""
    return f"{scope}{c['plain'] or '见条文'}（{c.get('cite') or c['label']}）"


def citations(card: dict) -> list[Citation]:
    return [(f"《{q['title']}》{q['label']}", q["quote"]) for q in card["basis"]]


def walk(doc: dict, writer: ListWriter) -> str | bytes:
    """Feed the list to `writer` in reading order and return what it produced."""
    writer.begin(list_title(doc), scope_line(doc))
    if doc.get("fields"):
        writer.fields(field_rows(doc["fields"]))
    writer.contents([(f"《{reg['title']}》", len(reg["cards"])) for reg in doc["regulations"]])
    for reg in doc["regulations"]:
        writer.regulation(f"《{reg['title']}》", version_line(reg))
        if not reg["cards"]:
            writer.no_cards(NO_CARDS)
        for i, card in enumerate(reg["cards"], 1):
            writer.card(f"{i}. {card['articles'][0]}", card_fields(card), citations(card))
        writer.end_regulation()
    return writer.result()

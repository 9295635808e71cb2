"""Long articles → parts that fit the embedder's window, cut at 款/项 boundaries (else at sentence ends).

Every part keeps the article's citation (title, number, suffix, label) and headings; `part`/`parts` tell them apart.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace

from corpus.model import Article, Clause
from ingest.structure import clauses_from_lines, is_item_line, is_subitem_line

__all__ = ["split_long_articles", "split_text"]

_SENTENCE_RE = re.compile(r"[^。；！？;!?]*[。；！？;!?]+[”’」』）)]*|[^。；！？;!?]+$")
_SOFT_BREAK_RE = re.compile(r"[^，、：,:]*[，、：,:]|[^，、：,:]+$")


def _pieces(line: str, max_chars: int) -> list[str]:
    """A line longer than max_chars → sentences (or comma phrases, or hard cuts) no longer than max_chars."""
    if len(line) <= max_chars:
        return [line]
    out: list[str] = []
    for sentence in _SENTENCE_RE.findall(line):
        if len(sentence) <= max_chars:
            out.append(sentence)
            continue
        for phrase in _SOFT_BREAK_RE.findall(sentence):
            while len(phrase) > max_chars:
                out.append(phrase[:max_chars])
                phrase = phrase[max_chars:]
            if phrase:
                out.append(phrase)
    return out


def _pack(units: list[tuple[str, str]], max_chars: int) -> list[str]:
    """Greedy packing of (joiner, text) units into chunks of at most max_chars, balanced towards equal sizes.

    The joiner ("\n" between lines, "" between pieces of one line) is dropped where a chunk starts."""
    total = sum(len(j) + len(t) for j, t in units) - (len(units[0][0]) if units else 0)
    n = max(1, math.ceil(total / max_chars))
    target = math.ceil(total / n)
    chunks: list[str] = []
    cur, size = "", 0
    for joiner, t in units:
        add = len(t) + (len(joiner) if cur else 0)
        if cur and (size + add > max_chars or size >= target):
            chunks.append(cur)
            cur, size = "", 0
            add = len(t)
        cur = cur + joiner + t if cur else t
        size += add
    if cur:
        chunks.append(cur)
    return chunks


def split_text(text: str, max_chars: int = 512) -> list[str]:
    """The article text cut into parts of at most max_chars, at line (款/项) boundaries where possible."""
    if len(text) <= max_chars:
        return [text]
    units: list[tuple[str, str]] = []
    for line in text.split("\n"):
        for k, piece in enumerate(_pieces(line, max_chars)):
            units.append(("\n" if k == 0 else "", piece))
    return _pack(units, max_chars)


def _part_clauses(lines: list[str]) -> list[Clause]:
    """Clauses of one part; a part that starts inside a 款's items gets a clause with no lead text."""
    if lines and (is_item_line(lines[0]) or is_subitem_line(lines[0])):
        head = Clause(text="")
        rest = clauses_from_lines(["\u0000", *lines])
        head.items = rest[0].items
        return [head, *rest[1:]]
    return clauses_from_lines(lines)


def split_long_articles(articles: list[Article], max_chars: int = 512) -> list[Article]:
    """Articles longer than max_chars become consecutive parts (part 0..parts-1) with the same citation."""
    if max_chars < 16:
        raise ValueError("max_chars too small")
    out: list[Article] = []
    for a in articles:
        if len(a.text) <= max_chars:
            out.append(a)
            continue
        texts = split_text(a.text, max_chars)
        if len(texts) == 1:
            out.append(a)
            continue
        for i, t in enumerate(texts):
            out.append(replace(a, text=t, clauses=_part_clauses(t.split("\n")), headings=list(a.headings),
                               part=i, parts=len(texts)))
    return out

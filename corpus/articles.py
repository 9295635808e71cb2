"""One article read back whole: the parts a long 条 was split into (same citation) merged once.

Ingest splits a long article into several points (`part` 0..parts-1); every reader that shows, quotes or links an
article needs it whole — its text, its 款 with their 项, its enforcement analysis. `ArticleRecord.from_parts` is the
one place that joins them; routes, answers, links, outreach and the CLI read the record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from corpus.numerals import ITEM_RE
from corpus.store import Hit
from corpus.titles import normalize_title


def merge_clauses(parts: list[list[dict]]) -> list[dict]:
    """The 款 of an article split into parts: a part that starts inside a 款 (its first clause has no text of
    its own, only 项) continues the previous part's last 款, so 款 numbers stay those of the article; a part that
    starts inside a 项 (its first lines are that 项's 目: 1. …) continues that 项, so 项 numbers stay too."""
    out: list[dict] = []
    for i, clauses in enumerate(parts):
        for j, cl in enumerate(clauses):
            if i > 0 and j == 0 and out and not (cl.get("text") or "").strip():
                last = out[-1]
                items = list(last.get("items") or [])
                more = list(cl.get("items") or [])
                while more and items and ITEM_RE.match(items[-1]) and not ITEM_RE.match(more[0]):  # as the parser
                    items[-1] = items[-1] + "\n" + more.pop(0)
                out[-1] = {"text": last.get("text", ""), "items": items + more}
                continue
            out.append({"text": cl.get("text", ""), "items": list(cl.get("items") or [])})
    return out


def part_key(payload: dict) -> tuple[str | None, str, int, str]:
    """The article a point belongs to: (version, kind, number, suffix) — all parts of one article share it."""
    return (payload.get("version_id"), payload.get("kind", "article"), payload.get("article_no"),
            payload.get("article_suffix") or "")


@dataclass(frozen=True)
class ArticleRecord:
    """An article with its parts merged. `payload` is the first part's payload with the whole article's `text`,
    `clauses` and `enforcement`; `id` is the first part's point id."""

    id: str
    payload: dict[str, Any]

    @classmethod
    def from_parts(cls, parts: Iterable[Hit]) -> "ArticleRecord":
        ordered = sorted(parts, key=lambda h: h.payload.get("part", 0))
        if not ordered:
            raise ValueError("an article needs at least one part")
        payload = dict(ordered[0].payload)
        if len(ordered) > 1:
            payload["text"] = "\n".join(h.payload.get("text", "") for h in ordered)
            payload["clauses"] = merge_clauses([h.payload.get("clauses") or [] for h in ordered])
        else:
            payload["clauses"] = merge_clauses([payload.get("clauses") or []])
        enforcement = next((h.payload.get("enforcement") for h in ordered if h.payload.get("enforcement")), None)
        if enforcement:
            payload["enforcement"] = enforcement
        return cls(id=ordered[0].id, payload=payload)

    # ---- what readers use ---------------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self.payload.get("title") or ""

    @property
    def article_no(self) -> int:
        return int(self.payload.get("article_no") or 0)

    @property
    def article_suffix(self) -> str:
        return self.payload.get("article_suffix") or ""

    @property
    def label(self) -> str:
        return self.payload.get("label") or ""

    @property
    def text(self) -> str:
        return self.payload.get("text") or ""

    @property
    def clauses(self) -> list[dict]:
        return self.payload.get("clauses") or []

    @property
    def enforcement(self) -> dict:
        return self.payload.get("enforcement") or {}

    @property
    def key(self) -> tuple[str, int, str]:
        """The article across versions: (normalised title, number, suffix)."""
        return (normalize_title(self.title), self.article_no, self.article_suffix)

    def as_hit(self, score: float = 0.0) -> Hit:
        """The record as one store hit (what the search components pass along)."""
        return Hit(id=self.id, score=score, payload=dict(self.payload))

    def fields(self, names: Iterable[str]) -> dict[str, Any]:
        """The named payload fields (None where absent) plus `id`."""
        out = {k: self.payload.get(k) for k in names}
        out["text"], out["clauses"] = self.text, self.clauses
        if self.enforcement:
            out["enforcement"] = self.enforcement
        out["id"] = self.id
        return out


def group_articles(points: Iterable[Hit]) -> list[ArticleRecord]:
    """Points (any order) → one record per article, in the order each article's first point appears."""
    groups: dict[tuple, list[Hit]] = {}
    for h in points:
        groups.setdefault(part_key(h.payload), []).append(h)
    return [ArticleRecord.from_parts(parts) for parts in groups.values()]


__all__ = ["ArticleRecord", "group_articles", "merge_clauses", "part_key"]

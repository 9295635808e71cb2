"""Search hits as the API returns them: the payload fields shown, a highlighted snippet, the keys an article is
known by, and collapsing parts and versions of one article into one hit. The bottom of `search/`: it imports
nothing else of it."""
from __future__ import annotations

import functools
import html
import re

from corpus.store import Hit
from corpus.titles import normalize_title

#: The payload fields every hit carries.
HIT_FIELDS = ("enforcement", "regulation_id", "version_id", "title", "short_title", "article_no", "article_suffix",
              "label", "headings", "text", "level", "region", "version_date", "effective_date", "status", "is_current",
              "superseded_by", "agencies", "is_penalty", "part", "parts", "kind", "citation", "clauses")


def highlight(text: str, terms: list[str] | tuple[str, ...], width: int = 120) -> str:
    """An HTML-escaped snippet around the first matched term, every matched term wrapped in <mark>."""
    first = min((text.find(t) for t in terms if t in text), default=-1)
    start = max(0, first - width // 4) if first >= 0 else 0
    piece = text[start:start + width]
    out = html.escape(piece)
    if terms:
        out = _terms_pattern(tuple(terms)).sub(r"<mark>\1</mark>", out)
    return ("…" if start > 0 else "") + out + ("…" if start + width < len(text) else "")


@functools.lru_cache(maxsize=256)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern:
    # one query's terms mark every hit of its result: built once, not once a hit
    return re.compile("(" + "|".join(re.escape(html.escape(t)) for t in terms) + ")")


def hit_dict(hit: Hit, *, terms: list[str] | tuple[str, ...] | None = None, marked: dict | None = None) -> dict:
    """A store hit as a result dict: the `HIT_FIELDS`, score, id, snippet (and the cited 款/项 as `highlight`)."""
    p = hit.payload
    d = {k: p.get(k) for k in HIT_FIELDS}
    d["score"] = round(float(hit.score), 6)
    d["id"] = hit.id
    d["snippet"] = highlight(p.get("text", ""), terms or [])
    if marked:
        d["highlight"] = marked
    return d


def article_key(hit: dict) -> tuple[str, int, str]:
    """The article across versions: (normalised title, number, suffix)."""
    return normalize_title(hit.get("title") or ""), int(hit.get("article_no") or 0), hit.get("article_suffix") or ""


def version_key(hit: dict) -> tuple:
    """The article in one version: (version id, number, suffix)."""
    return hit.get("version_id"), hit.get("article_no"), hit.get("article_suffix") or ""


def collapse(hits: list[dict], *, all_versions: bool = False) -> list[dict]:
    """Each article once (parts and, unless all versions are asked for, versions collapse), best first."""
    seen, out = set(), []
    for h in hits:
        key = ((h.get("version_id") if all_versions else normalize_title(h.get("title") or "")),
               h.get("article_no"), h.get("article_suffix") or "")
        if key in seen:
            continue
        seen.add(key)
        out.append(h)
    return out


__all__ = ["HIT_FIELDS", "highlight", "hit_dict", "article_key", "version_key", "collapse"]

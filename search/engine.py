"""The search engine: citations resolved directly, everything else by hybrid retrieval; filters and currentness."""
from __future__ import annotations

import datetime
import html
import re
import threading
from typing import Any

from corpus.errors import AmbiguousTitle, InvalidFilter, LawSearchError, NotFound
from corpus.index import FAR_FUTURE, ArticleIndex, date_int
from corpus.store import Condition, FilterSpec, Hit
from corpus.titles import normalize_title
from search.answer import merge_clauses
from search.citations import CitationMatch

FILTER_KEYS = ("region", "level", "status", "agency", "regulation", "as_of", "all_versions")
HIT_FIELDS = ("enforcement", "regulation_id", "version_id", "title", "short_title", "article_no", "article_suffix", "label",
              "headings", "text", "level", "region", "version_date", "effective_date", "status", "is_current",
              "superseded_by", "agencies", "is_penalty", "part", "parts", "kind", "citation", "clauses")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class TitleBook:
    """Titles and aliases of the indexed regulations, cached in memory; refreshed after writes."""

    def __init__(self, index: ArticleIndex):
        self.index = index
        self._lock = threading.Lock()
        self._records: list[dict] | None = None

    def refresh(self) -> None:
        with self._lock:
            self._records = None

    def records(self) -> list[dict]:
        with self._lock:
            if self._records is None:
                self._records = self.index.version_records()
            return self._records

    def resolve(self, written: str, *, region: str | None = None) -> list[dict]:
        """Current-version records of the regulations a written title names (exact title, then 简称/alias)."""
        key = normalize_title(written)
        recs = [r for r in self.records() if r.get("is_current")]
        if region:
            recs = [r for r in recs if r.get("region") == region] or recs
        for pick in (lambda r: r.get("title_key") == key,
                     lambda r: key in (r.get("aliases") or []),
                     lambda r: len(key) >= 4 and r.get("title_key", "").endswith(key)):
            found = [r for r in recs if pick(r)]
            if found:
                return found
        return []


def _real_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def build_filter(filters: dict[str, Any] | None, titles: TitleBook | None = None) -> FilterSpec:
    """User filters → store filter. Default: current versions only."""
    filters = dict(filters or {})
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise InvalidFilter("不支持的筛选条件", detail="、".join(sorted(unknown)))
    must: list[Condition] = []
    for key, field in (("region", "region"), ("level", "level"), ("status", "status"), ("agency", "agencies")):
        if filters.get(key):
            must.append(Condition(field=field, eq=str(filters[key])))
    if filters.get("regulation"):
        recs = titles.resolve(filters["regulation"]) if titles else []
        if not recs:
            raise InvalidFilter("筛选的法规不存在", detail=str(filters["regulation"]))
        must.append(Condition(field="regulation_id", any_of=sorted({r["regulation_id"] for r in recs})))
    as_of = filters.get("as_of")
    if as_of:
        if not _DATE.match(str(as_of)) or not _real_date(str(as_of)):
            raise InvalidFilter("日期格式应为 YYYY-MM-DD", detail=str(as_of))
        day = date_int(str(as_of))
        must += [Condition(field="valid_from", lte=day), Condition(field="valid_to", gt=day)]
    elif not filters.get("all_versions"):
        must.append(Condition(field="is_current", eq=True))
    return FilterSpec(must=must)


def _terms(query: str) -> list[str]:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)

    words = {w for w in jieba.cut_for_search(query) if len(w) >= 2 and re.search(r"[\u4e00-\u9fff]", w)}
    return sorted(words, key=len, reverse=True)


def highlight(text: str, terms: list[str], width: int = 120) -> str:
    """An HTML-escaped snippet around the first matched term, every matched term wrapped in <mark>."""
    first = min((text.find(t) for t in terms if t in text), default=-1)
    start = max(0, first - width // 4) if first >= 0 else 0
    piece = text[start:start + width]
    out = html.escape(piece)
    if terms:
        pattern = "|".join(re.escape(html.escape(t)) for t in terms)
        out = re.sub(f"({pattern})", r"<mark>\1</mark>", out)
    return ("…" if start > 0 else "") + out + ("…" if start + width < len(text) else "")


def hit_dict(hit: Hit, *, terms: list[str] | None = None, marked: dict | None = None) -> dict:
    p = hit.payload
    d = {k: p.get(k) for k in HIT_FIELDS}
    d["score"] = round(float(hit.score), 6)
    d["id"] = hit.id
    d["snippet"] = highlight(p.get("text", ""), terms or [])
    if marked:
        d["highlight"] = marked
    return d


class SearchEngine:
    """One query entry point for the CLI, the API and evaluation."""

    def __init__(self, index: ArticleIndex, retriever: Any, *, mode_description: str, violation_rerank: bool = True):
        self.index = index
        self.retriever = retriever
        self.mode_description = mode_description
        self.titles = TitleBook(index)
        self._pipeline = None
        self.violation_rerank = violation_rerank  # penalty above its duty for violation questions

    def refresh(self) -> None:
        self.titles.refresh()

    # ---- citations -----------------------------------------------------------------------------------------
    def resolve_citation(self, match: CitationMatch, filters: dict) -> tuple[list[dict], list[str]]:
        """Hits for one written citation, plus candidate titles when the written title is ambiguous."""
        recs: list[dict] = []
        for cand in match.title_candidates:
            recs = self.titles.resolve(cand, region=filters.get("region"))
            if recs:
                break
        if not recs:
            return [], []
        by_reg: dict[str, dict] = {}
        for r in recs:
            by_reg.setdefault(r["regulation_id"], r)
        candidates = sorted(r["title"] for r in by_reg.values()) if len(by_reg) > 1 else []
        c = match.citation
        hits = []
        for rec in by_reg.values():
            try:
                _, parts = self.index.article(rec["title"], c.article_no, c.article_suffix,
                                              as_of=filters.get("as_of"))
            except (NotFound, AmbiguousTitle):
                continue
            marked = {"clause": c.clause_no, "item": c.item_no} if (c.clause_no or c.item_no) else None
            merged = Hit(id=parts[0].id, score=1.0, payload=dict(parts[0].payload))
            merged.payload["text"] = "\n".join(p.payload["text"] for p in parts)
            merged.payload["clauses"] = merge_clauses([p.payload.get("clauses", []) for p in parts])
            hits.append(hit_dict(merged, marked=marked))
        return hits, candidates

    # ---- search --------------------------------------------------------------------------------------------
    def search(self, query: str, *, top_k: int = 10, filters: dict | None = None) -> dict:
        query = (query or "").strip()
        if not query:
            raise InvalidFilter("查询内容不能为空", detail="query")
        if not 1 <= int(top_k) <= 200:
            raise InvalidFilter("top_k 应在 1 到 200 之间", detail=str(top_k))
        filters = dict(filters or {})
        flt = build_filter(filters, self.titles)  # a bad filter is the user's error, reported before any work
        try:
            out = self.pipeline.run({"citations": {"query": query, "filters": filters},
                                     "retriever": {"query": query, "flt": flt, "top_k": top_k},
                                     "merger": {"top_k": top_k, "filters": filters},
                                     "linker": {"query": query, "top_k": top_k}})
        except Exception as exc:  # Haystack wraps component errors; users get ours
            cause = exc.__cause__
            if isinstance(cause, LawSearchError):
                raise cause from None
            raise
        return dict(out["linker"]["result"].data, query=query)

    @property
    def pipeline(self):
        if self._pipeline is None:
            from search.pipeline import build_query_pipeline

            self._pipeline = build_query_pipeline(self)
        return self._pipeline


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


__all__ = ["SearchEngine", "build_filter", "collapse", "highlight", "FAR_FUTURE"]

"""The search entry point: the user's filters checked and turned into a store filter, the query analysed once and run
through the query pipeline (search.pipeline)."""
from __future__ import annotations

import datetime
import re
from typing import Any

from corpus.errors import InvalidFilter, LawSearchError
from corpus.index import ArticleIndex, date_int
from corpus.store import Condition, FilterSpec

from search.pipeline import build_query_pipeline
from search.query import analyse
from search.titles import TitleBook

FILTER_KEYS = ("region", "level", "status", "agency", "regulation", "as_of", "all_versions")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


class SearchEngine:
    """One query entry point for the CLI, the API and evaluation."""

    def __init__(self, index: ArticleIndex, retriever: Any, *, mode_description: str, violation_rerank: bool = True):
        self.index = index
        self.retriever = retriever
        self.mode_description = mode_description
        self.titles = TitleBook(index)
        self.violation_rerank = violation_rerank  # penalty above its duty for violation questions
        self.pipeline = build_query_pipeline(titles=self.titles, index=index, retriever=retriever,
                                             mode_description=mode_description)

    def refresh(self) -> None:
        self.titles.refresh()

    # ---- search --------------------------------------------------------------------------------------------
    def search(self, query: str, *, top_k: int = 10, filters: dict | None = None) -> dict:
        query = (query or "").strip()
        if not query:
            raise InvalidFilter("查询内容不能为空", detail="query")
        if not 1 <= int(top_k) <= 200:
            raise InvalidFilter("top_k 应在 1 到 200 之间", detail=str(top_k))
        filters = dict(filters or {})
        flt = build_filter(filters, self.titles)  # a bad filter is the user's error, reported before any work
        analysis = analyse(query)
        try:
            out = self.pipeline.run({"citations": {"query": analysis, "filters": filters},
                                     "retriever": {"query": analysis, "flt": flt, "top_k": top_k},
                                     "merger": {"top_k": top_k, "filters": filters},
                                     "linker": {"query": analysis, "top_k": top_k,
                                                "violation_rerank": self.violation_rerank}})
        except Exception as exc:  # Haystack wraps component errors; users get ours
            cause = exc.__cause__
            if isinstance(cause, LawSearchError):
                raise cause from None
            raise
        return dict(out["linker"]["result"].data, query=query)


__all__ = ["SearchEngine", "build_filter", "FILTER_KEYS"]

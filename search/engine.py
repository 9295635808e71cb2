"""The search entry point: the user's filters checked and turned into a store filter, the query analysed once and run
through the query pipeline (search.pipeline)."""
from __future__ import annotations

import datetime
import re
from typing import Any

from corpus.errors import InvalidFilter, LawSearchError
from corpus.index import ArticleIndex, date_int
from corpus.regions import applicable_regions
from corpus.store import Condition, FilterSpec

from search.pipeline import build_query_pipeline
from search.query import analyse
from search.titles import TitleBook

FILTER_KEYS = ("region", "applicable_in", "scope", "level", "status", "agency", "regulation", "as_of", "all_versions")
#: `scope`: the law applicable in a place (its texts, its province's, national law) or every region's texts.
SCOPES = ("applicable", "all")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _real_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def build_filter(filters: dict[str, Any] | None, titles: TitleBook | None = None, *,
                 home_region: str | None = None) -> FilterSpec:
    """User filters → store filter. Default: current versions only, and the law applicable in the deployment's
    home region (its own texts, its province's and national law) unless `scope=all`.

    `region` means "issued by" (徐州市: the city's own texts only); `applicable_in` means "binding there" (徐州市:
    徐州市, 江苏省 and national texts)."""
    filters = dict(filters or {})
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise InvalidFilter("不支持的筛选条件", detail="、".join(sorted(unknown)))
    scope = filters.get("scope") or "applicable"
    if scope not in SCOPES:
        raise InvalidFilter("检索范围只能是 applicable（适用于本地的法律）或 all（所有地区）", detail=str(scope))
    must: list[Condition] = []
    place = filters.get("applicable_in") or (home_region if scope == "applicable" else None)
    if place and not filters.get("region"):
        regions = titles.applicable_regions(str(place)) if titles else applicable_regions(str(place), [])
        must.append(Condition(field="region", any_of=regions))
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

    def __init__(self, index: ArticleIndex, retriever: Any, *, mode_description: str, violation_rerank: bool = True,
                 home_region: str | None = None, levels: Any = None):
        self.index = index
        self.home_region = home_region  # searches without a region cover the law applicable here
        self.retriever = retriever
        self.mode_description = mode_description
        self.titles = TitleBook(index)
        self.violation_rerank = violation_rerank  # penalty above its duty for violation questions
        self.pipeline = build_query_pipeline(titles=self.titles, index=index, retriever=retriever,
                                             mode_description=mode_description, levels=levels)

    def refresh(self) -> None:
        self.titles.refresh()

    def use_levels(self, levels: Any) -> None:
        """Counterparts at the other levels (search.levels.LevelLinks) rebuilt after an ingest."""
        self.pipeline.get_component("levels").links = levels

    # ---- search --------------------------------------------------------------------------------------------
    def search(self, query: str, *, top_k: int = 10, filters: dict | None = None) -> dict:
        query = (query or "").strip()
        if not query:
            raise InvalidFilter("查询内容不能为空", detail="query")
        if not 1 <= int(top_k) <= 200:
            raise InvalidFilter("top_k 应在 1 到 200 之间", detail=str(top_k))
        filters = dict(filters or {})
        # a bad filter is the user's error, reported before any work
        flt = build_filter(filters, self.titles, home_region=self.home_region)
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
        return dict(out["levels"]["result"].data, query=query)


__all__ = ["SearchEngine", "build_filter", "FILTER_KEYS"]

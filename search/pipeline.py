"""The query pipeline (Haystack): citations resolved directly; other queries retrieved, then merged and collapsed.

    query ─► CitationResolver ─┬─(pure citation)──────────────────────► ResultMerger ─► PenaltyLinker ─► LevelLinker
                               └─(otherwise) ─► HybridRetrieval ───────►

Every component that reads the query gets its `QueryAnalysis` (search.query), computed once. PenaltyLinker
(search.linking) attaches the linked duty/penalty articles to each hit and, for questions about a violation, places
the penalty article above the duty it punishes (switch: its `violation_rerank` input). LevelLinker (search.levels)
gives each hit its counterparts at the other levels of the applicable law (city, province, national).
"""
from __future__ import annotations

from typing import Any

from haystack import Pipeline, component

from corpus.articles import ArticleRecord
from corpus.errors import AmbiguousTitle, NotFound
from corpus.index import ArticleIndex
from corpus.numerals import article_label, int_to_cn
from corpus.store import FilterSpec

from search.carriers import Hits, Result
from search.citations import CitationMatch
from search.hits import collapse, hit_dict
from search.levels import LevelLinker, LevelLinks
from search.linking import PenaltyLinker
from search.query import QueryAnalysis
from search.titles import TitleBook

#: Extra hits retrieved for a question about a violation, for the linker's re-rank to choose from.
VIOLATION_DEPTH = 10


@component
class CitationResolver:
    """Resolves the 《…》第X条 citations of the query to the article of the right version."""

    def __init__(self, *, titles: TitleBook, index: ArticleIndex):
        self.titles = titles
        self.index = index

    def resolve(self, match: CitationMatch, filters: dict) -> tuple[list[dict], list[str], dict | None]:
        """Hits for one written citation, candidate titles when the written title is ambiguous, and — when the
        law or the article does not exist — a not-found notice with the nearest real candidates."""
        recs: list[dict] = []
        for cand in match.title_candidates:
            recs = self.titles.resolve(cand, region=filters.get("region"))
            if recs:
                break
        c = match.citation
        written = f"{c.title}{article_label(c.article_no, c.article_suffix)}"
        if not recs:
            nearest = self.titles.nearest(c.title)
            return [], [], {"written": written, "reason": "law_not_found", "nearest": nearest,
                            "message": f"索引中没有名为“{c.title}”的法规" + (
                                f"；相近的法规：{'、'.join(f'《{t}》' for t in nearest)}" if nearest else "")}
        by_reg: dict[str, dict] = {}
        for r in recs:
            by_reg.setdefault(r["regulation_id"], r)
        candidates = sorted(r["title"] for r in by_reg.values()) if len(by_reg) > 1 else []
        hits = []
        for rec in by_reg.values():
            try:
                _, parts = self.index.article(rec["title"], c.article_no, c.article_suffix,
                                              as_of=filters.get("as_of"))
            except (NotFound, AmbiguousTitle):
                continue
            marked = {"clause": c.clause_no, "item": c.item_no} if (c.clause_no or c.item_no) else None
            hits.append(hit_dict(ArticleRecord.from_parts(parts).as_hit(score=1.0), marked=marked))
        if hits:
            return hits, candidates, None
        rec = next(iter(by_reg.values()))
        count = int(rec.get("article_count") or 0)
        nearest = [f"《{rec['title']}》{article_label(n)}" for n in sorted({max(1, min(c.article_no, count)), count})
                   if count]
        when = f"在 {filters['as_of']} 有效的版本中" if filters.get("as_of") else ""
        return [], candidates, {"written": written, "reason": "article_not_found", "nearest": nearest,
                                "message": f"《{rec['title']}》{when}没有{article_label(c.article_no, c.article_suffix)}"
                                           + (f"（共{int_to_cn(count)}条）" if count else "")}

    @component.output_types(cited=Hits, candidates=list[str], pure=bool, not_found=list[dict])
    def run(self, query: QueryAnalysis, filters: dict) -> dict[str, Any]:
        cited, candidates, missing = [], [], []
        for m in query.citations:
            hits, cands, notice = self.resolve(m, filters)
            cited += hits
            candidates += cands
            if notice:
                missing.append(notice)
        # A query that is nothing but citations is answered by them alone — also when none exists: it is told so
        # instead of getting similar-sounding articles as if they answered.
        pure = query.citation_only and bool(cited or missing)
        return {"cited": Hits(cited), "candidates": candidates, "pure": pure, "not_found": missing}


@component
class HybridRetrieval:
    """Sparse + dense retrieval in the store with the user's filters (skipped for pure citation queries)."""

    def __init__(self, *, retriever: Any):
        self.retriever = retriever

    @component.output_types(hits=Hits)
    def run(self, query: QueryAnalysis, flt: FilterSpec, top_k: int, pure: bool, cited: Hits) -> dict[str, Hits]:
        if pure:
            return {"hits": Hits()}
        # A question about a violation gets a deeper list: the linker may bring penalties from further down up.
        extra = VIOLATION_DEPTH if query.violation else 0
        found = self.retriever.retrieve(query.retrieval_query, flt, top_k=top_k + len(cited.items) + extra,
                                        flags=query.ranker_flags)
        return {"hits": Hits(hit_dict(h, terms=query.terms) for h in found)}


@component
class ResultMerger:
    """Cited articles first, then retrieved ones; each article once; the retrieval mode stated plainly."""

    def __init__(self, *, mode_description: str):
        self.mode_description = mode_description

    @component.output_types(result=Result)
    def run(self, cited: Hits, candidates: list[str], pure: bool, hits: Hits, top_k: int,
            filters: dict, not_found: list[dict]) -> dict[str, Result]:
        if pure:
            mode = "citation" if cited.items else "citation_not_found"
            return {"result": Result({"mode": mode, "candidates": candidates, "hits": cited.items[:top_k],
                                      "not_found": not_found})}
        merged = collapse(cited.items + hits.items, all_versions=bool(filters.get("all_versions")))  # linker cuts
        mode = ("citation+" if cited.items else "") + self.mode_description
        return {"result": Result({"mode": mode, "candidates": candidates, "hits": merged, "not_found": not_found})}


def build_query_pipeline(*, titles: TitleBook, index: ArticleIndex, retriever: Any, mode_description: str,
                         levels: LevelLinks | None = None) -> Pipeline:
    pipe = Pipeline()
    pipe.add_component("citations", CitationResolver(titles=titles, index=index))
    pipe.add_component("retriever", HybridRetrieval(retriever=retriever))
    pipe.add_component("merger", ResultMerger(mode_description=mode_description))
    linker = PenaltyLinker(articles=index.articles)
    pipe.add_component("linker", linker)
    pipe.add_component("levels", LevelLinker(reader=linker.reader, links=levels))
    pipe.connect("citations.pure", "retriever.pure")
    pipe.connect("citations.cited", "retriever.cited")
    pipe.connect("citations.cited", "merger.cited")
    pipe.connect("citations.candidates", "merger.candidates")
    pipe.connect("citations.pure", "merger.pure")
    pipe.connect("citations.not_found", "merger.not_found")
    pipe.connect("retriever.hits", "merger.hits")
    pipe.connect("merger.result", "linker.result")
    pipe.connect("linker.result", "levels.result")
    return pipe

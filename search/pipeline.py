"""The query pipeline (Haystack): citations resolved directly; other queries retrieved, then merged and collapsed.

    query ─► CitationResolver ─┬─(pure citation)──────────────────────► ResultMerger ─► PenaltyLinker
                               └─(otherwise) ─► HybridRetrieval ───────►

PenaltyLinker (search.linking) attaches the linked duty/penalty articles to each hit and, for questions about a
violation, places the penalty article above the duty it punishes (switch: LAWSEARCH_VIOLATION_RERANK).
"""
from __future__ import annotations

from typing import Any

from haystack import Pipeline, component

from corpus.store import FilterSpec

from search.carriers import Hits, Result
from search.citations import find_citations, is_pure_citation
from search.linking import PenaltyLinker, is_violation_query, retrieval_query

#: Extra hits retrieved for a question about a violation, for the linker's re-rank to choose from.
VIOLATION_DEPTH = 10


@component
class CitationResolver:
    """Finds 《…》第X条 citations in the query and resolves them to the article of the right version."""

    def __init__(self, *, engine: Any):
        self.engine = engine

    @component.output_types(cited=Hits, candidates=list[str], pure=bool)
    def run(self, query: str, filters: dict) -> dict[str, Any]:
        matches = find_citations(query)
        cited, candidates = [], []
        for m in matches:
            hits, cands = self.engine.resolve_citation(m, filters)
            cited += hits
            candidates += cands
        return {"cited": Hits(cited), "candidates": candidates,
                "pure": bool(cited) and is_pure_citation(query, matches)}


@component
class HybridRetrieval:
    """Sparse + dense retrieval in the store with the user's filters (skipped for pure citation queries)."""

    def __init__(self, *, engine: Any):
        self.engine = engine

    @component.output_types(hits=Hits)
    def run(self, query: str, flt: FilterSpec, top_k: int, pure: bool, cited: Hits) -> dict[str, Hits]:
        from search.engine import _terms, hit_dict

        if pure:
            return {"hits": Hits()}
        # A question about a violation gets a deeper list: the linker may bring penalties from further down up.
        extra = VIOLATION_DEPTH if is_violation_query(query) else 0
        found = self.engine.retriever.retrieve(retrieval_query(query), flt, top_k=top_k + len(cited.items) + extra)
        terms = _terms(query)
        return {"hits": Hits(hit_dict(h, terms=terms) for h in found)}


@component
class ResultMerger:
    """Cited articles first, then retrieved ones; each article once; the retrieval mode stated plainly."""

    def __init__(self, *, mode_description: str):
        self.mode_description = mode_description

    @component.output_types(result=Result)
    def run(self, cited: Hits, candidates: list[str], pure: bool, hits: Hits, top_k: int,
            filters: dict) -> dict[str, Result]:
        from search.engine import collapse

        if pure:
            return {"result": Result({"mode": "citation", "candidates": candidates, "hits": cited.items[:top_k]})}
        merged = collapse(cited.items + hits.items, all_versions=bool(filters.get("all_versions")))  # linker cuts
        mode = ("citation+" if cited.items else "") + self.mode_description
        return {"result": Result({"mode": mode, "candidates": candidates, "hits": merged})}


def build_query_pipeline(engine: Any) -> Pipeline:
    pipe = Pipeline()
    pipe.add_component("citations", CitationResolver(engine=engine))
    pipe.add_component("retriever", HybridRetrieval(engine=engine))
    pipe.add_component("merger", ResultMerger(mode_description=engine.mode_description))
    pipe.add_component("linker", PenaltyLinker(engine=engine))
    pipe.connect("citations.pure", "retriever.pure")
    pipe.connect("citations.cited", "retriever.cited")
    pipe.connect("citations.cited", "merger.cited")
    pipe.connect("citations.candidates", "merger.candidates")
    pipe.connect("citations.pure", "merger.pure")
    pipe.connect("retriever.hits", "merger.hits")
    pipe.connect("merger.result", "linker.result")
    return pipe

"""Duty ↔ penalty links on search hits, and a violation re-rank (谁执法谁普法 in search).

Ingest stores, per article, which articles of the same regulation it penalises (`enforcement.penalizes`, labels like
第二十八条) and which penalise it (`enforcement.penalized_by`), read through `search.penalties`. `PenaltyLinker`, the
last component of the query pipeline, does two things with them:

1. violation re-rank (switch: the `violation_rerank` input, `SearchEngine(violation_rerank=…)`, default on): when
   the query asks about a violation (`QueryAnalysis.violation`: 罚/违反/法律责任/后果/不…会怎样 …), each penalty
   article that punishes a duty found among the first `window` hits is placed right above that duty, provided the
   conduct it punishes covers at least `min_cover` of the query's conduct words (the penalty is read from the index
   when retrieval missed it);
2. every hit gets `linked`: the duty articles it penalises and the penalty articles that penalise it, with their
   text — a question about a duty also shows what happens when it is broken, and a penalty shows the duty.
"""
from __future__ import annotations

import re

from haystack import component

from corpus.articles import group_articles
from corpus.numerals import NUMERAL_RE
from corpus.store import ArticleStore, Condition, FilterSpec, Hit

from search.carriers import Result
from search.hits import article_key, hit_dict, version_key
from search.penalties import link_targets
from search.query import QueryAnalysis

#: A penalty article whose conduct is only a reference: 违反本条例第十八条第一款第二项规定的.
_BY_REFERENCE = re.compile(rf"^违反本(?:法|条例|规定|办法|细则)(?:第{NUMERAL_RE}条[^，。]{{0,40}}?)+规定的?$")
_CONDUCT_HEAD = re.compile(r"^(?P<head>[^。；]*?)(?:有下列|的[，,：:])")


def cover(terms: list[str], text: str) -> float:
    """Share of the query's content words (weighted by length) found in `text`."""
    total = sum(len(t) for t in terms)
    if not total:
        return 0.0
    return sum(len(t) for t in terms if t in text) / total


def conduct_cover(terms: list[str], payload: dict) -> float:
    """How well a penalty article's punished conduct matches the query: best conduct unit, read together with the
    party the article speaks of (生产经营单位有下列行为之一的 …)."""
    enf = payload.get("enforcement") or {}
    m = _CONDUCT_HEAD.match(payload.get("text") or "")
    head = m.group("head") if m else ""
    units = enf.get("conduct") or [payload.get("text") or ""]
    return max((cover(terms, head + "，" + u) for u in units), default=0.0)


def by_reference(payload: dict) -> bool:
    """A conduct unit of the penalty article is a bare reference to duty articles (违反本条例第十八条…规定的)."""
    units = (payload.get("enforcement") or {}).get("conduct") or []
    return any(_BY_REFERENCE.match(u.strip()) for u in units)


class ArticleReader:
    """Reads whole articles (parts joined) of given versions from the store, in one scroll per call."""

    def __init__(self, store: ArticleStore):
        self.store = store

    def read(self, wanted: set[tuple[str, int, str]]) -> dict[tuple[str, int, str], Hit]:
        """{(version_id, article_no, suffix): Hit with the merged payload} for the wanted articles that exist."""
        if not wanted:
            return {}
        flt = FilterSpec(must=[Condition(field="version_id", any_of=sorted({w[0] for w in wanted})),
                               Condition(field="article_no", any_of=sorted({w[1] for w in wanted}))])
        parts = [h for h in self.store.scroll(flt)
                 if version_key(h.payload) in wanted and h.payload.get("kind", "article") == "article"]
        return {version_key(rec.payload): rec.as_hit() for rec in group_articles(parts)}


@component
class PenaltyLinker:
    """After the merger: violation re-rank (behind a switch) and `linked` duty/penalty articles on every hit."""

    def __init__(self, *, articles: ArticleStore, window: int = 5, min_cover: float = 0.5, max_linked: int = 6):
        self.reader = ArticleReader(articles)
        self.window = window
        self.min_cover = min_cover
        self.max_linked = max_linked

    @component.output_types(result=Result)
    def run(self, result: Result, query: QueryAnalysis, top_k: int, violation_rerank: bool = True) -> dict[str, Result]:
        result = result.data
        hits: list[dict] = list(result.get("hits") or [])
        terms = list(query.conduct_terms)
        rerank = violation_rerank and result.get("mode") != "citation" and query.violation and bool(terms)
        if rerank and hits:
            hits = self._rerank(hits, terms, query)
            if query.penalty_intent:
                hits = self._penalties_first(hits, terms)
        hits = hits[:top_k]
        self._attach(hits, terms)
        out = dict(result, hits=hits)
        if rerank:
            out["violation_rerank"] = True
        return {"result": Result(out)}

    # -- re-rank --------------------------------------------------------------------------------------------
    def _rerank(self, hits: list[dict], terms: list[str], query: QueryAnalysis) -> list[dict]:
        wanted: dict[int, list[tuple[str, int, str]]] = {}
        for i, h in enumerate(hits[:self.window]):
            for rel, k in link_targets(h):
                if rel == "penalized_by" and h.get("version_id"):
                    wanted.setdefault(i, []).append(k)
        if not wanted:
            return hits
        present = {version_key(h): h for h in hits}
        missing = {k for ks in wanted.values() for k in ks if k not in present}
        read = self.reader.read(missing)
        promote: dict[int, list[tuple[float, dict]]] = {}
        for i, keys in wanted.items():
            for k in keys:
                h = present.get(k)
                if h is None:
                    got = read.get(k)
                    if got is None:
                        continue
                    h = hit_dict(got, terms=query.terms)
                c = conduct_cover(terms, h)
                if c < self.min_cover and by_reference(h):
                    # The penalty names its conduct only by the duty's number: the duty's match stands for it.
                    c = cover(terms, hits[i].get("text") or "") if i > 0 else 1.0
                if c >= self.min_cover:
                    promote.setdefault(i, []).append((c, h))
        if not promote:
            return hits
        out: list[dict] = []
        placed: set[tuple] = set()
        for i, h in enumerate(hits):
            for c, p in sorted(promote.get(i, []), key=lambda x: -x[0]):
                k = article_key(p)
                if k in placed:
                    continue
                placed.add(k)
                p = dict(p, score=h.get("score", 0.0), promoted="violation")
                out.append(p)
            k = article_key(h)
            if k in placed:
                continue
            placed.add(k)
            out.append(h)
        return out

    def _penalties_first(self, hits: list[dict], terms: list[str]) -> list[dict]:
        """For a question about the sanction: the penalty articles whose punished conduct matches the question best
        (conduct cover within 0.1 of the best, at least `min_cover`), then the duties they punish (also attached to
        them as links), then the rest — each group in rank order. So the national, provincial and city penalties for
        the asked conduct stand together at the top, each with its duty."""
        covers = {id(h): conduct_cover(terms, h) for h in hits if h.get("is_penalty")}
        best = max(covers.values(), default=0.0)
        if best < self.min_cover:
            return hits
        top = [h for h in hits if covers.get(id(h), -1.0) >= best - 0.1]
        punished = {k for p in top for rel, k in link_targets(p) if rel == "penalizes"}
        placed = {id(h) for h in top}
        duties = [h for h in hits if id(h) not in placed and version_key(h) in punished]
        placed |= {id(h) for h in duties}
        return top + duties + [h for h in hits if id(h) not in placed]

    # -- links ----------------------------------------------------------------------------------------------
    def _attach(self, hits: list[dict], terms: list[str]) -> None:
        wanted: set[tuple[str, int, str]] = set()
        plan: list[list[tuple[str, tuple[str, int, str]]]] = []
        for h in hits:
            items = link_targets(h) if h.get("version_id") else []
            wanted |= {k for _, k in items}
            plan.append(items)
        read = self.reader.read(wanted)
        for h, items in zip(hits, plan):
            linked = []
            for rel, k in items:
                got = read.get(k)
                if got is None:
                    continue
                p = got.payload
                linked.append({"relation": rel, "title": p.get("title"), "version_id": p.get("version_id"),
                               "article_no": p.get("article_no"), "article_suffix": p.get("article_suffix") or "",
                               "label": p.get("label"), "text": p.get("text", ""),
                               "is_penalty": bool(p.get("is_penalty")),
                               "fine_min": p.get("fine_min"), "fine_max": p.get("fine_max"),
                               "match": round(cover(terms, p.get("text", "")), 3) if terms else 0.0})
            # The articles that match the question first (a penalty that lists six duties shows the asked one).
            linked.sort(key=lambda x: -x["match"])
            h["linked"] = linked[:self.max_linked]


__all__ = ["PenaltyLinker", "ArticleReader", "cover", "conduct_cover", "by_reference"]

"""Duty ↔ penalty links on search hits, and a violation re-rank (谁执法谁普法 in search).

Ingest stores, per article, which articles of the same regulation it penalises (`enforcement.penalizes`, labels like
第二十八条) and which penalise it (`enforcement.penalized_by`). `PenaltyLinker`, the last component of the query
pipeline, does two things with them:

1. violation re-rank (switch: `LAWSEARCH_VIOLATION_RERANK`, default on; `SearchEngine.violation_rerank`): when the
   query asks about a violation (罚/处罚/违反/法律责任/后果/不…会怎样 …), each penalty article that punishes a duty
   found among the first `window` hits is placed right above that duty, provided the conduct it punishes covers at
   least `min_cover` of the query's content words (the penalty is read from the index when retrieval missed it);
2. every hit gets `linked`: the duty articles it penalises and the penalty articles that penalise it, with their
   text — a question about a duty also shows what happens when it is broken, and a penalty shows the duty.
"""
from __future__ import annotations

import os
import re
from typing import Any

from haystack import component

from corpus.numerals import NUMERAL_RE, cn_to_int
from corpus.store import Condition, FilterSpec, Hit
from corpus.titles import normalize_title

from search.carriers import Result

#: Words that make a query a question about a violation and its consequences.
VIOLATION_RE = re.compile(
    r"罚|违反|违法|法律责任|后果|吊销|拘留|处分|追究|责令|没收|"
    r"(?:不|未|没有?|拒不|拒绝|擅自)[^，。？?！!]{0,40}?(?:会怎样|会怎么样|怎么办|怎么处理|如何处理|怎么处罚|承担什么|有什么责任)")
#: Words that ask for the sanction itself (罚款, 吊销, 法律责任 …): penalty articles matching the conduct come first.
PENALTY_INTENT_RE = re.compile(r"罚款|罚多少|怎么罚|怎样罚|(?:如何|怎么|怎样|什么|哪些|受到|给予)处罚|处罚标准|法律责任|吊销|没收|"
                               r"停产停业|责令")
#: Query words that say "violation" but name no conduct; left out when matching the conduct.
_NON_CONTENT = {"罚款", "处罚", "罚金", "违反", "违法", "法律责任", "责任", "后果", "怎么", "怎样", "怎么样", "怎么办", "什么",
                "如何", "处理", "可以", "是否", "应该", "规定", "承担", "追究", "多少", "会不会", "有没有", "行为", "被罚",
                "没有", "如果", "的话", "请问", "单位"}
#: Sanction words taken out of the retrieval query of a violation question: every penalty article says 罚款, and
#: the word pulls towards texts about fines in general (行政处罚法) instead of the conduct asked about.
#: Only the asking phrase at a clause end (…会被罚款吗, … 罚款, 罚多少钱), never a term such as 行政处罚 or 从轻处罚.
SANCTION_WORDS_RE = re.compile(
    r"罚多少钱?|怎么罚|怎样罚|"
    r"(?:是否|会不会|会|要|将)?(?:被|受到|给予)?(?:什么|哪些|怎样的)?(?<![政事安轻重予除])(?:罚款|处罚|罚钱)(?:吗|么|多少钱?)?"
    r"(?=[\s，,。？?！!；;]|$)")
#: A penalty article whose conduct is only a reference: 违反本条例第十八条第一款第二项规定的.
_BY_REFERENCE = re.compile(rf"^违反本(?:法|条例|规定|办法|细则)(?:第{NUMERAL_RE}条[^，。]{{0,40}}?)+规定的?$")
_LABEL = re.compile(rf"^第(?P<no>{NUMERAL_RE})条(?P<suffix>之[一二三四五六七八九十]+)?$")
_CONDUCT_HEAD = re.compile(r"^(?P<head>[^。；]*?)(?:有下列|的[，,：:])")


def violation_rerank_default() -> bool:
    """The switch: LAWSEARCH_VIOLATION_RERANK=0 turns the violation re-rank off (links are attached either way)."""
    return os.environ.get("LAWSEARCH_VIOLATION_RERANK", "1").strip().lower() not in ("0", "false", "no", "off")


def is_violation_query(query: str) -> bool:
    return bool(VIOLATION_RE.search(query or ""))


def parse_label(label: str) -> tuple[int, str] | None:
    """第二十八条 → (28, ""); 第二十条之一 → (20, "之一"); None for anything else."""
    m = _LABEL.match((label or "").strip())
    if not m:
        return None
    try:
        return cn_to_int(m.group("no")), m.group("suffix") or ""
    except ValueError:
        return None


def retrieval_query(query: str) -> str:
    """The question as the retriever should see it: a violation question without its sanction words, when enough
    of it is left (遛狗不牵绳 罚款 → 遛狗不牵绳)."""
    if not is_violation_query(query):
        return query
    stripped = re.sub(r"\s+", " ", SANCTION_WORDS_RE.sub(" ", query)).strip()
    return stripped if len(re.findall(r"[\u4e00-\u9fff]", stripped)) >= 4 else query


def content_terms(query: str) -> list[str]:
    from search.engine import _terms

    return [t for t in _terms(query) if t not in _NON_CONTENT and not VIOLATION_RE.fullmatch(t)]


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


def _key(title: str, no: Any, suffix: Any) -> tuple:
    return normalize_title(title or ""), int(no or 0), suffix or ""


class ArticleReader:
    """Reads whole articles (parts joined) of given versions from the store, in one scroll per call."""

    def __init__(self, store: Any):
        self.store = store

    def read(self, wanted: set[tuple[str, int, str]]) -> dict[tuple[str, int, str], Hit]:
        """{(version_id, article_no, suffix): Hit with the merged payload} for the wanted articles that exist."""
        if not wanted:
            return {}
        flt = FilterSpec(must=[Condition(field="version_id", any_of=sorted({w[0] for w in wanted})),
                               Condition(field="article_no", any_of=sorted({w[1] for w in wanted}))])
        parts: dict[tuple, list[Hit]] = {}
        for h in self.store.scroll(flt):
            p = h.payload
            k = (p.get("version_id"), p.get("article_no"), p.get("article_suffix") or "")
            if k in wanted and p.get("kind", "article") == "article":
                parts.setdefault(k, []).append(h)
        out = {}
        for k, hs in parts.items():
            hs.sort(key=lambda h: h.payload.get("part", 0))
            payload = dict(hs[0].payload)
            if len(hs) > 1:
                from search.answer import merge_clauses

                payload["text"] = "\n".join(h.payload.get("text", "") for h in hs)
                payload["clauses"] = merge_clauses([h.payload.get("clauses", []) for h in hs])
            out[k] = Hit(id=hs[0].id, score=0.0, payload=payload)
        return out


def _links(hit: dict) -> list[tuple[str, str]]:
    """(relation, label) pairs of a hit: the duties it penalises, then the penalties that penalise it."""
    enf = hit.get("enforcement") or {}
    return ([("penalizes", lab) for lab in enf.get("penalizes") or []]
            + [("penalized_by", lab) for lab in enf.get("penalized_by") or []])


@component
class PenaltyLinker:
    """After the merger: violation re-rank (behind a switch) and `linked` duty/penalty articles on every hit."""

    def __init__(self, *, engine: Any, window: int = 5, min_cover: float = 0.5, max_linked: int = 6):
        self.engine = engine
        self.window = window
        self.min_cover = min_cover
        self.max_linked = max_linked

    @component.output_types(result=Result)
    def run(self, result: Result, query: str, top_k: int) -> dict[str, Result]:
        result = result.data
        hits: list[dict] = list(result.get("hits") or [])
        reader = ArticleReader(self.engine.index.articles)
        terms = content_terms(query)
        rerank = (getattr(self.engine, "violation_rerank", True) and result.get("mode") != "citation"
                  and is_violation_query(query) and bool(terms))
        if rerank and hits:
            hits = self._rerank(hits, terms, reader, query)
            if PENALTY_INTENT_RE.search(query):
                hits = self._penalties_first(hits, terms)
        hits = hits[:top_k]
        self._attach(hits, terms, reader)
        out = dict(result, hits=hits)
        if rerank:
            out["violation_rerank"] = True
        return {"result": Result(out)}

    # -- re-rank --------------------------------------------------------------------------------------------
    def _rerank(self, hits: list[dict], terms: list[str], reader: ArticleReader, query: str) -> list[dict]:
        from search.engine import _terms, hit_dict

        wanted: dict[int, list[tuple[str, int, str]]] = {}
        for i, h in enumerate(hits[:self.window]):
            for rel, lab in _links(h):
                parsed = parse_label(lab)
                if rel == "penalized_by" and parsed and h.get("version_id"):
                    wanted.setdefault(i, []).append((h["version_id"], *parsed))
        if not wanted:
            return hits
        present = {(h.get("version_id"), h.get("article_no"), h.get("article_suffix") or ""): h for h in hits}
        missing = {k for ks in wanted.values() for k in ks if k not in present}
        read = reader.read(missing)
        promote: dict[int, list[tuple[float, dict]]] = {}
        for i, keys in wanted.items():
            for k in keys:
                h = present.get(k)
                if h is None:
                    got = read.get(k)
                    if got is None:
                        continue
                    h = hit_dict(got, terms=_terms(query))
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
                k = _key(p.get("title"), p.get("article_no"), p.get("article_suffix"))
                if k in placed:
                    continue
                placed.add(k)
                p = dict(p, score=h.get("score", 0.0), promoted="violation")
                out.append(p)
            k = _key(h.get("title"), h.get("article_no"), h.get("article_suffix"))
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
        punished = set()
        for p in top:
            for rel, lab in _links(p):
                parsed = parse_label(lab)
                if rel == "penalizes" and parsed:
                    punished.add((p.get("version_id"), *parsed))
        placed = {id(h) for h in top}
        duties = [h for h in hits if id(h) not in placed
                  and (h.get("version_id"), h.get("article_no"), h.get("article_suffix") or "") in punished]
        placed |= {id(h) for h in duties}
        return top + duties + [h for h in hits if id(h) not in placed]

    # -- links ----------------------------------------------------------------------------------------------
    def _attach(self, hits: list[dict], terms: list[str], reader: ArticleReader) -> None:
        wanted: set[tuple[str, int, str]] = set()
        plan: list[list[tuple[str, tuple[str, int, str]]]] = []
        for h in hits:
            items = []
            for rel, lab in _links(h):
                parsed = parse_label(lab)
                if parsed and h.get("version_id"):
                    k = (h["version_id"], *parsed)
                    items.append((rel, k))
                    wanted.add(k)
            plan.append(items)
        read = reader.read(wanted)
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


__all__ = ["PenaltyLinker", "ArticleReader", "is_violation_query", "PENALTY_INTENT_RE", "parse_label", "content_terms", "cover",
           "conduct_cover", "violation_rerank_default", "VIOLATION_RE"]

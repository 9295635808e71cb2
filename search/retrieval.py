"""Hybrid retrieval over the article store: BM25 (sparse) + dense candidates, score fusion, light re-ranking.

For a query:

1. the query is expanded with legal wording (`search.expansion`, lay → legal) for the sparse side;
2. one store query per vector (one engine batch): each sparse encoder and the dense embedder return their top
   `candidates` points under the caller's filter, with only the payload fields re-ranking needs;
3. fusion: ``(1 − w)·bm25/max(bm25) + w·cosine``, w = 0.6 for the order, and w = 0.8 (dense carries recall)
   to choose which candidates fill the first 100 places: a two-stage cascade. A candidate missing from the dense
   list gets that list's lowest cosine, one missing from a BM25 list half of that list's lowest normalised score
   (measured: better than the full floor or zero);
4. re-ranking of the fused candidates (recipe and numbers in evaluation/ABLATION.md):
   * level prior: local regulations and rules (地方性法规, 地方政府规章, 部门规章, …) × 0.5 (`level_weights`), because
     a question that names no place or agency is most often answered by national law — a user filter on region
     or level makes the prior irrelevant (every candidate gets the same factor);
   * kind prior: paragraphs of texts without 条 (修正案, 决定, old 解答) × 0.5 (`kind_weights`): they amend or
     restate law, the articles state it;
   * regulation evidence: ``+ regulation_weight · (sum of the regulation's best 3 article scores) / max``
     — an article of a regulation that many candidates come from is more likely the answer;
5. the top_k points are read back whole.

Parts of one long article (same version) come back once, as their best part; several versions of one article
(when the filter lets them through) are kept as separate hits for the caller to collapse. Within the regulation
evidence each article counts once.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from corpus.store import ArticleStore, FilterSpec, Hit

#: Score factor per regulation level (others 1.0).
DEFAULT_LEVEL_WEIGHTS = {"地方性法规": 0.5, "地方政府规章": 0.5, "自治条例和单行条例": 0.5, "部门规章": 0.5,
                         "规范性文件": 0.5}
#: Score factor per point kind: "paragraph" points come from texts without 条 (修正案, 决定, old 解答 documents),
#: which restate or amend law rather than state it.
DEFAULT_KIND_WEIGHTS = {"paragraph": 0.5}
RERANK_FIELDS = ["regulation_id", "version_id", "article_no", "article_suffix", "kind", "level"]


class HybridRetriever:
    """`retrieve(query, flt, top_k)` → hits (full payloads), best first."""

    def __init__(
        self,
        store: ArticleStore,
        sparse_encoders: Sequence[Any],
        embedder: Any | None = None,
        *,
        dense_name: str = "dense",
        candidates: int = 500,
        sparse_candidates: int | None = None,
        dense_weight: float = 0.6,
        sparse_floor: float = 0.5,
        recall_dense_weight: float | None = 0.8,
        recall_pool: int = 100,
        level_weights: dict[str, float] | None = None,
        kind_weights: dict[str, float] | None = None,
        regulation_weight: float = 0.3,
        regulation_top: int = 3,
        expander: Any | None = "default",
        use_dense: bool | None = None,
    ):
        self.store = store
        self.sparse_encoders = list(sparse_encoders)
        self.embedder = embedder
        self.dense_name = dense_name
        self.candidates = candidates
        self.sparse_candidates = sparse_candidates
        self.dense_weight = dense_weight
        self.sparse_floor = sparse_floor
        self.recall_dense_weight = recall_dense_weight
        self.recall_pool = recall_pool
        self.level_weights = DEFAULT_LEVEL_WEIGHTS if level_weights is None else dict(level_weights)
        self.kind_weights = DEFAULT_KIND_WEIGHTS if kind_weights is None else dict(kind_weights)
        self.regulation_weight = regulation_weight
        self.regulation_top = regulation_top
        if expander == "default":
            from search.expansion import default_glossary

            expander = default_glossary()
        self.expander = expander
        if use_dense is None:
            layout = store.layout()
            use_dense = embedder is not None and bool(layout and dense_name in (layout.dense or {}))
        self.use_dense = bool(use_dense) and embedder is not None
        self.last_timing: dict[str, float] = {}
        self.fields = list(RERANK_FIELDS)  # payload fields fetched for every candidate
        # Evaluation hooks: a replacement for the store's dense search (cross-validation searches each fold's
        # vectors in memory) and whether to read full payloads back (re-ranking payloads suffice for scoring).
        self.dense_search: Any | None = None
        self.full_payloads = True

    @property
    def description(self) -> str:
        sparse = "+".join(e.name for e in self.sparse_encoders)
        dense = self.embedder.description if self.use_dense else "dense: none (lexical only)"
        return f"sparse: BM25 ({sparse}); {dense}; fusion: score-weighted, level prior, regulation evidence"

    # -- candidates -------------------------------------------------------------------------------------------
    def _requests(self, query: str, flt: FilterSpec | None, limit: int) -> list[tuple[str, dict]]:
        sparse_text = self.expander.expand(query) if self.expander is not None else query
        reqs: list[tuple[str, dict]] = []
        for enc in self.sparse_encoders:
            idx, vals = enc.encode_query(sparse_text)
            if idx:
                slimit = max(min(self.sparse_candidates, limit), 1) if self.sparse_candidates else limit
                reqs.append(("sparse", {"sparse": {enc.name: (idx, vals)}, "flt": flt, "limit": slimit,
                                        "fields": self.fields}))
        if self.use_dense:
            vec = self.embedder.encode_query(query)
            if np.any(vec):
                reqs.append(("dense", {"dense": {self.dense_name: [float(x) for x in vec]}, "flt": flt,
                                       "limit": limit, "fields": self.fields}))
        return reqs

    def _scores(self, ids: list[str], payloads: dict[str, dict], pos: dict[str, int], sparse_lists: list,
                dense_lists: list, w: float) -> np.ndarray:
        """Fused score of every candidate for dense weight `w`, with the priors and the regulation evidence."""
        score = np.zeros(len(ids), dtype=np.float64)
        for lists, weight, normalise, floor_factor in ((sparse_lists, 1.0 - w, True, self.sparse_floor),
                                                       (dense_lists, w, False, 1.0)):
            if not lists or weight == 0.0:
                continue
            part = np.zeros(len(ids), dtype=np.float64)
            for hits in lists:
                top = max(h.score for h in hits)
                scale = (1.0 / top) if (normalise and top > 0) else 1.0
                floor = max(min(h.score for h in hits), 0.0) * scale * floor_factor
                col = np.full(len(ids), floor)
                for h in hits:
                    col[pos[h.id]] = max(h.score, 0.0) * scale
                part += col
            score += weight * part / len(lists)
        if self.level_weights:
            score *= np.array([self.level_weights.get(payloads[i].get("level", ""), 1.0) for i in ids])
        if self.kind_weights:
            score *= np.array([self.kind_weights.get(payloads[i].get("kind", ""), 1.0) for i in ids])
        if self.regulation_weight and len(ids) > 1:
            # Best score per article (parts/versions count once), then the regulation's best `regulation_top`.
            best_art: dict[tuple, float] = {}
            for pid, s in zip(ids, score):
                p = payloads[pid]
                k = (p.get("regulation_id") or p.get("title_key"), p.get("article_no"), p.get("article_suffix", ""))
                if s > best_art.get(k, -1.0):
                    best_art[k] = s
            per_reg: dict[Any, list[float]] = {}
            for (reg, _, _), s in best_art.items():
                per_reg.setdefault(reg, []).append(s)
            reg_score = {r: sum(sorted(v, reverse=True)[: self.regulation_top]) for r, v in per_reg.items()}
            top = max(reg_score.values()) or 1.0
            smax = score.max() or 1.0
            score = score / smax + self.regulation_weight * np.array(
                [reg_score[payloads[i].get("regulation_id") or payloads[i].get("title_key")] / top for i in ids])
        return score

    def _collapse_parts(self, order, ids: list[str], payloads: dict[str, dict]) -> list[int]:
        """Parts of one long article (same version, same article): the best part stands for the article."""
        out = []
        seen: set[tuple] = set()
        for i in order:
            p = payloads[ids[i]]
            if p.get("version_id") is not None and p.get("article_no") is not None:
                key = (p.get("version_id"), p.get("kind"), p.get("article_no"), p.get("article_suffix", ""))
                if key in seen:
                    continue
                seen.add(key)
            out.append(int(i))
        return out

    def fuse(self, results: list[tuple[str, list[Hit]]]) -> list[tuple[str, float, dict]]:
        """Fused and re-ranked (id, score, rerank payload), best first.

        With a dense list and `recall_dense_weight` set: the first `recall_pool` results are the pool chosen with
        that (recall-oriented) weight, ordered by the `dense_weight` score; the rest follow by that score.
        """
        sparse_lists = [hits for kind, hits in results if kind == "sparse" and hits]
        dense_lists = [hits for kind, hits in results if kind == "dense" and hits]
        payloads: dict[str, dict] = {}
        for _, hits in results:
            for h in hits:
                payloads.setdefault(h.id, h.payload)
        if not payloads:
            return []
        ids = list(payloads)
        pos = {pid: i for i, pid in enumerate(ids)}
        w = self.dense_weight if dense_lists else 0.0
        score = self._scores(ids, payloads, pos, sparse_lists, dense_lists, w)
        order = self._collapse_parts(np.argsort(-score, kind="stable"), ids, payloads)
        wr = self.recall_dense_weight
        if dense_lists and wr is not None and wr != w and self.recall_pool > 0:
            recall = self._scores(ids, payloads, pos, sparse_lists, dense_lists, wr)
            pool = set(self._collapse_parts(np.argsort(-recall, kind="stable"), ids, payloads)[: self.recall_pool])
            order = [i for i in order if i in pool] + [i for i in order if i not in pool]
        return [(ids[i], float(score[i]), payloads[ids[i]]) for i in order]

    # -- public -----------------------------------------------------------------------------------------------
    def retrieve(self, query: str, flt: FilterSpec | None = None, top_k: int = 10) -> list[Hit]:
        t0 = time.perf_counter()
        query = (query or "").strip()
        if not query or top_k <= 0:
            return []
        reqs = self._requests(query, flt, max(self.candidates, top_k))
        if not reqs:
            return []
        t1 = time.perf_counter()
        if self.dense_search is not None:
            in_store = [(kind, r) for kind, r in reqs if kind != "dense"]
            raw = self.store.query_batch([r for _, r in in_store]) if in_store else []
            results = [(kind, hits) for (kind, _), hits in zip(in_store, raw)]
            results += [(kind, self.dense_search(r["dense"][self.dense_name], flt, r["limit"]))
                        for kind, r in reqs if kind == "dense"]
        else:
            raw = self.store.query_batch([r for _, r in reqs])
            results = [(kind, hits) for (kind, _), hits in zip(reqs, raw)]
        t2 = time.perf_counter()
        ranked = self.fuse(results)[:top_k]
        if self.full_payloads:
            full = {h.id: h for h in self.store.retrieve([pid for pid, _, _ in ranked])}
            out = [Hit(id=pid, score=s, payload=full[pid].payload) for pid, s, _ in ranked if pid in full]
        else:
            out = [Hit(id=pid, score=s, payload=p) for pid, s, p in ranked]
        t3 = time.perf_counter()
        self.last_timing = {"encode_ms": (t1 - t0) * 1e3, "search_ms": (t2 - t1) * 1e3,
                            "rerank_ms": (t3 - t2) * 1e3}
        return out

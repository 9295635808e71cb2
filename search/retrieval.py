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
     or level makes the prior irrelevant (every candidate gets the same factor). Texts of the deployment's home
     region (`home_regions`: e.g. 徐州市 and 江苏省, setting LAWSEARCH_HOME_REGION) are exempt: for a Xuzhou service
     its own city's and province's rules are as much the answer as national law;
   * kind prior: paragraphs of texts without 条 (修正案, 决定, old 解答) × 0.5 (`kind_weights`): they amend or
     restate law, the articles state it;
   * regulation evidence: ``+ regulation_weight · (sum of the regulation's best 3 article scores) / max``
     — an article of a regulation that many candidates come from is more likely the answer;
5. the top_k points are read back whole.

The engine returns the candidate lists as ids and scores only; the re-ranking fields of each candidate come from
`RerankFields`, an in-memory table filled from the store once (measured on the 150k-article Edge index: asking the
engine for six payload fields of 2 × 500 candidates cost ≈ 8 ms per query, a third of the query, because it reads
each candidate's whole payload from disk).

Parts of one long article (same version) come back once, as their best part; several versions of one article
(when the filter lets them through) are kept as separate hits for the caller to collapse. Within the regulation
evidence each article counts once.
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from corpus.store import ArticleStore, FilterSpec, Hit
from search.query import analyse
from search.ranker import (FEATURE_FIELDS, Candidate, Jurisdiction, LearnedRanker, RegulationStats, bigrams,
                           build_features)

#: Score factor per regulation level (others 1.0).
DEFAULT_LEVEL_WEIGHTS = {"地方性法规": 0.5, "地方政府规章": 0.5, "自治条例和单行条例": 0.5, "部门规章": 0.5,
                         "规范性文件": 0.5}
#: Score factor per point kind: "paragraph" points come from texts without 条 (修正案, 决定, old 解答 documents),
#: which restate or amend law rather than state it.
DEFAULT_KIND_WEIGHTS = {"paragraph": 0.5}
RERANK_FIELDS = ["regulation_id", "version_id", "article_no", "article_suffix", "kind", "level", "region"]


class RerankFields:
    """The re-ranking payload fields of every point, by point id, kept in memory.

    Sound because those fields are fixed by the point id (ids derive from version, kind, article and part:
    `corpus.index.point_id`). Any write through the store (its `generation` moves) empties the table; ids not in the
    table are read from the store on demand and remembered. `warm()` reads the whole collection once (≈5 s for
    150k points; the API does it in the background at start-up). Writes from another process are not seen: at worst
    a candidate is re-ranked with the fields it had before a re-ingest that changed a version's level in place, until
    the next write or restart. Rows are the payload dicts handed to re-ranking as they are (read-only: nothing
    may change them), strings interned: ≈100 MB for 150k points, against ≈1.5 ms a query to build them anew.
    """

    def __init__(self, store: ArticleStore, fields: Sequence[str], *, max_entries: int = 2_000_000):
        self.store = store
        self.fields = tuple(fields)
        self.max_entries = max_entries
        self._rows: dict[str, dict] = {}
        self._generation = store.generation
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def _row(self, payload: dict) -> dict:
        out = {}
        for f in self.fields:
            v = payload.get(f)
            out[f] = sys.intern(v) if isinstance(v, str) else v
        return out

    def _current(self) -> dict[str, dict]:
        gen = self.store.generation
        if gen != self._generation or len(self._rows) > self.max_entries:
            with self._lock:
                self._rows = {}
                self._generation = gen
        return self._rows

    def _remember(self, rows: dict[str, dict], hits: Iterable[Hit], generation: int) -> None:
        """Add rows unless a write happened since `generation` was read (they may be stale)."""
        new = {h.id: self._row(h.payload) for h in hits}
        with self._lock:
            if self.store.generation == generation and rows is self._rows:
                rows.update(new)

    def payloads(self, ids: Iterable[str]) -> dict[str, dict]:
        """{id: {field: value}} for these ids (ids no longer in the store are left out). The dicts are shared:
        read them, never change them."""
        gen = self.store.generation
        rows = self._current()
        missing = [i for i in ids if i not in rows]
        fetched: dict[str, dict] = {}
        if missing:
            hits = self.store.retrieve(list(dict.fromkeys(missing)), fields=list(self.fields))
            fetched = {h.id: self._row(h.payload) for h in hits}
            self._remember(rows, hits, gen)
        out = {}
        for i in ids:
            row = rows.get(i) or fetched.get(i)
            if row is not None:
                out[i] = row
        return out

    def warm(self, batch: int = 4096) -> int:
        """Read every point's fields (call once at start-up, e.g. in a background thread); returns the rows held."""
        gen = self.store.generation
        rows = self._current()
        chunk: list[Hit] = []
        for h in self.store.scroll(None, batch=batch, fields=list(self.fields)):
            chunk.append(h)
            if len(chunk) >= batch:
                self._remember(rows, chunk, gen)
                chunk = []
        self._remember(rows, chunk, gen)
        return len(self._rows)


class HybridRetriever:
    """`retrieve(query, flt, top_k)` → hits (full payloads), best first."""

    home_regions: frozenset[str] = frozenset()

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
        home_regions: Sequence[str] = (),
        encoder: Any | None = None,
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
        self.home_regions = frozenset(home_regions)
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
        # The character encoder (corpus.charencoder): a third candidate list from its own named vector, fused with
        # the dense side and described to the ranker by its own features. Only when the index holds its vectors.
        layout = store.layout() if encoder is not None else None
        self.encoder = encoder if layout is not None and encoder.name in (layout.dense or {}) else None
        self.last_timing: dict[str, float] = {}
        # The learned ranker (search.ranker), set by `use_ranker`; None: fused order with the priors alone.
        self.ranker: LearnedRanker | None = None
        self.ranker_stats: RegulationStats | None = None
        self.ranker_pool = 300
        self.fields = list(RERANK_FIELDS)  # payload fields fetched for every candidate
        # Evaluation hooks: a replacement for the store's dense search (cross-validation searches each fold's
        # vectors in memory) and whether to read full payloads back (re-ranking payloads suffice for scoring).
        self.dense_search: Any | None = None
        self.full_payloads = True
        # Candidates come back as ids + scores; their re-ranking fields come from this table (None: from the engine).
        self.cache_fields = True
        self._fields_table: RerankFields | None = None

    def fields_table(self) -> RerankFields:
        t = self._fields_table
        if t is None or t.fields != tuple(self.fields):
            t = self._fields_table = RerankFields(self.store, self.fields)
        return t

    def warm(self) -> int:
        """Fill the re-ranking field table from the store (see `RerankFields.warm`); returns the rows held."""
        return self.fields_table().warm() if self.cache_fields else 0

    @property
    def description(self) -> str:
        sparse = "+".join(e.name for e in self.sparse_encoders)
        dense = self.embedder.description if self.use_dense else "dense: none (lexical only)"
        if self.encoder is not None:
            dense += f"; {self.encoder.description}"
        return f"sparse: BM25 ({sparse}); {dense}; fusion: score-weighted, level prior, regulation evidence"

    # -- candidates -------------------------------------------------------------------------------------------
    def _requests(self, query: str, flt: FilterSpec | None, limit: int) -> list[tuple[str, dict]]:
        sparse_text = self.expander.expand(query) if self.expander is not None else query
        fields = [] if self.cache_fields else self.fields
        reqs: list[tuple[str, dict]] = []
        for enc in self.sparse_encoders:
            idx, vals = enc.encode_query(sparse_text)
            if idx:
                slimit = max(min(self.sparse_candidates, limit), 1) if self.sparse_candidates else limit
                reqs.append(("sparse", {"sparse": {enc.name: (idx, vals)}, "flt": flt, "limit": slimit,
                                        "fields": fields}))
        if self.use_dense:
            vec = self.embedder.encode_query(query)
            if np.any(vec):
                reqs.append(("dense", {"dense": {self.dense_name: [float(x) for x in vec]}, "flt": flt,
                                       "limit": limit, "fields": fields}))
        if self.encoder is not None:
            vec = self.encoder.encode_query(query)
            reqs.append(("encoder", {"dense": {self.encoder.name: [float(x) for x in vec]}, "flt": flt,
                                     "limit": limit, "fields": fields}))
        return reqs

    class _Candidates:
        """The fused candidates as arrays: one pass over the payloads, then numpy for every scoring variant."""

        def __init__(self, retriever: "HybridRetriever", results: list[tuple[str, list[Hit]]]):
            payloads: dict[str, dict] = {}
            for _, hits in results:
                for h in hits:
                    payloads.setdefault(h.id, h.payload)
            self.payloads = payloads
            self.ids = ids = list(payloads)
            pos = {pid: i for i, pid in enumerate(ids)}
            n = len(ids)
            lw, kw = retriever.level_weights, retriever.kind_weights
            home = retriever.home_regions
            prior = np.ones(n, dtype=np.float64)
            reg = np.empty(n, dtype=np.int64)
            art = np.empty(n, dtype=np.int64)
            part = np.empty(n, dtype=np.int64)
            reg_codes: dict[Any, int] = {}
            art_codes: dict[tuple, int] = {}
            part_codes: dict[tuple, int] = {}
            for i, pid in enumerate(ids):
                p = payloads[pid]
                if lw or kw:
                    level = 1.0 if (home and p.get("region") in home) else lw.get(p.get("level", ""), 1.0)
                    prior[i] = level * kw.get(p.get("kind", ""), 1.0)
                r = p.get("regulation_id") or p.get("title_key")
                no, suffix = p.get("article_no"), p.get("article_suffix", "")
                reg[i] = reg_codes.setdefault(r, len(reg_codes))
                art[i] = art_codes.setdefault((r, no, suffix), len(art_codes))
                vid = p.get("version_id")
                # Parts of one long article (same version) share a key; anything else keys alone.
                part[i] = (part_codes.setdefault((vid, p.get("kind"), no, suffix), len(part_codes))
                           if vid is not None and no is not None else -1 - i)
            self.prior, self.reg, self.art, self.part = prior, reg, art, part
            self.n_regs = len(reg_codes)
            self.art_reg = np.empty(len(art_codes), dtype=np.int64)
            self.art_reg[art] = reg
            self.sparse = [self._column(hits, pos) for kind, hits in results if kind == "sparse" and hits]
            self.dense = [self._column(hits, pos) for kind, hits in results if kind in ("dense", "encoder") and hits]

        @staticmethod
        def _column(hits: list[Hit], pos: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
            return (np.fromiter((pos[h.id] for h in hits), dtype=np.int64, count=len(hits)),
                    np.fromiter((h.score for h in hits), dtype=np.float64, count=len(hits)))

    def _scores(self, c: "HybridRetriever._Candidates", w: float) -> np.ndarray:
        """Fused score of every candidate for dense weight `w`, with the priors and the regulation evidence."""
        n = len(c.ids)
        score = np.zeros(n, dtype=np.float64)
        for lists, weight, normalise, floor_factor in ((c.sparse, 1.0 - w, True, self.sparse_floor),
                                                       (c.dense, w, False, 1.0)):
            if not lists or weight == 0.0:
                continue
            part = np.zeros(n, dtype=np.float64)
            for idx, vals in lists:
                top = vals.max()
                scale = (1.0 / top) if (normalise and top > 0) else 1.0
                floor = max(vals.min(), 0.0) * scale * floor_factor
                col = np.full(n, floor)
                col[idx] = np.maximum(vals, 0.0) * scale
                part += col
            score += weight * part / len(lists)
        if self.level_weights or self.kind_weights:
            score *= c.prior
        if self.regulation_weight and n > 1:
            # Best score per article (parts/versions count once), then the sum of the regulation's best
            # `regulation_top` articles.
            best = np.full(len(c.art_reg), -1.0)
            np.maximum.at(best, c.art, score)
            o = np.lexsort((-best, c.art_reg))
            sreg, sbest = c.art_reg[o], best[o]
            ar = np.arange(len(o))
            first = np.maximum.accumulate(np.where(np.r_[True, sreg[1:] != sreg[:-1]], ar, 0))
            keep = (ar - first) < self.regulation_top
            reg_score = np.bincount(sreg[keep], weights=sbest[keep], minlength=c.n_regs)
            top = reg_score.max() or 1.0
            smax = score.max() or 1.0
            score = score / smax + self.regulation_weight * reg_score[c.reg] / top
        return score

    @staticmethod
    def _collapse_parts(order: np.ndarray, c: "HybridRetriever._Candidates") -> np.ndarray:
        """Parts of one long article (same version, same article): the best part stands for the article."""
        _, first = np.unique(c.part[order], return_index=True)
        return order[np.sort(first)]

    def fuse(self, results: list[tuple[str, list[Hit]]]) -> list[tuple[str, float, dict]]:
        """Fused and re-ranked (id, score, rerank payload), best first.

        With a dense list and `recall_dense_weight` set: the first `recall_pool` results are the pool chosen with
        that (recall-oriented) weight, ordered by the `dense_weight` score; the rest follow by that score.
        """
        c = self._Candidates(self, results)
        if not c.ids:
            return []
        w = self.dense_weight if c.dense else 0.0
        score = self._scores(c, w)
        order = self._collapse_parts(np.argsort(-score, kind="stable"), c)
        wr = self.recall_dense_weight
        if c.dense and wr is not None and wr != w and self.recall_pool > 0:
            recall = self._scores(c, wr)
            pool = np.zeros(len(c.ids), dtype=bool)
            pool[self._collapse_parts(np.argsort(-recall, kind="stable"), c)[: self.recall_pool]] = True
            order = np.concatenate([order[pool[order]], order[~pool[order]]])
        ids, payloads = c.ids, c.payloads
        return [(ids[i], float(score[i]), payloads[ids[i]]) for i in order.tolist()]

    def _with_fields(self, results: list[tuple[str, list[Hit]]]) -> list[tuple[str, list[Hit]]]:
        """Candidates without payload get their re-ranking fields from the table."""
        bare = [h.id for _, hits in results for h in hits if not h.payload]
        if not bare:
            return results
        table = self.fields_table().payloads(bare)
        return [(kind, [h if h.payload else Hit(h.id, h.score, table[h.id]) for h in hits
                        if h.payload or h.id in table]) for kind, hits in results]

    # -- the learned ranker ------------------------------------------------------------------------------------
    def use_ranker(self, ranker: LearnedRanker | None, stats: RegulationStats | None = None, *,
                   pool: int | None = None) -> None:
        """Re-order the first `pool` fused candidates with a trained `search.ranker.LearnedRanker` (None: off).
        `stats` is the `RegulationStats` of the indexed regulations (title words, sizes); with stats alone the
        candidates carry the features' fields, for training a ranker."""
        self.ranker = ranker
        self.ranker_stats = stats
        if pool is not None:
            self.ranker_pool = pool
        wanted = list(RERANK_FIELDS) + (FEATURE_FIELDS if (ranker is not None or stats is not None) else [])
        if self.fields[: len(wanted)] != wanted:
            self.fields = wanted + [f for f in self.fields if f not in wanted]

    def ranker_candidates(self, results: list[tuple[str, list[Hit]]],
                          fused: list[tuple[str, float, dict]]) -> list[Candidate]:
        """The first `ranker_pool` fused candidates with their per-list scores and ranks, as the ranker sees them."""
        best: dict[str, dict[str, tuple[float, int]]] = {"sparse": {}, "dense": {}, "encoder": {}}
        for kind, hits in results:
            if not hits:
                continue
            top = max(h.score for h in hits) if kind == "sparse" else 1.0
            scale = 1.0 / top if top > 0 else 1.0
            seen = best[kind]
            for rank, h in enumerate(hits):
                if h.id not in seen:
                    seen[h.id] = (max(h.score, 0.0) * scale, rank)
        out = []
        for rank, (pid, score, payload) in enumerate(fused[: self.ranker_pool]):
            b, d, e = best["sparse"].get(pid), best["dense"].get(pid), best["encoder"].get(pid)
            out.append(Candidate(id=pid, payload=payload, fused=score, fused_rank=rank,
                                 bm25=b[0] if b else None, bm25_rank=b[1] if b else None,
                                 cos=d[0] if d else None, cos_rank=d[1] if d else None,
                                 encoder=e[0] if e else None, encoder_rank=e[1] if e else None))
        return out

    def features(self, query: str, flags: dict[str, bool], candidates: list[Candidate]) -> np.ndarray:
        stats = self.ranker_stats or RegulationStats()
        # the encoder's columns when the ranker was trained with them, or (training) when the index holds its vectors
        encoder = self.ranker.uses_encoder if self.ranker is not None else self.encoder is not None
        return build_features(bigrams(query), flags, candidates, stats, Jurisdiction.of(self.home_regions),
                              encoder=encoder)

    def _ranked(self, query: str, flags: dict[str, bool] | None, results: list[tuple[str, list[Hit]]],
                fused: list[tuple[str, float, dict]]) -> list[tuple[str, float, dict]]:
        """Fused candidates, the first `ranker_pool` re-ordered by the ranker. Their score is the ranker's, shifted
        above 1; the candidates below the pool keep their fused score halved (below 0.65), so scores still fall."""
        if self.ranker is None or not fused:
            return fused
        if flags is None:
            flags = analyse(query).ranker_flags
        cands = self.ranker_candidates(results, fused)
        scores = self.ranker.scores(self.features(query, flags, cands))
        order = np.argsort(-scores, kind="stable")
        lo = float(scores.min())
        span = float(scores.max()) - lo or 1.0
        head = [(cands[i].id, 1.0 + (float(scores[i]) - lo) / span, cands[i].payload) for i in order.tolist()]
        tail = [(pid, score * 0.5, p) for pid, score, p in fused[len(cands):]]
        return head + tail

    # -- public -----------------------------------------------------------------------------------------------
    def candidate_lists(self, query: str, flt: FilterSpec | None, limit: int,
                        timing: dict[str, float] | None = None) -> list[tuple[str, list[Hit]]]:
        """The candidate lists (one per sparse encoder, one dense) with their re-ranking fields."""
        t0 = time.perf_counter()
        reqs = self._requests(query, flt, limit)
        if timing is not None:
            timing["encode_ms"] = (time.perf_counter() - t0) * 1e3
        if not reqs:
            return []
        if self.dense_search is not None:
            in_store = [(kind, r) for kind, r in reqs if kind != "dense"]
            raw = self.store.query_batch([r for _, r in in_store]) if in_store else []
            results = [(kind, hits) for (kind, _), hits in zip(in_store, raw)]
            results += [(kind, self.dense_search(r["dense"][self.dense_name], flt, r["limit"]))
                        for kind, r in reqs if kind == "dense"]
        else:
            raw = self.store.query_batch([r for _, r in reqs])
            results = [(kind, hits) for (kind, _), hits in zip(reqs, raw)]
        if self.cache_fields:
            results = self._with_fields(results)
        return results

    def retrieve(self, query: str, flt: FilterSpec | None = None, top_k: int = 10, *,
                 flags: dict[str, bool] | None = None) -> list[Hit]:
        """The best `top_k` articles for `query` under `flt`. `flags` (violation, penalty_intent) describe the
        question for the ranker; analysed from the query when not given."""
        t0 = time.perf_counter()
        query = (query or "").strip()
        if not query or top_k <= 0:
            return []
        timing: dict[str, float] = {}
        results = self.candidate_lists(query, flt, max(self.candidates, top_k), timing)
        if not results:
            return []
        t2 = time.perf_counter()
        ranked = self._ranked(query, flags, results, self.fuse(results))[:top_k]
        if self.full_payloads:
            full = {h.id: h for h in self.store.retrieve([pid for pid, _, _ in ranked])}
            out = [Hit(id=pid, score=s, payload=full[pid].payload) for pid, s, _ in ranked if pid in full]
        else:
            out = [Hit(id=pid, score=s, payload=p) for pid, s, p in ranked]
        t3 = time.perf_counter()
        self.last_timing = {"encode_ms": timing.get("encode_ms", 0.0),
                            "search_ms": (t2 - t0) * 1e3 - timing.get("encode_ms", 0.0), "rerank_ms": (t3 - t2) * 1e3}
        return out

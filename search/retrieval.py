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
from itertools import repeat
from dataclasses import dataclass
from typing import Any

import numpy as np

from corpus.store import ArticleStore, FilterSpec, Hit
from search.learned_wording import WEIGHT
from search.query import analyse
from search.ranker import (FEATURE_FIELDS, Candidate, CandidateColumns, Jurisdiction, LearnedRanker, PointFeatures,
                           RegulationStats, bigrams, build_features, feature_matrix)

#: Score factor per regulation level (others 1.0).
DEFAULT_LEVEL_WEIGHTS = {"地方性法规": 0.5, "地方政府规章": 0.5, "自治条例和单行条例": 0.5, "部门规章": 0.5,
                         "规范性文件": 0.5}
#: Score factor per point kind: "paragraph" points come from texts without 条 (修正案, 决定, old 解答 documents),
#: which restate or amend law rather than state it.
DEFAULT_KIND_WEIGHTS = {"paragraph": 0.5}
#: The character encoder's list is cut at this length: its measured worth is the articles its first 100 add to
#: the other lists' (evaluation/ENCODER.md: union recall 0.848 → 0.879 with the first 100 of each list), and the
#: remaining 400 of a 500-long list cost ≈ 8 ms a query (an HNSW walk at ef 500, ids, fields, fusion).
ENCODER_CANDIDATES = 100
RERANK_FIELDS = ["regulation_id", "version_id", "article_no", "article_suffix", "kind", "level", "region"]


@dataclass
class CandidateList:
    """One candidate list of a query (`kind`: sparse, dense or encoder): point ids best first, their scores and
    each one's re-ranking fields (the engine's or another source's payload; None: the row `RerankFields` holds)."""

    kind: str
    ids: list[str]
    scores: list[float]
    payloads: list[dict | None]

    @classmethod
    def of_hits(cls, kind: str, hits: Sequence[Hit]) -> CandidateList:
        return cls(kind, [h.id for h in hits], [h.score for h in hits], [h.payload for h in hits])


class RerankFields:
    """The re-ranking payload fields of every point, by point id, kept in memory, each point in a slot.

    Sound because those fields are fixed by the point id (ids derive from version, kind, article and part:
    `corpus.index.point_id`), except where a write changes them: after writes through the store (its `generation`
    moves) the points they wrote or deleted are read again on demand, and a write that may have changed any point's
    fields starts a new, empty `FieldSlots` (`current`); ids not in the table are read from the store on demand and
    remembered. `warm()` reads the whole collection once
    (≈5 s for 150k points; the API does it in the background at start-up). Writes from another process are not
    seen: at worst a candidate is re-ranked with the fields it had before a re-ingest that changed a version's level
    in place, until the next write or restart. Rows are the payload dicts handed to re-ranking as they are
    (read-only: nothing may change them), strings interned: ≈100 MB for 150k points, against ≈1.5 ms a query to
    build them anew. A query's candidates are looked up once, as slots (one dictionary look-up a candidate); the rest
    of fusion indexes arrays by slot.
    """

    def __init__(self, store: ArticleStore, fields: Sequence[str], *, max_entries: int = 2_000_000):
        self.store = store
        self.fields = tuple(fields)
        self.max_entries = max_entries
        self._slots = FieldSlots(store.generation)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._slots.ids)

    @property
    def _generation(self) -> int:
        return self._slots.generation

    def _row(self, payload: dict) -> dict:
        out = {}
        for f in self.fields:
            v = payload.get(f)
            out[f] = sys.intern(v) if isinstance(v, str) else v
        return out

    def current(self) -> FieldSlots:
        """The slots of the store's current generation. After writes, the points they wrote or deleted are let go
        (read again on demand); a write that may have changed the fields of any point (a payload key of the table
        set by filter, a delete by filter, a dropped collection) starts a new, empty `FieldSlots`."""
        held = self._slots
        if held.generation == self.store.generation and not held.stale and len(held.ids) <= self.max_entries:
            return held
        with self._lock:
            held, gen = self._slots, self.store.generation
            if held.generation != gen or held.stale or len(held.ids) > self.max_entries:
                if held.stale or len(held.ids) > self.max_entries or not self._let_go(held, held.generation):
                    self._slots = FieldSlots(gen)
                else:
                    held.generation = gen
            return self._slots

    def _let_go(self, held: FieldSlots, since: int) -> bool:
        """Let go of the points the writes after generation `since` wrote or deleted (caller holds the lock);
        False when those writes are not all known or one may have changed a field of any point."""
        changes = self.store.changes_since(since)
        if changes is None or any(c is None or c.keys & set(self.fields) for c in changes):
            return False
        for c in changes:
            for pid in c.ids:
                held.slot.pop(pid, None)
        return True

    def _add(self, held: FieldSlots, hits: Iterable[Hit], generation: int) -> dict[str, int]:
        """Hold these points' rows, read from the store when its generation was `generation`; returns their slots.
        Rows of points written since may predate that write: they serve the caller but are let go (read again by
        the next look-up); after a write that may have changed anything, the slots start anew at the next look-up."""
        with self._lock:
            got = {h.id: held.add(h.id, self._row(h.payload)) if h.id not in held.slot else held.slot[h.id]
                   for h in hits}
            if self.store.generation != generation and not self._let_go(held, generation):
                held.stale = True
        return got

    def slots_of(self, id_lists: Sequence[Sequence[str]]) -> tuple[FieldSlots, list[np.ndarray]]:
        """The slot of each id of each list, all in one `FieldSlots` (−1: the point is no longer in the store). Ids
        not held yet are read from the store, in one request."""
        gen = self.store.generation
        held = self.current()
        get = held.slot.get
        out = [np.fromiter(map(get, ids, repeat(-1)), dtype=np.int64, count=len(ids)) for ids in id_lists]
        missing = [ids[k] for ids, slots in zip(id_lists, out) for k in np.flatnonzero(slots < 0).tolist()]
        if missing:
            got = self._add(held, self.store.retrieve(list(dict.fromkeys(missing)), fields=list(self.fields)), gen)
            for ids, slots in zip(id_lists, out):
                for k in np.flatnonzero(slots < 0).tolist():
                    slots[k] = got.get(ids[k], -1)
        return held, out

    def rows_of(self, ids: Sequence[str]) -> list[dict | None]:
        """The row of each id, in order (None: the point is no longer in the store). The dicts are shared: read
        them, never change them."""
        held, (slots,) = self.slots_of([list(ids)])
        rows = held.rows
        return [rows[s] if s >= 0 else None for s in slots.tolist()]

    def payloads(self, ids: Iterable[str]) -> dict[str, dict]:
        """{id: {field: value}} for these ids (ids no longer in the store are left out); see `rows_of`."""
        ids = list(ids)
        return {i: row for i, row in zip(ids, self.rows_of(ids)) if row is not None}

    def warm(self, batch: int = 4096) -> int:
        """Read every point's fields (call once at start-up, e.g. in a background thread); returns the rows held."""
        gen = self.store.generation
        held = self.current()
        chunk: list[Hit] = []
        for h in self.store.scroll(None, batch=batch, fields=list(self.fields)):
            chunk.append(h)
            if len(chunk) >= batch:
                self._add(held, chunk, gen)
                chunk = []
        self._add(held, chunk, gen)
        return len(self)


class FieldSlots:
    """One generation of the field table: each point held gets a slot (0, 1, …, never reused), its id and row at
    that index, and the fusion keys of the slots per set of prior weights (`keys`). Appended to under the table's
    lock; a slot is published in `slot` only once its id and row are in place, so readers need no lock."""

    __slots__ = ("generation", "stale", "slot", "ids", "rows", "keys")

    def __init__(self, generation: int):
        self.generation = generation  # the store's, as of which the rows held are right
        self.stale = False  # rows may have been read before a write: start anew at the next look-up
        self.slot: dict[str, int] = {}
        self.ids: list[str] = []
        self.rows: list[dict] = []
        self.keys: dict[tuple, PointKeys] = {}

    def add(self, pid: str, row: dict) -> int:
        s = self.slot.get(pid)
        if s is None:
            s = len(self.ids)
            self.ids.append(pid)
            self.rows.append(row)
            self.slot[pid] = s
        return s


class PointKeys:
    """What fusion needs of each candidate: its prior and codes for its regulation, its article and the article
    part it is, computed once per slot of one `FieldSlots` for one set of prior weights, held in one array indexed
    by slot. Codes are equal exactly where the keys are; part −1: a point that keys alone. Measured on the
    150k-article index: computed per candidate they cost ≈1.5 ms of a query's CPU; held for every point
    (`HybridRetriever.warm`) they take ≈5 MB."""

    def __init__(self, level_weights: dict, kind_weights: dict, home_regions: frozenset[str]):
        self.level_weights, self.kind_weights, self.home_regions = level_weights, kind_weights, home_regions
        self._keys = np.empty((1024, 4), dtype=np.float64)  # slot → (prior, regulation, article, part)
        self._done = np.zeros(1024, dtype=bool)
        self._codes: dict[tuple, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def signature(level_weights: dict, kind_weights: dict, home_regions: frozenset[str]) -> tuple:
        return tuple(level_weights.items()), tuple(kind_weights.items()), home_regions

    def _code(self, key: tuple) -> int:
        code = self._codes.get(key)
        if code is None:
            code = self._codes.setdefault(key, len(self._codes))
        return code

    def _keys_of(self, p: dict) -> tuple[float, int, int, int]:
        lw, kw, home = self.level_weights, self.kind_weights, self.home_regions
        prior = 1.0
        if lw or kw:
            level = 1.0 if (home and p.get("region") in home) else lw.get(p.get("level", ""), 1.0)
            prior = level * kw.get(p.get("kind", ""), 1.0)
        r = p.get("regulation_id") or p.get("title_key")
        no, suffix = p.get("article_no"), p.get("article_suffix", "")
        vid = p.get("version_id")
        # Parts of one long article (same version) share a key; anything else keys alone.
        part = self._code(("part", vid, p.get("kind"), no, suffix)) if vid is not None and no is not None else -1
        return prior, self._code(("reg", r)), self._code(("art", r, no, suffix)), part

    def rows(self, slots: np.ndarray, held: FieldSlots) -> np.ndarray:
        """(prior, regulation, article, part) of each slot of `held`, one row each (float64)."""
        keys, done = self._keys, self._done
        if len(slots) and (int(slots.max()) >= len(done) or not done[slots].all()):
            with self._lock:  # codes are handed out one thread at a time
                need = len(held.ids)
                if need > len(self._done):
                    size = max(need, 2 * len(self._done))
                    grown, grown_done = np.empty((size, 4), dtype=np.float64), np.zeros(size, dtype=bool)
                    grown[: len(self._keys)], grown_done[: len(self._done)] = self._keys, self._done
                    self._keys, self._done = grown, grown_done
                keys, done = self._keys, self._done
                for s in np.unique(slots[~done[slots]]).tolist():
                    keys[s] = self._keys_of(held.rows[s])
                    done[s] = True
        return keys[slots]


def _with_learned(idx: list[int], vals: list[float], learned: tuple[list[int], list[float]],
                  weight: float) -> tuple[list[int], list[float]]:
    """A sparse query vector plus `weight` × another (the learned words' vector)."""
    acc = dict(zip(idx, vals))
    for i, v in zip(*learned):
        acc[i] = acc.get(i, 0.0) + weight * v
    out = sorted(acc)
    return out, [acc[i] for i in out]


def _first_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes 0, 1, … in order of first appearance (as a dict numbering the keys would give), and how many."""
    uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(uniq))
    return rank[inverse.reshape(-1)], len(uniq)


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
        self.encoder_candidates = ENCODER_CANDIDATES
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
        # Lay wording learned from the labelled questions (search.learned_wording), set by `use_wording`.
        self.wording: Any | None = None
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
        # The labelled questions whose answers vote in two of the ranker's features (search.neighbours): the
        # ranker's own, or (training) the training questions', set by `use_neighbours`.
        self.neighbours: Any | None = None
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

    def point_keys(self, held: FieldSlots) -> PointKeys:
        """The fusion keys of `held`'s slots, for the current prior weights and home regions."""
        lw, kw, home = self.level_weights, self.kind_weights, self.home_regions
        sig = PointKeys.signature(lw, kw, home)
        keys = held.keys.get(sig)
        if keys is None:
            keys = held.keys.setdefault(sig, PointKeys(lw, kw, home))
        return keys

    def warm(self) -> int:
        """Fill the re-ranking field table from the store (see `RerankFields.warm`) and compute every point's fusion
        keys and, with a ranker, the per-candidate part of its features; returns the rows held."""
        if not self.cache_fields:
            return 0
        table = self.fields_table()
        count = table.warm()
        held = table.current()
        n = len(held.ids)
        self.point_keys(held).rows(np.arange(n, dtype=np.int64), held)
        if self.ranker is not None:
            self.point_features().points(held.rows[:n])
        return count

    def _slots(self, results: list[CandidateList]) -> tuple[FieldSlots, list[np.ndarray], PointKeys]:
        """Each list's points as slots of one `FieldSlots`, and the fusion keys of its slots. Lists from the
        engine's ids (no payloads): the field table's slots and keys, kept. Lists that bring their own payloads
        (evaluation, `cache_fields` off): slots of this query alone, each point's row from its first list."""
        if results and not any(any(cl.payloads) for cl in results):
            held, slots = self.fields_table().slots_of([cl.ids for cl in results])
            return held, slots, self.point_keys(held)
        bare = [pid for cl in results for pid, p in zip(cl.ids, cl.payloads) if not p]
        table = self.fields_table().payloads(bare) if bare else {}
        held = FieldSlots(-1)
        slots = []
        for cl in results:
            got = [p or table.get(pid) for pid, p in zip(cl.ids, cl.payloads)]
            slots.append(np.array([held.add(pid, p) if p else -1 for pid, p in zip(cl.ids, got)], dtype=np.int64))
        return held, slots, PointKeys(self.level_weights, self.kind_weights, self.home_regions)

    def _table_epoch(self) -> int | None:
        """Changes whenever the field table starts anew: the per-payload caches then start anew as well (rows
        written since are new objects, which those caches tell apart by identity)."""
        table = self.__dict__.get("_fields_table")
        return None if table is None else id(table.current())

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
        learned = [t for t in self.wording.terms_for(query) if t not in sparse_text] if self.wording else []
        fields = [] if self.cache_fields else self.fields
        reqs: list[tuple[str, dict]] = []
        for enc in self.sparse_encoders:
            idx, vals = enc.encode_query(sparse_text)
            if learned:
                idx, vals = _with_learned(idx, vals, enc.encode_query(" ".join(learned)), WEIGHT)
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
                                     "limit": min(self.encoder_candidates, limit), "fields": fields}))
        return reqs

    class _Candidates:
        """The fused candidates as arrays: one pass over the hits, then numpy for every scoring variant."""

        def __init__(self, retriever: "HybridRetriever", results: list[CandidateList]):
            results = [cl for cl in results if cl.ids]
            held, slots, keys_of = retriever._slots(results)
            kept = [sl >= 0 for sl in slots]  # points no longer in the store are left out
            slots = [sl[keep] for sl, keep in zip(slots, kept)]
            every = np.concatenate(slots) if slots else np.zeros(0, dtype=np.int64)
            # candidates in order of first appearance (its first list gives a point's row), lists as positions
            at, n = _first_codes(every)
            cand = np.empty(n, dtype=np.int64)
            cand[at] = every
            self.held, self.slots, self.n = held, cand, n
            self.lists: list[tuple[str, np.ndarray, np.ndarray]] = []
            start = 0
            for cl, keep, sl in zip(results, kept, slots):
                if not len(sl):
                    continue
                scores = np.array(cl.scores, dtype=np.float64)
                self.lists.append((cl.kind, at[start: start + len(sl)], scores if keep.all() else scores[keep]))
                start += len(sl)
            keys = keys_of.rows(cand, held)
            self.prior = keys[:, 0]
            self.reg, self.n_regs = _first_codes(keys[:, 1])
            self.art, n_arts = _first_codes(keys[:, 2])
            part = keys[:, 3].astype(np.int64)
            alone = np.flatnonzero(part < 0)
            part[alone] = -1 - alone
            self.part = part
            self.art_reg = np.empty(n_arts, dtype=np.int64)
            self.art_reg[self.art] = self.reg
            self.sparse = [(idx, vals) for kind, idx, vals in self.lists if kind == "sparse"]
            self.dense = [(idx, vals) for kind, idx, vals in self.lists if kind in ("dense", "encoder")]

        def ids_at(self, positions: np.ndarray) -> list[str]:
            point_ids = self.held.ids
            return [point_ids[s] for s in self.slots[positions].tolist()]

        def payloads_at(self, positions: np.ndarray) -> list[dict]:
            rows = self.held.rows
            return [rows[s] for s in self.slots[positions].tolist()]

        @property
        def ids(self) -> list[str]:
            return self.ids_at(np.arange(self.n))

        def list_columns(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
            """Each candidate's score (NaN: absent) and 0-based rank in the lists of this kind (the first list
            it appears in); BM25 scores divided by their list's best."""
            n = self.n
            score, rank = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
            for k, idx, vals in reversed(self.lists):  # written last, the first list wins
                if k != kind:
                    continue
                top = float(vals.max()) if kind == "sparse" else 1.0
                scale = 1.0 / top if top > 0 else 1.0
                score[idx[::-1]] = (np.maximum(vals, 0.0) * scale)[::-1]
                rank[idx[::-1]] = np.arange(len(idx) - 1, -1, -1)
            return score, rank

    def _scores(self, c: "HybridRetriever._Candidates", w: float) -> np.ndarray:
        """Fused score of every candidate for dense weight `w`, with the priors and the regulation evidence."""
        n = c.n
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

    def fuse(self, results: list[CandidateList]) -> list[tuple[str, float, dict]]:
        """Fused and re-ranked (id, score, rerank payload), best first.

        With a dense list and `recall_dense_weight` set: the first `recall_pool` results are the pool chosen with
        that (recall-oriented) weight, ordered by the `dense_weight` score; the rest follow by that score.
        """
        c = self._Candidates(self, results)
        if not c.n:
            return []
        order, score = self._fused_order(c)
        return list(zip(c.ids_at(order), score[order].tolist(), c.payloads_at(order)))

    def _fused_order(self, c: HybridRetriever._Candidates) -> tuple[np.ndarray, np.ndarray]:
        """`fuse` as arrays: candidate positions best first, and every candidate's fused score."""
        w = self.dense_weight if c.dense else 0.0
        score = self._scores(c, w)
        order = self._collapse_parts(np.argsort(-score, kind="stable"), c)
        wr = self.recall_dense_weight
        if c.dense and wr is not None and wr != w and self.recall_pool > 0:
            recall = self._scores(c, wr)
            pool = np.zeros(c.n, dtype=bool)
            pool[self._collapse_parts(np.argsort(-recall, kind="stable"), c)[: self.recall_pool]] = True
            order = np.concatenate([order[pool[order]], order[~pool[order]]])
        return order, score

    # -- learned wording and the learned ranker ------------------------------------------------------------------
    def use_wording(self, wording: Any | None) -> None:
        """Add the statute words learned for a query's words (`search.learned_wording.LearnedWording`) to its
        sparse query at `search.learned_wording.WEIGHT`; None: the hand glossary alone."""
        self.wording = wording if wording else None

    def use_ranker(self, ranker: LearnedRanker | None, stats: RegulationStats | None = None, *,
                   pool: int | None = None) -> None:
        """Re-order the first `pool` fused candidates with a trained `search.ranker.LearnedRanker` (None: off).
        `stats` is the `RegulationStats` of the indexed regulations (title words, sizes); with stats alone the
        candidates carry the features' fields, for training a ranker."""
        self.ranker = ranker
        self.ranker_stats = stats
        self.neighbours = ranker.neighbours if ranker is not None else None
        if pool is not None:
            self.ranker_pool = pool
        wanted = list(RERANK_FIELDS) + (FEATURE_FIELDS if (ranker is not None or stats is not None) else [])
        if self.fields[: len(wanted)] != wanted:
            self.fields = wanted + [f for f in self.fields if f not in wanted]

    def _pool_columns(self, c: HybridRetriever._Candidates, pool: np.ndarray, fused: np.ndarray,
                      payloads: list[dict]) -> CandidateColumns:
        """The candidates at positions `pool` (fused order) with their per-list scores and ranks."""
        lists = {kind: c.list_columns(kind) for kind in ("sparse", "dense", "encoder")}
        return CandidateColumns(payloads=payloads, fused=fused, fused_rank=np.arange(len(pool), dtype=np.int64),
                                bm25=lists["sparse"][0][pool], bm25_rank=lists["sparse"][1][pool],
                                cos=lists["dense"][0][pool], cos_rank=lists["dense"][1][pool],
                                encoder=lists["encoder"][0][pool], encoder_rank=lists["encoder"][1][pool])

    def ranker_candidates(self, results: list[CandidateList],
                          fused: list[tuple[str, float, dict]]) -> list[Candidate]:
        """The first `ranker_pool` fused candidates with their per-list scores and ranks, as the ranker sees them."""
        c = self._Candidates(self, results)
        head = fused[: self.ranker_pool]
        pos = dict(zip(c.ids, range(c.n)))
        cols = self._pool_columns(c, np.array([pos[pid] for pid, _, _ in head], dtype=np.int64),
                                  np.array([s for _, s, _ in head], dtype=np.float64), [p for _, _, p in head])

        def value(a: np.ndarray, i: int) -> float | None:
            return None if np.isnan(a[i]) else float(a[i])

        def rank(a: np.ndarray, i: int) -> int | None:
            return None if a[i] < 0 else int(a[i])

        return [Candidate(id=pid, payload=p, fused=s, fused_rank=i,
                          bm25=value(cols.bm25, i), bm25_rank=rank(cols.bm25_rank, i),
                          cos=value(cols.cos, i), cos_rank=rank(cols.cos_rank, i),
                          encoder=value(cols.encoder, i), encoder_rank=rank(cols.encoder_rank, i))
                for i, (pid, s, p) in enumerate(head)]

    def _uses_encoder(self) -> bool:
        # the encoder's columns when the ranker was trained with them, or (training) when the index holds its vectors
        return self.ranker.uses_encoder if self.ranker is not None else self.encoder is not None

    def use_neighbours(self, neighbours: Any | None) -> None:
        """The labelled questions whose answers vote in the neighbour features (training; `use_ranker` sets the
        ranker's own)."""
        self.neighbours = neighbours

    def _votes(self, query: str, exclude: str | None = None) -> tuple[dict, dict] | None:
        return self.neighbours.votes(query, exclude=exclude) if self.neighbours is not None else None

    def features(self, query: str, flags: dict[str, bool], candidates: list[Candidate], *,
                 exclude: str | None = None) -> np.ndarray:
        """The ranker's features of `candidates`; `exclude`: the id of the labelled question asked (training), which
        does not vote for its own answers."""
        stats = self.ranker_stats or RegulationStats()
        return build_features(bigrams(query), flags, candidates, stats, Jurisdiction.of(self.home_regions),
                              encoder=self._uses_encoder(), votes=self._votes(query, exclude))

    def point_features(self) -> PointFeatures:
        """The per-candidate part of the ranker's features, kept per payload for the current stats and region."""
        stats, where = self.ranker_stats or RegulationStats(), Jurisdiction.of(self.home_regions)
        points = self.__dict__.get("_point_features")
        epoch = self._table_epoch()
        if points is None or points.stats is not stats or points.where != where or points.epoch != epoch:
            points = self._point_features = PointFeatures(stats, where, cache=True)
            points.epoch = epoch
        return points

    def _ranked(self, query: str, flags: dict[str, bool] | None, c: HybridRetriever._Candidates,
                top_k: int) -> list[tuple[str, float, dict]]:
        """The first `top_k` fused candidates, the first `ranker_pool` re-ordered by the ranker. Their score is the
        ranker's, shifted above 1; the candidates below the pool keep their fused score halved (below 0.65), so
        scores still fall."""
        order, score = self._fused_order(c)
        if self.ranker is None:
            top = order[:top_k]
            return list(zip(c.ids_at(top), score[top].tolist(), c.payloads_at(top)))
        if flags is None:
            flags = analyse(query).ranker_flags
        pool = order[: self.ranker_pool]
        cols = self._pool_columns(c, pool, score[pool], c.payloads_at(pool))
        scores = self.ranker.scores(feature_matrix(bigrams(query), flags, cols, self.point_features(),
                                                   encoder=self._uses_encoder(), votes=self._votes(query)))
        lo = float(scores.min())
        span = float(scores.max()) - lo or 1.0
        best = np.argsort(-scores, kind="stable")[:top_k]
        head = list(zip(c.ids_at(pool[best]), (1.0 + (scores[best] - lo) / span).tolist(),
                        c.payloads_at(pool[best])))
        rest = order[len(pool): top_k]
        tail = list(zip(c.ids_at(rest), (score[rest] * 0.5).tolist(), c.payloads_at(rest)))
        return head + tail

    # -- public -----------------------------------------------------------------------------------------------
    def candidate_lists(self, query: str, flt: FilterSpec | None, limit: int,
                        timing: dict[str, float] | None = None) -> list[CandidateList]:
        """The candidate lists (one per sparse encoder, one dense, one for the encoder) with their re-ranking
        fields."""
        t0 = time.perf_counter()
        reqs = self._requests(query, flt, limit)
        if timing is not None:
            timing["encode_ms"] = (time.perf_counter() - t0) * 1e3
        if not reqs:
            return []
        local = [(kind, r) for kind, r in reqs if kind == "dense" and self.dense_search is not None]
        in_store = [(kind, r) for kind, r in reqs if not (kind == "dense" and self.dense_search is not None)]
        asked = [r for _, r in in_store]
        if not in_store:
            results = []
        elif self.cache_fields:  # ids and scores from the engine, the fields from the table (`_Candidates`)
            results = [CandidateList(kind, ids, scores, [None] * len(ids))
                       for (kind, _), (ids, scores) in zip(in_store, self.store.query_batch_scores(asked))]
        else:
            results = [CandidateList.of_hits(kind, hits)
                       for (kind, _), hits in zip(in_store, self.store.query_batch(asked))]
        # the evaluation's in-memory dense search comes after the engine's lists, as it always has
        results += [CandidateList.of_hits(kind, self.dense_search(r["dense"][self.dense_name], flt, r["limit"]))
                    for kind, r in local]
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
        c = self._Candidates(self, results)
        ranked = self._ranked(query, flags, c, top_k) if c.n else []
        if self.full_payloads:
            full = {h.id: h for h in self.store.retrieve([pid for pid, _, _ in ranked])}
            out = [Hit(id=pid, score=s, payload=full[pid].payload) for pid, s, _ in ranked if pid in full]
        else:
            out = [Hit(id=pid, score=s, payload=p) for pid, s, p in ranked]
        t3 = time.perf_counter()
        self.last_timing = {"encode_ms": timing.get("encode_ms", 0.0),
                            "search_ms": (t2 - t0) * 1e3 - timing.get("encode_ms", 0.0), "rerank_ms": (t3 - t2) * 1e3}
        return out

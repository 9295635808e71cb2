"""Training the learned ranker from labelled questions (`search.ranker`), and scoring a retriever with it.

A labelled question is `{"id", "query", "relevant": [{"title", "article", "suffix"}]}` (the format of
../shared/eval/*.jsonl). For each question the retriever's own candidates are described by the ranker's features and
labelled 1 where they are one of the question's articles; LightGBM learns to put those first.
"""
from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from corpus.embedders import StaticEmbedder
from corpus.encoders import document_text
from corpus.model import Article
from corpus.store import FilterSpec, Hit
from corpus.training import question_id, relevant_keys, train_static_embedder
from corpus.titles import normalize_title
from search.learned_wording import LearnedWording
from search.neighbours import LabelledNeighbours
from search.query import analyse
from search.ranker import LearnedRanker, RegulationStats, TrainingGroup
from search.retrieval import HybridRetriever

Key = tuple[str, int, str]


def candidate_key(payload: dict) -> Key:
    title = payload.get("title_key") or normalize_title(payload.get("title") or "")
    return (title, int(payload.get("article_no") or 0), payload.get("article_suffix") or "")


def question_group(retriever: HybridRetriever, question: dict,
                   flt: FilterSpec | None) -> tuple[TrainingGroup, list[Key]]:
    """One question's candidates as a training group, and their article keys (candidate order)."""
    a = analyse(question["query"])
    results = retriever.candidate_lists(a.retrieval_query, flt, retriever.candidates)
    cands = retriever.ranker_candidates(results, retriever.fuse(results))
    keys = [candidate_key(c.payload) for c in cands]
    rel = relevant_keys(question)
    qid = question_id(question)
    group = TrainingGroup(question_id=qid,
                          features=retriever.features(a.retrieval_query, a.ranker_flags, cands, exclude=qid),
                          labels=np.array([1 if k in rel else 0 for k in keys], dtype=np.int32), keys=keys)
    return group, keys


def joined_texts(pairs: Iterable[tuple[Key, str]]) -> dict[Key, str]:
    """Article texts by key, the parts of a long article joined (for mining lay wording)."""
    texts: dict[Key, str] = {}
    for k, t in pairs:
        texts[k] = (texts[k] + "\n" + t) if k in texts else t
    return texts


def article_texts(store: Any, flt: FilterSpec | None) -> dict[Key, str]:
    """The searched articles' texts by key (`joined_texts`)."""
    fields = ["title", "title_key", "article_no", "article_suffix", "text"]
    return joined_texts((candidate_key(h.payload), h.payload.get("text") or "") for h in store.scroll(flt, fields=fields))


# ---- per-fold embedders: dense scores of questions a model did not see ---------------------------------------
class InMemoryDense:
    """Exact cosine search over pre-computed unit vectors, shaped like a store query (for per-fold models)."""

    def __init__(self, hits: list[Any], vectors: np.ndarray):
        self.hits = hits
        self.vectors = vectors

    def query(self, vec: Sequence[float], limit: int) -> list[Any]:
        s = self.vectors @ np.asarray(vec, dtype=np.float32)
        limit = min(limit, len(s))
        idx = np.argpartition(-s, limit - 1)[:limit]
        idx = idx[np.argsort(-s[idx])]
        return [Hit(id=self.hits[i].id, score=float(s[i]), payload=self.hits[i].payload) for i in idx]


class FoldEmbedder:
    """Trains the static embedder on one fold's questions and embeds the searched articles in memory.

    `flt` selects the searched points; `fields` are the payload fields their in-memory hits carry (what the
    retriever's re-ranking and features read). Calling it with a fold's training questions returns the embedder,
    an `InMemoryDense` over the articles' vectors (the index's own dense vectors are left untouched) and the lay
    wording mined from the same questions (`search.learned_wording`).
    """

    def __init__(self, store: Any, *, flt: Any, data_dir: Path, fields: Sequence[str],
                 train_options: dict | None = None):
        hits = list(store.scroll(flt, fields=sorted(set(fields) | {"title", "headings", "text", "kind", "label",
                                                                 "article_no", "article_suffix"})))
        self.articles = [Article.from_payload(h.payload) for h in hits]
        self.docs = [document_text(a) for a in self.articles]
        self.slim = [type(h)(id=h.id, score=0.0, payload={f: h.payload.get(f) for f in fields}) for h in hits]
        self.data_dir = data_dir
        self.train_options = dict(train_options or {})
        self._tmp = tempfile.TemporaryDirectory(prefix="fold-embedder-")  # removed with this object
        self.tmp = Path(self._tmp.name)
        # The articles' texts by key, for mining lay wording from the same questions.
        self.texts = joined_texts((a.key, a.text) for a in self.articles)

    def __call__(self, train: list[dict]) -> tuple[Any, InMemoryDense, LearnedWording]:
        recs = [{"id": q.get("id") or q["query"], "query": q["query"], "relevant": sorted(relevant_keys(q))}
                for q in train]
        path = train_static_embedder(self.articles, data_dir=self.data_dir, question_records=recs,
                                     out_dir=self.tmp / "model", progress=False, **self.train_options)
        emb = StaticEmbedder.load(path)
        wording = LearnedWording.mine(train, self.texts)
        return emb, InMemoryDense(self.slim, emb.encode_documents(self.docs)), wording


def fold_retriever(store: Any, sparse_encoders: Sequence[Any], embedder: Any, dense: InMemoryDense,
                   wording: LearnedWording | None = None, *, home_regions: Iterable[str],
                   stats: RegulationStats, encoder: Any | None = None) -> HybridRetriever:
    """A retriever whose dense side is one fold's model searched in memory (sparse side in the store) and whose
    sparse queries take the fold's learned wording; `encoder`: the character encoder's list from the store too."""
    r = HybridRetriever(store, sparse_encoders, embedder, use_dense=True, home_regions=home_regions,
                        encoder=encoder)
    r.use_wording(wording)
    r.dense_search = lambda vec, _flt, limit: dense.query(vec, limit)
    r.full_payloads = False
    r.use_ranker(None, stats)
    return r


def inner_half(question: dict) -> int:
    """A fixed split of training questions in two halves (by id), for out-of-fold features."""
    key = f"{question_id(question)}#inner".encode("utf-8")
    return hashlib.blake2b(key, digest_size=8).digest()[0] % 2


def out_of_fold_groups(questions: Sequence[dict], flt: FilterSpec | None, *, fold_embedder: "FoldEmbedder",
                       make_retriever: Any, progress: bool = False,
                       neighbours: LabelledNeighbours | None = None) -> list[TrainingGroup]:
    """Training groups whose dense features come from a model that did not see the question: an embedder is
    trained on each half of the questions and describes the other half's candidates. (A ranker trained on
    in-sample dense scores trusts them too much: measured in evaluation/ABLATION.md.)"""
    groups: list[TrainingGroup] = []
    if neighbours is None:  # the questions' own (each question's own entry does not vote for it)
        neighbours = LabelledNeighbours.of_questions(questions)
    for half in (0, 1):
        seen = [q for q in questions if inner_half(q) != half]
        unseen = [q for q in questions if inner_half(q) == half]
        if not seen or not unseen:
            continue
        r = make_retriever(*fold_embedder(seen))
        r.use_neighbours(neighbours)
        for i, q in enumerate(unseen, 1):
            groups.append(question_group(r, q, flt)[0])
            if progress and i % 200 == 0:
                print(f"排序模型：第 {half + 1}/2 半已准备 {i}/{len(unseen)} 个问题的候选", flush=True)
    return groups


def train_ranker(questions: Sequence[dict], flt: FilterSpec | None, *, fold_embedder: "FoldEmbedder",
                 make_retriever: Any, progress: bool = False) -> LearnedRanker:
    """A ranker trained on out-of-fold candidates of `questions` (see `out_of_fold_groups`)."""
    t0 = time.perf_counter()
    neighbours = LabelledNeighbours.of_questions(questions)
    groups = out_of_fold_groups(questions, flt, fold_embedder=fold_embedder, make_retriever=make_retriever,
                                progress=progress, neighbours=neighbours)
    ranker = LearnedRanker.train(groups, neighbours=neighbours)
    ranker.card["training_seconds"] = round(time.perf_counter() - t0, 1)
    ranker.card["dense_features"] = "out-of-fold (two halves of the questions)"
    return ranker


def ranked_keys(retriever: HybridRetriever, ranker: LearnedRanker | None, group: TrainingGroup,
                keys: list[Key]) -> list[Key]:
    """The candidates' article keys in the order the ranker (or, without one, the fusion) puts them."""
    if ranker is None:
        return list(keys)
    order = np.argsort(-ranker.scores(group.features), kind="stable")
    return [keys[i] for i in order.tolist()]


__all__ = ["FoldEmbedder", "InMemoryDense", "candidate_key", "fold_retriever", "out_of_fold_groups", "question_group",
           "ranked_keys", "train_ranker"]


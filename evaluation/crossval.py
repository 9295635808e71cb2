"""K-fold cross-validation of retrieval when labelled questions are also used for training.

Folds are fixed by a hash of the question id (blake2b, mod k), so every run, machine and person gets the same folds.
For each fold: train on the other folds' questions (plus the corpus), answer the fold's questions, score them with
the reference metrics (same rules as ../shared/eval/score_run.py: titles normalised, repeated hits of an article
counted once at their best rank). The reported figures are averages over all questions (each scored exactly once,
by the model that did not see it).

`crossval` is generic (a `fit(train_questions)` that returns a searcher, and a `search(searcher, query)`), and
`store_crossval` is the concrete procedure for an index: the static embedder is retrained per fold, the articles
are re-embedded in memory, and the same `HybridRetriever` (sparse side in the store, fusion and re-ranking) answers.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


from corpus.titles import normalize_title
from corpus.training import relevant_keys
from search.learning import FoldEmbedder

Key = tuple[str, int, str]
KS = (1, 5, 10, 20, 100)


def fold_of(qid: str, k: int = 5) -> int:
    return int.from_bytes(hashlib.blake2b(qid.encode("utf-8"), digest_size=8).digest(), "big") % k


def read_questions(path: Path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(json.loads(line))
    return out


def hit_key(hit: Any) -> Key | None:
    """A ranked item → article key: a (title, no, suffix) tuple, a dict with title/article_no or a store Hit."""
    if isinstance(hit, tuple):
        return (normalize_title(hit[0]), int(hit[1]), hit[2] if len(hit) > 2 else "")
    p = getattr(hit, "payload", hit)
    try:
        return (normalize_title(p.get("title") or p.get("title_key") or ""), int(p["article_no"]),
                p.get("article_suffix") or "")
    except (KeyError, TypeError, ValueError):
        return None


def score_one(ranked: Iterable[Any], rel: set[Key]) -> dict[str, float]:
    seen: list[Key] = []
    have: set[Key] = set()
    for h in ranked:
        k = hit_key(h)
        if k is not None and k not in have:
            have.add(k)
            seen.append(k)
    m = {f"R@{K}": len(rel & set(seen[:K])) / len(rel) for K in KS}
    m["MRR@10"] = next((1 / (i + 1) for i, k in enumerate(seen[:10]) if k in rel), 0.0)
    dcg = sum(1 / math.log2(i + 2) for i, k in enumerate(seen[:10]) if k in rel)
    m["nDCG@10"] = dcg / sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
    return m


def average(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in rows[0]}


def crossval(
    questions: list[dict],
    *,
    fit: Callable[[list[dict]], Any],
    search: Callable[[Any, str], list[Any]],
    k: int = 5,
    progress: bool = False,
) -> dict[str, Any]:
    """Train on k−1 folds, score the held-out fold, for every fold. Returns overall and per-fold metrics."""
    folds = [fold_of(q["id"], k) for q in questions]
    per_q: list[dict[str, float]] = []
    per_fold: list[dict[str, Any]] = []
    for f in range(k):
        train = [q for q, g in zip(questions, folds) if g != f]
        test = [q for q, g in zip(questions, folds) if g == f]
        if not test:
            continue
        t0 = time.time()
        searcher = fit(train)
        t1 = time.time()
        rows = [score_one(search(searcher, q["query"]), relevant_keys(q)) for q in test]
        per_q += rows
        per_fold.append({"fold": f, "train": len(train), "test": len(test), "fit_s": round(t1 - t0, 1),
                         "search_s": round(time.time() - t1, 1), **average(rows)})
        if progress:
            print(json.dumps(per_fold[-1], ensure_ascii=False), flush=True)
    return {"k": k, "queries": len(per_q), **average(per_q), "folds": per_fold}


def evaluate(questions: list[dict], search: Callable[[str], list[Any]]) -> dict[str, Any]:
    """Plain scoring (no training on the questions)."""
    rows = [score_one(search(q["query"]), relevant_keys(q)) for q in questions]
    return {"queries": len(rows), **average(rows)}


# ---- the concrete procedure for an index --------------------------------------------------------------------
def store_crossval(
    store: Any,
    sparse_encoders: Sequence[Any],
    *,
    data_dir: Path,
    questions: list[dict],
    k: int = 5,
    flt: Any = None,
    top_k: int = 100,
    progress: bool = True,
    retriever_options: dict | None = None,
    train_options: dict | None = None,
    variants: dict[str, dict] | None = None,
) -> dict[str, Any]:
    """Cross-validate the static embedder + hybrid retrieval on an index.

    `flt` selects the searched points (the search default: current versions only). The dense side is searched in
    memory with each fold's model (the index's own dense vectors are left untouched); the sparse side, fusion and
    re-ranking are the production code. `variants` ({name: retriever options}) scores several retriever settings
    with the same per-fold models (for ablations); the result then has one entry per variant under "variants".
    """
    from search.retrieval import RERANK_FIELDS, HybridRetriever

    train_embedder = FoldEmbedder(store, flt=flt, data_dir=data_dir, fields=RERANK_FIELDS + ["title"],
                                  train_options=train_options)
    settings = variants or {"": retriever_options or {}}

    def fit(train: list[dict]) -> Any:
        emb, dense = train_embedder(train)
        out = {}
        for name, opts in settings.items():
            r = HybridRetriever(store, sparse_encoders, emb, use_dense=True, **opts)
            r.dense_search = lambda vec, f, limit: dense.query(vec, limit)
            r.full_payloads = False
            r.fields = RERANK_FIELDS + ["title_key"]  # enough to score, without reading whole payloads
            out[name] = r
        return out

    if not variants:
        return crossval(questions, fit=lambda tr: fit(tr)[""], search=lambda r, q: r.retrieve(q, flt, top_k=top_k),
                        k=k, progress=progress)
    # Several variants: one training per fold, every variant scored on it.
    folds = [fold_of(q["id"], k) for q in questions]
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    for f in range(k):
        train = [q for q, g in zip(questions, folds) if g != f]
        test = [q for q, g in zip(questions, folds) if g == f]
        if not test:
            continue
        rs = fit(train)
        for name, r in rs.items():
            rows[name] += [score_one(r.retrieve(q["query"], flt, top_k=top_k), relevant_keys(q)) for q in test]
        if progress:
            print(json.dumps({"fold": f, **{n: average(v)["R@10"] for n, v in rows.items()}}, ensure_ascii=False),
                  flush=True)
    return {"k": k, "variants": {name: {"queries": len(v), **average(v)} for name, v in rows.items()}}


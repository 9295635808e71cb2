"""One harness for the dense side: the static embedder against the character encoder, alone and fused with BM25.

The library is the national part of ../shared/corpus/lawref (every folder but the provinces' `DLC/`), the latest
version of each regulation, articles only; the questions are labelled files (stard_dev + stard_train: 936). Folds are
`evaluation.crossval.fold_of` (by question id). Per fold, each dense model is trained on the other folds' questions
(plus the library) and scores the fold's questions over all articles, exactly (no approximate search):

* BM25 over character bigrams (`corpus.training.BM25Matrix`, the static embedder's tokens), in memory;
* dense alone: cosine;
* fused: ``0.3·bm25/max(bm25) + 0.7·cos`` over all articles (and all three: 0.3 BM25 + 0.35 each dense side).

The encoder is pre-trained once on the library (masked characters: no question is seen) and fine-tuned per fold
from that checkpoint for a fixed number of steps; its vectors come from the shipped int8 ONNX network.

Also `latency_table`: ms per article and per query, fp32 and int8, 1 and 2 threads, and the files' sizes.
"""
from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from corpus.embedders import StaticEmbedder, static_tokens
from corpus.encoders import document_text
from corpus.training import BM25Matrix, question_records, train_static_embedder
from evaluation.crossval import average, fold_of, score_one

BM25_WEIGHT = 0.3


def library_articles(corpus_dir: Path, *, exclude: Sequence[str] = ("DLC",), cache: Path | None = None) -> list:
    """The latest version of every regulation under `corpus_dir` (sub-folders in `exclude` left out), its articles
    (texts without 条 skipped). `cache`: a JSON-lines file written on the first call and read afterwards."""
    from corpus.model import Article

    if cache is not None and Path(cache).is_file():
        with open(cache, encoding="utf-8") as fh:
            return [Article(**json.loads(line)) for line in fh if line.strip()]
    from ingest.pipeline import parse_files

    dirs = [p for p in sorted(Path(corpus_dir).iterdir()) if p.is_dir() and p.name not in exclude]
    regs, _failures = parse_files(dirs)
    latest: dict[str, str] = {}
    for r in regs:
        latest[r.regulation_id] = max(latest.get(r.regulation_id, ""), r.version_date or "")
    # Every file of the latest version: a code (民法典) comes in several volumes of one version.
    keep = sorted((r for r in regs if (r.version_date or "") == latest[r.regulation_id]),
                  key=lambda r: (r.regulation_id, r.source_path))
    arts = [a for r in keep for a in r.articles if a.kind == "article"]
    if cache is not None:
        with open(cache, "w", encoding="utf-8") as fh:
            for a in arts:
                fh.write(json.dumps({"regulation_title": a.regulation_title, "article_no": a.article_no,
                                     "article_suffix": a.article_suffix, "headings": a.headings, "text": a.text},
                                    ensure_ascii=False) + "\n")
    return arts


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    idx = np.argpartition(-scores, k - 1)[:k]
    return idx[np.argsort(-scores[idx], kind="stable")]


def fused(bm25: np.ndarray, cosines: Sequence[np.ndarray], *, bm25_weight: float = BM25_WEIGHT) -> np.ndarray:
    """``w·bm25/max(bm25) + (1 − w)·mean(cos)`` for every article."""
    m = float(bm25.max()) if len(bm25) else 0.0
    out = (bm25_weight / m) * bm25 if m > 0 else np.zeros_like(bm25)
    return out + (1 - bm25_weight) * np.mean(cosines, axis=0)


class Harness:
    """The library, its BM25 index and the questions: what every dense model is scored against."""

    def __init__(self, articles: Sequence, questions: Sequence[dict], *, k: int = 5, top_k: int = 100):
        self.articles = list(articles)
        self.docs = [document_text(a) for a in self.articles]
        self.keys = [a.key for a in self.articles]
        self.questions = question_records(questions)
        self.k, self.top_k = k, top_k
        self.folds = [fold_of(str(q["id"]), k) for q in self.questions]
        self.bm25 = BM25Matrix([static_tokens(d) for d in self.docs])
        self.bm25_scores = [self.bm25.scores(static_tokens(q["query"])) for q in self.questions]

    def split(self, fold: int) -> tuple[list[dict], list[int]]:
        train = [q for q, f in zip(self.questions, self.folds) if f != fold]
        return train, [i for i, f in enumerate(self.folds) if f == fold]

    def ranked(self, scores: np.ndarray) -> list[tuple[str, int, str]]:
        return [self.keys[i] for i in _top(scores, self.top_k)]

    def score(self, qi: int, scores: np.ndarray) -> dict[str, float]:
        return score_one(self.ranked(scores), set(self.questions[qi]["relevant"]))


# A fold model: fit(training questions) → (embedder for the queries, the library's vectors in article order).
def static_fold_model(h: Harness, data_dir: Path, work: Path) -> Any:
    def fit(train: list[dict]):
        path = train_static_embedder(h.articles, data_dir=data_dir, question_records=train,
                                     out_dir=work / "static", progress=False)
        emb = StaticEmbedder.load(path)
        return emb, emb.encode_documents(h.docs)
    return fit


def encoder_fold_model(h: Harness, pretrained: Path, work: Path, *, steps: int, threads: int = 1,
                       seed: int = 0) -> Any:
    """The symmetric recipe: fine-tune the whole encoder per fold (questions + corpus pairs), re-embed the library."""
    from corpus.charencoder import CharEncoderEmbedder
    from corpus.encoder_training import EncoderSettings, train_encoder

    def fit(train: list[dict]):
        s = EncoderSettings(contrastive_steps=steps, threads=threads, seed=seed)
        t = train_encoder(h.articles, out_dir=work / "encoder", questions=train, settings=s, pretrained=pretrained,
                          progress=False, keep_fp32=False)
        emb = CharEncoderEmbedder(t.folder, threads=threads)
        return emb, emb.encode_documents(h.docs)
    return fit


def library_vectors(h: Harness, base: Path, cache: Path | None = None, *, threads: int = 1) -> np.ndarray:
    """The library embedded once by the document network of `base` (cached as .npy when `cache` is given)."""
    from corpus.charencoder import CharEncoderEmbedder

    if cache is not None and Path(cache).is_file():
        return np.load(cache)
    vecs = CharEncoderEmbedder(base, threads=threads).encode_documents(h.docs)
    if cache is not None:
        np.save(cache, vecs)
    return vecs


def query_tower_fold_model(h: Harness, base: Path, doc_vectors: np.ndarray, work: Path, *, steps: int,
                           threads: int = 1) -> Any:
    """The two-tower recipe: the library keeps `base`'s vectors (embedded once); per fold a query network is
    fine-tuned against them (`corpus.encoder_training.train_query_tower`)."""
    from corpus.charencoder import CharEncoderEmbedder
    from corpus.encoder_training import train_query_tower

    def fit(train: list[dict]):
        t = train_query_tower(base, doc_vectors, h.keys, train, out_dir=work / "query", steps=steps,
                              threads=threads, progress=False)
        return CharEncoderEmbedder(t.folder, threads=threads), doc_vectors
    return fit


def base_model(base: Path, doc_vectors: np.ndarray, *, threads: int = 1) -> Any:
    """The document network alone, no question seen (queries encoded like documents)."""
    from corpus.charencoder import CharEncoderEmbedder

    emb = CharEncoderEmbedder(base, threads=threads)
    return lambda train: (emb, doc_vectors)


def dense_crossval(h: Harness, models: dict[str, Any], *, folds: Sequence[int] | None = None,
                   progress: bool = True) -> dict[str, Any]:
    """Scores per question for BM25 alone and, per model name, dense alone and fused; the sum of all models too
    when there are two or more. `folds`: score only these folds (each still trained on all the others)."""
    rows: dict[str, list[dict[str, float]]] = {"bm25": []}
    seconds: dict[str, float] = {}
    for f in (range(h.k) if folds is None else folds):
        train, test = h.split(f)
        if not test:
            continue
        cos: dict[str, np.ndarray] = {}
        for name, fit in models.items():
            t0 = time.perf_counter()
            emb, vecs = fit(train)
            qv = np.stack([emb.encode_query(h.questions[i]["query"]) for i in test])
            cos[name] = qv @ vecs.T
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
        for j, qi in enumerate(test):
            b = h.bm25_scores[qi]
            rows["bm25"].append(h.score(qi, b))
            for name, c in cos.items():
                rows.setdefault(f"{name} alone", []).append(h.score(qi, c[j]))
                rows.setdefault(f"{name} + bm25", []).append(h.score(qi, fused(b, [c[j]])))
            if len(cos) > 1:
                rows.setdefault(" + ".join(cos) + " + bm25", []).append(
                    h.score(qi, fused(b, [c[j] for c in cos.values()])))
        if progress:
            print(json.dumps({"fold": f, "test": len(test), "seconds": {k: round(v, 1) for k, v in seconds.items()},
                              **{n: {m: average(v)[m] for m in ("R@10", "R@100", "MRR@10")}
                                 for n, v in rows.items()}}, ensure_ascii=False), flush=True)
    return {"k": h.k, "questions": len(h.questions), "articles": len(h.articles),
            "variants": {n: {"queries": len(v), **average(v)} for n, v in rows.items()},
            "seconds": {k: round(v, 1) for k, v in seconds.items()}}


def latency_table(model_dir: Path, docs: Sequence[str], queries: Sequence[str], *, threads: Sequence[int] = (1, 2),
                  files: Sequence[str] = ("model-fp32.onnx", "model-int8.onnx")) -> list[dict[str, Any]]:
    """ms per article (batches of 64) and per query (one at a time) for each ONNX file and thread count."""
    from corpus.charencoder import CharEncoderEmbedder

    out = []
    for name in files:
        path = Path(model_dir) / name
        if not path.is_file():
            continue
        for n in threads:
            emb = CharEncoderEmbedder(model_dir, threads=n, onnx_file=name)
            emb.encode_documents(list(docs[:64]))
            t = time.perf_counter()
            emb.encode_documents(list(docs))
            per_doc = (time.perf_counter() - t) / len(docs) * 1000
            for q in queries[:5]:
                emb.encode_query(q)
            t = time.perf_counter()
            for q in queries:
                emb.encode_query(q)
            per_q = (time.perf_counter() - t) / len(queries) * 1000
            out.append({"file": name, "MB": round(path.stat().st_size / 2**20, 2), "threads": n,
                        "ms_per_article": round(per_doc, 3), "ms_per_query": round(per_q, 3)})
    return out


def quantization_check(h: Harness, model_dir: Path) -> dict[str, Any]:
    """fp32 against int8 on every question (dense alone and fused), with the same model: what int8 costs."""
    from corpus.charencoder import CharEncoderEmbedder

    res = {}
    for name in ("model-fp32.onnx", "model-int8.onnx"):
        if not (Path(model_dir) / name).is_file():
            continue
        emb = CharEncoderEmbedder(model_dir, onnx_file=name)
        vecs = emb.encode_documents(h.docs)
        alone, fuse = [], []
        for qi, q in enumerate(h.questions):
            c = vecs @ emb.encode_query(q["query"])
            alone.append(h.score(qi, c))
            fuse.append(h.score(qi, fused(h.bm25_scores[qi], [c])))
        res[name] = {"alone": average(alone), "fused": average(fuse)}
    return res


def run(*, corpus_dir: Path, queries: Sequence[Path], out: Path, models: Sequence[str] = ("static", "query-tower"),
        base: Path | None = None, pretrained: Path | None = None, steps: int = 200, cache: Path | None = None,
        vectors_cache: Path | None = None, k: int = 5, folds: Sequence[int] | None = None,
        threads: int = 1) -> dict[str, Any]:
    """`models`: "static" (retrained per fold), "base" (the document network of `base`, no question seen),
    "query-tower" (a query network per fold against `base`'s fixed library vectors), "encoder" (the whole encoder
    fine-tuned per fold from `pretrained`, the library re-embedded per fold)."""
    from evaluation.crossval import read_questions

    arts = library_articles(corpus_dir, cache=cache)
    qs = [q for p in queries for q in read_questions(Path(p))]
    h = Harness(arts, qs, k=k)
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="encoder-cv-") as tmp:
        work = Path(tmp)
        fits = {}
        if "static" in models:
            fits["static"] = static_fold_model(h, work / "data", work)
        if {"base", "query-tower"} & set(models):
            t = time.perf_counter()
            vecs = library_vectors(h, base, vectors_cache, threads=threads)
            res["library_encoding_seconds"] = round(time.perf_counter() - t, 1)
            res["base"] = json.loads((Path(base) / "card.json").read_text(encoding="utf-8"))["figures"]
            if "base" in models:
                fits["encoder (no questions)"] = base_model(base, vecs, threads=threads)
            if "query-tower" in models:
                fits["encoder"] = query_tower_fold_model(h, base, vecs, work, steps=steps, threads=threads)
        if "encoder" in models:
            fits["encoder (symmetric)"] = encoder_fold_model(h, pretrained, work, steps=steps, threads=threads)
        res.update(dense_crossval(h, fits, folds=folds))
    res["steps_per_fold"] = steps
    Path(out).write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return res


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="CV of the dense side: static embedder vs character encoder")
    ap.add_argument("--corpus", default="../shared/corpus/lawref")
    ap.add_argument("--queries", nargs="+", default=["../shared/eval/stard_dev.jsonl",
                                                    "../shared/eval/stard_train.jsonl"])
    ap.add_argument("--base", help="a train-encoder folder (document network, final.pt) for base/query-tower")
    ap.add_argument("--pretrained", help="a train-encoder folder holding pretrained.pt (symmetric recipe)")
    ap.add_argument("--models", nargs="+", default=["static", "base", "query-tower"],
                    choices=["static", "base", "query-tower", "encoder"])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", type=int, nargs="+", help="score these folds only (paired, cheaper)")
    ap.add_argument("--steps", type=int, default=200, help="fine-tuning steps per fold")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default=None, help="JSON-lines cache of the parsed library")
    ap.add_argument("--vectors-cache", default=None, help=".npy cache of the library's base vectors")
    ap.add_argument("--out", default="encoder-cv.json")
    a = ap.parse_args()
    opt = {k: Path(v) for k, v in (("base", a.base), ("pretrained", a.pretrained), ("cache", a.cache),
                                   ("vectors_cache", a.vectors_cache)) if v}
    r = run(corpus_dir=Path(a.corpus), queries=a.queries, out=Path(a.out), models=a.models, steps=a.steps,
            k=a.folds, folds=a.only_folds, threads=a.threads, **opt)
    print(json.dumps(r["variants"], ensure_ascii=False, indent=1))

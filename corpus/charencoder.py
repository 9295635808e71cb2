"""The compact Chinese legal encoder at inference time: characters → ONNX Runtime → mean-pooled unit vector.

A small BERT-style transformer over single characters, pre-trained from scratch on the library (masked characters)
and fine-tuned contrastively on labelled questions (`corpus.encoder_training`, `lawsearch train-encoder`). Serving
needs no PyTorch: the model folder holds

* ``model.onnx`` — the exported network, int8 (dynamic quantization) when that kept its quality, else fp32: input
  ``input_ids`` and ``attention_mask`` (batch × length, int64), output ``embedding`` (batch × dim, L2-normalised);
* ``vocab.json`` — the characters, in id order (0 = padding, 1 = unknown, 2 = mask);
* ``card.json`` — data, command, settings, figures, and reference embeddings of a few fixed texts (a loaded model
  must reproduce them: `reference_check`).

The encoder is a second dense vector in the index (named ``encoder``) beside the static one; the static embedder
stays the fallback when no model folder is configured or present.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

PAD, UNK, MASK = 0, 1, 2
SPECIAL = ["[PAD]", "[UNK]", "[MASK]"]
ENCODER_VECTOR = "encoder"  # the named dense vector in the store
#: The committed model (if one is committed): the default when LAWSEARCH_ENCODER_MODEL is unset.
PACKAGED_MODEL = Path(__file__).resolve().parent / "data" / "char-encoder"
#: Fixed texts whose embeddings every model card records.
REFERENCE_TEXTS = (
    "用人单位应当依法为劳动者缴纳工伤保险费。",
    "老板不给买工伤保险怎么办",
    "中华人民共和国道路交通安全法 第五章 机动车驾驶人饮酒后驾驶机动车的，处暂扣六个月机动车驾驶证。",
)


def char_sequence(text: str) -> list[str]:
    """The characters the encoder reads: Latin letters lower-cased, whitespace dropped."""
    return [c for c in text.lower() if not c.isspace()]


class CharVocab:
    def __init__(self, chars: list[str]):
        if chars[: len(SPECIAL)] != SPECIAL:
            raise ValueError("vocabulary must start with the special tokens")
        self.chars = list(chars)
        self.index = {c: i for i, c in enumerate(chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def ids(self, text: str, max_len: int) -> list[int]:
        get = self.index.get
        return [get(c, UNK) for c in char_sequence(text)[:max_len]]

    def batch(self, texts: list[str], max_len: int) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, attention_mask), int64, padded to the longest text of the batch (at least one position)."""
        rows = [self.ids(t, max_len) or [UNK] for t in texts]
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        return ids, mask

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.chars, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> CharVocab:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))


def file_fingerprint(*paths: Path) -> str:
    h = hashlib.blake2b(digest_size=8)
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


class CharEncoderEmbedder:
    """The trained encoder through ONNX Runtime (a `corpus.embedders.DenseEmbedder`)."""

    name = ENCODER_VECTOR

    def __init__(self, directory: Path, *, threads: int = 2, batch_size: int = 64, onnx_file: str | None = None):
        import onnxruntime as ort

        self.directory = Path(directory)
        self.card = json.loads((self.directory / "card.json").read_text(encoding="utf-8"))
        self.vocab = CharVocab.load(self.directory / "vocab.json")
        self.max_len = int(self.card["settings"]["max_len"])
        self.dim = int(self.card["settings"]["dim"])
        self.batch_size = batch_size
        model = self.directory / (onnx_file or self.card.get("onnx", "model.onnx"))
        def session(path: Path, n_threads: int):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = n_threads
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])

        self.session = session(model, max(1, int(threads)))
        # Queries one at a time on one thread: a second one costs more than it gives for one short text (0.92 vs
        # 1.25 ms a query, evaluation/ENCODER.md), and each server process already has a core of its own. The
        # query network is a separate one (trained against the document network's fixed vectors) when the card
        # names one.
        self.query_session = session(self.directory / (self.card.get("query_onnx") or model.name), 1)
        # The document network and vocabulary decide the index's vectors (a new query network re-embeds nothing).
        self.fingerprint = "encoder-" + file_fingerprint(model, self.directory / "vocab.json")
        s = self.card["settings"]
        self.description = (f"dense: character encoder {self.card.get('version', '?')} "
                            f"({s['layers']}L-{s['dim']}, {self.max_len} characters, {model.stem.rsplit('-', 1)[-1]})")

    def _run(self, texts: list[str], session=None) -> np.ndarray:
        ids, mask = self.vocab.batch(texts, self.max_len)
        return (session or self.session).run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0]

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Batches of similar lengths pad little.
        order = np.argsort([min(len(t), self.max_len * 2) for t in texts], kind="stable")
        starts = range(0, len(texts), self.batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="encoder", unit_scale=self.batch_size)
        for s in starts:
            idx = order[s : s + self.batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self._run([text], self.query_session)[0].astype(np.float32)

    def reference_check(self) -> float:
        """The smallest cosine between this model's embeddings of the card's reference texts (as documents and
        as queries) and those recorded in the card (1.0 = identical)."""
        ref = self.card["reference"]
        texts = list(ref["texts"])
        got = [self.encode_documents(texts)]
        want = [np.asarray(ref["embeddings"], dtype=np.float32)]
        if ref.get("query_embeddings"):
            got.append(np.stack([self.encode_query(t) for t in texts]))
            want.append(np.asarray(ref["query_embeddings"], dtype=np.float32))
        worst = 1.0
        for g, w in zip(got, want):
            w = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
            worst = min(worst, float(np.min(np.sum(g * w, axis=1))))
        return worst

    @staticmethod
    def exists(directory: Path | None) -> bool:
        if not directory:
            return False
        d = Path(directory)
        return (d / "card.json").is_file() and (d / "vocab.json").is_file()


def encoder_model_dir(configured: str | Path | None) -> Path | None:
    """The model folder to use: the configured one ("none" or "off" = no encoder, "packaged" = the committed one);
    unset = the committed model when its card marks it as the default (one weaker than the static embedder after
    fusion is committed without that mark)."""
    if configured is not None and str(configured).strip().lower() in ("", "none", "off", "0"):
        return None
    if configured and str(configured).strip().lower() == "packaged":
        return PACKAGED_MODEL
    if configured:
        return Path(os.path.expanduser(str(configured)))
    if not CharEncoderEmbedder.exists(PACKAGED_MODEL):
        return None
    card = json.loads((PACKAGED_MODEL / "card.json").read_text(encoding="utf-8"))
    return PACKAGED_MODEL if card.get("default") else None


def load_encoder(configured: str | Path | None, *, threads: int = 2) -> CharEncoderEmbedder | None:
    d = encoder_model_dir(configured)
    if d is None:
        return None
    if not CharEncoderEmbedder.exists(d):
        raise FileNotFoundError(f"LAWSEARCH_ENCODER_MODEL: no encoder model (card.json, vocab.json) in {d}")
    return CharEncoderEmbedder(d, threads=threads)

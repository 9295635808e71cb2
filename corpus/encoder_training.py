"""Training the compact character encoder (`corpus.charencoder`) from scratch, in PyTorch.

1. Vocabulary: the characters of the library's articles seen in at least `min_count` articles (plus the special
   tokens), most frequent first.
2. Masked-character pre-training on the articles (title, headings, text; the first `max_len` characters): 15 % of
   the characters are predicted (80 % replaced by [MASK], 10 % by a random character, 10 % kept).
3. Contrastive fine-tuning, in-batch negatives at temperature `temperature`, mean pooling: labelled questions ↔
   their articles, and pairs the corpus gives for free (an article's first sentence ↔ the article), each batch
   half and half. Two anchors with the same article are not each other's negatives.
4. Export to ONNX (fp32), int8 dynamic quantization (ONNX Runtime), and a card: data, command, settings, figures,
   and the reference embeddings of `charencoder.REFERENCE_TEXTS` with the shipped network.

Seeded and deterministic for fixed step counts: `mlm_steps`/`contrastive_steps` are derived from the time budget on
the first run (a few timed steps) and recorded in the card; giving them explicitly reproduces the model. Uses CUDA
when present (the large configuration), else the small CPU one.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from corpus.charencoder import (
    MASK,
    PAD,
    REFERENCE_TEXTS,
    SPECIAL,
    UNK,
    CharEncoderEmbedder,
    CharVocab,
    char_sequence,
)
from corpus.encoders import document_text
from corpus.training import first_sentence

log = logging.getLogger(__name__)
VERSION = "v1"


@dataclass
class EncoderSettings:
    # The CPU configuration (the one run for evaluation/ENCODER.md); `for_device(cuda=True)` is the GPU one.
    layers: int = 2
    dim: int = 128
    heads: int = 4
    max_len: int = 96
    query_len: int = 64
    min_count: int = 5
    max_vocab: int = 8000
    mlm_batch: int = 64
    mlm_lr: float = 1e-3
    mlm_seconds: float = 600.0
    mlm_steps: int = 0  # 0 = as many as `mlm_seconds` allow (measured on the first steps)
    pair_batch: int = 64  # question pairs and corpus pairs, `question_share` of them questions
    question_share: float = 0.5
    contrastive_lr: float = 2e-4
    contrastive_seconds: float = 240.0
    contrastive_steps: int = 0
    temperature: float = 0.05
    dropout: float = 0.1
    seed: int = 0
    threads: int = 2

    @classmethod
    def for_device(cls, cuda: bool, **overrides) -> EncoderSettings:
        base = ({"layers": 6, "dim": 384, "heads": 6, "max_len": 192, "mlm_batch": 256, "pair_batch": 256,
                 "mlm_lr": 5e-4, "mlm_seconds": 240, "contrastive_seconds": 120} if cuda else {})
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)


# ---- the network ------------------------------------------------------------------------------------------------
def network_classes():
    import torch
    from torch import nn

    class Block(nn.Module):
        """Pre-norm transformer block; attention written out so that it exports to plain ONNX operators."""

        def __init__(self, dim: int, heads: int, dropout: float):
            super().__init__()
            self.heads = heads
            self.scale = 1.0 / math.sqrt(dim // heads)
            self.n1 = nn.LayerNorm(dim)
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
            self.n2 = nn.LayerNorm(dim)
            self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
            self.drop = nn.Dropout(dropout)

        def forward(self, x, bias):
            b, n, d = x.shape
            h = self.heads
            qkv = self.qkv(self.n1(x)).reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            if torch.onnx.is_in_onnx_export():
                att = torch.softmax(q @ k.transpose(-1, -2) * self.scale + bias, dim=-1)
                y = self.drop(att) @ v
            else:  # the same attention through the fused kernel (training on a GPU)
                y = torch.nn.functional.scaled_dot_product_attention(
                    q, k, v, attn_mask=bias.to(q.dtype), dropout_p=self.drop.p if self.training else 0.0)
            y = y.transpose(1, 2).reshape(b, n, d)
            x = x + self.drop(self.proj(y))
            return x + self.drop(self.ff(self.n2(x)))

    class CharEncoder(nn.Module):
        def __init__(self, vocab_size: int, s: EncoderSettings):
            super().__init__()
            self.tok = nn.Embedding(vocab_size, s.dim, padding_idx=PAD)
            self.pos = nn.Embedding(max(s.max_len, s.query_len), s.dim)
            self.n0 = nn.LayerNorm(s.dim)
            self.blocks = nn.ModuleList(Block(s.dim, s.heads, s.dropout) for _ in range(s.layers))
            self.nf = nn.LayerNorm(s.dim)
            self.drop = nn.Dropout(s.dropout)
            # Masked-character head, tied to the input table.
            self.head = nn.Sequential(nn.Linear(s.dim, s.dim), nn.GELU(), nn.LayerNorm(s.dim))
            self.head_bias = nn.Parameter(torch.zeros(vocab_size))
            self.apply(self._init)

        @staticmethod
        def _init(m):
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

        def hidden(self, ids, mask):
            pos = torch.arange(ids.shape[1], device=ids.device)
            x = self.drop(self.n0(self.tok(ids) + self.pos(pos)))
            bias = (1.0 - mask.to(x.dtype))[:, None, None, :] * -1e4
            for blk in self.blocks:
                x = blk(x, bias)
            return self.nf(x)

        def forward(self, ids, mask):
            """Mean-pooled, L2-normalised embedding (what is exported)."""
            h = self.hidden(ids, mask)
            m = mask.to(h.dtype).unsqueeze(-1)
            v = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            return torch.nn.functional.normalize(v, dim=-1)

        def mlm_logits(self, h):
            return self.head(h) @ self.tok.weight.T + self.head_bias

    return torch, CharEncoder


# ---- data -------------------------------------------------------------------------------------------------------
def build_vocab(texts: Sequence[str], *, min_count: int, max_size: int) -> CharVocab:
    df: Counter[str] = Counter()
    for t in texts:
        df.update(set(char_sequence(t)))
    chars = [c for c, n in df.items() if n >= min_count]
    chars.sort(key=lambda c: (-df[c], c))
    return CharVocab(SPECIAL + chars[: max(0, max_size - len(SPECIAL))])


def _pad(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(1, max(len(r) for r in rows))
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        r = r or [UNK]
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


def question_pairs(questions: Sequence[dict], keys: Sequence[tuple[str, int, str]]) -> list[tuple[str, int]]:
    """(question, article index) for every labelled article found among `keys` (records of
    `corpus.training.question_records`: relevant = key tuples)."""
    by_key = {k: i for i, k in enumerate(keys)}
    return [(q["query"], by_key[k]) for q in questions for k in q["relevant"] if k in by_key]


def corpus_pairs(bodies: Sequence[str]) -> list[tuple[str, int]]:
    """(first sentence, article index) for articles whose first sentence is a real part of them."""
    out = []
    for i, body in enumerate(bodies):
        fs = first_sentence(body)
        if 6 <= len(fs) < len(body) - 10:
            out.append((fs, i))
    return out


# ---- training ---------------------------------------------------------------------------------------------------
class _Schedule:
    """Linear warm-up (5 %) then linear decay to `floor` of the peak (10 %), over `steps` — or, with a `deadline`,
    over whichever of the steps and the time left runs out first (a run on a shared GPU may be slower than its probe
    said: the rate still decays before the deadline stops it). With `floor` 1 the rate stays at its peak after the
    warm-up, so the network after any step is the one a shorter run would have made."""

    def __init__(self, opt, lr: float, steps: int, deadline: float | None = None, floor: float = 0.1):
        self.opt, self.lr, self.steps = opt, lr, max(1, steps)
        self.start, self.deadline, self.floor = time.monotonic(), deadline, floor

    def set(self, step: int) -> None:
        p = step / self.steps
        if self.deadline is not None:
            p = max(p, (time.monotonic() - self.start) / max(self.deadline - self.start, 1e-6))
        f = p / 0.05 if p < 0.05 else max(self.floor, 1 - (1 - self.floor) * (p - 0.05) / 0.95)
        for g in self.opt.param_groups:
            g["lr"] = self.lr * min(f, 1.0)


def _budgeted(model, seconds: float, run, probe: int = 5) -> int:
    """How many steps of `run(steps)` fit `seconds`, from `probe` timed steps after as many untimed ones (the first
    steps on a GPU pay for its start-up); the model is restored afterwards, so the real run starts from the same
    state (and a rerun with the recorded step count is identical)."""
    snapshot = {k: v.detach().clone() for k, v in model.state_dict().items()}
    run(probe, quiet=True)
    t = time.perf_counter()
    run(probe, quiet=True)
    per = (time.perf_counter() - t) / probe
    model.load_state_dict(snapshot)
    return max(probe, int(seconds / max(per, 1e-6)))


def _stage(model, fixed_steps: int, seconds: float, run) -> tuple[int, int, float, float]:
    """One training stage: `run(steps)` for `fixed_steps`, or as many steps as `seconds` allow (`_budgeted`).
    Returns (steps run, steps planned, calibration seconds, run seconds); `run` returns the steps it ran (fewer
    than planned when its deadline stopped it)."""
    t0 = time.perf_counter()
    planned = fixed_steps or _budgeted(model, seconds, run)
    t1 = time.perf_counter()
    ran = run(planned)
    return ran, planned, round(t1 - t0, 1), round(time.perf_counter() - t1, 1)


class TokenRows:
    """Token rows as one padded id tensor on the training device, with their lengths (a row has at least one
    token: an empty text reads as [UNK]); `take(idx)` cuts the batch to its longest row."""

    def __init__(self, torch, rows: Sequence[list[int]], width: int, device: str):
        ids = np.zeros((len(rows), max(1, width)), dtype=np.int32)
        lens = np.ones(len(rows), dtype=np.int64)
        for i, r in enumerate(rows):
            r = (r or [UNK])[:width]
            ids[i, : len(r)] = r
            lens[i] = len(r)
        self.ids = torch.from_numpy(ids).to(device)
        self.lens = torch.from_numpy(lens).to(device)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def take(self, idx):
        width = int(self.lens[idx].max())
        ids = self.ids[idx, :width].long()
        return ids, (ids != PAD).long()


def _step(torch, model, opt, loss, losses: list[float]) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    losses.append(loss.detach())


def _mean_loss(losses: list, n: int) -> float:
    return round(float(np.mean([float(x) for x in losses[-n:]])), 4) if losses else float("nan")


def pretrain_mlm(model, torch, docs_ids: list[list[int]], vocab_size: int, s: EncoderSettings, device: str,
                 progress: bool, deadline: float | None = None, docs: TokenRows | None = None) -> dict:
    """Masked-character pre-training; batches are drawn and masked on the training device. `deadline`
    (time.monotonic()): stop there even if the step count is not reached (the card records the steps run).
    `docs`: the token rows already on the device (else made from `docs_ids`)."""
    docs = docs if docs is not None else TokenRows(torch, docs_ids, s.max_len, device)
    n = len(docs)
    losses: list = []

    def run(steps: int, quiet: bool = False) -> int:
        stop = None if quiet else deadline  # the probe steps run whole
        g = torch.Generator(device=device).manual_seed(s.seed)
        opt = torch.optim.AdamW(model.parameters(), lr=s.mlm_lr, weight_decay=0.01)
        sched = _Schedule(opt, s.mlm_lr, steps, stop)
        model.train()
        order, pos = torch.randperm(n, generator=g, device=device), 0
        losses.clear()
        done = 0
        for i in range(steps):
            if stop is not None and time.monotonic() > stop:
                break
            if pos + s.mlm_batch > n:
                order, pos = torch.randperm(n, generator=g, device=device), 0
            ids, mask = docs.take(order[pos : pos + s.mlm_batch])
            pos += s.mlm_batch
            pick = (torch.rand(ids.shape, generator=g, device=device) < 0.15) & (mask == 1)
            r = torch.rand(ids.shape, generator=g, device=device)
            rand_ids = torch.randint(len(SPECIAL), vocab_size, ids.shape, generator=g, device=device)
            inp = torch.where(pick & (r < 0.8), torch.full_like(ids, MASK), ids)
            inp = torch.where(pick & (r >= 0.8) & (r < 0.9), rand_ids, inp)
            sched.set(i)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                h = model.hidden(inp, mask)
                loss = torch.nn.functional.cross_entropy(model.mlm_logits(h[pick]).float(), ids[pick])
            _step(torch, model, opt, loss, losses)
            done = i + 1
            if progress and not quiet and done % 500 == 0:
                log.info("masked characters: step %d/%d, loss %.3f", i + 1, steps, _mean_loss(losses, 100))
        return done

    s.mlm_steps, planned, calibration, seconds = _stage(model, s.mlm_steps, s.mlm_seconds, run)
    return {"mlm_steps": s.mlm_steps, "mlm_articles_seen": s.mlm_steps * s.mlm_batch,
            "mlm_epochs": round(s.mlm_steps * s.mlm_batch / max(n, 1), 2),
            "mlm_final_loss": _mean_loss(losses, 100), "mlm_seconds": seconds,
            "mlm_calibration_seconds": calibration, "mlm_planned_steps": planned}


def fine_tune(model, torch, q_pairs: list[tuple[list[int], int]], c_pairs: list[tuple[list[int], int]],
              docs_ids: list[list[int]], s: EncoderSettings, device: str, progress: bool,
              deadline: float | None = None, docs: TokenRows | None = None, floor: float = 0.1,
              after_step: Callable[[int], None] | None = None) -> dict:
    """Contrastive fine-tuning, in-batch negatives: each batch holds question pairs and corpus pairs in the
    proportion `question_share` (all of one kind when the other is missing). `docs`: the articles' token rows
    already on the device (else made from `docs_ids`). `floor`: see `_Schedule`; `after_step(n)` runs after the
    n-th step (checkpoints: it may evaluate the network, which is back in training mode after it)."""
    sources = [(p, share) for p, share in ((q_pairs, s.question_share), (c_pairs, 1 - s.question_share))
               if p and share > 0]
    if not sources:
        return {"contrastive_steps": 0}
    total = sum(share for _, share in sources)
    sizes = [max(1, round(s.pair_batch * share / total)) for _, share in sources]
    docs = docs if docs is not None else TokenRows(torch, docs_ids, s.max_len, device)
    streams = [(TokenRows(torch, [a for a, _ in p], s.query_len, device),
                torch.tensor([d for _, d in p], device=device)) for p, _ in sources]
    losses: list = []

    def run(steps: int, quiet: bool = False) -> int:
        stop = None if quiet else deadline  # the probe steps run whole
        g = torch.Generator(device=device).manual_seed(s.seed + 1)
        opt = torch.optim.AdamW(model.parameters(), lr=s.contrastive_lr, weight_decay=0.01)
        sched = _Schedule(opt, s.contrastive_lr, steps, stop, floor)
        model.train()
        state = [[torch.randperm(len(a), generator=g, device=device), 0] for a, _ in streams]
        losses.clear()
        done = 0
        for i in range(steps):
            if stop is not None and time.monotonic() > stop:
                break
            parts_q = []
            for (anchors, rows), st, size in zip(streams, state, sizes):
                size = min(size, len(anchors))
                if st[1] + size > len(anchors):
                    st[0], st[1] = torch.randperm(len(anchors), generator=g, device=device), 0
                parts_q.append(st[0][st[1] : st[1] + size])
                st[1] += size
            q_ids = [streams[j][0].take(ix) for j, ix in enumerate(parts_q)]
            d_rows = torch.cat([streams[j][1][ix] for j, ix in enumerate(parts_q)])
            same = d_rows[:, None] == d_rows[None, :]
            same.fill_diagonal_(False)  # another anchor of the same article is no negative
            d_ids, d_mask = docs.take(d_rows)
            sched.set(i)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                q = torch.cat([model(a, m) for a, m in q_ids])
                d = model(d_ids, d_mask)
                logits = (q.float() @ d.float().T) / s.temperature
                logits = logits.masked_fill(same, -1e4)
                loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(d_rows), device=device))
            _step(torch, model, opt, loss, losses)
            done = i + 1
            if progress and not quiet and done % 100 == 0:
                log.info("contrastive: step %d/%d, loss %.3f", i + 1, steps, _mean_loss(losses, 50))
            if after_step is not None and not quiet:
                after_step(done)
                model.train()
        return done

    s.contrastive_steps, _, calibration, seconds = _stage(model, s.contrastive_steps, s.contrastive_seconds, run)
    return {"contrastive_steps": s.contrastive_steps, "question_pairs": len(q_pairs), "corpus_pairs": len(c_pairs),
            "contrastive_final_loss": _mean_loss(losses, 50), "contrastive_seconds": seconds,
            "contrastive_calibration_seconds": calibration}


def embed_rows(model, torch, rows: TokenRows, device: str, batch: int = 1024):
    """The network's unit vectors (a tensor on `device`) for token rows already there, in their order; batches of
    similar lengths."""
    model.eval()
    order = torch.argsort(rows.lens)
    out = torch.zeros((len(rows), model.nf.normalized_shape[0]), device=device)
    with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
        for i in range(0, len(rows), batch):
            idx = order[i : i + batch]
            out[idx] = model(*rows.take(idx)).float()
    return out


# ---- export -----------------------------------------------------------------------------------------------------
def export_onnx(model, torch, path: Path, s: EncoderSettings) -> None:
    model = model.to("cpu").float().eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "length"},
                                        "attention_mask": {0: "batch", 1: "length"}, "embedding": {0: "batch"}})


def quantize_int8(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])


# ---- the whole procedure ----------------------------------------------------------------------------------------
@dataclass
class TrainedEncoder:
    folder: Path
    card: dict


def train_encoder(
    articles: Sequence,
    *,
    out_dir: Path,
    questions: Sequence[dict] = (),
    settings: EncoderSettings | None = None,
    command: str = "",
    data: dict | None = None,
    pretrained: Path | None = None,
    progress: bool = True,
    keep_fp32: bool = True,
) -> TrainedEncoder:
    """Train the encoder on `articles` (`corpus.model.Article`s) and labelled `questions` (records of
    `corpus.training.question_records`) and save the model folder `out_dir`.

    `pretrained`: a checkpoint (``pretrained.pt``) of an earlier run's masked-character stage to start from (its
    vocabulary and settings are reused; cross-validation pre-trains once and fine-tunes per fold)."""
    import torch

    _, CharEncoder = network_classes()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    s = settings or EncoderSettings.for_device(device == "cuda")
    torch.manual_seed(s.seed)
    np.random.seed(s.seed)
    if device == "cpu":
        torch.set_num_threads(max(1, s.threads))
    t0 = time.perf_counter()
    docs = [document_text(a) for a in articles]
    bodies = [a.text for a in articles]
    keys = [a.key for a in articles]
    if not docs:
        raise ValueError("no articles to train on")
    figures: dict = {"articles": len(docs), "questions": len(questions), "device": device}
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if pretrained is not None:
        ckpt = torch.load(Path(pretrained) / "pretrained.pt", map_location="cpu", weights_only=False)
        vocab = CharVocab(ckpt["vocab"])
        keep = {k: getattr(s, k) for k in ("contrastive_lr", "contrastive_seconds", "contrastive_steps",
                                           "pair_batch", "question_share", "temperature", "seed", "threads")}
        s = EncoderSettings(**{**ckpt["settings"], **keep})
        model = CharEncoder(len(vocab), s)
        model.load_state_dict(ckpt["model"])
        figures.update(ckpt["figures"])
        figures["pretrained_from"] = str(pretrained)
    else:
        vocab = build_vocab(docs, min_count=s.min_count, max_size=s.max_vocab)
        model = CharEncoder(len(vocab), s)
    model.to(device)
    figures["vocabulary"] = len(vocab)
    figures["parameters"] = int(sum(p.numel() for p in model.parameters()) - model.head_bias.numel())
    docs_ids = [vocab.ids(d, s.max_len) for d in docs]
    if pretrained is None:
        if progress:
            log.info("masked-character pre-training: %d articles, vocabulary %d, %s", len(docs), len(vocab), device)
        figures.update(pretrain_mlm(model, torch, docs_ids, len(vocab), s, device, progress))
        torch.save({"vocab": vocab.chars, "settings": asdict(s), "model": model.state_dict(),
                    "figures": {k: v for k, v in figures.items() if k.startswith("mlm")}}, tmp / "pretrained.pt")
    q_pairs = [(vocab.ids(q, s.query_len), d) for q, d in question_pairs(questions, keys)]
    c_pairs = [(vocab.ids(a, s.query_len), d) for a, d in corpus_pairs(bodies)]
    figures.update(fine_tune(model, torch, q_pairs, c_pairs, docs_ids, s, device, progress))
    vocab.save(tmp / "vocab.json")
    torch.save({"vocab": vocab.chars, "settings": asdict(s), "model": model.state_dict()}, tmp / "final.pt")
    export_onnx(model, torch, tmp / "model-fp32.onnx", s)
    quantize_int8(tmp / "model-fp32.onnx", tmp / "model-int8.onnx")
    card = {"version": VERSION, "kind": "character transformer encoder (masked characters + contrastive)",
            "command": command, "data": data or {}, "settings": asdict(s), "figures": figures,
            "onnx": "model-int8.onnx", "training_seconds": round(time.perf_counter() - t0, 1)}
    (tmp / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
    record_reference(tmp)
    if not keep_fp32:
        (tmp / "model-fp32.onnx").unlink()
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    card = json.loads((out_dir / "card.json").read_text(encoding="utf-8"))
    if progress:
        log.info("encoder trained in %.0f s → %s", card["training_seconds"], out_dir)
    return TrainedEncoder(out_dir, card)


def train_query_tower(
    base: Path,
    doc_vectors: np.ndarray,
    keys: Sequence[tuple[str, int, str]],
    questions: Sequence[dict],
    *,
    out_dir: Path,
    steps: int = 200,
    batch: int = 32,
    lr: float = 2e-4,
    temperature: float = 0.05,
    seed: int = 0,
    threads: int = 1,
    command: str = "",
    progress: bool = True,
) -> TrainedEncoder:
    """Fine-tune a query encoder against the fixed document vectors of the model in `base` (a `train_encoder`
    folder trained without questions): each labelled question against every article of the library at once
    (softmax over all `doc_vectors`, rows in `keys` order), starting from the document encoder's weights.

    The documents keep the base model's vectors, so retraining on new questions re-embeds nothing; the folder
    gets the base model's document network and this query network (``query-int8.onnx``)."""
    import torch

    _, CharEncoder = network_classes()
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, threads))
    t0 = time.perf_counter()
    base = Path(base)
    ckpt = torch.load(base / "final.pt", map_location="cpu", weights_only=False)
    vocab = CharVocab(ckpt["vocab"])
    s = EncoderSettings(**ckpt["settings"])
    model = CharEncoder(len(vocab), s)
    model.load_state_dict(ckpt["model"])
    docs = torch.from_numpy(np.ascontiguousarray(doc_vectors, dtype=np.float32))
    by_key: dict[tuple, list[int]] = {}
    for i, k in enumerate(keys):
        by_key.setdefault(k, []).append(i)
    pairs = []  # (query ids, positive row, every row relevant to the question)
    for q in questions:
        rows = [i for k in q["relevant"] for i in by_key.get(k, [])]
        ids = vocab.ids(q["query"], s.query_len)
        pairs += [(ids, r, rows) for r in rows]
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = _Schedule(opt, lr, steps)
    model.train()
    losses: list[float] = []
    order, pos = rng.permutation(len(pairs)), 0
    for i in range(steps if pairs else 0):
        if pos + batch > len(pairs):
            order, pos = rng.permutation(len(pairs)), 0
        chunk = [pairs[j] for j in order[pos : pos + batch]]
        pos += batch
        ids, mask = _pad([c[0] for c in chunk])
        sched.set(i)
        q = model(torch.from_numpy(ids), torch.from_numpy(mask))
        logits = (q @ docs.T) / temperature
        other = torch.zeros_like(logits, dtype=torch.bool)
        for r, (_, positive, rows) in enumerate(chunk):
            other[r, [x for x in rows if x != positive]] = True  # the question's other articles are no negatives
        loss = torch.nn.functional.cross_entropy(logits.masked_fill(other, -1e4),
                                                 torch.tensor([c[1] for c in chunk]))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if progress and (i + 1) % 25 == 0:
            log.info("query encoder: step %d/%d, loss %.3f", i + 1, steps, np.mean(losses[-25:]))
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    card = json.loads((base / "card.json").read_text(encoding="utf-8"))
    for name in ("vocab.json", card["onnx"]):
        shutil.copy2(base / name, tmp / name)
    export_onnx(model, torch, tmp / "query-fp32.onnx", s)
    quantize_int8(tmp / "query-fp32.onnx", tmp / "query-int8.onnx")
    (tmp / "query-fp32.onnx").unlink()
    card["query_onnx"] = "query-int8.onnx"
    card["command"] = command or card.get("command", "")
    card["query_tower"] = {"base": str(base), "questions": len(questions), "pairs": len(pairs), "steps": steps,
                           "batch": batch, "lr": lr, "temperature": temperature, "seed": seed,
                           "negatives": f"all {len(keys)} articles (fixed document vectors)",
                           "final_loss": round(float(np.mean(losses[-25:])), 4) if losses else None,
                           "seconds": round(time.perf_counter() - t0, 1)}
    (tmp / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
    record_reference(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return TrainedEncoder(out_dir, json.loads((out_dir / "card.json").read_text(encoding="utf-8")))


def record_reference(folder: Path, onnx_file: str | None = None) -> None:
    """Write the shipped network's embeddings of the reference texts into the card (and which file shipped)."""
    path = Path(folder) / "card.json"
    card = json.loads(path.read_text(encoding="utf-8"))
    if onnx_file:
        card["onnx"] = onnx_file
    card["reference"] = {"texts": [], "embeddings": []}
    path.write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
    emb = CharEncoderEmbedder(folder, threads=1)
    vecs = emb.encode_documents(list(REFERENCE_TEXTS))
    card["reference"] = {"texts": list(REFERENCE_TEXTS), "onnx": card["onnx"],
                         "embeddings": [[round(float(x), 5) for x in v] for v in vecs],
                         "query_embeddings": [[round(float(x), 5) for x in emb.encode_query(t)]
                                              for t in REFERENCE_TEXTS]}
    path.write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")


__all__ = [
    "EncoderSettings",
    "TrainedEncoder",
    "build_vocab",
    "corpus_pairs",
    "export_onnx",
    "quantize_int8",
    "question_pairs",
    "record_reference",
    "train_encoder",
]

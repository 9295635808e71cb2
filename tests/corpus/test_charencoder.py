"""The character encoder: its vocabulary, the committed model against its card, and training it (tiny, on CPU)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from corpus.charencoder import (
    MASK,
    PACKAGED_MODEL,
    PAD,
    UNK,
    CharEncoderEmbedder,
    CharVocab,
    encoder_model_dir,
    load_encoder,
)


def test_vocab_reads_characters_drops_whitespace_and_maps_unknown_ones():
    vocab = CharVocab(["[PAD]", "[UNK]", "[MASK]", "法", "律", "a"])
    assert vocab.ids("法 律\u3000A法", max_len=10) == [3, 4, 5, 3]
    assert vocab.ids("法规", max_len=10) == [3, UNK]
    assert vocab.ids("法律法律", max_len=3) == [3, 4, 3]
    ids, mask = vocab.batch(["法律", "法", ""], max_len=8)
    assert ids.tolist() == [[3, 4], [3, PAD], [UNK, PAD]]  # an empty text still has one position
    assert mask.tolist() == [[1, 1], [1, 0], [1, 0]]
    assert (PAD, UNK, MASK) == (0, 1, 2)
    with pytest.raises(ValueError):
        CharVocab(["法", "律"])


def test_the_setting_chooses_the_model_folder(tmp_path):
    assert encoder_model_dir("none") is None
    assert encoder_model_dir("off") is None
    assert encoder_model_dir("packaged") == PACKAGED_MODEL
    assert encoder_model_dir(str(tmp_path)) == tmp_path
    with pytest.raises(FileNotFoundError, match="LAWSEARCH_ENCODER_MODEL"):
        load_encoder(str(tmp_path / "missing"))
    # Unset: the committed model only when its card says it is the default.
    card = json.loads((PACKAGED_MODEL / "card.json").read_text(encoding="utf-8"))
    assert encoder_model_dir(None) == (PACKAGED_MODEL if card.get("default") else None)


@pytest.mark.integration
def test_the_committed_model_reproduces_the_embeddings_its_card_records():
    assert CharEncoderEmbedder.exists(PACKAGED_MODEL), "the committed encoder model is missing"
    size = sum(p.stat().st_size for p in PACKAGED_MODEL.iterdir())
    assert size <= 15 * 2**20
    emb = CharEncoderEmbedder(PACKAGED_MODEL, threads=1)
    card = emb.card
    assert card["reference"]["texts"] and card["reference"]["onnx"] == card["onnx"]
    assert emb.reference_check() > 0.999
    vecs = emb.encode_documents(card["reference"]["texts"])
    assert vecs.shape == (len(card["reference"]["texts"]), card["settings"]["dim"])
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    # A text alone or padded in a batch with longer ones: the same direction (padding does not leak into the mean;
    # int8 activations are quantized per batch, hence not bit-identical).
    assert float(emb.encode_documents([card["reference"]["texts"][1]])[0] @ vecs[1]) > 0.999


@pytest.mark.integration
@pytest.mark.slow
def test_training_is_deterministic_and_ships_an_onnx_model_with_its_card(tmp_path, corpus_dir):
    from corpus.encoder_training import EncoderSettings, train_encoder
    from ingest.pipeline import parse_files

    regs, _ = parse_files([corpus_dir / "xuzhou"])
    arts = [a for r in regs for a in r.articles][:300]
    qs = [{"query": "安全生产责任由谁负责", "relevant": [arts[5].key]}]
    s = {"layers": 1, "dim": 32, "heads": 2, "max_len": 32, "query_len": 16, "min_count": 1, "mlm_batch": 16,
         "pair_batch": 8, "mlm_steps": 3, "contrastive_steps": 3, "threads": 1}
    one = train_encoder(arts, out_dir=tmp_path / "one", questions=qs, settings=EncoderSettings(**s), progress=False)
    two = train_encoder(arts, out_dir=tmp_path / "two", questions=qs, settings=EncoderSettings(**s), progress=False)
    assert one.card["reference"]["embeddings"] == two.card["reference"]["embeddings"]
    card = one.card
    assert card["settings"]["mlm_steps"] == 3 and card["figures"]["question_pairs"] == 1
    assert card["figures"]["articles"] == 300 and card["onnx"] == "model-int8.onnx"
    emb = CharEncoderEmbedder(one.folder)
    assert emb.dim == 32 and emb.reference_check() > 0.999
    # int8 stays close to the fp32 network it came from.
    fp32 = CharEncoderEmbedder(one.folder, onnx_file="model-fp32.onnx")
    texts = [a.text for a in arts[:20]]
    cos = np.sum(emb.encode_documents(texts) * fp32.encode_documents(texts), axis=1)
    assert cos.min() > 0.95
    # A query network trained against the fixed document vectors: the library keeps its vectors (same
    # fingerprint, nothing to re-embed) and the card records both networks' reference embeddings.
    from corpus.encoder_training import train_query_tower

    vecs = emb.encode_documents([a.text for a in arts])
    qt = train_query_tower(one.folder, vecs, [a.key for a in arts], qs, out_dir=tmp_path / "query", steps=3,
                           progress=False)
    q = CharEncoderEmbedder(qt.folder)
    assert qt.card["query_onnx"] == "query-int8.onnx" and qt.card["query_tower"]["pairs"] == 1
    assert q.fingerprint == emb.fingerprint and q.reference_check() > 0.999
    assert np.allclose(q.encode_documents(texts), emb.encode_documents(texts))
    assert not np.allclose(q.encode_query(qs[0]["query"]), emb.encode_query(qs[0]["query"]))

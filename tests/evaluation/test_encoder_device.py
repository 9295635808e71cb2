"""The encoder's GPU run, end to end on CPU at toy size: a pack of real Xuzhou articles, a tiny network trained
and ranking the harness per fold, its rows scored, its saved network exported into a model folder that serves."""
from __future__ import annotations

import json
import lzma

import pytest

from corpus.charencoder import CharEncoderEmbedder


@pytest.mark.integration
@pytest.mark.slow
def test_pack_train_report_on_cpu(tmp_path, corpus_dir):
    from corpus.encoders import document_text
    from corpus.training import first_sentence
    from evaluation import encoder_device as ed
    from ingest.pipeline import parse_files

    regs, _ = parse_files([corpus_dir / "xuzhou"])
    arts = [a for r in regs for a in r.articles if a.kind == "article"][:400]
    docs = [document_text(a) for a in arts]
    # Ten questions, each asking with an article's first words (two folds of the harness get questions).
    questions = [{"set": "stard", "id": f"q{i}", "query": arts[i].text[:20], "fold": (i // 40) % 2,
                  "relevant": [list(arts[i].key)], "harness": [i], "rows": [i]} for i in range(0, 400, 40)]
    pack = tmp_path / ed.PACK_NAME
    with lzma.open(pack, "wt", encoding="utf-8") as fh:
        json.dump({"docs": docs, "first": [first_sentence(a.text) for a in arts], "harness": list(range(len(arts))),
                   "harness_keys": [list(a.key) for a in arts], "questions": questions}, fh, ensure_ascii=False)
    out = tmp_path / "out"
    out.mkdir()
    bm25 = tmp_path / "bm25.npy"
    import numpy as np

    np.save(bm25, ed.bm25_matrix(ed.load_pack(pack)))
    res = ed.train_one(pack, "tiny", out, bm25_path=bm25, folds=2,
                       plan={"mlm": 3, "pairs": 1, "fold": 1, "stop": 120, "max_steps": 16})
    assert sorted(res["folds"]) == ["0", "1"] and res["figures"]["mlm_steps"] > 0
    # The pre-trained network, the final one and one per fold (for the system-level ablation) come back.
    assert sorted(x.name for x in out.glob("*.pt")) == ["tiny-base.pt", "tiny-final.pt", "tiny-fold0.pt",
                                                        "tiny-fold1.pt"]
    # Fine-tuning is checked at five step counts; one is chosen over the folds and the final network gets it.
    checks = res["checkpoints"]
    assert len(checks) == 5 and res["chosen_steps"] in checks
    assert res["figures"]["final"]["contrastive_steps"] == res["chosen_steps"]
    for fold in res["folds"].values():  # every test question ranked over the whole harness by each variant
        assert set(fold["ranked"]) == {"bm25"} | {f"encoder{v} @{n}" for v in (" alone", " + bm25") for n in checks}
        assert all(len(r) == ed.TOP for rows in fold["ranked"].values() for r in rows)
    table = ed.score(pack, [out / "tiny.json.xz"])
    bm = table["tiny"]["variants"]["bm25"]
    assert bm["queries"] == len(questions)
    assert bm["R@10"] > 0.8  # a question made of an article's own words: BM25 finds it
    folder = ed.export_model(out / "tiny-final.pt", tmp_path / "model", cv=table["tiny"])
    emb = CharEncoderEmbedder(folder, threads=1)
    assert emb.card["default"] is False and emb.card["cv"]["variants"]["bm25"] == bm
    assert emb.reference_check() > 0.999

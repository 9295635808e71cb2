import math


from corpus.encoders import (SparseEncoder, bigram_encoder, char_bigrams, default_sparse_encoders, document_text,
                             token_id)
from corpus.model import Article


def _dot(q, d):
    dq = dict(zip(*q))
    return sum(dq.get(i, 0.0) * v for i, v in zip(*d))


def test_char_bigrams_split_on_punctuation_and_keep_single_chars():
    assert char_bigrams("用人单位，辞退") == ["用人", "人单", "单位", "辞退"]
    assert char_bigrams("甲、乙") == ["甲", "乙"]
    assert char_bigrams("PM2.5标准") == ["pm", "m2", "5标", "标准"]
    assert char_bigrams("  ，。") == []


def test_token_ids_are_stable_31_bit():
    assert token_id("劳动") == token_id("劳动")
    assert token_id("劳动") != token_id("动劳")
    assert 0 <= token_id("劳动") < 2**31
    # Pinned: ids must never change between releases (an index built earlier would stop matching).
    assert token_id("劳动") == 898771845


def test_document_weights_saturate_and_normalise_length():
    enc = bigram_encoder(avgdl=10.0)
    idx, vals = enc.encode_document("劳动合同")
    assert idx == sorted(idx) and len(idx) == 3
    # tf=1 at dl == avgdl... here dl=3 < avgdl so weight > 1
    assert all(1.0 < v < enc.k1 + 1 for v in vals)
    one = dict(zip(*enc.encode_document("工资工资")))[token_id("工资")]
    many = dict(zip(*enc.encode_document("工资工资工资工资工资工资")))[token_id("工资")]
    assert many > one and many < enc.k1 + 1  # saturation
    short = _dot(enc.encode_query("工资"), enc.encode_document("工资支付"))
    long_ = _dot(enc.encode_query("工资"), enc.encode_document("工资支付" + "其他规定" * 20))
    assert short > long_


def test_query_ranks_matching_document_first():
    enc = bigram_encoder()
    docs = ["用人单位应当按时足额支付劳动报酬", "出租人应当履行租赁物的维修义务", "国家保护公民的合法财产"]
    enc.fit(docs)
    dv = enc.encode_documents(docs)
    q = enc.encode_query("出租人不维修怎么办？")
    scores = [_dot(q, d) for d in dv]
    assert scores.index(max(scores)) == 1


def test_fit_and_state_round_trip():
    enc = bigram_encoder()
    avg = enc.fit(["一二三四", "一二"])
    assert math.isclose(avg, (3 + 1) / 2)
    other = bigram_encoder()
    other.load_state(enc.state())
    assert other.avgdl == avg and other.encode_document("一二三") == enc.encode_document("一二三")


def test_default_encoders_have_unique_names():
    encs = default_sparse_encoders()
    assert encs and all(isinstance(e, SparseEncoder) for e in encs)
    assert len({e.name for e in encs}) == len(encs)


def test_document_text_includes_title_and_headings():
    a = Article(regulation_title="中华人民共和国劳动合同法", article_no=39, headings=["第四章 劳动合同的解除和终止"],
                text="劳动者有下列情形之一的，用人单位可以解除劳动合同")
    t = document_text(a)
    assert t.startswith("中华人民共和国劳动合同法 第四章") and t.endswith("解除劳动合同")

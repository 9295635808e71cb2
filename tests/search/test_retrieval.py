"""Hybrid retrieval on the real engine (Qdrant Edge on tmp_path) with the real encoders."""
from __future__ import annotations

import uuid

import numpy as np
import pytest

from corpus.embedders import StaticEmbedder, matrix_fingerprint
from corpus.encoders import bigram_encoder, document_text
from corpus.model import Article
from corpus.store import CollectionLayout, Condition, FilterSpec, Hit, PointRecord, open_store
from search.expansion import Glossary, default_glossary
from search.retrieval import CandidateList, HybridRetriever

ROWS = [
    # (title, level, region, article_no, text)
    ("中华人民共和国民法典", "法律", "", 712, "出租人应当履行租赁物的维修义务，但是当事人另有约定的除外。"),
    ("中华人民共和国劳动合同法", "法律", "", 30, "用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。"),
    ("中华人民共和国劳动合同法", "法律", "", 39, "劳动者有下列情形之一的，用人单位可以解除劳动合同：在试用期间被证明不符合录用条件的。"),
    ("中华人民共和国劳动合同法", "法律", "", 40, "劳动者患病或者非因工负伤，在规定的医疗期满后不能从事原工作的，用人单位可以解除劳动合同。"),
    ("某省劳动合同条例", "地方性法规", "某省", 30, "用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。"),
    ("中华人民共和国刑法", "法律", "", 264, "盗窃公私财物，数额较大的，或者多次盗窃、入户盗窃的，处三年以下有期徒刑。"),
    ("中华人民共和国道路交通安全法", "法律", "", 76, "机动车发生交通事故造成人身伤亡、财产损失的，由保险公司在机动车第三者责任强制保险责任限额范围内予以赔偿。"),
]


def _articles():
    return [Article(regulation_title=t, article_no=n, text=x) for t, _, _, n, x in ROWS]


def _toy_embedder() -> StaticEmbedder:
    # Two topics: renting (出租/房东/维修) and pay (工资/报酬/劳动); everything else unknown.
    vocab = ["出租", "租人", "房东", "维修", "房子", "工资", "报酬", "劳动", "老板"]
    m = np.array([[1, 0]] * 5 + [[0, 1]] * 4, dtype=np.float32)
    return StaticEmbedder(vocab, m, description="toy", fingerprint=matrix_fingerprint(vocab, m))


@pytest.fixture()
def store(tmp_path):
    enc = bigram_encoder()
    arts = _articles()
    texts = [document_text(a) for a in arts]
    enc.fit(texts)
    emb = _toy_embedder()
    dense = emb.encode_documents(texts)
    st = open_store(data_dir=tmp_path)
    st.ensure_collection(CollectionLayout(sparse=[enc.name], dense={"dense": emb.dim},
                                          keyword_fields=["level", "region", "regulation_id", "title_key"],
                                          integer_fields=["article_no"]))
    points = []
    for (title, level, region, no, _), a, t, v, sv in zip(ROWS, arts, texts, dense, enc.encode_documents(texts)):
        key = a.key[0]
        points.append(PointRecord(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{key}|{no}")),
            payload={"title": title, "title_key": key, "regulation_id": key, "level": level, "region": region,
                     "article_no": no, "article_suffix": "", "text": a.text},
            sparse={enc.name: sv}, dense={"dense": [float(x) for x in v]}))
    st.upsert(points)
    yield st, enc, emb
    st.close()


def _keys(hits):
    return [(h.payload["title_key"], h.payload["article_no"]) for h in hits]


@pytest.mark.integration
def test_sparse_only_finds_the_article_and_returns_full_payloads(store):
    st, enc, _ = store
    r = HybridRetriever(st, [enc], None, expander=None)
    assert not r.use_dense and "lexical only" in r.description
    hits = r.retrieve("出租人不履行维修义务怎么办", None, top_k=3)
    assert _keys(hits)[0] == ("民法典", 712)
    assert hits[0].payload["text"].startswith("出租人") and hits[0].score >= hits[-1].score
    assert r.retrieve("", None, top_k=3) == [] and r.retrieve("维修", None, top_k=0) == []


@pytest.mark.integration
def test_level_prior_puts_national_law_before_identical_local_text(store):
    st, enc, _ = store
    hits = HybridRetriever(st, [enc], None, expander=None).retrieve("及时足额支付劳动报酬", None, top_k=2)
    assert _keys(hits) == [("劳动合同法", 30), ("某省劳动合同条例", 30)]
    flat = HybridRetriever(st, [enc], None, expander=None, level_weights={}, regulation_weight=0)
    # Without the prior the local copy wins (its document text, title included, is shorter).
    assert _keys(flat.retrieve("及时足额支付劳动报酬", None, top_k=2)) == [("某省劳动合同条例", 30), ("劳动合同法", 30)]


@pytest.mark.integration
def test_filters_are_applied(store):
    st, enc, _ = store
    flt = FilterSpec(must=[Condition(field="level", eq="地方性法规")])
    hits = HybridRetriever(st, [enc], None, expander=None).retrieve("支付劳动报酬", flt, top_k=5)
    assert _keys(hits) == [("某省劳动合同条例", 30)]


@pytest.mark.integration
def test_glossary_expansion_bridges_lay_words(store):
    st, enc, _ = store
    q = "房东不修房子怎么办"
    plain = HybridRetriever(st, [enc], None, expander=None).retrieve(q, None, top_k=3)
    expanded = HybridRetriever(st, [enc], None).retrieve(q, None, top_k=3)
    assert ("民法典", 712) not in _keys(plain)[:1]
    assert _keys(expanded)[0] == ("民法典", 712)


@pytest.mark.integration
def test_dense_side_finds_what_words_miss(store):
    st, enc, emb = store
    r = HybridRetriever(st, [enc], emb, expander=None, dense_weight=0.9, regulation_weight=0)
    assert r.use_dense and "toy" in r.description
    hits = r.retrieve("老板克扣工资", None, top_k=4)  # no bigram of the query occurs in the labour articles
    labour = {("劳动合同法", 30), ("劳动合同法", 39), ("劳动合同法", 40), ("某省劳动合同条例", 30)}
    assert set(_keys(hits)) == labour
    rent = r.retrieve("房东不维修房子", None, top_k=1)
    assert _keys(rent) == [("民法典", 712)]
    assert set(r.last_timing) == {"encode_ms", "search_ms", "rerank_ms"}


def test_fuse_scores_missing_candidates_with_the_list_floor():
    r = HybridRetriever.__new__(HybridRetriever)
    r.dense_weight, r.level_weights, r.regulation_weight, r.regulation_top = 0.5, {}, 0.0, 3
    r.sparse_floor, r.kind_weights, r.recall_dense_weight, r.recall_pool = 1.0, {}, None, 100
    p = lambda reg, no: {"regulation_id": reg, "article_no": no, "level": "法律"}  # noqa: E731
    sparse = [Hit("a", 10.0, p("x", 1)), Hit("b", 5.0, p("x", 2))]
    dense = [Hit("c", 0.9, p("y", 1)), Hit("a", 0.2, p("x", 1))]
    out = {pid: s for pid, s, _ in r.fuse([CandidateList.of_hits("sparse", sparse), CandidateList.of_hits("dense", dense)])}
    assert out["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.2)
    assert out["b"] == pytest.approx(0.5 * 0.5 + 0.5 * 0.2)  # dense floor
    assert out["c"] == pytest.approx(0.5 * 0.5 + 0.5 * 0.9)  # sparse floor (5/10)
    assert r.fuse([]) == []
    r.sparse_floor = 0.5
    out = {pid: s for pid, s, _ in r.fuse([CandidateList.of_hits("sparse", sparse), CandidateList.of_hits("dense", dense)])}
    assert out["c"] == pytest.approx(0.5 * 0.25 + 0.5 * 0.9)


def test_glossary_expands_longest_terms_without_duplicates():
    g = Glossary.load()
    assert g == default_glossary()
    assert "用人单位" in g.terms_for("老板拖欠工资")
    assert "拖欠劳动报酬" in g.terms_for("老板拖欠工资")
    assert g.expand("用人单位解除劳动合同") == "用人单位解除劳动合同"  # nothing lay in it
    terms = g.terms_for("房东房东")
    assert terms.count("出租人") == 1
    assert g.expand("房东不退押金").startswith("房东不退押金 ")


def test_the_composer_reads_a_lay_word_as_its_retrieval_words_unless_told_otherwise(tmp_path):
    path = tmp_path / "glossary.tsv"
    path.write_text("# comment\n噪音\t噪声\n遛狗\t携犬外出\t携犬|犬\n狗\t\t犬\n", encoding="utf-8")
    g = Glossary.load(path)
    assert g.synonyms == {"噪音": ("噪声",), "遛狗": ("携犬", "犬"), "狗": ("犬",)}
    assert g.terms_for("邻居噪音") == ["噪声"] and g.terms_for("狗") == []


def test_fuse_collapses_parts_and_applies_kind_prior():
    r = HybridRetriever.__new__(HybridRetriever)
    r.dense_weight, r.level_weights, r.regulation_weight, r.regulation_top = 0.0, {}, 0.0, 3
    r.sparse_floor, r.kind_weights, r.recall_dense_weight, r.recall_pool = 0.5, {"paragraph": 0.5}, None, 100
    art = lambda no, kind="article": {"regulation_id": "x", "version_id": "x@1", "article_no": no,  # noqa: E731
                                      "article_suffix": "", "kind": kind}
    sparse = [Hit("p0", 10.0, art(5)), Hit("p1", 9.0, art(5)), Hit("para", 9.5, art(1, "paragraph")),
              Hit("other", 6.0, art(6))]
    out = [(pid, round(s, 3)) for pid, s, _ in r.fuse([CandidateList.of_hits("sparse", sparse)])]
    assert out == [("p0", 1.0), ("other", 0.6), ("para", 0.475)]  # p1: second part of article 5, dropped


def test_recall_pool_keeps_recall_members_and_precision_order():
    r = HybridRetriever.__new__(HybridRetriever)
    r.dense_weight, r.level_weights, r.regulation_weight, r.regulation_top = 0.2, {}, 0.0, 3
    r.sparse_floor, r.kind_weights, r.recall_dense_weight, r.recall_pool = 1.0, {}, 0.9, 2
    p = lambda no: {"regulation_id": "x", "article_no": no, "level": "法律"}  # noqa: E731
    sparse = [Hit("a", 10.0, p(1)), Hit("b", 8.0, p(2)), Hit("c", 1.0, p(3))]
    dense = [Hit("c", 0.9, p(3)), Hit("a", 0.5, p(1)), Hit("b", 0.1, p(2))]
    # precision (w 0.2): a 0.9, b 0.66, c 0.26; recall (w 0.9): a 0.55, c 0.82, b 0.17 → pool {a, c}
    assert [pid for pid, _, _ in r.fuse([CandidateList.of_hits("sparse", sparse), CandidateList.of_hits("dense", dense)])] == ["a", "c", "b"]
    r.recall_dense_weight = None
    assert [pid for pid, _, _ in r.fuse([CandidateList.of_hits("sparse", sparse), CandidateList.of_hits("dense", dense)])] == ["a", "b", "c"]


@pytest.mark.integration
def test_candidates_ranked_from_the_field_table_match_engine_payloads(store):
    st, enc, emb = store
    cached = HybridRetriever(st, [enc], emb, expander=None)
    direct = HybridRetriever(st, [enc], emb, expander=None)
    direct.cache_fields = False
    for q in ("老板克扣工资", "房东不维修房子", "盗窃数额较大", "交通事故保险赔偿"):
        a, b = cached.retrieve(q, None, top_k=7), direct.retrieve(q, None, top_k=7)
        assert [(h.id, round(h.score, 9)) for h in a] == [(h.id, round(h.score, 9)) for h in b]
        assert all("text" in h.payload for h in a)  # the hits themselves are read back whole
    assert len(cached.fields_table()) == len(ROWS)


def _warm_with_rent(store):
    """A retriever with its field table filled, and the hit for the renting question (民法典第七百一十二条)."""
    st, enc, emb = store
    r = HybridRetriever(st, [enc], emb, expander=None)
    assert r.warm() == len(ROWS)
    return st, r, r.fields_table(), r.retrieve("出租人维修义务", None, top_k=1)[0]


@pytest.mark.integration
def test_field_table_forgets_everything_after_a_write_and_rereads_on_demand(store):
    st, r, table, rent = _warm_with_rent(store)
    assert rent.payload["level"] == "法律"
    # Re-ingest of the same point with a changed level: the table must not keep the old value.
    st.set_payload({"level": "地方性法规"}, FilterSpec(must=[Condition("article_no", eq=712)]))
    assert len(table) == len(ROWS) and st.generation > table._generation
    got = table.payloads([rent.id, "00000000-0000-0000-0000-000000000000"])
    assert got == {rent.id: {f: got[rent.id][f] for f in r.fields}}
    assert got[rent.id]["level"] == "地方性法规"
    assert len(table) == 1  # emptied by the write, then the one id read again
    # fusion after the write reads the new level too (its keys belong to the table's new generation)
    fused = {pid: p for pid, _, p in r.fuse(r.candidate_lists("出租人维修义务", None, r.candidates))}
    assert fused[rent.id]["level"] == "地方性法规"


@pytest.mark.integration
def test_field_table_lets_go_only_of_the_points_a_write_touched(store):
    st, r, table, rent = _warm_with_rent(store)
    # currentness flags set by filter are not fields of the table: every row stays
    st.set_payload({"is_current": True}, FilterSpec(must=[Condition("article_no", eq=712)]))
    assert len(table.current().slot) == len(ROWS)
    # the same point written again with another level (a re-ingest in place): only it is read again
    record = st.retrieve([rent.id])[0]
    st.upsert([PointRecord(id=rent.id, payload=dict(record.payload, level="地方性法规"), sparse={}, dense={})])
    held = table.current()
    assert rent.id not in held.slot and len(held.slot) == len(ROWS) - 1
    assert table.payloads([rent.id])[rent.id]["level"] == "地方性法规"
    assert len(table) == len(ROWS) + 1  # its old row stays behind, unreachable, until the table starts anew


@pytest.mark.integration
def test_an_empty_field_list_returns_hits_without_payload(store):
    st, enc, _ = store
    idx, vals = enc.encode_query("劳动报酬")
    hits = st.query(sparse={enc.name: (idx, vals)}, limit=3, fields=[])
    assert hits and all(h.payload == {} for h in hits)
    some = st.retrieve([hits[0].id], fields=["article_no"])
    assert some[0].payload == {"article_no": 30}


def test_home_region_texts_are_exempt_from_the_local_level_prior():
    r = HybridRetriever.__new__(HybridRetriever)
    r.dense_weight, r.regulation_weight, r.regulation_top = 0.0, 0.0, 3
    r.sparse_floor, r.kind_weights, r.recall_dense_weight, r.recall_pool = 0.5, {}, None, 100
    r.level_weights = {"地方性法规": 0.5}
    p = lambda reg, level, region: {"regulation_id": reg, "article_no": 1, "level": level,  # noqa: E731
                                    "region": region}
    sparse = [Hit("js", 10.0, p("js", "地方性法规", "江苏省")), Hit("sd", 10.0, p("sd", "地方性法规", "山东省")),
              Hit("law", 9.0, p("law", "法律", "全国"))]
    r.home_regions = frozenset()
    assert [(pid, round(s, 2)) for pid, s, _ in r.fuse([CandidateList.of_hits("sparse", sparse)])] == [
        ("law", 0.9), ("js", 0.5), ("sd", 0.5)]
    r.home_regions = frozenset({"徐州市", "江苏省"})
    assert [(pid, round(s, 2)) for pid, s, _ in r.fuse([CandidateList.of_hits("sparse", sparse)])] == [
        ("js", 1.0), ("law", 0.9), ("sd", 0.5)]


def test_fusion_reads_a_point_anew_when_it_comes_with_another_payload():
    r = HybridRetriever.__new__(HybridRetriever)
    r.dense_weight, r.regulation_weight, r.regulation_top = 0.0, 0.0, 3
    r.sparse_floor, r.kind_weights, r.recall_dense_weight, r.recall_pool = 0.5, {}, None, 100
    r.level_weights, r.home_regions = {"地方性法规": 0.5}, frozenset()
    p = lambda level: {"regulation_id": level, "article_no": 1, "level": level, "region": ""}  # noqa: E731
    local = [Hit("a", 10.0, p("地方性法规")), Hit("b", 8.0, p("法律"))]
    assert [pid for pid, _, _ in r.fuse([CandidateList.of_hits("sparse", local)])] == ["b", "a"]
    # the same point re-ingested as national law: its prior is computed from the new payload, not remembered
    assert [pid for pid, _, _ in r.fuse([CandidateList.of_hits("sparse", [Hit("a", 10.0, p("法律")), local[1]])])] == ["a", "b"]


class RecordingRanker:
    """Scores candidates by their features' sum and keeps the feature matrices it was given."""

    uses_encoder = False

    def __init__(self, neighbours=None):
        self.seen: list[np.ndarray] = []
        self.neighbours = neighbours

    def scores(self, features: np.ndarray) -> np.ndarray:
        self.seen.append(features)
        return features.astype(np.float64) @ np.linspace(1.0, 2.0, features.shape[1])


@pytest.mark.integration
def test_search_describes_candidates_to_the_ranker_as_training_does(store):
    from search.query import analyse
    from search.ranker import RegulationStats

    st, enc, emb = store
    r = HybridRetriever(st, [enc], emb, expander=None, home_regions=["某省"])
    stats = RegulationStats(articles={"中华人民共和国劳动合同法": 98})
    from search.neighbours import LabelledNeighbours

    labelled = [{"id": "x", "query": "老板克扣我的工资怎么办", "relevant": [{"title": "中华人民共和国劳动合同法", "article": 30}]}]
    ranker = RecordingRanker(LabelledNeighbours.of_questions(labelled))
    r.use_ranker(ranker, stats)  # type: ignore[arg-type]
    r.warm()
    for q in ("老板克扣工资", "房东不维修房子", "盗窃数额较大", "交通事故保险赔偿", "劳动合同解除"):
        got = [h.id for h in r.retrieve(q, None, top_k=5)]
        searched = ranker.seen.pop()
        # the training path: the fused list as Candidate objects, then build_features
        results = r.candidate_lists(q, None, r.candidates)
        cands = r.ranker_candidates(results, r.fuse(results))
        described = r.features(q, analyse(q).ranker_flags, cands)
        assert np.array_equal(searched, described)
        scores = ranker.scores(described)
        assert got == [cands[i].id for i in np.argsort(-scores, kind="stable")][:5]

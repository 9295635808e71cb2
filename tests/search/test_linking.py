"""Duty ↔ penalty links on search hits and the violation re-rank (search.linking)."""
from __future__ import annotations

import pytest

from search.linking import by_reference, conduct_cover, cover
from search.query import analyse, retrieval_query
from tests.indexes import ingested_runtime, main_job_files

TRAINING_QUERY = "生产经营单位未对从业人员进行安全生产教育和培训 罚款"


# ---- units (no index) -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["生产经营单位未对从业人员进行安全生产教育和培训 罚款", "违反安全生产法的法律责任",
                                   "不办健康证会怎样", "没有给员工培训怎么处理", "超市卖过期食品怎么处罚",
                                   "养狗不拴绳被罚多少"])
def test_violation_queries(query):
    assert analyse(query).violation


@pytest.mark.parametrize("query", ["生产经营单位应当对从业人员进行安全生产教育和培训", "法律援助的申请条件",
                                   "安全生产法第二十八条", "什么是注册安全工程师"])
def test_other_queries(query):
    assert not analyse(query).violation


def test_retrieval_query_drops_sanction_words_of_violation_questions_only():
    assert retrieval_query("遛狗不牵绳 罚款") == "遛狗不牵绳"
    assert retrieval_query("遛狗不牵绳会被罚款吗") == "遛狗不牵绳"
    assert retrieval_query("乱扔垃圾罚多少钱") == "乱扔垃圾"
    assert retrieval_query("罚款") == "罚款"  # nothing would be left
    assert retrieval_query("老板不给买工伤保险怎么办") == "老板不给买工伤保险怎么办"
    for term in ("行政处罚的种类有哪些", "什么是行政处罚？", "有哪些加重处罚盗窃的情况？"):
        assert retrieval_query(term) == term  # 处罚 as part of a legal term is kept


def test_by_reference_penalties():
    ref = {"enforcement": {"conduct": ["违反本条例第十八条第一款第一项、第二项、第六项规定的", "在禁止区域携犬进入的"]}}
    assert by_reference(ref)
    assert not by_reference({"enforcement": {"conduct": ["未依法领取养犬登记证擅自养犬的"]}})
    assert not by_reference({"enforcement": {}}) and not by_reference({})


def test_conduct_terms_leave_out_violation_words():
    terms = analyse(TRAINING_QUERY).conduct_terms
    assert "培训" in terms and "从业人员" in terms
    assert "罚款" not in terms


def test_conduct_cover_picks_the_matching_item():
    terms = list(analyse(TRAINING_QUERY).conduct_terms)
    penalty = {"text": "生产经营单位有下列行为之一的，责令限期改正，处十万元以下的罚款:\n（一）未按照规定设置安全生产管理机构的；\n"
                       "（三）未按照规定对从业人员、被派遣劳动者、实习学生进行安全生产教育和培训的；",
               "enforcement": {"conduct": ["未按照规定设置安全生产管理机构",
                                           "未按照规定对从业人员、被派遣劳动者、实习学生进行安全生产教育和培训"]}}
    other = dict(penalty, enforcement={"conduct": ["未按照规定设置安全生产管理机构"]})
    assert conduct_cover(terms, penalty) >= 0.6
    assert conduct_cover(terms, other) < conduct_cover(terms, penalty)
    assert cover([], "anything") == 0.0


# ---- on a real index ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rt(tmp_path_factory, corpus_dir):
    with ingested_runtime(tmp_path_factory.mktemp("linking-index"), main_job_files(corpus_dir)) as runtime:
        yield runtime


@pytest.fixture()
def rerank_off(rt):
    rt.engine.violation_rerank = False
    yield
    rt.engine.violation_rerank = True


def rank_of(hits: list[dict], title: str, no: int) -> int | None:
    for i, h in enumerate(hits, 1):
        if h["title"] == title and h["article_no"] == no:
            return i
    return None


def article_text(rt, title: str, no: int) -> str:
    _, parts = rt.index.article(title, no)
    return "\n".join(p.payload["text"] for p in parts)


@pytest.mark.integration
@pytest.mark.parametrize("region,title,penalty,duty", [
    (None, "中华人民共和国安全生产法", 97, 28),
    ("江苏省", "江苏省安全生产条例", 71, 21),
    ("徐州市", "徐州市安全生产条例", 46, 18),
])
def test_violation_question_returns_penalty_with_its_duty(rt, region, title, penalty, duty):
    res = rt.search(TRAINING_QUERY, top_k=10, filters={"region": region} if region else {})
    hits = res["hits"]
    rank = rank_of(hits, title, penalty)
    assert rank is not None and rank <= 3, [(h["title"], h["label"]) for h in hits]
    assert res.get("violation_rerank") is True
    hit = hits[rank - 1]
    linked = [x for x in hit["linked"] if x["relation"] == "penalizes" and x["article_no"] == duty]
    assert linked, hit["linked"]
    assert linked[0]["title"] == title
    assert linked[0]["text"] == article_text(rt, title, duty)
    # The asked duty comes first among the penalty's duties (安全生产法第九十七条 punishes six).
    assert hit["linked"][0]["article_no"] == duty
    # The duty is in the results as well — after the penalties for the same conduct (national, provincial, city) —
    # and links back to the penalty.
    drank = rank_of(hits, title, duty)
    assert drank is not None and drank <= 6
    back = [x for x in hits[drank - 1]["linked"] if x["relation"] == "penalized_by"]
    assert penalty in [x["article_no"] for x in back]


@pytest.mark.integration
@pytest.mark.parametrize("query", ["工厂没有给工人做安全生产教育和培训，会被怎么处罚？", "公司不给员工安全培训会怎样"])
def test_lay_violation_question(rt, query):
    hits = rt.search(query, top_k=5)["hits"]
    rank = rank_of(hits, "中华人民共和国安全生产法", 97)
    assert rank is not None and rank <= 3, [(h["title"], h["label"]) for h in hits]
    assert hits[rank - 1]["linked"][0]["article_no"] == 28


@pytest.mark.integration
def test_switch_off_keeps_links_but_not_the_promotion(rt, rerank_off):
    res = rt.search(TRAINING_QUERY, top_k=10)
    assert "violation_rerank" not in res
    hits = res["hits"]
    duty = hits[rank_of(hits, "中华人民共和国安全生产法", 28) - 1]
    assert [x["article_no"] for x in duty["linked"] if x["relation"] == "penalized_by"] == [97]
    assert all(not h.get("promoted") for h in hits)


@pytest.mark.integration
def test_unfiltered_sanction_question_puts_national_provincial_and_city_penalties_first(rt):
    """No region filter: the home region (徐州市, default LAWSEARCH_HOME_REGION) and its province rank like national
    law, so the three penalties for the asked conduct share the top 3, each with its duty attached first."""
    assert rt.engine.retriever.home_regions == {"徐州市", "江苏省"}
    hits = rt.search(TRAINING_QUERY, top_k=10)["hits"]
    top = [(h["title"], h["article_no"], h["linked"][0]["article_no"]) for h in hits[:3]]
    assert sorted(top) == sorted([("中华人民共和国安全生产法", 97, 28), ("江苏省安全生产条例", 71, 21),
                                  ("徐州市安全生产条例", 46, 18)]), top
    # Then the duties they punish.
    assert {(h["title"], h["article_no"]) for h in hits[3:6]} == {
        ("中华人民共和国安全生产法", 28), ("江苏省安全生产条例", 21), ("徐州市安全生产条例", 18)}


@pytest.mark.integration
def test_without_a_home_region_local_texts_yield_to_national_law(rt):
    home = rt.engine.retriever.home_regions
    rt.engine.retriever.home_regions = frozenset()
    try:
        hits = rt.search(TRAINING_QUERY, top_k=10)["hits"]
    finally:
        rt.engine.retriever.home_regions = home
    assert (hits[0]["title"], hits[0]["article_no"]) == ("中华人民共和国安全生产法", 97)
    assert {h["title"] for h in hits[:3]} == {"中华人民共和国安全生产法"}


@pytest.mark.integration
def test_sanction_question_orders_penalties_then_their_duties_then_the_rest(rt, rerank_off):
    # The order without the re-rank, deeper than the 20 shown: a duty a top penalty punishes may come from below.
    off = [(h["title"], h["article_no"]) for h in rt.search(TRAINING_QUERY, top_k=60)["hits"]]
    rt.engine.violation_rerank = True
    on = rt.search(TRAINING_QUERY, top_k=20)["hits"]
    n = next(i for i, h in enumerate(on) if not h["is_penalty"])
    assert n >= 3
    penalties = {(h["title"], h["article_no"]) for h in on[:n]}

    def punished_by_top(h):
        return any(x["relation"] == "penalized_by" and (x["title"], x["article_no"]) in penalties for x in h["linked"])

    m = next(i for i, h in enumerate(on[n:], n) if not punished_by_top(h))
    duties = [(h["title"], h["article_no"]) for h in on[n:m]]
    assert {("中华人民共和国安全生产法", 28), ("江苏省安全生产条例", 21), ("徐州市安全生产条例", 18)} <= set(duties)
    assert [k for k in off if k in duties] == duties  # in their own order
    rest = [(h["title"], h["article_no"]) for h in on[m:]]
    assert not any(punished_by_top(h) for h in on[m:])
    assert [k for k in off if k in rest] == rest  # the rest keeps its order


@pytest.mark.integration
def test_rerank_only_moves_penalties_above_their_duties(rt, rerank_off):
    """A violation question that does not ask for the sanction: the other hits keep their order, only promoted
    penalties are inserted."""
    query = "公司不给员工做安全生产教育和培训会怎样"
    off = rt.search(query, top_k=10)["hits"]
    rt.engine.violation_rerank = True
    on = rt.search(query, top_k=10)["hits"]
    promoted = {(h["title"], h["article_no"]) for h in on if h.get("promoted") == "violation"}
    assert promoted
    rest_on = [(h["title"], h["article_no"]) for h in on if (h["title"], h["article_no"]) not in promoted]
    rest_off = [(h["title"], h["article_no"]) for h in off if (h["title"], h["article_no"]) not in promoted]
    assert rest_on == rest_off[:len(rest_on)]


@pytest.mark.integration
def test_duty_question_is_not_reranked(rt, rerank_off):
    query = "生产经营单位应当对从业人员进行安全生产教育和培训"
    off = [(h["title"], h["article_no"]) for h in rt.search(query, top_k=10)["hits"]]
    rt.engine.violation_rerank = True
    res = rt.search(query, top_k=10)
    assert "violation_rerank" not in res
    assert [(h["title"], h["article_no"]) for h in res["hits"]] == off
    # The duty still shows what happens when it is broken.
    top = res["hits"][0]
    assert (top["title"], top["article_no"]) == ("中华人民共和国安全生产法", 28)
    assert any(x["relation"] == "penalized_by" and x["article_no"] == 97 and x["is_penalty"] for x in top["linked"])


@pytest.mark.integration
def test_citation_hit_carries_links(rt):
    res = rt.search("《徐州市安全生产条例》第十八条", top_k=3)
    assert res["mode"] == "citation"
    hit = res["hits"][0]
    assert hit["article_no"] == 18 and hit["version_date"] == "2024-12-09"
    assert [(x["relation"], x["article_no"]) for x in hit["linked"]] == [("penalized_by", 46)]
    assert "一万元以上十万元以下罚款" in hit["linked"][0]["text"]
    # Links stay within the version of the hit.
    assert hit["linked"][0]["version_id"] == hit["version_id"]


@pytest.mark.integration
def test_hits_without_enforcement_get_an_empty_list(rt):
    res = rt.search("法律援助的申请条件", top_k=5)
    assert all(isinstance(h["linked"], list) for h in res["hits"])

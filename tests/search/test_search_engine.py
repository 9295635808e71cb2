"""Search on a real index (Qdrant Edge, temp dir) of the Xuzhou set and national laws from ../shared/corpus."""
from __future__ import annotations

import random
import re

import pytest

from corpus.errors import InvalidFilter, NotFound
from corpus.numerals import int_to_cn
from search.citations import find_citations
from tests.indexes import ingested_runtime, main_job_files

pytestmark = pytest.mark.integration

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture(scope="module")
def rt(tmp_path_factory, corpus_dir):
    with ingested_runtime(tmp_path_factory.mktemp("search-index"), main_job_files(corpus_dir)) as runtime:
        yield runtime


def current_regulations(rt) -> list[dict]:
    return [r for r in rt.index.regulations() if r["is_current"]]


def citation_forms(title: str, short: str, no: int, rnd: random.Random) -> list[str]:
    cn = int_to_cn(no)
    forms = [f"《{title}》第{cn}条", f"{short}第{no}条", f"{short} 第{cn}条第一款", f"《{short}》第{no}条",
             f"{short}第{str(no).translate(FULLWIDTH)}条", f"{title}第{cn}条规定的是什么"]
    rnd.shuffle(forms)
    return forms[:4]


class TestCitations:
    def test_generated_citation_forms_hit_the_article_first(self, rt):
        rnd = random.Random(26)
        checked = 0
        for reg in current_regulations(rt):
            if "volume" in reg["version_id"]:
                continue
            nos = sorted({1, reg["article_count"], rnd.randint(1, reg["article_count"])})
            for no in nos:
                for q in citation_forms(reg["title"], reg["short_title"], no, rnd):
                    res = rt.search(q, top_k=5)
                    top = res["hits"][0]
                    assert (top["title"], top["article_no"]) == (reg["title"], no), q
                    assert top["is_current"], q
                    assert res["mode"] == "citation", q
                    checked += 1
        assert checked >= 100

    def test_clause_and_item_are_marked(self, rt):
        res = rt.search("安全生产法 第二十八条第一款第（三）项")
        top = res["hits"][0]
        assert top["title"] == "中华人民共和国安全生产法" and top["article_no"] == 28
        assert top["highlight"] == {"clause": 1, "item": 3}

    def test_ambiguous_short_title_lists_candidates(self, rt):
        res = rt.search("安全生产条例第二十条")
        assert set(res["candidates"]) == {"徐州市安全生产条例", "江苏省安全生产条例"}
        assert {h["title"] for h in res["hits"]} == {"徐州市安全生产条例", "江苏省安全生产条例"}
        narrowed = rt.search("安全生产条例第二十条", filters={"region": "徐州市"})
        assert narrowed["candidates"] == [] and narrowed["hits"][0]["title"] == "徐州市安全生产条例"

    def test_citation_inside_a_question_comes_first_then_retrieval(self, rt):
        res = rt.search("老板违反劳动法第三十六条让我天天加班怎么办")
        assert (res["hits"][0]["title"], res["hits"][0]["article_no"]) == ("中华人民共和国劳动法", 36)
        assert res["mode"].startswith("citation+") and len(res["hits"]) > 1

    def test_a_citation_of_an_article_or_law_that_does_not_exist_says_so(self, rt):
        """安全生产法第九百条 is no article: the answer says so with the nearest real ones, never similar hits."""
        res = rt.search("安全生产法第九百条")
        assert res["mode"] == "citation_not_found" and res["hits"] == []
        notice = res["not_found"][0]
        assert notice["reason"] == "article_not_found"
        assert "没有第九百条" in notice["message"] and "共一百一十九条" in notice["message"]
        assert "《中华人民共和国安全生产法》第一百一十九条" in notice["nearest"]
        res = rt.search("《中华人民共和国安全生产管理法》第三条")
        assert res["mode"] == "citation_not_found" and res["hits"] == []
        assert res["not_found"][0]["reason"] == "law_not_found"
        assert "中华人民共和国安全生产法" in res["not_found"][0]["nearest"]
        mixed = rt.search("安全生产法第九百条 和 第二十八条")
        assert [h["article_no"] for h in mixed["hits"]] == [28] and mixed["not_found"][0]["written"].endswith("第九百条")

    def test_recogniser_reads_every_form(self):
        got = [(m.citation.title, m.citation.article_no, m.citation.clause_no, m.citation.item_no)
               for m in find_citations("《中华人民共和国安全生产法》第二十八条、安全生产法第45条第2款和刑法第二百二十四条之一")]
        assert got[:2] == [("中华人民共和国安全生产法", 28, None, None), ("安全生产法", 45, 2, None)]
        assert find_citations("刑法第二百二十四条之一")[0].citation.article_suffix == "之一"


class TestVersionsAndFilters:
    def test_default_search_never_returns_superseded_text(self, rt):
        for q in ("生产经营单位安全生产责任制", "法律援助 经济困难 申请", "市容 环境卫生 责任区"):
            for h in rt.search(q, top_k=30)["hits"]:
                assert h["is_current"], (q, h["title"], h["version_date"])

    def test_as_of_returns_the_version_in_force_that_day(self, rt, corpus_dir):
        res = rt.search("徐州市安全生产条例第二十条", filters={"as_of": "2022-01-01"})
        top = res["hits"][0]
        assert top["version_date"].startswith("2019") and not top["is_current"]
        source = (corpus_dir / "xuzhou" / "徐州市安全生产条例_2019.md").read_text(encoding="utf-8")
        line = next(x for x in source.splitlines() if x.startswith("第二十条"))
        assert top["text"].split("\n")[0] in line
        lay = rt.search("生产安全事故隐患排查", filters={"as_of": "2022-01-01", "region": "徐州市"})
        assert all(h["version_date"] < "2024" for h in lay["hits"] if h["title"] == "徐州市安全生产条例")

    def test_filters_restrict_hits(self, rt):
        for flt, field, value in ((({"region": "徐州市"}), "region", "徐州市"), ({"level": "法律"}, "level", "法律")):
            hits = rt.search("安全生产 责任", top_k=20, filters=flt)["hits"]
            assert hits and all(h[field] == value for h in hits)
        agency = rt.search("罚款", top_k=20, filters={"agency": "应急管理"})["hits"]
        assert agency and all("应急管理" in h["agencies"] for h in agency)
        one = rt.search("罚款", top_k=20, filters={"regulation": "徐州市养犬管理条例"})["hits"]
        assert one and {h["title"] for h in one} == {"徐州市养犬管理条例"}

    def test_default_scope_is_the_law_applicable_in_the_home_region(self, rt):
        """A Xuzhou service answers from 徐州市, 江苏省 and national texts; another region's texts only when asked."""
        q = "劳动合同 试用期 工资"
        default = rt.search(q, top_k=30)["hits"]
        assert default and {h["region"] for h in default} <= {"徐州市", "江苏省", "全国", ""}
        everywhere = rt.search(q, top_k=30, filters={"scope": "all"})["hits"]
        assert "上海市" in {h["region"] for h in everywhere}
        shanghai = rt.search(q, top_k=30, filters={"applicable_in": "上海市"})["hits"]
        assert "上海市" in {h["region"] for h in shanghai}
        assert {h["region"] for h in shanghai} <= {"上海市", "全国", ""}

    def test_region_means_issued_by_and_applicable_in_means_binding_there(self, rt):
        issued = rt.search("安全生产 责任", top_k=20, filters={"region": "徐州市"})["hits"]
        assert issued and {h["region"] for h in issued} == {"徐州市"}
        binding = rt.search("安全生产 责任", top_k=30, filters={"applicable_in": "徐州市"})["hits"]
        assert {"徐州市", "江苏省", "全国"} <= {h["region"] for h in binding}
        with pytest.raises(InvalidFilter) as e:
            rt.search("安全生产", filters={"scope": "everywhere"})
        assert "检索范围" in e.value.message and e.value.detail == "everywhere"

    def test_bad_filters_are_clear_errors(self, rt):
        with pytest.raises(InvalidFilter) as e:
            rt.search("罚款", filters={"as_of": "2022/01/01"})
        assert "YYYY-MM-DD" in e.value.message
        for impossible in ("2020-02-30", "2020-13-01"):
            with pytest.raises(InvalidFilter) as e:
                rt.search("罚款", filters={"as_of": impossible})
            assert e.value.detail == impossible
        with pytest.raises(InvalidFilter):
            rt.search("罚款", filters={"colour": "red"})

    def test_a_citation_of_an_impossible_article_number_is_no_error(self, rt):
        """第9223372036854775808条 is past the store's 64-bit integers: no such article, search goes on."""
        res = rt.search("徐州市安全生产条例第9223372036854775808条")
        assert res["mode"] != "citation"
        with pytest.raises(NotFound):
            rt.index.article("徐州市安全生产条例", 2**63)
        with pytest.raises(InvalidFilter):
            rt.search("   ")

    def test_lay_dog_walking_words_reach_the_leash_duty(self, rt):
        """遛狗/牵绳 never occur in the texts: the glossary adds 携犬外出/束犬链/牵领 (徐州市养犬管理条例 第十八条)."""
        top = rt.search("遛狗不牵绳", top_k=3)["hits"]
        assert (top[0]["title"], top[0]["article_no"]) == ("徐州市养犬管理条例", 18), [
            (h["title"], h["label"]) for h in top]

    @pytest.mark.parametrize("query", ["遛狗不牵绳 罚款", "遛狗不拴绳会被罚款吗"])
    def test_lay_sanction_question_finds_the_penalty_that_cites_the_duty_by_number(self, rt, query):
        """第三十条 says only "违反本条例第十八条第一款第一项、第二项…规定的": the duty's match stands for it, and 罚款 is
        left out of the retrieval query (it pulled 行政处罚法's general articles on fines to the top)."""
        hits = rt.search(query, top_k=5)["hits"]
        keys = [(h["title"], h["article_no"]) for h in hits]
        assert keys[0] == ("徐州市养犬管理条例", 30), keys
        assert 18 in [x["article_no"] for x in hits[0]["linked"] if x["relation"] == "penalizes"]
        assert ("徐州市养犬管理条例", 18) in keys
        assert not any(t == "中华人民共和国行政处罚法" for t, _ in keys)

    def test_hits_carry_what_users_need(self, rt):
        h = rt.search("工厂没有给工人发劳动防护用品怎么办")["hits"][0]
        for key in ("regulation_id", "title", "article_no", "article_suffix", "label", "headings", "text", "snippet",
                    "score", "level", "region", "version_date", "status"):
            assert key in h, key
        assert "<mark>" in h["snippet"] and re.search("劳动防护用品|防护用品", h["text"])


class TestLearnedRanker:
    def test_a_ranker_trained_on_labelled_questions_orders_the_searches(self, rt, eval_dir):
        """`lawsearch train` fits the ranker on the labelled questions with this index's candidates and saves it;
        searches then say so and are ordered by it; without it they fall back to the fused order."""
        q = "新来的工人没培训就让上岗干活，合法吗？"
        before = [(h["title"], h["article_no"]) for h in rt.search(q, top_k=10)["hits"]]
        rt.training_questions = [eval_dir / "xuzhou_dev.jsonl"]
        try:
            folder = rt.train_ranker(progress=False)
            card = (folder / "card.json").read_text(encoding="utf-8")
            assert '"questions_used"' in card and "xuzhou_dev.jsonl" in card
            # the lay wording learned from the same questions is saved beside it and used by the searches
            from search.learned_wording import LearnedWording

            wording = LearnedWording.load(rt.data_dir)
            assert wording is not None and len(wording) > 0 and wording.card["questions"] >= 40
            assert rt.engine.retriever.wording is not None
            res = rt.search(q, top_k=10)
            assert "ranking: learned" in res["mode"] and f"wording: learned ({len(wording)} words" in res["mode"]
            scores = [h["score"] for h in res["hits"]]
            assert scores == sorted(scores, reverse=True) and len(scores) == 10
            assert {(h["title"], h["article_no"]) for h in res["hits"]} != set() and all(
                h["region"] in ("徐州市", "江苏省", "全国") for h in res["hits"])
        finally:
            rt.training_questions = []
            rt.remove_ranker()
        assert LearnedWording.load(rt.data_dir) is None and rt.engine.retriever.wording is None
        assert [(h["title"], h["article_no"]) for h in rt.search(q, top_k=10)["hits"]] == before

    def test_training_without_fold_embedders_leaves_the_served_retriever_alone(self, rt, eval_dir, monkeypatch):
        """With a pretrained model (or lexical only) the ranker learns from the index's own candidates, with each
        half's mined wording: on a copy of the retriever, so searches served meanwhile keep the saved wording."""
        import search.learning as learning

        live = rt.engine.retriever
        served_wording = live.wording
        seen = []
        real = learning.question_group

        def watching(retriever, question, flt):
            seen.append((retriever is live, live.wording is served_wording))
            return real(retriever, question, flt)

        monkeypatch.setattr(learning, "question_group", watching)
        monkeypatch.setattr(rt, "embedding_model", "a pretrained model")  # the branch without fold embedders
        rt.training_questions = [eval_dir / "xuzhou_dev.jsonl"]
        try:
            assert rt.train_ranker(progress=False) is not None
        finally:
            rt.training_questions = []
            rt.remove_ranker()
        assert len(seen) >= 40 and set(seen) == {(False, True)}

    def test_a_learned_statute_word_finds_what_the_everyday_words_miss(self, rt):
        """饭馆油烟 shares no word with the texts; the learned 油烟 → 餐饮服务 brings the catering articles."""
        from search.learned_wording import LearnedWording

        q = "饭馆油烟太大"
        assert not any("餐饮" in h["text"] for h in rt.search(q, top_k=5)["hits"])
        rt.engine.retriever.use_wording(LearnedWording({"油烟": ("餐饮服务",)}))
        try:
            hits = rt.search(q, top_k=5)["hits"]
        finally:
            rt.engine.retriever.use_wording(LearnedWording.load(rt.data_dir))
        assert hits and all("餐饮" in h["text"] for h in hits[:2])


def test_a_title_with_inner_book_marks_resolves(tmp_path, corpus_dir):
    """国务院实施《民族区域自治法》若干规定第十八条: the title itself holds 《》."""
    name = "国务院实施《民族区域自治法》若干规定(2005-05-19).md"
    with ingested_runtime(tmp_path, [corpus_dir / "lawref" / "行政法规" / name]) as rt:
        for q in ("国务院实施《民族区域自治法》若干规定第十八条", "国务院实施《中华人民共和国民族区域自治法》若干规定第十八条",
                  "《国务院实施〈中华人民共和国民族区域自治法〉若干规定》第十八条"):
            res = rt.search(q)
            assert res["mode"] == "citation", q
            assert res["hits"][0]["article_no"] == 18 and "民族区域自治法" in res["hits"][0]["title"], q


def test_the_ranker_learns_from_dense_scores_of_questions_the_embedder_did_not_see(rt, eval_dir):
    """Out-of-fold training groups: two embedders, each trained on one half of the questions, describe the other
    half — a ranker taught on scores the embedder had seen trusts the dense side too much."""
    from corpus.training import read_questions
    from search.engine import build_filter
    from search.learning import FoldEmbedder, fold_retriever, out_of_fold_groups
    from search.ranker import FEATURE_FIELDS, FEATURES
    from search.retrieval import RERANK_FIELDS

    questions = read_questions([eval_dir / "xuzhou_dev.jsonl"])[:24]
    flt = build_filter({}, rt.engine.titles, home_region=rt.home_region)
    real = FoldEmbedder(rt.index.articles, flt=flt, data_dir=rt.data_dir,
                        fields=list(RERANK_FIELDS) + list(FEATURE_FIELDS) + ["title"],
                        train_options={"corpus_pairs": 2000, "epochs": 1})
    trained_on: list[set[str]] = []

    def recording(seen):
        trained_on.append({q["id"] for q in seen})
        return real(seen)

    def make_retriever(emb, dense, wording):
        return fold_retriever(rt.index.articles, rt.sparse_encoders, emb, dense, wording,
                              home_regions=rt.home_regions(), stats=rt.regulation_stats())

    groups = out_of_fold_groups(questions, flt, fold_embedder=recording, make_retriever=make_retriever)
    assert len(trained_on) == 2 and len(groups) == len(questions)
    assert {g.question_id for g in groups} == {q["id"] for q in questions}
    # the first half's groups were described by the model trained on the other half, and the other way round
    first_half = {g.question_id for g in groups[: len(trained_on[1])]}
    assert first_half == trained_on[1] and not first_half & trained_on[0]
    assert trained_on[0] | trained_on[1] == {q["id"] for q in questions}
    cos = FEATURES.index("cos")
    assert any(float(g.features[:, cos].max()) > 0 for g in groups)  # the dense side took part

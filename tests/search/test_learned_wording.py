"""Lay wording mined from labelled questions (search.learned_wording)."""
from __future__ import annotations

from search.learned_wording import LearnedWording

LABOUR = ("劳动合同法", 1, "")
SAFETY = ("安全生产法", 1, "")
SEEDS = ("种子法", 1, "")
TEXTS = {
    LABOUR: "用人单位应当依法与劳动者订立书面劳动合同。",
    SAFETY: "生产经营单位应当对从业人员进行安全生产教育和培训。",
    SEEDS: "销售的种子应当符合国家或者行业标准，应当附有标签。",
}


def q(text: str, *keys) -> dict:
    return {"query": text, "relevant": [{"title": k[0], "article": k[1], "suffix": k[2]} for k in keys]}


QUESTIONS = [
    q("老板不签合同怎么办", LABOUR), q("老板拖着不给签合同", LABOUR), q("老板说试用期不用签合同", LABOUR),
    q("工厂不培训就让上岗", SAFETY), q("工厂没有安全培训", SAFETY),
    q("买到假种子怎么办", SEEDS), q("种子发芽率低找谁", SEEDS), q("老板让我去买种子", SEEDS),
]


def test_a_word_of_the_questions_learns_the_statute_words_of_their_answers():
    w = LearnedWording.mine(QUESTIONS, TEXTS, min_questions=2, min_pairs=2, min_share=0.5, min_lift=1.5, top=10)
    # 老板 is asked four times, three of them answered by the article that says 用人单位
    assert "用人单位" in w.terms["老板"] and "劳动者" in w.terms["老板"]
    assert "从业人员" in w.terms["工厂"]
    # 应当 is in every answer: it says nothing about any question word
    assert not any("应当" in t for t in w.terms.values())
    assert w.card["questions"] == len(QUESTIONS)


def test_a_word_asked_once_or_an_answer_seen_once_is_not_learned():
    w = LearnedWording.mine(QUESTIONS, TEXTS, min_questions=2, min_pairs=2, min_share=0.5, min_lift=1.5, top=10)
    assert "发芽率" not in w.terms  # asked once
    strict = LearnedWording.mine(QUESTIONS, TEXTS, min_questions=2, min_pairs=4, min_share=0.5, min_lift=1.5, top=10)
    assert "老板" not in strict.terms  # three pairs, four wanted


def test_questions_whose_articles_are_not_in_the_index_are_left_out():
    w = LearnedWording.mine(QUESTIONS + [q("老板跑路了", ("不在索引中的法", 3, ""))], TEXTS,
                            min_questions=2, min_pairs=2, min_share=0.5, min_lift=1.5, top=10)
    assert w.card["questions"] == len(QUESTIONS)


def test_the_terms_of_a_query_are_new_words_only():
    w = LearnedWording({"老板": ("用人单位", "劳动合同"), "合同": ("劳动合同",)})
    assert sorted(w.terms_for("老板不签合同")) == ["劳动合同", "用人单位"]
    assert w.terms_for("老板不签劳动合同") == ["用人单位"]  # 劳动合同 is asked already
    assert w.terms_for("今天天气很好") == []


def test_saved_beside_the_index_and_removed(tmp_path):
    assert LearnedWording.load(tmp_path) is None
    w = LearnedWording.mine(QUESTIONS, TEXTS, min_questions=2, min_pairs=2, min_share=0.5, min_lift=1.5, top=10)
    w.save(tmp_path)
    back = LearnedWording.load(tmp_path)
    assert back.terms == w.terms and back.card == w.card
    LearnedWording.remove(tmp_path)
    assert LearnedWording.load(tmp_path) is None


def test_a_long_question_takes_each_words_best_terms_first_up_to_the_cap():
    w = LearnedWording({"老板": ("用人单位", "劳动者", "工资"), "工厂": ("生产经营单位", "从业人员")})
    assert w.terms_for("老板让工厂加班", limit=2) == ["生产经营单位", "用人单位"]  # each word's best before any second
    assert len(w.terms_for("老板让工厂加班", limit=10)) == 5

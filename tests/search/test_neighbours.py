"""Labelled neighbours: the questions most like a query vote for their answers' regulations and articles."""
from __future__ import annotations

import json

import numpy as np

from search.neighbours import LabelledNeighbours
from search.ranker import FEATURES, Jurisdiction, LearnedRanker, RegulationStats, TrainingGroup, bigrams, build_features

from tests.search.test_ranker import VERSIONS, candidate

DOGS = "徐州市养犬管理条例"
QUESTIONS = [
    {"id": "a", "query": "我家的狗走丢了，要去派出所办注销手续吗？", "relevant": [{"title": DOGS, "article": 16}]},
    {"id": "b", "query": "养的狗丢失了，需要向公安机关报告吗", "relevant": [{"title": DOGS, "article": 16}]},
    {"id": "c", "query": "遛狗不拴绳被人投诉会罚款吗", "relevant": [{"title": DOGS, "article": 31}]},
    {"id": "d", "query": "工厂没给工人做安全培训就让上岗", "relevant": [{"title": "安全生产法", "article": 28}]},
    {"id": "e", "query": "没有答案的问题", "relevant": []},
]


def test_a_question_like_an_answered_one_votes_for_its_regulation_and_article_but_not_for_itself():
    nb = LabelledNeighbours.of_questions(QUESTIONS, k=2)
    assert len(nb) == 4  # a question without an answer teaches nothing
    regs, arts = nb.votes("狗走丢了要去派出所办什么手续")
    assert max(regs, key=regs.get) == DOGS and regs.get("安全生产法", 0.0) < regs[DOGS]
    assert max(arts, key=arts.get) == (DOGS, 16, "")
    assert abs(sum(regs.values()) - 1.0) < 1e-9  # the k nearest share one vote
    # In training a question is not its own neighbour: the one safety question then has nobody to vote for its law.
    assert nb.votes(QUESTIONS[3]["query"])[0]["安全生产法"] > 0.5
    assert "安全生产法" not in nb.votes(QUESTIONS[3]["query"], exclude="d")[0]
    assert nb.votes("完全无关的文字：天气") == ({}, {})


def test_the_saved_neighbours_hold_no_question_text_and_vote_the_same(tmp_path):
    nb = LabelledNeighbours.of_questions(QUESTIONS)
    path = nb.save(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "派出所" not in text and "狗" not in text and DOGS in text  # hashed bigrams, gold titles
    assert json.loads(text)["questions"][0]["id"] == "a"
    again = LabelledNeighbours.load(tmp_path)
    assert again.votes("狗丢了怎么办") == nb.votes("狗丢了怎么办")


def test_neighbour_votes_become_two_ranker_columns_and_travel_with_the_ranker(tmp_path):
    stats, where = RegulationStats.from_versions(VERSIONS), Jurisdiction.of({"徐州市", "江苏省"})
    cands = [candidate(DOGS, "徐州市", 16, rank=1, level="地方性法规"), candidate(DOGS, "徐州市", 31, rank=0),
             candidate("安全生产法", "全国", 28, rank=2)]
    nb = LabelledNeighbours.of_questions(QUESTIONS, k=2)
    x = build_features(bigrams("狗丢了"), {}, cands, stats, where, votes=nb.votes("狗走丢了要去派出所办手续"))
    reg, art = x[:, FEATURES.index("neighbour_regulation")], x[:, FEATURES.index("neighbour_article")]
    assert reg[0] == reg[1] > reg[2] and art[0] > art[1] == 0.0
    assert not build_features(bigrams("狗丢了"), {}, cands, stats, where)[:, -2:].any()  # no neighbours: zeros
    rng = np.random.default_rng(0)
    groups = [TrainingGroup(f"q{i}", rng.random((20, len(FEATURES))).astype(np.float32),
                            (np.arange(20) == i % 20).astype(np.int32)) for i in range(40)]
    ranker = LearnedRanker.train(groups, neighbours=nb)
    assert ranker.card["neighbours"] == 4
    ranker.save(tmp_path)
    loaded = LearnedRanker.load(tmp_path)
    assert loaded.neighbours is not None and loaded.neighbours.votes("狗丢了") == nb.votes("狗丢了")
    LearnedRanker.remove(tmp_path)
    assert not (tmp_path / "ranker" / "neighbours.json").exists()

"""The learned ranker: features a person would weigh, a model that learns them, saved and loaded unchanged."""
from __future__ import annotations

import numpy as np
import pytest

from search.ranker import (FEATURES, Candidate, Jurisdiction, LearnedRanker, RegulationStats, TrainingGroup, bigrams,
                           build_features, title_core)

VERSIONS = [
    {"title": "中华人民共和国安全生产法", "title_key": "安全生产法", "region": "全国", "is_current": True, "article_count": 119},
    {"title": "徐州市安全生产条例", "title_key": "徐州市安全生产条例", "region": "徐州市", "is_current": True,
     "article_count": 50},
    {"title": "工伤保险条例", "title_key": "工伤保险条例", "region": "全国", "is_current": True, "article_count": 67},
    {"title": "徐州市养犬管理条例", "title_key": "徐州市养犬管理条例", "region": "徐州市", "is_current": True,
     "article_count": 40},
    {"title": "旧条例", "title_key": "旧条例", "region": "全国", "is_current": False, "article_count": 3},
]


def candidate(title_key: str, region: str, no: int, *, rank: int, level: str = "法律", penalty: bool = False,
              headings: list[str] | None = None) -> Candidate:
    payload = {"title_key": title_key, "region": region, "level": level, "article_no": no, "is_penalty": penalty,
               "headings": headings or [], "version_date": "2021-06-10", "kind": "article"}
    return Candidate(id=f"{title_key}-{no}", payload=payload, fused=1.0 / (rank + 1), fused_rank=rank,
                     bm25=0.5, bm25_rank=rank, cos=None, cos_rank=None)


def test_title_core_is_what_a_text_is_about():
    assert title_core("中华人民共和国安全生产法") == "安全生产"
    assert title_core("徐州市质量促进条例", "徐州市") == "质量促进"
    assert title_core("工伤保险条例") == "工伤保险"
    assert bigrams("工伤 保险") == {"工伤", "保险"}  # a space breaks the pair 伤保


def test_title_match_weighs_rare_title_words():
    stats = RegulationStats.from_versions(VERSIONS)
    assert "旧条例" not in stats.title_words  # superseded versions are not searched
    mass, share = stats.title_match("工伤保险条例", bigrams("下班路上被撞了算不算工伤"))
    assert mass > 0 and 0 < share < 1
    assert stats.title_match("工伤保险条例", bigrams("遛狗不牵绳")) == (0.0, 0.0)
    _, shared = stats.title_match("安全生产法", bigrams("安全生产"))
    assert shared == pytest.approx(1.0)


def test_features_say_which_law_applies_and_what_kind_of_article_it_is():
    stats = RegulationStats.from_versions(VERSIONS)
    where = Jurisdiction.of({"徐州市", "江苏省"})
    assert where == Jurisdiction(city="徐州市", province="江苏省")
    cands = [candidate("徐州市安全生产条例", "徐州市", 46, rank=0, level="地方性法规", penalty=True, headings=["第五章 法律责任"]),
             candidate("安全生产法", "全国", 97, rank=1, penalty=True),
             candidate("上海市劳动合同条例", "上海市", 2, rank=2, level="地方性法规")]
    x = build_features(bigrams("没培训就上岗 罚款"), {"violation": True, "penalty_intent": True}, cands, stats, where)
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    assert x.shape == (3, len(FEATURES))
    assert col["home_city"].tolist() == [1, 0, 0] and col["national"].tolist() == [0, 1, 0]
    assert col["other_region"].tolist() == [0, 0, 1]
    assert col["penalty_for_sanction"].tolist() == [1, 1, 0]
    assert col["level_地方性法规"].tolist() == [1, 0, 1]
    assert col["position"][1] == pytest.approx(97 / 119)
    assert col["fused"][0] == pytest.approx(1.0) and col["fused_rank"][0] == 0
    assert col["in_dense"].tolist() == [0, 0, 0] and col["year"][0] == 2021


def _synthetic_groups(n: int, seed: int) -> list[TrainingGroup]:
    """Questions whose relevant candidate is the one whose title matches, wherever fusion put it."""
    rng = np.random.default_rng(seed)
    groups = []
    for q in range(n):
        x = rng.random((30, len(FEATURES))).astype(np.float32)
        x[:, FEATURES.index("title_share")] = 0.0
        right = int(rng.integers(0, 30))
        x[right, FEATURES.index("title_share")] = 1.0
        y = np.zeros(30, dtype=np.int32)
        y[right] = 1
        groups.append(TrainingGroup(f"q{q}", x, y))
    return groups


def test_ranker_learns_a_signal_and_is_deterministic(tmp_path):
    train, test = _synthetic_groups(120, 1), _synthetic_groups(30, 2)
    ranker = LearnedRanker.train(train)
    again = LearnedRanker.train(train)
    top_right = sum(int(np.argmax(ranker.scores(g.features)) == int(np.argmax(g.labels))) for g in test)
    assert top_right >= 27  # the title signal puts the right one first
    assert np.array_equal(ranker.scores(test[0].features), again.scores(test[0].features))
    assert max(ranker.importance(), key=ranker.importance().get) == "title_share"
    ranker.card["questions_files"] = ["x.jsonl"]
    ranker.save(tmp_path)
    loaded = LearnedRanker.load(tmp_path)
    assert loaded is not None and loaded.card["questions_files"] == ["x.jsonl"]
    assert np.allclose(loaded.scores(test[0].features), ranker.scores(test[0].features))
    LearnedRanker.remove(tmp_path)
    assert LearnedRanker.load(tmp_path) is None and not LearnedRanker.saved(tmp_path)


def test_a_ranker_saved_before_the_features_changed_is_not_used(tmp_path):
    """After an upgrade that added features, the old model would read the wrong columns: it is left unused (the
    retrieval description then says to retrain) instead of ranking with shifted features."""
    import lightgbm as lgb

    groups = _synthetic_groups(60, 1)
    old = lgb.LGBMRanker(n_estimators=5, verbose=-1).fit(
        np.vstack([g.features[:, :-1] for g in groups]), np.concatenate([g.labels for g in groups]),
        group=[len(g.labels) for g in groups], feature_name=list(FEATURES[:-1]))
    LearnedRanker(old.booster_).save(tmp_path)
    assert LearnedRanker.saved(tmp_path) and LearnedRanker.load(tmp_path) is None


def test_a_question_set_without_any_found_answer_is_refused():
    g = TrainingGroup("q", np.zeros((3, len(FEATURES)), dtype=np.float32), np.zeros(3, dtype=np.int32))
    with pytest.raises(ValueError):
        LearnedRanker.train([g])


def test_the_encoder_columns_come_only_with_the_encoder_and_a_ranker_keeps_its_width(tmp_path):
    from search.ranker import ENCODER_FEATURES

    stats = RegulationStats.from_versions(VERSIONS)
    cands = [candidate("安全生产法", "全国", 28, rank=0)]
    cands[0].encoder, cands[0].encoder_rank = 0.8, 0
    plain = build_features(bigrams("安全生产"), {}, cands, stats, Jurisdiction(city="徐州市", province="江苏省"))
    wide = build_features(bigrams("安全生产"), {}, cands, stats, Jurisdiction(city="徐州市", province="江苏省"),
                          encoder=True)
    assert plain.shape[1] == len(FEATURES) and wide.shape[1] == len(FEATURES) + len(ENCODER_FEATURES)
    assert np.array_equal(wide[:, :len(FEATURES)], plain) and wide[0, len(FEATURES)] == pytest.approx(0.8)
    # a ranker trained with the encoder's columns says so, and loads back with them
    groups = [TrainingGroup(g.question_id, np.hstack([g.features, np.zeros((len(g.labels), 3), np.float32)]), g.labels)
              for g in _synthetic_groups(60, 3)]
    ranker = LearnedRanker.train(groups)
    assert ranker.uses_encoder and ranker.card["features"][-3:] == list(ENCODER_FEATURES)
    ranker.save(tmp_path)
    assert LearnedRanker.load(tmp_path).uses_encoder
    assert not LearnedRanker.train(_synthetic_groups(60, 3)).uses_encoder


def test_the_seed_bag_orders_its_head_by_all_members_and_the_rest_by_the_first(tmp_path):
    from search.ranker import ENSEMBLE_HEAD

    train = _synthetic_groups(120, 4)
    bag = LearnedRanker.train(train, seeds=(7, 1, 2))
    members = [LearnedRanker.train(train, seeds=(s,)) for s in (7, 1, 2)]
    assert len(bag.member_trees) == 3 and bag.booster.num_trees() == sum(m.booster.num_trees() for m in members)
    x = np.vstack([g.features for g in _synthetic_groups(4, 5)])  # 120 candidates: more than the head
    first = members[0].scores(x)
    mean = sum(m.scores(x) for m in members) / 3
    got = bag.scores(x)
    head = np.argsort(-first, kind="stable")[:ENSEMBLE_HEAD]
    rest = np.setdiff1d(np.arange(len(x)), head)
    # the head in the members' mean order, above every other candidate, which keep the first member's order
    assert np.array_equal(np.argsort(-got[head], kind="stable"), np.argsort(-mean[head], kind="stable"))
    assert got[head].min() > got[rest].max()
    assert np.array_equal(np.argsort(-got[rest], kind="stable"), np.argsort(-first[rest], kind="stable"))
    bag.save(tmp_path)
    assert np.array_equal(LearnedRanker.load(tmp_path).scores(x), got)


def test_a_single_model_saved_before_the_bag_still_loads_and_scores_with_all_its_trees(tmp_path):
    train = _synthetic_groups(60, 6)
    one = LearnedRanker.train(train, seeds=(7,))
    assert "member_trees" not in one.card
    one.save(tmp_path)
    loaded = LearnedRanker.load(tmp_path)
    x = train[0].features
    assert loaded.member_trees == [one.booster.num_trees()]
    assert np.array_equal(loaded.scores(x), np.asarray(one.booster.predict(x), dtype=np.float64))

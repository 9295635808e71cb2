"""Feedback entries: kept durably, reviewed, expired after the retention period, exported as labelled questions."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from corpus.errors import InvalidFilter, NotFound
from corpus.feedback import FeedbackStore
from corpus.training import question_records

ANSWER = {"title": "徐州市养犬管理条例", "article_no": 18, "article_suffix": ""}


def test_feedback_survives_a_reopen_and_review_keeps_it(tmp_path):
    store = FeedbackStore(tmp_path)
    a = store.add("遛狗不牵绳怎么办", ANSWER, shown=[ANSWER], filters={"scope": "applicable"})
    b = store.add("狗咬人了主人要负什么责任", None)
    again = FeedbackStore(tmp_path)  # a restart
    assert [e.id for e in again.entries()] == [a.id, b.id]
    assert [e.status for e in again.entries()] == ["pending", "pending"]
    again.review(a.id, accept=True, reviewer="key-1")
    again.review(b.id, accept=False, reviewer="key-1")
    assert [e.id for e in FeedbackStore(tmp_path).entries("accepted")] == [a.id]
    # "none of these" teaches no article: only named answers become labelled questions
    exported = [json.loads(line) for line in again.export().splitlines()]
    assert exported == [{"id": f"feedback-{a.id}", "query": "遛狗不牵绳怎么办",
                         "relevant": [{"title": "徐州市养犬管理条例", "article": 18, "suffix": ""}]}]
    assert question_records(again.accepted_questions())[0]["relevant"] == [("徐州市养犬管理条例", 18, "")]


def test_entries_past_the_retention_period_are_dropped(tmp_path):
    store = FeedbackStore(tmp_path, retention_days=30)
    old = store.add("旧问题", ANSWER)
    lines = store.path.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record["created"] = (dt.datetime.now().astimezone() - dt.timedelta(days=31)).isoformat(timespec="seconds")
    store.path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    assert store.entries() == []
    store.add("新问题", None)
    assert old.id not in store.path.read_text(encoding="utf-8")  # gone from disk, not only hidden
    with pytest.raises(NotFound):
        store.review(old.id, accept=True, reviewer="x")


def test_bad_feedback_is_refused_in_chinese_and_nothing_is_written(tmp_path):
    store = FeedbackStore(tmp_path)
    for question, article in (("", ANSWER), ("问" * 501, ANSWER), ("问题", {"title": "", "article_no": 1}),
                              ("问题", {"title": "某法", "article_no": "x"})):
        with pytest.raises(InvalidFilter) as e:
            store.add(question, article)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in e.value.message)
    assert not store.path.exists()


def test_a_line_cut_by_a_crash_does_not_hide_the_others(tmp_path):
    store = FeedbackStore(tmp_path)
    kept = store.add("问题一", ANSWER)
    with open(store.path, "a", encoding="utf-8") as fh:
        fh.write('{"id": "cut", "created": "2026-')
    assert [e.id for e in store.entries()] == [kept.id]
    after = store.add("问题二", None)
    assert [e.id for e in store.entries()] == [kept.id, after.id]
    store.add("问题三", None)
    assert "\n\n" not in store.path.read_text(encoding="utf-8")  # a whole last line needs no new one

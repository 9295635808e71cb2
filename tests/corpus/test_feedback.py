"""Feedback entries: kept durably, reviewed, expired after the retention period, exported as labelled questions."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

from corpus.errors import InvalidFilter, NotFound
from corpus.feedback import FeedbackStore
from corpus.training import question_records
from tests.processes import run_beside

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


# -- several server workers (`lawsearch serve --workers N`) share one data directory ----------------------------------

APPENDER = """
import sys
from pathlib import Path
from corpus.feedback import FeedbackStore
store, worker = FeedbackStore(Path(sys.argv[1])), sys.argv[2]
for j in range(int(sys.argv[3])):
    store.add(f"并发问题 {worker}-{j}", None)
"""

REVIEWER = """
import json, sys, time
from pathlib import Path
from corpus.feedback import FeedbackStore
store, ready, done = FeedbackStore(Path(sys.argv[1])), Path(sys.argv[2]), Path(sys.argv[3])
reviews = {}
ready.touch()
while True:
    finished = done.exists()  # looked at before the pass, so a last pass follows the last append
    pending = store.entries("pending")[:3]
    for e in pending:
        accept = len(reviews) % 2 == 0
        store.review(e.id, accept=accept, reviewer="key-test")
        reviews[e.id] = "accepted" if accept else "rejected"
    if finished:
        break
    if not pending:
        time.sleep(0.001)
print(json.dumps(reviews))
"""


def test_appends_and_reviews_from_several_processes_lose_nothing(tmp_path):
    """4 workers append 50 entries each while a fifth reviews: every entry is there once, every review holds."""
    workers, each = 4, 50
    data = tmp_path / "data"
    reviews = json.loads(run_beside(REVIEWER, data, [(APPENDER, (data, w, each)) for w in range(workers)], tmp_path))

    store = FeedbackStore(data)
    text = store.path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]  # every line whole: no two appends interleaved
    found = Counter(r["question"] for r in lines)
    expected = Counter(f"并发问题 {w}-{j}" for w in range(workers) for j in range(each))
    assert not expected - found, f"{sum((expected - found).values())} entries lost"
    assert not found - expected, f"entries written twice or mangled: {found - expected}"
    assert len({r["id"] for r in lines}) == workers * each
    assert reviews, "the reviewer reviewed nothing: the test did not exercise a rewrite"
    status = {e.id: e.status for e in store.entries()}
    assert {i: status[i] for i in reviews} == reviews

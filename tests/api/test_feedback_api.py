"""Feedback through the API: anyone may mark the answering article or "none of these"; only an admin reviews and
exports; accepted feedback reaches training."""
from __future__ import annotations

import json

import pytest

from tests.api.conftest import READER_KEY

pytestmark = pytest.mark.integration

ANSWER = {"title": "徐州市养犬管理条例", "article_no": 18}


def test_feedback_round_trip(client, admin, runtime, api_settings):
    r = client.post("/api/feedback", json={"question": "遛狗不牵绳怎么办", "article": ANSWER, "shown": [ANSWER]})
    assert r.status_code == 201, r.text
    entry_id = r.json()["id"]
    assert "感谢" in r.json()["message"]
    none = client.post("/api/feedback", json={"question": "狗咬人了主人要负什么责任", "article": None})
    assert none.status_code == 201
    for headers in ({}, {"X-API-Key": READER_KEY}):
        assert client.get("/api/feedback", headers=headers).status_code in (401, 403)
        assert client.post(f"/api/feedback/{entry_id}/review", json={"accept": True},
                           headers=headers).status_code in (401, 403)
    pending = client.get("/api/feedback", params={"status": "pending"}, headers=admin).json()["entries"]
    assert entry_id in {e["id"] for e in pending}
    r = client.post(f"/api/feedback/{entry_id}/review", json={"accept": True}, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    exported = [json.loads(x) for x in client.get("/api/feedback/export", headers=admin).text.splitlines()]
    assert {"query": "遛狗不牵绳怎么办", "relevant": [{"title": "徐州市养犬管理条例", "article": 18, "suffix": ""}]}.items() \
        <= next(q for q in exported if q["query"] == "遛狗不牵绳怎么办").items()
    assert ("徐州市养犬管理条例", 18, "") in {k for q in runtime.labelled_questions() for k in q["relevant"]}
    audit = (api_settings.data_dir / "audit.log").read_text(encoding="utf-8")
    assert "review feedback" in audit and "遛狗" not in audit  # the audit names the entry, not the question


def test_bad_feedback_gets_a_chinese_error(client, admin):
    r = client.post("/api/feedback", json={"question": "问题", "article": {"title": "某法", "article_no": 0}})
    assert r.status_code in (400, 422) and any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["message"])
    r = client.post("/api/feedback/nope/review", json={"accept": True}, headers=admin)
    assert r.status_code == 404 and "反馈" in r.json()["message"]

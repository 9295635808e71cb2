"""What people read from the API is Chinese (issue 13): validation errors name the field and the limit, the
retrieval in use has a Chinese name, regulations are listed home region first, and an article can be read by the
regulation's title (what `lawsearch article` asks a running server)."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration


def latin_words(text: str) -> list[str]:
    """Latin words outside the parentheses that name a parameter: 查询内容（q）."""
    return re.findall(r"[A-Za-z]{2,}", re.sub(r"（[\w.]+）", "", text))


@pytest.mark.parametrize("call,words", [
    (lambda c: c.get("/api/search", params={"q": "安" * 612}), ["查询内容（q）", "最多 500 个字符", "现有 612 个"]),
    (lambda c: c.get("/api/search", params={"q": "安全", "top_k": 0}), ["返回条数（top_k）", "不能小于 1"]),
    (lambda c: c.get("/api/search", params={"q": "安全", "top_k": "many"}), ["返回条数（top_k）", "应为整数"]),
    (lambda c: c.get("/api/search"), ["查询内容（q）", "必须填写"]),
    (lambda c: c.post("/api/ask", json={"question": "问" * 501}), ["问题（question）", "最多 500 个字符"]),
    (lambda c: c.post("/api/ask", json={}), ["问题（question）", "必须填写"]),
    (lambda c: c.get("/api/outreach", params={"agency": "应急管理", "format": "pdf"}), ["格式（format）", "格式不正确"]),
])
def test_validation_errors_name_the_field_in_chinese(client, call, words):
    r = call(client)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_request" and body["message"].startswith("请求参数不正确：")
    for w in words:
        assert w in body["message"], body
    assert not latin_words(body["message"] + body["detail"]), body


def test_the_retrieval_has_a_chinese_name(client):
    h = client.get("/healthz").json()
    assert h["retrieval_label"].startswith("关键词检索") and not latin_words(h["retrieval_label"]), h
    assert any(m.startswith("sparse: BM25") for m in h["retrieval"])  # the codes stay for programs


def test_regulations_are_listed_home_region_first(client):
    regs = client.get("/api/regulations").json()["regulations"]
    regions = [r["region"] for r in regs]
    order = [regions.index(x) for x in ("徐州市", "江苏省", "全国")]
    assert order == sorted(order), regions
    assert regions.index("江苏省") > max(i for i, x in enumerate(regions) if x == "徐州市")
    assert regions.index("全国") > max(i for i, x in enumerate(regions) if x == "江苏省")
    national = [r["level"] for r in regs if r["region"] == "全国"]
    assert national.index("法律") < national.index("行政法规")
    every = client.get("/api/regulations", params={"all_versions": True}).json()["regulations"]
    ids = {r["regulation_id"] for r in every}
    assert len(ids) == len(regs) and len(every) > len(regs)  # superseded versions listed too


def test_an_article_by_title(client):
    body = client.get("/api/article", params={"title": "徐州市安全生产条例", "article": "第二十条"}).json()
    assert body["regulation"]["is_current"] and body["article"]["label"] == "第二十条"
    assert "事故隐患" in body["article"]["text"] and body["article"]["clauses"]
    r = client.get("/api/article", params={"title": "安全生产条例", "article": "20"})
    assert r.status_code == 409 and "徐州市安全生产条例" in r.json()["candidates"]
    r = client.get("/api/article", params={"title": "徐州市安全生产条例", "article": "900"})
    assert r.status_code == 404 and "没有第900条" in r.json()["message"]

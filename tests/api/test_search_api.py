"""Search, regulations, articles, errors, health, metrics and headers — through HTTP over the real xuzhou index."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration

XZ_SAFETY = "徐州市安全生产条例"


def _reg_id(client, title: str) -> str:
    regs = client.get("/api/regulations").json()["regulations"]
    return next(r["regulation_id"] for r in regs if r["title"] == title)


def test_search_finds_labour_protection_articles(client):
    r = client.get("/api/search", params={"q": "劳动防护用品", "top_k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["hits"], body
    top = body["hits"][0]
    assert "劳动防护用品" in top["text"]
    assert "<mark>" in top["snippet"]
    assert top["citation"].startswith("《") and "》第" in top["citation"]
    # the snippet is HTML-escaped except for the marks
    assert re.sub(r"</?mark>", "", top["snippet"]).find("<") == -1


def test_citation_query_returns_that_article(client):
    body = client.get("/api/search", params={"q": "徐州市安全生产条例第二十条"}).json()
    assert body["mode"].startswith("citation")
    hit = body["hits"][0]
    assert hit["title"] == XZ_SAFETY and hit["article_no"] == 20 and hit["article_suffix"] == ""
    assert "隐患排查治理" in hit["text"]


def test_search_filters_region_and_as_of(client):
    body = client.get("/api/search", params={"q": "安全生产", "region": "徐州市", "top_k": 20}).json()
    assert body["hits"] and all(h["region"] == "徐州市" for h in body["hits"])
    assert body["filters"] == {"region": "徐州市"}
    # As of 2020 the 2019 text of the Xuzhou regulation was in force, not the 2024 amendment.
    old = client.get("/api/search", params={"q": "安全生产", "regulation": XZ_SAFETY, "as_of": "2020-06-01"}).json()
    assert old["hits"] and {h["version_date"][:4] for h in old["hits"]} == {"2019"}


@pytest.mark.parametrize("params,status,code", [
    ({"q": "安全", "as_of": "2020/01/01"}, 400, "invalid_filter"),
    ({"q": "安全", "regulation": "不存在的条例"}, 400, "invalid_filter"),
    ({"q": "安全", "top_k": 0}, 422, "invalid_request"),
    ({}, 422, "invalid_request"),
])
def test_search_errors_are_chinese_json(client, params, status, code):
    r = client.get("/api/search", params=params)
    assert r.status_code == status
    body = r.json()
    assert body["code"] == code
    assert re.search(r"[\u4e00-\u9fff]", body["message"])
    assert set(body) >= {"code", "message", "detail"}
    assert "Traceback" not in r.text and "/tmp/" not in r.text and "/work/" not in r.text


def test_regulations_list_and_detail(client):
    body = client.get("/api/regulations").json()
    titles = {r["title"] for r in body["regulations"]}
    assert XZ_SAFETY in titles and "江苏省安全生产条例" in titles
    assert body["total"] == len(body["regulations"])
    assert all("source_path" not in r for r in body["regulations"])
    xz = next(r for r in body["regulations"] if r["title"] == XZ_SAFETY)
    assert xz["versions"] == 2
    detail = client.get(f"/api/regulations/{xz['regulation_id']}").json()
    assert [v["version_date"][:4] for v in detail["versions"]] == ["2019", "2024"]
    assert detail["is_current"] and detail["version_date"].startswith("2024")
    assert any(t["label"] == "第二十条" for t in detail["toc"])
    assert "/work/" not in str(detail) and "source_path" not in detail


def test_article_view_with_chapter_and_versions(client):
    rid = _reg_id(client, XZ_SAFETY)
    body = client.get(f"/api/regulations/{rid}/articles/20").json()
    art = body["article"]
    assert art["label"] == "第二十条" and art["title"] == XZ_SAFETY
    assert body["chapter"]["headings"] == art["headings"]
    labels = [a["label"] for a in body["chapter"]["articles"]]
    assert "第二十条" in labels and len(labels) > 3
    assert all(a["label"] != "第一条" for a in body["chapter"]["articles"])  # 第一条 is in 总则
    assert body["nav"] == {"prev": "第十九条", "next": "第二十一条"}
    assert len(body["versions"]) == 2
    # Chinese numerals and the 2019 version by date
    same = client.get(f"/api/regulations/{rid}/articles/第二十条").json()
    assert same["article"]["text"] == art["text"]
    old = client.get(f"/api/regulations/{rid}/articles/20", params={"as_of": "2020-01-01"}).json()
    assert old["version"]["version_date"].startswith("2019")
    assert old["article"]["version_id"] != art["version_id"]


def test_penalty_article_links_from_ingest(client):
    """Ingest annotates articles with enforcement facts: the penalty article links to its duty and back."""
    rid = _reg_id(client, XZ_SAFETY)
    body = client.get(f"/api/regulations/{rid}/articles/46").json()
    assert "第十八条" in body["article"]["text"] and body["article"]["enforcement"]["is_penalty"]
    links = body["links"]
    assert set(links) == {"penalized_by", "penalizes", "cites", "cited_by"}
    assert [link["label"] for link in links["penalizes"]] == ["第十八条"]
    duty = client.get(f"/api/regulations/{rid}/articles/18").json()["links"]
    assert "第四十六条" in [link["label"] for link in duty["penalized_by"]]
    assert all(link["regulation_id"] == rid for link in duty["penalized_by"])


@pytest.mark.parametrize("path,status", [
    ("/api/regulations/reg-doesnotexist", 404),
    ("/api/regulations/reg-doesnotexist/articles/3", 404),
    ("/api/nothing-here", 404),
])
def test_not_found_bodies(client, path, status):
    r = client.get(path)
    assert r.status_code == status
    assert r.json()["code"] == "not_found" and re.search(r"[\u4e00-\u9fff]", r.json()["message"])


def test_article_ref_errors(client):
    rid = _reg_id(client, XZ_SAFETY)
    r = client.get(f"/api/regulations/{rid}/articles/abc")
    assert r.status_code == 400 and r.json()["code"] == "invalid_filter"
    r = client.get(f"/api/regulations/{rid}/articles/999")
    assert r.status_code == 404 and "第九百九十九条" in r.json()["message"]


def test_healthz_reports_backend_and_modes(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["backend"]
    assert any(m.startswith("sparse: BM25") for m in body["retrieval"])
    assert any(m.startswith("dense:") for m in body["retrieval"])
    assert body["counts"]["regulations"] >= 10 and body["counts"]["points"] > 500


def test_metrics_prometheus_text(client):
    client.get("/api/search", params={"q": "养犬"})
    text = client.get("/metrics").text
    assert "# TYPE lawsearch_http_requests_total counter" in text
    assert re.search(r'lawsearch_http_requests_total\{method="GET",route="/api/search",status="200"\} \d+', text)
    assert re.search(r'lawsearch_http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="/api/search"\} \d+',
                     text)
    assert re.search(r"lawsearch_index_points \d+", text)
    assert "lawsearch_http_request_duration_seconds_count" in text


def test_page_and_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "法规" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"]
    assert "http://" not in r.text.replace("http://www.w3.org", "")  # no CDN
    assert client.head("/").status_code == 200
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200


def test_cors_only_for_configured_origins(client):
    ok = client.options("/api/search", headers={"Origin": "http://allowed.example", "Access-Control-Request-Method": "GET"})
    assert ok.headers.get("access-control-allow-origin") == "http://allowed.example"
    bad = client.get("/api/search", params={"q": "养犬"}, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in bad.headers


def test_volumes_of_one_code_form_one_edition(client, runtime, admin):
    """A code written as one file per 编 (民法典): the regulation view and article lookup span its volumes."""
    import hashlib

    from corpus.model import Article, Clause, Regulation
    from ingest.writer import ArticleIndexWriter

    regs = []
    for volume, numbers in (("总则编", (1, 2)), ("物权编", (3, 4))):
        arts = [Article(regulation_title="测试法典", article_no=n, headings=[f"第{'一' if n < 3 else '二'}编 {volume}"],
                        text=f"测试法典第{n}条的内容。", clauses=[Clause(text=f"测试法典第{n}条的内容。")]) for n in numbers]
        reg = Regulation(title="测试法典", articles=arts, version_date="2021-01-01", effective_date="2021-01-01",
                         level="地方性法规", region="测试市", status="有效",
                         sha256=hashlib.sha256(volume.encode()).hexdigest(), extra={"volume": volume})
        regs.append(reg)
    writer = ArticleIndexWriter(index=runtime.index, sparse_encoders=runtime.sparse_encoders, embedder=None)
    with runtime.write_lock:
        for reg in regs:
            writer.write(reg)
    rid = regs[0].regulation_id
    try:
        assert regs[0].version_id != regs[1].version_id
        listed = next(r for r in client.get("/api/regulations").json()["regulations"] if r["regulation_id"] == rid)
        assert listed["versions"] == 1 and listed["volumes"] == 2 and listed["article_count"] == 4
        detail = client.get(f"/api/regulations/{rid}").json()
        assert [t["article_no"] for t in detail["toc"]] == [1, 2, 3, 4]
        assert sorted(detail["edition"]) == sorted(r.version_id for r in regs)
        # asking with the first volume's id still finds an article of the second volume
        art = client.get(f"/api/regulations/{rid}/articles/3", params={"version_id": regs[0].version_id}).json()
        assert art["article"]["version_id"] == regs[1].version_id
        assert art["nav"] == {"prev": "第二条", "next": "第四条"}
        assert len(art["versions"]) == 1
    finally:
        r = client.delete(f"/api/regulations/{rid}", headers=admin)
        assert r.status_code == 200 and r.json()["versions_deleted"] == 2


@pytest.fixture()
def annotated_copy(client, runtime, corpus_dir, admin):
    """The 2024 Xuzhou safety regulation under another title, with the enforcement payload (penalty links)
    that ingest.enforcement computes, written straight into the session index; removed afterwards."""
    from ingest.enforcement.links import analyse_regulation
    from ingest.pipeline import parse_files
    from ingest.writer import ArticleIndexWriter

    regs, failures = parse_files([corpus_dir / "xuzhou" / "徐州市安全生产条例_2024修正.md"])
    reg = regs[0]
    reg.title = reg.short_title = "测试市安全生产条例"
    reg.region = "测试市"
    for a in reg.articles:
        a.regulation_title = reg.title
    info = analyse_regulation(reg.articles, reg.title)
    for a in reg.articles:
        a.extra["enforcement"] = info.payload_for(a)
    writer = ArticleIndexWriter(index=runtime.index, sparse_encoders=runtime.sparse_encoders, embedder=None)
    with runtime.write_lock:
        writer.write(reg)
    runtime.engine.refresh()
    yield reg
    assert client.delete(f"/api/regulations/{reg.regulation_id}", headers=admin).status_code == 200


def test_article_links_from_the_enforcement_payload(client, annotated_copy):
    rid = annotated_copy.regulation_id
    duty = client.get(f"/api/regulations/{rid}/articles/18").json()
    assert [(l["label"], l["regulation_id"]) for l in duty["links"]["penalized_by"]] == [("第四十六条", rid)]
    assert any(l["label"] == "第四十六条" for l in duty["links"]["cited_by"])
    penalty = client.get(f"/api/regulations/{rid}/articles/46").json()
    assert [l["label"] for l in penalty["links"]["penalizes"]] == ["第十八条"]
    assert any(l["label"] == "第十八条" and l["citation"] == "《测试市安全生产条例》第十八条"
               for l in penalty["links"]["cites"])


def test_ask_uses_the_linked_penalty_article(client, annotated_copy):
    a = client.post("/api/ask", json={"question": "对从业人员没有进行安全生产教育和培训怎么办",
                                      "filters": {"region": "测试市"}}).json()
    assert a["grounded"]
    assert any(s["citation"] == "《测试市安全生产条例》第十八条" for s in a["statements"] if s["role"] == "applies")
    pen = [s for s in a["statements"] if s["role"] == "penalty"]
    assert pen and pen[0]["citation"] == "《测试市安全生产条例》第四十六条" and "罚款" in pen[0]["quote"]


def test_long_article_parts_are_joined_with_their_clause_numbers(client):
    rid = _reg_id(client, "徐州市养犬管理条例")
    art = client.get(f"/api/regulations/{rid}/articles/18").json()["article"]
    first = art["clauses"][0]
    assert first["text"].startswith("养犬应当遵守下列规定")
    assert any(i.startswith("（八）携犬乘坐电梯") for i in first["items"])
    assert art["clauses"][1]["text"].startswith("盲人")
    assert all(c["text"] for c in art["clauses"])


def test_search_during_a_write_is_answered_off_the_event_loop(client, runtime):
    """A built engine with no write running searches on the event loop; while an import holds the write lock the
    search goes to a worker thread (the loop stays free) and still answers, with the same hits."""
    params = {"q": "生产经营单位 安全生产教育和培训", "top_k": 5}
    quick = client.get("/api/search", params=params).json()  # builds the engine if no test did yet
    assert runtime.search_is_quick
    with runtime.write_lock:
        assert not runtime.search_is_quick
        during = client.get("/api/search", params=params)
        assert client.get("/healthz").status_code == 200
    assert during.status_code == 200
    assert [h["id"] for h in during.json()["hits"]] == [h["id"] for h in quick["hits"]]
    assert runtime.search_is_quick

"""GET /api/outreach and the 普法清单 page over a real index of ../shared/corpus/{xuzhou,formats,real-files}
(the list itself is tested in tests/outreach/)."""
from __future__ import annotations

import io
import re

import pytest

from corpus.settings import Settings
from tests.api.conftest import ADMIN_KEY, READER_KEY
from tests.indexes import ingested_runtime, main_job_files


@pytest.fixture(scope="module")
def rt(tmp_path_factory, corpus_dir):
    with ingested_runtime(tmp_path_factory.mktemp("outreach-index"), main_job_files(corpus_dir)) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def client(rt, tmp_path_factory):
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("outreach-app"), llm_base_url=None, qdrant_url=None,
                        embedding_model=None, api_keys={ADMIN_KEY: "admin", READER_KEY: "reader"})
    with TestClient(create_app(settings, runtime=rt)) as c:
        c.data_dir = settings.data_dir
        yield c


@pytest.mark.integration
def test_outreach_api(client):
    import docx

    r = client.get("/api/outreach", params={"agency": "应急管理", "region": "徐州市"})
    assert r.status_code == 200
    titles = [x["title"] for x in r.json()["regulations"]]
    assert "徐州市安全生产条例" in titles
    r = client.get("/api/outreach", params={"agency": "应急管理", "region": "徐州市", "format": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<style>" in r.text and "@media print" in r.text and "《江苏省安全生产条例》" in r.text
    css = client.get("/api/outreach/print.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "details::details-content" in css.text  # closed sections print whole
    r = client.get("/api/outreach", params={"agency": "市场监督管理", "region": "徐州市", "format": "docx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "attachment" in r.headers["content-disposition"]
    assert "《中华人民共和国产品质量法》" in [p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs]
    r = client.get("/api/outreach", params={"agency": "司法行政", "format": "md"})
    assert r.status_code == 200 and "《中华人民共和国法律援助法》" in r.text and "江苏省" not in r.text
    assert client.get("/api/outreach", params={"agency": "不存在的部门"}).status_code == 404
    assert client.get("/api/outreach", params={"agency": "应急管理", "format": "pdf"}).status_code == 422


@pytest.mark.integration
def test_short_agency_names_through_the_api(client):
    for typed, title in (("市场监管", "徐州市质量促进条例"), ("城管", "徐州市生活垃圾管理条例")):
        r = client.get("/api/outreach", params={"agency": typed, "region": "徐州市"})
        assert r.status_code == 200 and title in [x["title"] for x in r.json()["regulations"]]
    r = client.get("/api/outreach", params={"agency": "监督管理", "region": "徐州市"})
    assert r.status_code == 400 and "请选择其一" in r.json()["message"] and "市场监督管理" in r.json()["detail"]


@pytest.mark.integration
def test_an_admin_edits_the_lists_fields(client):
    params = {"agency": "应急局", "region": "徐州市"}
    r = client.get("/api/outreach/fields", params=params)
    assert r.status_code == 200 and r.json()["agency"] == "应急管理" and r.json()["edited"] == []
    assert {"date": "6月", "name": "安全生产月"} in r.json()["fields"]["key_dates"]
    body = {"fields": {"audience": "辖区危险化学品企业从业人员"}}
    assert client.put("/api/outreach/fields", params=params, json=body).status_code == 401
    assert client.put("/api/outreach/fields", params=params, json=body,
                      headers={"X-API-Key": READER_KEY}).status_code == 403
    r = client.put("/api/outreach/fields", params=params, json=body, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 200 and r.json()["edited"] == ["audience"]
    assert (client.data_dir / "outreach_fields.json").exists()  # kept in the data directory
    doc = client.get("/api/outreach", params=params).json()
    assert doc["fields"]["audience"] == "辖区危险化学品企业从业人员"
    assert doc["fields"]["responsible_unit"] == "徐州市应急管理局"  # the others keep their defaults
    assert "辖区危险化学品企业从业人员" in client.get("/api/outreach", params={**params, "format": "html"}).text
    bad = client.put("/api/outreach/fields", params=params, json={"fields": {"key_dates": "六月"}},
                     headers={"X-API-Key": ADMIN_KEY})
    assert bad.status_code == 400 and bad.json()["detail"] == "fields.key_dates" and "重要时间节点" in bad.json()["message"]
    audit = client.get("/api/audit", headers={"X-API-Key": ADMIN_KEY}).json()["entries"]
    assert any(e["action"] == "edit outreach fields" and e["result"] == "ok" for e in audit)
    r = client.delete("/api/outreach/fields", params=params, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 200 and r.json()["edited"] == []


# ---- the web page (real browser; skipped where chromium is missing) ----------------------------------------------
@pytest.fixture(scope="module")
def page_url(rt, tmp_path_factory):
    from api.app import create_app
    from tests.api.conftest import serve_in_thread

    settings = Settings(data_dir=tmp_path_factory.mktemp("outreach-web"), llm_base_url=None, qdrant_url=None,
                        embedding_model=None)
    with serve_in_thread(create_app(settings, runtime=rt)) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(page_url):
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("/usr/bin/chromium"):
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                              args=["--headless", "--no-sandbox", "--disable-gpu"])
        ctx = b.new_context(base_url=page_url, locale="zh-CN")
        pg = ctx.new_page()
        problems: list[str] = []
        # Console errors, except the browser's own favicon request (page requests over 400 are caught below).
        pg.on("console", lambda m: problems.append(m.text)
              if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        pg.on("pageerror", lambda e: problems.append(str(e)))
        pg.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        pg.problems = problems
        yield pg
        b.close()


@pytest.mark.integration
def test_page_prints_the_outreach_list(browser_page):
    pg = browser_page
    pg.goto("/#/outreach")
    pg.fill("#o-agency", "应急管理")
    pg.fill("#o-region", "徐州市")
    pg.click("#outreach-form button[type=submit]")
    pg.wait_for_selector("#outreach nav.toc")
    text = pg.inner_text("#outreach")
    for t in ("徐州市应急管理部门普法责任清单", "《中华人民共和国安全生产法》", "《江苏省安全生产条例》", "《徐州市安全生产条例》",
              "责任单位", "重要时间节点", "目录"):
        assert t in text
    # Sections start closed under the contents list; a contents link opens its section.
    assert not pg.is_visible(".ocard")
    height = pg.evaluate("document.body.scrollHeight")
    pg.click("#outreach nav.toc a >> nth=2")
    assert pg.is_visible("#reg-3 .ocard") and "#/outreach" in pg.url
    text = pg.inner_text("#reg-3")
    for t in ("适用对象", "应当做什么", "违反的后果", "依据"):
        assert t in text
    assert height < 6000, height
    assert pg.get_attribute("#o-docx", "href").endswith("format=docx")
    pg.emulate_media(media="print")
    assert not pg.is_visible("header.top") and not pg.is_visible("#outreach-form")
    assert pg.is_visible("#reg-1 .ocard")  # closed sections print whole
    pg.screenshot(path="/tmp/outreach-print.png")
    pg.emulate_media(media="screen")
    assert not pg.problems, pg.problems


@pytest.mark.integration
def test_page_search_hit_shows_linked_duty(browser_page):
    pg = browser_page
    pg.goto("/#/search?q=" + "生产经营单位未对从业人员进行安全生产教育和培训 罚款")
    pg.wait_for_selector(".hit .linked")
    first = pg.locator(".hit").first
    assert "第九十七条" in first.inner_text()
    first.locator(".linked summary").click()
    assert "第二十八条" in first.locator(".linked").inner_text()
    # the same rule at the other levels: the national penalty beside the province's or the city's
    first.locator(".levels summary").click()
    levels = first.locator(".levels").inner_text()
    assert "本地（省、市）的相应规定" in levels and "按条文文字相似度" in levels
    assert re.search(r"《(江苏省|徐州市)安全生产条例》第", levels), levels
    assert not pg.problems, pg.problems

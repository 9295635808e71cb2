"""GET /api/outreach and the 普法清单 page over a real index of ../shared/corpus/{xuzhou,formats,real-files}
(the list itself is tested in tests/outreach/)."""
from __future__ import annotations

import io

import pytest

from corpus.settings import Settings
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
                        embedding_model=None)
    with TestClient(create_app(settings, runtime=rt)) as c:
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
    r = client.get("/api/outreach", params={"agency": "市场监督管理", "region": "徐州市", "format": "docx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "attachment" in r.headers["content-disposition"]
    assert "《中华人民共和国产品质量法》" in [p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs]
    r = client.get("/api/outreach", params={"agency": "司法行政", "format": "md"})
    assert r.status_code == 200 and "《中华人民共和国法律援助法》" in r.text and "江苏省" not in r.text
    assert client.get("/api/outreach", params={"agency": "不存在的部门"}).status_code == 404
    assert client.get("/api/outreach", params={"agency": "应急管理", "format": "pdf"}).status_code == 422


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
    pg.wait_for_selector(".ocard")
    text = pg.inner_text("#outreach")
    for t in ("徐州市应急管理部门普法责任清单", "《中华人民共和国安全生产法》", "《江苏省安全生产条例》", "《徐州市安全生产条例》",
              "适用对象", "应当做什么", "违反的后果", "依据"):
        assert t in text
    assert pg.get_attribute("#o-docx", "href").endswith("format=docx")
    pg.emulate_media(media="print")
    assert not pg.is_visible("header.top") and not pg.is_visible("#outreach-form")
    assert pg.is_visible(".ocard")
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
    assert not pg.problems, pg.problems

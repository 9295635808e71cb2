"""The web page in a real browser: Debian's chromium driven by Playwright, against uvicorn on a free port.

Asks a question and sees a cited answer (screenshot /tmp/answer.png), opens the cited article, searches and copies
a citation, and uploads a file as admin."""
from __future__ import annotations

import shutil

import pytest

from tests.api.conftest import ADMIN_KEY, serve_in_thread

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(app):
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed (scripts/setup installs it when run as root)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, locale="zh-CN", base_url=server)
    pg = ctx.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    pg.problems = problems
    yield pg
    ctx.close()


def test_ask_shows_a_cited_answer_and_opens_the_article(page):
    page.goto("/#/ask")
    page.fill("#question", "工厂没有给工人发劳动防护用品怎么办")
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector(".statement")
    statements = page.locator(".statement")
    assert statements.count() >= 2
    first = statements.first
    assert "劳动防护用品" in first.locator("blockquote").inner_text()
    cite = first.locator("a.cite").inner_text()
    assert cite.startswith("《") and "安全生产条例》第" in cite
    assert "违反上述规定的法律责任" in page.inner_text("#answer")
    page.screenshot(path="/tmp/answer.png", full_page=True)

    first.locator("a.cite").click()
    page.wait_for_selector("#article .article-text")
    assert cite.split("第")[1].split("款")[0] in page.inner_text("#article h2")  # 第X条 of the citation
    assert "劳动防护用品" in page.inner_text("#article .article-text")
    assert page.locator("#article .chapter li").count() > 3
    assert page.locator("#version-select option").count() >= 1
    assert "null" not in page.inner_text("#article") and "undefined" not in page.inner_text("#article")
    assert not [p for p in page.problems if "Content Security Policy" in p or "Uncaught" in p], page.problems


def test_a_can_i_question_shows_its_conclusion_then_the_grounds(page):
    page.goto("/#/ask")
    page.fill("#question", "新来的工人没培训就让上岗干活，合法吗？")
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#answer .conclusion")
    assert page.inner_text("#answer .conclusion").startswith("结论：不可以。")
    assert page.locator("#answer .conclusion a.cite").inner_text().startswith("《")
    # a lead-in (…不得上岗作业：) is followed by its 项, shown indented under it
    quotes = page.locator("#answer .statement blockquote").all_inner_texts()
    leads = [i for i, q in enumerate(quotes) if q.endswith("：")]
    assert leads and all(i + 1 < len(quotes) for i in leads)
    assert page.locator("#answer .statement.item").count() >= 1
    assert "违反上述规定的法律责任" in page.inner_text("#answer") and "执法部门" in page.inner_text("#answer")
    page.screenshot(path="/tmp/answer-conclusion.png", full_page=True)
    assert not [p for p in page.problems if "Uncaught" in p], page.problems


def test_search_highlights_and_copies_a_citation(page):
    page.goto("/#/search")
    page.fill("#q", "劳动防护用品")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector(".hit")
    assert page.locator(".hit mark").count() > 0
    marks = page.locator(".hit mark").all_inner_texts()
    assert marks and all(m in "劳动防护用品" for m in marks), marks
    # the region filter offers the indexed regions
    page.wait_for_selector("#f-region option[value='徐州市']", state="attached")
    assert "江苏省" in page.locator("#f-region option").all_text_contents()
    page.locator(".hit button.copy").first.click()
    page.wait_for_selector("#toast:not([hidden])")
    assert page.inner_text("#toast").startswith("已复制：《")
    # a citation query jumps straight to the article
    page.fill("#q", "徐州市安全生产条例第二十条")
    page.click("#search-form button[type=submit]")
    page.locator("#search-info", has_text="条文引用").wait_for()  # (CSP forbids eval-based waits)
    assert page.locator(".hit a.cite").first.inner_text() == "《徐州市安全生产条例》第二十条"
    assert not page.problems, page.problems


def test_admin_uploads_a_file(page, client, tmp_path):
    src = tmp_path / "测试县文明养鸟规定.md"
    src.write_text("# 测试县文明养鸟规定\n\n第一条　为了规范养鸟行为，制定本规定。\n\n"
                   "第二条　养鸟人不得在居民楼阳台大量饲养鸽子影响邻居。\n", encoding="utf-8")
    page.goto("/#/admin")
    page.fill("#api-key", ADMIN_KEY)
    page.click("#key-form button[type=submit]")
    assert "已保存" in page.inner_text("#key-state")
    assert page.evaluate("sessionStorage.getItem('lawsearch.apiKey')") == ADMIN_KEY
    page.set_input_files("#upload-files", str(src))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector(".upload-results li")
    result = page.inner_text("#upload-result")
    assert "导入完成" in result and "已导入，条文 2 条" in result and "《测试县文明养鸟规定》" in result
    page.click("#audit-load")
    page.wait_for_selector("#audit-list li")
    assert "上传法规文件" in page.inner_text("#audit-list") and "测试县文明养鸟规定.md" in page.inner_text("#audit-list")
    # clean up through the API so the shared index is as before
    regs = client.get("/api/regulations").json()["regulations"]
    rid = next(r["regulation_id"] for r in regs if r["title"] == "测试县文明养鸟规定")
    assert client.delete(f"/api/regulations/{rid}", headers={"X-API-Key": ADMIN_KEY}).status_code == 200
    assert not page.problems, page.problems


def test_article_view_links_to_the_penalty_article(page, client):
    regs = client.get("/api/regulations").json()["regulations"]
    rid = next(r["regulation_id"] for r in regs if r["title"] == "徐州市安全生产条例")
    page.goto(f"/#/article/{rid}/18")
    page.wait_for_selector("#article .links")
    links = page.locator("#article .links", has_text="违反本条的法律责任")
    assert links.count() == 1
    links.locator("a", has_text="第四十六条").click()
    page.locator("#article h2", has_text="第四十六条").wait_for()
    assert "罚款" in page.inner_text("#article .article-text")
    assert page.locator("#article .links", has_text="本条处罚的违法行为").count() == 1
    assert not page.problems, page.problems


def test_a_user_marks_the_article_that_answered_or_none(page, runtime):
    """Under the results: "就是这条" beside each hit and "都不是" at the end, both kept for an admin's review."""
    before = len(runtime.feedback.entries())
    page.goto("/#/search")
    page.fill("#q", "遛狗不牵绳")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector(".hit")
    with page.expect_response("**/api/feedback"):
        page.locator(".hit button", has_text="就是这条").first.click()
    page.locator(".feedback-status", has_text="感谢反馈").wait_for()
    with page.expect_response("**/api/feedback"):
        page.locator(".feedback button", has_text="都不是").click()
    entries = runtime.feedback.entries()
    assert len(entries) == before + 2
    assert entries[-2].question == "遛狗不牵绳" and entries[-2].article["title"] and entries[-2].shown
    assert entries[-1].article is None
    # the scope choice: the law applicable here by default, every region on request
    assert page.locator("#f-scope option").all_text_contents()[1] == "所有地区的法规"
    assert not page.problems, page.problems

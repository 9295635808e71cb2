"""The 新旧对照 and 核验 views of the page in a real browser (the fixtures of test_browser.py: Debian's chromium
driven by Playwright against uvicorn, over the session index of ../shared/corpus/xuzhou)."""
from __future__ import annotations

import pytest

from tests.api.test_browser import browser, page, server  # noqa: F401 - fixtures shared with the page's other tests

pytestmark = pytest.mark.integration


def test_article_of_a_revised_regulation_opens_the_side_by_side_comparison(page, client):  # noqa: F811
    reg = client.get("/api/regulations", params={"q": "徐州市安全生产条例"}).json()["regulations"][0]
    page.goto(f"/#/article/{reg['regulation_id']}/12")
    page.click(".compare-link a")
    page.wait_for_selector(".cmp-table tbody tr")
    summary = page.locator("#compare .cmp-summary").inner_text()
    assert "条号变化" in summary and "删除" in summary
    focus = page.locator("tr.focus")
    assert "第九条" in focus.inner_text() and "条号变化" in focus.inner_text()
    modified = page.locator("tr.cmp-modified").first
    assert modified.locator("ins, del").count() >= 1
    # from an article of the superseded version: the same rule among the older articles
    old = next(v for v in client.get(f"/api/regulations/{reg['regulation_id']}").json()["versions"]
               if not v["is_current"])
    page.goto(f"/#/article/{reg['regulation_id']}/9?version_id={old['version_id']}")
    page.click(".compare-link a")
    page.wait_for_selector("tr.focus")
    assert "第十二条" in page.locator("tr.focus").inner_text()
    assert not page.problems


def test_verify_tab_annotates_the_citations(page):  # noqa: F811
    page.goto("/#/verify")
    page.fill("#v-text", "《徐州市安全生产条例》第九条规定：“生产经营单位的主要负责人应当对本单位的安全生产工作全面负责”。"
                         "又见《徐州市安全生产条例》第六十条和《上海市不存在条例》第一条。")
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector(".verify-list li")
    marks = page.locator(".verify-text .cite-mark")
    assert marks.count() == 3
    assert "v-old" in marks.nth(0).get_attribute("class") and "v-bad" in marks.nth(1).get_attribute("class")
    assert "第十二条" in page.locator(".verify-list li").first.inner_text()
    assert not page.problems

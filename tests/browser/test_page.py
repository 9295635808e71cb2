"""The page as people use it, at 1280 px and 390 px (issue 13): the home page's example questions run; inputs keep
the width of the phone; a mixed upload (a fake.pdf that is not a PDF and a good .md) reports each file and the
footer count follows; input limits show a count and match the API; no English word outside citations and code."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.conftest import ADMIN_KEY

pytestmark = pytest.mark.integration

# Text inside these is quoted law, a citation or code: it may hold Latin letters (PM2.5, reg-…, .docx).
QUOTED = "code, kbd, pre, blockquote, q, .cite, .snippet, .linked-text, .article-text, .preview, .toc, time"
ENGLISH_WORDS = """(quoted) => {
  const words = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(quoted) || el.closest("script, style, [hidden]") || !visible(el)) continue;
    for (const w of n.textContent.match(/[A-Za-z]{2,}/g) || []) words.push(`${w} 〔${n.textContent.trim().slice(0, 60)}〕`);
  }
  for (const el of document.querySelectorAll("input[placeholder], textarea[placeholder], [title], [aria-label]")) {
    if (!visible(el)) continue;
    for (const a of ["placeholder", "title", "aria-label"]) {
      for (const w of (el.getAttribute(a) || "").match(/[A-Za-z]{2,}/g) || []) words.push(`${w} 〔${a}〕`);
    }
  }
  return words;
}"""


def english(page) -> list[str]:
    return page.evaluate(ENGLISH_WORDS, QUOTED)


def settle(page, selector: str) -> None:
    page.locator(selector).first.wait_for(timeout=60_000)


def ask_done(page) -> None:
    settle(page, "#answer .statement, #answer .nothing, #answer .error")


def test_the_home_page_explains_each_tab_and_its_examples_run(page):
    page.goto("/")
    assert page.locator("#home").is_visible()
    assert page.locator("#home .role").count() == 3  # volunteer, inspector, admin
    assert page.locator("#home .tabs-help dt").all_inner_texts() == page.locator(".tabs a").all_inner_texts()
    examples = [(a.get_attribute("data-kind"), a.get_attribute("href"), a.inner_text())
                for a in page.locator("#home .examples a").all()]
    assert {k for k, _, _ in examples} >= {"ask", "search", "outreach"}
    for kind, href, text in examples:
        page.goto("/")
        page.locator("#home .examples a", has_text=text).click()
        if kind == "ask":
            ask_done(page)
            assert page.locator("#answer .statement").count() >= 1, (text, page.inner_text("#answer"))
            assert page.input_value("#question") == text
        elif kind == "search":
            settle(page, ".hit, #results .error")
            assert page.locator(".hit").count() >= 1, (text, page.inner_text("#view-search"))
            assert not page.locator("#home").is_visible()
        elif kind == "outreach":
            settle(page, "#outreach .regulation summary, #outreach .error")
            assert page.locator(".ocard").count() >= 1, text
        elif kind == "regs":
            settle(page, "#reg-list li")
        else:
            settle(page, "#upload-form")  # the tab is shown on the hash change, after the click returns
        assert not page.locator(".error:visible").count(), (text, page.locator(".error").all_inner_texts())
    assert not page.problems, page.problems


TABS = ["#/search", "#/ask", "#/regs", "#/outreach", "#/verify", "#/admin"]


def test_inputs_keep_the_width_on_a_phone(page):
    if page.width != 390:
        pytest.skip("the phone layout")
    narrow = []
    for tab in TABS:
        page.goto("/" + tab)
        page.locator(".view:not([hidden])").first.wait_for()
        for box in page.locator(".view:not([hidden]) :is(input[type=search], input[type=text], input[type=password],"
                                " input[type=date], textarea):visible").all():
            width = box.bounding_box()["width"]
            if width < 0.8 * page.width:
                narrow.append(f"{tab} #{box.get_attribute('id')}: {width:.0f} px")
    assert not narrow, narrow


def test_input_limits_show_a_count_and_match_the_api(page, site):
    schema = httpx.get(site + "/api/openapi.json", trust_env=False).json()
    q_max = next(p for p in schema["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "q")["schema"]["maxLength"]
    ask_max = schema["components"]["schemas"]["AskRequest"]["properties"]["question"]["maxLength"]
    page.goto("/#/search")
    assert int(page.get_attribute("#q", "data-max")) == q_max
    page.fill("#q", "安全生产")
    assert page.inner_text("#q-count").startswith(f"4/{q_max}")
    page.fill("#q", "安" * (q_max + 1))
    assert f"{q_max + 1}/{q_max}" in page.inner_text("#q-count") and "超出 1 字" in page.inner_text("#q-count")
    page.click("#search-form button[type=submit]")
    page.locator("#toast:not([hidden])").wait_for()
    assert f"最多 {q_max} 个字" in page.inner_text("#toast")
    assert "q=" not in page.url  # not sent
    page.goto("/#/ask")
    assert int(page.get_attribute("#question", "data-max")) == ask_max
    page.fill("#question", "问" * (ask_max + 3))
    assert "超出 3 字" in page.inner_text("#question-count")
    page.click("#ask-form button[type=submit]")
    page.locator("#toast:not([hidden])").wait_for()
    assert "问题最多" in page.inner_text("#toast") and page.locator("#answer").is_hidden()


GOOD_MD = ("# 测试县文明养鸟规定\n\n（2025年3月1日测试县人民代表大会常务委员会第一次会议通过）\n\n"
           "第一条　为了规范养鸟行为，制定本规定。\n\n第二条　养鸟人不得在居民楼阳台大量饲养鸽子影响邻居。\n")


@pytest.fixture()
def uploaded(site):
    """Removes what a test uploaded (the title 测试县文明养鸟规定), so the shared index stays as it was."""
    yield
    regs = httpx.get(site + "/api/regulations", params={"q": "测试县文明养鸟规定"}, trust_env=False).json()
    for r in regs["regulations"]:
        httpx.delete(f"{site}/api/regulations/{r['regulation_id']}", headers={"X-API-Key": ADMIN_KEY},
                     trust_env=False).raise_for_status()


def test_a_mixed_upload_reports_each_file_and_the_footer_follows(page, tmp_path, uploaded):
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"\x00\x01\x02\x03not a pdf\xff\xfe\x00" * 40)
    good = tmp_path / "测试县文明养鸟规定.md"
    good.write_text(GOOD_MD, encoding="utf-8")
    page.goto("/#/admin")
    page.locator("#health", has_text="收录法规").wait_for()
    before = int(re.search(r"收录法规 (\d+) 部", page.inner_text("#health")).group(1))
    page.fill("#api-key", ADMIN_KEY)
    page.click("#key-form button[type=submit]")
    page.set_input_files("#upload-files", [str(fake), str(good)])
    page.click("#upload-form button[type=submit]")
    settle(page, ".upload-results li")
    report = page.inner_text("#upload-result")
    assert "部分文件导入失败" in report and "共 2 个文件，成功 1 个，未导入 1 个" in report, report
    rows = page.locator(".upload-results li")
    bad, ok = rows.nth(0), rows.nth(1)
    assert "fake.pdf" in bad.inner_text() and "未导入" in bad.inner_text() and "不支持的文件类型" in bad.inner_text()
    assert "测试县文明养鸟规定.md" in ok.inner_text() and "《测试县文明养鸟规定》" in ok.inner_text()
    page.locator("#health", has_text=f"收录法规 {before + 1} 部").wait_for(timeout=10_000)  # no reload needed
    page.click("#audit-load")
    settle(page, "#audit-list li")
    entry = page.locator("#audit-list li").first.inner_text()
    assert "上传法规文件" in entry and "fake.pdf" in entry and "测试县文明养鸟规定" in entry, entry
    assert not re.search(r"\b(upload|rejected|partial|unsupported)\b", entry), entry
    assert not english(page), english(page)
    assert not page.problems, page.problems
    # the bad file alone: the request is refused (415, which the browser logs), and the file still gets its line
    page.set_input_files("#upload-files", [str(fake)])
    page.click("#upload-form button[type=submit]")
    page.locator("#upload-result", has_text="共 1 个文件，成功 0 个").wait_for()
    assert "fake.pdf" in page.inner_text(".upload-results li") and "不支持的文件类型" in page.inner_text(".upload-results li")
    assert all("415" in p for p in page.problems), page.problems


def test_no_english_word_outside_citations_and_code_on_any_tab(page):
    found: dict[str, list[str]] = {}

    def check(where: str) -> None:
        words = english(page)
        if words:
            found[where] = words

    page.goto("/")
    settle(page, "#health:has-text('收录法规')")
    check("home")
    page.goto("/#/search?q=" + "工厂没有给工人发劳动防护用品怎么办")
    settle(page, ".hit")
    page.locator("#filters summary").click()
    check("search results")
    page.goto("/#/ask?q=" + "新来的工人没培训就让上岗干活，合法吗？")
    ask_done(page)
    check("ask")
    page.goto("/#/regs")
    settle(page, "#reg-list li")
    assert page.locator("#reg-list li .meta").first.inner_text().split(" · ")[1] == "徐州市"  # home region first
    check("regulations")
    page.locator("#reg-list li a", has_text="徐州市安全生产条例").click()
    settle(page, "#reg-detail .toc a")
    versions = page.locator("#reg-detail .versions li").all_inner_texts()  # each version with its own dates
    assert any(v.startswith("2019-12-12") and "自 2020-01-01 起施行" in v for v in versions), versions
    assert any(v.startswith("2024-12-09") and "（现行）" in v and "自 2025-02-01 起施行" in v for v in versions), versions
    check("regulation")
    page.locator("#reg-detail .toc a").nth(19).click()
    settle(page, "#article .article-text")
    check("article")
    page.goto("/#/outreach?agency=应急管理&region=徐州市")
    settle(page, "#outreach .regulation summary")
    check("outreach")
    page.goto("/#/verify")
    page.fill("#v-text", "根据《徐州市安全生产条例》第二十条，生产经营单位应当建立健全生产安全事故隐患排查治理制度。"
                         "《中华人民共和国安全生产法》第九百条另有规定。")
    page.click("#verify-form button[type=submit]")
    settle(page, "#verify-result > *")
    check("verify")
    page.goto("/#/admin")
    page.fill("#api-key", ADMIN_KEY)
    page.click("#key-form button[type=submit]")
    page.click("#audit-load")
    settle(page, "#audit-list li")
    check("admin")
    assert not found, found
    assert not page.problems, page.problems

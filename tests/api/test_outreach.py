"""普法责任清单 (api.outreach, GET /api/outreach) over a real index of ../shared/corpus/{xuzhou,formats,real-files}."""
from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

import pytest

from api.outreach import province_of, select_regulations
from corpus.settings import Settings
from tests.indexes import ingested_runtime, main_job_files

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


# ---- units -------------------------------------------------------------------------------------------------------
def test_province_from_the_approval_record():
    recs = [{"region": "徐州市", "history": [{"event": "通过", "by": "徐州市第十六届人民代表大会常务委员会第三十次会议"},
                                            {"event": "批准", "by": "江苏省第十三届人民代表大会常务委员会第十二次会议"}]}]
    assert province_of("徐州市", recs) == "江苏省"
    assert province_of("江苏省", []) == "江苏省"
    assert province_of("上海市", []) == "上海市"
    assert province_of("苏州市", recs) is None
    assert province_of("全国", recs) is None


def test_preamble_names_the_province_when_the_history_does_not():
    recs = [{"region": "南宁市", "preamble": "（2019年5月29日南宁市第十四届人民代表大会常务委员会第二十次会议通过　"
                                          "2019年7月25日广西壮族自治区第十三届人民代表大会常务委员会第十次会议批准）"}]
    assert province_of("南宁市", recs) == "广西壮族自治区"


def test_scope_is_current_versions_of_nation_province_and_region():
    recs = [
        {"title": "A法", "region": "全国", "level": "法律", "is_current": True, "agencies": ["应急管理"]},
        {"title": "B省条例", "region": "江苏省", "is_current": True, "agencies": ["应急管理"]},
        {"title": "C市条例", "region": "徐州市", "is_current": True, "agencies": ["应急管理"],
         "history": [{"event": "批准", "by": "江苏省人民代表大会常务委员会"}]},
        {"title": "C市条例", "region": "徐州市", "is_current": False, "agencies": ["应急管理"]},
        {"title": "D市条例", "region": "苏州市", "is_current": True, "agencies": ["应急管理"]},
        {"title": "E省条例", "region": "浙江省", "is_current": True, "agencies": ["应急管理"]},
        {"title": "F法", "region": "全国", "is_current": True, "agencies": ["公安"]},
        {"title": "G解释", "region": "全国", "level": "司法解释", "is_current": True, "agencies": ["应急管理"]},
    ]
    picked, regions = select_regulations(recs, "应急管理", "徐州市")
    assert [r["title"] for r in picked] == ["A法", "B省条例", "C市条例"]
    assert all(r["is_current"] for r in picked)
    assert regions == ["全国", "江苏省", "徐州市"]
    picked, regions = select_regulations(recs, "应急管理", None)
    assert [r["title"] for r in picked] == ["A法"] and regions == ["全国"]


def test_fine_words_in_plain_chinese():
    from api.outreach import fine_words, plain_consequence

    assert fine_words(10000.0, 100000.0) == "罚款1万元至10万元"
    assert fine_words(0.0, 200000.0) == "罚款最高20万元"
    assert fine_words(None, None, "违法所得") == "罚款按违法所得的倍数或比例计算"
    assert fine_words(0.0, 50000.0, "货值金额") == "罚款最高5万元，或按货值金额的倍数或比例计算"
    assert fine_words(None, None) == ""
    enf = {"sanctions": [{"kind": "责令限期改正"}, {"kind": "罚款"}, {"kind": "责令停产停业"}, {"kind": "罚款"}],
           "fine_min": 10000.0, "fine_max": 200000.0}
    assert plain_consequence(enf) == "责令限期改正、责令停产停业；罚款1万元至20万元"


def test_duty_sentence_and_subject():
    from api.outreach import best_segment, duty_subject, sanction_line

    text = ("生产经营单位的安全生产管理机构以及安全生产管理人员履行下列职责:\n（一）组织或者参与拟订本单位安全生产规章制度；\n"
            "（二）组织或者参与本单位安全生产教育和培训，如实记录安全生产教育和培训情况；")
    sentence, lead = best_segment(text, "未如实记录安全生产教育和培训情况")
    assert sentence.startswith("（二）") and lead.endswith("履行下列职责:")
    assert sentence in text and lead in text
    assert duty_subject(lead) == "生产经营单位的安全生产管理机构以及安全生产管理人员"
    assert duty_subject("因经济困难申请法律援助的，申请人应当如实说明本人及其共同生活的家庭成员的经济状况。") == "申请人"
    assert duty_subject("生产经营单位应当对从业人员进行安全生产教育和培训。") == "生产经营单位"
    assert duty_subject("国家鼓励发展安全生产产业。") is None
    pen = "违反本条例第十八条规定，生产经营单位未按照规定对有关从业人员进行安全生产教育和培训的，责令限期改正，处一万元以上十万元以下罚款。"
    assert sanction_line("第一款\n" + pen, {"sanctions": [{"text": "处一万元以上十万元以下罚款"}]}) == pen


# ---- on a real index ---------------------------------------------------------------------------------------------


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


def _build(rt, agency, region="徐州市"):
    from api.outreach import build_outreach

    return build_outreach(rt, agency, region=region)


def _article_text(rt, version_id: str, label: str) -> str:
    from corpus.numerals import cn_to_int

    m = re.match(r"^第(.+?)条(之.+)?$", label)
    rec = rt.index.version_record(version_id)
    _, parts = rt.index.article(rec["title"], cn_to_int(m.group(1)), m.group(2) or "", version_id=version_id)
    return "\n".join(p.payload["text"] for p in parts)


def assert_quotes_verbatim(rt, doc) -> int:
    checked = 0
    for reg in doc["regulations"]:
        for card in reg["cards"]:
            assert card["basis"], card
            for q in card["basis"]:
                assert q["title"] == reg["title"]
                assert q["quote"] and q["quote"] in _article_text(rt, reg["version_id"], q["label"]), q
                checked += 1
            if card.get("duty") and not card["duty"].startswith(card["basis"][0]["quote"]):
                assert card["duty"] in _article_text(rt, reg["version_id"], card["articles"][0])
    return checked


@pytest.mark.integration
def test_emergency_management_list_for_xuzhou(rt):
    doc = _build(rt, "应急管理")
    assert doc["agency"] == "应急管理" and doc["regions"] == ["全国", "江苏省", "徐州市"]
    regs = {r["title"]: r for r in doc["regulations"]}
    assert {"中华人民共和国安全生产法", "江苏省安全生产条例", "徐州市安全生产条例"} <= set(regs)
    assert regs["徐州市安全生产条例"]["version_date"] == "2024-12-09"  # current version only, not 2019
    assert [r["title"] for r in doc["regulations"]].count("徐州市安全生产条例") == 1
    for title in ("中华人民共和国安全生产法", "江苏省安全生产条例", "徐州市安全生产条例"):
        assert regs[title]["cards"], title
    assert assert_quotes_verbatim(rt, doc) >= 50
    # The training duty of each level, with its penalty and fine range.
    for title, duty, penalty in (("中华人民共和国安全生产法", "第二十八条", "第九十七条"),
                                 ("江苏省安全生产条例", "第二十一条", "第七十一条"),
                                 ("徐州市安全生产条例", "第十八条", "第四十六条")):
        card = next(c for c in regs[title]["cards"] if c["articles"][0] == duty)
        assert "教育和培训" in card["duty"] and card["subject"] == "生产经营单位"
        cons = next(c for c in card["consequences"] if c["label"] == penalty)
        assert "罚款" in cons["plain"] and cons["fine_max"] == 200000.0
    # Duties of the authorities themselves (officials' 处分) are not public outreach material.
    assert not any("工作人员" in (c["subject"] or "") for r in doc["regulations"] for c in r["cards"])


@pytest.mark.integration
def test_legal_aid_list(rt):
    doc = _build(rt, "司法行政")
    regs = {r["title"]: r for r in doc["regulations"]}
    assert {"中华人民共和国法律援助法", "江苏省法律援助条例", "法律援助条例"} <= set(regs)
    assert regs["江苏省法律援助条例"]["version_date"] == "2024-09-27"
    assert all(r["cards"] for r in doc["regulations"])
    assert_quotes_verbatim(rt, doc)
    # 江苏省法律援助条例 has no penalty article: its duties point to the article on applicable penalties.
    js = regs["江苏省法律援助条例"]["cards"]
    assert all(c["consequences"] and c["consequences"][0]["label"] == "第四十八条" for c in js)


@pytest.mark.integration
def test_market_regulation_list(rt):
    doc = _build(rt, "市场监督管理局")  # the office's full name works as well
    titles = [r["title"] for r in doc["regulations"]]
    assert "徐州市质量促进条例" in titles and "中华人民共和国产品质量法" in titles
    assert titles.index("中华人民共和国产品质量法") < titles.index("徐州市质量促进条例")  # national first
    assert all(r["cards"] for r in doc["regulations"])
    assert_quotes_verbatim(rt, doc)


@pytest.mark.integration
def test_unknown_agency_is_not_found(rt):
    from corpus.errors import NotFound

    with pytest.raises(NotFound):
        _build(rt, "不存在的部门")


@pytest.mark.integration
def test_renderings(rt):
    from api.outreach import render_outreach

    md = render_outreach(rt, "应急管理", region="徐州市", fmt="md")
    assert md.startswith("# 徐州市应急管理部门普法责任清单")
    for t in ("《中华人民共和国安全生产法》", "《江苏省安全生产条例》", "《徐州市安全生产条例》", "适用对象", "应当做什么",
              "违反的后果", "依据"):
        assert t in md
    page = render_outreach(rt, "应急管理", region="徐州市", fmt="html")
    assert "<style>" in page and "@media print" in page and "《徐州市安全生产条例》" in page
    data = render_outreach(rt, "司法行政", region="徐州市", fmt="docx")
    assert isinstance(data, bytes)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        names = set(z.namelist())
        assert {"[Content_Types].xml", "_rels/.rels", "word/document.xml"} <= names
        root = ElementTree.fromstring(z.read("word/document.xml"))  # well-formed XML
        for part in ("[Content_Types].xml", "_rels/.rels", "word/styles.xml", "word/_rels/document.xml.rels"):
            ElementTree.fromstring(z.read(part))
    text = "".join(t.text or "" for t in root.iter(f"{W}t"))
    for t in ("中华人民共和国法律援助法", "江苏省法律援助条例", "法律援助条例", "适用对象", "依据"):
        assert t in text


@pytest.mark.integration
def test_outreach_api(client):
    r = client.get("/api/outreach", params={"agency": "应急管理", "region": "徐州市"})
    assert r.status_code == 200
    titles = [x["title"] for x in r.json()["regulations"]]
    assert "徐州市安全生产条例" in titles
    r = client.get("/api/outreach", params={"agency": "应急管理", "region": "徐州市", "format": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '/static/outreach.css' in r.text and "《江苏省安全生产条例》" in r.text
    css = client.get("/static/outreach.css")
    assert css.status_code == 200 and "@media print" in css.text
    r = client.get("/api/outreach", params={"agency": "市场监督管理", "region": "徐州市", "format": "docx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "attachment" in r.headers["content-disposition"]
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

"""The list as Markdown, printable HTML and DOCX: the three hold the same cards (titles, rows, quotes, citations);
the DOCX is read back with python-docx."""
from __future__ import annotations

import io
from html.parser import HTMLParser

import docx
import pytest

from corpus.errors import InvalidFilter
from outreach import build_outreach, render, render_outreach, to_docx, to_fragment, to_html, to_markdown

DOC = {"agency": "公安", "region": "徐州市", "regions": ["全国", "江苏省", "徐州市"], "regulations": [
    {"title": "徐州市养犬管理条例", "region": "徐州市", "level": "地方性法规", "version_date": "2023-01-31",
     "effective_date": "2023-03-01", "version_id": "v1", "cards": [
         {"subject": "养犬人", "duty": "养犬应当遵守下列规定：（四）不得在住宅小区的公用部位养犬；", "avoid": None,
          "consequences": [{"label": "第三十二条", "plain": "责令限期改正；罚款200元至1000元"}],
          "articles": ["第十八条", "第三十二条"],
          "basis": [{"title": "徐州市养犬管理条例", "label": "第十八条", "quote": "养犬应当遵守下列规定："},
                    {"title": "徐州市养犬管理条例", "label": "第十八条", "quote": "（四）不得在住宅小区的公用部位养犬；"},
                    {"title": "徐州市养犬管理条例", "label": "第三十二条",
                     "quote": "违反本条例第十八条第一款第四项规定的，由公安部门责令限期改正<逾期>。"}]},
         {"subject": None, "duty": None, "avoid": "未依法领取养犬登记证擅自养犬的", "consequences": [],
          "articles": ["第二十八条"],
          "basis": [{"title": "徐州市养犬管理条例", "label": "第二十八条", "quote": "未依法领取养犬登记证擅自养犬的"}]}]},
    {"title": "空条例", "region": "徐州市", "level": "地方性法规", "version_date": None, "effective_date": None,
     "version_id": "v2", "cards": []}]}


class _CardsInHtml(HTMLParser):
    """(regulation, card heading, [row texts], [citations]) of each card of the HTML list, as a reader sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[tuple] = []
        self.regulation = ""
        self.tag: str | None = None
        self.text = ""
        self.row_label = ""
        self.in_nav = False  # the contents list

    def handle_starttag(self, tag, attrs):
        if tag == "nav":
            self.in_nav = True
        if tag in ("h2", "h3", "dt", "dd", "li") and not self.in_nav:
            self.tag, self.text = tag, ""
        elif tag == "q":
            self.text += "“"

    def handle_endtag(self, tag):
        if tag == "nav":
            self.in_nav = False
        if tag == "q":
            self.text += "”"
        if tag != self.tag:
            return
        if tag == "h2":
            self.regulation = self.text
        elif tag == "h3":
            self.cards.append((self.regulation, self.text, [], []))
        elif tag == "dt":
            self.row_label = self.text
        elif tag == "dd" and self.row_label != "依据":
            self.cards[-1][2].append(f"{self.row_label}：{self.text}")
        elif tag == "li":
            self.cards[-1][3].append(self.text)
        self.tag = None

    def handle_data(self, data):
        if self.tag:
            self.text += data


def html_cards(page: str) -> list[tuple]:
    parser = _CardsInHtml()
    parser.feed(page)
    return parser.cards


def docx_cards(data: bytes) -> list[tuple]:
    cards: list[tuple] = []
    regulation = ""
    for p in docx.Document(io.BytesIO(data)).paragraphs:
        style = p.style.name
        if style == "Heading 1":
            regulation = p.text
        elif style == "Heading 2":
            cards.append((regulation, p.text, [], []))
        elif style == "List Bullet":
            cards[-1][3].append(p.text)
        elif cards and cards[-1][0] == regulation and p.text != "依据：":
            cards[-1][2].append(p.text)
    return cards


def test_docx_holds_the_cards_of_the_html_page():
    cards = html_cards(to_html(DOC))
    assert cards == docx_cards(to_docx(DOC))
    assert cards == [
        ("《徐州市养犬管理条例》", "1. 第十八条",
         ["适用对象：养犬人", "应当做什么：养犬应当遵守下列规定：（四）不得在住宅小区的公用部位养犬；",
          "违反的后果：责令限期改正；罚款200元至1000元（第三十二条）"],
         ["《徐州市养犬管理条例》第十八条：“养犬应当遵守下列规定：”",
          "《徐州市养犬管理条例》第十八条：“（四）不得在住宅小区的公用部位养犬；”",
          "《徐州市养犬管理条例》第三十二条：“违反本条例第十八条第一款第四项规定的，由公安部门责令限期改正<逾期>。”"]),
        ("《徐州市养犬管理条例》", "2. 第二十八条",
         ["适用对象：见条文", "应当做什么：不得有此行为：未依法领取养犬登记证擅自养犬的", "违反的后果：本法规未规定相应罚则"],
         ["《徐州市养犬管理条例》第二十八条：“未依法领取养犬登记证擅自养犬的”"])]


def test_docx_is_a_word_document_with_the_lists_headings():
    document = docx.Document(io.BytesIO(to_docx(DOC)))
    headings = [(p.style.name, p.text) for p in document.paragraphs if p.style.name in ("Title", "Heading 1")]
    assert headings == [("Title", "徐州市公安部门普法责任清单"), ("Heading 1", "《徐州市养犬管理条例》"),
                        ("Heading 1", "《空条例》")]
    texts = [p.text for p in document.paragraphs]
    assert "范围：全国、江苏省、徐州市现行有效的法规，共 2 部" in texts
    assert "地方性法规 · 徐州市 · 版本 2023-01-31 · 施行 2023-03-01" in texts
    assert "（未找到可整理的义务条款）" in texts
    assert document.core_properties.title == "徐州市公安部门普法责任清单"
    assert round(document.sections[0].page_width.mm) == 210  # A4


def test_markdown_and_html_read_the_same():
    md = to_markdown(DOC)
    assert md.startswith("# 徐州市公安部门普法责任清单\n\n范围：全国、江苏省、徐州市现行有效的法规，共 2 部\n")
    assert "### 1. 第十八条\n\n- **适用对象**：养犬人\n" in md
    assert "  - 《徐州市养犬管理条例》第二十八条：“未依法领取养犬登记证擅自养犬的”\n" in md
    assert "## 《空条例》\n\n地方性法规 · 徐州市\n\n（未找到可整理的义务条款）" in md
    page = to_html(DOC)
    assert "<style>" in page and "@media print" in page  # the print stylesheet travels with the page
    assert "&lt;逾期&gt;" in page and "<逾期>" not in page  # quotes are escaped
    assert "<p>（未找到可整理的义务条款）</p>" in page


def test_unknown_format_is_refused_before_reading_the_index():
    with pytest.raises(InvalidFilter):
        render(DOC, "pdf")
    with pytest.raises(InvalidFilter):
        render_outreach(None, "应急管理", fmt="pdf")


# ---- on a real index ---------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_renderings(index):
    md = render_outreach(index, "应急管理", region="徐州市", fmt="md")
    assert md.startswith("# 徐州市应急管理部门普法责任清单")
    for t in ("《中华人民共和国安全生产法》", "《江苏省安全生产条例》", "《徐州市安全生产条例》", "适用对象", "应当做什么",
              "违反的后果", "依据"):
        assert t in md
    page = render_outreach(index, "应急管理", region="徐州市", fmt="html")
    assert "<style>" in page and "@media print" in page and "《徐州市安全生产条例》" in page
    assert '"agency": "司法行政"' in render_outreach(index, "司法行政", fmt="json")


@pytest.mark.integration
@pytest.mark.parametrize("agency", ["应急管理", "司法行政", "公安"])
def test_docx_holds_the_same_cards_as_the_html(index, agency):
    doc = build_outreach(index, agency, region="徐州市")
    cards = docx_cards(to_docx(doc))
    assert cards == html_cards(to_html(doc))
    assert len(cards) == sum(len(r["cards"]) for r in doc["regulations"]) > 0
    quotes = [f"《{q['title']}》{q['label']}：“{q['quote']}”" for r in doc["regulations"] for c in r["cards"]
              for q in c["basis"]]
    assert [c for card in cards for c in card[3]] == quotes


FIELDS = {"responsible_unit": "徐州市公安局", "content": ["《徐州市养犬管理条例》第十八条、第三十二条"],
          "audience": "养犬人", "methods": ["社区宣传", "登记窗口告知"],
          "key_dates": [{"date": "12月4日", "name": "国家宪法日"}], "completion_standard": "养犬登记告知全覆盖"}
FIELD_ROWS = [("责任单位", "徐州市公安局"), ("普法内容", "《徐州市养犬管理条例》第十八条、第三十二条"), ("普法对象", "养犬人"),
              ("普法方式", "社区宣传；登记窗口告知"), ("重要时间节点", "12月4日：国家宪法日"), ("完成标准", "养犬登记告知全覆盖")]


class _FieldsAndContents(HTMLParser):
    """The fields table (th, td) and the contents list (links) of an HTML list."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[tuple[str, str]] = []
        self.details: list[bool] = []
        self.cell: str | None = None
        self.href: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self.cell = ""
        elif tag == "a":
            self.href, self.cell = attrs.get("href"), ""
        elif tag == "details":
            self.details.append("open" in attrs)

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self.rows[-1].append(self.cell)
            self.cell = None
        elif tag == "a":
            self.links.append((self.href, self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def fields_and_contents(page: str) -> _FieldsAndContents:
    parser = _FieldsAndContents()
    parser.feed(page)
    return parser


def test_every_format_carries_the_lists_fields_and_contents():
    doc = {**DOC, "fields": FIELDS}
    page = fields_and_contents(to_html(doc))
    assert [tuple(r) for r in page.rows] == FIELD_ROWS
    assert page.links == [("#reg-1", "《徐州市养犬管理条例》"), ("#reg-2", "《空条例》")]
    assert page.details == [True, True]  # the printable page opens every section
    assert 'id="reg-1"' in to_html(doc)
    document = docx.Document(io.BytesIO(to_docx(doc)))
    [table] = document.tables
    assert [(r.cells[0].text, r.cells[1].text) for r in table.rows] == FIELD_ROWS
    numbered = [p.text for p in document.paragraphs if p.style.name == "List Number"]
    assert numbered == ["《徐州市养犬管理条例》（2 张卡片）", "《空条例》（0 张卡片）"]
    md = to_markdown(doc)
    assert "| 责任单位 | 徐州市公安局 |" in md and "| 重要时间节点 | 12月4日：国家宪法日 |" in md
    assert "1. 《徐州市养犬管理条例》（2 张卡片）" in md


def test_the_pages_fragment_has_collapsed_sections_under_a_contents_list():
    doc = {**DOC, "fields": FIELDS}
    fragment = to_fragment(doc)
    assert not fragment.startswith("<!doctype") and "<body" not in fragment
    page = fields_and_contents(fragment)
    assert page.details == [False, False] and [h for h, _ in page.links] == ["#reg-1", "#reg-2"]
    assert html_cards(fragment) == html_cards(to_html(doc))  # the same cards as the printable page
    assert '<link rel="stylesheet" href="/api/outreach/print.css">' in fragment  # no inline style (the page's CSP)


@pytest.mark.integration
@pytest.mark.parametrize("typed, agency, title", [
    ("市场监管", "市场监督管理", "徐州市质量促进条例"), ("人社", "人力资源和社会保障", "中华人民共和国劳动法"),
    ("应急局", "应急管理", "徐州市安全生产条例"), ("城管", "城市管理", "徐州市生活垃圾管理条例")])
def test_short_names_give_the_agencys_list(index, typed, agency, title):
    doc = build_outreach(index, typed, region="徐州市")
    assert doc["agency"] == agency
    assert title in [r["title"] for r in doc["regulations"]]
    assert doc == build_outreach(index, agency, region="徐州市")


@pytest.mark.integration
def test_the_docx_carries_the_fields_of_the_list(index):
    doc = build_outreach(index, "应急管理", region="徐州市")
    document = docx.Document(io.BytesIO(to_docx(doc)))
    rows = {r.cells[0].text: r.cells[1].text for r in document.tables[0].rows}
    assert rows["责任单位"] == "徐州市应急管理局" and "6月：安全生产月" in rows["重要时间节点"]
    assert rows["普法内容"].startswith("《中华人民共和国安全生产法》第二十条")
    assert all(rows[k] for k in ("普法对象", "普法方式", "完成标准"))


def test_a_version_line_never_gives_the_first_versions_date_as_this_ones():
    from outreach.layout import version_line

    amended = {"level": "法律", "region": "全国", "version_date": "2021-06-10", "effective_date": "",
               "first_effective_date": "2002-11-01"}
    assert version_line(amended) == "法律 · 全国 · 版本 2021-06-10 · 首次施行 2002-11-01（本版施行日期原文未载明）"
    own = {"level": "地方性法规", "region": "徐州市", "version_date": "2024-12-09", "effective_date": "2025-02-01"}
    assert version_line(own) == "地方性法规 · 徐州市 · 版本 2024-12-09 · 施行 2025-02-01"

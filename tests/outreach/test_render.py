"""The list as Markdown, printable HTML and DOCX: the three hold the same cards (titles, rows, quotes, citations);
the DOCX is read back with python-docx."""
from __future__ import annotations

import io
from html.parser import HTMLParser

import docx
import pytest

from corpus.errors import InvalidFilter
from outreach import build_outreach, render, render_outreach, to_docx, to_html, to_markdown

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

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3", "dt", "dd", "li"):
            self.tag, self.text = tag, ""
        elif tag == "q":
            self.text += "“"

    def handle_endtag(self, tag):
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

"""HTML (and MHTML web archives): the article body only, block elements as lines.

The body is the element holding (nearly) all the 第X条 lines, or else the densest Chinese text;
navigation, share links, footers, scripts and styles are dropped before that choice.
"""
from __future__ import annotations

import email
import email.policy
import re

import lxml.html
from lxml import etree

from corpus.errors import CorruptFile

from .textutil import ARTICLE_START_RE, clean_line, is_cjk

_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "tr", "table", "section",
               "article", "main", "blockquote", "pre", "dd", "dt", "dl", "center", "address", "figure",
               "figcaption", "caption", "tbody", "thead", "tfoot", "body", "hr", "form", "fieldset", "header",
               "footer", "nav", "aside", "title"}
_CELL_TAGS = {"td", "th"}
_DROP_TAGS = ["script", "style", "noscript", "nav", "footer", "aside", "form", "iframe", "select", "button",
              "template", "svg", "object", "embed", "input", "textarea", "canvas", "audio", "video", "map"]
_CLUTTER_ATTR_RE = re.compile(
    r"(^|[\s_-])(nav|navbar|menu|share|bdshare|footer|foot|breadcrumbs?|crumbs?|sidebar|side|copyright|banner|"
    r"toolbar|print|comments?|related|pager|pagination|tools?|subnav|topbar|weixin|wechat|qrcode|search|login|"
    r"position|location|dqwz|fenxiang|bottom|links?)($|[\s_-])", re.I)
# Short lines that are page furniture even inside the article container.
_CLUTTER_LINE_RE = re.compile(
    r"分享到|打印本页|【?\s*打印\s*】?$|关闭窗口|【\s*关闭\s*】|字体[：:]?\s*[【\[]?\s*大\s*中\s*小|字号[：:]|"
    r"^【?\s*(大|中|小)\s*】?$|^(上一篇|下一篇)[：:]|^责任编辑|^版权所有|^扫一扫|^来源[：:]|^浏览次数|^点击数",
)
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.S)


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Decode HTML bytes: BOM, a declared charset, the meta charset, then UTF-8 / GB18030 trials."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    candidates = []
    if declared:
        candidates.append(declared)
    m = _META_CHARSET_RE.search(data[:8192])
    if m:
        candidates.append(m.group(1).decode("ascii", "ignore"))
    candidates += ["utf-8", "gb18030"]
    for enc in candidates:
        enc = enc.lower()
        if enc in ("gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936"):
            enc = "gb18030"  # a superset: files labelled gb2312 often use GBK characters
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace")


def mhtml_to_html(data: bytes) -> str | None:
    """Extract the first text/html part of a MIME (MHTML) web archive; None when there is none."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if payload is None:
                continue
            return decode_html(payload, part.get_content_charset())
    return None


def _is_mhtml(data: bytes) -> bool:
    head = data[:4096].lstrip().lower()
    return head.startswith(b"mime-version:") or (b"content-type: multipart/related" in head)


def _parse(text: str):
    text = _XML_DECL_RE.sub("", text)
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True,
                                  huge_tree=False)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as e:
        raise CorruptFile("网页文件无法解析", detail=str(e)) from None
    return root


def _strip_clutter(root) -> None:
    for el in list(root.iter(*_DROP_TAGS)):
        if el.getparent() is not None:
            el.drop_tree()
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None or el.tag in ("html", "body"):
            continue
        attrs = " ".join(filter(None, (el.get("class"), el.get("id"))))
        if attrs and _CLUTTER_ATTR_RE.search(attrs):
            # Never drop a container that holds the law text itself.
            if len(ARTICLE_START_RE.findall(_block_text_sample(el))) < 2:
                el.drop_tree()


def _block_text_sample(el) -> str:
    return "\n".join(clean_line(t) for t in el.itertext())


def _lines_of(el) -> list[str]:
    """Render an element's text with a line break around each block element and a space between cells."""
    parts: list[str] = []

    def walk(node):
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "br":
            parts.append("\n")
        elif tag in _BLOCK_TAGS:
            parts.append("\n")
        elif tag in _CELL_TAGS:
            parts.append(" ")
        if node.text and tag not in ("script", "style"):
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if tag in _BLOCK_TAGS:
            parts.append("\n")

    walk(el)
    lines = []
    for raw in "".join(parts).split("\n"):
        line = clean_line(re.sub(r"[ \t\r\f\v\u00a0]+", " ", raw))
        line = re.sub(r"^\*+\s*(?=第)", "", line)  # markdown list bullets left in TOC lines: "*第一节 …"
        if line:
            lines.append(line)
    return lines


def _own_counts(body) -> tuple[dict, dict]:
    """Per element, (article-start lines, CJK characters) in its subtree, in one pass over the tree."""
    articles: dict = {}
    cjk: dict = {}

    def credit(el, art: int, n: int) -> None:
        node = el
        while node is not None:
            if art:
                articles[node] = articles.get(node, 0) + art
            if n:
                cjk[node] = cjk.get(node, 0) + n
            if node is body:
                break
            node = node.getparent()

    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        pieces = [el.text or ""] + [child.tail or "" for child in el]
        art = sum(1 for t in pieces if t and ARTICLE_START_RE.match(clean_line(t)))
        n = sum(1 for t in pieces for ch in t if is_cjk(ch))
        if art or n:
            credit(el, art, n)
    return articles, cjk


def _choose_body(body):
    """The smallest container holding ≥ 90 % of the page's article lines (or, without any, 80 % of its Chinese)."""
    articles, cjk = _own_counts(body)
    total_articles = articles.get(body, 0)
    if total_articles >= 2:
        counts, share = articles, 0.9
    else:
        counts, share = cjk, 0.8
    total = counts.get(body, 0)
    if total == 0:
        return body
    best, best_len = body, None
    for el in body.iter("div", "article", "section", "td", "main", "table", "tbody", "center"):
        if counts.get(el, 0) >= share * total:
            n = len(el.text_content())
            if best_len is None or n < best_len:
                best, best_len = el, n
    return best


def html_to_lines(text: str) -> tuple[list[str], dict]:
    """Return (lines, metadata) of an HTML document: the article body as lines (metadata is empty for now)."""
    root = _parse(text)
    meta: dict = {}
    _strip_clutter(root)
    body = root.find("body")
    if body is None:
        body = root
    chosen = _choose_body(body)
    lines = [ln for ln in _lines_of(chosen) if not (len(ln) <= 40 and _CLUTTER_LINE_RE.search(ln))]
    # A title that sits outside the chosen container (e.g. a separate <h1> above it) is put back on top.
    if chosen is not body:
        heads = [h for h in body.iter("h1", "h2") if isinstance(h.tag, str)]
        if heads and not any(h is chosen or chosen in h.iterancestors() or h in chosen.iterdescendants()
                             for h in heads[:1]):
            head_text = clean_line(heads[0].text_content())
            if head_text and (not lines or lines[0] != head_text):
                lines.insert(0, head_text)
    return lines, meta


def convert_html(data: bytes) -> tuple[list[str], dict, list[str]]:
    warnings: list[str] = []
    if _is_mhtml(data):
        html = mhtml_to_html(data)
        if html is None:
            raise CorruptFile("网页归档（MHT）中没有 HTML 正文")
    else:
        html = decode_html(data)
    lines, meta = html_to_lines(html)
    return lines, meta, warnings

"""The structure of a regulation text: title, preamble, 编/分编/章/节 headings, 条 with their 款/项/目.

Input is the logical text of one document (one paragraph a line), as the converters give it; LawRefBook markdown
(`#` headings, `<!-- INFO END -->`) and YAML front matter are tolerated too. Texts without any 第X条 (amendment
decisions, 修正案) are split into numbered paragraphs instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from corpus.model import Article, Clause
from corpus.numerals import ITEM_RE, NUMERAL_RE, cn_to_int
from corpus.titles import normalize_title

__all__ = ["ParsedStructure", "parse_structure", "normalize_heading", "is_item_line", "is_subitem_line",
           "clauses_from_lines", "tidy_text", "HISTORY_LINE_RE"]

# ----------------------------------------------------------------------------------------------------------------
# Line level patterns

_STRIP = " \t\r\n\u3000\u2002\u2003\u2009\u200b\u200c\u200d\ufeff\xa0"
_WS = re.compile(r"[\s\u3000\u2002\u2003\u2009\u200b\xa0]+")
_CN_SMALL = "一二三四五六七八九十"

ARTICLE_RE = re.compile(
    rf"^[第笫]\s*({NUMERAL_RE})\s*条(之[{_CN_SMALL}]+)?(.*)$", re.S)
# A 第X条 merged into the previous line (…决定。 第十六条市人民…): only after a sentence end.
_MIDLINE_ARTICLE_RE = re.compile(
    rf"(?<=[。；！？”」])([\s\u3000]*)第\s*({NUMERAL_RE})\s*条(之[{_CN_SMALL}]+)?([\s\u3000]*)(?=\S)")
HEADING_RE = re.compile(rf"^[第笫]\s*({NUMERAL_RE})\s*(分编|编|章|节)(?![之规的中])(.*)$")
_HEADING_LEVEL = {"编": 0, "分编": 1, "章": 2, "节": 3}
_BOOK_LINE_RE = re.compile(r"^(?:[\u4e00-\u9fff]{1,8}编|总则|附则)$")
_PAGE_NO_RE = re.compile(
    r"^(?:[─—\-－–_~〜·•]+\s*\d{1,4}\s*[─—\-－–_~〜·•]+|第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|\d{1,4}|[─—\-－–]\s*\d{1,4})$")
_TOC_LEADER_RE = re.compile(r"[\s.．·…⋯_]{3,}\d*$|\s+\d{1,4}$")
SUBITEM_RE = re.compile(r"^(?:\d{1,3}|[０-９]{1,3})\s*[.．、](?!\d)|^[（(]\s*\d{1,3}\s*[）)]|^[①-⑳⑴-⒇]")
_SENTENCE_END = "。；：！？”」…）)"
_HEADING_FORBIDDEN = re.compile(r"[。；：，,;:!?！？\d０-９]")
_CN_DATE = r"(?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月" \
           r"\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*日"
HISTORY_LINE_RE = re.compile(
    rf"^(?:[（(]\s*)?(?:根据\s*)?{_CN_DATE}(?![，,至])"
    r"(?:.{0,300}?(?:通过|批准|公布|发布|修正|修订|施行|制定|印发|会议|国务院令|公告)|.{0,40}$)"
    r"|^(?:[（(]\s*)?(?:根据\s*)?(?:\S{0,30})(?:公布之日|发布之日)\S{0,4}施行")
_TITLE_END_RE = re.compile(
    r"(?:法|条例|规定|办法|决定|解释|细则|规则|决议|修正案|通知|意见|批复|答复|规范|标准|章程|方案|纲要|公约|协定|准则|"
    r"规程|目录|批复|函|令|宪法|安排|纪要|守则|通告|须知|指引|指南|协议|议定书|清单|名录)(?:[（(][^）)]{1,20}[）)])*$")
_DOC_NO_RE = re.compile(r"^\S{1,12}[〔\[［(（]\s*\d{4}\s*[〕\]］)）]\s*\S{0,4}\d+\s*号$")
_ANNEX_RE = re.compile(r"^附\s*(?:件|表|录)\s*[一二三四五六七八九十\d]*\s*(?:[：:].{0,40})?$|^附\s*[：:]\s*.{0,40}$")
_ENUM_RE = re.compile(rf"^([{_CN_SMALL}百]+)、")


def _clean(line: str) -> str:
    return line.strip(_STRIP)


_CJK = "\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef\u2014-\u201f\u2026"
_SPACE_NEAR_CJK_RE = re.compile(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}A-Za-z0-9（(])|(?<=[A-Za-z0-9)）])[ \t]+(?=[{_CJK}])")


def tidy_text(text: str) -> str:
    """Spaces next to Chinese characters carry no meaning (`本法自 2002 年 11 月 1 日起施行` from PDF exports,
    `通过  2019年` between history events): drop them; keep those between two Latin words or numbers."""
    return _SPACE_NEAR_CJK_RE.sub("", text)


def normalize_heading(text: str) -> str:
    """`第一章　总　　则` → `第一章 总则`; `第三编  合同` → `第三编 合同`; `一、 管辖` → `一、管辖`."""
    t = _clean(text)
    t = _TOC_LEADER_RE.sub("", t) if len(t) > 4 else t
    m = HEADING_RE.match(t)
    if m:
        num, kind, name = m.group(1), m.group(2), _WS.sub("", m.group(3))
        return f"第{_WS.sub('', num)}{kind} {name}".strip()
    return _WS.sub("", t)


def _heading_key(text: str) -> str:
    """`第一章` for `第一章 总则`, else the whole normalised text (to spot a TOC entry repeated in the body)."""
    m = HEADING_RE.match(text)
    if m:
        return f"{m.group(2)}{cn_to_int(_WS.sub('', m.group(1)))}"
    return _WS.sub("", text)


def is_item_line(line: str) -> bool:
    """A 项: （一）… / (一)…"""
    return bool(ITEM_RE.match(line))


def is_subitem_line(line: str) -> bool:
    """A 目: 1. … / 1、… / （1）… / ①…"""
    return bool(SUBITEM_RE.match(line))


def clauses_from_lines(lines: list[str]) -> list[Clause]:
    """款 from an article's lines: each line is a 款, except 项 lines (items of the 款 before them) and 目 lines
    (kept inside the 项 before them, or items themselves when no 项 precedes them)."""
    clauses: list[Clause] = []
    for line in lines:
        if is_item_line(line) and clauses:
            clauses[-1].items.append(line)
        elif is_subitem_line(line) and clauses:
            last = clauses[-1]
            if last.items and is_item_line(last.items[-1]):  # the 目 of the 项 before them
                last.items[-1] = last.items[-1] + "\n" + line
            else:
                last.items.append(line)
        else:
            clauses.append(Clause(text=line))
    return clauses


# ----------------------------------------------------------------------------------------------------------------


@dataclass
class ParsedStructure:
    title: str
    preamble: str = ""
    articles: list[Article] = field(default_factory=list)
    has_articles: bool = True
    warnings: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)  # every 编/章/节 heading of the body, in order
    toc: list[str] = field(default_factory=list)  # the 目录 entries, when the text has one
    appendix: str = ""  # text after the last article under its own heading (附件…), not part of any article
    volume: str = ""  # the 编 this file holds when a code comes in one file per 编 (民法典/合同编.md → 合同编)

    @property
    def article_numbers(self) -> list[tuple[int, str]]:
        return [(a.article_no, a.article_suffix) for a in self.articles]


@dataclass
class _Line:
    text: str
    md_level: int = 0  # number of leading '#' in markdown, 0 when none
    info_end: bool = False
    soft: bool = False  # split off the previous line at a mid-line 第X条


def _preprocess(text: str) -> tuple[list[_Line], int]:
    """Logical lines without markdown noise, page numbers and blank lines; also the number of dropped lines."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    # YAML front matter (raw markdown only; the converters strip it already).
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1 and text[4:end].count(":") >= 1:
            text = text[end + 4:]
    out: list[_Line] = []
    dropped = 0
    for raw in text.split("\n"):
        s = _clean(raw)
        if not s:
            continue
        if s.startswith("<!--"):
            if "INFO END" in s:
                out.append(_Line("", info_end=True))
            continue
        level = 0
        m = re.match(r"^(#{1,6})(?:\s+|$)", s)
        if m:
            level = len(m.group(1))
            s = _clean(s[m.end():])
            if not s:
                continue
        while s.startswith(">"):
            s = _clean(s[1:])
        if not s:
            continue
        if _PAGE_NO_RE.match(s):
            dropped += 1
            continue
        out.append(_Line(_WS.sub(" ", s), md_level=level))
    return out, dropped


def _split_merged_articles(lines: list[_Line]) -> list[_Line]:
    """Split `…决定。 第十六条市人民…` into two lines (marked soft: re-joined if 第十六条 is not accepted)."""
    out: list[_Line] = []
    for ln in lines:
        if ln.md_level or ln.info_end or "条" not in ln.text:
            out.append(ln)
            continue
        text, soft = ln.text, ln.soft
        while True:
            cut = None
            for m in _MIDLINE_ARTICLE_RE.finditer(text):
                if m.start() < 4:
                    continue
                if not (m.group(1) or m.group(4)):
                    continue  # 第X条 right after a full stop with no space on either side: a citation
                cut = m
                break
            if cut is None:
                out.append(_Line(text, soft=soft))
                break
            out.append(_Line(_clean(text[:cut.start()]), soft=soft))
            text, soft = _clean(text[cut.start():]), True
    return out


def _article_match(text: str) -> tuple[int, str, str] | None:
    m = ARTICLE_RE.match(text)
    if not m:
        return None
    try:
        n = cn_to_int(_WS.sub("", m.group(1)))
    except ValueError:
        return None
    if n <= 0 or n > 5000:
        return None
    return n, m.group(2) or "", m.group(3)


def _suffix_index(suffix: str) -> int:
    return cn_to_int(suffix[1:]) if suffix else 0


def _heading_match(line: _Line) -> tuple[int, str] | None:
    """(level, normalised heading) for a 编/分编/章/节 line or a markdown heading, else None."""
    t = line.text
    m = HEADING_RE.match(t)
    if m:
        name = _clean(m.group(3))
        name = _TOC_LEADER_RE.sub("", name) if len(name) > 2 else name
        if len(name) <= 16 and name.endswith("。"):
            name = name[:-1]  # `第五节 生活、卫生。`
        if len(_WS.sub("", name)) <= 40 and not re.search(r"[。；;]", name):
            try:
                cn_to_int(_WS.sub("", m.group(1)))
            except ValueError:
                return None
            return _HEADING_LEVEL[m.group(2)], normalize_heading(f"第{m.group(1)}{m.group(2)} {name}")
    if line.md_level:
        if ARTICLE_RE.match(t):
            return None
        return min(line.md_level, 4) if line.md_level > 1 else 0, normalize_heading(t)
    return None


def _looks_like_bare_heading(text: str) -> bool:
    """A chapter name that lost its 第X章 label (总则, 法律责任, 分类收集、运输和处置, 一、管辖)."""
    t = _WS.sub("", text)
    if not 2 <= len(t) <= 20:
        return False
    t2 = _ENUM_RE.sub("", t)
    if not t2 or _HEADING_FORBIDDEN.search(t2):
        return False
    if t2[0] in "（(“\"《【[":
        return False
    return all("\u4e00" <= ch <= "\u9fff" or ch in "、“”（）()《》和与及" for ch in t2)


def _is_history_line(text: str) -> bool:
    return bool(HISTORY_LINE_RE.match(text))


# ----------------------------------------------------------------------------------------------------------------


_HEADER_RE = re.compile(r"(?:公告|主席令|命令)$|^[（(]?第\s*\S{1,8}\s*号[）)]?$|〔\s*\d{4}\s*〕|^\S{0,20}令$")


def _title_like(text: str) -> bool:
    t = _WS.sub("", text)
    return (len(t) <= 80 and not re.search(r"[。；，：]", t) and bool(_TITLE_END_RE.search(t))
            and not ARTICLE_RE.match(t) and not HEADING_RE.match(t) and not _is_history_line(t)
            and not _HEADER_RE.search(t) and not _ENUM_RE.match(t) and not ITEM_RE.match(t))


def _starts_body(lines: list[_Line], i: int) -> bool:
    """lines[i] opens what follows a title: history, 目录, a heading or an article."""
    if i >= len(lines):
        return False
    t = lines[i].text
    return (lines[i].info_end or _is_history_line(t) or _WS.sub("", t) == "目录" or bool(HEADING_RE.match(t))
            or bool(ARTICLE_RE.match(t)))


def _find_title(lines: list[_Line], title_hint: str) -> tuple[str, int, list[str], list[str]]:
    """(title, index of the first line after the title, warnings, lines before the title)."""
    warnings: list[str] = []
    hint_key = normalize_title(title_hint) if title_hint else ""
    if not lines:
        return title_hint, 0, warnings, []
    # A line within the first few that equals the hint (files may start with a header or a document number).
    if hint_key:
        for i, ln in enumerate(lines[:12]):
            if normalize_title(ln.text) == hint_key:
                return _clean(ln.text), i + 1, warnings, [x.text for x in lines[:i] if not x.info_end]
            if i + 1 < len(lines) and normalize_title(ln.text + lines[i + 1].text) == hint_key:
                return _clean(ln.text + lines[i + 1].text), i + 2, warnings, [x.text for x in lines[:i]
                                                                              if not x.info_end]
    first = lines[0]
    if first.info_end:
        return title_hint, 0, warnings, []
    t = first.text
    wrapped = len(lines) > 1 and not lines[1].info_end and _title_like(t + lines[1].text) and not _title_like(t) \
        and not _HEADER_RE.search(t) and len(lines[1].text) <= 30
    if not _title_like(t) and not wrapped:
        # An announcement or order before the title (…公告 / 主席令 第七十号 / 现予公布…): the title is the
        # first title-like line that history, 目录, a heading or an article follows.
        for i in range(1, min(15, len(lines))):
            if lines[i].info_end:
                break
            if _title_like(lines[i].text) and _starts_body(lines, i + 1):
                return _finish_title(lines[i].text, title_hint), i + 1, warnings, [x.text for x in lines[:i]]
    if ARTICLE_RE.match(t) or HEADING_RE.match(t) or _is_history_line(t) or len(t) > 80 or "。" in t:
        warnings.append("未识别到标题行")
        return title_hint, 0, warnings, []
    nxt = 1
    # A title wrapped over two lines (PDF): the first part does not end like a title, the second does.
    if (len(lines) > 1 and not _TITLE_END_RE.search(_WS.sub("", t)) and not lines[1].info_end
            and len(lines[1].text) <= 30 and _TITLE_END_RE.search(_WS.sub("", lines[1].text))
            and not ARTICLE_RE.match(lines[1].text) and not HEADING_RE.match(lines[1].text)
            and not _is_history_line(lines[1].text) and not re.search(r"[。；，]", lines[1].text)):
        t = t + lines[1].text
        nxt = 2
    return _finish_title(t, title_hint), nxt, warnings, []


def _finish_title(t: str, title_hint: str) -> str:
    title = _WS.sub("", t) if re.fullmatch(r"[\u4e00-\u9fff\s（）()《》〈〉、·]+", t) else t
    return title_hint or title


def _title_repeat(line: _Line, title: str) -> bool:
    return bool(title) and normalize_title(line.text) == normalize_title(title)


def _after_colon(lines: list[_Line], i: int) -> bool:
    """True when the text line before lines[i] (headings skipped) ends with a colon: what follows is quoted."""
    j = i - 1
    while j >= 0 and (lines[j].md_level or HEADING_RE.match(lines[j].text)):
        j -= 1
    return j >= 0 and lines[j].text.endswith(("：", ":"))


def _accept_candidates(lines: list[_Line], start: int) -> tuple[set[int], list[str]]:
    """Indices of lines that start a new article: numbers must run on (n+1, or n with 之一/之二), gaps are
    accepted only when no later line fills them (a later 第五条 shows an earlier 第十五条 was quoted text)."""
    cands: list[tuple[int, int, int, str]] = []  # (line index, number, suffix index, rest)
    for i in range(start, len(lines)):
        ln = lines[i]
        if ln.md_level or ln.info_end:
            continue
        m = _article_match(ln.text)
        if m:
            n, suf, rest = m
            cands.append((i, n, _suffix_index(suf), rest))
    accepted: set[int] = set()
    warnings: list[str] = []
    prev: tuple[int, int] | None = None
    quoted: int | None = None  # the last number rejected as quoted text
    for k, (i, n, s, rest) in enumerate(cands):
        if prev is None:
            # The first article: the lowest number from here on (a quoted 第十条 before 第一条 is not it).
            later_min = min((c[1] for c in cands[k + 1:k + 400]), default=n)
            if later_min < n:
                continue
            if n != 1:
                warnings.append(f"条文编号从第{n}条开始")
            accepted.add(i)
            prev = (n, s)
            continue
        pn, ps = prev
        if s == 0 and n == pn + 1:
            ok = True
        elif s > 0 and n == pn and s == ps + 1:
            ok = True
        elif s > 0 and n == pn and s > ps:
            ok = True
            warnings.append(f"第{pn}条之后的插入条编号不连续（之{s}）")
        elif n > pn and (_after_colon(lines, i) or (quoted is not None and n in (quoted, quoted + 1))):
            ok = False  # 第X条 lines after "…内容如下：" are quoted text (宪法修正案, 修改决定)
            quoted = n
        elif n > pn and not (s == 0 and n == pn + 1):
            # A gap (or an inserted 之一 after a missing base). Accept unless a later line fills the gap.
            lo, hi = pn + 1, n - 1
            filled = False
            if hi >= lo or (s > 0 and n == pn + 1):
                for c in cands[k + 1:]:
                    if lo <= c[1] <= hi or (s > 0 and c[1] == n and c[2] == 0):
                        filled = True
                        break
                    if c[1] > n + 1:
                        break
            gap = n - pn - 1
            ok = not filled and (gap <= 30 or rest[:1] in " \u3000\u2002")
            if ok:
                if gap > 0:
                    warnings.append(f"条文编号不连续：第{pn}条之后是第{n}条{('之' + str(s)) if s else ''}")
                else:
                    warnings.append(f"第{n}条之{s}之前没有第{n}条")
        else:
            ok = False
        if ok:
            accepted.add(i)
            prev = (n, s)
            quoted = None
    return accepted, warnings


def parse_structure(text: str, *, title_hint: str = "") -> ParsedStructure:
    """Parse one regulation text into title, preamble and articles (or paragraphs when it has no 第X条)."""
    lines, _dropped = _preprocess(text)
    lines = _split_merged_articles(lines)
    title, pos, warnings, prefix = _find_title(lines, title_hint)
    result = ParsedStructure(title=title, warnings=warnings)

    info_end = next((i for i in range(pos, len(lines)) if lines[i].info_end), None)
    # Repeated title lines and 编 names right after the title (民法典 parts: `# 合同编`).
    book_stack: list[tuple[int, str]] = []
    scan_from = pos
    while scan_from < len(lines) and not lines[scan_from].info_end:
        ln = lines[scan_from]
        if _title_repeat(ln, title):
            scan_from += 1
            continue
        if (ln.md_level == 1 or _BOOK_LINE_RE.match(_WS.sub("", ln.text))) and not _is_history_line(ln.text) \
                and len(ln.text) <= 12 and not ARTICLE_RE.match(ln.text):
            book_stack = [(0, normalize_heading(ln.text))]
            scan_from += 1
            continue
        break

    if book_stack:
        result.volume = book_stack[0][1]
    accepted, warn = _accept_candidates(lines, scan_from)
    result.warnings.extend(warn)
    first_art = min(accepted) if accepted else None

    if first_art is None:
        _parse_paragraphs(lines, scan_from, info_end, title, book_stack, result)
        _prepend(result, prefix)
        return result

    # Where the body starts: before the first article, after the history and the table of contents.
    region_start = info_end + 1 if info_end is not None and info_end < first_art else scan_from
    body_start = _body_start(lines, region_start, first_art, result)
    pre_lines = [ln.text for ln in lines[scan_from:body_start]
                 if not ln.info_end and not _title_repeat(ln, title)]
    result.preamble = "\n".join(tidy_text(t) for t in pre_lines)

    _parse_articles(lines, body_start, accepted, title, book_stack, result)
    _prepend(result, prefix)
    return result


def _prepend(result: ParsedStructure, prefix: list[str]) -> None:
    """Lines before the title (an announcement, a document number) go in front of the preamble."""
    if prefix:
        result.preamble = "\n".join(filter(None, [*map(tidy_text, prefix), result.preamble]))


def _body_start(lines: list[_Line], start: int, first_art: int, result: ParsedStructure) -> int:
    """The index of the first body line (a heading or the first article) in lines[start:first_art]."""
    heads = [(i, _heading_match(lines[i])) for i in range(start, first_art)]
    heads = [(i, h) for i, h in heads if h is not None]
    toc_at = next((i for i in range(start, first_art) if _WS.sub("", lines[i].text) == "目录"), None)
    if heads:
        keys = [_heading_key(h[1]) for _, h in heads]
        after_toc = [(i, h) for i, h in heads if toc_at is not None and i > toc_at]
        first_key = _heading_key(after_toc[0][1][1]) if after_toc else keys[0]
        occurrences = [i for (i, h), k in zip(heads, keys) if k == first_key]
        if len(occurrences) > 1:
            toc_lines = [lines[i].text for i in range(toc_at + 1 if toc_at is not None else occurrences[0],
                                                      occurrences[-1])]
            result.toc = [normalize_heading(t) for t in toc_lines if _heading_match(_Line(t)) or
                          _looks_like_bare_heading(t)]
            return occurrences[-1]
    # No table of contents: the run of heading lines just before the first article.
    i = first_art
    while i - 1 >= start:
        prev = lines[i - 1]
        if _heading_match(prev) or (_looks_like_bare_heading(prev.text) and not _is_history_line(prev.text)
                                     and not re.search(r"(?:令|号|公告)$", prev.text)):
            i -= 1
            continue
        break
    if toc_at is not None and i <= toc_at:
        # A 目录 whose entries the body does not repeat with their labels (the body's 第一章 lost its label):
        # the TOC is the run of labelled headings after 目录; the body starts after it.
        j = toc_at + 1
        while j < first_art and HEADING_RE.match(lines[j].text):
            j += 1
        if j > toc_at + 1 and j < first_art:
            result.toc = [normalize_heading(lines[k].text) for k in range(toc_at + 1, j)]
            return j
        i = toc_at + 1
    return i


def _push_heading(stack: list[tuple[int, str]], level: int, text: str) -> None:
    while stack and stack[-1][0] >= level:
        stack.pop()
    stack.append((level, text))


def _next_text_index(lines: list[_Line], i: int) -> int | None:
    j = i + 1
    while j < len(lines) and lines[j].info_end:
        j += 1
    return j if j < len(lines) else None


def _parse_articles(lines: list[_Line], start: int, accepted: set[int], title: str,
                    book_stack: list[tuple[int, str]], result: ParsedStructure) -> None:
    stack = list(book_stack)
    headings_seen: list[str] = [h for _, h in book_stack]
    current: dict | None = None
    articles: list[dict] = []
    appendix: list[str] = []
    heading_after_last = False
    last_accepted = max(accepted)
    pre_extra: list[str] = []

    def close() -> None:
        nonlocal current
        if current is not None:
            articles.append(current)
            current = None

    for i in range(start, len(lines)):
        ln = lines[i]
        if ln.info_end:
            continue
        if i in accepted:
            close()
            n, suf, rest = _article_match(ln.text)  # type: ignore[misc]
            body = [_clean(rest)] if _clean(rest) else []
            current = {"no": n, "suffix": suf, "headings": [h for _, h in stack], "lines": body}
            heading_after_last = False
            continue
        if _title_repeat(ln, title):
            continue
        h = _heading_match(ln)
        if h is not None and not ln.md_level and current is not None and current["lines"] \
                and current["lines"][-1].endswith(("：", ":")):
            h = None  # quoted text of an amendment (…增加一节，内容如下：第七节 监察委员会)
        if h is None and _looks_like_bare_heading(ln.text) and not ln.soft:
            nxt = _next_text_index(lines, i)
            prev_text = lines[i - 1].text if i > start else ""
            if nxt is not None and nxt in accepted and (
                    not prev_text or prev_text[-1] in _SENTENCE_END or _heading_match(lines[i - 1])
                    or i - 1 in accepted):
                h = (2, normalize_heading(ln.text))
        if h is not None:
            level, name = h
            # A bare `第一章` whose name is on the next line (PDF).
            m = HEADING_RE.match(ln.text)
            if m and not _clean(m.group(3)):
                nxt = _next_text_index(lines, i)
                if nxt is not None and nxt not in accepted and _looks_like_bare_heading(lines[nxt].text):
                    name = normalize_heading(f"{ln.text} {lines[nxt].text}")
                    lines[nxt] = _Line("", info_end=True)
            if current is not None or articles:
                if i > last_accepted:
                    heading_after_last = True
            _push_heading(stack, level, name)
            headings_seen.append(name)
            if heading_after_last:
                close()
                appendix.append(name)
            continue
        # Plain text. 附件/附表 after the last article starts the appendix.
        if not heading_after_last and i > last_accepted and _ANNEX_RE.match(ln.text):
            heading_after_last = True
            close()
        if heading_after_last:
            appendix.append(ln.text)
        elif current is not None:
            if ln.soft and current["lines"]:
                current["lines"][-1] = current["lines"][-1] + ln.text
            else:
                current["lines"].append(ln.text)
        else:
            pre_extra.append(ln.text)
    close()

    if pre_extra:
        result.preamble = "\n".join(filter(None, [result.preamble, *map(tidy_text, pre_extra)]))
    for a in articles:
        a["lines"] = [tidy_text(t) for t in a["lines"]]
        if not a["lines"]:
            result.warnings.append(f"第{a['no']}条{a['suffix']}没有正文")
        result.articles.append(Article(
            regulation_title=title, article_no=a["no"], article_suffix=a["suffix"], headings=a["headings"],
            clauses=clauses_from_lines(a["lines"]), text="\n".join(a["lines"])))
    result.headings = list(dict.fromkeys(headings_seen))
    result.appendix = "\n".join(tidy_text(t) for t in appendix)
    result.has_articles = True


def _parse_paragraphs(lines: list[_Line], start: int, info_end: int | None, title: str,
                      book_stack: list[tuple[int, str]], result: ParsedStructure) -> None:
    """A text without 第X条: preamble (history) then numbered paragraphs; `一、` items group their lines."""
    if info_end is not None:
        body_start = info_end + 1
    else:
        body_start = start
        depth = 0
        while body_start < len(lines):
            t = lines[body_start].text
            if depth > 0 or _is_history_line(t) or _WS.sub("", t) == "目录" or _DOC_NO_RE.match(t):
                opened = t.count("（") + t.count("(") - t.count("）") - t.count(")")
                depth = max(0, depth + opened)
                body_start += 1
                continue
            break
    result.preamble = "\n".join(tidy_text(ln.text) for ln in lines[start:body_start]
                                if not ln.info_end and not _title_repeat(ln, title))
    stack = list(book_stack)
    units: list[tuple[list[str], list[str]]] = []  # (headings, lines)
    body = [ln for ln in lines[body_start:] if not ln.info_end and not _title_repeat(ln, title)]
    # `一、执行机构及其职责` (a short line without punctuation) is a heading, `一、将刑法第…修改为：…` is not.
    body = [_Line(ln.text, md_level=ln.md_level or 2, soft=ln.soft)
            if _ENUM_RE.match(ln.text) and _looks_like_bare_heading(ln.text) else ln for ln in body]
    # Group by top-level 一、二、三、 when the text is enumerated that way (修正案, 决定).
    enum_seq = [(k, cn_to_int(m.group(1))) for k, ln in enumerate(body)
                if not ln.md_level and (m := _ENUM_RE.match(ln.text))]
    starts: set[int] = set()
    expect = 1
    for k, n in enum_seq:
        if n == expect:
            starts.add(k)
            expect += 1
    grouped = len(starts) >= 2
    headings_seen = [h for _, h in book_stack]
    for k, ln in enumerate(body):
        h = _heading_match(ln)
        if h is not None and (ln.md_level or not _ENUM_RE.match(ln.text)):
            _push_heading(stack, *h)
            headings_seen.append(h[1])
            continue
        if ln.soft and units:
            units[-1][1][-1] += ln.text
            continue
        heads = [x for _, x in stack]
        if not grouped or k in starts or not units or units[-1][0] != heads or (
                min(starts) > k if starts else True):
            units.append((heads, [ln.text]))
        else:
            units[-1][1].append(ln.text)
    for n, (heads, ls) in enumerate(units, 1):
        ls = [tidy_text(t) for t in ls]
        result.articles.append(Article(
            regulation_title=title, article_no=n, label=f"第{n}段", headings=heads,
            clauses=clauses_from_lines(ls), text="\n".join(ls), kind="paragraph"))
    result.headings = list(dict.fromkeys(headings_seen))
    result.has_articles = False
    if not units:
        result.warnings.append("未找到正文")
    else:
        result.warnings.append("未找到“第X条”，按段落切分")

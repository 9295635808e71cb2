"""Recognise article citations in a query: 《中华人民共和国安全生产法》第二十八条, 安全生产法第28条第1款,
徐州市安全生产条例 第二十条第一款第（三）项, full-width digits, 简称 — so they resolve without similarity search."""
from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.model import Citation
from corpus.numerals import NUMERAL_RE, SUFFIX_RE, cn_to_int

_TITLE_TAIL = r"(?:法|条例|规定|办法|细则|解释|规则|决定|准则|章程|意见|通知|规范|纲要|法典)"
_NUM = NUMERAL_RE
_CITATION = re.compile(
    rf"(?:《(?P<bracketed>[^》]{{2,80}})》|(?P<bare>[\u4e00-\u9fff（）()〈〉《》]{{1,60}}?{_TITLE_TAIL}))"
    rf"[\s\u3000]*(?:的)?[\s\u3000]*第?[\s\u3000]*(?P<no>{_NUM})[\s\u3000]*条(?P<suffix>{SUFFIX_RE})?"
    rf"(?:[\s\u3000]*第?[\s\u3000]*(?P<clause>{_NUM})[\s\u3000]*款)?"
    rf"(?:[\s\u3000]*第?[\s\u3000]*[（(]?(?P<item>{_NUM})[）)]?[\s\u3000]*项)?"
)
_CONTINUATION = re.compile(
    rf"[\s\u3000]*(?:、|和|及|以及|与|，|,|至)[\s\u3000]*第[\s\u3000]*(?P<no>{_NUM})[\s\u3000]*条(?P<suffix>{SUFFIX_RE})?"
    rf"(?:[\s\u3000]*第?[\s\u3000]*(?P<clause>{_NUM})[\s\u3000]*款)?"
    rf"(?:[\s\u3000]*第?[\s\u3000]*[（(]?(?P<item>{_NUM})[）)]?[\s\u3000]*项)?"
)
_FILLER = re.compile(r"[\s\u3000，,。.、；;：:？?！!]|以及|和|及|与|的?内容|的?规定|是什么|写了什么|原文|全文|查询|查看|请问")
_FULLWIDTH = str.maketrans("０１２３４５６７８９（）", "0123456789（）")


@dataclass
class CitationMatch:
    citation: Citation
    title_candidates: list[str]  # the written title, then ever shorter tails of it (for 老板违反劳动合同法第30条)


def find_citations(query: str) -> list[CitationMatch]:
    """All citations written in `query`, in order. Titles are as written; resolution happens in the index."""
    text = query.translate(_FULLWIDTH)
    out = []
    for m in _CITATION.finditer(text):
        title = m.group("bracketed") or m.group("bare")
        cands = [title] if m.group("bracketed") else [title[i:] for i in range(0, max(1, len(title) - 1))]
        cands = [c for c in cands if len(c) >= 2]
        match, end = m, m.end()
        while match is not None:
            try:
                no = cn_to_int(match.group("no"))
                clause = cn_to_int(match.group("clause")) if match.group("clause") else None
                item = cn_to_int(match.group("item")) if match.group("item") else None
            except ValueError:
                break
            out.append(CitationMatch(
                citation=Citation(title=title, article_no=no, article_suffix=match.group("suffix") or "",
                                  clause_no=clause, item_no=item, span=match.span()),
                title_candidates=cands))
            # 劳动法第三十六条和第四十一条: later articles of the same title.
            match = _CONTINUATION.match(text, end)
            if match is not None:
                end = match.end()
    return out


def is_pure_citation(query: str, matches: list[CitationMatch]) -> bool:
    """True when the query is essentially only citations (then no similarity search is run at all)."""
    rest = query
    for m in sorted(matches, key=lambda m: -m.citation.span[0]):
        s, e = m.citation.span
        rest = rest[:s] + rest[e:]
    rest = _FILLER.sub("", rest)
    return len(rest) <= 1

"""Article references inside a legal text: 本法第X条, 违反本条例第二十条第一款第（三）项, 前款, 《某法》第九十四条.

`find_references(text)` reads one piece of text (an article, or one 款 of it) and returns every article reference,
with lists (第二十条、第二十一条) and ranges (第二十条至第二十三条) expanded, 款 and 项 attached to their article,
and relative references (前款, 本条第一款, 前条) resolved against the article/clause the text belongs to.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from corpus.numerals import NUMERAL_RE, article_label, cn_to_int, int_to_cn

# Self references: the text names itself.
SELF_WORDS = ("本实施细则", "本细则", "本条例", "本规定", "本办法", "本规则", "本决定", "本法", "本准则", "本章程")
# Codes usually cited without 《》.
BARE_TITLES = ("中华人民共和国刑法", "刑法", "民法典", "刑事诉讼法", "民事诉讼法", "行政诉讼法", "行政处罚法",
               "治安管理处罚法", "行政复议法", "行政许可法", "行政强制法")
MAX_RANGE = 60  # ranges wider than this are kept as their two ends only

_N = NUMERAL_RE
_TOKEN = re.compile(
    rf"(?P<title>《[^《》\n]{{2,60}}》)"
    rf"|(?P<self>{'|'.join(SELF_WORDS)})"
    rf"|(?P<bare>(?:{'|'.join(BARE_TITLES)})(?=第))"
    rf"|(?P<this>本条|本款)"
    rf"|(?P<prev>前(?P<prevn>[两二三四五六七八九])?(?P<prevunit>款|条|项))"
    rf"|(?P<art>第(?P<artn>{_N})条(?:之(?P<suf>{_N}))?)"
    rf"|(?P<clause>第(?P<clausen>{_N})款)"
    rf"|(?P<item>第[（(](?P<itemn1>{_N})[）)]项|第(?P<itemn2>{_N})项|[（(](?P<itemn3>{_N})[）)]项)"
    rf"|(?P<sep>、|，?(?:以及|和|及|或者|或)(?=第|[（(]|前|本))"
    rf"|(?P<range>至|到|—|－|-|~|～)"
)
_SPACE = re.compile(r"[ \t\u3000\u00a0]*")

VIOLATES_BEFORE = ("违反", "未履行", "不履行", "违背", "未依照", "未按照", "不依照", "不按照", "未依", "不符合", "未执行", "不执行", "未遵守")
ACCORDING_BEFORE = ("依照", "按照", "根据", "依据", "适用", "参照", "依", "按", "照")


@dataclass(frozen=True)
class Reference:
    """One referenced provision. `title` is '' when the text refers to itself (本法, 本条例, 前款, bare 第X条)."""

    title: str
    article_no: int
    suffix: str = ""  # 之一 → "之一"
    clause_no: int | None = None  # 款
    item_no: int | None = None  # 项
    span: tuple[int, int] = (0, 0)  # of the whole written reference chain this one came from
    relation: str = "mention"  # "violates" | "according_to" | "mention"
    scope: str = "self"  # "self" (本法…), "external" (《…》), "relative" (前款, 本条), "bare" (第X条 alone)
    written: str = ""  # the chain as written

    @property
    def label(self) -> str:
        out = article_label(self.article_no, self.suffix) if self.article_no else ""
        if self.clause_no:
            out += f"第{int_to_cn(self.clause_no)}款"
        if self.item_no:
            out += f"第（{int_to_cn(self.item_no)}）项"
        return out

    @property
    def article_key(self) -> str:
        """第X条 (with 之Y): the key of the referenced article inside its regulation."""
        return article_label(self.article_no, self.suffix) if self.article_no else ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["span"] = list(self.span)
        d["label"] = self.label
        d["article"] = self.article_key
        return d


def _num(s: str | None) -> int | None:
    if not s:
        return None
    try:
        return cn_to_int(s)
    except ValueError:
        return None


def _relation(text: str, start: int) -> str:
    before = text[max(0, start - 6):start]
    before = before.rstrip(" \u3000")
    if any(before.endswith(w) for w in VIOLATES_BEFORE):
        return "violates"
    # 未/不 + 依照 handled above; plain 依照/按照/根据 … → according_to.
    if any(before.endswith(w) for w in ACCORDING_BEFORE):
        return "according_to"
    return "mention"


def _tokens(text: str) -> list[tuple[str, re.Match[str]]]:
    out = []
    for m in _TOKEN.finditer(text):
        out.append((m.lastgroup or "", m))
    return out


def _chains(text: str) -> list[list[tuple[str, re.Match[str]]]]:
    """Group tokens that follow each other with nothing but spaces in between."""
    chains: list[list[tuple[str, re.Match[str]]]] = []
    cur: list[tuple[str, re.Match[str]]] = []
    for kind, m in _tokens(text):
        kind = _kind(kind, m)
        if cur:
            gap = text[cur[-1][1].end():m.start()]
            if _SPACE.fullmatch(gap) is None:
                chains.append(cur)
                cur = []
        if not cur and kind in ("sep", "range"):
            continue
        cur.append((kind, m))
    if cur:
        chains.append(cur)
    return chains


def _kind(name: str, m: re.Match[str]) -> str:
    # The named groups nested inside (artn, prevn…) never become lastgroup for the outer alternatives we use;
    # lastgroup reports the last closed group, so map inner names back to their alternative.
    for outer in ("title", "self", "bare", "this", "prev", "art", "clause", "item", "sep", "range"):
        if m.group(outer) is not None:
            return outer
    return name


def find_references(text: str, article_no: int | None = None, clause_no: int | None = None,
                    article_suffix: str = "") -> list[Reference]:
    """Every article reference in `text`.

    `article_no`/`clause_no` say where the text stands (the article and 1-based 款 it belongs to); they resolve
    前款, 前两款, 本条第一款, 前条. Without them, relative references get article_no 0 / clause_no None.
    """
    refs: list[Reference] = []
    for chain in _chains(text):
        refs.extend(_parse_chain(text, chain, article_no, clause_no, article_suffix))
    return refs


def _parse_chain(text: str, chain: list[tuple[str, re.Match[str]]], cur_article: int | None,
                 cur_clause: int | None, cur_suffix: str) -> list[Reference]:
    start, end = chain[0][1].start(), chain[-1][1].end()
    # Trim trailing separators/range marks that did not lead anywhere.
    while chain and chain[-1][0] in ("sep", "range"):
        chain = chain[:-1]
    if not chain:
        return []
    end = chain[-1][1].end()
    relation = _relation(text, start)
    written = text[start:end]

    title: str | None = None  # None: no anchor seen yet
    scope = "bare"
    out: list[dict[str, Any]] = []
    # The reference being built: its article/clause/item; `fresh` says whether the next 款/项 refines it.
    art: int | None = None
    suf = ""
    cl: int | None = None
    it: int | None = None
    pending = False
    pending_range: str | None = None  # "art" | "clause" | "item" when the last token was 至
    after_sep = False
    have_ref_in_chain = False

    def emit() -> None:
        nonlocal pending
        if pending and art is not None:
            out.append({"title": title or "", "article_no": art, "suffix": suf, "clause_no": cl, "item_no": it,
                        "scope": scope})
        pending = False

    for kind, m in chain:
        if kind == "title":
            emit()
            title, scope = m.group("title")[1:-1], "external"
            art, suf, cl, it = None, "", None, None
            after_sep = False
            continue
        if kind == "bare":
            emit()
            title, scope = m.group("bare"), "external"
            art, suf, cl, it = None, "", None, None
            continue
        if kind == "self":
            emit()
            title, scope = "", "self"
            art, suf, cl, it = None, "", None, None
            after_sep = False
            continue
        if kind == "this":
            emit()
            title, scope = "", "relative"
            art, suf, cl, it = (cur_article or 0), cur_suffix, None, None
            if m.group("this") == "本款":
                cl = cur_clause
            pending = True
            have_ref_in_chain = True
            after_sep = False
            continue
        if kind == "prev":
            emit()
            title, scope = "", "relative"
            n = _num(m.group("prevn")) or 1
            unit = m.group("prevunit")
            if unit == "款":
                base = cur_clause
                for k in range(n, 0, -1):
                    art, suf, it = (cur_article or 0), cur_suffix, None
                    cl = (base - k) if base and base - k >= 1 else None
                    pending = True
                    if k > 1:
                        emit()
            elif unit == "条":
                for k in range(n, 0, -1):
                    art = (cur_article - k) if cur_article and cur_article - k >= 1 else 0
                    suf, cl, it = "", None, None
                    pending = True
                    if k > 1:
                        emit()
            else:  # 前项: the previous item of the current clause; rarely resolvable, keep the clause.
                art, suf, cl, it = (cur_article or 0), cur_suffix, cur_clause, None
                pending = True
            have_ref_in_chain = True
            after_sep = False
            continue
        if kind == "sep":
            after_sep = True
            continue
        if kind == "range":
            pending_range = "next"
            continue
        if kind == "art":
            n = _num(m.group("artn"))
            if n is None:
                continue
            s = ("之" + m.group("suf")) if m.group("suf") else ""
            if pending_range and art is not None and not s and not suf and n > art:
                # 第二十条至第二十三条: emit 20 (pending), then 21..23.
                lo = art
                emit()
                if n - lo <= MAX_RANGE:
                    for k in range(lo + 1, n):
                        art, suf, cl, it, pending = k, "", None, None, True
                        emit()
                art, suf, cl, it, pending = n, "", None, None, True
            else:
                emit()
                if title is None:
                    title, scope = "", "bare"
                art, suf, cl, it, pending = n, s, None, None, True
            have_ref_in_chain = True
            pending_range = None
            after_sep = False
            continue
        if kind == "clause":
            n = _num(m.group("clausen"))
            if n is None:
                continue
            if art is None and title is None:
                # 违反第二款规定: a 款 of the current article.
                title, scope = "", "relative"
                art, suf, cl, it, pending = (cur_article or 0), cur_suffix, n, None, True
                have_ref_in_chain = True
                pending_range = None
                after_sep = False
                continue
            if art is None:
                continue
            if pending_range and cl is not None and n > cl:
                lo = cl
                emit()
                for k in range(lo + 1, n + 1):
                    cl, it, pending = k, None, True
                    if k < n:
                        emit()
            elif after_sep or cl is not None or not pending:
                emit()
                cl, it, pending = n, None, True
            else:
                cl, it = n, None
            pending_range = None
            after_sep = False
            continue
        if kind == "item":
            n = _num(m.group("itemn1") or m.group("itemn2") or m.group("itemn3"))
            if n is None:
                continue
            if art is None and title is None:
                # 违反第一项规定: an item of the current clause.
                title, scope = "", "relative"
                art, suf, cl, it, pending = (cur_article or 0), cur_suffix, cur_clause, n, True
                have_ref_in_chain = True
                pending_range = None
                after_sep = False
                continue
            if art is None:
                continue
            if pending_range and it is not None and n > it:
                lo = it
                emit()
                for k in range(lo + 1, n + 1):
                    it, pending = k, True
                    if k < n:
                        emit()
            elif after_sep or it is not None or not pending:
                emit()
                it, pending = n, True
            else:
                it = n
            pending_range = None
            after_sep = False
            continue
    emit()
    if not have_ref_in_chain:
        return []
    return [Reference(span=(start, end), relation=relation, written=written, **d) for d in out]


def resolve(ref: Reference, own_title: str) -> tuple[str, str]:
    """(regulation title, 第X条) the reference points at; own_title for self, relative and bare references."""
    return (ref.title or own_title, ref.article_key)

"""Positioned lines (from a PDF text layer or OCR boxes) → logical paragraphs, one per line.

Word → PDF output wraps lines mid-sentence and breaks articles across pages. Whether a line starts a new
paragraph is decided from, in order: structural markers (第X条 / 第X章 …), punctuation pushed to the line start,
a short previous line, and — when the previous line is full width and ends a sentence, the ambiguous case —
the layout signals the document actually uses (first-line indent, extra space between paragraphs), falling back
to the punctuation rule (a full line ending with 。；：！？ ends its paragraph).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import median

from .textutil import (ARTICLE_START_RE, CONTINUATION_START, HEADING_RE, ITEM_RE, TERMINAL_TAIL_RE, clean_line,
                       join_wrapped)


@dataclass
class Line:
    text: str
    page: int                 # 1-based
    x0: float | None = None   # left edge; None when the source has no geometry
    x1: float | None = None   # right edge (estimated for text layers)
    top: float | None = None  # distance from the page top (grows downwards)
    size: float = 1.0         # character size (em) in the same unit as x0/x1/top
    unit: str = "pt"          # geometry group: lines of different units are never compared


@dataclass
class _PageGeom:
    left: float
    right: float
    pitch: float | None


# Page furniture: "─ 2 ─", "- 2 -", "第 2 页", "2/10", "第2页 共10页", "Page 2 of 10", a lone number.
_PAGE_NO_RE = re.compile(
    r"^[\s\-－—─–_·•~～|]*(?:第\s*)?[0-9０-９]{1,4}\s*(?:页)?(?:\s*[/／]\s*[0-9０-９]{1,4})?"
    r"(?:\s*[,，]?\s*共\s*[0-9０-９]{1,4}\s*页)?[\s\-－—─–_·•~～|]*$"
    r"|^page\s*\d+(\s*of\s*\d+)?$|^[\-－—─–\s]*[一二三四五六七八九十百]+[\-－—─–\s]+$",
    re.I,
)


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NO_RE.match(text.strip()))


def drop_page_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """Remove page numbers and running headers/footers (the same first/last lines on many pages)."""
    def norm(t: str) -> str:
        return re.sub(r"[\s\u3000]+", "", re.sub(r"[0-9０-９]+", "#", t))

    counts: dict[str, int] = {}
    for lines in pages:
        seen = set()
        for ln in lines[:2] + lines[-2:]:
            key = norm(ln.text)
            if key and key not in seen:
                seen.add(key)
                counts[key] = counts.get(key, 0) + 1
    n_pages = sum(1 for p in pages if p)
    repeated = {k for k, c in counts.items() if n_pages >= 3 and c >= max(3, 0.5 * n_pages) and len(k) <= 40}
    # Body text is never furniture: article / heading / item lines and sentences stay.
    repeated = {k for k in repeated if not (ARTICLE_START_RE.match(k) or HEADING_RE.match(k) or ITEM_RE.match(k)
                                            or k.endswith(("。", "；", "：")))}
    out = []
    for idx, lines in enumerate(pages):
        edge = {id(ln) for ln in lines[:2] + lines[-2:]}
        kept = []
        for ln in lines:
            if id(ln) in edge:
                if is_page_number(ln.text):
                    continue
                key = norm(ln.text)
                # A running header that is also the title: keep it where it first appears (page 1).
                if key in repeated and not (idx == 0 and key == norm(ln.text.strip()) and "#" not in key):
                    continue
            kept.append(ln)
        out.append(kept)
    return out


def _page_geometry(lines: list[Line]) -> _PageGeom | None:
    geo = [ln for ln in lines if ln.x0 is not None and ln.x1 is not None]
    if not geo:
        return None
    lo, hi = min(ln.x0 for ln in geo), max(ln.x1 for ln in geo)
    long = [ln for ln in geo if (ln.x1 - ln.x0) > 0.5 * (hi - lo)] or geo
    size = median(ln.size for ln in long)
    xs = sorted(ln.x0 for ln in long)
    need = max(2, int(0.05 * len(long))) if len(long) >= 2 else 1
    left = xs[0]
    for x in xs:
        if sum(1 for y in xs if abs(y - x) <= 0.5 * size) >= need:
            left = x
            break
    ends = sorted(ln.x1 for ln in long)
    right = ends[min(len(ends) - 1, int(0.9 * len(ends)))]
    return _PageGeom(left, right, None)


def _line_pitch(lines: list[Line]) -> float | None:
    """The usual distance between two lines of one paragraph: the smallest gap that recurs (document-wide)."""
    gaps = []
    for prev, cur in zip(lines, lines[1:]):
        if prev.page == cur.page and prev.top is not None and cur.top is not None:
            d = cur.top - prev.top
            if d > 0.5 * cur.size:
                gaps.append(d)
    if not gaps:
        return None
    gaps.sort()
    need = max(3, int(0.05 * len(gaps)))
    for g in gaps:
        if sum(1 for d in gaps if abs(d - g) <= 0.1 * g) >= need:
            return g
    return gaps[len(gaps) // 4]


def _terminal(text: str) -> bool:
    return bool(TERMINAL_TAIL_RE.search(text))


def _strong(text: str) -> bool:
    return bool(ARTICLE_START_RE.match(text) or HEADING_RE.match(text))


class _Ctx:
    def __init__(self, lines: list[Line]):
        self.geom: dict[tuple[int, str], _PageGeom] = {}
        by_page: dict[tuple[int, str], list[Line]] = {}
        for ln in lines:
            by_page.setdefault((ln.page, ln.unit), []).append(ln)
        doc_geo: dict[str, list[_PageGeom]] = {}
        for key, page_lines in by_page.items():
            g = _page_geometry(page_lines)
            if g is not None:
                long_lines = sum(1 for ln in page_lines if ln.x0 is not None)
                self.geom[key] = g
                if long_lines >= 6:
                    doc_geo.setdefault(key[1], []).append(g)
        # Pages with few lines borrow the document's typical margins.
        for key, page_lines in by_page.items():
            group = doc_geo.get(key[1])
            if key in self.geom and group and sum(1 for ln in page_lines if ln.x0 is not None) < 6:
                g = self.geom[key]
                self.geom[key] = _PageGeom(median(x.left for x in group), median(x.right for x in group), g.pitch)
        self.pitch = {unit: _line_pitch([ln for ln in lines if ln.unit == unit])
                      for unit in {ln.unit for ln in lines}}
        for key, g in self.geom.items():
            g.pitch = self.pitch.get(key[1])
        sizes = [ln.size for ln in lines if ln.x0 is not None]
        self.body_size = median(sizes) if sizes else 1.0
        self.uses_indent, self.uses_gap = self._signals(lines)

    def g(self, ln: Line) -> _PageGeom | None:
        return self.geom.get((ln.page, ln.unit))

    def full(self, ln: Line) -> bool | None:
        """Does the line run to the right margin? (A line without final punctuation may fall shorter: CJK
        line breaking leaves up to a few characters of slack before a long word or pushed punctuation.)"""
        g = self.g(ln)
        if g is None or ln.x1 is None:
            return None
        slack = 2.0 if _terminal(ln.text) else 4.0
        return ln.x1 >= g.right - slack * ln.size

    def indented(self, ln: Line) -> bool | None:
        g = self.g(ln)
        if g is None or ln.x0 is None:
            return None
        return ln.x0 > g.left + 0.8 * ln.size

    def gap(self, prev: Line, cur: Line) -> bool | None:
        if prev.page != cur.page or prev.unit != cur.unit or prev.top is None or cur.top is None:
            return None
        g = self.g(cur)
        if g is None or not g.pitch:
            return None
        return (cur.top - prev.top) > 1.3 * g.pitch

    def centered(self, ln: Line) -> bool:
        g = self.g(ln)
        if g is None or ln.x0 is None or ln.x1 is None:
            return False
        lm, rm = ln.x0 - g.left, g.right - ln.x1
        return lm > ln.size and rm > ln.size and abs(lm - rm) < 2.5 * ln.size

    def _signals(self, lines: list[Line]) -> tuple[bool, bool]:
        starts_ind, starts_gap, cont_ind, cont_gap = [], [], [], []
        for prev, cur in zip(lines, lines[1:]):
            if ARTICLE_START_RE.match(cur.text):
                ind, gp = self.indented(cur), self.gap(prev, cur)
                if ind is not None:
                    starts_ind.append(ind)
                if gp is not None:
                    starts_gap.append(gp)
            elif self.full(prev) and not _terminal(prev.text) and cur.text[:1] not in CONTINUATION_START:
                ind, gp = self.indented(cur), self.gap(prev, cur)
                if ind is not None:
                    cont_ind.append(ind)
                if gp is not None:
                    cont_gap.append(gp)

        def separates(starts: list[bool], conts: list[bool]) -> bool:
            if len(starts) < 3:
                return False
            ok_starts = sum(starts) / len(starts) >= 0.7
            ok_conts = not conts or sum(conts) / len(conts) <= 0.15
            return ok_starts and ok_conts

        return separates(starts_ind, cont_ind), separates(starts_gap, cont_gap)


def _closes_parenthetical(para: str) -> bool:
    """A paragraph that is one parenthesised note, e.g. the adoption history line "（…通过）", is complete."""
    if not para or para[0] not in "（(" or para[-1] not in "）)":
        return False
    return para.count("（") + para.count("(") == para.count("）") + para.count(")")


def _new_paragraph(ctx: _Ctx, prev: Line, cur: Line, para: str = "") -> bool:
    text = cur.text
    if text[:1] in CONTINUATION_START:
        return False
    if _strong(text):
        return True
    if _strong(prev.text) and len(prev.text) <= 30 and HEADING_RE.match(prev.text) and not ctx.full(prev):
        return True
    # A title wrapped over two centred lines in a larger font.
    if (ctx.centered(prev) and ctx.centered(cur) and prev.size > 1.1 * ctx.body_size
            and abs(prev.size - cur.size) < 0.1 * prev.size and not _terminal(prev.text)
            and prev.page == cur.page):
        return False
    full = ctx.full(prev)
    terminal = _terminal(prev.text) or _closes_parenthetical(para)
    if full is False:
        return True
    if full is True and not terminal:
        return False
    # Full line that ends a sentence (or no geometry at all): ambiguous.
    if ITEM_RE.match(text):
        return terminal or full is None
    if full is None:
        return terminal
    votes = []
    if ctx.uses_indent and ctx.indented(cur) is not None:
        votes.append(ctx.indented(cur))
    if ctx.uses_gap and ctx.gap(prev, cur) is not None:
        votes.append(ctx.gap(prev, cur))
    if votes:
        return any(votes)
    return terminal


def join_paragraphs(lines: list[Line]) -> list[str]:
    """Re-join wrapped lines into logical paragraphs (one string each)."""
    lines = [ln for ln in lines if clean_line(ln.text)]
    for ln in lines:
        ln.text = clean_line(ln.text)
    if not lines:
        return []
    ctx = _Ctx(lines)
    out = [lines[0].text]
    for prev, cur in zip(lines, lines[1:]):
        if _new_paragraph(ctx, prev, cur, out[-1]):
            out.append(cur.text)
        else:
            out[-1] = join_wrapped(out[-1], cur.text)
    return out

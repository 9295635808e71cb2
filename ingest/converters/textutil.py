"""Small text helpers shared by the converters: line clean-up, decoding, the structural line patterns."""
from __future__ import annotations

import re
import unicodedata

from corpus.numerals import CN_NUMERAL_CHARS

_NUM = rf"[{CN_NUMERAL_CHARS}0-9０-９]+"
# A line that starts an article / a structural heading: "第十条　…", "第二章 总则", "第三条之一 …".
ARTICLE_START_RE = re.compile(rf"^第{_NUM}条(?:之{_NUM})?(?:[\s\u3000]|$)")
HEADING_RE = re.compile(rf"^第{_NUM}[编章节](?:[\s\u3000]|$)|^第{_NUM}分编(?:[\s\u3000]|$)")
ITEM_RE = re.compile(rf"^[（(]{_NUM}[）)]|^{_NUM}[、．.]\s*\S")
# Sentence-final punctuation: a wrapped line that ends with one of these may end its paragraph.
TERMINAL = "。；：！？;:!?"
TERMINAL_TAIL_RE = re.compile(r"[。；：！？;:!?][”’」』）)》]*$")
# A line never starts a paragraph with these (a wrap pushed punctuation to the next line).
CONTINUATION_START = "，。、；：？！）》」』”’,.;:?!)]】〕"

_SPACES = "\u00a0\u2002\u2003\u2009\u200a\u202f\u205f\u3000\ufeff"
_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_line(line: str) -> str:
    """Strip a line's indent and trailing (also full-width) spaces; drop zero-width and control characters."""
    line = _ZERO_WIDTH_RE.sub("", line)
    line = _CONTROL_RE.sub("", line)
    line = line.replace("\u00a0", " ").replace("\t", " ")
    return line.strip(" \r\n" + _SPACES)


def clean_lines(lines) -> list[str]:
    """Clean each line and drop the empty ones."""
    out = []
    for raw in lines:
        line = clean_line(raw)
        if line:
            out.append(line)
    return out


def is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0002ffff"


def char_width(ch: str) -> float:
    """Advance width of a character in em (full-width 1, half-width about 0.5)."""
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.5


def text_width(text: str) -> float:
    return sum(char_width(c) for c in text)


def join_wrapped(left: str, right: str) -> str:
    """Join two pieces of one paragraph: no space between CJK text, one space between two Latin words."""
    if not left:
        return right
    if not right:
        return left
    a, b = left[-1], right[0]
    if a.isascii() and a.isalnum() and b.isascii() and b.isalnum():
        return left + " " + right
    if a == "-" and len(left) > 1 and left[-2].isascii() and left[-2].isalpha() and b.isascii() and b.isalpha():
        return left[:-1] + right  # a hyphenated English word
    return left + right


def printable_ratio(text: str) -> float:
    """Share of characters that are ordinary text (CJK, Latin, digits, punctuation, spaces)."""
    if not text:
        return 1.0
    good = 0
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\r\t" or (cat[0] in "LNPSZ" and cat != "Co"):
            good += 1
    return good / len(text)

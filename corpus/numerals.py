"""Chinese numerals both ways: 一千零一 ↔ 1001, with 〇/零/两, 廿, and Arabic or full-width digits."""
from __future__ import annotations

import re

from corpus.errors import InvalidFilter

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3, "四": 4,
           "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")

CN_NUMERAL_CHARS = "零〇○一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟廿"
NUMERAL_RE = rf"[{CN_NUMERAL_CHARS}0-9０-９]+"


def cn_to_int(text: str) -> int:
    """Parse a Chinese or Arabic numeral. Raises ValueError for anything else.

    >>> cn_to_int("一千零一"), cn_to_int("十五"), cn_to_int("二〇二四"), cn_to_int("４５")
    (1001, 15, 2024, 45)
    """
    s = text.strip().translate(_FULLWIDTH).replace("廿", "二十")
    if not s:
        raise ValueError("empty numeral")
    if s.isdigit():
        return int(s)
    if any(ch not in _DIGITS and ch not in _UNITS and ch not in _BIG for ch in s):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    # Digit-by-digit form such as 二〇二四 (years): no unit characters at all.
    if not any(ch in _UNITS or ch in _BIG for ch in s):
        return int("".join(str(_DIGITS[ch]) for ch in s))
    total, section, digit = 0, 0, None
    for ch in s:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        else:  # 万 / 亿
            section += digit or 0
            total = (total + section) * _BIG[ch]
            section, digit = 0, None
    return total + section + (digit or 0)


def int_to_cn(n: int) -> str:
    """Write a non-negative integer as legal texts do: 1001 → 一千零一, 10 → 十, 110 → 一百一十."""
    if n < 0:
        raise ValueError("negative numbers have no article label")
    if n == 0:
        return "零"
    digits = "零一二三四五六七八九"

    def below_10k(x: int) -> str:
        out, zero = [], False
        for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = x // value % 10
            if d == 0:
                zero = bool(out)
                continue
            if zero:
                out.append("零")
                zero = False
            out.append(digits[d] + unit)
        return "".join(out)

    parts, rest = [], n
    for value, unit in ((100_000_000, "亿"), (10_000, "万"), (1, "")):
        chunk = rest // value
        rest %= value
        if chunk:
            if parts and chunk < 1000:
                parts.append("零")
            parts.append(below_10k(chunk) + unit)
        elif parts and rest:
            parts.append("零")
    text = "".join(parts)
    text = re.sub("零+", "零", text).rstrip("零")
    # 一十 → 十 at the very start only (十五, but 一百一十).
    return text[1:] if text.startswith("一十") else text


def article_label(article_no: int, suffix: str = "") -> str:
    """第二十条, 第二十条之一."""
    return f"第{int_to_cn(article_no)}条{suffix}"


# ---- the article-label grammar: 第二十条, 第二十条之一 (written once; citations, links and routes use it) ----------
#: The 之一/之二 suffix of an article inserted by an amendment.
SUFFIX_RE = r"之[一二三四五六七八九十]+"
#: A 项 line: （一）… / (一)…
ITEM_RE = re.compile(r"^[（(]\s*[一二三四五六七八九十]+\s*[）)]")
#: An article label: 第<numeral>条 with an optional 之X suffix (groups `no` and `suffix`).
LABEL_RE = rf"第(?P<no>{NUMERAL_RE})条(?P<suffix>{SUFFIX_RE})?"
_LABEL = re.compile(rf"^{LABEL_RE}$")
_LABEL_PREFIX = re.compile(LABEL_RE)
#: What a user types for an article number: 20, 20之一, 第二十条, 第二十条之一 (spaces tolerated).
_ARTICLE_NUMBER = re.compile(rf"^\s*第?\s*(?P<no>{NUMERAL_RE})\s*条?\s*(?P<suffix>{SUFFIX_RE})?\s*$")


def parse_label(label: str) -> tuple[int, str] | None:
    """'第二十八条' → (28, ''), '第二十条之一' → (20, '之一'); anything else (第十二章, '') → None."""
    m = _LABEL.match((label or "").strip())
    if not m:
        return None
    try:
        return cn_to_int(m.group("no")), m.group("suffix") or ""
    except ValueError:
        return None


def label_prefix(reference: str) -> str:
    """The article part at the start of a written reference: '第十一条第一款' → '第十一条'; '' when there is none."""
    m = _LABEL_PREFIX.match(reference or "")
    return m.group(0) if m else ""


def parse_article_number(text: str) -> tuple[int, str]:
    """An article number as users type it (CLI argument, API path): '20', '20之一', '第二十条', '第二十条之一' →
    (20, '之一'). Anything else raises InvalidFilter with a Chinese message naming the input."""
    m = _ARTICLE_NUMBER.match(text or "")
    try:
        if m:
            return cn_to_int(m.group("no")), m.group("suffix") or ""
    except ValueError:
        pass
    raise InvalidFilter("条文编号格式不正确，例如 20 或 20之一", detail=text)

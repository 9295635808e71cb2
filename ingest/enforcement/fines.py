"""Sanctions in a penalty provision: 责令改正 … 罚款 (with amounts in yuan or multiples of a base) … 追究刑事责任.

`extract_sanctions(text)` reads an article (款 separated by newlines, 项 lines starting with （一）) and returns one
`Sanction` per sanction written, in text order, with the party it applies to (对直接负责的主管人员… 处…) and the
condition that triggers it (逾期未改正的, 情节严重的, 发生较大事故的) when the text states them.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from corpus.numerals import CN_NUMERAL_CHARS, cn_to_int

FINE = "罚款"
# kind → pattern. Order matters only for reading; overlapping matches of different kinds are all kept.
_KIND_PATTERNS: list[tuple[str, str]] = [
    ("责令限期改正", r"(?<![被出])责令[^，；。：\n]{0,14}?限期(?:改正|整改|消除|补正)|(?<![责令])限期改正"),
    ("责令改正", r"(?<![被出])责令(?:其)?(?:立即)?改正|(?<![被出])责令(?:其)?(?:立即)?整改"),
    ("责令停止违法行为", r"责令(?:其)?停止违法(?:行为|活动)"),
    ("警告", r"警告(?!标志|牌|标识|标签|装置|信号)"),
    ("通报批评", r"通报批评"),
    ("没收违法所得", r"没收[^，；。：\n]{0,30}?违法所得|违法(?:所得|收入)的[^，；。：\n]{0,4}?没收"),
    ("没收非法财物", r"没收[^，；。：\n]{0,40}?(?:非法财物|违法[^，；。：\n]{0,20}?(?:产品|物品|工具|设备|器材|财物|车辆|原料|商品)"
                    r"|用于违法[^，；。：\n]{0,20}?(?:工具|设备|物品|财物)|非法[^，；。：\n]{0,12}?(?:产品|物品|工具|设备))"),
    ("责令停产停业", r"责令[^，；。：\n]{0,12}?(?:停产停业|停业整顿|停产整顿|停止生产|停止营业|停止施工|停止建设|停止使用|停止作业|停业|停产)"
                    r"(?:整顿)?"),
    ("暂扣许可证执照", r"(?:暂扣|暂停)[^，；。：\n]{0,24}?(?:许可证|执照|证照|证书|资格|资质)"),
    ("吊销许可证执照", r"吊销[^，；。：\n]{0,24}?(?:许可证|执照|证照|证书|资格|资质)"),
    ("责令关闭", r"责令[^，；。：\n]{0,6}?关闭|予以关闭|提请[^，；。：\n]{0,24}?关闭"),
    ("行政拘留", r"(?<!刑事)拘留(?!所)"),
    ("处分", r"给予[^，；。：\n]{0,20}?处分|依法给予处分"),
    ("追究刑事责任", r"追究[^，；。：\n]{0,8}?刑事责任"),
    # A penalty stated by reference: 依照前款规定处罚, 依照有关法律、行政法规的规定予以处罚.
    ("按日连续处罚", r"按日连续处罚"),
    ("依照规定处罚", (r"(?:依照|按照|依据|按)[^，；。：\n]{0,40}?(?:规定|法律、法规|法规)(?:予以|进行)?(?:处罚|处理)"
                     r"|依法(?:予以)?处罚")),
]
SANCTION_KINDS = tuple(k for k, _ in _KIND_PATTERNS) + (FINE,)
_KIND_RES = [(k, re.compile(p)) for k, p in _KIND_PATTERNS]

_NUM = rf"(?:[0-9０-９]+(?:\.[0-9]+)?[万千百]?|[{CN_NUMERAL_CHARS}]+)"
_UNIT = r"(?:万元|千元|百元|元)"
_RANGE_SEP = r"(?:至|到|-|－|—|~|～)"
# 一万元以上五万元以下 / 一万至五万元 / 五千元以下 / 二十万元以上 / 五百元
_AMOUNT_RANGE = re.compile(
    rf"(?P<a>{_NUM})(?P<au>{_UNIT})?(?:以上)?{_RANGE_SEP}(?P<b>{_NUM})(?P<bu>{_UNIT})(?:以下)?"
    rf"|(?P<lo>{_NUM})(?P<lou>{_UNIT})以上(?:[，、]?(?P<hi>{_NUM})(?P<hiu>{_UNIT})以下)?"
    rf"|(?P<one>{_NUM})(?P<oneu>{_UNIT})(?P<q>以下|以内|以上)?"
)
# 一倍以上五倍以下 / 等值以上三倍以下 / 二倍至五倍 / 三倍以下 / 百分之二十以上百分之五十以下 / 百分之四十
_ARABIC = r"[0-9０-９]+(?:\.[0-9]+)?"
_MULT = (rf"(?:(?P<{{g}}>{_NUM})倍|(?P<{{g}}eq>等值)|百分之(?P<{{g}}pct>{_NUM})|(?P<{{g}}pcta>{_ARABIC})[%％]"
         rf"|千分之(?P<{{g}}pm>{_NUM})|(?P<{{g}}pma>{_ARABIC})‰)")
_MULT_RANGE = re.compile(
    _MULT.format(g="a") + rf"(?:以上|{_RANGE_SEP})" + _MULT.format(g="b") + r"(?:以下)?"
    + "|" + _MULT.format(g="c") + r"(?P<cq>以下|以内|以上)?"
)
_BASES = [("illegal_gains", r"违法所得|违法收入"), ("goods_value", r"货值金额|货值"), ("annual_income", r"年收入"),
          ("fine_amount", r"罚款数额|处罚数额"), ("illegal_turnover", r"违法经营额|经营额"),
          ("contract_price", r"合同价款|工程款|合同价|项目金额|分包金额|采购金额|投资额"),
          ("fee", r"费用|收费|服务费|设计费|勘察费|酬金|预付款"), ("amount_involved", r"金额")]
_ITEM_LINE = re.compile(r"^\s*[（(][一二三四五六七八九十百]+[）)]")
_PARTY = re.compile(r"对(?:其|该|有关)?(?P<p>[^，；。：\n]{1,48}?)(?:可以)?(?:依法)?(?:单处或者并处|处以|并处|单处|处|给予|予以|责令|没收|吊销)")
# Verb-like starts that end the subject of a conduct sentence.
_SUBJECT_END = re.compile(r"，|有下列|有前款|违反|未|不|拒绝|拒不|将|擅自|出具|要求|伪造|隐瞒|发生|存在|租借|非法|故意|利用|"
                          r"阻碍|冒用|对(?!外)")


@dataclass
class Sanction:
    kind: str
    text: str  # the words that state it
    span: tuple[int, int]
    party: str | None = None  # as written: 直接负责的主管人员和其他直接责任人员, 个人, 单位 …
    party_group: str | None = None  # normalised party
    condition: str = ""  # 逾期未改正的 …
    min_yuan: float | None = None  # fines with a fixed amount
    max_yuan: float | None = None
    basis: str | None = None  # fines as a multiple: illegal_gains, goods_value, annual_income, fine_amount …
    multiple_min: float | None = None  # 2.0 for 二倍; 0.2 for 百分之二十
    multiple_max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["span"] = list(self.span)
        return d


def parse_number(s: str) -> float:
    """一万 → 10000, 10万 → 100000, 1.5万 → 15000, 50000 → 50000, 五千 → 5000."""
    s = s.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([万千百]?)", s)
    if m:
        return float(m.group(1)) * {"": 1, "万": 10_000, "千": 1_000, "百": 100}[m.group(2)]
    return float(cn_to_int(s))


def parse_amount(num: str, unit: str | None) -> float:
    """(一, 万元) → 10000; (5, 千元) → 5000; (10万, 元) → 100000."""
    value = parse_number(num)
    return value * {"万元": 10_000, "千元": 1_000, "百元": 100, "元": 1, None: 1, "": 1}[unit]


def _fine_amounts(phrase: str) -> tuple[float | None, float | None] | None:
    """min/max yuan stated in the words before 罚款 (None when the phrase states no yuan amount)."""
    found = None
    for m in _AMOUNT_RANGE.finditer(phrase):
        try:
            if m.group("a"):
                bu = m.group("bu")
                lo = parse_amount(m.group("a"), m.group("au") or bu)
                found = (lo, parse_amount(m.group("b"), bu))
            elif m.group("lo"):
                lo = parse_amount(m.group("lo"), m.group("lou"))
                hi = parse_amount(m.group("hi"), m.group("hiu")) if m.group("hi") else None
                found = (lo, hi)
            else:
                v = parse_amount(m.group("one"), m.group("oneu"))
                q = m.group("q")
                found = (None, v) if q in ("以下", "以内") else (v, None) if q == "以上" else (v, v)
        except (ValueError, KeyError):
            continue
    return found


def _mult_value(m: re.Match[str], g: str) -> float | None:
    if m.group(g):
        return parse_number(m.group(g))
    if m.group(g + "eq"):
        return 1.0
    for suffix, scale in (("pct", 100), ("pcta", 100), ("pm", 1000), ("pma", 1000)):
        if m.group(g + suffix):
            return parse_number(m.group(g + suffix)) / scale
    return None


def _fine_multiples(phrase: str) -> tuple[str, float | None, float | None] | None:
    base = None
    for name, pat in _BASES:
        if re.search(pat, phrase):
            base = name
            break
    found = None
    for m in _MULT_RANGE.finditer(phrase):
        try:
            a, b = _mult_value(m, "a"), _mult_value(m, "b")
            if a is not None or b is not None:
                found = (a, b)
                continue
            c = _mult_value(m, "c")
            q = m.group("cq")
            found = (None, c) if q in ("以下", "以内") else (c, None) if q == "以上" else (c, c)
        except ValueError:
            continue
    if found is None:
        return None
    return (base or "other", found[0], found[1])


def normalise_party(party: str | None) -> str | None:
    if not party:
        return None
    p = party
    if "直接负责的主管人员" in p or "直接责任人员" in p:
        return "直接负责的主管人员和其他直接责任人员"
    if "投资人" in p:
        return "个人经营的投资人"
    if "主要负责人" in p:
        return "主要负责人"
    if "负责人" in p or "管理人员" in p:
        return "负责人和管理人员"
    if "工作人员" in p:
        return "工作人员"
    if "从业人员" in p:
        return "从业人员"
    if "生产经营单位" in p:
        return "生产经营单位"
    if "机构" in p:
        return "机构"
    if p.endswith("个人") or p in ("个人", "公民", "行为人"):
        return "个人"
    if "单位" in p or "企业" in p or "公司" in p:
        return "单位"
    return p


def conduct_subject(conduct: str) -> str | None:
    """Who the conduct sentence speaks of: 生产经营单位的主要负责人未履行… → 生产经营单位的主要负责人."""
    t = re.sub(r"^违反[^，]{0,60}?规定，", "", conduct.strip())
    m = _SUBJECT_END.search(t)
    if not m or m.start() == 0 or m.start() > 40:
        return None
    subj = t[:m.start()].strip("，、 ")
    return subj or None


def _boundaries(line: str) -> list[int]:
    """Positions of segment punctuation outside brackets: （包括已售出和未售出的产品，下同） does not split."""
    out, depth = [], 0
    for i, ch in enumerate(line):
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth = max(0, depth - 1)
        elif depth == 0 and ch in "，,；;。：:\n":
            out.append(i)
    return out


def _segments(line: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for b in _boundaries(line):
        out.append((start, b))
        start = b + 1
    out.append((start, len(line)))
    return [(a, b) for a, b in out if b > a]


def extract_sanctions(text: str, default_party: str | None = None) -> list[Sanction]:
    """All sanctions in `text`, in order. `default_party` is used where no 对…处 names the party."""
    out: list[Sanction] = []
    offset = 0
    for line in text.split("\n"):
        out.extend(_line_sanctions(line, offset, default_party))
        offset += len(line) + 1
    out.sort(key=lambda s: (s.span[0], s.span[1]))
    return out


def _line_sanctions(line: str, offset: int, default_party: str | None) -> list[Sanction]:
    found: list[tuple[str, int, int]] = []
    for kind, rx in _KIND_RES:
        for m in rx.finditer(line):
            found.append((kind, m.start(), m.end()))
    for m in re.finditer(FINE + r"(?!数额)", line):
        seg_start = max((b + 1 for b in _boundaries(line) if b < m.start()), default=0)
        if "处" in line[seg_start:m.start()]:  # 受到罚款处罚 is no sanction; 处…罚款 / 并处罚款 are
            found.append((FINE, m.start(), m.end()))
    if not found:
        return []
    # 责令限期改正 contains 责令…改正: drop a 责令改正 inside a 责令限期改正 match.
    limited = [(a, b) for k, a, b in found if k == "责令限期改正"]
    found = [f for f in found if not (f[0] == "责令改正" and any(a <= f[1] < b for a, b in limited))]
    segs = _segments(line)
    is_item = bool(_ITEM_LINE.match(line))
    conduct_end = -1
    if not is_item:
        for a, b in segs:
            if line[a:b].endswith("的"):
                conduct_end = b
                break
    out = []
    for kind, a, b in found:
        seg = next(((s, e) for s, e in segs if s <= a < e), (0, len(line)))
        # The party: the last 对…处/给予 in this segment before the sanction.
        party = None
        for pm in _PARTY.finditer(line, seg[0], max(seg[1], b)):
            if pm.start() <= a:
                party = pm.group("p")
        ordered = re.match(r"责令(?!其|立即|限期|停)([^，；。：\n]{2,16}?)(?:停产|停业|停止)", line[a:b]) if kind == "责令停产停业" else None
        if ordered:  # 责令生产经营单位停产停业整顿: the unit named is the party
            party = ordered.group(1)
        condition = ""
        if party and party.endswith("的"):  # 对逃匿的处十五日以下拘留: a condition, not a party
            condition, party = party, None
        if party is None and kind not in ("追究刑事责任",):
            party = default_party
        # The condition: the last 的-segment before this one in the same sentence (；/。), after the conduct.
        sentence_start = max((m.end() for m in re.finditer(r"[；;。]", line[:a])), default=0)
        for s, e in segs:
            if (sentence_start <= s and e <= seg[0] and line[s:e].endswith("的")
                    and (s >= conduct_end or is_item) and e != conduct_end):
                condition = _ITEM_LINE.sub("", line[s:e]).strip()
        sanction = Sanction(kind=kind, text=line[a:b], span=(offset + a, offset + b), party=party,
                            party_group=normalise_party(party), condition=condition)
        if kind == FINE:
            phrase = line[seg[0]:b]
            # The amount words lie between the verb 处/并处/处以 and 罚款.
            pm = None
            for vm in re.finditer(r"处以|并处|单处|处", phrase):
                pm = vm
            words = phrase[pm.end():] if pm else phrase
            for candidate in (words, phrase):  # 按照…数额的二倍以上五倍以下对…处以罚款: amounts before the verb
                mult = _fine_multiples(candidate)
                amounts = None if mult else _fine_amounts(candidate)
                if mult:
                    sanction.basis, sanction.multiple_min, sanction.multiple_max = mult
                    break
                if amounts:
                    sanction.min_yuan, sanction.max_yuan = amounts
                    break
            sanction.text = phrase[pm.start():] if pm else phrase
        out.append(sanction)
    return out


def fine_range(sanctions: list[Sanction]) -> tuple[float | None, float | None]:
    """Lowest and highest fixed fine amounts (yuan) over the sanctions; (None, None) when none states one."""
    lows, highs = [], []
    for s in sanctions:
        if s.kind != FINE or (s.min_yuan is None and s.max_yuan is None):
            continue
        lows.append(s.min_yuan if s.min_yuan is not None else 0.0)
        highs.append(s.max_yuan if s.max_yuan is not None else s.min_yuan)
    return (min(lows) if lows else None, max(h for h in highs if h is not None) if highs else None)

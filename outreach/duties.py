"""Duty sentences of an article, read through its 款 and 项: which sentence states a duty, who it binds, and whether
it binds the public (the people an agency regulates) rather than the authorities themselves.

Every sentence returned is a verbatim substring of the article text, so cards can quote it.
"""
from __future__ import annotations

import re

_DUTY_WORD = re.compile(r"应当|不得|必须|禁止|严禁|负有[^。；]{0,20}义务")
_SEGMENT = re.compile(r"[^。\n]+。?")
#: A 款 that introduces a list of 项: …遵守下列规定： / …履行以下职责：
_LIST_LEAD = re.compile(r"(?:下列|以下)[^。]{0,40}[:：]\s*$")
_ITEM_NO = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
_SUBJECT_END = re.compile(r"(?:对[^。，]{0,20})?(?:负有|履行|负责|承担)[^。，]{0,12}下列|应当|不得|必须|禁止|严禁|负有|"
                          r"(?:履行|负责|承担)[^。，]{0,12}下列")
_PARTY = re.compile(r"(?:单位|者|人|人员|机构|组织|企业|律师|协会|所|户|主体|公司|工作者)$")
#: A party named first in a sentence (生产者生产产品，不得…; 养犬人饲养禁养犬只的): the compound party words only, not
#: a bare 人 or 者 (可能危及人体健康…).
_LEADING_PARTY = re.compile(r"^(?![因在对为经由当如])[^，。；：、的]{0,8}?(?:单位|人员|机构|组织|企业|公司|经营者|生产者|销售者|使用者|管理者|个人|"
                            r"责任人|管理人|所有人|设置人|养犬人|申请人|摊贩)")
_VIOLATION_HEAD = re.compile(r"^(?:对)?违反[^，。；]{0,60}?规定，")
_GOVERNMENT = re.compile(r"人民政府|部门|机关|委员会|办事处|人民法院|人民检察院|^国家|^国务院|行政管理|主管")
#: Duties of the authorities themselves (their officials answer with 处分): not the public's duties.
_AUTHORITY = re.compile(r"人民政府|部门|机关|办事处|管理委员会|派出机构|工作人员")
_OFFICIAL_ONLY = {"处分", "追究刑事责任"}
#: Where the subject of a duty sentence ends.
_SUBJECT_HEAD = re.compile(r"应当|不得|必须|负责|按照|依照|根据|对|，|,")
_BIGRAM_NOISE = re.compile(r"[\s，,；;。：:、“”《》（）()的了和或者及其未按照规定]")


def segments(text: str) -> list[str]:
    """Sentences (to 。) of each line, verbatim."""
    return [m.group(0).strip() for m in _SEGMENT.finditer(text or "") if m.group(0).strip()]


def duty_units(clauses: list[dict]) -> list[tuple[str, str | None]]:
    """(sentence, lead) pairs in text order: the sentences of each 款, and each 项 of a 款 that introduces a list
    (…下列规定：) whole, with that 款 as its lead."""
    out: list[tuple[str, str | None]] = []
    for clause in clauses:
        text = (clause.get("text") or "").strip()
        lead = text if _LIST_LEAD.search(text) else None
        out += [(s, None) for s in segments(text)]
        for item in clause.get("items") or []:
            item = item.strip()
            if item and lead and _ITEM_NO.match(item):
                out.append((item, lead))
            elif item:
                out += [(s, None) for s in segments(item)]
    return out


def is_list_lead(text: str | None) -> bool:
    """A 款 or sentence that introduces a list of 项 (…遵守下列规定：)."""
    return bool(_LIST_LEAD.search((text or "").strip()))


def named_item(clauses: list[dict], clause_no: int | None, item_no: int | None) -> tuple[str, str] | None:
    """(项, its 款's text) for 第clause_no款第item_no项; without a 款 number, the 项 of the first 款 that has 项
    (本条例第十五条第一项). None when the article has no such 项."""
    if not item_no:
        return None
    if clause_no:
        pool = clauses[clause_no - 1:clause_no]
    else:
        pool = [c for c in clauses if c.get("items")][:1]
    for clause in pool:
        items = clause.get("items") or []
        if item_no <= len(items):
            return items[item_no - 1].strip(), (clause.get("text") or "").strip()
    return None


def _bigrams(text: str) -> set[str]:
    t = _BIGRAM_NOISE.sub("", text or "")
    return {t[i:i + 2] for i in range(len(t) - 1)}


def best_segment(clauses: list[dict], hint: str = "") -> tuple[str, str | None]:
    """The duty sentence of an article that best restates `hint` (a punished conduct): (sentence, lead of its list)."""
    units = duty_units(clauses)
    if not units:
        return "", None
    pool = [u for u in units if _DUTY_WORD.search(u[0]) or u[1]] or units
    if not hint:
        return pool[0]
    want = _bigrams(hint)
    return max(pool, key=lambda u: (len(want & _bigrams(u[0])) / (len(want) or 1), -pool.index(u)))


def duty_subject(sentence: str) -> str | None:
    """Who a duty sentence binds: the words before 应当/不得/负有…下列…, when they are short enough to be a party."""
    m = _SUBJECT_END.search(sentence)
    if not m or m.start() == 0:
        return None
    head = _ITEM_NO.sub("", sentence[:m.start()]).strip("，,：: ")
    pieces = [x for x in re.split(r"[，,]", head) if x]
    if len(pieces) > 1:  # 因经济困难申请法律援助的，申请人: the last piece, unless it is a condition (…的)
        head = pieces[-1] if not pieces[-1].endswith("的") else pieces[0]
    return head if 1 < len(head) <= 30 else None


def is_regulated_party(subject: str | None) -> bool:
    """A party the regulation binds (生产经营单位, 申请人 …), not a government body nor a circumstance (犬只咬伤他人)."""
    return bool(subject and not _GOVERNMENT.search(subject) and not _AUTHORITY.search(subject)
                and _PARTY.search(subject) and not subject.endswith("他人"))


def leading_party(text: str | None) -> str | None:
    """The party a sentence starts with, when it is one: 生产者生产产品 → 生产者; 违反本条例第十条第一款规定，养犬人饲养…
    → 养犬人."""
    head = _VIOLATION_HEAD.sub("", _ITEM_NO.sub("", (text or "").strip()))
    m = _LEADING_PARTY.match(head)
    return m.group(0) if m and is_regulated_party(m.group(0)) else None


def binds_authority(text: str) -> bool:
    """A duty sentence whose subject is an authority (相关行政管理部门按照下列职责分工…; （二）城市管理部门负责…)."""
    head = _SUBJECT_HEAD.split(_ITEM_NO.sub("", (text or "").strip()), maxsplit=1)[0]
    return bool(_AUTHORITY.search(head))


def for_public(subject: str | None, enf: dict, sline: str) -> bool:
    """A card for the people the agency regulates, not an internal duty of the authorities."""
    if subject and _AUTHORITY.search(subject):
        return False
    kinds = set(enf.get("sanction_kinds") or [])
    return not (kinds <= _OFFICIAL_ONLY and re.search(r"工作人员|人民政府|部门|机关", sline))

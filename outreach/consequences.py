"""What a penalty article does to those who break a duty, in plain words: 责令改正、吊销许可证；罚款1万元至10万元."""
from __future__ import annotations

_BASIS = {"illegal_gains": "违法所得", "goods_value": "货值金额", "annual_income": "上一年年收入",
          "fine_amount": "罚款数额"}
FINE = "罚款"


def _yuan(v: float | None) -> str:
    if v is None:
        return ""
    if v >= 10_000 and v % 10_000 == 0:
        return f"{int(v // 10_000)}万元"
    return f"{int(v)}元" if v == int(v) else f"{v}元"


def fine_words(lo: float | None, hi: float | None, multiple: str = "") -> str:
    """罚款1万元至10万元 / 罚款最高20万元 / 罚款按违法所得的倍数或比例计算 (both when the article has both)."""
    fixed = ""
    if hi is not None and lo and lo == hi:
        fixed = f"罚款{_yuan(hi)}"
    elif hi is not None and lo:
        fixed = f"罚款{_yuan(lo)}至{_yuan(hi)}"
    elif hi is not None:
        fixed = f"罚款最高{_yuan(hi)}"
    elif lo:
        fixed = f"罚款{_yuan(lo)}以上"
    by = f"按{multiple}的倍数或比例计算" if multiple else ""
    if fixed and by:
        return f"{fixed}，或{by}"
    return fixed or (f"罚款{by}" if by else "")


def plain_consequence(enf: dict) -> str:
    """责令改正、吊销许可证；罚款1万元至10万元 — from the article's extracted sanctions (its enforcement payload)."""
    sanctions = enf.get("sanctions") or []
    kinds = []
    for s in sanctions:
        if s.get("kind") != FINE and s.get("kind") not in kinds:
            kinds.append(s["kind"])
    fine = ""
    if any(s.get("kind") == FINE for s in sanctions):
        bases = [_BASIS.get(s["basis"], "有关金额") for s in sanctions if s.get("kind") == FINE and s.get("basis")]
        fine = fine_words(enf.get("fine_min"), enf.get("fine_max"), "、".join(dict.fromkeys(bases))) or FINE
    return "；".join(p for p in ("、".join(kinds), fine) if p)


def sanction_line(text: str, enf: dict) -> str:
    """The line of a penalty article that states its sanctions (verbatim)."""
    lines = [ln.strip() for ln in (text or "").split("\n") if ln.strip()]
    words = [s.get("text") for s in enf.get("sanctions") or [] if s.get("text")]
    for ln in lines:
        if any(w in ln for w in words):
            return ln
    return lines[0] if lines else ""


def parties(enf: dict) -> list[str]:
    """The parties the sanctions fall on (生产经营单位, 主要负责人 …), in order, once each."""
    return list(dict.fromkeys(s["party_group"] for s in enf.get("sanctions") or [] if s.get("party_group")))

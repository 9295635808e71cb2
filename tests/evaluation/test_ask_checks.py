"""`lawsearch eval ask`'s check for lead-ins: a quote ending in a colon must be followed at once by what it introduces."""
from __future__ import annotations

from evaluation.ask import lead_ins_without_items


def st(cite: str, quote: str, *, version: str = "v1", article: int = 21, clause: int | None = 1,
       item: int | None = None) -> dict:
    return {"citation": cite, "quote": quote, "version_id": version, "article_no": article, "article_suffix": "",
            "clause_no": clause, "item_no": item}


def test_a_lead_in_needs_its_items_right_after_it():
    lead = st("A", "未经安全生产教育和培训合格的，不得上岗作业：")
    assert lead_ins_without_items([lead, st("B", "（一）新进从业人员；", item=1)]) == []
    assert lead_ins_without_items([lead]) == ["A"]
    assert lead_ins_without_items([st("B", "（一）新进从业人员；", item=1), lead]) == ["A"]  # items before it
    assert lead_ins_without_items([lead, st("C", "（一）…", version="v2", item=1)]) == ["A"]  # another text's items
    assert lead_ins_without_items([lead, st("D", "生产经营单位可以自主组织培训。", clause=1)]) == ["A"]


def test_a_list_set_out_as_the_following_clauses_counts():
    lead = st("A", "本法下列用语的含义:", article=117, clause=1)
    assert lead_ins_without_items([lead, st("B", "危险物品，是指…", article=117, clause=2)]) == []
    assert lead_ins_without_items([st("C", "生产经营单位应当…。")]) == []

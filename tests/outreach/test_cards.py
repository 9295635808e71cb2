"""The cards of a 普法责任清单: duties quoted through their 款 and 项, the penalties that punish them, plain words for
the sanctions; on hand-made articles and on a real index of ../shared/corpus."""
from __future__ import annotations

import re

import pytest

from corpus.articles import ArticleRecord
from corpus.numerals import article_label, parse_label
from outreach import build_outreach, regulation_cards
from outreach.consequences import fine_words, plain_consequence, sanction_line
from ingest.enforcement.fines import extract_sanctions, fine_range
from outreach.duties import best_segment, duty_subject, duty_units, is_regulated_party, leading_party, named_item

TRAINING_DUTIES = {"text": "生产经营单位的安全生产管理机构以及安全生产管理人员履行下列职责:",
                   "items": ["（一）组织或者参与拟订本单位安全生产规章制度；",
                             "（二）组织或者参与本单位安全生产教育和培训，如实记录安全生产教育和培训情况；"]}


def article(no: int, clauses: list[dict], enforcement: dict | None = None) -> ArticleRecord:
    text = "\n".join("\n".join([c["text"], *c.get("items", [])]) for c in clauses)
    payload = {"title": "某条例", "kind": "article", "article_no": no, "label": article_label(no), "text": text,
               "clauses": [{"text": c["text"], "items": c.get("items", [])} for c in clauses],
               "enforcement": enforcement or {}}
    return ArticleRecord(id=str(no), payload=payload)


def penalty(no: int, clauses: list[dict], links: list[dict], words: str, agency: str = "公安") -> ArticleRecord:
    return article(no, clauses, {"is_penalty": True, "enforcing_agencies": [agency], "penalizes_detail": links,
                                 "sanctions": [{"kind": "罚款", "text": words, "party_group": "养犬人"}],
                                 "sanction_kinds": ["罚款"], "fine_min": 50.0, "fine_max": 200.0})


# ---- sentences, subjects, plain words ----------------------------------------------------------------------------
def test_fine_words_in_plain_chinese():
    assert fine_words(10000.0, 100000.0) == "罚款1万元至10万元"
    assert fine_words(0.0, 200000.0) == "罚款最高20万元"
    assert fine_words(None, None, "违法所得") == "罚款按违法所得的倍数或比例计算"
    assert fine_words(0.0, 50000.0, "货值金额") == "罚款最高5万元，或按货值金额的倍数或比例计算"
    assert fine_words(None, None) == ""
    enf = {"sanctions": [{"kind": "责令限期改正"}, {"kind": "罚款"}, {"kind": "责令停产停业"}, {"kind": "罚款"}],
           "fine_min": 10000.0, "fine_max": 200000.0}
    assert plain_consequence(enf) == "责令限期改正、责令停产停业；罚款1万元至20万元"


def test_duty_sentence_and_subject():
    sentence, lead = best_segment([TRAINING_DUTIES], "未如实记录安全生产教育和培训情况")
    assert sentence == TRAINING_DUTIES["items"][1] and lead == TRAINING_DUTIES["text"]
    assert duty_subject(lead) == "生产经营单位的安全生产管理机构以及安全生产管理人员"
    assert duty_subject("因经济困难申请法律援助的，申请人应当如实说明本人及其共同生活的家庭成员的经济状况。") == "申请人"
    assert duty_subject("生产经营单位应当对从业人员进行安全生产教育和培训。") == "生产经营单位"
    assert duty_subject("国家鼓励发展安全生产产业。") is None
    pen = "违反本条例第十八条规定，生产经营单位未按照规定对有关从业人员进行安全生产教育和培训的，责令限期改正，处一万元以上十万元以下罚款。"
    assert sanction_line("第一款\n" + pen, {"sanctions": [{"text": "处一万元以上十万元以下罚款"}]}) == pen


def test_the_party_a_sentence_starts_with():
    assert leading_party("生产者生产产品，不得掺杂、掺假。") == "生产者"
    assert leading_party("违反本条例第十条第一款规定，养犬人饲养禁养犬只的，由公安部门责令限期改正。") == "养犬人"
    assert leading_party("（一）沿街单位的非机动车应当停放在单位内部；") == "沿街单位"
    for not_a_party in ("在重点管理区内，禁止饲养大型犬和烈性犬。", "可能危及人体健康和人身、财产安全的工业产品，必须符合标准。",
                        "因组织大型文化活动，需要设置临时户外广告设施的，应当经批准。", "养犬应当遵守下列规定："):
        assert leading_party(not_a_party) is None, not_a_party


def test_items_are_read_through_their_clause():
    clauses = [{"text": "养犬应当遵守下列规定：", "items": ["（一）大型犬实行圈养；", "（二）出户时束犬链；"]},
               {"text": "盲人可以携带导盲犬。", "items": []},
               {"text": "养犬人不得有下列行为：", "items": ["（一）遗弃犬只；"]}]
    assert named_item(clauses, 1, 2) == ("（二）出户时束犬链；", "养犬应当遵守下列规定：")
    assert named_item(clauses, 3, 1) == ("（一）遗弃犬只；", "养犬人不得有下列行为：")  # not the article's first （一）
    assert named_item(clauses, None, 1) == ("（一）大型犬实行圈养；", "养犬应当遵守下列规定：")
    assert named_item(clauses, 2, 1) is None and named_item(clauses, 1, None) is None
    units = duty_units(clauses)
    assert ("（一）遗弃犬只；", "养犬人不得有下列行为：") in units and ("盲人可以携带导盲犬。", None) in units


# ---- cards of hand-made articles ---------------------------------------------------------------------------------
DOG_RULES = article(18, [{"text": "养犬应当遵守下列规定：",
                          "items": ["（一）大型犬、烈性犬实行圈养或者拴养；", "（二）犬只出户时应当束犬链；",
                                    "（三）不得在住宅小区的公用部位养犬；"]}])
FINE_30 = "违反本条例第十八条第一款第一项、第二项规定的，由公安部门对养犬人处以五十元以上二百元以下罚款。"
FINE_32 = "违反本条例第十八条第一款第三项规定的，由公安部门责令限期改正，处以五十元以上二百元以下罚款。"


def dog_regulation() -> dict[str, ArticleRecord]:
    explicit = [{"article": "第十八条", "via": "explicit", "clause_no": 1, "item_no": n} for n in (1, 2)]
    return {a.label: a for a in (
        DOG_RULES,
        penalty(30, [{"text": FINE_30}], explicit, "处以五十元以上二百元以下罚款"),
        penalty(32, [{"text": FINE_32}], [{"article": "第十八条", "via": "explicit", "clause_no": 1, "item_no": 3}],
                "处以五十元以上二百元以下罚款"))}


def test_one_card_per_duty_with_the_items_each_penalty_names():
    [card] = regulation_cards("某条例", dog_regulation(), "公安")
    assert card["articles"] == ["第十八条", "第三十条", "第三十二条"]
    assert card["duty"] == ("养犬应当遵守下列规定：（一）大型犬、烈性犬实行圈养或者拴养；（二）犬只出户时应当束犬链；"
                            "（三）不得在住宅小区的公用部位养犬；")
    assert card["subject"] == "养犬人"  # 养犬 is an activity: the party the penalty falls on
    assert [q["quote"] for q in card["basis"]] == ["养犬应当遵守下列规定：", "（一）大型犬、烈性犬实行圈养或者拴养；",
                                                   "（二）犬只出户时应当束犬链；", "（三）不得在住宅小区的公用部位养犬；",
                                                   FINE_30, FINE_32]
    assert [(c["label"], c["scope"], c["plain"]) for c in card["consequences"]] == [
        ("第三十条", "（一）（二）项", "罚款50元至200元"), ("第三十二条", "（三）项", "责令限期改正；罚款50元至200元")]


def test_the_fine_shown_is_the_fine_of_the_quoted_clause():
    """A penalty article with a 款 per conduct: each link quotes its own 款 and shows that 款's range (not the
    article's 400 to 5000)."""
    rules = article(10, [{"text": "在重点管理区内，禁止饲养大型犬和烈性犬，每户居民限养一条小型观赏犬。"}])
    first = "违反本条例第十条第一款规定，养犬人饲养禁养犬只的，由公安部门责令限期改正，处以五百元以上五千元以下罚款。"
    second = "违反本条例第十条第一款规定，养犬人饲养犬只超过限养数量的，由公安部门责令限期改正，可以处以四百元以上一千元以下罚款。"
    links = [{"article": "第十条", "via": "explicit", "clause_no": 1, "penalty_clause": n} for n in (1, 2)]
    fine = penalty(29, [{"text": first}, {"text": second}], links, "处以五百元以上五千元以下罚款")
    fine.payload["enforcement"].update(fine_min=400.0, fine_max=5000.0)
    [card] = regulation_cards("某条例", {a.label: a for a in (rules, fine)}, "公安")
    assert card["subject"] == "养犬人"  # not 在重点管理区内
    assert [(c["cite"], c["plain"], c["quote"]) for c in card["consequences"]] == [
        ("第二十九条第一款", "责令限期改正；罚款500元至5000元", first),
        ("第二十九条第二款", "责令限期改正；罚款400元至1000元", second)]


def test_a_fine_from_a_following_clause_is_quoted_with_it():
    """有前款违法行为，导致发生生产安全事故的，…处二万元以上二十万元以下的罚款: the range comes from the second 款,
    so that 款 is quoted as well."""
    funds = article(23, [{"text": "生产经营单位应当具备的安全生产条件所必需的资金投入，由生产经营单位的决策机构予以保证。"}])
    first = "生产经营单位的决策机构不依照本法规定保证安全生产所必需的资金投入的，责令限期改正，提供必需的资金。"
    second = "有前款违法行为，导致发生生产安全事故的，对个人经营的投资人处二万元以上二十万元以下的罚款。"
    fine = penalty(93, [{"text": first}, {"text": second}],
                   [{"article": "第二十三条", "via": "implicit", "clause_no": 1, "penalty_clause": 1}],
                   "处二万元以上二十万元以下的罚款", agency="应急管理")
    [card] = regulation_cards("某法", {a.label: a for a in (funds, fine)}, "应急管理")
    [cons] = card["consequences"]
    assert cons["quotes"] == [first, second] and cons["plain"] == "责令限期改正；罚款2万元至20万元"
    assert [q["quote"] for q in card["basis"]][-2:] == [first, second]


def test_only_the_agencys_penalties_make_cards():
    cards = regulation_cards("某条例", dog_regulation(), "城市管理")
    assert all(not c["consequences"] or c["consequences"][0]["plain"] != "罚款50元至200元" for c in cards)


def test_an_implicit_link_quotes_the_penalty_item_it_restates():
    duties = article(21, [{"text": "生产经营单位应当建立安全生产责任制。"},
                          {"text": "生产经营单位应当如实记录安全生产教育和培训情况。"}])
    lead = "生产经营单位有下列行为之一的，责令限期改正，处五十元以上二百元以下的罚款："
    items = ["（一）未建立安全生产责任制的；", "（二）未如实记录安全生产教育和培训情况的。"]
    fine = penalty(97, [{"text": "违反规定造成事故的，依法追究责任。"}, {"text": lead, "items": items}],
                   [{"article": "第二十一条", "via": "implicit", "clause_no": 2, "item_no": 2}],
                   "处五十元以上二百元以下的罚款", agency="应急管理")
    [card] = regulation_cards("某法", {a.label: a for a in (duties, fine)}, "应急管理")
    assert card["duty"] == "生产经营单位应当如实记录安全生产教育和培训情况。"
    assert card["subject"] == "生产经营单位"
    assert [q["quote"] for q in card["basis"]] == [card["duty"], lead, items[1]]  # the lead-in, then its 项


# ---- on a real index ---------------------------------------------------------------------------------------------
def _article_text(index, version_id: str, label: str) -> str:
    no, suffix = parse_label(label)
    rec = index.version_record(version_id)
    _, parts = index.article(rec["title"], no, suffix, version_id=version_id)
    return "\n".join(p.payload["text"] for p in parts)


def assert_quotes_verbatim(index, doc) -> int:
    checked = 0
    for reg in doc["regulations"]:
        for card in reg["cards"]:
            assert card["basis"], card
            for q in card["basis"]:
                assert q["title"] == reg["title"]
                assert q["quote"] and q["quote"] in _article_text(index, reg["version_id"], q["label"]), q
                checked += 1
            if card.get("duty") and not card["duty"].startswith(card["basis"][0]["quote"]):
                assert card["duty"] in _article_text(index, reg["version_id"], card["articles"][0])
    return checked


@pytest.mark.integration
def test_emergency_management_list_for_xuzhou(index):
    doc = build_outreach(index, "应急管理", region="徐州市")
    assert doc["agency"] == "应急管理" and doc["regions"] == ["全国", "江苏省", "徐州市"]
    regs = {r["title"]: r for r in doc["regulations"]}
    assert {"中华人民共和国安全生产法", "江苏省安全生产条例", "徐州市安全生产条例"} <= set(regs)
    assert regs["徐州市安全生产条例"]["version_date"] == "2024-12-09"  # current version only, not 2019
    assert [r["title"] for r in doc["regulations"]].count("徐州市安全生产条例") == 1
    for title in ("中华人民共和国安全生产法", "江苏省安全生产条例", "徐州市安全生产条例"):
        assert regs[title]["cards"], title
    assert assert_quotes_verbatim(index, doc) >= 50
    # The training duty of each level, with its penalty and fine range.
    for title, duty, penalty_label in (("中华人民共和国安全生产法", "第二十八条", "第九十七条"),
                                       ("江苏省安全生产条例", "第二十一条", "第七十一条"),
                                       ("徐州市安全生产条例", "第十八条", "第四十六条")):
        card = next(c for c in regs[title]["cards"] if c["articles"][0] == duty)
        assert "教育和培训" in card["duty"] and card["subject"] == "生产经营单位"
        cons = next(c for c in card["consequences"] if c["label"] == penalty_label)
        assert "罚款" in cons["plain"] and cons["fine_max"] == 200000.0
    # The city's penalties for the regulated are each on a card (第四十八条 punishes officials: no card), and
    # 第四十六条 punishes the training duty.
    city = regs["徐州市安全生产条例"]["cards"]
    assert {c["label"] for card in city for c in card["consequences"]} == {"第四十五条", "第四十六条", "第四十七条"}
    training = next(c for card in city for c in card["consequences"] if c["label"] == "第四十六条")
    assert training["plain"].endswith("罚款1万元至20万元")
    # The duties a penalty names by 项 (第十五条第一项至第五项) are quoted with their lead, all five.
    head = next(c for c in regs["江苏省安全生产条例"]["cards"] if c["articles"][0] == "第十五条")
    assert head["duty"].startswith("生产经营单位的主要负责人") and all(f"（{n}）" in head["duty"] for n in "一二三四五")
    # The examples: the main person in charge's duties are punished by 第九十四条/第九十五条 (not 第一百一十条,
    # fleeing after an accident); 第九十三条's fine is in its second 款, which is quoted with it.
    law = {c["articles"][0]: c for c in regs["中华人民共和国安全生产法"]["cards"]}
    assert [c["label"] for c in law["第二十一条"]["consequences"]] == ["第九十四条", "第九十五条"]
    [funds] = law["第二十三条"]["consequences"]
    assert funds["plain"].endswith("罚款2万元至20万元") and "二万元以上二十万元以下" in funds["quote"]
    # Duties of the authorities themselves (officials' 处分) are not public outreach material.
    assert not any("工作人员" in (c["subject"] or "") for r in doc["regulations"] for c in r["cards"])


@pytest.mark.integration
def test_dog_card_keeps_the_items_each_penalty_names(index):
    doc = build_outreach(index, "公安", region="徐州市")
    cards = next(r["cards"] for r in doc["regulations"] if r["title"] == "徐州市养犬管理条例")
    assert_quotes_verbatim(index, doc)
    [card] = [c for c in cards if c["articles"][0] == "第十八条"]
    assert card["subject"] == "养犬人"
    by_penalty = {c["cite"]: c for c in card["consequences"]}
    assert by_penalty["第三十二条"]["scope"] == "（四）项"
    assert all(f"（{n}）" in by_penalty["第三十条第一款"]["scope"] for n in ("一", "二", "六", "七", "八"))
    assert "（四）" not in by_penalty["第三十条第一款"]["scope"]
    # 第二十九条 punishes 第十条 in two 款 with two ranges: each is quoted and shown on its own.
    [limits] = [c for c in cards if c["articles"][0] == "第十条"]
    assert [(c["cite"], c["fine_min"], c["fine_max"]) for c in limits["consequences"]] == [
        ("第二十九条第一款", 500.0, 5000.0), ("第二十九条第二款", 400.0, 1000.0)]


AGENCIES = ("应急管理", "公安", "城市管理", "市场监督管理")


@pytest.mark.integration
@pytest.mark.parametrize("agency", AGENCIES)
def test_every_fine_shown_is_in_the_quote_next_to_it(index, agency):
    """The range on a card is the range of the fines in the 款 quoted with it; one card per duty article; a lead-in
    always with its items; the subject a party, never a place or an activity."""
    doc = build_outreach(index, agency, region="徐州市")
    checked = 0
    for reg in doc["regulations"]:
        heads = [c["articles"][0] for c in reg["cards"]]
        assert len(heads) == len(set(heads)), (reg["title"], heads)
        for card in reg["cards"]:
            quoted = {(q["label"], q["quote"]) for q in card["basis"]}
            for cons in card["consequences"]:
                assert all((cons["label"], q) in quoted for q in cons["quotes"]), (reg["title"], card["articles"])
                lo, hi = fine_range(extract_sanctions("\n".join(cons["quotes"])))
                assert (cons["fine_min"], cons["fine_max"]) == (lo, hi), (reg["title"], card["articles"], cons)
                for amount in re.findall(r"(\d+(?:\.\d+)?)(万)?元", cons["plain"]):
                    value = float(amount[0]) * (10_000 if amount[1] else 1)
                    assert value in (lo, hi), (reg["title"], card["articles"], cons["plain"])
                checked += cons["fine_max"] is not None
            if card["duty"]:
                assert not re.search(r"(?:下列|以下)[^。]{0,40}[:：]$", card["duty"]), card["duty"]
            if card["subject"]:
                assert is_regulated_party(card["subject"]), card["subject"]
    assert checked > 0
    assert_quotes_verbatim(index, doc)


@pytest.mark.integration
def test_legal_aid_list(index):
    doc = build_outreach(index, "司法行政", region="徐州市")
    regs = {r["title"]: r for r in doc["regulations"]}
    assert {"中华人民共和国法律援助法", "江苏省法律援助条例", "法律援助条例"} <= set(regs)
    assert regs["江苏省法律援助条例"]["version_date"] == "2024-09-27"
    assert all(r["cards"] for r in doc["regulations"])
    assert_quotes_verbatim(index, doc)
    # 江苏省法律援助条例 has no penalty article: its duties point to the article on applicable penalties.
    js = regs["江苏省法律援助条例"]["cards"]
    assert all(c["consequences"] and c["consequences"][0]["label"] == "第四十八条" for c in js)


@pytest.mark.integration
def test_market_regulation_list(index):
    doc = build_outreach(index, "市场监督管理局", region="徐州市")  # the office's full name works as well
    titles = [r["title"] for r in doc["regulations"]]
    assert "徐州市质量促进条例" in titles and "中华人民共和国产品质量法" in titles
    assert titles.index("中华人民共和国产品质量法") < titles.index("徐州市质量促进条例")  # national first
    assert all(r["cards"] for r in doc["regulations"])
    assert_quotes_verbatim(index, doc)


@pytest.mark.integration
def test_unknown_agency_is_not_found(index):
    from corpus.errors import NotFound

    with pytest.raises(NotFound):
        build_outreach(index, "不存在的部门", region="徐州市")

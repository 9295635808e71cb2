"""新旧对照 on the shared corpus: three regulations revised in 2024, every article of the newer version classified,
renumbered articles mapped (the pairs below were checked by hand against the two texts), changed words marked."""
from __future__ import annotations

import pytest

from search.compare import STATUSES, VersionArticle, align, changed_words, mark_changes

PAIRS = {
    "安全生产": ("徐州市安全生产条例_2019.md", "徐州市安全生产条例_2024修正.md"),
    "法律援助": ("江苏省法律援助条例_2005修订.md", "江苏省法律援助条例_2024修订.md"),
    "市容": ("徐州市市容和环境卫生管理条例_2018修正.md", "徐州市市容和环境卫生管理条例_2024修正.md"),
}

# Checked by hand: the old article's rule is the new article's (same subject, same or reworded text).
HAND_CHECKED = {
    "安全生产": {
        "第九条": "第十二条",      # 主要负责人全面负责 (same text)
        "第十一条": "第十四条",    # 安全生产管理机构的设置 (reworded)
        "第十二条": "第十六条",    # 安全生产管理机构及人员的职责 (same text)
        "第十四条": "第十八条",    # 安全生产教育和培训 (被派遣劳动者、实习学生 dropped)
        "第十六条": "第二十条",    # 隐患排查治理 (same text)
        "第十七条": "第二十一条",  # 重大危险源 (same text)
        "第二十条": "第二十六条",  # 安全生产责任保险 (rewritten)
        "第二十四条": "第二十九条",  # 粉尘爆炸危险场所
        "第二十六条": "第三十一条",  # 烟花爆竹
        "第三十八条": "第四十四条",  # 处罚的一般规定 (same text)
        "第四十一条": "第四十六条",  # the penalty for 第十四条 (教育培训), now for 第十八条: same fines as 第四十三条 had
        "第四十六条": "第四十七条",  # 液氨制冷 penalty
        "第五十条": "第五十条",
    },
    "法律援助": {
        "第十条": "第十八条",      # 因经济困难申请代理的事项
        "第二十一条": "第二十七条",  # 对申请分别作出处理
        "第二十四条": "第三十五条",  # 对不予援助决定的异议
        "第二十五条": "第二十三条",  # 公示 / 公布 (moved forward)
        "第二十六条": "第三十条",    # 回避
        "第三十二条": "第三十九条",  # 办案补贴
        "第三十四条": "第三十七条",  # 经费列入预算
        "第三十五条": "第三十八条",  # 法律援助基金会
        "第三十六条": "第四十条",    # 缓收诉讼费用
        "第三十一条": "第四十二条",  # 异地协作 (moved back)
        "第四十二条": "第四十九条",  # 滥用职权
        "第四十三条": "第五十条",    # 施行日期
    },
    "市容": {"第五十一条": "第五十二条", "第二十五条": "第二十五条"},
}
DELETED = {"安全生产": {"第二十三条", "第四十八条"},  # 煤矿企业的要求; 用语含义
           "法律援助": {"第三十三条"},                # 撤销法律援助
           "市容": set()}
ADDED = {"安全生产": {"第七条", "第十一条", "第二十二条", "第二十三条", "第三十七条"},  # 科技, 劳动防护用品, 发包出租, 户外广告, 矿山
         "法律援助": {"第三条", "第三十六条", "第四十七条"},  # 党的领导, 信息化, 长三角协作
         "市容": {"第五十一条"}}  # 法律、法规已有处罚规定的从其规定


def _articles(reg) -> list[VersionArticle]:
    parts: dict[tuple[int, str], list] = {}
    for a in reg.articles:
        parts.setdefault((a.article_no, a.article_suffix), []).append(a)
    return [VersionArticle(no, suffix, ps[0].label, "\n".join(p.text for p in ps)) for (no, suffix), ps in parts.items()]


@pytest.fixture(scope="module")
def versions(corpus_dir):
    from ingest.pipeline import parse_files

    out = {}
    for name, (old, new) in PAIRS.items():
        regs, failures = parse_files([corpus_dir / "xuzhou" / old, corpus_dir / "xuzhou" / new], progress=False)
        assert not failures
        regs.sort(key=lambda r: r.version_date)
        out[name] = (_articles(regs[0]), _articles(regs[1]))
    return out


@pytest.fixture(scope="module")
def alignments(versions):
    return {name: align(old, new) for name, (old, new) in versions.items()}


@pytest.mark.parametrize("name", PAIRS)
def test_every_article_of_the_newer_version_is_classified_once(name, versions, alignments):
    old, new = versions[name]
    rows = alignments[name]["rows"]
    assert [r["new"] for r in rows if r["new"]] == [a.label for a in new]
    assert all(r["status"] in STATUSES for r in rows)
    # every older article is accounted for: it lives on in exactly one row, or is marked deleted
    old_seen = [lab for r in rows for lab in r["old"]]
    assert sorted(old_seen) == sorted(a.label for a in old)
    assert sum(alignments[name]["summary"].values()) == len(rows)


@pytest.mark.parametrize("name", PAIRS)
def test_renumbered_articles_map_to_the_hand_checked_successor(name, alignments):
    mapping = alignments[name]["mapping"]
    wrong = {o: (mapping[o], n) for o, n in HAND_CHECKED[name].items() if mapping[o] != [n]}
    assert not wrong


@pytest.mark.parametrize("name", PAIRS)
def test_deleted_and_added_articles(name, alignments):
    rows = alignments[name]["rows"]
    deleted = {r["old"][0] for r in rows if r["status"] == "deleted"}
    added = {r["new"] for r in rows if r["status"] == "added"}
    assert DELETED[name] <= deleted
    assert ADDED[name] <= added
    assert not deleted & set(HAND_CHECKED[name])


def test_statuses_of_unchanged_renumbered_and_modified_articles(alignments):
    rows = {r["new"]: r for r in alignments["安全生产"]["rows"] if r["new"]}
    assert rows["第十二条"]["status"] == "renumbered" and rows["第十二条"]["old"] == ["第九条"]
    assert "changes" not in rows["第十二条"]
    assert rows["第五十条"]["status"] == "same"
    assert rows["第十八条"]["status"] == "modified" and rows["第十八条"]["renumbered"]
    assert alignments["市容"]["summary"]["renumbered"] == 1  # only the last article moved (第五十一条 → 第五十二条)
    assert alignments["市容"]["summary"]["same"] >= 20


def test_changed_words_are_marked(alignments):
    rows = {r["new"]: r for r in alignments["安全生产"]["rows"] if r["new"]}
    words = changed_words(rows["第十八条"]["changes"])
    assert "新进" in words["inserted"]
    assert any("被派遣劳动者" in w for w in words["deleted"])
    penalty = changed_words(rows["第四十六条"]["changes"])
    assert penalty["deleted"][0] == "四" and penalty["inserted"][0] == "八"  # 违反本条例第十四条 → 第十八条
    # the diff rebuilds both texts: nothing is lost or invented
    for r in alignments["法律援助"]["rows"]:
        if r.get("changes"):
            assert "".join(s["text"] for s in r["changes"] if s["op"] != "insert") == r["old_text"]
            assert "".join(s["text"] for s in r["changes"] if s["op"] != "delete") == r["new_text"]


def test_marks_words_not_letters():
    segs = mark_changes("责令限期改正，可以处五万元以下罚款", "责令限期改正，处一万元以上十万元以下罚款")
    inner = segs[1:-1]
    assert all(len(s["text"]) > 1 for s in inner if s["op"] == "equal")  # no single 处 left between the changes
    assert changed_words(segs) == {"deleted": ["可以处五"], "inserted": ["处一万元以上十"]}


def _art(no: int, text: str, suffix: str = "") -> VersionArticle:
    from corpus.numerals import article_label

    return VersionArticle(no, suffix, article_label(no, suffix), text)


def test_inserted_split_and_merged_articles():
    duty = "生产经营单位应当建立健全全员安全生产责任制，明确各岗位的责任人员、责任范围和考核标准等内容。"
    training = "生产经营单位应当对从业人员进行安全生产教育和培训，保证从业人员具备必要的安全生产知识。"
    records = "生产经营单位应当建立安全生产教育和培训档案，如实记录教育和培训的时间、内容、参加人员以及考核结果。"
    fire = "禁止在人员密集场所违规存放易燃易爆物品，经营单位应当定期检查消防设施并保持疏散通道畅通。"
    warn = "生产经营单位应当在有较大危险因素的生产经营场所和有关设施、设备上设置明显的安全警示标志。"
    old = [_art(1, duty), _art(2, training + records), _art(3, fire), _art(4, warn)]
    new = [_art(1, duty), _art(2, training), _art(3, records), _art(3, "新能源汽车充电设施的经营单位应当落实充电安全管理制度，防范火灾事故。", "之一"),
           _art(4, fire + warn)]
    rows = {r["new"]: r for r in align(old, new)["rows"] if r["new"]}
    assert rows["第一条"]["status"] == "same"
    assert rows["第二条"]["status"] == "split" and rows["第三条"]["status"] == "split"
    assert rows["第三条"]["old"] == ["第二条"]
    assert rows["第三条之一"]["status"] == "inserted"
    assert rows["第四条"]["status"] == "merged" and rows["第四条"]["old"] == ["第三条", "第四条"]

"""The article record: a long article's parts read back as one article with its 款 numbering intact."""
from corpus.articles import ArticleRecord, group_articles, merge_clauses
from corpus.store import Hit


def _part(no: int, part: int, text: str, clauses: list[dict], **extra) -> Hit:
    payload = {"version_id": "v1", "title": "徐州市养犬管理条例", "article_no": no, "article_suffix": "",
               "label": f"第{no}条", "kind": "article", "part": part, "text": text, "clauses": clauses, **extra}
    return Hit(id=f"p{no}-{part}", score=0.5, payload=payload)


def test_parts_of_a_split_article_keep_clause_numbers():
    parts = [[{"text": "养犬应当遵守下列规定：", "items": ["（一）甲；", "（二）乙；"]}],
             [{"text": "", "items": ["（三）丙；"]}, {"text": "盲人可以携带导盲犬。", "items": []}]]
    merged = merge_clauses(parts)
    assert [c["text"] for c in merged] == ["养犬应当遵守下列规定：", "盲人可以携带导盲犬。"]
    assert merged[0]["items"] == ["（一）甲；", "（二）乙；", "（三）丙；"]
    assert parts[0][0]["items"] == ["（一）甲；", "（二）乙；"]  # inputs untouched


def test_a_part_that_starts_inside_an_item_continues_that_item(corpus_dir):
    """《机动车登记规定》第八十九条: 项 with 目 (1. 2. …) long enough to be cut inside a 项's 目. Read back, the
    article has its three 项 with their 目, as parsed whole (the answers quoted a 目 as 第（三）项)."""
    from dataclasses import asdict

    from ingest.pipeline import parse_files
    from ingest.split import split_long_articles

    path = next((corpus_dir / "lawref" / "部门规章").glob("*/机动车登记规定*.md"))
    regs, _ = parse_files([path])
    art = next(a for a in regs[0].articles if a.article_no == 89)
    parts = split_long_articles([art])
    assert len(parts) > 2  # cut inside the 目 of 第（二）项, and of 第（三）项
    merged = merge_clauses([[asdict(c) for c in p.clauses] for p in parts])
    assert merged == [asdict(c) for c in art.clauses]
    assert [i.split("\n")[0] for i in merged[0]["items"]] == ["（一）机动车所有人包括拥有机动车的个人或者单位。",
                                                              "（二）身份证明：", "（三）住所："]


def test_record_joins_parts_in_part_order_whatever_order_they_come_in():
    second = _part(18, 1, "（三）丙；\n盲人可以携带导盲犬。",
                   [{"text": "", "items": ["（三）丙；"]}, {"text": "盲人可以携带导盲犬。", "items": []}],
                   enforcement={"penalized_by": ["第三十条"]})
    first = _part(18, 0, "养犬应当遵守下列规定：\n（一）甲；", [{"text": "养犬应当遵守下列规定：", "items": ["（一）甲；"]}])
    rec = ArticleRecord.from_parts([second, first])
    assert rec.id == "p18-0"
    assert rec.text.startswith("养犬应当遵守下列规定：") and rec.text.endswith("盲人可以携带导盲犬。")
    assert len(rec.clauses) == 2 and rec.clauses[0]["items"] == ["（一）甲；", "（三）丙；"]
    assert rec.enforcement == {"penalized_by": ["第三十条"]}  # found on the second part
    assert rec.key == ("徐州市养犬管理条例", 18, "")
    assert rec.as_hit().payload["text"] == rec.text
    fields = rec.fields(("title", "label", "missing"))
    assert fields["missing"] is None and fields["id"] == "p18-0" and fields["clauses"] == rec.clauses


def test_group_articles_gives_one_record_per_article_in_first_seen_order():
    points = [_part(2, 0, "乙", []), _part(1, 0, "甲一", []), _part(2, 1, "乙续", []), _part(1, 1, "甲二", [])]
    recs = group_articles(points)
    assert [r.article_no for r in recs] == [2, 1]
    assert [r.text for r in recs] == ["乙\n乙续", "甲一\n甲二"]

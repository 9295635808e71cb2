"""The same rule at several levels: home texts' articles beside the national articles they restate."""
from __future__ import annotations

import pytest

from search.levels import LevelLinks, build_links, laws_rested_on, national_laws

DUTY = ("生产经营单位应当对从业人员进行安全生产教育和培训，保证从业人员具备必要的安全生产知识，熟悉有关的安全生产规章制度"
        "和安全操作规程，掌握本岗位的安全操作技能。未经安全生产教育和培训合格的从业人员，不得上岗作业。")


def payload(vid: str, title: str, region: str, no: int, text: str, *, part: int = 0) -> dict:
    return {"version_id": vid, "title": title, "regulation_id": vid.split("@")[0], "region": region, "article_no": no,
            "article_suffix": "", "kind": "article", "is_current": True, "text": text, "part": part}


def library() -> list[dict]:
    filler = ["国家实行统一的标准化管理制度。", "公民依法享有劳动的权利和义务。", "国家保护消费者的合法权益不受侵害。",
              "县级以上人民政府应当加强对水土保持工作的统一领导。", "本法自公布之日起施行。"]
    nat = [payload("aq@2021", "中华人民共和国安全生产法", "全国", 28, DUTY),
           payload("aq@2021", "中华人民共和国安全生产法", "全国", 29, "生产经营单位采用新工艺、新技术、新材料或者使用新设备，"
                   "必须了解、掌握其安全技术特性，采取有效的安全防护措施，并对从业人员进行专门的安全生产教育和培训。"),
           payload("aq@2021", "中华人民共和国安全生产法", "全国", 1, "为了加强安全生产工作，制定本法。")]
    nat += [payload(f"n{i}@2020", f"某法{i}", "全国", 3, t) for i, t in enumerate(filler)]
    local = [  # the city restates article 28 in its own words, in two parts; names the law in its first article
        payload("xz@2024", "徐州市安全生产条例", "徐州市", 1, "根据《中华人民共和国安全生产法》等法律，结合本市实际，制定本条例。"),
        payload("xz@2024", "徐州市安全生产条例", "徐州市", 18, "生产经营单位应当对从业人员进行安全生产教育和培训，"
                "保证从业人员具备必要的安全生产知识，", part=0),
        payload("xz@2024", "徐州市安全生产条例", "徐州市", 18, "掌握本岗位的安全操作技能；未经培训合格的，不得上岗作业。", part=1),
        # a looser restatement (cosine ≈ 0.3): kept only because the city's text names the law
        payload("xz@2024", "徐州市安全生产条例", "徐州市", 19, "本市企业采用新工艺、新技术的，应当对职工进行专门培训，并采取防护措施。"),
        payload("xz@2024", "徐州市安全生产条例", "徐州市", 30, "市容环境卫生责任区的责任人应当保持责任区整洁。"),
    ]
    other = [payload("sh@2020", "上海市安全生产条例", "上海市", 18, DUTY)]  # not applicable in Xuzhou
    return nat + local + other


def test_a_local_article_links_to_the_national_article_it_restates_and_back():
    links = build_links(library(), {"徐州市", "江苏省"})
    pairs = {(a, b) for a, b, _ in links}
    assert (("xz@2024", 18, ""), ("aq@2021", 28, "")) in pairs
    # an unrelated local article has no counterpart; another province's text is no party
    assert not any(a == ("xz@2024", 30, "") for a, _ in pairs)
    assert not any("sh@2020" in (a[0], b[0]) for a, b in pairs)
    levels = LevelLinks.of(links, {"徐州市"})
    assert levels.counterparts(("aq@2021", 28, ""))[0][0] == ("xz@2024", 18, "")
    assert levels.counterparts(("xz@2024", 18, ""))[0][0] == ("aq@2021", 28, "")


def test_only_laws_the_local_text_rests_on_are_searched_and_boilerplate_links_nothing():
    praise = "对在{}工作中做出突出贡献的单位和个人，按照国家有关规定给予表彰、奖励。"
    lib = library() + [
        payload("sp@2021", "中华人民共和国食品安全法", "全国", 13, praise.format("食品安全")),  # shares only 安全
        payload("xz@2024", "徐州市安全生产条例", "徐州市", 40, praise.format("安全生产")),
        payload("n9@2009", "军服管理条例", "全国", 20, "本条例自2009年3月1日起施行。"),
        payload("xz@2024", "徐州市安全生产条例", "徐州市", 50, "本条例自2024年5月1日起施行。"),
    ]
    lib += [payload(f"s{i}@2020", f"中华人民共和国{w}安全法", "全国", 1, f"为了保障{w}安全，制定本法。")
            for i, w in enumerate(["网络", "数据", "核", "生物", "国家", "特种设备", "道路交通", "消防", "矿山", "粮食",
                                   "出口管制"])]  # 安全 in a dozen national titles: no rare subject word
    pairs = {(a, b) for a, b, _ in build_links(lib, {"徐州市"})}
    assert (("xz@2024", 18, ""), ("aq@2021", 28, "")) in pairs  # named and sharing 安全生产
    assert (("xz@2024", 19, ""), ("aq@2021", 29, "")) in pairs  # a looser restatement of a law it rests on
    assert not any(b[0] in ("sp@2021", "n9@2009") for _, b in pairs)
    assert not any(a == ("xz@2024", 50, "") for a, _ in pairs)


def test_reading_only_the_laws_the_home_texts_rest_on_gives_the_same_links():
    # What the runtime reads: the home texts, the version registry, then only the national laws they rest on.
    lib = library() + [payload(f"s{i}@2020", f"中华人民共和国{w}安全法", "全国", 1, f"为了保障{w}安全，制定本法。")
                       for i, w in enumerate(["网络", "数据", "核", "生物", "国家", "特种设备", "道路交通", "消防", "矿山",
                                              "粮食", "出口管制"])]
    home = {"徐州市", "江苏省"}
    records = {p["version_id"]: {"regulation_id": p["regulation_id"], "title": p["title"], "region": p["region"],
                                 "is_current": True, "has_articles": True} for p in lib}
    laws = national_laws(records.values())
    local = [p for p in lib if p["region"] in home]
    wanted = laws_rested_on(local, home, laws)
    assert wanted == {"aq"}  # named by the city's text; 安全 alone is in a dozen national titles
    narrowed = local + [p for p in lib if p["regulation_id"] in wanted]
    assert build_links(narrowed, home, laws=laws) == build_links(lib, home)
    assert national_laws([dict(r, is_current=False) for r in records.values()]) == {}


def test_links_survive_a_save_and_load(tmp_path):
    links = build_links(library(), {"徐州市"})
    LevelLinks(home=["徐州市"]).save(tmp_path, links)
    loaded = LevelLinks.load(tmp_path)
    assert len(loaded) == len(links) and loaded.home == ["徐州市"]
    assert LevelLinks.load(tmp_path / "nothing") is None


@pytest.mark.integration
def test_search_hits_carry_their_counterparts_at_the_other_levels(tmp_path, corpus_dir):
    """On a real index of the Xuzhou set and the national laws it rests on: a national 安全生产法 hit shows the
    Jiangsu or Xuzhou article that restates it, and a local hit shows national law."""
    from tests.indexes import ingested_runtime, main_job_files

    question = "从业人员未经安全生产教育和培训合格不得上岗作业"
    files = main_job_files(corpus_dir)
    national = [p for p in files if p.name != "xuzhou"]
    with ingested_runtime(tmp_path / "data", national) as rt:
        assert not any(h.get("levels") for h in rt.search(question, top_k=10)["hits"])  # no home text yet
        # The home texts arrive while the searches' engine is warm: the ingest rebuilds the links and that engine
        # shows them (no labelled questions here, so no ranker step).
        assert not rt.ingest([corpus_dir / "xuzhou"], progress=False, train=False).failed
        assert (rt.data_dir / "levels" / "links.json").is_file()
        hits = rt.search(question, top_k=10)["hits"]
        national = [h for h in hits if h["region"] == "全国" and h["levels"]]
        local = [h for h in hits if h["region"] in ("徐州市", "江苏省") and h["levels"]]
        assert national and local
        for h in national:
            assert {x["region"] for x in h["levels"]} <= {"徐州市", "江苏省"}
        for h in local:
            assert {x["region"] for x in h["levels"]} == {"全国"}
            assert all(x["text"] and x["citation"] and 0 < x["similarity"] <= 1 for x in h["levels"])
        assert any(x["title"] == "中华人民共和国安全生产法" for h in local for x in h["levels"])

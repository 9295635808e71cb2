"""Regulation metadata: history events, dates, level, region, office, status — from front matter or from the text."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from corpus.errors import NoArticlesFound
from ingest.metadata import build_regulation, find_dates, infer_level, infer_region, parse_history

from .test_structure import read_text


@dataclass
class Converted:
    text: str
    metadata: dict = field(default_factory=dict)
    source_format: str = "md"
    pages: int = 0
    ocr_pages: int = 0
    warnings: list = field(default_factory=list)


def regulation(path: Path, *, with_metadata: bool = True):
    text, meta = read_text(path)
    return build_regulation(Converted(text, meta if with_metadata else {}), source_path=str(path), sha256="0" * 64)


@pytest.mark.integration
class TestRealFiles:
    def test_local_regulation_with_metadata_block(self, corpus_dir):
        r = regulation(corpus_dir / "xuzhou" / "徐州市安全生产条例_2024修正.md")
        assert (r.title, r.short_title, r.level, r.region) == ("徐州市安全生产条例", "徐州市安全生产条例", "地方性法规",
                                                               "徐州市")
        assert r.office == "徐州市人民代表大会常务委员会" and r.status == "有效"
        assert [(h["event"], h["date"]) for h in r.history] == [
            ("通过", "2019-10-30"), ("批准", "2019-11-29"), ("修正", "2024-10-23"), ("批准", "2024-11-28")]
        assert r.history[0]["by"] == "徐州市第十六届人民代表大会常务委员会第三十次会议"
        assert (r.adopted_date, r.amended_date) == ("2019-10-30", "2024-10-23")
        # The metadata gives the amended text's dates; its last article still says 本条例自2020年1月1日起施行.
        assert (r.publish_date, r.version_date, r.effective_date) == ("2024-12-09", "2024-12-09", "2025-02-01")
        assert "2020年1月1日" in r.articles[-1].text
        assert r.has_articles and len(r.articles) == 50
        assert r.articles[0].regulation_title == "徐州市安全生产条例"

    def test_same_file_without_metadata_infers_from_the_text(self, corpus_dir):
        r = regulation(corpus_dir / "xuzhou" / "徐州市安全生产条例_2024修正.md", with_metadata=False)
        assert (r.level, r.region, r.office, r.status) == ("地方性法规", "徐州市", "徐州市人民代表大会常务委员会", "")
        assert r.version_date == "2024-11-28"  # the approval of the latest amendment
        # All the text says is 本条例自2020年1月1日起施行: when it first took effect, not when this version did.
        assert r.effective_date == "" and r.extra["first_effective_date"] == "2020-01-01"

    def test_an_amended_national_law_does_not_take_its_first_versions_date(self, corpus_dir):
        r = regulation(corpus_dir / "lawref" / "社会法" / "安全生产法(2021-06-10).md")
        assert (r.amended_date, r.version_date) == ("2021-06-10", "2021-06-10")
        assert r.effective_date == "" and r.extra["first_effective_date"] == "2002-11-01"

    def test_two_versions_get_distinct_version_ids(self, corpus_dir):
        old = regulation(corpus_dir / "xuzhou" / "徐州市安全生产条例_2019.md")
        new = regulation(corpus_dir / "xuzhou" / "徐州市安全生产条例_2024修正.md")
        assert old.regulation_id == new.regulation_id and old.version_id != new.version_id
        assert (old.status, old.version_date, old.effective_date) == ("已修改", "2019-12-12", "2020-01-01")

    def test_revision(self, corpus_dir):
        r = regulation(corpus_dir / "xuzhou" / "江苏省法律援助条例_2024修订.md")
        assert [(h["event"], h["date"]) for h in r.history] == [
            ("通过", "2001-08-24"), ("修订", "2005-09-23"), ("修订", "2024-09-27")]
        assert (r.region, r.amended_date, r.effective_date) == ("江苏省", "2024-09-27", "2025-01-01")

    def test_national_law_without_metadata(self, corpus_dir):
        r = regulation(corpus_dir / "xuzhou" / "中华人民共和国法律援助法.md")
        assert (r.title, r.short_title) == ("中华人民共和国法律援助法", "法律援助法")
        assert (r.level, r.region, r.office) == ("法律", "全国", "全国人民代表大会常务委员会")
        assert (r.adopted_date, r.version_date) == ("2021-08-20", "2021-08-20")
        assert r.effective_date == "2022-01-01"  # 第七十一条 本法自2022年1月1日起施行。

    def test_state_council_regulation(self, corpus_dir):
        r = regulation(corpus_dir / "xuzhou" / "法律援助条例_2003.md")
        assert (r.level, r.region, r.office) == ("行政法规", "全国", "国务院")
        assert [(h["event"], h["date"]) for h in r.history] == [
            ("通过", "2003-07-16"), ("公布", "2003-07-21"), ("施行", "2003-09-01")]
        assert (r.publish_date, r.effective_date, r.version_date) == ("2003-07-21", "2003-09-01", "2003-07-21")

    def test_judicial_interpretation(self, corpus_dir):
        r = regulation(corpus_dir / "lawref" / "司法解释" / "最高人民法院关于适用《民法典》有关担保制度的解释(2020-12-31).md")
        assert (r.level, r.region, r.office) == ("司法解释", "全国", "最高人民法院")
        assert (r.adopted_date, r.effective_date) == ("2020-12-25", "2021-01-01")

    def test_departmental_rule(self, corpus_dir):
        r = regulation(corpus_dir / "lawref" / "部门规章" / "市场监督管理总局" / "侵害消费者权益行为处罚办法(2015-01-05).md")
        assert (r.level, r.region, r.office) == ("部门规章", "全国", "国家工商行政管理总局")
        assert (r.publish_date, r.effective_date) == ("2015-01-05", "2015-03-15")

    def test_local_regulation_of_another_province(self, corpus_dir):
        r = regulation(corpus_dir / "lawref" / "DLC" / "上海地方法规" / "地方性法规" / "上海" / "上海口岸服务条例(2020-05-14).md")
        assert (r.level, r.region, r.office) == ("地方性法规", "上海市", "上海市人民代表大会常务委员会")
        assert (r.amended_date, r.version_date) == ("2020-05-14", "2020-05-14")

    def test_autonomous_county(self, corpus_dir):
        r = regulation(corpus_dir / "lawref" / "DLC" / "重庆地方法规" / "地方性法规" / "重庆"
                       / "彭水苗族土家族自治县城乡建设管理条例(2013-05-31).md")
        assert (r.level, r.region) == ("自治条例和单行条例", "彭水苗族土家族自治县")

    def test_criminal_law_history(self, corpus_dir):
        r = regulation(corpus_dir / "lawref" / "刑法" / "刑法.md")
        assert r.office == "全国人民代表大会" and r.level == "法律"
        assert r.history[0] == {"event": "通过", "date": "1979-07-01", "by": "第五届全国人民代表大会第二次会议"}
        assert r.history[1]["event"] == "修订"
        assert all(h["event"] == "修正" for h in r.history[2:])  # …会议通过的《刑法修正案（…）》
        assert r.version_date == r.amended_date == r.history[-1]["date"]

    def test_amendment_without_articles(self, corpus_dir):
        r = regulation(corpus_dir / "lawref" / "刑法" / "刑法修正案（七）.md")
        assert not r.has_articles and r.articles[0].kind == "paragraph"
        assert (r.level, r.region, r.adopted_date) == ("法律", "全国", "2009-02-28")
        assert r.effective_date == "2009-02-28"  # 本修正案自公布之日起施行


class TestText:
    def test_dates_in_both_numeral_styles(self):
        assert [d for d, _, _ in find_dates("自二〇二一年一月一日起施行，2019年10月30日通过")] == ["2021-01-01",
                                                                                          "2019-10-30"]
        assert find_dates("二〇二一年十三月一日") == []

    def test_history_of_a_state_council_order(self):
        h = parse_history("2008年1月31日 中华人民共和国国务院令第517号公布\n自2008年5月1日起施行")
        assert h == [{"event": "公布", "date": "2008-01-31", "by": "中华人民共和国国务院令第517号"},
                     {"event": "施行", "date": "2008-05-01", "by": ""}]

    def test_history_stops_at_the_table_of_contents(self):
        h = parse_history("（2020年1月1日某市人民代表大会常务委员会第一次会议通过）\n目录\n第一章 总则 2021年1月1日修订")
        assert [x["date"] for x in h] == ["2020-01-01"]

    def test_level_and_region_rules(self):
        assert infer_level("某某市市容管理规定", "某某市人民政府") == "地方政府规章"
        assert infer_region("某某市市容管理规定", "某某市人民政府", "地方政府规章") == "某某市"
        assert infer_level("中华人民共和国宪法", "") == "宪法"
        assert infer_level("深圳经济特区社会信用条例", "") == "地方性法规"
        assert infer_region("深圳经济特区社会信用条例", "", "地方性法规") == "深圳市"
        assert infer_region("江苏省安全生产条例", "", "") == "江苏省"
        assert infer_level("某部门规章", "交通运输部") == "部门规章"

    def test_text_without_body_is_rejected(self):
        with pytest.raises(NoArticlesFound) as err:
            build_regulation(Converted("某条例\n（2020年1月1日某市人民代表大会常务委员会第一次会议通过）"),
                             source_path="x.md", sha256="0")
        assert err.value.code == "no_text"

    def test_title_falls_back_to_file_name(self):
        r = build_regulation(Converted("第一条 甲。\n第二条 乙。"), source_path="/a/某某条例(2020-01-02).md", sha256="0")
        assert r.title == "某某条例" and r.version_date == "2020-01-02"
        assert [a.regulation_title for a in r.articles] == ["某某条例", "某某条例"]

"""A deployment's home regions: the city and the province its regulations name as their approver."""
from __future__ import annotations

from corpus.regions import home_regions, province_of
from corpus.settings import Settings

RECORDS = [
    {"region": "徐州市", "history": [{"event": "批准", "by": "江苏省第十四届人民代表大会常务委员会第十二次会议"}]},
    {"region": "南宁市", "preamble": "（2019年5月1日南宁市人大常委会通过 2019年7月1日广西壮族自治区第十三届人民代表大会常务委员会第十次会议批准）"},
]


def test_home_regions_are_the_city_and_its_province():
    assert home_regions("徐州市", RECORDS) == {"徐州市", "江苏省"}
    assert home_regions("南宁市", RECORDS) == {"南宁市", "广西壮族自治区"}
    assert home_regions("江苏省", []) == {"江苏省"}
    assert home_regions("苏州市", RECORDS) == {"苏州市"}  # no text of 苏州 says its province: the city alone
    assert home_regions("", RECORDS) == set() and home_regions(None, RECORDS) == set()
    assert home_regions("全国", RECORDS) == set()
    assert province_of("上海市", []) == "上海市"


def test_home_region_setting(monkeypatch):
    assert Settings().home_region == "徐州市"
    monkeypatch.setenv("LAWSEARCH_HOME_REGION", "")
    assert not Settings().home_region


def test_applicable_law_is_the_city_its_province_and_national_law():
    from corpus.regions import applicable_regions

    assert applicable_regions("徐州市", RECORDS) == ["徐州市", "江苏省", "全国", ""]
    assert applicable_regions("江苏省", RECORDS) == ["江苏省", "全国", ""]
    assert applicable_regions("上海市", []) == ["上海市", "全国", ""]
    assert applicable_regions("苏州市", RECORDS) == ["苏州市", "全国", ""]  # province unknown: the city and national law
    assert applicable_regions(None, RECORDS) == ["全国", ""]

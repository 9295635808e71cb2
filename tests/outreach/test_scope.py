"""Which regulations a list covers: current versions the agency enforces, national first, the region's province."""
from __future__ import annotations

import pytest

from corpus.errors import InvalidFilter
from outreach import agency_name, select_regulations

XUZHOU = {"title": "C市条例", "region": "徐州市", "is_current": True, "agencies": ["应急管理"],
          "history": [{"event": "通过", "by": "徐州市第十六届人民代表大会常务委员会第三十次会议"},
                      {"event": "批准", "by": "江苏省第十三届人民代表大会常务委员会第十二次会议"}]}


def test_scope_is_current_versions_of_nation_province_and_region():
    recs = [
        {"title": "A法", "region": "全国", "level": "法律", "is_current": True, "agencies": ["应急管理"]},
        {"title": "B省条例", "region": "江苏省", "is_current": True, "agencies": ["应急管理"]},
        XUZHOU,
        {"title": "C市条例", "region": "徐州市", "is_current": False, "agencies": ["应急管理"]},
        {"title": "D市条例", "region": "苏州市", "is_current": True, "agencies": ["应急管理"]},
        {"title": "E省条例", "region": "浙江省", "is_current": True, "agencies": ["应急管理"]},
        {"title": "F法", "region": "全国", "is_current": True, "agencies": ["公安"]},
        {"title": "G解释", "region": "全国", "level": "司法解释", "is_current": True, "agencies": ["应急管理"]},
    ]
    picked, regions = select_regulations(recs, "应急管理", "徐州市")
    assert [r["title"] for r in picked] == ["A法", "B省条例", "C市条例"]
    assert all(r["is_current"] for r in picked)
    assert regions == ["全国", "江苏省", "徐州市"]
    picked, regions = select_regulations(recs, "应急管理", None)
    assert [r["title"] for r in picked] == ["A法"] and regions == ["全国"]


def test_national_laws_come_first_then_by_level():
    recs = [{"title": "乙规章", "region": "全国", "level": "部门规章", "is_current": True, "agencies": ["公安"]},
            {"title": "丙条例", "region": "徐州市", "level": "地方性法规", "is_current": True, "agencies": ["公安"]},
            {"title": "甲法", "region": "全国", "level": "法律", "is_current": True, "agencies": ["公安"]}]
    picked, _ = select_regulations(recs, "公安", "徐州市")
    assert [r["title"] for r in picked] == ["甲法", "乙规章", "丙条例"]


def test_the_province_comes_from_the_approval_record_or_the_preamble():
    assert select_regulations([XUZHOU], "应急管理", "徐州市")[1] == ["全国", "江苏省", "徐州市"]
    nanning = {"region": "南宁市", "preamble": "（2019年5月29日南宁市第十四届人民代表大会常务委员会第二十次会议通过　"
                                              "2019年7月25日广西壮族自治区第十三届人民代表大会常务委员会第十次会议批准）"}
    assert select_regulations([nanning], "公安", "南宁市")[1] == ["全国", "广西壮族自治区", "南宁市"]
    assert select_regulations([XUZHOU], "应急管理", "苏州市")[1] == ["全国", "苏州市"]  # no text names its province
    assert select_regulations([], "应急管理", "江苏省")[1] == ["全国", "江苏省"]


def test_agency_names_as_people_write_them():
    assert agency_name("市场监督管理局") == "市场监督管理"
    assert agency_name(" 应急管理 ") == "应急管理"
    assert agency_name("不存在的部门") == "不存在的部门"
    with pytest.raises(InvalidFilter):
        agency_name("  ")


@pytest.mark.parametrize("typed, agency", [
    ("市场监管", "市场监督管理"), ("人社", "人力资源和社会保障"), ("应急局", "应急管理"), ("城管", "城市管理"),
    ("人力资源社会保障", "人力资源和社会保障"), ("人力资源和社会保障局", "人力资源和社会保障"),
    ("徐州市市场监督管理局", "市场监督管理"), ("工商局", "市场监督管理"), ("安监局", "应急管理"),  # older names
    ("社会保障", "人力资源和社会保障"),  # a part of one agency's names
])
def test_short_forms_and_older_names_people_type(typed, agency):
    assert agency_name(typed) == agency


def test_an_ambiguous_name_lists_the_agencies_it_may_mean():
    with pytest.raises(InvalidFilter) as err:
        agency_name("监督管理")
    assert err.value.code == "ambiguous_agency"
    assert "请选择其一" in err.value.message
    assert {"市场监督管理", "药品监督管理", "应急管理"} <= set(err.value.detail.split("、"))

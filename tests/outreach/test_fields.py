"""The fields a published 普法责任清单 carries: defaults per agency from outreach/data/list_fields.json, an admin's
edits kept in the data directory, checked field by field."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from corpus.errors import InvalidFilter
from outreach.fields import FieldStore, default_fields, field_rows, list_fields
from tests.processes import run_beside

DOC = {"agency": "应急管理", "region": "徐州市", "regions": ["全国", "江苏省", "徐州市"], "regulations": [
    {"title": "徐州市安全生产条例", "cards": [{"articles": ["第十八条", "第四十六条"]}, {"articles": ["第十四条", "第四十五条"]}]},
    {"title": "空条例", "cards": []}]}


def test_defaults_per_agency_with_their_key_dates():
    safety = default_fields("应急管理", "徐州市")
    assert safety["responsible_unit"] == "徐州市应急管理局"
    assert {"date": "6月", "name": "安全生产月"} in safety["key_dates"]
    assert {"date": "12月4日", "name": "国家宪法日"} in safety["key_dates"]
    market = default_fields("市场监督管理", None)
    assert market["responsible_unit"] == "市场监督管理局"  # no region: no region in the unit's name
    assert any("3·15" in d["name"] for d in market["key_dates"])
    # An agency without its own entry gets the defaults, named after it.
    other = default_fields("水利", "徐州市")
    assert other["responsible_unit"] == "徐州市水利部门" and other["methods"] and other["completion_standard"]


def test_the_list_carries_every_field_and_its_content_from_the_cards():
    fields = list_fields(DOC)
    assert list(fields) == ["responsible_unit", "content", "audience", "methods", "key_dates", "completion_standard"]
    assert fields["content"] == ["《徐州市安全生产条例》第十四条、第十八条、第四十五条、第四十六条", "《空条例》"]
    labels = [label for label, _ in field_rows(fields)]
    assert labels == ["责任单位", "普法内容", "普法对象", "普法方式", "重要时间节点", "完成标准"]
    assert "6月：安全生产月" in dict(field_rows(fields))["重要时间节点"]


def test_an_admins_edits_are_kept_in_the_data_directory(tmp_path):
    store = FieldStore(tmp_path)
    assert store.get("应急管理", "徐州市") == {}
    store.put("应急管理", "徐州市", {"audience": "辖区危险化学品企业", "key_dates": [{"date": "6月16日", "name": "安全宣传咨询日"}]})
    store.put("应急管理", "徐州市", {"completion_standard": "全年培训 2000 人次"})
    again = FieldStore(tmp_path)  # a restart reads what was written
    assert again.get("应急管理", "徐州市") == {"audience": "辖区危险化学品企业", "completion_standard": "全年培训 2000 人次",
                                            "key_dates": [{"date": "6月16日", "name": "安全宣传咨询日"}]}
    assert again.get("应急管理", None) == {}  # per region
    fields = list_fields(DOC, again.get("应急管理", "徐州市"))
    assert fields["audience"] == "辖区危险化学品企业" and fields["responsible_unit"] == "徐州市应急管理局"
    assert json.loads((tmp_path / "outreach_fields.json").read_text(encoding="utf-8"))
    again.reset("应急管理", "徐州市")
    assert FieldStore(tmp_path).get("应急管理", "徐州市") == {}


@pytest.mark.parametrize("fields, field, words", [
    ({"content": "x"}, "fields.content", "不能修改字段"),
    ({"audience": ""}, "fields.audience", "普法对象应为非空文字"),
    ({"methods": "宣传"}, "fields.methods", "普法方式应为非空文字的列表"),
    ({"key_dates": [{"date": "6月"}]}, "fields.key_dates", "date 和 name"),
    ({"completion_standard": "好" * 501}, "fields.completion_standard", "不超过 500 字"),
    ("audience", "fields", "fields 应为对象"),
])
def test_bad_edits_are_refused_naming_the_field(tmp_path, fields, field, words):
    store = FieldStore(tmp_path)
    with pytest.raises(InvalidFilter) as err:
        store.put("应急管理", "徐州市", fields)
    assert err.value.detail == field and words in err.value.message
    assert not (tmp_path / "outreach_fields.json").exists()  # nothing written


def test_an_unreadable_store_is_a_clear_error(tmp_path):
    from corpus.errors import LawSearchError

    (tmp_path / "outreach_fields.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(LawSearchError) as err:
        FieldStore(tmp_path).get("应急管理", None)
    assert "普法清单字段文件无法读取" in err.value.message and err.value.path.endswith("outreach_fields.json")


# -- several server workers (`lawsearch serve --workers N`) share one data directory ----------------------------------

EDITOR = """
import sys
from pathlib import Path
from outreach.fields import FieldStore
store, worker = FieldStore(Path(sys.argv[1])), sys.argv[2]
for j in range(int(sys.argv[3])):
    store.put(f"机构{worker}", f"区{j}", {"audience": f"对象 {worker}-{j}"})
"""

RESETTER = """
import sys
from pathlib import Path
from outreach.fields import FieldStore
store, ready, done = FieldStore(Path(sys.argv[1])), Path(sys.argv[2]), Path(sys.argv[3])
rounds = 0
ready.touch()
while not done.exists():
    store.put("重置机构", None, {"audience": f"第 {rounds} 次"})
    store.reset("重置机构", None)
    rounds += 1
print(rounds)
"""


def test_edits_and_resets_from_several_processes_lose_nothing(tmp_path):
    """4 workers store 25 agencies' edits each while a fifth edits and resets another: all 100 stay, the reset holds."""
    workers, each = 4, 25
    data = tmp_path / "data"
    data.mkdir()
    assert int(run_beside(RESETTER, data, [(EDITOR, (data, w, each)) for w in range(workers)], tmp_path)) > 0

    stored = json.loads((data / "outreach_fields.json").read_text(encoding="utf-8"))
    expected = {f"机构{w}|区{j}": {"audience": f"对象 {w}-{j}"} for w in range(workers) for j in range(each)}
    lost = sorted(set(expected) - set(stored))
    assert not lost, f"{len(lost)} edits lost"
    assert stored == expected  # and the last reset of 重置机构 holds


def test_edits_from_several_threads_each_with_its_own_store_lose_nothing(tmp_path):
    """The API makes a FieldStore per request, so concurrent requests of one worker hold different stores."""
    def edit(worker: int) -> None:
        for j in range(25):
            FieldStore(tmp_path).put(f"机构{worker}", f"区{j}", {"audience": f"对象 {worker}-{j}"})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(edit, range(4)))
    stored = json.loads((tmp_path / "outreach_fields.json").read_text(encoding="utf-8"))
    assert stored == {f"机构{w}|区{j}": {"audience": f"对象 {w}-{j}"} for w in range(4) for j in range(25)}

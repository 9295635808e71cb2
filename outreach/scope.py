"""Which regulations an agency's 普法责任清单 covers: the current versions it enforces, national ones first, and with
a region also the region's province and the region itself."""
from __future__ import annotations

import re

from corpus.errors import InvalidFilter
from corpus.regions import NATIONAL, province_of
from ingest.enforcement.agencies import canonical_agency, written_forms

NOT_ENFORCED = ("司法解释",)  # courts' interpretations: no agency enforces them
_LEVEL_ORDER = ("法律", "行政法规", "部门规章", "地方性法规", "地方政府规章")


MAX_SUGGESTIONS = 8


def agency_name(agency: str) -> str:
    """The canonical agency for what a user typed: a name, alias, older name or short form of the agency data
    file (市场监管, 人社, 应急局, 城管 → 市场监督管理 …), else a department named in it (徐州市市场监督管理局);
    a part of several agencies' names raises InvalidFilter with them as suggestions; unknown names pass unchanged
    (the list then finds nothing)."""
    name = re.sub(r"\s+", "", agency or "")
    if not name:
        raise InvalidFilter("请指定执法部门，例如 应急管理", detail="agency")
    forms = written_forms()
    exact = forms.get(name) or forms.get(re.sub(r"(?:部门|机关|局|厅|委员会|委)$", "", name)) or ()
    if len(exact) == 1:
        return exact[0]
    found = exact or ((canonical_agency(name),) if canonical_agency(name) else ())
    if not found:  # a part of names (监督管理, 社会保障): every agency one of whose names contains it
        found = tuple(dict.fromkeys(a for form, names in forms.items() if len(name) >= 2 and name in form
                                    for a in names))
    if len(found) == 1:
        return found[0]
    if found:
        shown = "、".join(found[:MAX_SUGGESTIONS])
        raise InvalidFilter(f"“{name}”可以指多个执法部门，请选择其一：{shown}", detail=shown, code="ambiguous_agency")
    return name


def select_regulations(records: list[dict], agency: str, region: str | None) -> tuple[list[dict], list[str]]:
    """Current version records the agency enforces in scope, national first; and the regions covered."""
    regions = list(NATIONAL)
    if region:
        province = province_of(region, records)
        regions = list(dict.fromkeys(regions + [r for r in (province, region) if r]))  # a province is its own
    order = {r: i for i, r in enumerate(regions)}
    picked = [r for r in records if r.get("is_current") and agency in (r.get("agencies") or [])
              and (r.get("region") or "") in order and r.get("level") not in NOT_ENFORCED]
    # One record per regulation (an edition split into volumes keeps all of them).
    picked.sort(key=lambda r: (order[r.get("region") or ""], _level_rank(r.get("level")), r.get("title", ""),
                               r.get("version_id", "")))
    covered = ["全国"] + [r for r in regions if r not in NATIONAL]
    return picked, covered


def _level_rank(level: str | None) -> int:
    return _LEVEL_ORDER.index(level) if level in _LEVEL_ORDER else len(_LEVEL_ORDER)

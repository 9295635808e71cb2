"""Which regulations an agency's 普法责任清单 covers: the current versions it enforces, national ones first, and with
a region also the region's province and the region itself."""
from __future__ import annotations

from corpus.errors import InvalidFilter
from corpus.regions import NATIONAL, province_of
from ingest.enforcement.agencies import canonical_agency, find_agencies

NOT_ENFORCED = ("司法解释",)  # courts' interpretations: no agency enforces them
_LEVEL_ORDER = ("法律", "行政法规", "部门规章", "地方性法规", "地方政府规章")


def agency_name(agency: str) -> str:
    """The canonical agency for what a user typed (市场监督管理局 → 市场监督管理); unknown names pass unchanged."""
    name = (agency or "").strip()
    if not name:
        raise InvalidFilter("请指定执法部门，例如 应急管理", detail="agency")
    return canonical_agency(name) or next(iter(find_agencies(name)), None) or name


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

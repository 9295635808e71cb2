"""Regions: a city's province, read from the indexed texts, and the home region of a deployment.

The region of a regulation (payload ``region``) is 全国 for national texts, else the province or city that issued it
(ingest.metadata.infer_region). A city's province is not in its name; a city's local regulations are approved by the
provincial people's congress standing committee, and their history or preamble says so.
"""
from __future__ import annotations

import re

NATIONAL = ("全国", "")
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")

_PROVINCE = re.compile(r"^(?P<p>[\u4e00-\u9fff]{2,7}?(?:省|自治区))")


def province_of(region: str, records: list[dict]) -> str | None:
    """The province of a city, read from its regulations (批准 by 江苏省…人大常委会, or the preamble); a province
    (or a municipality directly under the central government) is its own."""
    if not region or region in NATIONAL:
        return None
    if region.endswith(("省", "自治区")) or region in MUNICIPALITIES:
        return region
    for rec in records:
        if rec.get("region") != region:
            continue
        for event in rec.get("history") or []:
            if isinstance(event, dict) and event.get("event") == "批准":
                m = _PROVINCE.match(event.get("by") or "")
                if m:
                    return m.group("p")
        preamble = re.sub(r"[0-9０-９]{4}年[0-9０-９]{1,2}月[0-9０-９]{1,2}日", "　", rec.get("preamble") or "")
        m = re.search(r"(?:^|[^\u4e00-\u9fff])(?P<p>[\u4e00-\u9fff]{2,7}?(?:省|自治区))第[一二三四五六七八九十]+届人民代表大会常务委员会[^。]{0,30}?批准",
                      preamble)
        if m:
            return m.group("p")
    return None


def _local_chain(region: str | None, records: list[dict]) -> list[str]:
    """The region and its province (once each; nothing for national law or no region)."""
    if not region or region in NATIONAL:
        return []
    return [r for r in dict.fromkeys((region, province_of(region, records))) if r]


def home_regions(region: str | None, records: list[dict]) -> set[str]:
    """The regions whose local texts a deployment for `region` treats as its own: the region and its province."""
    return set(_local_chain(region, records))


def applicable_regions(region: str | None, records: list[dict]) -> list[str]:
    """The regions whose texts bind someone in `region`: the region itself, its province, and national law
    (a resident of 徐州市 is bound by 徐州市, 江苏省 and national texts at once)."""
    return _local_chain(region, records) + list(NATIONAL)


__all__ = ["NATIONAL", "MUNICIPALITIES", "applicable_regions", "province_of", "home_regions"]

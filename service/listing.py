"""How regulations are listed (the page's 法规 tab, `GET /api/regulations`, `lawsearch regulations`).

Order: the home region's own texts first, then its province's, then national law, then every other region by name;
within a region by level (corpus.model.LEVELS: 法律 before 行政法规 …), then title, then version date.

Dates: a text amended later still ends with the first version's "本法自2002年11月1日起施行", so a version's
`effective_date` read from its articles may be the first version's. `own_effective_date` is the date shown as the
version's own: only one on or after the version's own date."""
from __future__ import annotations

from corpus.model import LEVELS, own_effective_date
from corpus.regions import applicable_regions


def regulation_order(rows: list[dict], home_region: str | None) -> list[dict]:
    """`rows` (version records or listing items with region, level, title, version_date) in listing order."""
    chain = applicable_regions(home_region, rows) if home_region else ["全国", ""]
    rank = {region: i for i, region in enumerate(chain)}
    levels = {level: i for i, level in enumerate(LEVELS)}

    def key(r: dict) -> tuple:
        region = r.get("region") or ""
        return (rank.get(region, len(rank)), "" if region in rank else region, levels.get(r.get("level") or "", len(levels)),
                r.get("title") or "", r.get("version_date") or "")

    return sorted(rows, key=key)


__all__ = ["own_effective_date", "regulation_order"]

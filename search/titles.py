"""The titles and aliases of the indexed regulations, held in memory: which regulation a written title names."""
from __future__ import annotations

import threading

from corpus.index import ArticleIndex
from corpus.regions import applicable_regions
from corpus.titles import normalize_title, records_named


class TitleBook:
    """Titles and aliases of the indexed regulations, cached in memory; refreshed after writes."""

    def __init__(self, index: ArticleIndex):
        self.index = index
        self._lock = threading.Lock()
        self._records: list[dict] | None = None
        self._applicable: dict[str, list[str]] = {}

    def refresh(self) -> None:
        with self._lock:
            self._records = None
            self._applicable = {}

    def applicable_regions(self, place: str) -> list[str]:
        """The regions whose texts bind someone in `place` (corpus.regions.applicable_regions), read from the
        indexed texts once per place until the next refresh — every default search asks."""
        found = self._applicable.get(place)
        if found is None:
            found = applicable_regions(place, self.records())
            with self._lock:
                self._applicable[place] = found
        return found

    def records(self) -> list[dict]:
        with self._lock:
            if self._records is None:
                self._records = self.index.version_records()
            return self._records

    def resolve(self, written: str, *, region: str | None = None) -> list[dict]:
        """Current-version records of the regulations a written title names (exact title, then 简称/alias)."""
        key = normalize_title(written)
        recs = [r for r in self.records() if r.get("is_current")]
        if region:
            recs = [r for r in recs if r.get("region") == region] or recs
        return records_named(recs, key)


    def nearest(self, written: str, limit: int = 5) -> list[str]:
        """Titles of current regulations most like a written title that names none (shared character pairs)."""
        want = _pairs(normalize_title(written))
        if not want:
            return []
        scored = []
        for r in self.records():
            if not r.get("is_current"):
                continue
            have = _pairs(r.get("title_key") or "")
            overlap = len(want & have) / len(want | have) if have else 0.0
            if overlap > 0:
                scored.append((-overlap, r.get("title") or "", ))
        return list(dict.fromkeys(t for _, t in sorted(scored)))[:limit]


def _pairs(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


__all__ = ["TitleBook"]

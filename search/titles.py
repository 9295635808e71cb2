"""The titles and aliases of the indexed regulations, held in memory: which regulation a written title names."""
from __future__ import annotations

import threading

from corpus.index import ArticleIndex
from corpus.titles import normalize_title


class TitleBook:
    """Titles and aliases of the indexed regulations, cached in memory; refreshed after writes."""

    def __init__(self, index: ArticleIndex):
        self.index = index
        self._lock = threading.Lock()
        self._records: list[dict] | None = None

    def refresh(self) -> None:
        with self._lock:
            self._records = None

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
        for pick in (lambda r: r.get("title_key") == key,
                     lambda r: key in (r.get("aliases") or []),
                     lambda r: len(key) >= 4 and r.get("title_key", "").endswith(key)):
            found = [r for r in recs if pick(r)]
            if found:
                return found
        return []


__all__ = ["TitleBook"]

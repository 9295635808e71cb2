"""The article store: one interface (`ArticleStore`), two backends.

* `EdgeStore`  - Qdrant Edge in this process, on ``<data_dir>/qdrant`` (the default; ~1 ms queries, one process).
* `ServerStore` - a Qdrant server/cluster through qdrant-client (chosen when a URL is configured;
  ``url=":memory:"`` gives qdrant-client's in-process local mode, for tests).

`open_store` picks one from configuration only.
"""
from __future__ import annotations

from pathlib import Path

from .base import (
    DEFAULT_RRF_K,
    ArticleStore,
    CollectionLayout,
    Condition,
    FilterSpec,
    Hit,
    PointRecord,
    SparseVec,
)

__all__ = [
    "DEFAULT_RRF_K",
    "ArticleStore",
    "CollectionLayout",
    "Condition",
    "FilterSpec",
    "Hit",
    "PointRecord",
    "SparseVec",
    "open_store",
]


def open_store(
    *,
    data_dir: Path,
    url: str | None = None,
    api_key: str | None = None,
    collection: str = "articles",
    live_idf: bool = True,
) -> ArticleStore:
    """The server backend when `url` is given (":memory:" = qdrant-client local mode), else Qdrant Edge on
    ``<data_dir>/qdrant``. Raises corpus.errors.BackendUnavailable when the index cannot be opened.

    `live_idf`: sparse IDF over the points alive now (exact right after deletes; costs a few ms on 150k points),
    instead of the engine's index statistics, which count deleted points until their segment is vacuumed."""
    if url:
        from .server import ServerStore

        return ServerStore(url=url, api_key=api_key, collection=collection, live_idf=live_idf)
    from .edge import EdgeStore

    return EdgeStore(Path(data_dir) / "qdrant", collection, live_idf=live_idf)

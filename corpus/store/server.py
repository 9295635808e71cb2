"""The server backend: a Qdrant server or cluster through qdrant-client (>= 1.20).

Sparse searches ask for IDF over the points alive now (``IdfCorpusParams(corpus=Filter())``): the server's default
("global") statistics come from the sparse index and keep counting deleted points until they are vacuumed, while
qdrant-client's local mode always counts live points; with the corpus filter both, and Qdrant Edge, agree.

``url=":memory:"`` uses qdrant-client's local mode (pure Python, speaks the same API; slow on big collections:
~550 ms per sparse query on 20k points, so for tests only). Local mode ignores payload indexes (filters still work).

Collections: `collection` holds the articles (named sparse vectors with ``Modifier.IDF``, named dense vectors with
cosine distance, payload indexes from the layout); ``f"{collection}_meta"`` is a vector-less collection whose
points carry ``{"key", "json"}``. Every write waits for the server to apply it (``wait=True``); the server's own
WAL makes it durable, so `flush()` has nothing to do.
"""
from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator, Sequence
from functools import wraps
from typing import Any

from qdrant_client import QdrantClient, models

from corpus.errors import BackendUnavailable, ConfigError, LawSearchError, NotFound

from .base import (
    DEFAULT_RRF_K,
    LAYOUT_META_KEY,
    ArticleStore,
    CollectionLayout,
    FilterSpec,
    Hit,
    PointRecord,
    SparseVec,
    batched,
    meta_point_id,
    payload_selector,
)
from .filters import to_server

_SCHEMA = {
    "keyword": models.PayloadSchemaType.KEYWORD,
    "integer": models.PayloadSchemaType.INTEGER,
    "float": models.PayloadSchemaType.FLOAT,
    "bool": models.PayloadSchemaType.BOOL,
    "datetime": models.PayloadSchemaType.DATETIME,
}


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        from qdrant_client.http.exceptions import ResponseHandlingException

        errors.append(ResponseHandlingException)
    except ImportError:  # pragma: no cover
        pass
    try:
        import httpx

        errors.append(httpx.TransportError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


_CONN_ERRORS = _connection_errors()
_LIVE_IDF = models.SearchParams(idf=models.IdfCorpusParams(corpus=models.Filter()))


def _translating(fn):
    """Turn transport failures into BackendUnavailable (Chinese message for the user)."""

    @wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except LawSearchError:
            raise
        except _CONN_ERRORS as e:
            raise BackendUnavailable("无法连接 Qdrant 服务器", detail=f"{self.url}: {e}") from e

    return wrapper


class ServerStore(ArticleStore):
    backend_name = "qdrant-server"

    def __init__(
        self,
        *,
        url: str,
        api_key: str | None = None,
        collection: str = "articles",
        client: QdrantClient | None = None,
        timeout: int = 60,
        live_idf: bool = True,
    ):
        self.url = url
        self._sparse_params = _LIVE_IDF if live_idf else None
        self.collection = collection
        self.meta_collection = f"{collection}_meta"
        if client is not None:
            self.client = client
        elif url == ":memory:":
            self.client = QdrantClient(location=":memory:")
        else:
            self.client = QdrantClient(url=url, api_key=api_key, timeout=timeout)
        self._lock = threading.RLock()
        self._closed = False
        self._layout: CollectionLayout | None = None
        self._exists = False  # cached once True (a missing collection is asked for again)

    # ------------------------------------------------------------------------------------------- collection
    def _collection_exists(self) -> bool:
        if not self._exists:
            self._exists = self.client.collection_exists(self.collection) and self.client.collection_exists(
                self.meta_collection
            )
        return self._exists

    @_translating
    def ensure_collection(self, layout: CollectionLayout, *, recreate: bool = False) -> None:
        if not layout.sparse and not layout.dense:
            raise ConfigError("索引至少需要一种向量", detail="CollectionLayout has no vectors")
        with self._lock:
            self._check_open()
            if recreate:
                self._wrote()
                for name in (self.collection, self.meta_collection):
                    if self.client.collection_exists(name):
                        self.client.delete_collection(name)
                self._exists = False
                self._layout = None
            current = self.layout()
            if current is not None:
                if not current.vectors_equal(layout):
                    raise ConfigError(
                        "现有索引的向量结构与配置不一致，请重建索引",
                        detail=f"index has {current.sparse}/{current.dense}, asked {layout.sparse}/{layout.dense}",
                        path=f"{self.url}/{self.collection}",
                    )
                merged = current.merged_indexes(layout)
                self._create_indexes(merged, have=current)
                if merged != current:
                    self._layout = merged
                    self._write_meta(LAYOUT_META_KEY, merged.to_dict())
                return
            if not self.client.collection_exists(self.collection):
                self.client.create_collection(
                    self.collection,
                    vectors_config={
                        name: models.VectorParams(size=int(size), distance=models.Distance.COSINE)
                        for name, size in layout.dense.items()
                    },
                    sparse_vectors_config={
                        name: models.SparseVectorParams(modifier=models.Modifier.IDF) for name in layout.sparse
                    },
                )
            if not self.client.collection_exists(self.meta_collection):
                self.client.create_collection(self.meta_collection, vectors_config={})
            self._exists = True
            self._create_indexes(layout, have=None)
            self._layout = CollectionLayout.from_dict(layout.to_dict())
            self._write_meta(LAYOUT_META_KEY, self._layout.to_dict())

    def _create_indexes(self, layout: CollectionLayout, have: CollectionLayout | None) -> None:
        existing = set(have.payload_indexes()) if have else set()
        for field, kind in layout.payload_indexes():
            if (field, kind) not in existing:
                with warnings.catch_warnings():  # local mode warns that it ignores payload indexes
                    warnings.simplefilter("ignore", UserWarning)
                    self.client.create_payload_index(self.collection, field, field_schema=_SCHEMA[kind], wait=True)

    @_translating
    def layout(self) -> CollectionLayout | None:
        self._check_open()
        if self._layout is None and self._collection_exists():
            stored = self._read_meta(LAYOUT_META_KEY)
            self._layout = CollectionLayout.from_dict(stored) if stored else None
        return CollectionLayout.from_dict(self._layout.to_dict()) if self._layout else None

    # ------------------------------------------------------------------------------------------- writes
    @_translating
    def upsert(self, points: Sequence[PointRecord], *, batch_size: int = 512) -> None:
        self._need()
        self._wrote()
        for chunk in batched(points, batch_size):
            self.client.upsert(self.collection, points=[self._point(p) for p in chunk], wait=True)

    @staticmethod
    def _point(p: PointRecord) -> models.PointStruct:
        vector: dict[str, Any] = {
            name: models.SparseVector(indices=[int(i) for i in idx], values=[float(v) for v in vals])
            for name, (idx, vals) in p.sparse.items()
        }
        for name, vec in p.dense.items():
            vector[name] = [float(x) for x in vec]
        return models.PointStruct(id=str(p.id), vector=vector, payload=p.payload)

    @_translating
    def delete(self, flt: FilterSpec) -> None:
        if flt is None or flt.is_empty():
            raise ValueError("delete() with an empty filter would delete everything; use ensure_collection(recreate=True)")
        self._need()
        self._wrote()
        self.client.delete(self.collection, points_selector=models.FilterSelector(filter=to_server(flt)), wait=True)

    @_translating
    def delete_ids(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        self._need()
        self._wrote()
        for chunk in batched(list(ids), 1024):
            self.client.delete(
                self.collection, points_selector=models.PointIdsList(points=[str(i) for i in chunk]), wait=True
            )

    @_translating
    def set_payload(self, payload: dict, flt: FilterSpec) -> None:
        self._need()
        self._wrote()
        self.client.set_payload(self.collection, payload=payload, points=to_server(flt) or models.Filter(), wait=True)

    # ------------------------------------------------------------------------------------------- reads
    @_translating
    def retrieve(self, ids: Sequence[str], *, fields: list[str] | None = None) -> list[Hit]:
        if not ids:
            return []
        self._need()
        wanted = [str(i) for i in ids]
        records = self.client.retrieve(
            self.collection, ids=wanted, with_payload=payload_selector(fields), with_vectors=False
        )
        by_id = {str(r.id): r for r in records}
        return [Hit(i, 0.0, by_id[i].payload or {}) for i in wanted if i in by_id]

    def scroll(
        self, flt: FilterSpec | None = None, *, batch: int = 1024, fields: list[str] | None = None
    ) -> Iterator[Hit]:
        self._need()
        server_filter = to_server(flt)
        offset = None
        while True:
            try:
                records, offset = self.client.scroll(
                    self.collection,
                    scroll_filter=server_filter,
                    limit=batch,
                    offset=offset,
                    with_payload=payload_selector(fields),
                    with_vectors=False,
                )
            except _CONN_ERRORS as e:
                raise BackendUnavailable("无法连接 Qdrant 服务器", detail=f"{self.url}: {e}") from e
            for r in records:
                yield Hit(str(r.id), 0.0, r.payload or {})
            if offset is None:
                return

    @_translating
    def count(self, flt: FilterSpec | None = None) -> int:
        self._check_open()
        if not self._collection_exists():
            return 0
        return int(self.client.count(self.collection, count_filter=to_server(flt), exact=True).count)

    def _request(
        self,
        *,
        sparse: dict[str, SparseVec] | None = None,
        dense: dict[str, list[float]] | None = None,
        flt: FilterSpec | None = None,
        limit: int = 10,
        fusion: str = "rrf",
        prefetch_limit: int = 100,
        fields: list[str] | None = None,
        rrf_k: int = DEFAULT_RRF_K,
    ) -> models.QueryRequest | None:
        vectors = self._query_vectors(sparse, dense, fusion)
        if not vectors:
            return None
        server_filter = to_server(flt)
        with_payload = payload_selector(fields)

        def vec(kind: str, value: Any):
            return models.SparseVector(indices=value[0], values=value[1]) if kind == "sparse" else value

        def params(kind: str):
            return self._sparse_params if kind == "sparse" else None

        if len(vectors) == 1:
            kind, name, value = vectors[0]
            return models.QueryRequest(
                query=vec(kind, value), using=name, filter=server_filter, limit=limit, with_payload=with_payload,
                with_vector=False, params=params(kind),
            )
        prefetch = [
            models.Prefetch(
                query=vec(kind, value), using=name, limit=max(prefetch_limit, limit), filter=server_filter,
                params=params(kind),
            )
            for kind, name, value in vectors
        ]
        fused = (
            models.RrfQuery(rrf=models.Rrf(k=int(rrf_k)))
            if fusion == "rrf"
            else models.FusionQuery(fusion=models.Fusion.DBSF)
        )
        return models.QueryRequest(
            prefetch=prefetch, query=fused, filter=server_filter, limit=limit, with_payload=with_payload,
            with_vector=False,
        )

    @staticmethod
    def _hits(points) -> list[Hit]:
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in points]

    @_translating
    def query(
        self,
        *,
        sparse: dict[str, SparseVec] | None = None,
        dense: dict[str, list[float]] | None = None,
        flt: FilterSpec | None = None,
        limit: int = 10,
        fusion: str = "rrf",
        prefetch_limit: int = 100,
        fields: list[str] | None = None,
        rrf_k: int = DEFAULT_RRF_K,
    ) -> list[Hit]:
        self._need()
        r = self._request(
            sparse=sparse, dense=dense, flt=flt, limit=limit, fusion=fusion, prefetch_limit=prefetch_limit,
            fields=fields, rrf_k=rrf_k,
        )
        if r is None:
            return []
        response = self.client.query_points(
            self.collection,
            query=r.query,
            using=r.using,
            prefetch=r.prefetch,
            query_filter=r.filter,
            search_params=r.params,
            limit=r.limit,
            with_payload=r.with_payload,
            with_vectors=False,
        )
        return self._hits(response.points)

    @_translating
    def query_batch(self, requests: list[dict]) -> list[list[Hit]]:
        if not requests:
            return []
        self._need()
        built = [self._request(**r) for r in requests]
        real = [b for b in built if b is not None]
        answers = iter(self.client.query_batch_points(self.collection, requests=real) if real else [])
        return [self._hits(next(answers).points) if b is not None else [] for b in built]

    # ------------------------------------------------------------------------------------------- meta
    @_translating
    def get_meta(self, key: str) -> Any | None:
        self._check_open()
        if not self._collection_exists():
            return None
        return self._read_meta(key)

    def _read_meta(self, key: str) -> Any | None:
        records = self.client.retrieve(self.meta_collection, ids=[meta_point_id(key)], with_payload=True)
        if not records or not records[0].payload:
            return None
        return json.loads(records[0].payload["json"])

    @_translating
    def set_meta(self, key: str, value: Any) -> None:
        if key == LAYOUT_META_KEY:
            raise ValueError(f"meta key {key!r} is reserved")
        self._need()
        self._write_meta(key, value)

    def _write_meta(self, key: str, value: Any) -> None:
        payload = {"key": key, "json": json.dumps(value, ensure_ascii=False)}
        self.client.upsert(
            self.meta_collection, points=[models.PointStruct(id=meta_point_id(key), vector={}, payload=payload)],
            wait=True,
        )

    # ------------------------------------------------------------------------------------------- lifecycle
    def flush(self) -> None:
        """Writes are sent with wait=True and the server persists them through its WAL: nothing to do."""
        self._check_open()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.client.close()

    def _check_open(self) -> None:
        if self._closed:
            raise BackendUnavailable("索引已关闭", detail="ServerStore used after close()")

    def _need(self) -> None:
        self._check_open()
        if not self._collection_exists():
            raise NotFound("索引尚未建立，请先导入法规", detail=f"{self.url}/{self.collection}", code="index_missing")

    def __repr__(self) -> str:
        return f"ServerStore({self.url!r}, {self.collection!r})"

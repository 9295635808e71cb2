"""The embedded backend: Qdrant Edge (`qdrant_edge`, qdrant-edge-py 0.9) running in this process on a directory.

On disk (``root`` is usually ``<data_dir>/qdrant``)::

    root/<collection>/        the article shard (edge_config.json, wal/, segments/)
    root/<collection>_meta/   a tiny shard holding meta key/values (payload {"key", "json"}, no vectors used)

What was measured on qdrant-edge-py 0.9.0 (see tests/corpus/test_store.py and tests/corpus/bench_store.py):

* **Durability.** Every shard has a write-ahead log (``wal/``, on by default, `EdgeConfig(wal_enabled=...)` is fixed
  at creation). An update is in the WAL when `EdgeShard.update` returns: points upserted without any flush survive
  a ``kill -9`` of the process and are replayed on the next load. `flush()` writes segments and lets the WAL be
  truncated; it does not fsync-guarantee more than the OS page cache on its own, so power loss may lose the tail.
* **Locking.** Opening a shard takes an exclusive lock on its WAL. A second `EdgeShard.load` of the same directory,
  from another process *or from this one*, fails ("Can't init WAL: Kind(WouldBlock)"); we turn that into
  `corpus.errors.BackendUnavailable`. So one process at a time owns an Edge index: the API server and a CLI ingest
  cannot both open it; use a Qdrant server (``LAWSEARCH_QDRANT_URL``) for that.
* **Threads.** `EdgeShard` may be shared between threads: reads running while another thread upserts and deletes
  neither fail nor block for long (engine-internal locks; each point update is atomic, a batch is not). This class
  adds one lock that serialises writes and lifecycle changes (create/recreate/close); reads take no lock.
* **Payload indexes** are not part of `EdgeConfig`: they are created with
  ``UpdateOperation.create_field_index(field, PayloadSchemaType.Keyword|Integer|Float|Bool|Datetime)`` and are
  listed by ``shard.info().payload_schema``. Filters on unindexed fields also work (full scan of the candidates).
* **IDF** for a sparse vector is set in the shard config:
  ``EdgeConfig(sparse_vectors={name: EdgeSparseVectorParams(modifier=Modifier.Idf)})``. The engine's default IDF
  statistics (``IdfParams(corpus=None)``, "global") are read from the sparse index, which keeps counting deleted
  points until the optimizer vacuums their segment: after deleting half of 20k points the scores stayed those of
  the full set. We therefore ask for live statistics, ``SearchParams(idf=IdfParams(corpus=Filter()))`` (all
  points alive now). Measured cost per sparse query (tests/corpus/bench_store.py-like data, 120 terms/doc, 12/query):
  20k points 0.17 -> 0.37 ms (0.23 -> 0.82 ms after optimize); 150k points 2.8 -> 2.5 ms (1.0 -> 4.3 ms after
  optimize). `live_idf=False` goes back to the engine default. The server backend does the same.
* **Optimizing.** Edge runs no background optimizer: new points land in an appendable segment (plain, brute-force
  dense search; the sparse inverted index is maintained). `optimize()` runs the optimizers in the calling thread
  (builds HNSW for dense vectors once a segment passes the indexing threshold); call it after a bulk load.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from corpus.errors import BackendUnavailable, ConfigError, NotFound

from .base import (
    Change,
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
from .filters import to_edge

_SCHEMA = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "bool": qe.PayloadSchemaType.Bool,
    "datetime": qe.PayloadSchemaType.Datetime,
}
_META_VECTOR = "_"
#: IDF over the points alive now (see the module docstring), for every sparse search.
_LIVE_IDF = qe.SearchParams(idf=qe.IdfParams(corpus=qe.Filter()))


_IN_USE = "索引目录正被另一个进程使用，请先关闭该进程或改用 Qdrant 服务器"


def _has_shard(path: Path) -> bool:
    return (path / "edge_config.json").exists() or (path / "segments").exists()


def _create(path: Path, config: qe.EdgeConfig) -> None:
    """Create a shard at `path` all at once: built beside it, closed, then renamed into place. A process killed
    while Edge writes a new shard's files (segments first, edge_config.json last) would otherwise leave a folder
    that looks like a shard but cannot be loaded, and every later open of the index would fail."""
    staging = path.with_name(path.name + ".creating")
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        try:  # two processes creating the same shard: the second must not delete the first one's staging folder
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackendUnavailable(_IN_USE, detail="another process is creating this shard",
                                     path=str(path)) from None
        if _has_shard(path):  # created by that other process meanwhile
            return
        for leftover in (staging, path.with_name(path.name + ".dropping")):
            if leftover.exists():
                shutil.rmtree(leftover)
        qe.EdgeShard.create(str(staging), config).close()
        os.replace(staging, path)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(path: Path) -> None:
    """Remove a shard folder all at once: renamed aside first, so a kill during the removal cannot leave a folder
    that looks like a shard but has lost its edge_config.json."""
    trash = path.with_name(path.name + ".dropping")
    if trash.exists():
        shutil.rmtree(trash)
    if path.exists():
        os.replace(path, trash)
        shutil.rmtree(trash)


def _open(path: Path, config: qe.EdgeConfig | None = None) -> qe.EdgeShard:
    try:
        if config is not None:
            _create(path, config)
        return qe.EdgeShard.load(str(path))
    except BackendUnavailable:
        raise
    except Exception as e:  # the bindings raise bare Exception
        if "WouldBlock" in str(e):
            raise BackendUnavailable(_IN_USE, detail=str(e), path=str(path)) from e
        raise BackendUnavailable("无法打开本地索引", detail=str(e), path=str(path)) from e


#: Point ids as strings, by their 128-bit value: the bindings hand back `uuid.UUID` objects, whose `str()` costs
#: ≈2.7 µs — a thousand candidates a query made it a tenth of the query's Python time. Bounded; cleared when full.
_ID_STRINGS: dict[int, str] = {}
_ID_STRINGS_MAX = 2_000_000


def _canonical(pid: Any) -> str:
    """A point id as the engine gives it back (a UUID's canonical text)."""
    try:
        return str(uuid.UUID(str(pid)))
    except ValueError:
        return str(pid)


def _id(raw: Any) -> str:
    if not isinstance(raw, uuid.UUID):
        return str(raw)
    key = raw.int
    text = _ID_STRINGS.get(key)
    if text is None:
        if len(_ID_STRINGS) >= _ID_STRINGS_MAX:
            _ID_STRINGS.clear()
        text = _ID_STRINGS[key] = str(raw)
    return text


class EdgeStore(ArticleStore):
    backend_name = "qdrant-edge"

    def __init__(self, root: Path, collection: str = "articles", *, live_idf: bool = True):
        self.root = Path(root)
        self._sparse_params = _LIVE_IDF if live_idf else None
        self.collection = collection
        self.path = self.root / collection
        self.meta_path = self.root / f"{collection}_meta"
        self._lock = threading.RLock()
        self._closed = False
        self._shard: qe.EdgeShard | None = None
        self._meta: qe.EdgeShard | None = None
        self._layout: CollectionLayout | None = None
        if _has_shard(self.path):
            self._shard = _open(self.path)
        if _has_shard(self.meta_path):
            self._meta = _open(self.meta_path)
            stored = self.get_meta(LAYOUT_META_KEY)
            self._layout = CollectionLayout.from_dict(stored) if stored else None

    # ------------------------------------------------------------------------------------------- collection
    def ensure_collection(self, layout: CollectionLayout, *, recreate: bool = False) -> None:
        if not layout.sparse and not layout.dense:
            raise ConfigError("索引至少需要一种向量", detail="CollectionLayout has no vectors")
        with self._lock:
            self._check_open()
            if recreate or (self._shard is not None and self._layout is None):
                # A shard without a recorded layout is one whose creation was cut off (the layout is recorded
                # before any point is written): it holds nothing, and its vectors may not be the ones asked for.
                self._drop()
            if self._shard is not None and self._layout is not None:
                if not self._layout.vectors_equal(layout):
                    raise ConfigError(
                        "现有索引的向量结构与配置不一致，请重建索引",
                        detail=f"index has {self._layout.sparse}/{self._layout.dense}, "
                        f"asked {layout.sparse}/{layout.dense}",
                        path=str(self.path),
                    )
                merged = self._layout.merged_indexes(layout)
                self._create_indexes(merged, have=self._layout)
                if merged != self._layout:
                    self._layout = merged
                    self._write_meta(LAYOUT_META_KEY, merged.to_dict())
                return
            if self._shard is None:
                self.root.mkdir(parents=True, exist_ok=True)
                config = qe.EdgeConfig(
                    vectors={
                        name: qe.EdgeVectorParams(size=int(size), distance=qe.Distance.Cosine)
                        for name, size in layout.dense.items()
                    }
                    or None,
                    sparse_vectors={
                        name: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf) for name in layout.sparse
                    }
                    or None,
                    # Article payloads (text, 款, metadata) stay on disk: a 150k-article index would otherwise hold
                    # about a GB of payload in this process's memory.
                    on_disk_payload=True,
                )
                self._shard = _open(self.path, config)
            if self._meta is None:
                self._meta = _open(
                    self.meta_path, qe.EdgeConfig(sparse_vectors={_META_VECTOR: qe.EdgeSparseVectorParams()})
                )
            self._create_indexes(layout, have=None)
            self._layout = CollectionLayout.from_dict(layout.to_dict())
            self._write_meta(LAYOUT_META_KEY, self._layout.to_dict())
            self._shard.flush()
            self._meta.flush()

    def _create_indexes(self, layout: CollectionLayout, have: CollectionLayout | None) -> None:
        existing = set(have.payload_indexes()) if have else set()
        for field, kind in layout.payload_indexes():
            if (field, kind) not in existing:
                self._shard.update(qe.UpdateOperation.create_field_index(field, _SCHEMA[kind]))

    def _drop(self) -> None:
        self._wrote()
        for shard in (self._shard, self._meta):
            if shard is not None:
                shard.close()
        self._shard = self._meta = None
        self._layout = None
        for p in (self.path, self.meta_path):
            _remove(p)

    def layout(self) -> CollectionLayout | None:
        return CollectionLayout.from_dict(self._layout.to_dict()) if self._layout and self._shard else None

    # ------------------------------------------------------------------------------------------- writes
    def upsert(self, points: Sequence[PointRecord], *, batch_size: int = 512) -> None:
        shard = self._need()
        written: list[str] = []
        with self._lock:
            try:
                for chunk in batched(points, batch_size):
                    written += [_canonical(p.id) for p in chunk]
                    shard.update(qe.UpdateOperation.upsert_points([self._point(p) for p in chunk]))
            finally:
                self._wrote(Change(ids=frozenset(written)))

    @staticmethod
    def _point(p: PointRecord) -> qe.Point:
        vector: dict[str, Any] = {
            name: qe.SparseVector([int(i) for i in idx], [float(v) for v in vals])
            for name, (idx, vals) in p.sparse.items()
        }
        for name, vec in p.dense.items():
            vector[name] = [float(x) for x in vec]
        return qe.Point(str(uuid.UUID(str(p.id))), vector, p.payload)

    def delete(self, flt: FilterSpec) -> None:
        if flt is None or flt.is_empty():
            raise ValueError("delete() with an empty filter would delete everything; use ensure_collection(recreate=True)")
        shard = self._need()
        with self._lock:
            try:
                shard.update(qe.UpdateOperation.delete_points_by_filter(to_edge(flt)))
            finally:
                self._wrote()

    def delete_ids(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        shard = self._need()
        with self._lock:
            try:
                for chunk in batched(list(ids), 1024):
                    shard.update(qe.UpdateOperation.delete_points([str(i) for i in chunk]))
            finally:
                self._wrote(Change(ids=frozenset(_canonical(i) for i in ids)))

    def set_payload(self, payload: dict, flt: FilterSpec) -> None:
        shard = self._need()
        edge_filter = to_edge(flt) or qe.Filter()
        with self._lock:
            try:
                shard.update(qe.UpdateOperation.set_payload_by_filter(edge_filter, payload))
            finally:
                self._wrote(Change(keys=frozenset(payload)))

    # ------------------------------------------------------------------------------------------- reads
    def retrieve(self, ids: Sequence[str], *, fields: list[str] | None = None) -> list[Hit]:
        if not ids:
            return []
        shard = self._need()
        wanted = [str(i) for i in ids]
        records = shard.retrieve(wanted, with_payload=payload_selector(fields), with_vector=False)
        by_id = {_id(r.id): r for r in records}
        return [Hit(i, 0.0, by_id[i].payload or {}) for i in wanted if i in by_id]

    def scroll(
        self, flt: FilterSpec | None = None, *, batch: int = 1024, fields: list[str] | None = None
    ) -> Iterator[Hit]:
        shard = self._need()
        edge_filter = to_edge(flt)
        offset = None
        while True:
            records, offset = shard.scroll(
                qe.ScrollRequest(
                    offset=offset,
                    limit=batch,
                    filter=edge_filter,
                    with_payload=payload_selector(fields),
                    with_vector=False,
                )
            )
            for r in records:
                yield Hit(_id(r.id), 0.0, r.payload or {})
            if offset is None:
                return

    def count(self, flt: FilterSpec | None = None) -> int:
        if self._shard is None:
            self._check_open()
            return 0
        return int(self._shard.count(qe.CountRequest(exact=True, filter=to_edge(flt))))

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
    ) -> qe.QueryRequest | None:
        vectors = self._query_vectors(sparse, dense, fusion)
        if not vectors:
            return None
        edge_filter = to_edge(flt)
        with_payload = payload_selector(fields)

        def nearest(kind: str, name: str, vec: Any):
            q = qe.SparseVector(*vec) if kind == "sparse" else vec
            return qe.Query.Nearest(q, using=name)

        def params(kind: str):
            return self._sparse_params if kind == "sparse" else None

        if len(vectors) == 1:
            return qe.QueryRequest(
                limit=limit, query=nearest(*vectors[0]), filter=edge_filter, with_payload=with_payload,
                with_vector=False, params=params(vectors[0][0]),
            )
        prefetches = [
            qe.Prefetch(limit=max(prefetch_limit, limit), query=nearest(*v), filter=edge_filter, params=params(v[0]))
            for v in vectors
        ]
        fused = qe.Fusion.Rrf(k=int(rrf_k)) if fusion == "rrf" else qe.Fusion.Dbsf()
        return qe.QueryRequest(
            limit=limit, prefetches=prefetches, query=fused, filter=edge_filter, with_payload=with_payload,
            with_vector=False,
        )

    @staticmethod
    def _hits(points) -> list[Hit]:
        return [Hit(_id(p.id), p.score, p.payload or {}) for p in points]

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
        shard = self._need()
        request = self._request(
            sparse=sparse, dense=dense, flt=flt, limit=limit, fusion=fusion, prefetch_limit=prefetch_limit,
            fields=fields, rrf_k=rrf_k,
        )
        if request is None:
            return []
        return self._hits(shard.query(request))

    def _batch_points(self, requests: list[dict]) -> list[Any]:
        """The engine's points for each request, in one engine batch (a request with nothing to search: none)."""
        if not requests:
            return []
        shard = self._need()
        built = [self._request(**r) for r in requests]
        real = [b for b in built if b is not None]
        answers = iter(shard.query_batch(qe.QueryBatchRequest(real)) if real else [])
        return [next(answers) if b is not None else [] for b in built]

    def query_batch(self, requests: list[dict]) -> list[list[Hit]]:
        return [self._hits(points) for points in self._batch_points(requests)]

    def query_batch_scores(self, requests: list[dict]) -> list[tuple[list[str], list[float]]]:
        # One loop per list, no Hit objects: at 2 × 500 candidates a query the Hits and the function calls of
        # `_id` were ≈1 ms of it (the bindings' own UUID per point, ≈0.7 ms, stays).
        strings = _ID_STRINGS.get
        out = []
        for points in self._batch_points(requests):
            ids: list[str] = []
            scores: list[float] = []
            for p in points:
                raw = p.id
                ids.append((strings(raw.int) if raw.__class__ is uuid.UUID else None) or _id(raw))
                scores.append(p.score)
            out.append((ids, scores))
        return out

    # ------------------------------------------------------------------------------------------- meta
    def get_meta(self, key: str) -> Any | None:
        self._check_open()
        if self._meta is None:
            return None
        records = self._meta.retrieve([meta_point_id(key)], with_payload=True, with_vector=False)
        if not records or not records[0].payload:
            return None
        return json.loads(records[0].payload["json"])

    def set_meta(self, key: str, value: Any) -> None:
        if key == LAYOUT_META_KEY:
            raise ValueError(f"meta key {key!r} is reserved")
        self._need()
        with self._lock:
            self._write_meta(key, value)

    def _write_meta(self, key: str, value: Any) -> None:
        payload = {"key": key, "json": json.dumps(value, ensure_ascii=False)}
        self._meta.update(qe.UpdateOperation.upsert_points([qe.Point(meta_point_id(key), {}, payload)]))

    # ------------------------------------------------------------------------------------------- lifecycle
    def optimize(self) -> None:
        shard = self._need()
        with self._lock:
            shard.optimize()

    def flush(self) -> None:
        with self._lock:
            for shard in (self._shard, self._meta):
                if shard is not None and not self._closed:
                    shard.flush()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            for shard in (self._shard, self._meta):
                if shard is not None:
                    shard.flush()
                    shard.close()
            self._shard = self._meta = None
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise BackendUnavailable("索引已关闭", detail="EdgeStore used after close()", path=str(self.path))

    def _need(self) -> qe.EdgeShard:
        self._check_open()
        shard = self._shard
        if shard is None or self._meta is None:
            raise NotFound("索引尚未建立，请先导入法规", detail=str(self.path), code="index_missing")
        return shard

    def __repr__(self) -> str:
        return f"EdgeStore({str(self.path)!r})"


def reconfigure_dense(path: Path, dense: dict[str, int], *, quantize: bool) -> bool:
    """Optimize a closed article shard at `path`: the HNSW graph of its dense vectors, and int8 scalar quantization
    of them when `quantize` (the config is rewritten on disk by `EdgeShard.load(path, config)`; segments already
    optimized without it are rebuilt by the optimizers). `dense`: the shard's dense vectors (name → size), which
    a config must restate. For `lawsearch bench scale`; True when anything changed."""
    config = None
    if quantize:
        sq = qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, always_ram=True)
        config = qe.EdgeConfig(vectors={name: qe.EdgeVectorParams(size=int(size), distance=qe.Distance.Cosine,
                                                                   quantization_config=sq)
                                        for name, size in dense.items()})
    try:
        shard = qe.EdgeShard.load(str(path), config)
    except Exception as e:  # the bindings raise bare Exception
        raise BackendUnavailable("无法打开本地索引", detail=str(e), path=str(path)) from e
    try:
        changed = bool(shard.optimize())
        shard.flush()
    finally:
        shard.close()
    return changed

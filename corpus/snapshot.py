"""Snapshot and restore of the data directory (embedded Qdrant Edge shards, models, audit log, uploads).

    create_snapshot(data_dir, out, *, collection="articles", index=None) -> dict
    restore_snapshot(archive, data_dir, *, force=False) -> dict

A snapshot is a gzipped tar of everything under ``data_dir`` plus a manifest (``lawsearch-snapshot.json``: file
list with sizes and SHA-256, point and version counts). It is consistent because it is taken while this process
holds the index open: opening an Edge shard takes an exclusive lock on its WAL, so no writer (ingest, API server)
can run meanwhile, and the index is flushed before the files are read. A running writer makes the snapshot fail
with BackendUnavailable instead of copying a half-written index.

Restore extracts into a fresh directory next to the target, checks every file against the manifest, and only then
moves it into place: the target must be absent or empty unless `force` (then it must not be in use, and it is
replaced as a whole). Members that are links, devices, absolute paths or contain ``..`` are refused.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import time
from pathlib import Path, PurePosixPath

from corpus.errors import BackendUnavailable, LawSearchError
from corpus.hashing import sha256_file

MANIFEST = "lawsearch-snapshot.json"
FORMAT = 1


class SnapshotError(LawSearchError):
    code = "snapshot_error"
    http_status = 400


def _data_files(data_dir: Path, skip: set[Path]) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(data_dir):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            if p.resolve() in skip or p.is_symlink() or not p.is_file():
                continue
            out.append(p)
    return out


def _open_index(data_dir: Path, collection: str):
    from corpus.index import ArticleIndex
    from corpus.store import open_store

    articles = open_store(data_dir=data_dir, collection=collection)
    try:
        versions = open_store(data_dir=data_dir, collection=f"{collection}_versions")
    except Exception:
        articles.close()
        raise
    return ArticleIndex(articles, versions)


def create_snapshot(data_dir: Path, out: Path, *, collection: str = "articles", index=None) -> dict:
    """Archive `data_dir` into `out` (.tar.gz). `index`: an open ArticleIndex on this data dir that the caller
    holds (e.g. a Runtime's); when None the index is opened (and locked) here for the time of the copy.

    Returns the manifest. Raises BackendUnavailable when another process holds the index open."""
    data_dir, out = Path(data_dir), Path(out)
    if not data_dir.is_dir():
        raise SnapshotError("数据目录不存在，无法创建快照", detail=str(data_dir))
    if out.resolve().is_relative_to(data_dir.resolve()):
        raise SnapshotError("快照文件不能放在数据目录内", detail=str(out))
    own = index is None
    if own:
        try:
            index = _open_index(data_dir, collection)
        except BackendUnavailable as e:
            raise BackendUnavailable("索引正被其他进程使用（如正在导入或服务运行中），请停止后再创建快照",
                                     detail=e.detail or str(e)) from e
    try:
        index.flush()
        counts = index.counts()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        files = _data_files(data_dir, skip={out.resolve(), tmp.resolve()})
        entries = []
        try:
            with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
                for p in files:
                    rel = p.relative_to(data_dir).as_posix()
                    if rel == MANIFEST:
                        continue
                    entries.append({"path": rel, "size": p.stat().st_size, "sha256": sha256_file(p)})
                    tar.add(p, arcname=rel, recursive=False)
                manifest = {"format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            "collection": collection, "points": counts.get("points", 0),
                            "versions": counts.get("versions", 0), "files": entries}
                blob = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(blob), int(time.time()), 0o644
                tar.addfile(info, io.BytesIO(blob))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, out)
        finally:
            if tmp.exists():
                tmp.unlink()
    finally:
        if own:
            index.close()
    return manifest


def _safe_member(m: tarfile.TarInfo) -> str:
    name = PurePosixPath(m.name)
    if name.is_absolute() or ".." in name.parts or not name.parts or "\\" in m.name:
        raise SnapshotError("快照文件包含不安全的路径，已拒绝恢复", detail=m.name)
    if not (m.isfile() or m.isdir()):
        raise SnapshotError("快照文件包含链接或特殊文件，已拒绝恢复", detail=m.name)
    return name.as_posix()


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            f = tar.extractfile(MANIFEST)
            if f is None:
                raise KeyError(MANIFEST)
            return json.loads(f.read().decode("utf-8"))
    except (KeyError, tarfile.TarError, OSError, EOFError, ValueError) as e:
        raise SnapshotError("不是有效的快照文件（缺少清单或已损坏）", detail=f"{type(e).__name__}: {e}") from e


def _in_use(data_dir: Path) -> bool:
    """True when another process holds the Edge index under data_dir open (its WAL lock is taken)."""
    root = data_dir / "qdrant"
    if not root.is_dir():
        return False
    from corpus.store import open_store

    shards = [p for p in root.iterdir() if p.is_dir() and not p.name.endswith("_meta") and "." not in p.name]
    for shard in sorted(shards):  # "." marks a shard being created or removed (corpus.store.edge)
        try:
            open_store(data_dir=data_dir, collection=shard.name).close()
        except BackendUnavailable:
            return True
    return False


def restore_snapshot(archive: Path, data_dir: Path, *, force: bool = False) -> dict:
    """Restore `archive` into `data_dir`. Refuses a non-empty `data_dir` unless `force`. Returns the manifest."""
    archive, data_dir = Path(archive), Path(data_dir)
    if not archive.is_file():
        raise SnapshotError("快照文件不存在", detail=str(archive))
    manifest = read_manifest(archive)
    if manifest.get("format") != FORMAT:
        raise SnapshotError("快照格式版本不受支持", detail=str(manifest.get("format")))
    exists = data_dir.exists()
    if exists and not data_dir.is_dir():
        raise SnapshotError("目标路径不是目录", detail=str(data_dir))
    non_empty = exists and any(data_dir.iterdir())
    if non_empty and not force:
        raise SnapshotError("目标数据目录不为空，拒绝覆盖（如确需覆盖请加 --force）", detail=str(data_dir))
    if non_empty and _in_use(data_dir):
        raise BackendUnavailable("目标数据目录的索引正被其他进程使用，请停止后再恢复", detail=str(data_dir))
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = data_dir.parent / f".{data_dir.name}.restore-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(mode=0o750)
    try:
        expected = {e["path"]: e for e in manifest.get("files", [])}
        seen = set()
        with tarfile.open(archive, "r:gz") as tar:
            for m in tar:
                rel = _safe_member(m)
                if rel == MANIFEST or m.isdir():
                    continue
                if rel not in expected:
                    raise SnapshotError("快照文件包含清单之外的文件，已拒绝恢复", detail=rel)
                if m.size != expected[rel]["size"]:
                    raise SnapshotError("快照文件内容与清单不符（大小）", detail=rel)
                tar.extract(m, stage, filter="data")
                if sha256_file(stage / rel) != expected[rel]["sha256"]:
                    raise SnapshotError("快照文件内容与清单不符（校验和），可能已损坏", detail=rel)
                seen.add(rel)
        missing = sorted(set(expected) - seen)
        if missing:
            raise SnapshotError("快照文件不完整，缺少文件", detail=", ".join(missing[:5]))
        (stage / MANIFEST).write_text(json.dumps({k: v for k, v in manifest.items() if k != "files"},
                                                 ensure_ascii=False), encoding="utf-8")
        old = None
        if exists:
            old = data_dir.parent / f".{data_dir.name}.replaced-{os.getpid()}"
            os.replace(data_dir, old)
        os.replace(stage, data_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return manifest


__all__ = ["MANIFEST", "SnapshotError", "create_snapshot", "read_manifest", "restore_snapshot"]

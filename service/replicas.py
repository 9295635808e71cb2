"""Read replicas of the embedded index, so that several server processes can answer searches at once.

Why (measured, see the README's performance section): a search spends most of its time in Python (query analysis,
fusion, the learned ranker, hit records), which holds the GIL, so more threads in one process do not add
throughput; Qdrant Edge releases the GIL inside a query, but that part alone is too small. Several processes do
scale, but an Edge shard can be opened by one process only (its WAL is locked: a second `EdgeShard.load` of the
same folder fails with WouldBlock, from another process or from the same one). So each worker process opens a
private copy of the shards:

* `prepare_replicas(settings, n)` opens the index once (an interrupted write is repaired and the index lock is held,
  so no ingest can write while it is copied), copies its Edge folders into ``n`` worker folders under
  ``<data_dir>/replicas/`` and closes it. The data directory itself stays closed while the workers run: an
  ingest can rebuild it meanwhile, and a restart of the server serves the new index.
* `claim_replica(root)` gives a starting worker the first folder no other worker holds (an exclusive `flock`
  held for the life of the process).

The models, the ranker, feedback and the audit log are still read from (and written to) the data directory; only
the article index is copied, and the workers treat it as read-only (`Runtime(read_only=True)`).
"""
from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

REPLICAS_DIR = "replicas"
_INDEX_DIR = "qdrant"  # corpus.store.open_store keeps the Edge shards under <data_dir>/qdrant
_held: list = []  # claim files kept open (and locked) for the life of the process


def replicas_root(data_dir: Path) -> Path:
    return Path(data_dir) / REPLICAS_DIR


def prepare_replicas(settings, n: int) -> Path:
    """Copy the index into `n` worker folders (``<root>/w0 … w{n-1}``, each a data directory holding ``qdrant/``)
    and return the root. Folders left by an earlier server are replaced."""
    from service.runtime import Runtime

    root = replicas_root(settings.data_dir)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    rt = Runtime.open(settings)  # repairs an interrupted write; holds the shards' locks while they are copied
    try:
        rt.index.flush()
        src = Path(settings.data_dir) / _INDEX_DIR
        for i in range(n):
            dest = root / f"w{i}" / _INDEX_DIR
            if src.exists():
                shutil.copytree(src, dest, ignore=shutil.ignore_patterns("*.lock"))
            else:
                dest.mkdir(parents=True)
    finally:
        rt.close()
    return root


def claim_replica(root: Path) -> Path:
    """The first worker folder under `root` that no other process holds; it stays held until this process ends."""
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        fh = open(folder.with_suffix(".claim"), "a")  # noqa: SIM115 - held (locked) until the process ends
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            continue
        _held.append(fh)
        return folder
    raise RuntimeError(f"every index replica under {root} is in use by another worker")


def remove_replicas(root: Path) -> None:
    if Path(root).exists():
        shutil.rmtree(root, ignore_errors=True)


def worker_count(value: str | int | None) -> int:
    """`--workers`: a number, or "auto" (one per CPU core the process may use)."""
    if value in (None, "", "auto"):
        return max(1, len(os.sched_getaffinity(0)))
    n = int(value)
    if n < 1:
        raise ValueError("workers must be at least 1")
    return n

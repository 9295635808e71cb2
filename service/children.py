"""Steps of the first ingest run in child processes, so that their memory goes back when they end.

The first ingest of a library trains the offline embedder (on every parsed article) and then the learned ranker
(two half-trained embedders scoring the labelled questions' candidates). Done in the ingesting process they stack
their peaks on top of the parser's and the index's memory, and Python keeps most of what it freed; each in its own
process, the ingest's peak is the largest of the steps instead of their sum.

* the embedder child reads the parsed regulations from the ingest's spill file (`ingest.pipeline.ParsedSpill`)
  and saves the model into the data directory, where the parent loads it;
* the ranker child (and the one that builds the dense HNSW graph) opens the index itself: the parent closes its
  embedded index for the time (Qdrant Edge lets one process open it) and reopens it afterwards.

The child's entry point is `python -m service.training_child embedder|ranker|optimize JOB`; JOB (a pickle) holds its
arguments.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from corpus.errors import LawSearchError

#: Settings not handed to a child in its job file (secrets): it reads them from the environment, like the parent.
_SECRET_FIELDS = {"qdrant_api_key", "llm_api_key", "api_keys"}


def give_back_memory() -> None:
    """Collect garbage and hand the heap's free pages back to the system (glibc `malloc_trim`), so that the memory
    this process freed (parsed texts, a closed index) is there for the child about to start."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _run(kind: str, job: dict, *, what: str) -> None:
    give_back_memory()
    fd, name = tempfile.mkstemp(prefix=f"lawsearch-{kind}-", suffix=".pickle")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(job, fh)
        code = subprocess.run([sys.executable, "-m", "service.training_child", kind, name], check=False).returncode
    finally:
        os.unlink(name)
    if code != 0:
        raise LawSearchError(f"{what}失败（子进程退出码 {code}）", code="training_failed")


def train_embedder_apart(spill_path: Path, count: int, *, data_dir: Path, questions: list[dict],
                         progress: bool) -> None:
    """Train the offline embedder on the `count` regulations of a spill file, in a child process."""
    _run("embedder", {"spill": str(spill_path), "count": count, "data_dir": str(data_dir), "questions": questions,
                      "progress": progress}, what="训练嵌入模型")


def run_apart(kind: str, settings, *, progress: bool) -> None:
    """On the index configured by `settings`, in a child process (the caller must not hold the embedded index open
    meanwhile): "ranker" trains the learned ranker, "optimize" builds the dense HNSW graph."""
    fields = settings.model_dump(mode="json", exclude=_SECRET_FIELDS)
    what = {"ranker": "训练排序模型", "optimize": "建立向量索引"}[kind]
    _run(kind, {"settings": fields, "progress": progress}, what=what)

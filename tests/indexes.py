"""Real indexes shared by test modules: the main job's files (the Xuzhou set, formats without the scanned PDF,
real-files) ingested into a Runtime on a temporary directory (BM25 only, no training: fast)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from corpus.settings import Settings


def main_job_files(corpus_dir: Path) -> list[Path]:
    return [corpus_dir / "xuzhou", corpus_dir / "real-files",
            *[p for p in (corpus_dir / "formats").iterdir() if "扫描" not in p.name]]


@contextmanager
def ingested_runtime(data_dir: Path, files: list[Path]) -> Iterator:
    """A Runtime over `data_dir` with `files` ingested (every file must parse); closed after."""
    from service.runtime import Runtime

    runtime = Runtime.open(Settings(data_dir=data_dir))
    try:
        summary = runtime.ingest(files, progress=False, train=False)
        assert not summary.failed
        yield runtime
    finally:
        runtime.close()

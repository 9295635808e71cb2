"""The ingest pipeline: find files, skip unchanged ones, convert and parse, annotate, and write versions safely."""
from __future__ import annotations

import logging
import os
import pickle
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from haystack import Pipeline

from corpus.errors import LawSearchError
from corpus.model import Regulation
from ingest.components import ArticleSplitter, ChangeDetector, EnforcementAnnotator, LawFileConverter
from ingest.converters import ConvertLimits
from ingest.files import IngestSummary, failure, find_files  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

def build_parse_pipeline(*, index: Any = None, limits: ConvertLimits | None = None, progress: bool = False,
                         max_chars: int = 512, split: bool = True) -> Pipeline:
    pipe = Pipeline()
    pipe.add_component("detector", ChangeDetector(index=index))
    pipe.add_component("converter", LawFileConverter(limits=limits, progress=progress))
    pipe.add_component("annotator", EnforcementAnnotator())
    pipe.connect("detector.changed", "converter.files")
    pipe.connect("converter.regulations", "annotator.regulations")
    if split:
        pipe.add_component("splitter", ArticleSplitter(max_chars=max_chars))
        pipe.connect("annotator.regulations", "splitter.regulations")
    return pipe


def parse_files(paths: list[str | Path], *, limits: ConvertLimits | None = None,
                progress: bool = False) -> tuple[list[Regulation], list[dict]]:
    """Parse files without indexing (for `lawsearch parse`): articles stay whole."""
    files, failures = find_files(paths)
    pipe = build_parse_pipeline(limits=limits, progress=progress, split=False)
    regs: list[Regulation] = []
    for f in _progress(files, "解析", progress):
        out = pipe.run({"detector": {"sources": [str(f)]}})
        regs.extend(out["annotator"]["regulations"].items)
        failures.extend(out["detector"]["failures"] + out["converter"]["failures"])
    return regs, failures


def _rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def _progress(items, desc: str, enabled: bool):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="个文件", file=sys.stderr, dynamic_ncols=True)


def _edition_key(reg: Regulation) -> tuple[str, str] | None:
    """(regulation, version date) for a volume of a code published in several files, else None."""
    return (reg.regulation_id, reg.version_date) if reg.extra.get("volume") else None


class ParsedSpill:
    """The regulations parsed by one ingest, kept in a temporary file between parsing and writing.

    Writing can start only once the whole corpus is parsed (the BM25 statistics and a first embedder are fitted on
    all of it), and 150k parsed articles held as Python objects took about 1.5 GB: here they are pickled one after
    another as each batch is parsed, and read back one at a time (`iterate()`, as often as needed). Only the
    order and each regulation's code-edition key stay in memory. `path` can be read by another process (the
    embedder is trained in one, see service/children.py) with `read_spill`."""

    def __init__(self, directory: str | Path | None = None):
        fd, name = tempfile.mkstemp(prefix="lawsearch-parsed-", suffix=".pickle", dir=directory)
        self.path = Path(name)
        self._fh = os.fdopen(fd, "w+b")
        self.edition_keys: list[tuple[str, str] | None] = []

    def append(self, reg: Regulation) -> None:
        pickle.dump(reg, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.edition_keys.append(_edition_key(reg))

    def __len__(self) -> int:
        return len(self.edition_keys)

    def iterate(self):
        self._fh.flush()
        yield from read_spill(self.path, len(self))

    def close(self) -> None:
        self._fh.close()
        self.path.unlink(missing_ok=True)


def read_spill(path: str | Path, count: int | None = None):
    """The regulations of a `ParsedSpill` file, in order (all of them, or the first `count`)."""
    with open(path, "rb") as fh:
        n = 0
        while count is None or n < count:
            try:
                yield pickle.load(fh)
            except EOFError:
                return
            n += 1


class Ingestor:
    """Runs the parse pipeline in batches and writes each regulation version through the index writer."""

    def __init__(self, index, writer, *, limits: ConvertLimits | None = None, progress: bool = False,
                 batch_files: int = 32, before_write: Callable[[ParsedSpill], None] | None = None,
                 pause: Callable[[], None] | None = None, flush: bool = True):
        self.index = index
        self.writer = writer
        self.progress = progress
        self.batch_files = batch_files
        self.before_write = before_write
        # Called after each parse batch and each written regulation: an ingest in a serving process then leaves
        # the CPU (and the GIL) to searches between its steps (`service.turns.Turns.give_way`).
        self.pause = pause
        # Flush the store once the versions are written. An update is durable in the engine's write-ahead log when
        # it returns (corpus/store/edge.py); a flush writes segments so the log can be truncated, and holds the GIL
        # for ≈ 0.2–0.35 s on the main job's index whatever was written. A serving process defers it
        # (`Runtime.ingest`).
        self.flush = flush
        self.pipeline = build_parse_pipeline(index=index, limits=limits, progress=progress,
                                             max_chars=writer.max_chars)

    def run(self, paths: list[str | Path]) -> IngestSummary:
        t0 = time.perf_counter()
        summary = IngestSummary()
        summary.recovered = self.index.recover()
        files, summary.failed = find_files(paths)
        summary.files = len(files)
        parsed = ParsedSpill()
        try:
            self._parse(files, summary, parsed)
            self._write(summary, parsed, t0)
        finally:
            parsed.close()
        summary.phases["rss_mb_after_write"] = _rss_mb()
        summary.seconds = round(time.perf_counter() - t0, 3)
        return summary

    def _parse(self, files: list[Path], summary: IngestSummary, parsed: ParsedSpill) -> None:
        t0 = time.perf_counter()
        batches = [files[i:i + self.batch_files] for i in range(0, len(files), self.batch_files)]
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=len(files), desc="解析", unit="个文件", file=sys.stderr, dynamic_ncols=True)
        for batch in batches:
            # Unconnected outputs (unchanged files, failures) come back without being asked for; asking for the
            # connected ones too would make Haystack deep-copy every parsed regulation.
            out = self.pipeline.run({"detector": {"sources": [str(f) for f in batch]}})
            summary.unchanged += len(out["detector"]["unchanged"])
            summary.failed.extend(out["detector"]["failures"] + out["converter"]["failures"])
            for reg in out["splitter"]["regulations"].items:
                parsed.append(reg)
            del out
            if bar:
                bar.update(len(batch))
            if self.pause:
                self.pause()
        if bar:
            bar.close()
        summary.phases["parse"] = round(time.perf_counter() - t0, 1)
        summary.phases["rss_mb_after_parse"] = _rss_mb()

    def _write(self, summary: IngestSummary, parsed: ParsedSpill, t0: float) -> None:
        t1 = time.perf_counter()
        if parsed and self.before_write:
            self.before_write(parsed)  # e.g. fit sparse statistics / train the offline embedder on the corpus
        summary.phases["prepare"] = round(time.perf_counter() - t1, 1)
        summary.phases["rss_mb_after_prepare"] = _rss_mb()
        t2 = time.perf_counter()
        summary.trained = bool(getattr(self.writer, "trained", False))
        summary.dense = self.writer.dense_description
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=len(parsed), desc="写入索引", unit="个文件", file=sys.stderr, dynamic_ncols=True)
        # Volumes of one code edition (民法典 总则, 物权编, …) flip together with the last of them: flipping each
        # as it lands would retire the whole old edition at the first volume, its other volumes' articles gone
        # until the new ones are written.
        volumes_left = Counter(k for k in parsed.edition_keys if k)
        deferred: dict[str, str] = {}  # regulation_id → a version written without its flip
        for reg in parsed.iterate():  # read back one at a time: written regulations are let go at once
            if self.pause:
                self.pause()
            if bar:
                bar.update(1)
            key = _edition_key(reg)
            if key:
                volumes_left[key] -= 1
            flip = not key or volumes_left[key] == 0
            try:
                res = self.writer.write(reg, flip=flip)
            except LawSearchError as exc:
                summary.failed.append(failure(reg.source_path, exc))
                continue
            if not res.alternate_of:  # an alternate writes nothing, and flips nothing
                if flip:
                    deferred.pop(res.regulation_id, None)
                else:
                    deferred[res.regulation_id] = res.version_id
            if res.alternate_of:
                summary.alternates += 1
                continue
            summary.regulations += 1
            summary.articles += len({(a.article_no, a.article_suffix) for a in reg.articles})
            summary.points += res.points
            summary.replaced_points += res.replaced
        if bar:
            bar.close()
        for rid, vid in deferred.items():  # the edition's last volume failed or was another file of a written one
            self.index.flip(rid, vid)
        if self.flush:
            self.index.flush()
        summary.phases["write"] = round(time.perf_counter() - t2, 1)

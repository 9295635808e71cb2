"""The ingest pipeline's Haystack components: files → regulations → article points in the index.

Each component follows Haystack's conventions: keyword-only, JSON-serialisable `__init__` without I/O, heavy state
in `warm_up()`, `run()` returning a dict that matches its output types. A bad file is recorded as a failure with its
path and a Chinese reason, and the batch goes on; programming errors raise.
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from haystack import component, default_to_dict

from corpus.errors import CorruptFile, LawSearchError
from corpus.hashing import sha256_file
from corpus.model import Regulation
from ingest.converters import ConvertLimits
from ingest.files import failure
from ingest.parser_version import parsed_by_current

log = logging.getLogger(__name__)


class Regulations:
    """The regulations one component hands to the next. Haystack deep-copies what flows between components
    (lists item by item); a parsed batch has a single consumer at each step, so copying it (≈10 s per 1,000
    files) buys nothing. Not a list on purpose, so it is passed along as it is."""

    def __init__(self, items=()):
        self.items: list[Regulation] = list(items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __deepcopy__(self, memo):
        return self


@component
class ChangeDetector:
    """Splits incoming files into changed ones and ones already indexed with the same sha256."""

    def __init__(self, *, index: Any = None):
        self.index = index  # corpus.index.ArticleIndex or None (parse only)

    @component.output_types(changed=list[dict], unchanged=list[dict], failures=list[dict])
    def run(self, sources: list[str]) -> dict[str, list[dict]]:
        changed, unchanged, failures = [], [], []
        for src in sources:
            path = Path(src)
            try:
                sha = sha256_file(path)
            except OSError as exc:
                failures.append(failure(path, CorruptFile("无法读取文件", detail=exc.strerror or str(exc),
                                                          path=str(path))))
                continue
            rec = self.index.version_by_sha(sha) if self.index is not None else None
            if not parsed_by_current(rec):
                rec = None  # parsed by an older parser: parse it again
            (unchanged if rec else changed).append({"path": str(path), "sha256": sha,
                                                    "version_id": rec["version_id"] if rec else None})
        return {"changed": changed, "unchanged": unchanged, "failures": failures}


@component
class LawFileConverter:
    """PDF (text layer or OCR), DOCX, TXT, HTML and Markdown → regulations parsed into articles."""

    def __init__(self, *, limits: ConvertLimits | None = None, progress: bool = False):
        self.limits = limits or ConvertLimits()  # per file, OCR switch included
        self.progress = progress

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, limits=asdict(self.limits), progress=self.progress)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LawFileConverter":
        init = data.get("init_parameters", {})
        return cls(limits=ConvertLimits(**init.get("limits", {})), progress=init.get("progress", False))

    @component.output_types(regulations=Regulations, failures=list[dict])
    def run(self, files: list[dict]) -> dict[str, list]:
        from ingest.converters import convert_file
        from ingest.metadata import build_regulation

        regulations, failures = [], []
        for item in files:
            path = Path(item["path"])
            try:
                converted = convert_file(path, limits=self.limits, progress=self.progress)
                reg = build_regulation(converted, source_path=str(path), sha256=item["sha256"])
                if not reg.articles:
                    from corpus.errors import NoArticlesFound

                    raise NoArticlesFound("文件中没有找到法规正文", path=str(path))
                regulations.append(reg)
            except LawSearchError as exc:
                if not exc.path:
                    exc.path = str(path)
                log.info("%s", exc)
                failures.append(failure(path, exc))
        return {"regulations": Regulations(regulations), "failures": failures}


@component
class ArticleSplitter:
    """Splits articles longer than the embedder's window into parts that keep the same citation."""

    def __init__(self, *, max_chars: int = 512):
        self.max_chars = max_chars

    @component.output_types(regulations=Regulations)
    def run(self, regulations: Regulations) -> dict[str, Regulations]:
        from ingest.split import split_long_articles

        for reg in regulations:
            reg.articles = split_long_articles(reg.articles, max_chars=self.max_chars)
        return {"regulations": Regulations(regulations)}


@component
class EnforcementAnnotator:
    """Adds the 谁执法谁普法 facts per article: agencies, penalty links, sanctions and fines."""

    @component.output_types(regulations=Regulations)
    def run(self, regulations: Regulations) -> dict[str, Regulations]:
        from ingest.enforcement import analyse_regulation

        for reg in regulations:
            if not reg.has_articles:
                continue
            info = analyse_regulation(reg.articles, reg.title)
            reg.extra["agencies"] = list(info.main_agencies)
            for art in reg.articles:
                art.extra["enforcement"] = info.payload_for(art)
        return {"regulations": regulations}

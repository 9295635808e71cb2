"""Finding the files to ingest, and the ingest summary — without importing Haystack, so an
ingest whose files are all unchanged answers at once."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import LawSearchError, UnsupportedFileType

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".docx", ".html", ".htm", ".pdf"}
# Files in a folder that describe the folder rather than hold a regulation.
SKIPPED_NAMES = {"readme.md", "readme.txt", "license", "license.md"}


def find_files(paths: list[str | Path]) -> tuple[list[Path], list[dict]]:
    """Files named directly are all taken (an unsupported one becomes a failure); folders are walked recursively
    for supported types, skipping hidden entries, links and README files."""
    files, failures = [], []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                # Links are not followed out of a folder (a planted link must not pull an outside file in).
                if any(part.startswith(".") for part in rel.parts) or f.is_symlink() or not f.is_file():
                    continue
                if f.suffix.lower() in SUPPORTED_SUFFIXES and f.name.lower() not in SKIPPED_NAMES:
                    files.append(f)
        elif p.is_file():
            files.append(p)
        else:
            failures.append(failure(p, UnsupportedFileType("文件或目录不存在", path=str(p), code="not_found")))
    return files, failures


def failure(path: str | Path, exc: LawSearchError) -> dict[str, Any]:
    d = exc.to_dict()
    d["file"] = str(path)
    return d


@dataclass
class IngestSummary:
    files: int = 0
    regulations: int = 0
    articles: int = 0
    points: int = 0
    unchanged: int = 0
    alternates: int = 0  # files that are another, less complete source of an already indexed version
    replaced_points: int = 0
    recovered: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict = field(default_factory=dict)  # seconds per phase: parse, prepare (fit/train), write
    dense: str = ""
    trained: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)



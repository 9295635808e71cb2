"""What the doors call for 新旧对照 and 引用核验: the comparison of two versions, and the citation check of a text or
of a file (read by the ingest converters: TXT, MD, DOCX, PDF, HTML), wired to a Runtime."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.converters import ConvertLimits, convert_file
from search.compare import compare_versions
from search.verify import CitationChecker, annotate


def document_text(path: Path, limits: ConvertLimits) -> str:
    """A document's text, one paragraph a line (errors: the converters' Chinese IngestErrors, naming the file)."""
    return convert_file(Path(path), limits=limits).text


def citation_checker(runtime) -> CitationChecker:
    """A checker over the runtime's index; misattributed quotations are looked up in every region's texts."""
    return CitationChecker(runtime.index, runtime.engine.titles,
                           search=lambda query, top_k=5: runtime.search(query, top_k=top_k, filters={"scope": "all"}))


def check_text(runtime, text: str, *, as_of: str | None = None) -> dict[str, Any]:
    report = citation_checker(runtime).check(text, as_of=as_of)
    report["segments"] = annotate(text, report)
    return report


def check_file(runtime, path: Path, *, as_of: str | None = None) -> dict[str, Any]:
    report = check_text(runtime, document_text(path, runtime.limits), as_of=as_of)
    report["file"] = Path(path).name
    return report


def compare(runtime, title: str, *, from_date: str | None = None, to_date: str | None = None) -> dict[str, Any]:
    return compare_versions(runtime.index, title, from_date=from_date, to_date=to_date)


__all__ = ["check_file", "check_text", "citation_checker", "compare", "document_text"]

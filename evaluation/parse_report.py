"""Parse benchmark and report: convert and parse many files, count articles, list failures and numbering gaps.

    parse_report(paths, progress=True) -> dict

Wired to `lawsearch bench parse`. A directory is searched recursively for supported files.
"""
from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterable

from corpus.errors import LawSearchError
from corpus.model import Regulation

__all__ = ["parse_report", "numbering_problems", "collect_files", "SUFFIXES"]

SUFFIXES = (".md", ".markdown", ".txt", ".docx", ".html", ".htm", ".pdf")


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus supported files under named directories (sorted, no duplicates)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES))
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def numbering_problems(reg: Regulation) -> list[str]:
    """Why a regulation's article numbers do not run 第一条, 第二条, … (之一/之二 inserted articles allowed)."""
    if not reg.has_articles:
        return []
    nums: list[tuple[int, int]] = []
    for a in reg.articles:
        key = (a.article_no, int(_suffix_no(a.article_suffix)))
        if not nums or nums[-1] != key:  # parts of one split article share the key
            nums.append(key)
    problems: list[str] = []
    if nums and nums[0] != (1, 0):
        problems.append(f"从第{nums[0][0]}条开始")
    for (pn, ps), (n, s) in zip(nums, nums[1:]):
        if s == 0 and n == pn + 1:
            continue
        if s > 0 and n == pn and s == ps + 1:
            continue
        if s > 0 and n == pn + 1:
            problems.append(f"第{n}条之{s}前缺第{n}条")
        elif n <= pn:
            problems.append(f"第{pn}条之后又是第{n}条")
        else:
            problems.append(f"第{pn}条之后是第{n}条（缺{n - pn - 1}条）")
    return problems


def _suffix_no(suffix: str) -> int:
    if not suffix:
        return 0
    from corpus.numerals import cn_to_int

    try:
        return cn_to_int(suffix.removeprefix("之"))
    except ValueError:
        return 0


def parse_report(paths, progress: bool = True) -> dict:
    """Convert and parse every file; return counts, failures with reasons, numbering exceptions and speed.

    Keys: files, parsed, failed [{path, code, reason}], articles (distinct 条 of texts with articles), paragraphs
    (of texts without), no_articles [{title, path}], non_consecutive [{title, path, reason}], formats {fmt: n},
    warnings (parse warnings, total), seconds, files_per_s.
    """
    from ingest.converters import convert_file
    from ingest.metadata import build_regulation

    files = collect_files([paths] if isinstance(paths, (str, Path)) else paths)
    iterator: Iterable[Path] = files
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(files, desc="解析", unit="件", file=sys.stderr, dynamic_ncols=True)
            iterator = bar
        except ImportError:  # pragma: no cover - tqdm is a dependency
            pass
    failed: list[dict] = []
    non_consecutive: list[dict] = []
    no_articles: list[dict] = []
    formats: Counter = Counter()
    parsed = articles = paragraphs = warnings = 0
    t0 = time.perf_counter()
    for path in iterator:
        try:
            data = path.read_bytes()
            converted = convert_file(path)
            reg = build_regulation(converted, source_path=str(path), sha256=hashlib.sha256(data).hexdigest())
        except LawSearchError as e:
            failed.append({"path": str(path), "code": e.code, "reason": str(e.message) + (
                f"（{e.detail}）" if e.detail else "")})
            continue
        except OSError as e:
            failed.append({"path": str(path), "code": "io_error", "reason": f"{type(e).__name__}: {e}"})
            continue
        except Exception as e:  # a parser bug: report it, keep going
            failed.append({"path": str(path), "code": "crash", "reason": f"{type(e).__name__}: {e}"})
            continue
        parsed += 1
        formats[reg.source_format] += 1
        warnings += len(reg.warnings)
        if reg.has_articles:
            articles += len({(a.article_no, a.article_suffix) for a in reg.articles})
            problems = numbering_problems(reg)
            if problems:
                non_consecutive.append({"title": reg.title, "path": str(path), "reason": "；".join(problems)})
        else:
            paragraphs += len(reg.articles)
            no_articles.append({"title": reg.title, "path": str(path)})
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    return {
        "files": len(files),
        "parsed": parsed,
        "failed": failed,
        "articles": articles,
        "paragraphs": paragraphs,
        "no_articles": no_articles,
        "non_consecutive": non_consecutive,
        "formats": dict(formats),
        "warnings": warnings,
        "seconds": round(seconds, 2),
        "files_per_s": round(len(files) / seconds, 1) if seconds > 0 else 0.0,
    }


if __name__ == "__main__":  # python -m evaluation.parse_report PATH… (the CLI wraps this as `lawsearch bench parse`)
    import json

    report = parse_report(sys.argv[1:] or ["."], progress=True)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=1)
    print()

"""The word lists of `search/data/`: one plain-text file per kind, one entry a line, `#` starts a comment line.

Stop words, who-words, penalty headings, violation and sanction words live there as data, so a list is changed
(and reviewed) without touching the code that reads it; the glossary (`glossary.tsv`) is read line by line here too.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"


def data_lines(path: Path) -> list[str]:
    """The lines of a data file that carry an entry: blank lines and `#` comment lines skipped, line ends removed
    (a tab inside a line is kept: glossary columns)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(line.rstrip("\r\n"))
    return out


@lru_cache(maxsize=None)
def word_list(name: str) -> tuple[str, ...]:
    """The entries of `search/data/<name>.txt` in file order, each once."""
    return tuple(dict.fromkeys(line.strip() for line in data_lines(DATA_DIR / f"{name}.txt")))


def word_set(name: str) -> frozenset[str]:
    return frozenset(word_list(name))


@lru_cache(maxsize=None)
def word_pattern(name: str) -> re.Pattern[str]:
    """A regex matching any entry of `search/data/<name>.txt` (as literal text)."""
    return re.compile("|".join(re.escape(w) for w in word_list(name)))


__all__ = ["DATA_DIR", "data_lines", "word_list", "word_set", "word_pattern"]

"""Lay → legal wording: 老板 → 用人单位, 辞退 → 解除劳动合同, 房东 → 出租人 …

People ask in everyday words; statutes use legal terms. One glossary, `search/data/glossary.tsv`, with two columns
of legal words per lay word (the file's header says why there are two):

- retrieval words: `Glossary.expand` appends the legal wording of every lay term found in the query (it never
  removes anything), so BM25 can match the statute's words;
- answer words: `Glossary.synonyms` — what the answer composer counts as the lay word when it judges relevance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from search.words import DATA_DIR, data_lines

GLOSSARY_PATH = DATA_DIR / "glossary.tsv"


def _words(column: str) -> list[str]:
    return [t.strip() for t in column.split("|") if t.strip()]


def _add(rows: dict[str, list[str]], lay: str, words: list[str]) -> None:
    if lay and words:
        have = rows.setdefault(lay, [])
        have += [t for t in words if t not in have]


@dataclass(frozen=True)
class Glossary:
    entries: tuple[tuple[str, tuple[str, ...]], ...]  # (lay term, retrieval words), longest lay term first
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lay term → answer words

    @classmethod
    def load(cls, path: Path = GLOSSARY_PATH) -> Glossary:
        retrieval: dict[str, list[str]] = {}
        answer: dict[str, list[str]] = {}
        for line in data_lines(path):
            cols = line.split("\t")
            if len(cols) < 2:
                continue
            lay = cols[0].strip()
            _add(retrieval, lay, _words(cols[1]))
            # The answer column left out: the composer reads the lay word as its retrieval words.
            _add(answer, lay, _words(cols[2] if len(cols) > 2 else cols[1]))
        ordered = sorted(retrieval.items(), key=lambda kv: (-len(kv[0]), kv[0]))
        return cls(tuple((k, tuple(v)) for k, v in ordered), {k: tuple(v) for k, v in answer.items()})

    def terms_for(self, query: str) -> list[str]:
        """Legal terms for the lay terms in `query` (a lay term inside a longer matched one is skipped)."""
        out: list[str] = []
        covered = [False] * len(query)
        for lay, legal in self.entries:
            start = query.find(lay)
            while start != -1:
                span = range(start, start + len(lay))
                if not all(covered[i] for i in span):
                    for i in span:
                        covered[i] = True
                    out += [t for t in legal if t not in out and t not in query]
                start = query.find(lay, start + 1)
        return out

    def expand(self, query: str) -> str:
        extra = self.terms_for(query)
        return f"{query} {' '.join(extra)}" if extra else query


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    return Glossary.load()

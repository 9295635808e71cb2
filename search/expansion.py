"""Lay → legal wording: 老板 → 用人单位, 辞退 → 解除劳动合同, 房东 → 出租人 …

People ask in everyday words; statutes use legal terms. `Glossary.expand` appends the legal wording of every lay
term found in the query (it never removes anything), so BM25 can match the statute's words. The list is
`search/data/glossary.tsv` (general vocabulary, not tuned per question).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GLOSSARY_PATH = Path(__file__).parent / "data" / "glossary.tsv"


@dataclass(frozen=True)
class Glossary:
    entries: tuple[tuple[str, tuple[str, ...]], ...]  # (lay term, legal terms), longest lay term first

    @classmethod
    def load(cls, path: Path = GLOSSARY_PATH) -> Glossary:
        rows: dict[str, list[str]] = {}
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "\t" not in line:
                continue
            lay, legal = line.split("\t", 1)
            terms = [t.strip() for t in legal.split("|") if t.strip()]
            if lay.strip() and terms:
                rows.setdefault(lay.strip(), [])
                rows[lay.strip()] += [t for t in terms if t not in rows[lay.strip()]]
        ordered = sorted(rows.items(), key=lambda kv: (-len(kv[0]), kv[0]))
        return cls(tuple((k, tuple(v)) for k, v in ordered))

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

"""The same rule at several levels: a city's or province's article beside the national article it restates.

A resident of Xuzhou is bound by 安全生产法第二十八条, 江苏省安全生产条例第二十一条 and 徐州市安全生产条例第十八条 at once,
and a volunteer cites all three. Local texts restate and detail national law in its own words, so the counterpart of a
local article is found by how alike the two texts are: character-bigram TF-IDF cosine between every current article of
the deployment's home texts (its city's and province's) and every current national article.

Only national laws the local text rests on are searched: those it names (根据《中华人民共和国安全生产法》…) and those
whose subject shares a rare word with its own (a title bigram of at most `RARE_SUBJECT` national titles: 质量促进 →
产品质量法 by 质量, 9 titles; 安全生产 → 安全生产法 by 全生, 4; not 食品安全法 by 安全, 66). Without that rule the best matches of a 施行 article or a 表彰 article were other laws'
施行 and 表彰 articles (cosine up to 1.0: the same boilerplate), and articles shorter than `MIN_CHARS` are left out
for the same reason. Measured on the main job's index (lawref + Xuzhou): for the 16 (local, national) gold pairs of
`xuzhou_dev.jsonl` the national gold article was the most alike of all 58,147 national articles for 6 and within the
first five for 13, with cosines from 0.11 to 0.63; `MIN_SIMILARITY` keeps pairs from 0.25.

`build_links` runs after every ingest that wrote points (in the ranker's child process after a first ingest with
labelled questions, and with `lawsearch train`) and saves `levels/links.json` in the data directory. It reads only the
home texts and the national laws they rest on (`laws_rested_on`, over the version registry's `national_laws`), not
the whole library: 0.6 s (4 s with the registry not yet read) instead of 15 s on the main job's index, a stretch
in which searches wait. `LevelLinker`, after the penalty linker in the query pipeline, gives every hit `levels`: its
counterparts at the other levels, with their text and similarity. They are shown as "probably the same rule" —
found by wording, not by a statement of the texts — and are never mixed into the ranked hits.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from haystack import component

from corpus.jsonfile import read_json, write_json
from corpus.regions import NATIONAL
from corpus.titles import normalize_title

from search.carriers import Result
from search.hits import version_key
from search.ranker import bigrams, title_core

LEVELS_DIR = "levels"
LINKS_FILE = "links.json"
MIN_SIMILARITY = 0.25
RARE_SUBJECT = 10  # national titles a shared subject bigram may occur in
MIN_CHARS = 20  # Chinese characters of an article, below which it is boilerplate (本条例自…起施行)
PER_ARTICLE = 3  # counterparts kept per article and direction
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_CITED = re.compile(r"《([^《》]{2,60})》")

Key = tuple[str, int, str]  # (version id, article number, suffix): search.hits.version_key


def _bigram_counts(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for run in _CJK_RUN.findall(text or ""):
        for i in range(len(run) - 1):
            b = run[i:i + 2]
            out[b] = out.get(b, 0) + 1
    return out


def _title_key(title: str) -> str:
    return normalize_title(title or "").replace("中华人民共和国", "")


@dataclass
class _Article:
    key: Key
    title_key: str
    regulation: str
    subject: set[str]  # bigrams of its title's subject (search.ranker.title_core)
    text: str


def _articles(payloads: Iterable[dict], home: set[str]) -> tuple[list[_Article], list[_Article]]:
    """Whole current articles (parts joined) of the home texts and of national law."""
    local: dict[Key, _Article] = {}
    national: dict[Key, _Article] = {}
    subjects: dict[str, set[str]] = {}  # per regulation: its title's subject words, worked out once
    for p in payloads:
        if p.get("kind", "article") != "article" or not p.get("is_current", True) or p.get("article_no") is None:
            continue
        region = p.get("region") or ""
        into = local if region in home else national if region in NATIONAL else None
        if into is None:
            continue
        key = (p.get("version_id"), int(p["article_no"]), p.get("article_suffix") or "")
        art = into.get(key)
        if art is None:
            title, regulation = p.get("title") or "", p.get("regulation_id") or ""
            subject = subjects.get(regulation)
            if subject is None:
                subject = subjects[regulation] = bigrams(title_core(title, region))
            art = into[key] = _Article(key, _title_key(title), regulation, subject, "")
        art.text += p.get("text") or ""
    return list(local.values()), list(national.values())


@dataclass(frozen=True)
class Law:
    """What the rule of the laws a home text rests on reads of a national text: its title key and subject words."""

    title_key: str
    subject: frozenset[str]  # bigrams of its title's subject (search.ranker.title_core)


def national_laws(records: Iterable[dict]) -> dict[str, Law]:
    """Regulation id → `Law` of every national text with a current version that has articles, from version records
    (`ArticleIndex.version_records`): what `build_links` counts a subject word's rarity over."""
    out: dict[str, Law] = {}
    for r in records:
        region = r.get("region") or ""
        if r.get("is_current") and r.get("has_articles", True) and region in NATIONAL and r.get("regulation_id"):
            out[r["regulation_id"]] = Law(_title_key(r.get("title") or ""),
                                          frozenset(bigrams(title_core(r.get("title") or "", region))))
    return out


def _long_enough(a: _Article) -> bool:
    return sum(len(r) for r in _CJK_RUN.findall(a.text)) >= MIN_CHARS


def _foundations(local: list[_Article], subjects: Iterable[Iterable[str]]) -> dict[str, tuple[set[str], set[str]]]:
    """Per home regulation: the title keys of the laws its articles name, and its title's subject bigrams that occur
    in at most `RARE_SUBJECT` of the national `subjects`."""
    df: dict[str, int] = {}
    for words in subjects:
        for b in words:
            df[b] = df.get(b, 0) + 1
    out: dict[str, tuple[set[str], set[str]]] = {}
    for a in local:
        names, _ = out.setdefault(a.regulation, (set(), {b for b in a.subject if df.get(b, 0) <= RARE_SUBJECT}))
        names.update(_title_key(t) for t in _CITED.findall(a.text))
    return out


def _rests_on(foundation: tuple[set[str], set[str]], title_key: str, subject: Iterable[str]) -> bool:
    names, rare = foundation
    return title_key in names or not rare.isdisjoint(subject)


def laws_rested_on(local_payloads: Iterable[dict], home: set[str], laws: dict[str, Law]) -> set[str]:
    """The regulation ids among `laws` that some home text rests on: the national articles `build_links` needs."""
    local, _ = _articles(local_payloads, set(home))
    found = _foundations([a for a in local if _long_enough(a)], (law.subject for law in laws.values()))
    return {reg for reg, law in laws.items() if any(_rests_on(f, law.title_key, law.subject) for f in found.values())}


def _matrix(texts: list[str]) -> Any:
    """Rows of unit length: sublinear tf × idf of character bigrams."""
    from scipy.sparse import csr_matrix

    counts = [_bigram_counts(t) for t in texts]
    df: dict[str, int] = {}
    for c in counts:
        for b in c:
            df[b] = df.get(b, 0) + 1
    n = len(texts)
    vocab = {b: i for i, b in enumerate(df)}  # every bigram: one a text alone has still counts in its length
    idf = np.array([math.log(n / df[b]) + 1.0 for b in vocab], dtype=np.float64)
    rows, cols, vals = [], [], []
    for r, c in enumerate(counts):
        for b, tf in c.items():
            j = vocab[b]
            rows.append(r)
            cols.append(j)
            vals.append((1.0 + math.log(tf)) * idf[j])
    m = csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)), dtype=np.float64)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return csr_matrix(m.multiply(1.0 / norms[:, None]))


def build_links(payloads: Iterable[dict], home: set[str], *,
                laws: dict[str, Law] | None = None) -> list[tuple[Key, Key, float]]:
    """(home article, national article, cosine) for every pair that passes the threshold, best `PER_ARTICLE` per
    home article and per national article; national articles only of the laws each home text rests on.
    `laws` (`national_laws`): every national text, when `payloads` hold only some of them (`laws_rested_on`'s);
    without it, the national texts among `payloads` count in a subject word's rarity."""
    local, national = _articles(payloads, set(home))
    if laws is None:
        laws = {n.regulation: Law(n.title_key, frozenset(n.subject)) for n in national}
    local = [a for a in local if _long_enough(a)]
    national = [n for n in national if _long_enough(n)]
    found = _foundations(local, (law.subject for law in laws.values()))
    related = {reg: {j for j, n in enumerate(national) if _rests_on(f, n.title_key, n.subject)}
               for reg, f in found.items()}
    wanted = sorted(set().union(*related.values())) if related else []
    if not local or not wanted:
        return []
    national = [national[j] for j in wanted]
    position = {j: i for i, j in enumerate(wanted)}
    related = {reg: {position[j] for j in js} for reg, js in related.items()}
    m = _matrix([a.text for a in local] + [a.text for a in national])
    sims = (m[: len(local)] @ m[len(local):].T).tocsr()
    pairs: list[tuple[int, int, float]] = []
    for i, a in enumerate(local):
        row = sims.getrow(i)
        allowed = related[a.regulation]
        pairs += [(i, j, s) for j, s in zip(row.indices.tolist(), row.data.tolist())
                  if s >= MIN_SIMILARITY and j in allowed]
    pairs.sort(key=lambda t: -t[2])
    per_local: dict[int, int] = {}
    per_national: dict[int, int] = {}
    out = []
    for i, j, s in pairs:
        if per_local.get(i, 0) >= PER_ARTICLE or per_national.get(j, 0) >= PER_ARTICLE:
            continue
        per_local[i] = per_local.get(i, 0) + 1
        per_national[j] = per_national.get(j, 0) + 1
        out.append((local[i].key, national[j].key, round(float(s), 4)))
    return out


@dataclass
class LevelLinks:
    """Counterparts by article (either direction), loaded from the data directory."""

    pairs: dict[Key, list[tuple[Key, float]]] = field(default_factory=dict)
    home: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, links: Iterable[tuple[Key, Key, float]], home: Iterable[str] = ()) -> "LevelLinks":
        out = cls(home=sorted(home))
        for a, b, s in links:
            out.pairs.setdefault(tuple(a), []).append((tuple(b), s))
            out.pairs.setdefault(tuple(b), []).append((tuple(a), s))
        for v in out.pairs.values():
            v.sort(key=lambda t: -t[1])
        return out

    def __len__(self) -> int:
        return sum(len(v) for v in self.pairs.values()) // 2

    def counterparts(self, key: Key) -> list[tuple[Key, float]]:
        return self.pairs.get(tuple(key), [])

    def save(self, data_dir: Path, links: list[tuple[Key, Key, float]]) -> Path:
        return write_json(Path(data_dir) / LEVELS_DIR / LINKS_FILE,
                          {"home": self.home, "min_similarity": MIN_SIMILARITY, "min_chars": MIN_CHARS,
                           "links": [[list(a), list(b), s] for a, b, s in links]})

    @classmethod
    def load(cls, data_dir: Path) -> "LevelLinks | None":
        data = read_json(Path(data_dir) / LEVELS_DIR / LINKS_FILE)
        if data is None:
            return None
        return cls.of(((tuple(a), tuple(b), float(s)) for a, b, s in data.get("links") or []), data.get("home") or [])


@component
class LevelLinker:
    """Last in the query pipeline: every hit gets `levels`, its counterparts at the other levels (see module doc)."""

    def __init__(self, *, reader: Any, links: LevelLinks | None = None, max_levels: int = PER_ARTICLE):
        self.reader = reader
        self.links = links
        self.max_levels = max_levels

    @component.output_types(result=Result)
    def run(self, result: Result) -> dict[str, Result]:
        data = result.data
        hits: list[dict] = list(data.get("hits") or [])
        if not self.links or not hits:
            return {"result": result}
        plan = [self.links.counterparts(version_key(h))[: self.max_levels] if h.get("version_id") else []
                for h in hits]
        read = self.reader.read({k for items in plan for k, _ in items})
        for h, items in zip(hits, plan):
            levels = []
            for k, s in items:
                got = read.get(k)
                if got is None:  # a version replaced since the links were built
                    continue
                p = got.payload
                levels.append({"title": p.get("title"), "regulation_id": p.get("regulation_id"),
                               "version_id": p.get("version_id"),
                               "article_no": p.get("article_no"), "article_suffix": p.get("article_suffix") or "",
                               "label": p.get("label"), "citation": p.get("citation"), "region": p.get("region"),
                               "level": p.get("level"), "text": p.get("text", ""), "similarity": s})
            h["levels"] = levels
        return {"result": Result(dict(data, hits=hits))}


__all__ = ["LevelLinker", "LevelLinks", "build_links", "MIN_CHARS", "MIN_SIMILARITY", "RARE_SUBJECT"]

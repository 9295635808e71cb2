"""新旧对照: the articles of two versions of one regulation aligned, with the changed words marked.

Each article of the newer version is classified — same, renumbered (same text, new number), modified, inserted
(a new 第X条之一), added, split (it took part of an older article that lives on elsewhere too) or merged (it took
in several older articles) — and each older article without a successor is deleted. Articles are matched by their
text, not their numbers: character pairs weighted by how rare they are in the two versions (so the words every
article of a 法律援助条例 shares count little), one-to-one by the best total (scipy's assignment solver), which
also finds articles that moved out of order. The changed words come from difflib's character diff, with one-
character islands of equal text folded into the change around them so that a reader sees words, not letters.
"""
from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from corpus.articles import ArticleRecord, group_articles
from corpus.errors import AmbiguousTitle, InvalidFilter, NotFound
from corpus.index import FAR_FUTURE, ArticleIndex
from corpus.numerals import LABEL_RE

#: Two articles are the same rule when their weighted similarity plus the position bonus reaches this.
MATCH_MIN = 0.35
#: A new article unmatched by similarity but whose words lie this much inside an older one was split off it; an
#: older article without a successor whose words lie this much inside a new one was merged into it.
SPLIT_MIN = 0.75
MERGE_MIN = 0.85
#: How many character pairs a reference to another article (违反本条例第十四条) counts as, once the first pass has
#: told which new article the old number became: penalty articles share their boilerplate and fines, and differ
#: mostly by the duty they punish.
REFERENCE_WEIGHT = 20
#: Position bonus (same relative place in the text: the full bonus): a rewritten article that stayed where it was
#: needs a little less similarity than one that moved far, and ties go to the same place.
POSITION_WEIGHT = 0.1
STATUSES = ("same", "renumbered", "modified", "inserted", "added", "split", "merged", "deleted")
STATUS_NAMES = {"same": "未变", "renumbered": "条号变化", "modified": "修改", "inserted": "插入（之X）",
                "added": "新增", "split": "拆分", "merged": "合并", "deleted": "删除"}
#: Character pairs with a numeral (fine amounts, dates, article numbers) say little about which rule an article is.
NUMERAL_WEIGHT = 0.2
_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万亿0-9]")
_REFERENCE = re.compile(LABEL_RE)
_NOT_TEXT = re.compile(r"[\s\u3000，。、；：？！,.;:?!“”\"'‘’（）()《》〈〉]")


@dataclass(frozen=True)
class VersionArticle:
    """What the alignment reads of an article: its number, label and whole text."""

    article_no: int
    article_suffix: str
    label: str
    text: str

    @classmethod
    def from_record(cls, rec: ArticleRecord) -> VersionArticle:
        return cls(rec.article_no, rec.article_suffix, rec.label, rec.text)


# ---- text similarity -------------------------------------------------------------------------------------------
def _pairs(text: str) -> Counter:
    t = _NOT_TEXT.sub("", text)
    return Counter(t[i:i + 2] for i in range(len(t) - 1)) if len(t) > 1 else Counter(t)


class _Weights:
    """Character-pair vectors of every article of both versions, weighted by inverse document frequency."""

    def __init__(self, texts: list[str], extra: list[Counter] | None = None):
        self.counts = [_pairs(t) + (extra[k] if extra else Counter()) for k, t in enumerate(texts)]
        df = Counter(p for c in self.counts for p in c)
        n = len(texts)
        self.idf = {p: (math.log((1 + n) / (1 + d)) + 1.0) * (NUMERAL_WEIGHT if _NUMERAL.search(p) else 1.0)
                    for p, d in df.items()}
        vocab = {p: i for i, p in enumerate(df)}
        self.matrix = np.zeros((n, len(vocab)))
        for row, c in enumerate(self.counts):
            for p, k in c.items():
                self.matrix[row, vocab[p]] = k * self.idf[p]
        norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
        self.unit = self.matrix / np.where(norms == 0, 1, norms)
        self.present = self.matrix > 0

    def cosine(self, rows_a: list[int], rows_b: list[int]) -> np.ndarray:
        return self.unit[rows_a] @ self.unit[rows_b].T

    def containment(self, part: int, whole: int) -> float:
        """How much of `part`'s weighted pairs occur in `whole` (1.0: all of them)."""
        own = self.matrix[part]
        total = float(own.sum())
        return float(own[self.present[whole]].sum()) / total if total else 0.0


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ---- changed words ---------------------------------------------------------------------------------------------
def mark_changes(old: str, new: str) -> list[dict[str, str]]:
    """Character diff of two texts as segments {op: equal|delete|insert, text}; one-character equal islands
    between two changes are folded into the change so that whole words are marked."""
    ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    merged: list[list] = []  # [tag, old_text, new_text]
    for i, (tag, a0, a1, b0, b1) in enumerate(ops):
        island = (tag == "equal" and a1 - a0 <= 1 and 0 < i < len(ops) - 1)
        if tag != "equal" or island:
            if merged and merged[-1][0] == "change":
                merged[-1][1] += old[a0:a1]
                merged[-1][2] += new[b0:b1]
            else:
                merged.append(["change", old[a0:a1], new[b0:b1]])
        else:
            merged.append(["equal", old[a0:a1], new[b0:b1]])
    out: list[dict[str, str]] = []
    for tag, a, b in merged:
        if tag == "equal":
            out.append({"op": "equal", "text": a})
            continue
        if a:
            out.append({"op": "delete", "text": a})
        if b:
            out.append({"op": "insert", "text": b})
    return out


def changed_words(segments: list[dict[str, str]]) -> dict[str, list[str]]:
    """The deleted and the inserted pieces of a diff, in order."""
    return {"deleted": [s["text"] for s in segments if s["op"] == "delete"],
            "inserted": [s["text"] for s in segments if s["op"] == "insert"]}


# ---- alignment -------------------------------------------------------------------------------------------------
def _references(text: str) -> list[str]:
    """Labels of the regulation's own articles that a text refers to (本条例第十四条第一款、第十五条); references to
    another law (《…》第X条) are left out."""
    return [f"第{m.group('no')}条{m.group('suffix') or ''}" for m in _REFERENCE.finditer(text)
            if not text[:m.start()].endswith("》")]


def _assign(weights: _Weights, n_old: int, n_new: int) -> tuple[np.ndarray, dict[int, list[int]]]:
    """Cosine similarities (old × new) and the best one-to-one matching above MATCH_MIN: new index → [old index]."""
    sim = weights.cosine(list(range(n_old)), list(range(n_old, n_old + n_new))) if n_old and n_new \
        else np.zeros((n_old, n_new))
    pos_old = np.arange(n_old)[:, None] / max(n_old - 1, 1)
    pos_new = np.arange(n_new)[None, :] / max(n_new - 1, 1)
    score = sim + POSITION_WEIGHT * (1 - np.abs(pos_old - pos_new))
    # The gain of a pair is its margin over the threshold: one strong match beats two weak ones, and an article
    # left over costs nothing (a forced pairing below the threshold gains 0 and is dropped).
    gain = np.where(score >= MATCH_MIN, score - MATCH_MIN + 1e-6, 0.0)
    match: dict[int, list[int]] = {}
    if n_old and n_new:
        for i, j in zip(*linear_sum_assignment(-gain)):
            if gain[i, j] > 0:
                match[int(j)] = [int(i)]
    return sim, match


def align(old: list[VersionArticle], new: list[VersionArticle]) -> dict[str, Any]:
    """Rows in the newer version's order (deleted articles after their predecessor), a count per status, and the
    old label → new labels mapping."""
    n_old, n_new = len(old), len(new)
    texts = [a.text for a in old] + [a.text for a in new]
    weights = _Weights(texts)
    sim, match_new = _assign(weights, n_old, n_new)
    # Second pass: an old article's references to its siblings, written in the new numbering the first pass found.
    first = {old[i].label: new[j].label for j, olds in match_new.items() for i in olds}
    refs = [Counter({f"§{first.get(r, 'old' + r)}": REFERENCE_WEIGHT for r in _references(a.text)}) for a in old]
    refs += [Counter({f"§{r}": REFERENCE_WEIGHT for r in _references(a.text)}) for a in new]
    if any(refs):
        weights = _Weights(texts, refs)
        sim, match_new = _assign(weights, n_old, n_new)
    matched_old = {i for olds in match_new.values() for i in olds}
    kind: dict[int, str] = {}
    # An unmatched new article that lies inside an older one: split off it (or a shrunken rewrite of it).
    for j in range(n_new):
        if j in match_new:
            continue
        cands = [(weights.containment(n_old + j, i), i) for i in range(n_old)]
        best, i = max(cands, default=(0.0, -1))
        if best >= SPLIT_MIN:
            match_new[j] = [i]
            kind[j] = "split" if i in matched_old else ""
            if i in matched_old:
                first = next((k for k, v in match_new.items() if i in v and k != j), None)
                if first is not None:
                    kind[first] = "split"
            matched_old.add(i)
    # An unmatched old article that lies inside a new one that has another source: merged into it.
    merged_into: dict[int, int] = {}
    for i in range(n_old):
        if i in matched_old:
            continue
        cands = [(weights.containment(i, n_old + j), j) for j in match_new]
        best, j = max(cands, default=(0.0, -1))
        if best >= MERGE_MIN:
            match_new[j] = sorted(match_new[j] + [i])
            kind[j] = "merged"
            merged_into[i] = j
            matched_old.add(i)

    rows: list[dict[str, Any]] = []
    for j, art in enumerate(new):
        sources = match_new.get(j, [])
        row: dict[str, Any] = {"new": art.label, "new_no": art.article_no, "new_suffix": art.article_suffix,
                               "new_text": art.text, "old": [old[i].label for i in sources]}
        if not sources:
            row["status"] = "inserted" if art.article_suffix else "added"
        else:
            src = [old[i] for i in sources]
            old_text = "\n".join(a.text for a in src)
            row["old_text"] = old_text
            row["similarity"] = round(float(max(sim[i, j] for i in sources)), 3)
            row["renumbered"] = any(a.label != art.label for a in src)
            status = kind.get(j) or ""
            if not status:
                if _normal(old_text) == _normal(art.text):
                    status = "renumbered" if row["renumbered"] else "same"
                else:
                    status = "modified"
            row["status"] = status
            if _normal(old_text) != _normal(art.text):
                row["changes"] = mark_changes(old_text, art.text)
        rows.append(row)
    # A deleted article goes after the row of the nearest older article that lives on (or first).
    successor_of = {i: j for j, olds in match_new.items() for i in olds}
    after: dict[int, list[dict]] = {}
    for i in range(n_old):
        if i in matched_old:
            continue
        before = [successor_of[k] for k in range(i) if k in successor_of]
        after.setdefault(max(before) if before else -1, []).append(
            {"status": "deleted", "old": [old[i].label], "old_no": old[i].article_no,
             "old_suffix": old[i].article_suffix, "old_text": old[i].text, "new": None})
    rows = after.get(-1, []) + [r for j, row in enumerate(rows) for r in [row] + after.get(j, [])]
    summary = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    mapping: dict[str, list[str]] = {a.label: [] for a in old}
    for r in rows:
        for lab in r["old"]:
            if r["new"]:
                mapping[lab].append(r["new"])
    return {"rows": rows, "summary": summary, "mapping": mapping}


# ---- two versions from the index ------------------------------------------------------------------------------
def edition_records(index: ArticleIndex, version_ids: Iterable[str]) -> list[ArticleRecord]:
    """The articles (条, parts merged) of an edition, in article order."""
    points = [h for vid in version_ids for h in index.version_articles(vid)]
    points.sort(key=lambda h: (h.payload.get("article_no", 0), h.payload.get("article_suffix", ""),
                               h.payload.get("part", 0)))
    return [r for r in group_articles(points) if r.payload.get("kind", "article") == "article"]


def _version_articles(index: ArticleIndex, version_ids: Iterable[str]) -> list[VersionArticle]:
    return [VersionArticle.from_record(r) for r in edition_records(index, version_ids)]


def editions(index: ArticleIndex, regulation_id: str) -> list[dict]:
    """The editions of a regulation, oldest first: {version_date, version_ids, is_current, title}."""
    recs = index.version_records(regulation_id)
    by_date: dict[str, dict] = {}
    for r in sorted(recs, key=lambda r: (r.get("version_date") or "", r.get("ingested_at") or 0.0)):
        ed = by_date.setdefault(r.get("version_date") or "", {"version_date": r.get("version_date") or "",
                                                             "version_ids": [], "is_current": False,
                                                             "title": r.get("title") or "",
                                                             "effective_date": r.get("effective_date") or "",
                                                             "valid_from": r.get("valid_from") or 0,
                                                             "valid_to": r.get("valid_to") or FAR_FUTURE})
        ed["version_ids"].append(r["version_id"])
        ed["is_current"] = ed["is_current"] or bool(r.get("is_current"))
    return list(by_date.values())


def resolve_regulation(index: ArticleIndex, title: str) -> str:
    """The one regulation a written title (full or short) names, in any version; Chinese errors otherwise."""
    if not (title or "").strip():
        raise InvalidFilter("请给出法规名称", detail="title")
    recs = index.resolve_title(title, current_only=False)
    regs = {r["regulation_id"]: r.get("title") for r in recs}
    if not regs:
        raise NotFound(f"未找到法规《{title}》", detail=title)
    if len(regs) > 1:
        raise AmbiguousTitle(f"“{title}”对应多部法规，请写明全称", candidates=sorted(set(regs.values())))
    return next(iter(regs))


def _pick(eds: list[dict], date: str | None, default: int, name: str) -> int:
    if not date:
        return default % len(eds)
    exact = [k for k, e in enumerate(eds) if e["version_date"] == date or e["version_date"][:4] == date]
    if exact:
        return exact[-1]
    # a day between editions: the edition in force then (the latest not after it)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        before = [k for k, e in enumerate(eds) if e["version_date"] and e["version_date"] <= date]
        if before:
            return before[-1]
    dates = "、".join(e["version_date"] or "日期不详" for e in eds)
    raise NotFound(f"没有 {date} 的版本（{name}）；现有版本：{dates}", detail=date)


def compare_versions(index: ArticleIndex, title: str, *, from_date: str | None = None,
                     to_date: str | None = None) -> dict[str, Any]:
    """新旧对照 of a regulation: by default its previous edition against the current one; `from_date`/`to_date`
    pick editions by version date (YYYY-MM-DD or a year) or the edition in force on a day."""
    rid = resolve_regulation(index, title)
    eds = editions(index, rid)
    if len(eds) < 2:
        raise NotFound(f"《{eds[0]['title']}》只有一个版本，无法对照", detail=title)
    current = max((k for k, e in enumerate(eds) if e["is_current"]), default=len(eds) - 1)
    to_k = _pick(eds, to_date, current, "to")
    from_k = _pick(eds, from_date, to_k - 1, "from")
    if from_k == to_k:
        raise InvalidFilter("对照的两个版本相同", detail=f"{from_date or ''} {to_date or ''}".strip())
    old_ed, new_ed = eds[from_k], eds[to_k]
    result = align(_version_articles(index, old_ed["version_ids"]), _version_articles(index, new_ed["version_ids"]))
    public = ("version_date", "version_ids", "is_current", "effective_date")
    return {"regulation_id": rid, "title": new_ed["title"],
            "from": {k: old_ed[k] for k in public}, "to": {k: new_ed[k] for k in public},
            "versions": [{k: e[k] for k in public} for e in eds], **result}


__all__ = [
    "STATUSES",
    "STATUS_NAMES",
    "VersionArticle",
    "align",
    "changed_words",
    "compare_versions",
    "edition_records",
    "editions",
    "mark_changes",
    "resolve_regulation",
]

"""Which penalty article punishes a duty article (谁执法谁普法): the links ingest stored, and the text where it stored
none.

Ingest stores, per article, the labels (第二十八条) of the articles of the same version it penalises
(`enforcement.penalizes`) and of those that penalise it (`enforcement.penalized_by`). `stored_links` is how search
reads them: the linker attaches them to every hit, and the answer composer quotes a duty's linked penalty first.

For a duty that ingest linked to no penalty the answer composer still looks for one in the text (`find_penalty`):
a penalty article of the same version that names the duty (违反本条例第X条), else a retrieved one that does, else
the chapter's general provision (违反本条例规定的行为…依法处罚). Measured on the Xuzhou and STARD dev questions
against a Xuzhou index: of the 31 duties the composer looked a penalty up for, the stored links gave 9, the general
provision 12 (the rest have none). The fallback is written here only; the linker does not use it.
"""
from __future__ import annotations

import re
from typing import Protocol

from corpus.numerals import article_label, label_prefix, parse_label

from search.words import word_list

#: A penalty sentence in a text without chapters: 违反…的，由…处…罚款.
_PENALTY_TEXT = re.compile(r"^(?:[（(][一二三四五六七八九十]+[）)])?\s*(?:违反|未|不|擅自|拒绝|拒不)[^。]{0,200}?的，[^。]{0,120}?"
                           r"(?:处|给予|予以|责令)[^。]{0,120}?(?:罚款|警告|没收|吊销|拘留|处分)", re.M)
#: The chapter's general provision: 违反本条例规定的行为，…适用其规定 / 依法处罚.
_GENERAL_PENALTY = re.compile(r"违反本(?:法|条例|规定|办法|细则)(?:的)?规定的?(?:行为)?[^。]{0,40}"
                              r"(?:适用其规定|从其规定|依照其规定|依照[^。]{0,30}处罚|依法[^。]{0,10}处罚)")


def stored_links(payload: dict) -> list[tuple[str, str]]:
    """(relation, label) pairs ingest stored for an article: the duties it penalises, then the penalties that
    penalise it."""
    enf = payload.get("enforcement") or {}
    return ([("penalizes", lab) for lab in enf.get("penalizes") or []]
            + [("penalized_by", lab) for lab in enf.get("penalized_by") or []])


def link_targets(hit: dict) -> list[tuple[str, tuple]]:
    """(relation, (version id, article number, suffix)) of each stored link whose label is an article label: the
    linked article in the hit's own version."""
    out = []
    for rel, lab in stored_links(hit):
        parsed = parse_label(lab)
        if parsed:
            out.append((rel, (hit.get("version_id"), *parsed)))
    return out


def is_penalty(payload: dict) -> bool:
    """Flagged by ingest, under a penalty heading (`data/penalty_headings.txt`), or worded as one (违反…的，由…处…罚款)
    in a text without chapters. Not ingest's test (ingest.enforcement.links.is_penalty_article reads other headings
    and another wording): this one decides which articles the fallback may quote."""
    headings = word_list("penalty_headings")
    return (bool(payload.get("is_penalty")) or any(any(w in h for w in headings) for h in payload.get("headings") or [])
            or bool(_PENALTY_TEXT.search(payload.get("text") or "")))


class VersionArticles(Protocol):
    """What `find_penalty` reads: the articles of one version, and one of them by label (parts joined)."""

    def version(self, version_id: str) -> list: ...

    def by_label(self, version_id: str, label: str) -> dict | None: ...


def _best(found: list[dict], hints: list[str]) -> dict:
    """Of several penalty articles, the one whose text names most `hints` (第二项, 第一款), the first on a tie."""
    return max(found, key=lambda d: sum(h in (d.get("text") or "") for h in hints))


def find_penalty(duty: dict, enforcement: dict, articles: VersionArticles, retrieved: list[dict],
                 hints: list[str] | None = None) -> tuple[dict | None, str]:
    """The penalty article for a duty article, and how it was found: "linked" (stored by ingest), "referenced"
    (a penalty article of the version names the duty: 违反本条例第X条; of several, the one naming most `hints`, e.g.
    the quoted 项 第二项), "retrieved" (a retrieved penalty article names it), "general" (the chapter's general
    provision), or (None, "")."""
    label = duty.get("label") or article_label(int(duty.get("article_no") or 0), duty.get("article_suffix") or "")
    vid = duty.get("version_id") or ""
    hints = hints or []
    penalized_by = [lab for rel, lab in stored_links({"enforcement": enforcement}) if rel == "penalized_by"]
    linked = [got for got in (articles.by_label(vid, label_prefix(x) or x) for x in penalized_by) if got]
    if linked:
        return _best(linked, hints), "linked"
    pattern = re.compile(r"(?<!》)" + re.escape(label) + r"(?!之)")  # not 《另一部法》第X条
    naming = []
    for h in articles.version(vid):
        p = h.payload
        if p.get("label") != label and p.get("label") not in naming and is_penalty(p) \
                and pattern.search(p.get("text", "")):
            naming.append(p.get("label"))
    if naming:
        return _best([articles.by_label(vid, lab) for lab in naming], hints), "referenced"
    naming_hits = [h for h in retrieved if h.get("version_id") == vid and h.get("label") != label
                   and is_penalty(h) and pattern.search(h.get("text") or "")]
    if naming_hits:
        return _best(naming_hits, hints), "retrieved"
    # No article names it: the chapter's general provision (违反本条例规定的行为，…适用其规定/依法处罚).
    for h in articles.version(vid):
        p = h.payload
        if is_penalty(p) and _GENERAL_PENALTY.search(p.get("text", "")):
            return articles.by_label(vid, p.get("label")), "general"
    return None, ""


__all__ = ["stored_links", "link_targets", "is_penalty", "find_penalty", "VersionArticles"]

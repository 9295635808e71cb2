"""普法责任清单 (谁执法谁普法) as data: for one enforcing agency, the regulations it enforces and a card per key duty.

Built only from the indexed texts and their enforcement payload (ingest.enforcement): no wording is invented
about the law itself. A card says
  适用对象   who the duty binds (the words before 应当/不得… in the duty sentence, else the sanctioned party),
  应当做什么 the duty, quoted from its article (a 项 with the 款 that introduces it),
  违反的后果 the sanctions of the penalty articles that punish it (kinds and fine range in plain words, and the
            sanction sentence quoted),
  依据       《title》第X条 with the quoted words — every quote is a verbatim substring of the article text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from corpus.articles import ArticleRecord, group_articles
from corpus.errors import NotFound
from corpus.index import ArticleIndex
from outreach.consequences import parties, plain_consequence, sanction_line
from outreach.duties import (best_segment, duty_subject, duty_units, for_public, is_regulated_party, named_item,
                             segments)
from outreach.scope import agency_name, select_regulations

MAX_DUTY_ONLY_CARDS = 12  # duty cards of a regulation that has no penalty article of its own
_NOT_A_CONDUCT = re.compile(r"^(?:本(?:法|条例|规定|办法)|构成犯罪)")  # 本法规定的行政处罚，由…决定; 构成犯罪的
_BRIDGE = re.compile(r"违反本(?:法|条例|规定|办法)")  # 违反本条例规定…依照有关法律的规定处罚
_DUTY_SENTENCE = re.compile(r"应当|不得|必须|禁止|严禁")


def regulation_articles(index: ArticleIndex, version_id: str) -> dict[str, ArticleRecord]:
    """第X条 → the whole article (parts merged, 款 and 项 kept) of one version, in text order."""
    return {r.label: r for r in group_articles(index.version_articles(version_id))
            if r.payload.get("kind", "article") == "article"}


def _quote(title: str, label: str, text: str) -> dict:
    return {"title": title, "label": label, "quote": text}


def _consequence(art: ArticleRecord, sline: str) -> dict:
    enf = art.enforcement
    return {"label": art.label, "plain": plain_consequence(enf), "fine_min": enf.get("fine_min"),
            "fine_max": enf.get("fine_max"), "sanctions": list(enf.get("sanction_kinds") or []), "quote": sline}


def _conduct_card(title: str, art: ArticleRecord, sline: str, consequence: dict) -> dict | None:
    """The card of a penalty that names no duty article: 不得有此行为 with the conduct it punishes."""
    enf = art.enforcement
    conduct = next((c for c in enf.get("conduct") or [] if c and c in art.text), None)
    if not conduct or len(conduct) < 6 or _NOT_A_CONDUCT.match(conduct) or "行政处罚" in conduct:
        return None
    if not for_public(None, enf, sline):
        return None
    basis = [_quote(title, art.label, conduct), _quote(title, art.label, sline)]
    return {"subject": "、".join(parties(enf)) or None, "duty": None, "avoid": conduct, "consequences": [consequence],
            "basis": basis, "articles": [art.label]}


def _punished_duty(penalty: ArticleRecord, duty: ArticleRecord, link: dict) -> tuple[str, str | None, str | None]:
    """(duty sentence, lead of its list, the penalty's 项 that restates it) for one duty ↔ penalty link.

    An explicit link's 款/项 are the duty article's (违反本条例第十八条第一款第一项): that 项 is the duty. An implicit
    link's are the penalty's (有下列行为之一的…（二）…): that 项 is the conduct, matched against the duty's sentences.
    """
    if link.get("via") == "explicit":
        named = named_item(duty.clauses, link.get("clause_no"), link.get("item_no"))
        if named:
            return named[0], named[1] or None, None
        item = None
    else:
        found = named_item(penalty.clauses, link.get("clause_no"), link.get("item_no"))
        item = found[0] if found else None
    sentence, lead = best_segment(duty.clauses, item or next(iter(penalty.enforcement.get("conduct") or []), ""))
    return sentence, lead, item


@dataclass
class _PunishedDuty:
    """A duty sentence (a 项 with the lead of its list, or a sentence) and the penalties that punish it."""

    article: ArticleRecord
    lead: str | None
    sentence: str
    subject: str | None
    #: penalty 第X条 → (consequence, the penalty's 项 restating the duty, the penalty's sanction line)
    penalties: dict[str, tuple[dict, str | None, str]] = field(default_factory=dict)

    @property
    def rank(self) -> tuple:
        return self.article.article_no, self.article.article_suffix, False

    @property
    def group(self) -> tuple:
        """项 of one list punished by the same penalties share a card; any other duty sentence has its own."""
        return self.article.label, self.lead, None if self.lead else self.sentence, tuple(self.penalties)


def regulation_cards(title: str, arts: dict[str, ArticleRecord], agency: str) -> list[dict]:
    """Cards of one regulation: one per duty punished by a penalty the agency imposes (the 项 of one list that the
    same penalties punish share a card, under their lead), and one per penalty that names no duty; without such
    penalties, the regulation's duty sentences for the regulated."""
    duties: dict[tuple, _PunishedDuty] = {}
    conduct_cards: list[tuple[tuple, dict]] = []
    for label, art in arts.items():
        enf = art.enforcement
        if not (enf.get("is_penalty") and enf.get("sanctions")) or agency not in (enf.get("enforcing_agencies") or []):
            continue
        sline = sanction_line(art.text, enf)
        consequence = _consequence(art, sline)
        links = [d for d in enf.get("penalizes_detail") or [] if d.get("article") in arts and d.get("article") != label]
        if not links:
            card = _conduct_card(title, art, sline, consequence)
            if card:
                conduct_cards.append(((art.article_no, art.article_suffix, True), card))
            continue
        for link in links:
            duty = arts[link["article"]]
            sentence, lead, item = _punished_duty(art, duty, link)
            punished = duties.get((duty.label, lead, sentence))
            if punished is None:
                subject = duty_subject(lead or sentence) or ("、".join(parties(enf)) or None)
                if not for_public(subject, enf, sline):
                    continue
                punished = duties[(duty.label, lead, sentence)] = _PunishedDuty(duty, lead, sentence, subject)
            punished.penalties.setdefault(label, (consequence, item, sline))
    if not duties and not conduct_cards:
        return duty_only_cards(title, arts)
    groups: dict[tuple, list[_PunishedDuty] | dict] = {}
    # Stable: article order (a penalty's own card after the duties of its number), then first seen.
    for rank, entry in sorted([(d.rank, d) for d in duties.values()] + conduct_cards, key=lambda e: e[0]):
        if isinstance(entry, dict):
            groups[rank] = entry
        else:
            groups.setdefault(entry.group, []).append(entry)
    return [g if isinstance(g, dict) else _duty_card(title, g) for g in groups.values()]


def _duty_card(title: str, group: list[_PunishedDuty]) -> dict:
    """One card for the duty sentences of one article (the 项 of one list, under their lead) and their penalties."""
    first = group[0]
    label, lead = first.article.label, first.lead
    sentences = [d.sentence for d in group]
    basis = [_quote(title, label, s) for s in ([lead] if lead else []) + sentences]
    for pen, (_, _, sline) in first.penalties.items():
        items = dict.fromkeys(d.penalties[pen][1] for d in group)  # the penalty's 项 restating them
        basis += [_quote(title, pen, i) for i in items if i] + [_quote(title, pen, sline)]
    return {"subject": first.subject, "duty": (lead or "") + "".join(sentences), "avoid": None,
            "consequences": [c for c, _, _ in first.penalties.values()], "basis": basis,
            "articles": [label, *first.penalties]}


def _bridge(arts: dict[str, ArticleRecord]) -> tuple[str, str] | None:
    """The article that says which penalties apply to the regulation (违反本条例…依照…规定处罚): (label, sentence)."""
    for label, art in arts.items():
        for s in segments(art.text):
            if _BRIDGE.search(s) and re.search(r"依照|适用|按照", s):
                return label, s
    return None


def duty_only_cards(title: str, arts: dict[str, ArticleRecord]) -> list[dict]:
    """A regulation without penalty articles of its own: its duty sentences for the regulated (not the
    government's own tasks), and the article that says which penalties apply (违反本条例…依照其规定)."""
    bridge = _bridge(arts)
    cards = []
    for label, art in arts.items():
        if any("附则" in h or "总则" in h for h in art.payload.get("headings") or []):
            continue
        for s in segments(art.text):
            if not _DUTY_SENTENCE.search(s):
                continue
            subject = duty_subject(s)
            if not is_regulated_party(subject):
                continue
            items = [u for u, lead in duty_units(art.clauses) if lead == s]  # 履行下列责任：（一）…（二）…
            basis = [_quote(title, label, s)] + [_quote(title, label, i) for i in items]
            consequence = []
            if bridge:
                consequence.append({"label": bridge[0], "plain": "依照有关法律、法规的处罚规定处理",
                                    "fine_min": None, "fine_max": None, "sanctions": [], "quote": bridge[1]})
                basis.append(_quote(title, bridge[0], bridge[1]))
            cards.append({"subject": subject, "duty": s + "".join(items), "avoid": None, "consequences": consequence,
                          "basis": basis, "articles": [label] + ([bridge[0]] if bridge else [])})
            break  # one card per article
        if len(cards) >= MAX_DUTY_ONLY_CARDS:
            break
    return cards


def build_outreach(index: ArticleIndex, agency: str, *, region: str | None = None) -> dict[str, Any]:
    """The 普法责任清单 as data: {agency, region, regions, regulations: [{title, region, level, version_date,
    version_id, effective_date, cards: [...]}]}. Raises NotFound when the agency enforces nothing in scope."""
    name = agency_name(agency)
    region = (region or "").strip() or None
    picked, covered = select_regulations(index.version_records(), name, region)
    if not picked:
        raise NotFound(f"未找到由“{agency}”执法的现行法规", detail=f"{agency} {region or ''}".strip())
    regs = []
    for rec in picked:
        arts = regulation_articles(index, rec["version_id"])
        regs.append({"title": rec.get("title"), "region": rec.get("region") or "全国", "level": rec.get("level"),
                     "version_date": rec.get("version_date"), "effective_date": rec.get("effective_date"),
                     "version_id": rec.get("version_id"), "cards": regulation_cards(rec.get("title", ""), arts, name)})
    return {"agency": name, "region": region, "regions": covered, "regulations": regs}

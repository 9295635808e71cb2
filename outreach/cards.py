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
from corpus.model import first_effective_date, own_effective_date
from corpus.numerals import cn_to_int
from corpus.numerals import int_to_cn as cn_numeral
from ingest.enforcement.fines import Sanction, conduct_subject, extract_sanctions, fine_range
from ingest.enforcement.links import STATES_DUTIES, UNFULFILLED_DUTIES
from outreach.consequences import parties, plain_consequence, sanction_line
from outreach.duties import (best_segment, binds_authority, duty_subject, duty_units, for_public, is_list_lead,
                             is_regulated_party, leading_party, named_item, segments)
from outreach.fields import FieldStore, list_fields
from outreach.scope import agency_name, select_regulations

MAX_DUTY_ONLY_CARDS = 12  # duty cards of a regulation that has no penalty article of its own
_NOT_A_CONDUCT = re.compile(r"^(?:本(?:法|条例|规定|办法)|构成犯罪)")  # 本法规定的行政处罚，由…决定; 构成犯罪的
_BRIDGE = re.compile(r"违反本(?:法|条例|规定|办法)")  # 违反本条例规定…依照有关法律的规定处罚
_DUTY_SENTENCE = re.compile(r"应当|不得|必须|禁止|严禁")
#: A 款 that takes its sanctions from the one before: 依照前款规定处罚.
_BORROWS = re.compile(r"依照前款(?:的)?规定(?:予以)?处罚")
#: A 款 that goes on with the conduct of the one before: 有前款违法行为，导致…的; …依照前款规定受刑事处罚的.
_RESTATES = re.compile(r"^[^。；]{0,30}?(?:有前款|依照前款|违反前款)")
_ITEM_NO = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
#: A subject that is a reference, not a party: 前款规定以外的其他生产经营单位.
_REFERENCE = re.compile(r"^(?:前款|本条|前条|前两款)")


def regulation_articles(index: ArticleIndex, version_id: str) -> dict[str, ArticleRecord]:
    """第X条 → the whole article (parts merged, 款 and 项 kept) of one version, in text order."""
    return {r.label: r for r in group_articles(index.version_articles(version_id))
            if r.payload.get("kind", "article") == "article"}


def _quote(title: str, label: str, text: str) -> dict:
    return {"title": title, "label": label, "quote": text}


def _penalty_clauses(art: ArticleRecord, clause_no: int | None, sline: str) -> list[str]:
    """The 款 of a penalty article that state what a link costs, verbatim: its own 款 (the one naming the duty or
    the conduct) with the 项 that hold sanctions (…依照下列规定处以罚款：（一）发生一般事故的，处…), the 款 whose
    sanctions it borrows (依照前款规定处罚), and the 款 after it that add sanctions to the same conduct (有前款违法
    行为，导致发生生产安全事故的，…). Without a known 款, the article's sanction line."""
    clauses = art.clauses
    if not clause_no or not 0 < clause_no <= len(clauses) or not (clauses[clause_no - 1].get("text") or "").strip():
        return [sline] if sline else []

    def with_items(clause: dict) -> list[str]:
        return [(clause.get("text") or "").strip()] + [i.strip() for i in clause.get("items") or []
                                                       if i.strip() and extract_sanctions(i)]

    own = with_items(clauses[clause_no - 1])
    out = list(own)
    if clause_no > 1 and _BORROWS.search(own[0]) and not extract_sanctions(_without_borrowing(own[0])):
        out = with_items(clauses[clause_no - 2]) + out
    for following in clauses[clause_no:]:
        text = (following.get("text") or "").strip()
        if not (_RESTATES.match(text) and extract_sanctions(text)):
            break
        out += with_items(following)
    return out


def _without_borrowing(text: str) -> str:
    return _BORROWS.sub("", text)


def _consequence(art: ArticleRecord, quotes: list[str], clause_no: int | None) -> dict:
    """What breaking the duty costs, in plain words computed from the quoted 款 only (so every range shown is in
    the words quoted next to it)."""
    sanctions = [x.to_dict() for x in extract_sanctions("\n".join(quotes))]
    lo, hi = fine_range([Sanction(**{**x, "span": tuple(x["span"])}) for x in sanctions])
    enf = {"sanctions": sanctions, "fine_min": lo, "fine_max": hi}
    several = len([c for c in art.clauses if (c.get("text") or "").strip()]) > 1
    cite = art.label + (f"第{cn_numeral(clause_no)}款" if several and clause_no and len(quotes) == 1 else "")
    return {"label": art.label, "cite": cite, "plain": plain_consequence(enf), "fine_min": lo, "fine_max": hi,
            "sanctions": list(dict.fromkeys(x["kind"] for x in sanctions)), "quote": "\n".join(quotes),
            "quotes": quotes}


def _conduct_card(title: str, art: ArticleRecord, consequence: dict) -> dict | None:
    """The card of a penalty that names no duty article: 不得有此行为 with the conduct it punishes."""
    enf = art.enforcement
    conduct = next((c for c in enf.get("conduct") or [] if c and c in art.text), None)
    if not conduct or len(conduct) < 6 or _NOT_A_CONDUCT.match(conduct) or "行政处罚" in conduct:
        return None
    if not for_public(None, enf, consequence["quote"]):
        return None
    basis = [_quote(title, art.label, conduct)] + [_quote(title, art.label, q) for q in consequence["quotes"]
                                                   if q != conduct]
    return {"subject": _party(None, enf, conduct), "duty": None, "avoid": conduct,
            "consequences": [consequence], "basis": basis, "articles": [art.label]}


def _party(subject: str | None, enf: dict, conduct: str | None = None, duty: str | None = None) -> str | None:
    """The card's 适用对象: the duty's subject when it is a party (生产经营单位, 养犬人), else the party its sentence
    starts with (生产者生产产品…), else the party the penalty falls on, else the party its conduct names (养犬人饲养禁养
    犬只的); never a place, an activity or a circumstance (在重点管理区内, 养犬, 犬只咬伤他人)."""
    if is_regulated_party(subject) and not _REFERENCE.match(subject or ""):
        return subject
    if leading_party(duty):
        return leading_party(duty)
    named = [p for p in parties(enf) if is_regulated_party(p)]
    if named:
        return "、".join(named)
    for candidate in (conduct_subject(conduct or ""), leading_party(conduct)):
        if is_regulated_party(candidate):
            return candidate
    return None


def _punished_units(penalty: ArticleRecord, duty: ArticleRecord, link: dict) -> tuple[list[tuple[str, str | None]],
                                                                                     str | None]:
    """([(duty sentence, lead of its list)], the penalty's 项 that restates it) for one duty ↔ penalty link.

    An explicit link's 款/项 are the duty article's (违反本条例第十八条第一款第一项): that 项 is the duty, and a
    whole 款 that introduces a list is the duty with all its 项. An implicit link's are the penalty's
    (有下列行为之一的…（二）…): that 项 is the conduct, matched against the duty's sentences. A lead chosen alone
    brings its 项 (a lead-in is never quoted without its items).
    """
    item = None
    if penalty.label == duty.label and not link.get("clause_no"):  # …应当…。违反前款规定的，处…
        link = {**link, "via": "explicit", "clause_no": _clause_punished(penalty, link.get("penalty_clause"))}
    if link.get("via") == "explicit":
        named = named_item(duty.clauses, link.get("clause_no"), link.get("item_no"))
        if named:
            return [(named[0], named[1] or None)], None
        clause_no = link.get("clause_no")
        if clause_no and 0 < clause_no <= len(duty.clauses):
            clause = duty.clauses[clause_no - 1]
            lead = (clause.get("text") or "").strip()
            items = [i.strip() for i in clause.get("items") or [] if i.strip()]
            if items and is_list_lead(lead):
                return [(i, lead) for i in items], None
    else:
        clause_no = link.get("penalty_clause") or link.get("clause_no")
        found = named_item(penalty.clauses, clause_no, link.get("item_no"))
        item = found[0] if found else None
        conduct = item or _clause_text(penalty, clause_no)
        if UNFULFILLED_DUTIES.search(conduct or ""):  # 未履行本法规定的安全生产管理职责: every duty of the list
            lists = [(u, lead) for u, lead in duty_units(duty.clauses) if lead and STATES_DUTIES.search(lead)]
            if lists:
                return lists, None
    sentence, lead = best_segment(duty.clauses, item or _clause_text(penalty, link.get("penalty_clause"))
                                  or next(iter(penalty.enforcement.get("conduct") or []), ""))
    if not lead and is_list_lead(sentence):
        items = [u for u, of in duty_units(duty.clauses) if of == sentence]
        if items:
            return [(u, sentence) for u in items], item
    return [(sentence, lead)], item


@dataclass
class _DutyCard:
    """One duty article's card: the sentences (项 under their lead) that penalties punish, and those penalties."""

    article: ArticleRecord
    subject: str | None = None
    units: list[tuple[str, str | None]] = field(default_factory=list)
    #: (penalty 第X条, its 款) → (consequence, the duty sentences it punishes, the penalty's 项 restating them)
    penalties: dict[tuple, tuple[dict, list[str], list[str]]] = field(default_factory=dict)


def regulation_cards(title: str, arts: dict[str, ArticleRecord], agency: str) -> list[dict]:
    """Cards of one regulation: one per duty article punished by a penalty the agency imposes (its punished
    sentences, the 项 under their lead, with every penalty and what each costs), and one per penalty that names
    no duty; without such penalties, the regulation's duty sentences for the regulated."""
    duties: dict[str, _DutyCard] = {}
    conduct_cards: list[tuple[tuple, dict]] = []
    for label, art in arts.items():
        enf = art.enforcement
        if not (enf.get("is_penalty") and enf.get("sanctions")) or agency not in (enf.get("enforcing_agencies") or []):
            continue
        sline = sanction_line(art.text, enf)
        links = [d for d in enf.get("penalizes_detail") or [] if d.get("article") in arts
                 and (d.get("article") != label or d.get("via") == "same_article" or d.get("clause_no"))]
        if not links:
            clause_no = next((i for i, c in enumerate(art.clauses, 1) if sline and sline in (c.get("text") or "")),
                             None)
            card = _conduct_card(title, art, _consequence(art, _penalty_clauses(art, clause_no, sline), clause_no))
            if card:
                conduct_cards.append(((art.article_no, art.article_suffix, True), card))
            continue
        for link in links:
            duty = arts[link["article"]]
            clause_no = link.get("penalty_clause") or _clause_naming(art, duty.label)
            quotes = _penalty_clauses(art, clause_no, sline)
            consequence = _consequence(art, quotes, clause_no)
            units, item = _punished_units(art, duty, link)
            units = [(s, lead) for s, lead in units if s]
            if not units:
                continue
            card = duties.get(duty.label)
            if card is None:
                subject = duty_subject(units[0][1] or units[0][0])
                if not for_public(subject, enf, consequence["quote"]) or binds_authority(units[0][1] or units[0][0]):
                    continue
                card = duties[duty.label] = _DutyCard(duty, _party(subject, enf, quotes[0], units[0][1] or units[0][0]))
            for unit in units:
                if unit not in card.units:
                    card.units.append(unit)
            entry = card.penalties.setdefault((label, clause_no), (consequence, [], []))
            entry[1].extend(s for s, _ in units if s not in entry[1])
            if item and item not in entry[2]:
                entry[2].append(item)
    if not duties and not conduct_cards:
        return duty_only_cards(title, arts)
    ranked = [((d.article.article_no, d.article.article_suffix, False), _duty_card(title, d)) for d in duties.values()]
    return [card for _, card in sorted(ranked + conduct_cards, key=lambda e: e[0])]


def _clause_punished(art: ArticleRecord, penalty_clause: int | None) -> int | None:
    """The 款 of an article that its own penalty 款 punishes: 违反第二款规定的 / 违反前款规定的 / else the first 款
    stating a duty without a sanction."""
    text = _clause_text(art, penalty_clause)
    m = re.search(r"违反(?:本条)?第([一二三四五六七八九十]+)款", text)
    if m:
        return cn_to_int(m.group(1))
    if penalty_clause and penalty_clause > 1 and re.search(r"违反前款|有前款", text):
        return penalty_clause - 1
    return next((i for i, c in enumerate(art.clauses, 1) if i != penalty_clause
                 and _DUTY_SENTENCE.search(c.get("text") or "") and not extract_sanctions(c.get("text") or "")), None)


def _clause_text(art: ArticleRecord, clause_no: int | None) -> str:
    if clause_no and 0 < clause_no <= len(art.clauses):
        return (art.clauses[clause_no - 1].get("text") or "").strip()
    return ""


def _clause_naming(penalty: ArticleRecord, duty_label: str) -> int | None:
    """The 款 of a penalty article that names a duty article (违反本条例第十条…), for links stored without it."""
    pattern = re.compile(re.escape(duty_label) + r"(?!之)")
    return next((i for i, c in enumerate(penalty.clauses, 1) if pattern.search(c.get("text") or "")), None)


def _duty_card(title: str, card: _DutyCard) -> dict:
    """The card's fields: the duty (each lead once, before its first 项, in the article's order), what each
    penalty costs (with the 项 it punishes when the card holds several), and every quote it rests on."""
    art = card.article
    order = {u: art.text.find(u[0]) for u in card.units}
    units = sorted(card.units, key=lambda u: order[u] if order[u] >= 0 else len(art.text))
    duty_parts: list[str] = []
    for sentence, lead in units:
        if lead and lead not in duty_parts:
            duty_parts.append(lead)
        duty_parts.append(sentence)
    basis = [_quote(title, art.label, part) for part in duty_parts]
    consequences = []
    for (pen, _), (consequence, punished, items) in card.penalties.items():
        scope = ""
        if len(units) > 1 and len(punished) < len(units):
            numbers = [m.group(0) for m in (_ITEM_NO.match(s) for s in punished) if m]
            scope = "".join(numbers) + "项" if len(numbers) == len(punished) else ""
        consequences.append({**consequence, "scope": scope})
        # The penalty's own 款 first, then the 项 of its list that restate the duty (a lead-in with its items).
        quotes = consequence["quotes"]
        basis += [_quote(title, pen, q) for q in [*quotes[:1], *items, *quotes[1:]]]
    articles = list(dict.fromkeys([art.label, *(pen for pen, _ in card.penalties)]))
    return {"subject": card.subject, "duty": "".join(duty_parts), "avoid": None, "consequences": consequences,
            "basis": _unique_quotes(basis), "articles": articles}


def _unique_quotes(basis: list[dict]) -> list[dict]:
    seen, out = set(), []
    for q in basis:
        if (q["label"], q["quote"]) not in seen:
            seen.add((q["label"], q["quote"]))
            out.append(q)
    return out


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


def build_outreach(index: ArticleIndex, agency: str, *, region: str | None = None,
                   store: FieldStore | None = None) -> dict[str, Any]:
    """The 普法责任清单 as data: {agency, region, regions, fields: {responsible_unit, content, audience, methods,
    key_dates, completion_standard}, regulations: [{title, region, level, version_date, version_id,
    effective_date, cards: [...]}]}; the fields are the data file's defaults with an admin's overrides from
    `store`. Raises NotFound when the agency enforces nothing in scope."""
    name = agency_name(agency)
    region = (region or "").strip() or None
    picked, covered = select_regulations(index.version_records(), name, region)
    if not picked:
        raise NotFound(f"未找到由“{agency}”执法的现行法规", detail=f"{agency} {region or ''}".strip())
    regs = []
    for rec in picked:
        arts = regulation_articles(index, rec["version_id"])
        # The version's own 施行 date only (an index built before first_effective_date existed may hold the first
        # version's date as effective_date: shown as such, never as this version's).
        own, first = own_effective_date(rec), first_effective_date(rec)
        regs.append({"title": rec.get("title"), "region": rec.get("region") or "全国", "level": rec.get("level"),
                     "version_date": rec.get("version_date"), "effective_date": own, "first_effective_date": first,
                     "version_id": rec.get("version_id"), "cards": regulation_cards(rec.get("title", ""), arts, name)})
    doc = {"agency": name, "region": region, "regions": covered, "regulations": regs}
    doc["fields"] = list_fields(doc, store.get(name, region) if store else None)
    return doc

"""谁执法谁普法 analysis of one regulation: who enforces each article, which duty each penalty punishes.

`analyse_regulation(articles, title)` takes the parsed articles of one regulation (corpus.model.Article, possibly
split into parts) and returns an `EnforcementInfo`: per article (key 第X条) the agencies it names, whether it is a
penalty provision, its conduct (the words before 的，), its explicit references resolved to (title, 第X条), the duty
articles it penalises (explicit 违反本法第X条, else the duty article whose wording the conduct restates, with a
confidence), the sanctions and fine range, the agency imposing them, and the reverse links (duty → penalties).
Everything `payload(key)` returns is JSON-serialisable, for the search index payload.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from corpus.model import Article
from corpus.numerals import article_label
from corpus.titles import normalize_title
from ingest.enforcement.agencies import find_agencies, find_agency_mentions, local_aliases
from ingest.enforcement.fines import Sanction, conduct_subject, extract_sanctions, fine_range
from ingest.enforcement.references import Reference, find_references

PENALTY_HEADINGS = ("法律责任", "罚则", "奖励与处罚", "奖惩", "惩戒与处罚")
# 违反…的，由…处…罚款 outside a 法律责任 chapter.
_PENALTY_TEXT = re.compile(r"(?:违反|未|不|擅自|拒绝|拒不)[^。]{0,160}?的，[^。]{0,120}?(?:处|给予|予以)[^。]{0,80}?"
                           r"(?:罚款|警告|拘留|通报批评|处分)|(?:违反|未|不|擅自)[^。]{0,160}?的，[^。]{0,60}?"
                           r"(?:没收|吊销|暂扣|责令停产停业)|(?:违反|未)[^。]{0,160}?的，[^。]{0,20}?(?:依照|按照)[^。]{0,60}?规定"
                           r"(?:予以|进行)?(?:处罚|处理)|有下列(?:行为|情形)之一的，[^。]{0,60}?(?:给予|予以)[^。]{0,20}?处分")
_ITEM_PREFIX = re.compile(r"^\s*[（(][一二三四五六七八九十百]+[）)]\s*")
_LIST_CONDUCT = re.compile(r"(?:有|存在|具有|出现)下列(?:[^，。；]{0,12})?(?:行为|情形|情况|事项)之一")
_IMPOSER = re.compile(r"由(?P<who>[^，；。]{2,60}?)(?:依照|按照|根据|依法|责令|处以?|给予|予以|没收|吊销|暂扣|决定)")
_PUNCT = re.compile(r"[\s，,；;。：:、“”‘’《》（）()【】\[\]！？!?\-—…·0-9０-９]+")
# Words of every penalty sentence; removed before comparing a conduct with duty articles.
_FILLER = re.compile(r"擅自|未按照规定|按照规定|按规定|依照规定|依法|未|不|没有|或者|以及|及其|和|的|对|将|其|有关|相应|应当|规定|本法|本条例")

IMPLICIT_THRESHOLD = 0.5  # minimum score of the best duty sentence for an implicit link
PARTY_BONUS = 0.3  # the duty sentence binds the party the penalty speaks of (主要负责人 … 主要负责人)
PARTY_PENALTY = 0.3  # it binds another party (安全生产管理人员 where the penalty speaks of 生产经营单位)
SECOND_LINK_MARGIN = 0.05  # a second duty article of one conduct: scored within this margin of the best
OWN_WORD_FLOOR = 0.1  # the least score of an article linked for a word of the conduct that it alone uses
#: Words that end the subject of a duty sentence: 生产经营单位|对…应当…, …的主要负责人|负有下列职责.
_DUTY_SUBJECT_END = re.compile(r"对|在|应当|不得|必须|负有|履行|负责(?!人)|禁止|严禁|方可|须|依照|依法|按照|根据")
_PARTY_SPLIT = re.compile(r"以及|或者|和|、|及")
#: A parenthesised level or remark inside a party: 县（市、区）公安部门 is 县公安部门.
_PARENTHESES = re.compile(r"[（(][^（）()]{0,12}[）)]")
#: The level before an authority: 县公安部门, 县级以上地方各级人民政府.
_LEVEL = re.compile(r"(?:[省市县区乡镇、]|级以上|地方|各级|本级|其他)+")
#: A subject that names a party (a unit, a person, an authority), not a thing (安全设备的设计…).
_OWNER = re.compile(r"^(?:其(?!他)|该|本单位)")  # 其主要负责人, 该单位: the owner before the party
_PARTY_WORD = re.compile(r"(?:单位|人员|人|机构|者|企业|组织|部门|机关|政府|办事处|委员会)$")
#: The authorities and their staff: their duties are not the regulated parties' duties, and the reverse.
_AUTHORITY = re.compile(r"人民政府|部门|机关|办事处|管理委员会|派出机构|工作人员|监督检查人员|执法人员")
#: Where a sentence goes on with another party's duty: …的决定，|生产经营单位应当依法执行 (or a new sentence).
_NEW_SUBJECT = re.compile(r"(?<=[。；])|(?<=，)(?=[^，。；]{2,24}?(?:应当|不得|必须))")
#: A conduct that names the party's duties as a whole: 未履行本法规定的安全生产管理职责.
UNFULFILLED_DUTIES = re.compile(r"未履行[^，。；]{0,16}职责")
STATES_DUTIES = re.compile(r"(?:负有|履行)[^。；]{0,12}职责")
_PERSON = re.compile(r"(?:人|人员|者)$")
_OFFICIALS_ONLY = {"处分", "追究刑事责任"}
#: Alternatives of one conduct, each of which may restate another duty (…培训，或者未如实告知…).
_ALTERNATIVE = re.compile(r"[，；]或者")
DUTY_FORMS_FILE = Path(__file__).resolve().parent.parent / "data" / "duty_forms.tsv"


@cache
def duty_forms() -> list[tuple[re.Pattern[str], str]]:
    """The rewrites of ingest/data/duty_forms.tsv: a penalty's wording of a breach → the duty article's wording."""
    out = []
    for line in DUTY_FORMS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, _, form = line.partition("\t")
            out.append((re.compile(pattern), form))
    return out


def as_duty(conduct: str) -> str:
    """A conduct in the words of the duty it breaks (玩忽职守 → 忠于职守, 领取养犬登记证 → 养犬登记，申请登记)."""
    for pattern, form in duty_forms():
        conduct = pattern.sub(form, conduct)
    return conduct


def duty_subject(sentence: str) -> str | None:
    """Who a duty sentence binds, roughly: the words before 对/应当/负有…, the last piece that is not a condition."""
    s = _ITEM_PREFIX.sub("", sentence)
    m = next((m for m in _DUTY_SUBJECT_END.finditer(s) if m.start() >= 2), None)
    if m is None:
        return None
    pieces = [p for p in re.split(r"[，,]", s[:m.start()]) if p.strip()]
    pieces = [p for p in pieces if not p.endswith(("的", "时", "后"))] or pieces
    named = [p for p in pieces if parties(p)]  # 公安部门是…主管部门，具体|负责…: the piece that names a party
    return (named or pieces)[-1].strip() if pieces else None


def parties(subject: str | None) -> frozenset[str]:
    """The parties a subject names, each without its owner: 生产经营单位的决策机构、主要负责人或者个人经营的投资人 →
    {决策机构, 主要负责人, 投资人}; empty when it names no party."""
    return _parties(subject or "")


@lru_cache(maxsize=8192)
def _parties(subject: str) -> frozenset[str]:
    # Kept for the recent subjects: linking a text's penalties asks again for the same sentences' subjects, article
    # after article (≈ 500k calls for 240 national laws, a quarter of their parse time).
    out = set()
    for piece in _PARTY_SPLIT.split(_PARENTHESES.sub("", subject)):
        tail = _OWNER.sub("", piece.rsplit("的", 1)[-1])
        if len(tail) >= 2 and _PARTY_WORD.search(tail) and not tail.endswith("他人"):  # 犬只咬伤他人: a circumstance
            out.add(tail)
    return frozenset(out)


def same_party(a: set[str], b: set[str]) -> bool:
    """Whether two sets of parties share one, a level before it aside (县公安部门 is a 公安部门, 其他有关部门 an
    有关部门; 协助本单位主要负责人 is no 主要负责人)."""
    return any(x == y or x.endswith(y) and _LEVEL.fullmatch(x[:-len(y)]) or y.endswith(x) and _LEVEL.fullmatch(y[:-len(x)])
               for x in a for y in b)


def is_authority(subject: str | None) -> bool | None:
    """True when a subject names an authority or its staff, False when it names regulated parties only, None when
    it names no party."""
    named = parties(subject)
    if not named:
        return None
    return any(_AUTHORITY.search(p) for p in named)


@dataclass
class DutyLink:
    article: str  # 第X条 of the same regulation
    via: str  # "explicit" (违反本法第X条), "implicit" (wording overlap), "same_article" (…应当…。违反…的，处…)
    confidence: float = 1.0
    clause_no: int | None = None
    item_no: int | None = None  # the 项 of the penalty article whose conduct was matched (implicit), if any
    penalty_clause: int | None = None  # the 款 of the penalty article that states this link (its conduct, 违反…)

    def to_dict(self) -> dict[str, Any]:
        return {"article": self.article, "via": self.via, "confidence": round(self.confidence, 3),
                "clause_no": self.clause_no, "item_no": self.item_no, "penalty_clause": self.penalty_clause}


@dataclass
class ArticleEnforcement:
    key: str  # 第X条
    article_no: int
    suffix: str = ""
    agencies: list[str] = field(default_factory=list)
    is_penalty: bool = False
    conduct: list[str] = field(default_factory=list)
    subject: str | None = None
    references_out: list[dict[str, Any]] = field(default_factory=list)
    penalizes: list[DutyLink] = field(default_factory=list)
    penalized_by: list[DutyLink] = field(default_factory=list)  # DutyLink.article is the penalty article here
    sanctions: list[Sanction] = field(default_factory=list)
    enforcing_agencies: list[str] = field(default_factory=list)

    @property
    def fine_range(self) -> tuple[float | None, float | None]:
        return fine_range(self.sanctions)

    def payload(self) -> dict[str, Any]:
        lo, hi = self.fine_range
        return {
            "agencies": list(self.agencies),
            "is_penalty": self.is_penalty,
            "penalizes": _unique(link.article for link in self.penalizes),
            "penalized_by": _unique(link.article for link in self.penalized_by),
            "penalizes_detail": [link.to_dict() for link in self.penalizes],
            "penalized_by_detail": [link.to_dict() for link in self.penalized_by],
            "sanctions": [s.to_dict() for s in self.sanctions],
            "sanction_kinds": _unique(s.kind for s in self.sanctions),
            "fine_min": lo,
            "fine_max": hi,
            "references_out": list(self.references_out),
            "conduct": list(self.conduct),
            "enforcing_agencies": list(self.enforcing_agencies),
        }


@dataclass
class EnforcementInfo:
    title: str
    main_agencies: list[str] = field(default_factory=list)
    articles: dict[str, ArticleEnforcement] = field(default_factory=dict)

    def payload(self, key: str) -> dict[str, Any]:
        """The payload fields of article `key` (第X条); empty fields for an unknown key."""
        art = self.articles.get(key)
        return art.payload() if art else ArticleEnforcement(key=key, article_no=0).payload()

    def payload_for(self, article: Article) -> dict[str, Any]:
        return self.payload(article_label(article.article_no, article.article_suffix))

    def penalty_articles(self) -> list[ArticleEnforcement]:
        return [a for a in self.articles.values() if a.is_penalty]

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "main_agencies": list(self.main_agencies),
                "articles": {k: a.payload() for k, a in self.articles.items()}}


def _unique(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


@dataclass
class _Merged:
    key: str
    article_no: int
    suffix: str
    headings: list[str]
    clauses: list[tuple[str, list[str]]]  # (clause text, item lines)

    @property
    def text(self) -> str:
        return "\n".join("\n".join([c, *items]) for c, items in self.clauses)


def _merge(articles: list[Article]) -> list[_Merged]:
    """One entry per 条: parts of a split article joined again, in text order."""
    merged: dict[str, _Merged] = {}
    for a in articles:
        if a.kind != "article":
            continue
        key = article_label(a.article_no, a.article_suffix)
        m = merged.get(key)
        if m is None:
            m = merged[key] = _Merged(key, a.article_no, a.article_suffix, list(a.headings), [])
        if a.clauses:
            m.clauses.extend((c.text, list(c.items)) for c in a.clauses)
        elif a.text:
            m.clauses.extend((line, []) for line in a.text.split("\n") if line.strip())
    return list(merged.values())


def _in_penalty_chapter(headings: list[str]) -> bool:
    return any(p in h for h in headings for p in PENALTY_HEADINGS)


def is_penalty_article(text: str, headings: list[str]) -> bool:
    """In a 法律责任 chapter, or worded 违反…的，(由…)处…罚款 elsewhere."""
    return _in_penalty_chapter(headings) or bool(_PENALTY_TEXT.search(text))


def conduct_units(clauses: list[tuple[str, list[str]]]) -> list[tuple[int, int | None, str]]:
    """The conduct each penalty clause punishes: (clause_no, item_no, words), items of 有下列行为之一的 lists.

    Only clauses that state a sanction count (a duty clause of a mixed article, or 受处分的，五年内不得… is no
    conduct).
    """
    out: list[tuple[int, int | None, str]] = []
    for ci, (text, items) in enumerate(clauses, start=1):
        if not extract_sanctions("\n".join([text, *items])):
            continue
        m = re.search(r"的[，,：:；]", text)
        if not m:
            continue
        head = re.sub(r"^(?:对)?违反[^，。；]{0,60}?规定(?:的行为)?，", "", text[:m.start() + 1])
        head = re.sub(r"有前[款条]规定以外的", "", head)  # 有前款规定以外的滥用职权…行为: a conduct of its own
        if re.search(r"有前[款条]|依照前款", head):
            continue  # restates the previous clause's conduct
        if _LIST_CONDUCT.search(head) and items:
            for ii, item in enumerate(items, start=1):
                out.append((ci, ii, _ITEM_PREFIX.sub("", item).rstrip("；;。的")))
            continue  # the words before 有下列行为之一的 name the party, not a conduct
        out.append((ci, None, head))
    return out


def _without_agencies(text: str) -> str:
    """The text with each agency name (负有安全生产监督管理职责的部门 …) replaced by a space."""
    for m in reversed(find_agency_mentions(text)):
        text = text[:m.span[0]] + " " + text[m.span[1]:]
    return text


def _bigrams(text: str) -> list[str]:
    """Character bigrams of the words of a duty or conduct: agency names (负有安全生产监督管理职责的部门, in every
    article of a law) and the filler of every penalty sentence left out."""
    t = _FILLER.sub(" ", _without_agencies(text))
    out = []
    for chunk in _PUNCT.split(t):
        for piece in chunk.split(" "):
            out.extend(piece[i:i + 2] for i in range(len(piece) - 1))
    return out


@dataclass
class _DutyUnit:
    article: str  # 第X条
    text: str  # one sentence of a 款, or one 项
    subject: str | None  # who it binds (a 项: the subject of the 款 that introduces it)


def duty_units(article: _Merged) -> list[_DutyUnit]:
    """The duty sentences of an article: each sentence of each 款 (with the subject of the one before when it
    names none), and each 项 with the subject of its lead."""
    out: list[_DutyUnit] = []
    for clause, items in article.clauses:
        lead_subject = None
        for sentence in _NEW_SUBJECT.split(clause):
            # A sentence without a party of its own goes on with the previous one's (…部门对符合条件的，予以登记；不符合
            # 条件的，不予登记; 有关部门应当…，对举报、投诉的违法行为应当依法进行处理).
            own = duty_subject(sentence)
            lead_subject = own if own and (parties(own) or not parties(lead_subject)) else lead_subject
            out.append(_DutyUnit(article.key, sentence, lead_subject))
        for item in items:
            out.append(_DutyUnit(article.key, item, duty_subject(item) or lead_subject))
    return out


class _DutyIndex:
    """IDF-weighted char-bigram containment of a conduct in each candidate duty article, with the party bound by
    the article's sentence closest to the conduct weighed against the party the penalty speaks of."""

    def __init__(self, candidates: list[_Merged]):
        self.keys = [c.key for c in candidates]
        self.grams = [set(_bigrams(c.text)) for c in candidates]
        self.unit_texts = [[(u.text, u.subject) for u in duty_units(c)] for c in candidates]
        self.units = [[(set(_bigrams(t)), sub) for t, sub in units] for units in self.unit_texts]
        df = self.df = Counter(g for gs in self.grams for g in gs)
        n = len(self.grams)
        self.idf = {g: math.log((n + 1) / (d + 0.5)) for g, d in df.items()}
        self.default_idf = math.log((n + 1) / 0.5)

    def duties_of(self, subject: str | None) -> list[str]:
        """The articles that state the duties of the subject's party as such (…主要负责人对…负有下列职责; …安全生产
        管理人员…依法履行职责)."""
        wanted = parties(subject)
        return ([key for key, units in zip(self.keys, self.unit_texts)
                if any(same_party(wanted, parties(sub)) and STATES_DUTIES.search(_without_agencies(text))
                       for text, sub in units)]
                if wanted else [])

    def own_words(self, conduct: str, subject: str | None = None, authority: bool | None = None) -> str | None:
        """The one article that alone uses a word of the conduct (3 characters or more, not a sanction: 只交易 of
        进行犬只交易 in …犬只交易应当进入…市场), when the conduct's best score is below the threshold."""
        eligible = {k for k, s in self.best(conduct, subject, authority) if s >= OWN_WORD_FLOOR}
        text = _FILLER.sub(" ", _without_agencies(conduct))
        found: dict[str, int] = {}
        for key, gs in zip(self.keys, self.grams):
            if key not in eligible:
                continue
            run = ""
            for i in range(len(text) - 1):
                g = text[i:i + 2]
                if g in gs and self.df[g] == 1:
                    run = run + g[1] if run else g
                    continue
                if len(run) >= 3 and not extract_sanctions(run):
                    found[key] = max(found.get(key, 0), len(run))
                run = ""
            if len(run) >= 3 and not extract_sanctions(run):
                found[key] = max(found.get(key, 0), len(run))
        return next(iter(found)) if len(found) == 1 else None

    def best(self, conduct: str, subject: str | None = None, authority: bool | None = None) -> list[tuple[str, float]]:
        """Candidates by score: the weighted share of the conduct's bigrams found in the article, plus a bonus when
        the article's sentence that restates most of them binds the penalty's party, minus one when it binds
        another person. A sentence binding the authorities does not state a regulated party's duty (nor the
        reverse): an article whose closest sentence binds the other side is left out."""
        grams = set(_bigrams(conduct))
        weights = {g: self.idf.get(g, self.default_idf) for g in grams}
        total = sum(weights.values())
        if total <= 0:
            return []
        wanted = parties(subject)
        authority = is_authority(subject) if wanted else authority
        scored = []
        for key, gs, units in zip(self.keys, self.grams, self.units):
            if authority is not None:
                # Only the sentences of the penalty's side (or of no known side) can state its duty.
                units = [u for u in units if is_authority(u[1]) in (None, authority)]
                if not units:
                    continue
                gs = set().union(*(u[0] for u in units))
            closest = max(units, key=lambda u: sum(w for g, w in weights.items() if g in u[0]), default=None)
            bound = parties(closest[1]) if closest else set()
            score = sum(w for g, w in weights.items() if g in gs) / total
            if wanted and bound:
                if same_party(wanted, bound):
                    score += PARTY_BONUS
                elif authority and any(_AUTHORITY.search(b) for b in bound):
                    pass  # an authority's staff answer for their authority's duties (部门的工作人员 … 部门应当)
                elif any(_PERSON.search(p) for p in wanted | bound) and not any(b in (subject or "") for b in bound):
                    score -= PARTY_PENALTY  # another person (not 生产经营单位 of its own 负责人)
            scored.append((key, score))
        scored.sort(key=lambda x: -x[1])
        return scored


def _main_agencies(merged: list[_Merged], extra: dict[str, str]) -> list[str]:
    """The agencies a regulation names as deciding its penalties (本法规定的行政处罚，由…决定), else the department it
    puts in charge (X是…主管部门, X负责…工作), else the most named."""
    for m in merged:
        t = m.text
        if "行政处罚" in t and re.search(r"本(?:法|条例|规定|办法)规定的(?:行政处罚|处罚)", t):
            sentence = re.split(r"[。；]", t[t.find("行政处罚"):])[0]
            found = find_agencies(sentence, extra_aliases=extra)
            if found:
                return found
    # The department a 总则 article puts in charge: X是…工作的主管部门, then …部门负责本行政区域内…工作.
    for rule in (r"(?:是|为)[^。；，]{0,30}?主管部门", r"负责(?=[^。；]*?工作)"):
        for m in merged[:12]:
            for sentence in re.split(r"[。；]", m.text):
                hit = re.search(rule, sentence)
                pos = hit.start() if hit else -1
                if pos <= 0:
                    continue
                found = [a for a in find_agencies(sentence[:pos], include_groups=False, extra_aliases=extra)
                         if a not in ("人民法院", "人民检察院")]
                if found:
                    return found[:1]
    counts: Counter[str] = Counter()
    for m in merged:
        for name in find_agencies(m.text, extra_aliases=extra):
            counts[name] += 1
    for name in ("人民法院", "人民检察院"):
        counts.pop(name, None)
    return [name for name, _ in counts.most_common(1)]


def _imposers(text: str, extra: dict[str, str]) -> list[str]:
    out: list[str] = []
    for m in _IMPOSER.finditer(text):
        for name in find_agencies(m.group("who"), extra_aliases=extra):
            if name not in out:
                out.append(name)
    return out


def analyse_regulation(articles: list[Article], title: str, *,
                       implicit_threshold: float = IMPLICIT_THRESHOLD) -> EnforcementInfo:
    merged = _merge(articles)
    own = normalize_title(title)
    keys = {m.key for m in merged}
    extra = local_aliases("\n".join(m.text for m in merged))
    chapter = {m.key for m in merged if _in_penalty_chapter(m.headings)}
    info = EnforcementInfo(title=title, main_agencies=_main_agencies(merged, extra))
    for m in merged:
        text = m.text
        ae = ArticleEnforcement(key=m.key, article_no=m.article_no, suffix=m.suffix,
                                agencies=find_agencies(text, extra_aliases=extra), is_penalty=is_penalty_article(text, m.headings))
        refs: list[Reference] = []
        ref_clause: list[int] = []  # the 款 each reference is written in
        in_conduct: set[int] = set()  # indexes into refs of references written inside a conduct (…的，)
        for ci, (clause, items) in enumerate(m.clauses, start=1):
            head = re.search(r"的[，,：:]", clause)
            for r in find_references("\n".join([clause, *items]), m.article_no, ci, m.suffix):
                if head and r.span[1] <= head.start():
                    in_conduct.add(len(refs))
                refs.append(r)
                ref_clause.append(ci)
        for r in refs:
            target_title = r.title or title
            same = not r.title or normalize_title(r.title) == own
            d = r.to_dict()
            d["target_title"] = target_title
            d["same_regulation"] = same
            d["resolved"] = bool(same and r.article_key in keys)
            ae.references_out.append(d)
        if ae.is_penalty:
            units = conduct_units(m.clauses)
            ae.conduct = [u[2] for u in units]
            ae.subject = conduct_subject(m.clauses[units[0][0] - 1][0]) if units else None
            ae.sanctions = extract_sanctions(text, default_party=ae.subject)
            ae.enforcing_agencies = _imposers(text, extra) or list(info.main_agencies)
            for i, r in enumerate(refs):
                # 违反本法第X条 anywhere; 有本法第X条规定情形的 (a mention inside the conduct) as well.
                if r.article_key not in keys or not (r.relation == "violates"
                                                     or r.relation == "mention" and i in in_conduct
                                                     and r.scope != "relative" and r.article_key not in chapter):
                    continue  # (销售本法第四十九条至第五十二条规定的产品 names penalty articles: no duty)
                if r.scope in ("self", "bare") and r.article_key != m.key or r.scope == "relative" and r.clause_no:
                    ae.penalizes.append(DutyLink(article=r.article_key, via="explicit", clause_no=r.clause_no,
                                                 item_no=r.item_no, penalty_clause=ref_clause[i]))
            if not ae.penalizes and ae.sanctions and not _in_penalty_chapter(m.headings) and _states_duty(m):
                # A penalty clause inside a duty article (…应当…。违反…的，处…): it punishes its own article.
                penalty_clause = next((ci for ci, (c, items) in enumerate(m.clauses, start=1)
                                       if extract_sanctions("\n".join([c, *items]))), None)
                ae.penalizes.append(DutyLink(article=m.key, via="same_article", confidence=0.9,
                                             penalty_clause=penalty_clause))
        info.articles[m.key] = ae
    # Implicit links for penalty articles that name no duty article.
    candidates = [m for m in merged if _is_duty_candidate(m, info)]
    if candidates:
        index = _DutyIndex(candidates)
        by_key = {m.key: m for m in merged}
        for ae in info.penalty_articles():
            if ae.penalizes or not ae.sanctions:
                continue
            for link in implicit_links(index, by_key[ae.key], implicit_threshold):
                if all(x.article != link.article for x in ae.penalizes):
                    ae.penalizes.append(link)
    # Reverse links.
    for ae in info.penalty_articles():
        for link in ae.penalizes:
            target = info.articles.get(link.article)
            if target is not None and all(x.article != ae.key for x in target.penalized_by):
                target.penalized_by.append(DutyLink(article=ae.key, via=link.via, confidence=link.confidence,
                                                    clause_no=link.clause_no, item_no=link.item_no))
    return info


_DUTY_WORDS = re.compile(r"应当|不得|禁止|必须|严禁|须|负责|职责|义务|方可")


def _states_duty(m: _Merged) -> bool:
    """Whether an article states a duty in a 款 that is not a penalty (…应当…。违反前款规定的，处…); an article whose
    every 款 is a penalty (未依法领取养犬登记证擅自养犬的，…处…) punishes a duty stated elsewhere."""
    return any(_DUTY_WORDS.search("\n".join([c, *items])) and not extract_sanctions("\n".join([c, *items]))
               for c, items in m.clauses)


def _is_duty_candidate(m: _Merged, info: EnforcementInfo) -> bool:
    """An article that can be the duty a penalty restates: not a penalty, not in 附则, worded as a duty, and not
    itself a list of violations of other articles (…有下列情形之一的，可以检举：违反本条例第二十三条规定…)."""
    ae = info.articles[m.key]
    return (not ae.is_penalty and not any(w in h for h in m.headings for w in ("附则", "总则"))
            and bool(_DUTY_WORDS.search(m.text))
            and not any(r["relation"] == "violates" and r["scope"] in ("self", "bare") for r in ae.references_out))


def implicit_links(index: _DutyIndex, article: _Merged, threshold: float) -> list[DutyLink]:
    """The duty articles a penalty article's conducts restate: for each conduct (a 项 of 有下列行为之一的, or the
    words before 的，) and each of its alternatives (…，或者…), the best-scoring duty article, and a second one
    scored as high (within SECOND_LINK_MARGIN); for 未履行…职责, the articles stating that party's duties."""
    out: list[DutyLink] = []
    for ci, ii, words in conduct_units(article.clauses):
        clause, items = article.clauses[ci - 1]
        subject = conduct_subject(clause)
        # Without a party in the conduct, the sanctions say whose it is: officials answer with 处分 only.
        kinds = {s.kind for s in extract_sanctions("\n".join([clause, *items]))}
        authority = bool(kinds) and kinds <= _OFFICIALS_ONLY
        if subject and words.startswith(subject):
            words = words[len(subject):]
        if not parties(subject):  # 犬只咬伤他人，养犬人未按规定…: the party after the circumstance
            later = next(((p, conduct_subject(p)) for p in words.split("，")[1:] if parties(conduct_subject(p))), None)
            if later:
                subject, words = later[1], words[words.index(later[0]) + len(later[1]):]
        if UNFULFILLED_DUTIES.search(words):
            found = [k for k in index.duties_of(subject) if k != article.key]
            out += [DutyLink(article=k, via="implicit", confidence=1.0, clause_no=ci, item_no=ii, penalty_clause=ci)
                    for k in found if all(x.article != k for x in out)]
            if found:
                continue
        before = len(out)
        for part in [words, *(_ALTERNATIVE.split(words) if _ALTERNATIVE.search(words) else [])]:
            scored = [(k, s) for k, s in index.best(as_duty(part), subject, authority) if k != article.key]
            if not scored or scored[0][1] < threshold:
                continue
            top = scored[0][1]
            for key, score in scored[:2]:
                if score < max(threshold, top - SECOND_LINK_MARGIN):
                    break
                if all(x.article != key for x in out):
                    out.append(DutyLink(article=key, via="implicit", confidence=min(1.0, score), clause_no=ci,
                                        item_no=ii, penalty_clause=ci))
        if len(out) == before:  # no article restates the conduct: the one that alone uses one of its words
            own = index.own_words(as_duty(words), subject, authority)
            if own and own != article.key:
                out.append(DutyLink(article=own, via="implicit", confidence=threshold, clause_no=ci, item_no=ii,
                                    penalty_clause=ci))
    return out

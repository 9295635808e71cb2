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
from dataclasses import dataclass, field
from typing import Any, Iterable

from corpus.model import Article
from corpus.numerals import article_label
from corpus.titles import normalize_title
from ingest.enforcement.agencies import find_agencies, local_aliases
from ingest.enforcement.fines import Sanction, conduct_subject, extract_sanctions, fine_range
from ingest.enforcement.references import Reference, find_references

PENALTY_HEADINGS = ("法律责任", "罚则", "奖励与处罚", "奖惩", "惩戒与处罚")
# 违反…的，由…处…罚款 outside a 法律责任 chapter.
_PENALTY_TEXT = re.compile(r"(?:违反|未|不|擅自|拒绝|拒不)[^。]{0,160}?的，[^。]{0,120}?(?:处|给予|予以)[^。]{0,80}?"
                           r"(?:罚款|警告|拘留|通报批评|处分)|(?:违反|未|不|擅自)[^。]{0,160}?的，[^。]{0,60}?"
                           r"(?:没收|吊销|暂扣|责令停产停业)|违反[^。]{0,160}?的，[^。]{0,20}?(?:依照|按照)[^。]{0,60}?规定"
                           r"(?:予以)?处罚")
_ITEM_PREFIX = re.compile(r"^\s*[（(][一二三四五六七八九十百]+[）)]\s*")
_LIST_CONDUCT = re.compile(r"(?:有|存在|具有|出现)下列(?:[^，。；]{0,12})?(?:行为|情形|情况|事项)之一")
_IMPOSER = re.compile(r"由(?P<who>[^，；。]{2,60}?)(?:依照|按照|根据|依法|责令|处以?|给予|予以|没收|吊销|暂扣|决定)")
_PUNCT = re.compile(r"[\s，,；;。：:、“”‘’《》（）()【】\[\]！？!?\-—…·0-9０-９]+")
# Words of every penalty sentence; removed before comparing a conduct with duty articles.
_FILLER = re.compile(r"未按照规定|按照规定|按规定|依照规定|依法|未|不|没有|或者|以及|及其|和|的|对|将|其|有关|相应|应当|规定|本法|本条例")

IMPLICIT_THRESHOLD = 0.5  # minimum score of the best duty article for an implicit link
SUBJECT_BONUS = 0.1  # added when the duty article names the party the penalty speaks of (twice: near a start)


def _party_head(subject: str | None) -> str | None:
    """生产经营单位的主要负责人 → 主要负责人; 承担安全评价…职责的机构 → None (too generic)."""
    if not subject:
        return None
    head = subject.rsplit("的", 1)[-1]
    head = re.sub(r"^(?:其|该|本单位)", "", head)
    if len(head) < 3 or head in ("生产经营单位", "单位", "个人", "机构", "企业"):
        return None
    return head


@dataclass
class DutyLink:
    article: str  # 第X条 of the same regulation
    via: str  # "explicit" (违反本法第X条), "implicit" (wording overlap), "same_article" (…应当…。违反…的，处…)
    confidence: float = 1.0
    clause_no: int | None = None
    item_no: int | None = None  # the 项 of the penalty article whose conduct was matched (implicit), if any

    def to_dict(self) -> dict[str, Any]:
        return {"article": self.article, "via": self.via, "confidence": round(self.confidence, 3),
                "clause_no": self.clause_no, "item_no": self.item_no}


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
        if re.search(r"有前[款条]|依照前款", head):
            continue  # restates the previous clause's conduct
        if _LIST_CONDUCT.search(head) and items:
            for ii, item in enumerate(items, start=1):
                out.append((ci, ii, _ITEM_PREFIX.sub("", item).rstrip("；;。的")))
            continue  # the words before 有下列行为之一的 name the party, not a conduct
        out.append((ci, None, head))
    return out


def _bigrams(text: str) -> list[str]:
    t = _FILLER.sub(" ", text)
    out = []
    for chunk in _PUNCT.split(t):
        for piece in chunk.split(" "):
            out.extend(piece[i:i + 2] for i in range(len(piece) - 1))
    return out


class _DutyIndex:
    """IDF-weighted char-bigram containment of a conduct in each candidate duty article."""

    def __init__(self, candidates: list[_Merged]):
        self.keys = [c.key for c in candidates]
        self.texts = [c.text for c in candidates]
        self.grams = [set(_bigrams(c.text)) for c in candidates]
        df = Counter(g for gs in self.grams for g in gs)
        n = len(self.grams)
        self.idf = {g: math.log((n + 1) / (d + 0.5)) for g, d in df.items()}
        self.default_idf = math.log((n + 1) / 0.5)

    def best(self, conduct: str, subject: str | None = None) -> list[tuple[str, float]]:
        """Candidates by score: the weighted share of the conduct's bigrams found in the article, plus a bonus when
        the article speaks of the same party (主要负责人, 工作人员 …)."""
        grams = set(_bigrams(conduct))
        weights = {g: self.idf.get(g, self.default_idf) for g in grams}
        total = sum(weights.values())
        if total <= 0:
            return []
        head = _party_head(subject)
        scored = []
        for k, gs, text in zip(self.keys, self.grams, self.texts):
            score = sum(w for g, w in weights.items() if g in gs) / total
            if head and head in text:
                score += SUBJECT_BONUS
                if head in text[:40]:
                    score += SUBJECT_BONUS  # the article is about that party, not merely naming it
            scored.append((k, score))
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
        in_conduct: set[int] = set()  # indexes into refs of references written inside a conduct (…的，)
        for ci, (clause, items) in enumerate(m.clauses, start=1):
            head = re.search(r"的[，,：:]", clause)
            for r in find_references("\n".join([clause, *items]), m.article_no, ci, m.suffix):
                if head and r.span[1] <= head.start():
                    in_conduct.add(len(refs))
                refs.append(r)
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
                                                 item_no=r.item_no))
            if not ae.penalizes and ae.sanctions and not _in_penalty_chapter(m.headings):
                # A penalty clause inside a duty article (…应当…。违反…的，处…): it punishes its own article.
                ae.penalizes.append(DutyLink(article=m.key, via="same_article", confidence=0.9))
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


def _is_duty_candidate(m: _Merged, info: EnforcementInfo) -> bool:
    """An article that can be the duty a penalty restates: not a penalty, not in 附则, worded as a duty, and not
    itself a list of violations of other articles (…有下列情形之一的，可以检举：违反本条例第二十三条规定…)."""
    ae = info.articles[m.key]
    return (not ae.is_penalty and not any("附则" in h for h in m.headings) and bool(_DUTY_WORDS.search(m.text))
            and not any(r["relation"] == "violates" and r["scope"] in ("self", "bare") for r in ae.references_out))


def implicit_links(index: _DutyIndex, article: _Merged, threshold: float) -> list[DutyLink]:
    out: list[DutyLink] = []
    for ci, ii, words in conduct_units(article.clauses):
        scored = index.best(words, conduct_subject(article.clauses[ci - 1][0]))
        if not scored:
            continue
        key, score = scored[0]
        if key == article.key or score < threshold:
            continue
        out.append(DutyLink(article=key, via="implicit", confidence=min(1.0, score), clause_no=ci, item_no=ii))
    return out

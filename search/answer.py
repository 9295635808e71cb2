"""Grounded answers: an answer, then its grounds — what applies, what a breach costs, who enforces it, where to turn.

The composer works only from what retrieval returned and from the texts of the articles it quotes. It reads the
question through its `QueryAnalysis` (search.query). Offline it is purely extractive: every statement is an exact
substring of an indexed article, followed by its citation 《title》第X条第Y款第（Z）项:

- for a yes/no or "can I" question, a one-line conclusion read from the modality of the quoted provision (不得/禁止 →
  不可以, 应当/必须 → 必须, 可以 → 可以: `search.grounds`, `data/modality.tsv`) with that sentence quoted;
- the provisions that apply: the first hits of a semantic ranking that share content characters with the question,
  the hits whose 款/项 carry enough of the question's words, and the best article of each other region retrieved
  (national, 江苏省, 徐州市); a lead-in (…下列…：) always with its 项 — those carrying the question's words, or all;
- what a breach costs: the penalty article of each quoted duty (ingest's stored links first, `search.penalties`);
- who enforces it: the agency the penalty names (由…部门), else the provision giving the agency ingest found for it
  its remit (…应急管理部门…实施综合监督管理);
- where to turn: the quoted texts' own 投诉/举报/申请 provision that shares most of the question's words.

It refuses only when nothing relevant was retrieved: no hit carries the question's words and the ranking's first
hits share no content with it.

An optional chat generator (e.g. Haystack's OpenAIChatGenerator) may rephrase the quotes; its output is split into
sentences and only those whose every citation names a quoted article (and whose quoted text, if any, is a verbatim
substring of that article) are kept. Sentences that cannot be verified are dropped; if none survive, the extractive
answer stands.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from corpus.articles import ArticleRecord
from corpus.model import Citation
from corpus.numerals import LABEL_RE, NUMERAL_RE, cn_to_int, int_to_cn
from corpus.store import Condition, FilterSpec
from corpus.titles import normalize_title

from search.citations import CitationMatch
from search.grounds import agency_phrase, is_lead_in, is_recourse, modality, remit_sentence, sentences
from search.expansion import default_glossary
from search.hits import article_key
from search.penalties import find_penalty, is_penalty
from search.query import analyse
from search.words import word_pattern, word_set

log = logging.getLogger(__name__)

NOTHING_FOUND = "没有找到能够回答该问题的条文"

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE_END = "。；！？"
_ITEM_NO = re.compile(rf"^\s*[（(](?P<n>{NUMERAL_RE})[）)]")
_QUOTED = re.compile(r"“([^”]{4,})”")
#: A citation written in a generated sentence: 《title》第X条(之一)第Y款第（Z）项.
_CITED = re.compile(rf"《(?P<title>[^》]{{2,80}})》\s*{LABEL_RE}"
                    rf"(?:第(?P<clause>{NUMERAL_RE})款)?(?:第?[（(](?P<item>{NUMERAL_RE})[）)]项)?")

MIN_COVERAGE = 0.35  # share of the question's content words (by length) found in one 款/项 (with its title, headings)
MIN_TERMS = 1  # distinct content words found whole in one 款/项 (all of them when the question has fewer)
#: Articles quoted as what applies (beside the other regions' best ones, `MAX_LEVELS`), and how many of them the
#: learned ranking's first hits may take without sharing a word with the question. Chosen on one half of
#: xuzhou_dev (index trained on STARD and the other half) among trust/max 2/3 … 5/5: gold cited 9 → 11 of 23 at 4/4,
#: no gain above; then checked once on the other half: 15 → 17 of 22 (evaluation/ABLATION.md, ninth session).
MAX_ARTICLES = 4
RELATIVE = 0.75  # an article is quoted when it scores at least this share of the best one
MAX_LEVELS = 3  # regions quoted (national, provincial, city) when each has a relevant article
LEVEL_DEPTH = 10  # how deep in the retrieved list another region's article is looked for
LEVEL_RELATIVE = 0.5
MAX_PENALTIES = 2  # penalty articles quoted for the quoted duties
RECOURSE_VERSIONS = 2  # texts searched for a provision on where to turn
TRUST_TOP = 4  # a semantic retriever's first hits are quoted without shared words …
TRUST_WHOLE = 2  # … the first two of them whole (when short), the others by their best 款
MIN_SHARED_CHARS = 2  # … when they share this many content characters with the question
WHOLE_ARTICLE_CHARS = 300  # a quoted article this short is quoted whole (its 款 read together; most articles are)
MAX_ITEMS = 12  # 项 quoted under a lead-in when none of them carries the question's words


# ---- terms -------------------------------------------------------------------------------------------------
def term_match(term: str, text: str) -> float:
    """1.0 when the word (or its statutory synonym) occurs; for a longer word, the share of its character
    bigrams that occur (≥ half)."""
    if term in text or any(syn in text for syn in default_glossary().synonyms.get(term, ())):
        return 1.0
    if len(term) >= 3:
        grams = [term[i:i + 2] for i in range(len(term) - 1)]
        share = sum(g in text for g in grams) / len(grams)
        return share if share >= 0.5 else 0.0
    return 0.0


def overlap(terms: list[str], text: str, weights: dict[str, float] | None = None) -> tuple[float, int]:
    """(coverage, words found whole) of `terms` in `text`; coverage is weighted by word length (or `weights`)
    and counts partly found longer words in part."""
    if not terms:
        return 0.0, 0
    w = weights or {t: float(len(t)) for t in terms}
    total = sum(w.get(t, len(t)) for t in terms) or 1.0
    got, n = 0.0, 0
    for t in terms:
        m = term_match(t, text)
        got += m * w.get(t, len(t))
        n += m == 1.0
    return got / total, n


def term_weights(terms: list[str], texts: list[str]) -> dict[str, float]:
    """Word length × inverse frequency among the retrieved 款/项: a word every candidate shares (公共场所) counts
    less than the one that singles out the answer (吸烟)."""
    n = len(texts)
    out = {}
    for t in terms:
        df = sum(1 for x in texts if term_match(t, x) == 1.0)
        out[t] = len(t) * math.log(1.0 + (n + 1) / (df + 1))
    return out


def hit_contexts(hit: dict) -> list[str]:
    """Each 款 of a hit, and each 项 read with its 款's lead-in."""
    clauses = hit.get("clauses") or [{"text": t, "items": []} for t in (hit.get("text") or "").split("\n")]
    out = []
    for cl in clauses:
        lead = cl.get("text") or ""
        out.append(lead)
        out += [lead + " " + item for item in cl.get("items") or []]
    return [c for c in out if c.strip()] or [hit.get("text") or ""]


def shared_chars(question: str, hit: dict) -> int:
    """How many distinct content characters (not particles, pronouns, question words: data/function_chars.txt,
    data/single_char_stopwords.txt) of the question occur in the hit's title or text."""
    skip = word_set("function_chars") | word_set("single_char_stopwords")
    mine = {c for c in _CJK.findall(question) if c not in skip}
    text = (hit.get("title") or "") + (hit.get("text") or "")
    return sum(c in text for c in mine)


def _hit_key(h: dict) -> tuple:
    return (h.get("version_id"), h.get("article_no"), h.get("article_suffix") or "", h.get("part") or 0)


# ---- statements --------------------------------------------------------------------------------------------
@dataclass
class Statement:
    text: str
    citation: str
    regulation_id: str
    article_no: int
    article_suffix: str
    clause_no: int | None
    quote: str
    item_no: int | None = None
    title: str = ""
    version_id: str = ""
    role: str = "applies"  # "applies" or "penalty"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Unit:
    """A quotable piece of an article: a 款, one 项, or a sentence of a long 款."""

    text: str
    clause_no: int | None
    item_no: int | None = None


@dataclass
class FullArticle:
    """An article with all its parts joined (the unit quotes are checked against)."""

    hit: dict
    text: str
    clauses: list[dict]
    enforcement: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.hit.get("version_id") or "", int(self.hit.get("article_no") or 0),
                self.hit.get("article_suffix") or "")


def article_units(art: FullArticle, *, long_clause: int = 160) -> list[Unit]:
    """Quotable units of an article, each an exact substring of its text."""
    units: list[Unit] = []
    clauses = art.clauses or [{"text": line, "items": []} for line in art.text.split("\n") if line.strip()]
    numbered = len(clauses) > 1
    for k, cl in enumerate(clauses, start=1):
        ctext = (cl.get("text") or "").strip()
        cno = k if numbered else None
        if ctext:
            pieces = sentences(ctext, _SENTENCE_END) if len(ctext) > long_clause else [ctext]
            units += [Unit(p.strip(), cno) for p in pieces if p.strip()]
        for j, item in enumerate(cl.get("items") or [], start=1):
            m = _ITEM_NO.match(item)
            try:
                ino = cn_to_int(m.group("n")) if m else j
            except ValueError:
                ino = j
            units.append(Unit(item.strip(), k if numbered else None, ino))
    return [u for u in units if u.text and u.text in art.text]


def citation_label(title: str, article_no: int, suffix: str, clause_no: int | None, item_no: int | None) -> str:
    c = Citation(title=title, article_no=article_no, article_suffix=suffix or "", clause_no=clause_no,
                 item_no=item_no)
    return f"《{title}》{c.label}"


def make_statement(art: FullArticle, unit: Unit, role: str) -> Statement:
    h = art.hit
    title = h.get("title") or ""
    cite = citation_label(title, int(h.get("article_no") or 0), h.get("article_suffix") or "", unit.clause_no,
                          unit.item_no)
    return Statement(text=f"“{unit.text}”（{cite}）", citation=cite, regulation_id=h.get("regulation_id") or "",
                     article_no=int(h.get("article_no") or 0), article_suffix=h.get("article_suffix") or "",
                     clause_no=unit.clause_no, quote=unit.text, item_no=unit.item_no, title=title,
                     version_id=h.get("version_id") or "", role=role)


def best_units(art: FullArticle, terms: list[str], *, prefer: list[str] | tuple = (), limit: int = 2,
               weights: dict[str, float] | None = None) -> list[Unit]:
    """The units that carry the question's words (and the `prefer` strings, e.g. the duty article's label and
    quoted 项), in text order."""
    units = article_units(art)
    if not units:
        return []
    scored = []
    for i, u in enumerate(units):
        cov, _ = overlap(terms, u.text, weights)
        cov += sum(1.0 for p in prefer if p and p in u.text)
        scored.append((cov, -i, u))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    best = scored[0][0]
    if best <= 0:
        return [units[0]]  # nothing stands out: the article's first 款 says what it is about
    picked = [u for cov, _, u in scored[:limit] if cov >= 0.75 * best and cov > 0]
    order = {id(u): i for i, u in enumerate(units)}
    return sorted(picked, key=lambda u: order[id(u)])


def cited_units(art: FullArticle, specs: list[tuple]) -> list[Unit]:
    """The units a written citation names: the whole article, one 款 (with its 项), or one 项 with its 款's
    lead-in. A 款/项 the article does not have falls back to the whole article."""
    units = article_units(art)
    picked: list[Unit] = []
    for k, j in specs:
        if k is None and j is None:
            return units
        in_clause = [u for u in units if (u.clause_no or 1) == (k or 1)]
        if j is not None:
            if not any(u.item_no == j for u in in_clause):
                return units
            in_clause = [u for u in in_clause if u.item_no is None or u.item_no == j]
        if not in_clause:
            return units
        picked += [u for u in in_clause if u not in picked]
    return picked


def with_sanction(art: FullArticle, picked: list[Unit]) -> list[Unit]:
    """For a penalty article: when the quote is one 项 (the conduct), add its 款's sentence that states the
    sanction (由…处…罚款), so the statement says what the penalty is."""
    units = article_units(art)
    out = list(picked)
    for u in picked:
        if u.item_no is None:
            continue
        lead = next((x for x in units if x.item_no is None and x.clause_no == u.clause_no
                     and word_pattern("sanction_words").search(x.text)), None)
        if lead is not None and all(lead.text != o.text for o in out):
            out.append(lead)
    order = {x.text: i for i, x in enumerate(units)}
    return sorted(out, key=lambda x: order.get(x.text, 0))


def with_items(art: FullArticle, picked: list[Unit], terms: list[str], weights: dict[str, float] | None = None,
               *, prefer: list[str] | tuple = ()) -> list[Unit]:
    """Never a lead-in without its list: a quoted 款 ending in …下列…： gets the 项 that carry the question's words
    (or the `prefer` strings), else all of them (at most MAX_ITEMS); a lead-in whose list the parser left as the
    following 款 (本法下列用语的含义：) gets those 款. A quoted 项 gets its 款's lead-in before it."""
    units = article_units(art)
    out = list(picked)
    for u in picked:
        if u.item_no is not None:
            lead = next((x for x in units if x.item_no is None and x.clause_no == u.clause_no
                         and is_lead_in(x.text)), None)
            if lead is not None and all(lead.text != o.text for o in out):
                out.append(lead)
            continue
        if not is_lead_in(u.text):
            continue
        items = [x for x in units if x.clause_no == u.clause_no and x.item_no is not None]
        if not items:  # the list was parsed as the following 款
            after = units[units.index(u) + 1:] if u in units else []
            items = [x for x in after if x.item_no is None and x.clause_no != u.clause_no][:MAX_ITEMS]
        matching = [x for x in items if overlap(terms, x.text, weights)[0] > 0 or any(p and p in x.text
                                                                                         for p in prefer)]
        out += [x for x in (matching or items[:MAX_ITEMS]) if all(x.text != o.text for o in out)]
    order = {x.text: i for i, x in enumerate(units)}
    return sorted(out, key=lambda x: order.get(x.text, 0))


def enforcers(statements: list[Statement], fulls: dict[tuple, FullArticle], loader: ArticleLoader) -> list[Statement]:
    """Who enforces, once per agency: for each quoted penalty, the agency it names as imposing it (由…部门责令/处…,
    quoted from its own text), else the provision of the same text giving the agency ingest found for it
    (`enforcement.enforcing_agencies`) its remit (…应急管理部门…实施监督管理)."""
    out: list[Statement] = []
    named: set[str] = set()
    done: set[tuple] = set()
    for s in statements:
        key = (s.version_id, s.article_no, s.article_suffix)
        if s.role != "penalty" or key in done or key not in fulls:
            continue
        done.add(key)
        art = fulls[key]
        units = article_units(art)
        quoted = [u for u in units if any(u.text == t.quote for t in statements)]
        found = next(((agency_phrase(u.text), u) for u in quoted + units if agency_phrase(u.text)), None)
        if found:
            agency, unit = found
            if agency not in named:
                named.add(agency)
                out.append(make_statement(art, Unit(agency, unit.clause_no, unit.item_no), "enforcer"))
            continue
        for agency in (art.enforcement or {}).get("enforcing_agencies") or []:
            if agency in named:
                continue
            remit = _remit(loader, art.hit.get("version_id") or "", agency)
            if remit is not None:
                named.add(agency)
                fulls.setdefault(remit[0].key, remit[0])
                out.append(make_statement(*remit, "enforcer"))
    return out


def _remit(loader: ArticleLoader, version_id: str, agency: str) -> tuple[FullArticle, Unit] | None:
    """The first article of a version with a sentence giving `agency` its remit, and that sentence as a unit."""
    points = sorted(loader.version(version_id), key=lambda h: (h.payload.get("article_no") or 0,
                                                                h.payload.get("part") or 0))
    for p in points:
        if p.payload.get("kind", "article") != "article" or not remit_sentence(p.payload.get("text") or "", agency):
            continue
        art = loader.full(dict(p.payload))
        for u in article_units(art):
            sent = remit_sentence(u.text, agency)
            if sent:
                return art, Unit(sent, u.clause_no, u.item_no)
    return None


@dataclass
class Conclusion:
    """A yes/no question's one-line answer: the modality (不得 → 不可以) of the quoted sentence that carries most
    of the question's words, with that sentence quoted and cited."""

    label: str  # 不可以 / 必须 / 可以
    modal: str  # the modal word read (不得, 应当 …)
    statement: Statement

    @property
    def text(self) -> str:
        return f"{self.label}。{self.statement.text}"

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "modal": self.modal, "text": self.text, "statement": self.statement.to_dict()}


CONCLUSION_ARTICLES = 2  # the conclusion is read from the first quoted articles with a modal sentence


def conclude(statements: list[Statement], terms: list[str], weights: dict[str, float] | None = None,
             question: str = "") -> Conclusion | None:
    """The conclusion of a yes/no question from the provisions that apply (not penalties, not where to turn), read
    from the modal sentences of the first CONCLUSION_ARTICLES quoted articles that have one (the best retrieved):
    of those sharing a word with the question, one in the question's own terms — a duty (应当, 必须) when it asks
    whether something is required (要不要, 需要: data/yes_no_duty_words.txt), else a prohibition, then a
    permission — the one sharing most of the question's words, then the earlier article."""
    duty_question = bool(word_pattern("yes_no_duty_words").search(question))
    wanted = ("必须", "不可以", "可以") if duty_question else ("不可以", "可以", "必须")
    by_article: dict[tuple, list[Statement]] = {}
    for st in statements:
        if st.role == "applies":
            by_article.setdefault((st.version_id, st.article_no, st.article_suffix), []).append(st)
    candidates = []
    rank = 0
    for group in by_article.values():
        found = [(s, sent, mod) for s in group for sent in sentences(s.quote) if (mod := modality(sent))]
        if not found:
            continue
        for s, sent, mod in found:
            cov = round(overlap(terms, sent, weights)[0], 3) if terms else 0.0
            preference = -wanted.index(mod[1]) if mod[1] in wanted else -len(wanted)
            candidates.append(((cov > 0, preference, cov, -rank), s, sent, mod))
        rank += 1
        if rank >= CONCLUSION_ARTICLES:
            break
    if not candidates:
        return None
    _, s, sent, mod = max(candidates, key=lambda c: c[0])
    quote = _ITEM_NO.sub("", sent).strip().rstrip("；;：:，,")  # the sentence, without the 项's own number
    st = Statement(text=f"“{quote}”（{s.citation}）", citation=s.citation, regulation_id=s.regulation_id,
                   article_no=s.article_no, article_suffix=s.article_suffix, clause_no=s.clause_no, quote=quote,
                   item_no=s.item_no, title=s.title, version_id=s.version_id, role="conclusion")
    return Conclusion(label=mod[1], modal=mod[0], statement=st)


# ---- loading articles --------------------------------------------------------------------------------------
class ArticleLoader:
    """Reads whole articles (all parts) and sibling articles of one version from the index, cached per answer."""

    def __init__(self, index: Any | None):
        self.index = index
        self._versions: dict[str, list] = {}

    def full(self, hit: dict) -> FullArticle:
        parts = None
        if self.index is not None and hit.get("version_id"):
            try:
                parts = list(self.index.articles.scroll(FilterSpec(must=[
                    Condition(field="version_id", eq=hit["version_id"]),
                    Condition(field="article_no", eq=int(hit.get("article_no") or 0)),
                    Condition(field="article_suffix", eq=hit.get("article_suffix") or "")])))
            except Exception:  # noqa: BLE001 - fall back to the hit as retrieved
                log.exception("could not load the article parts of %s", hit.get("citation"))
                parts = None
        if parts:
            rec = ArticleRecord.from_parts(parts)
            merged = dict(hit)
            for k in ("title", "regulation_id", "version_id", "label", "headings", "is_penalty", "citation"):
                merged.setdefault(k, rec.payload.get(k))
            merged["text"], merged["clauses"] = rec.text, rec.clauses
            return FullArticle(merged, rec.text, rec.clauses, rec.enforcement or hit.get("enforcement") or {})
        return FullArticle(dict(hit), hit.get("text") or "", hit.get("clauses") or [], hit.get("enforcement") or {})

    def version(self, version_id: str) -> list:
        if version_id not in self._versions:
            try:
                self._versions[version_id] = self.index.version_articles(version_id) if self.index else []
            except Exception:  # noqa: BLE001
                log.exception("could not read the articles of %s", version_id)
                self._versions[version_id] = []
        return self._versions[version_id]

    def by_label(self, version_id: str, label: str) -> dict | None:
        """The payload (parts joined) of article `label` (第X条, 第X条之一) in one version."""
        parts = [h for h in self.version(version_id) if h.payload.get("label") == label]
        if not parts:
            return None
        rec = ArticleRecord.from_parts(parts)
        d = dict(rec.payload, score=0.0, id=rec.id)
        d.setdefault("snippet", "")
        return d


# ---- the composer ------------------------------------------------------------------------------------------
@dataclass
class Answer:
    question: str
    answer_text: str
    statements: list[Statement]
    articles: list[dict]
    mode: str
    grounded: bool
    dropped: list[str] = field(default_factory=list)  # generated sentences that failed verification
    retrieval: str = ""  # the search mode the articles came from
    conclusion: Conclusion | None = None  # a yes/no question's one-line answer

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer_text": self.answer_text,
                "conclusion": self.conclusion.to_dict() if self.conclusion else None,
                "statements": [s.to_dict() for s in self.statements], "articles": self.articles,
                "mode": self.mode, "grounded": self.grounded, "dropped": self.dropped, "retrieval": self.retrieval}


SearchFn = Callable[..., dict]


class AnswerComposer:
    """question → retrieved articles → verbatim quotes with citations (→ optional verified rephrasing)."""

    def __init__(self, search: SearchFn, index: Any | None = None, *, generator: Any | None = None,
                 top_k: int = 10, min_coverage: float = MIN_COVERAGE, min_terms: int = MIN_TERMS,
                 max_articles: int = MAX_ARTICLES, relative: float = RELATIVE, max_levels: int = MAX_LEVELS,
                 level_depth: int = LEVEL_DEPTH, level_relative: float = LEVEL_RELATIVE,
                 max_penalties: int = MAX_PENALTIES, recourse_versions: int = RECOURSE_VERSIONS,
                 trust_top: int = TRUST_TOP, min_shared_chars: int = MIN_SHARED_CHARS,
                 trust_whole: int = TRUST_WHOLE):
        self.search = search
        self.index = index
        self.generator = generator
        self.top_k = top_k
        self.min_coverage = min_coverage
        self.min_terms = min_terms
        self.max_articles = max_articles
        self.relative = relative
        self.max_levels = max_levels
        self.level_depth = level_depth
        self.level_relative = level_relative
        self.max_penalties = max_penalties
        self.recourse_versions = recourse_versions
        self.trust_top = trust_top
        self.trust_whole = trust_whole
        self.min_shared_chars = min_shared_chars

    # relevance
    def relevance(self, hit: dict, terms: list[str], cited: set[tuple[str, int, str]],
                  weights: dict[str, float] | None = None) -> float:
        """0 when the hit does not answer the question; else how well its best 款/项 (read with the article's
        title and headings, an item with its clause's lead-in) carries the question's words. The gate uses
        length-weighted coverage (≥ min_coverage, ≥ min_terms words found whole, one of them not a who-word);
        the returned score uses `weights`. A cited article scores 2."""
        if article_key(hit) in cited:
            return 2.0
        if not terms:
            return 0.0
        frame = " ".join([hit.get("title") or "", " ".join(hit.get("headings") or [])])
        actors = word_set("actors")
        core = [t for t in terms if t not in actors]
        best = 0.0
        for ctx in hit_contexts(hit):
            text = frame + " " + ctx
            if core and not any(term_match(t, text) == 1.0 for t in core):
                continue
            cov, n = overlap(terms, text)
            if cov >= self.min_coverage and n >= min(self.min_terms, len(terms)):
                best = max(best, overlap(terms, text, weights)[0] if weights else cov)
        return best

    def relevant(self, hit: dict, terms: list[str], cited: set[tuple[str, int, str]]) -> bool:
        return self.relevance(hit, terms, cited) > 0

    @staticmethod
    def _cited_keys(citations: tuple[CitationMatch, ...], hits: list[dict]) -> dict[tuple[str, int, str], list[tuple]]:
        """Articles the question names itself (安全生产条例第二十条第一款): relevant whatever their wording.
        Maps each to the (款, 项) written with it ((None, None): the whole article)."""
        out: dict[tuple[str, int, str], list[tuple]] = {}
        for m in citations:
            c = m.citation
            for h in hits:
                names = {normalize_title(h.get("title") or ""), normalize_title(h.get("short_title") or "")}
                if (int(h.get("article_no") or 0) == c.article_no
                        and (h.get("article_suffix") or "") == c.article_suffix
                        and any(normalize_title(t) in names or any(n.endswith(normalize_title(t)) for n in names if n)
                                for t in m.title_candidates)):
                    key = (normalize_title(h.get("title") or ""), c.article_no, c.article_suffix)
                    spec = (c.clause_no, c.item_no)
                    if spec not in out.setdefault(key, []):
                        out[key].append(spec)
        return out

    def _retrieve(self, question: str, query, filters: dict | None) -> tuple[list[dict], list[dict], str]:
        """(every hit: the expanded search's first, then the question's; the question's own hits; search mode)."""
        result = self.search(question, top_k=self.top_k, filters=filters or {})
        hits = first = result.get("hits") or []
        mode = result.get("mode") or ""
        if query.expansion and not mode.startswith("citation"):
            # Everyday words (养狗, 拴绳) rarely occur in statutes: search again with the statutory words added,
            # and put what that finds first. Quotes still come only from the retrieved articles.
            more = self.search(question + " " + " ".join(query.expansion), top_k=self.top_k, filters=filters or {})
            seen_keys = set()
            merged = []
            for h in (more.get("hits") or []) + hits:
                if _hit_key(h) not in seen_keys:
                    seen_keys.add(_hit_key(h))
                    merged.append(h)
            hits = merged
        return hits, first, mode

    def choose(self, scored: list[tuple[float, dict]], cited: dict, trusted: list[dict] = ()) -> list[dict]:
        """The articles to quote, in retrieval order: the `trusted` ones (a semantic retriever's first hits), the
        relevant ones nearly as relevant as the best (`max_articles` in all, the trusted ones besides), then, for
        each other region among the relevant hits (national, provincial, city texts stating the same rule), its
        best one — at most `max_levels` regions in all."""
        relevant = [(sc, h) for sc, h in scored if sc > 0]
        if any(article_key(h) in cited for _, h in relevant):
            return [h for _, h in relevant if article_key(h) in cited][: self.max_articles]
        top = max((sc for sc, _ in relevant), default=0.0)
        trusted_keys = {_hit_key(h) for h in trusted}
        lexical = [h for sc, h in relevant if sc >= self.relative * top and _hit_key(h) not in trusted_keys]
        chosen = list(trusted) + lexical[: max(0, self.max_articles - len(trusted))]
        regions = {h.get("region") for h in chosen}
        for sc, h in relevant[: self.level_depth]:
            if len(regions) >= self.max_levels:
                break
            if h.get("region") not in regions and sc >= self.level_relative * top:
                chosen.append(h)
                regions.add(h.get("region"))
        return chosen

    def semantic(self) -> bool:
        """Whether the index has dense vectors (the retrieval is not lexical only)."""
        try:
            layout = self.index.layout() if self.index is not None else None
        except Exception:  # noqa: BLE001 - an index that cannot say is treated as lexical
            log.exception("could not read the index layout")
            return False
        return bool(layout is not None and getattr(layout, "dense", None))

    def trusted(self, question: str, first: list[dict], mode: str) -> list[dict]:
        """The first hits of a semantic retriever (dense vectors, a learned ranker) that share a few content
        characters with the question: lay wording (电焊工 没拿到操作证) often shares no whole word with the provision
        (特种作业人员 取得相应资格) that the ranking found. A lexical-only retriever's order is not trusted so: its
        first hits share character pairs with any question by construction."""
        if mode.startswith("citation") or not self.semantic():
            return []
        return [h for h in first[: self.trust_top] if shared_chars(question, h) >= self.min_shared_chars]

    def answer(self, question: str, filters: dict | None = None) -> Answer:
        question = (question or "").strip()
        query = analyse(question)
        hits, first, mode = self._retrieve(question, query, filters)
        terms = list(query.answer_terms)
        cited = self._cited_keys(query.citations, hits)
        if len(terms) == 1 and len(terms[0]) * 3 < len(_CJK.findall(question)) and not cited:
            terms = []  # one content word in a long question says too little to pick an article by
        weights = term_weights(terms, [c for h in hits for c in hit_contexts(h)])
        scored = [(self.relevance(h, terms, cited, weights), h) for h in hits]
        # The glossary's statutory words for the question's lay words count as the question's own (噪音 → 噪声).
        trusted = [] if cited else self.trusted(" ".join([question, *query.expansion]), first, mode)
        chosen = self.choose(scored, cited, trusted)
        if not chosen:
            return Answer(question, NOTHING_FOUND + "。", [], [], "extractive", False, retrieval=mode)
        # The ranking's later trusted hits that carry none of the question's words are quoted by their best 款 only:
        # they are there in case the ranking is right where the words are not, not to double the answer.
        lexical = {_hit_key(h) for sc, h in scored if sc > 0}
        brief = {_hit_key(h) for h in trusted[self.trust_whole:] if _hit_key(h) not in lexical}

        loader = ArticleLoader(self.index)
        statements: list[Statement] = []
        fulls: dict[tuple, FullArticle] = {}  # every article quoted, by key, in order
        duties: list[FullArticle] = []
        for h in chosen:
            art = loader.full(h)
            if art.key in fulls:
                continue
            fulls[art.key] = art
            specs = cited.get(article_key(h))
            whole = specs is not None
            if whole:
                units = cited_units(art, specs)
            elif len(art.text) <= WHOLE_ARTICLE_CHARS and not is_penalty(art.hit) and _hit_key(h) not in brief:
                units = article_units(art)
            else:
                units = best_units(art, terms, weights=weights)
            penalty = is_penalty(art.hit)
            if penalty and not whole:
                units = with_sanction(art, units)
            if not whole:
                units = with_items(art, units, terms, weights)
            statements += [make_statement(art, u, "penalty" if penalty and query.breach else "applies")
                           for u in units]
            if not penalty:
                duties.append(art)

        if not query.citation_only:
            statements += self._penalties(duties, statements, fulls, loader, hits, terms, weights,
                                          general=query.breach)
            statements += enforcers(statements, fulls, loader)
            statements += self._recourse(duties, statements, fulls, loader, terms, weights)

        articles = [f.hit for f in fulls.values()]
        statements = [s for s in statements if self._verbatim(s, articles)]
        order = {"applies": 0, "penalty": 1, "enforcer": 2, "recourse": 3}
        statements.sort(key=lambda s: order.get(s.role, 0))  # what applies, the responsibility, where to turn
        if not statements:
            return Answer(question, NOTHING_FOUND + "。", [], [], "extractive", False, retrieval=mode)
        conclusion = conclude(statements, terms + list(query.expansion), weights, question) if query.yes_no \
            else None
        text = compose_text(statements, conclusion)
        answer = Answer(question, text, statements, articles, "extractive", True, retrieval=mode,
                        conclusion=conclusion)
        if self.generator is not None:
            self._rephrase(answer)
        return answer

    def _penalties(self, duties: list[FullArticle], statements: list[Statement], fulls: dict[tuple, FullArticle],
                   loader: ArticleLoader, hits: list[dict], terms: list[str],
                   weights: dict[str, float], *, general: bool) -> list[Statement]:
        """What breaking each quoted duty costs: its penalty article (stored link, or one naming it), quoted at
        the 项 naming the duty with the sentence stating the sanction. The chapter's general provision (违反本条例
        规定的…依法处罚) only for a question about a breach."""
        out: list[Statement] = []
        found, hints_of = [], {}
        for duty in duties:
            quoted = [st for st in statements if st.version_id == duty.hit.get("version_id")
                      and st.article_no == duty.hit.get("article_no")]
            hints = [f"第{int_to_cn(st.item_no)}项" for st in quoted if st.item_no]
            hints += [f"第{int_to_cn(st.clause_no)}款" for st in quoted if st.clause_no]
            hints_of[id(duty)] = hints
            found.append((duty, *find_penalty(duty.hit, duty.enforcement, loader, hits, hints)))
        specific = {d.hit.get("version_id") for d, pen, how in found if pen and how != "general"}
        added = 0
        for duty, pen, how in found:
            if not pen or how == "general" and (not general or duty.hit.get("version_id") in specific):
                continue
            if added >= self.max_penalties:
                break
            part = loader.full(pen)
            if part.key in fulls:
                continue
            fulls[part.key] = part
            added += 1
            label = duty.hit.get("label") or ""
            prefer = [label, *hints_of.get(id(duty), [])] if how != "general" else ["违反本"]
            units = with_sanction(part, best_units(part, terms, prefer=prefer, limit=1, weights=weights))
            units = with_items(part, units, terms, weights, prefer=prefer)
            out += [make_statement(part, u, "penalty") for u in units]
        return out

    def _recourse(self, duties: list[FullArticle], statements: list[Statement], fulls: dict[tuple, FullArticle],
                  loader: ArticleLoader, terms: list[str], weights: dict[str, float]) -> list[Statement]:
        """Where to turn: one provision of a quoted text that offers a complaint, report or application route
        (有权…举报, 可以向…投诉, 可以申请…), the one sharing most of the question's words; none when a quoted
        provision already is one."""
        if any(is_recourse(s.quote) for s in statements):
            return []
        best: tuple[float, int, FullArticle | None, Unit | None] = (-1.0, 0, None, None)
        versions = list(dict.fromkeys(d.hit.get("version_id") for d in duties if d.hit.get("version_id")))
        for rank, vid in enumerate(versions[: self.recourse_versions]):
            for p in loader.version(vid):
                payload = p.payload
                if payload.get("kind", "article") != "article" or not is_recourse(payload.get("text") or ""):
                    continue
                art = loader.full(dict(payload))
                for u in article_units(art):
                    if not is_recourse(u.text):
                        continue
                    cov = overlap(terms, u.text, weights)[0]
                    key = (cov, -rank)
                    if key > (best[0], best[1]):
                        best = (cov, -rank, art, u)
        _, _, art, unit = best
        if art is None or unit is None:
            return []
        fulls.setdefault(art.key, art)
        return [make_statement(art, u, "recourse") for u in with_items(art, [unit], terms, weights)]

    @staticmethod
    def _verbatim(s: Statement, articles: list[dict]) -> bool:
        return any(a.get("version_id") == s.version_id and a.get("article_no") == s.article_no
                   and (a.get("article_suffix") or "") == s.article_suffix and s.quote in (a.get("text") or "")
                   for a in articles)

    # optional rephrasing
    def _rephrase(self, answer: Answer) -> None:
        try:
            from haystack.dataclasses import ChatMessage

            prompt = build_prompt(answer.question, answer.statements)
            out = self.generator.run(messages=[ChatMessage.from_system(SYSTEM_PROMPT), ChatMessage.from_user(prompt)])
            replies = out.get("replies") or []
            generated = replies[0].text if replies else ""
        except Exception:  # noqa: BLE001 - the extractive answer stands when the generator fails
            log.exception("answer generator failed; keeping the extractive answer")
            return
        kept, dropped = verify_generated(generated or "", answer.statements, answer.articles)
        answer.dropped = dropped
        if kept:
            answer.answer_text = "\n".join(kept)
            answer.mode = "generated+verified"


SECTIONS = (("applies", "相关条文规定："), ("penalty", "违反上述规定的法律责任："), ("enforcer", "执法部门："),
            ("recourse", "可以向哪里反映或申请："))


def compose_text(statements: list[Statement], conclusion: Conclusion | None = None) -> str:
    """The answer as text: the conclusion, then each section's quotes numbered, a 项 under its lead-in."""
    lines = [f"结论：{conclusion.text}"] if conclusion else []
    for role, heading in SECTIONS:
        group = [s for s in statements if s.role == role]
        if not group:
            continue
        lines.append(heading)
        n = 0
        for s in group:
            if s.item_no is not None and lines and n:
                lines.append(f"   {s.text}")
            else:
                n += 1
                lines.append(f"{n}. {s.text}")
    return "\n".join(lines)


SYSTEM_PROMPT = ("你是法律检索助手。只能根据用户给出的条文摘录回答，不得补充摘录之外的内容。"
                 "每句话末尾必须用《法规名称》第X条第Y款的格式注明出处，出处只能是摘录中出现的条文；"
                 "引用原文时用中文引号“”并逐字照抄。")


def build_prompt(question: str, statements: list[Statement]) -> str:
    quotes = "\n".join(f"[{i}] {s.citation}：“{s.quote}”" for i, s in enumerate(statements, start=1))
    return f"问题：{question}\n\n条文摘录：\n{quotes}\n\n请用简明的中文回答问题。"


def _split_sentences(text: str) -> list[str]:
    out, cur, depth = [], "", 0
    for ch in text:
        cur += ch
        if ch == "“":
            depth += 1
        elif ch == "”":
            depth = max(0, depth - 1)
        elif depth == 0 and (ch in "。！？\n"):
            if cur.strip():
                out.append(cur)
            cur = ""
    if cur.strip():
        out.append(cur)
    return out


def verify_generated(text: str, statements: list[Statement], articles: list[dict]) -> tuple[list[str], list[str]]:
    """Keep the sentences whose every citation names a quoted article (and an existing 款 of it) and whose
    quoted text, if any, is verbatim in that article. Returns (kept, dropped)."""
    by_article: dict[tuple[str, int, str], dict] = {}
    quoted_keys = {(normalize_title(s.title), s.article_no, s.article_suffix) for s in statements}
    for a in articles:
        key = (normalize_title(a.get("title") or ""), int(a.get("article_no") or 0), a.get("article_suffix") or "")
        if key in quoted_keys:
            by_article[key] = a
    kept, dropped = [], []
    for sent in _split_sentences(text):
        s = sent.strip()
        if not s:
            continue
        cites = list(_CITED.finditer(s))
        ok = bool(cites)
        targets = []
        for m in cites:
            try:
                key = (normalize_title(m.group("title")), cn_to_int(m.group("no")), m.group("suffix") or "")
                clause = cn_to_int(m.group("clause")) if m.group("clause") else None
            except ValueError:
                ok = False
                break
            art = by_article.get(key)
            if art is None:
                ok = False
                break
            n_clauses = len(art.get("clauses") or []) or 1
            if clause is not None and not 1 <= clause <= n_clauses:
                ok = False
                break
            targets.append(art)
        if ok:
            for q in _QUOTED.findall(s):
                if not any(q in (t.get("text") or "") for t in targets):
                    ok = False
                    break
        (kept if ok else dropped).append(s)
    return kept, dropped


def make_generator(base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0):
    """Haystack's OpenAIChatGenerator against an OpenAI-compatible server (LAWSEARCH_LLM_BASE_URL)."""
    from haystack.components.generators.chat import OpenAIChatGenerator
    from haystack.utils import Secret

    return OpenAIChatGenerator(api_key=Secret.from_token(api_key or "none"), model=model, api_base_url=base_url,
                               timeout=timeout, max_retries=1, generation_kwargs={"temperature": 0})


__all__ = ["AnswerComposer", "Answer", "Statement", "NOTHING_FOUND", "overlap", "verify_generated", "make_generator",
           "article_units", "ArticleLoader", "FullArticle"]

"""Grounded answers: which retrieved articles apply and what they say, quoted verbatim and cited.

The composer works only from what retrieval returned (plus, for a question about a violation, the penalty article of
a retrieved duty article: `search.penalties`). It reads the question through its `QueryAnalysis` (search.query).
Offline it is purely extractive: every statement is an exact substring of an indexed article, followed by its
citation 《title》第X条第Y款. When nothing retrieved is relevant enough (term overlap below a threshold) it says so
instead of guessing.

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

MIN_COVERAGE = 0.5  # share of the question's content characters found in the article
MIN_TERMS = 2  # distinct content words found whole in one 款/项 (all of them when the question has fewer)
MAX_ARTICLES = 3
RELATIVE = 0.75  # an article is quoted when it scores at least this share of the best one


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


def _sentences(text: str) -> list[str]:
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch in _SENTENCE_END:
            out.append(cur)
            cur = ""
    if cur.strip():
        out.append(cur)
    return [s for s in out if s.strip()]


def article_units(art: FullArticle, *, long_clause: int = 160) -> list[Unit]:
    """Quotable units of an article, each an exact substring of its text."""
    units: list[Unit] = []
    clauses = art.clauses or [{"text": line, "items": []} for line in art.text.split("\n") if line.strip()]
    numbered = len(clauses) > 1
    for k, cl in enumerate(clauses, start=1):
        ctext = (cl.get("text") or "").strip()
        cno = k if numbered else None
        if ctext:
            pieces = _sentences(ctext) if len(ctext) > long_clause else [ctext]
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

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer_text": self.answer_text,
                "statements": [s.to_dict() for s in self.statements], "articles": self.articles,
                "mode": self.mode, "grounded": self.grounded, "dropped": self.dropped, "retrieval": self.retrieval}


SearchFn = Callable[..., dict]


class AnswerComposer:
    """question → retrieved articles → verbatim quotes with citations (→ optional verified rephrasing)."""

    def __init__(self, search: SearchFn, index: Any | None = None, *, generator: Any | None = None,
                 top_k: int = 10, min_coverage: float = MIN_COVERAGE, min_terms: int = MIN_TERMS,
                 max_articles: int = MAX_ARTICLES):
        self.search = search
        self.index = index
        self.generator = generator
        self.top_k = top_k
        self.min_coverage = min_coverage
        self.min_terms = min_terms
        self.max_articles = max_articles

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

    def answer(self, question: str, filters: dict | None = None) -> Answer:
        question = (question or "").strip()
        query = analyse(question)
        result = self.search(question, top_k=self.top_k, filters=filters or {})
        hits = result.get("hits") or []
        mode = result.get("mode") or ""
        terms = list(query.answer_terms)
        extra = list(query.expansion)
        if extra and not result.get("mode", "").startswith("citation"):
            # Everyday words (养狗, 拴绳) rarely occur in statutes: search again with the statutory words added,
            # and put what that finds first. Quotes still come only from the retrieved articles.
            more = self.search(question + " " + " ".join(extra), top_k=self.top_k, filters=filters or {})
            seen_keys = set()
            merged = []
            for h in (more.get("hits") or []) + hits:
                if _hit_key(h) not in seen_keys:
                    seen_keys.add(_hit_key(h))
                    merged.append(h)
            hits = merged
        cited = self._cited_keys(query.citations, hits)
        if len(terms) == 1 and len(terms[0]) * 3 < len(_CJK.findall(question)) and not cited:
            terms = []  # one content word in a long question says too little to pick an article by
        weights = term_weights(terms, [c for h in hits for c in hit_contexts(h)])
        scored = [(self.relevance(h, terms, cited, weights), h) for h in hits]
        top = max((sc for sc, _ in scored), default=0.0)
        # Retrieval order, but only articles nearly as relevant as the best one.
        chosen = [h for sc, h in scored if sc > 0 and sc >= RELATIVE * top][: self.max_articles]
        if not chosen:
            return Answer(question, NOTHING_FOUND + "。", [], [], "extractive", False, retrieval=mode)

        violation = query.breach
        loader = ArticleLoader(self.index)
        statements: list[Statement] = []
        articles: list[dict] = []
        seen: set[tuple] = set()
        duties: list[FullArticle] = []
        for h in chosen:
            art = loader.full(h)
            if art.key in seen:
                continue
            seen.add(art.key)
            articles.append(art.hit)
            specs = cited.get(article_key(h))
            whole = specs is not None
            units = cited_units(art, specs) if whole else best_units(art, terms, weights=weights)
            penalty = is_penalty(art.hit)
            if penalty and not whole:
                units = with_sanction(art, units)
            statements += [make_statement(art, u, "penalty" if penalty and violation else "applies") for u in units]
            if not penalty:
                duties.append(art)

        if violation:
            found, hints_of = [], {}
            for duty in duties:
                quoted = [st for st in statements if st.version_id == duty.hit.get("version_id")
                          and st.article_no == duty.hit.get("article_no")]
                hints = [f"第{int_to_cn(st.item_no)}项" for st in quoted if st.item_no]
                hints += [f"第{int_to_cn(st.clause_no)}款" for st in quoted if st.clause_no]
                hints_of[id(duty)] = hints
                found.append((duty, *find_penalty(duty.hit, duty.enforcement, loader, hits, hints)))
            specific = {d.hit.get("version_id") for d, pen, how in found if pen and how != "general"}
            for duty, pen, _how in found:
                if not pen or (_how == "general" and duty.hit.get("version_id") in specific):
                    continue
                part = loader.full(pen)
                if part.key in seen:
                    continue
                seen.add(part.key)
                articles.append(part.hit)
                label = duty.hit.get("label") or ""
                prefer = [label, *hints_of.get(id(duty), [])] if _how != "general" else ["违反本"]
                units = with_sanction(part, best_units(part, terms, prefer=prefer, limit=1, weights=weights))
                statements += [make_statement(part, u, "penalty") for u in units]

        statements = [s for s in statements if self._verbatim(s, articles)]
        statements.sort(key=lambda s: s.role == "penalty")  # what applies first, then the responsibility
        if not statements:
            return Answer(question, NOTHING_FOUND + "。", [], [], "extractive", False, retrieval=mode)
        text = compose_text(statements)
        answer = Answer(question, text, statements, articles, "extractive", True, retrieval=mode)
        if self.generator is not None:
            self._rephrase(answer)
        return answer

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


def compose_text(statements: list[Statement]) -> str:
    lines = []
    applies = [s for s in statements if s.role == "applies"]
    penalties = [s for s in statements if s.role == "penalty"]
    if applies:
        lines.append("相关条文规定：")
        lines += [f"{i}. {s.text}" for i, s in enumerate(applies, start=1)]
    if penalties:
        lines.append("违反上述规定的法律责任：")
        lines += [f"{i}. {s.text}" for i, s in enumerate(penalties, start=1)]
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

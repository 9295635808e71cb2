"""One analysis of a query: its words, what kind of question it is, and the query the retriever sees.

`analyse(query)` is computed once per query text (cached) and handed as a `QueryAnalysis` to the search pipeline's
components (citations, retrieval, linker) and to the answer composer. Search and answers read a question in ways
tuned separately, and where those ways give different words they stay separate, named fields:

- `terms` — jieba search mode, every word of ≥ 2 characters: the snippet highlights;
- `conduct_terms` — `terms` without the words that only say "violation" (`data/non_content.txt`): what the linker
  matches a penalty article's punished conduct against;
- `answer_terms` — jieba precise mode, lone characters joined (乱 扔 → 乱扔), without question words and generic
  legal words (`data/answer_stopwords.txt`): what the answer composer judges relevance by;
- `violation` (`data/violation_words.txt`, or 不…会怎样) — asks about a violation's consequences: deeper retrieval
  and the linker's violation re-rank; `breach` (`data/breach_words.txt`, broader) — mentions conduct that breaks a
  duty: the answer composer quotes the duty's penalty too; `penalty_intent` — asks for the sanction itself.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jieba

from search.citations import CitationMatch, find_citations, is_pure_citation
from search.expansion import Glossary, default_glossary
from search.words import word_pattern, word_set

jieba.setLogLevel(logging.WARNING)

_CJK = re.compile(r"[\u4e00-\u9fff]")
#: 不/未/没有 … 会怎样/怎么办: a question about what follows from not doing something.
_NOT_DOING = (r"(?:不|未|没有?|拒不|拒绝|擅自)[^，。？?！!]{0,40}?"
              r"(?:会怎样|会怎么样|怎么办|怎么处理|如何处理|怎么处罚|承担什么|有什么责任)")
#: Sanction words taken out of the retrieval query of a violation question: every penalty article says 罚款, and
#: the word pulls towards texts about fines in general (行政处罚法) instead of the conduct asked about.
#: Only the asking phrase at a clause end (…会被罚款吗, … 罚款, 罚多少钱), never a term such as 行政处罚 or 从轻处罚.
SANCTION_WORDS_RE = re.compile(
    r"罚多少钱?|怎么罚|怎样罚|"
    r"(?:是否|会不会|会|要|将)?(?:被|受到|给予)?(?:什么|哪些|怎样的)?(?<![政事安轻重予除])(?:罚款|处罚|罚钱)(?:吗|么|多少钱?)?"
    r"(?=[\s，,。？?！!；;]|$)")


@lru_cache(maxsize=1)
def violation_pattern() -> re.Pattern[str]:
    """Words that make a query a question about a violation and its consequences."""
    return re.compile(f"(?:{word_pattern('violation_words').pattern})|{_NOT_DOING}")


def is_violation_query(query: str) -> bool:
    return bool(violation_pattern().search(query or ""))


def is_yes_no_question(query: str) -> bool:
    """A yes/no or "can I" question: a phrase of data/yes_no_words.txt (能不能, 合法吗 …), or a clause ending in 吗/么
    that holds a modal word of data/yes_no_modal_words.txt (新来的工人能直接上岗吗)."""
    text = query or ""
    if word_pattern("yes_no_words").search(text):
        return True
    modal = word_pattern("yes_no_modal_words")
    return any(modal.search(clause) for clause in re.findall(r"[^，。？?！!；;,]*[吗么](?=[？?。！!\s]|$)", text))


def search_terms(query: str) -> tuple[str, ...]:
    """Every word jieba's search mode finds (≥ 2 characters, at least one Chinese), longest first."""
    words = {w for w in jieba.cut_for_search(query) if len(w) >= 2 and _CJK.search(w)}
    return tuple(sorted(words, key=lambda w: (-len(w), w)))


def conduct_terms(terms: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The search terms that can name a conduct: not 罚款, 违反, 怎么办 … (words that only say "violation")."""
    non_content = word_set("non_content")
    violation = violation_pattern()
    return tuple(t for t in terms if t not in non_content and not violation.fullmatch(t))


def answer_terms(question: str, glossary: Glossary | None = None) -> tuple[str, ...]:
    """The content words of a question (jieba precise mode), without question words and generic legal words."""
    synonyms = (glossary or default_glossary()).synonyms
    stopwords, single_stop = word_set("answer_stopwords"), word_set("single_char_stopwords")
    text = re.sub(r"[《》]", " ", question)
    words: list[str] = []
    run = ""
    for w in jieba.lcut(text) + [""]:
        w = w.strip()
        if len(w) == 1 and _CJK.match(w) and w not in single_stop:
            run += w  # 乱 扔 → 乱扔; a lone content character (狗) is kept when it has a statutory synonym
            continue
        if len(run) >= 2 or run in synonyms:
            words.append(run)
        run = ""
        words.append(w)
    out: list[str] = []
    for w in words:
        if not w or (len(w) < 2 and w not in synonyms) or not _CJK.search(w) or w in stopwords or w in out:
            continue
        out.append(w)
    return tuple(out)


def answer_expansion(terms: tuple[str, ...] | list[str], glossary: Glossary | None = None) -> tuple[str, ...]:
    """The statutory words for the everyday words of a question (养狗 → 养犬 犬只), not already among them."""
    synonyms = (glossary or default_glossary()).synonyms
    out: list[str] = []
    for t in terms:
        for syn in synonyms.get(t, ()):
            if syn != t and syn not in terms and syn not in out:
                out.append(syn)
    return tuple(out)


def retrieval_query(query: str) -> str:
    """The question as the retriever should see it: a violation question without its sanction words, when enough
    of it is left (遛狗不牵绳 罚款 → 遛狗不牵绳)."""
    if not is_violation_query(query):
        return query
    stripped = re.sub(r"\s+", " ", SANCTION_WORDS_RE.sub(" ", query)).strip()
    return stripped if len(re.findall(r"[\u4e00-\u9fff]", stripped)) >= 4 else query


@dataclass(frozen=True)
class QueryAnalysis:
    """What search and answers read from one query (see the module docstring for each way of reading it)."""

    text: str  # the query as asked (stripped)
    terms: tuple[str, ...]
    conduct_terms: tuple[str, ...]
    answer_terms: tuple[str, ...]
    expansion: tuple[str, ...]  # legal words for `answer_terms` (glossary answer column): the composer's 2nd search
    citations: tuple[CitationMatch, ...]  # 《…》第X条 written in the query, in order
    citation_only: bool  # nothing but citations (no similarity search when they resolve)
    violation: bool
    penalty_intent: bool
    breach: bool
    retrieval_query: str  # `text` without the sanction asking phrase of a violation question
    yes_no: bool = False  # asks whether something is allowed or required (the answer opens with a conclusion)

    @property
    def ranker_flags(self) -> dict[str, bool]:
        """What the learned ranker reads of the question's kind (`search.ranker`)."""
        return {"violation": self.violation, "penalty_intent": self.penalty_intent}

    def __deepcopy__(self, memo: dict) -> QueryAnalysis:
        return self  # immutable: the pipeline's deep copies between components may share it

    def to_dict(self) -> dict[str, Any]:  # what a Haystack pipeline snapshot records of it
        return {"text": self.text, "violation": self.violation, "penalty_intent": self.penalty_intent,
                "citations": len(self.citations)}


@lru_cache(maxsize=1024)
def analyse(query: str) -> QueryAnalysis:
    """The analysis of one query (the glossary is the default one). Cached: the answer composer and the search
    it calls analyse the same question once."""
    text = (query or "").strip()
    terms = search_terms(text)
    words = answer_terms(text)
    matches = tuple(find_citations(text))
    return QueryAnalysis(
        text=text, terms=terms, conduct_terms=conduct_terms(terms), answer_terms=words,
        expansion=answer_expansion(words), citations=matches, citation_only=is_pure_citation(text, list(matches)),
        violation=is_violation_query(text), penalty_intent=bool(word_pattern("penalty_intent_words").search(text)),
        breach=bool(word_pattern("breach_words").search(text)), retrieval_query=retrieval_query(text),
        yes_no=is_yes_no_question(text))


__all__ = ["QueryAnalysis", "analyse", "search_terms", "conduct_terms", "answer_terms", "answer_expansion",
           "retrieval_query", "is_violation_query", "is_yes_no_question", "violation_pattern", "SANCTION_WORDS_RE"]

"""Lay wording learned from labelled questions: the statute's words that go with a question's everyday words.

The hand glossary (`search/data/glossary.tsv`, `search.expansion`) holds what its authors thought of; the labelled
questions (and reviewed feedback) show more: people who write 个体 or 商户 are answered by articles that say 经营户,
people who write 老板 by articles that say 用人单位. Mining, over the training questions only:

- a question's words: jieba search mode, runs of ≥ 2 Chinese characters, without the question words and generic
  legal words of search/data/answer_stopwords.txt (怎么办, 可以, 应当 …); an answer's words: the same over the text
  of the question's relevant articles;
- for a question word w asked in at least `min_questions` questions and an answer word t (not inside w, nor w inside
  t): `pairs` = questions that hold w and whose articles hold t, `share` = pairs / questions holding w, `lift` = share
  / (share of all training questions whose articles hold t). t is kept for w when pairs ≥ `min_pairs`, share ≥
  `min_share` and lift ≥ `min_lift`; the best `top` by pairs × log(lift).

At query time the retriever adds the kept words of the question's words to the sparse (BM25) query at `WEIGHT` of a
question word (`HybridRetriever._requests`): they widen the candidates, the ranker judges them. Learned words are a
trained artefact like the ranker: saved beside it (`wording/learned.json`), rebuilt by `lawsearch train`, mined per
fold in cross-validation and per half for the ranker's own training candidates (a question's own articles must not
lend it words). Measured in evaluation/ABLATION.md (eighth session).
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from corpus.jsonfile import read_json, write_json
from corpus.training import relevant_keys
from search.query import search_terms
from search.words import word_set

WORDING_DIR = "wording"
WORDING_FILE = "learned.json"
#: A learned word's weight in the sparse query, against 1 for a word of the question. System cross-validation (936
#: STARD + 45 xuzhou questions, 5 folds, ranker R@10 · R@100 · MRR@10), without the stop words: 0.4 gave STARD 0.649 ·
#: 0.878 · 0.538 and xuzhou 0.681 · 0.881 · 0.508; 0.25 gave 0.648 · 0.877 · 0.538 and 0.696 · 0.937 · 0.516.
WEIGHT = 0.25
#: At most this many learned words a query: without a cap a query took 17 on average (STARD dev, up to 50), which
#: nearly doubled its BM25 terms and cost ≈ 1 ms of search; with 10 the cross-validated figures were the same
#: (evaluation/ABLATION.md, eighth session).
MAX_TERMS = 10
PARAMS = {"min_questions": 2, "min_pairs": 2, "min_share": 0.3, "min_lift": 3.0, "top": 5}

_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")

Key = tuple[str, int, str]


def content_words(text: str) -> set[str]:
    """The query's own search terms (`search.query.search_terms`, jieba search mode) made of Chinese characters only:
    the unit of mining and of lookup, for questions and articles alike."""
    return {w for w in search_terms(text or "") if _CJK_WORD.match(w)}


@dataclass
class LearnedWording:
    terms: dict[str, tuple[str, ...]]  # question word → statute words, best first
    card: dict = field(default_factory=dict)

    @classmethod
    def mine(cls, questions: Iterable[dict], article_text: Mapping[Key, str] | Callable[[Key], str | None], *,
             min_questions: int = PARAMS["min_questions"], min_pairs: int = PARAMS["min_pairs"],
             min_share: float = PARAMS["min_share"], min_lift: float = PARAMS["min_lift"],
             top: int = PARAMS["top"], stopwords: Iterable[str] | None = None) -> "LearnedWording":
        """Associations mined from labelled questions ({"query", "relevant"} in the file or record format);
        `article_text` gives a relevant article's text by its (title key, number, suffix). Question words in
        `stopwords` (default: search/data/answer_stopwords.txt, question words and generic legal words) learn
        nothing."""
        skip = word_set("answer_stopwords") if stopwords is None else frozenset(stopwords)
        text_of = article_text.get if isinstance(article_text, Mapping) else article_text
        asked: Counter[str] = Counter()
        answered: Counter[str] = Counter()
        together: dict[str, Counter[str]] = defaultdict(Counter)
        n = 0
        for q in questions:
            texts = [text_of(k) or "" for k in sorted(relevant_keys(q))]
            if not any(texts):
                continue
            n += 1
            words = content_words(q["query"]) - skip
            answer: set[str] = set()
            for t in texts:
                answer |= content_words(t)
            asked.update(words)
            answered.update(answer)
            for w in words:
                together[w].update(answer - words)
        terms: dict[str, tuple[str, ...]] = {}
        for w, nw in asked.items():
            if nw < min_questions:
                continue
            scored = []
            for t, c in together[w].items():
                if c < min_pairs or t in w or w in t:
                    continue
                share = c / nw
                lift = share / (answered[t] / n)
                if share >= min_share and lift >= min_lift:
                    scored.append((-c * math.log(lift), t))
            if scored:
                terms[w] = tuple(t for _, t in sorted(scored)[:top])
        params = {"min_questions": min_questions, "min_pairs": min_pairs, "min_share": min_share,
                  "min_lift": min_lift, "top": top}
        return cls(dict(sorted(terms.items())), {"questions": n, "question_words": len(terms), "params": params,
                                                 "weight": WEIGHT})

    def terms_for(self, query: str, limit: int | None = None) -> list[str]:
        """The learned statute words for `query`'s words, none already in the query: each word's best first, then
        each word's second …, at most `limit` (default `MAX_TERMS`)."""
        limit = MAX_TERMS if limit is None else limit
        lists = [self.terms[w] for w in sorted(content_words(query), key=lambda w: (-len(w), w)) if w in self.terms]
        out: list[str] = []
        for rank in range(max(map(len, lists), default=0)):
            for terms in lists:
                if rank < len(terms) and terms[rank] not in out and terms[rank] not in query:
                    out.append(terms[rank])
                    if len(out) >= limit:
                        return out
        return out

    def __len__(self) -> int:
        return len(self.terms)

    # ---- saved beside the ranker -----------------------------------------------------------------------------
    def save(self, data_dir: Path) -> Path:
        return write_json(Path(data_dir) / WORDING_DIR / WORDING_FILE,
                          {"card": self.card, "terms": {w: list(t) for w, t in self.terms.items()}}, indent=0)

    @classmethod
    def load(cls, data_dir: Path) -> LearnedWording | None:
        data = read_json(Path(data_dir) / WORDING_DIR / WORDING_FILE)
        if data is None:
            return None
        return cls({w: tuple(t) for w, t in (data.get("terms") or {}).items()}, data.get("card") or {})

    @staticmethod
    def remove(data_dir: Path) -> None:
        (Path(data_dir) / WORDING_DIR / WORDING_FILE).unlink(missing_ok=True)


__all__ = ["LearnedWording", "PARAMS", "WEIGHT", "content_words"]

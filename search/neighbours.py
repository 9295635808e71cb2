"""The labelled questions most like a query, and the articles that answered them: two ranker features.

A question like one already answered is often answered by the same regulation, or the same article ("狗走丢了要办什么
手续" and "狗丢了要不要去派出所注销"). For a query, the `k` labelled questions nearest by character-bigram TF-IDF
cosine vote, each with its similarity (the votes sum to 1), for the regulations and the articles of its gold; a
candidate's two features are the votes its regulation and its article got. Measured in evaluation/ABLATION.md
(tenth session).

What is kept is not the questions' text: each is a vector over hashed bigrams (CRC-32) and its gold article keys, so
the file saved beside the ranker holds no question as written (feedback questions may hold personal data). In
training, a question's own entry is left out of its votes (`exclude`), as it is absent for a new question.
"""
from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from corpus.jsonfile import read_json, write_json
from corpus.training import question_id, relevant_keys

FILE = "neighbours.json"
#: Questions that vote: 40, chosen over 10, 20 and 80 (evaluation/ABLATION.md, tenth session).
K = 40
_NON_CJK = re.compile(r"[^\u4e00-\u9fff]+")

Key = tuple[str, int, str]


def _bigram_counts(text: str) -> Counter:
    counts: Counter = Counter()
    for run in _NON_CJK.split(text or ""):
        counts.update(zlib.crc32(run[i:i + 2].encode("utf-8")) for i in range(len(run) - 1))
    return counts


class LabelledNeighbours:
    """Hashed-bigram TF-IDF vectors of labelled questions, their ids and gold article keys."""

    def __init__(self, ids: Sequence[str], vectors: Sequence[dict[int, float]], gold: Sequence[Sequence[Key]],
                 idf: dict[int, float], *, k: int = K):
        from scipy.sparse import csr_matrix

        self.ids = list(ids)
        self.gold = [[(str(t), int(n), str(s)) for t, n, s in g] for g in gold]
        self.idf = dict(idf)
        self.k = k
        self._vectors = [dict(v) for v in vectors]
        self._column = {h: i for i, h in enumerate(sorted(self.idf))}
        rows, cols, vals = [], [], []
        for r, v in enumerate(self._vectors):
            for h, w in v.items():
                if h in self._column:
                    rows.append(r)
                    cols.append(self._column[h])
                    vals.append(w)
        self._matrix = csr_matrix((vals, (rows, cols)), shape=(len(self.ids), max(len(self._column), 1)))
        self._position = {qid: i for i, qid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of_questions(cls, questions: Sequence[dict], *, k: int = K) -> LabelledNeighbours:
        """From labelled questions ({"id", "query", "relevant"}); those without a gold article are left out."""
        kept = [q for q in questions if relevant_keys(q)]
        counts = [_bigram_counts(q["query"]) for q in kept]
        df = Counter(h for c in counts for h in c)
        n = max(len(kept), 1)
        idf = {h: math.log(n / d) + 1.0 for h, d in df.items()}
        return cls([question_id(q) for q in kept], [_unit(c, idf) for c in counts],
                   [sorted(relevant_keys(q)) for q in kept], idf, k=k)

    def votes(self, query: str, *, exclude: str | None = None) -> tuple[dict[str, float], dict[Key, float]]:
        """(regulation title key → vote, article key → vote) of the `k` nearest questions (`exclude`: a question
        id left out, the question itself in training)."""
        if not self.ids:
            return {}, {}
        q = _unit(_bigram_counts(query), self.idf)
        if not q:
            return {}, {}
        vec = np.zeros(self._matrix.shape[1])
        for h, w in q.items():
            vec[self._column[h]] = w
        sims = self._matrix @ vec
        skip = self._position.get(exclude) if exclude is not None else None
        if skip is not None:
            sims[skip] = -1.0
        top = [i for i in np.argsort(-sims, kind="stable")[: self.k].tolist() if sims[i] > 0]
        total = float(sum(sims[i] for i in top)) or 1.0
        regs: dict[str, float] = {}
        arts: dict[Key, float] = {}
        for i in top:
            w = float(sims[i]) / total
            for key in self.gold[i]:
                arts[key] = arts.get(key, 0.0) + w
            for title in {key[0] for key in self.gold[i]}:
                regs[title] = regs.get(title, 0.0) + w
        return regs, arts

    # -- persistence (beside the ranker) ------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        path = Path(folder) / FILE
        write_json(path, {"k": self.k, "idf": [[h, w] for h, w in sorted(self.idf.items())],
                          "questions": [{"id": qid, "vector": [[h, round(w, 6)] for h, w in sorted(v.items())],
                                         "gold": [list(key) for key in g]}
                                        for qid, v, g in zip(self.ids, self._vectors, self.gold)]})
        return path

    @classmethod
    def load(cls, folder: Path) -> LabelledNeighbours | None:
        data = read_json(Path(folder) / FILE)
        if not data:
            return None
        qs = data["questions"]
        return cls([q["id"] for q in qs], [{int(h): float(w) for h, w in q["vector"]} for q in qs],
                   [[tuple(key) for key in q["gold"]] for q in qs], {int(h): float(w) for h, w in data["idf"]},
                   k=int(data.get("k", K)))


def _unit(counts: Counter, idf: dict[int, float]) -> dict[int, float]:
    """TF-IDF over the bigrams the labelled questions have, scaled to length 1."""
    v = {h: c * idf[h] for h, c in counts.items() if h in idf}
    norm = math.sqrt(sum(w * w for w in v.values()))
    return {h: w / norm for h, w in v.items()} if norm else {}


__all__ = ["K", "LabelledNeighbours"]

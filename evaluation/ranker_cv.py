"""Cross-validation of the whole trained system: the embedder and the learned ranker, both fit per fold.

For each of k folds (fixed by question id, `evaluation.crossval.fold_of`): the ranker is trained on the other
folds' questions with out-of-fold dense features (`search.learning.out_of_fold_groups`: two embedders, each
trained on one half of those questions, describe the other half), the static embedder is trained on all of them
(plus the library) and the fold's questions are scored — without the ranker (fusion and priors), with it, and with
each ablation (a feature group zeroed, and the ranker retrained without it). This is the production procedure
(`lawsearch train`) repeated per fold, so each figure is of questions the models did not see.

Scoring is that of ../shared/eval/score_run.py (titles normalised, an article counted once at its best rank).
"""
from __future__ import annotations

import json
import pickle
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from corpus.errors import ConfigError
from evaluation.crossval import average, fold_of, read_questions, relevant_keys, score_one
from search.learning import FoldEmbedder, fold_retriever, out_of_fold_groups, question_group, ranked_keys
from search.neighbours import LabelledNeighbours
from search.ranker import FEATURE_FIELDS, FEATURES, LearnedRanker, TrainingGroup, feature_names

#: Feature groups for the ablation table: each is zeroed (train and test) and the ranker retrained.
ABLATIONS: dict[str, tuple[str, ...]] = {
    "bm25": ("bm25", "bm25_rank", "in_bm25"),
    "dense": ("cos", "cos_rank", "in_dense"),
    "fusion": ("fused", "fused_rank"),
    "level": tuple(f for f in FEATURES if f.startswith("level_")),
    "jurisdiction": ("home_city", "home_province", "national", "other_region"),
    "year": ("year",),
    "title": ("title_mass", "title_share"),
    "heading": ("heading_share",),
    "position": ("position", "opening_article", "log_articles"),
    "penalty": ("penalty", "violation_question", "penalty_for_violation", "penalty_for_sanction"),
    "regulation": ("regulation_count", "regulation_best"),
}


def _masked(group: TrainingGroup, columns: Sequence[int]) -> TrainingGroup:
    if not columns:
        return group
    x = group.features.copy()
    x[:, list(columns)] = 0.0
    return replace(group, features=x)


class SystemTrainer:
    """Trains the system on some questions and describes others' candidates, as `lawsearch train` does: the ranker
    learns from out-of-fold candidates of the training questions, the questions scored are searched with the
    embedder trained on all training questions. `encoder_candidates`: the questions scored also get the character
    encoder's list (the index must hold its vectors); the ranker still learns without it, as `lawsearch train`
    does, so the encoder adds candidates and no feature columns."""

    def __init__(self, runtime: Any, flt: Any, *, encoder_candidates: bool = False):
        from search.retrieval import RERANK_FIELDS

        if encoder_candidates and not runtime.encoder_in_use():
            raise ConfigError("需要字符编码器的候选：请设置 LAWSEARCH_ENCODER_MODEL，并让索引含有其向量（lawsearch ingest）",
                              detail="encoder_candidates")
        self.encoder = runtime.encoder if encoder_candidates else None
        self.runtime, self.flt = runtime, flt
        self.fold_embedder = FoldEmbedder(runtime.index.articles, flt=flt, data_dir=runtime.data_dir,
                                          fields=list(RERANK_FIELDS) + list(FEATURE_FIELDS) + ["title"])
        self.stats = runtime.regulation_stats()
        self.home = runtime.home_regions()

    def make_retriever(self, emb: Any, dense: Any, wording: Any = None, encoder: Any = None) -> Any:
        return fold_retriever(self.runtime.index.articles, self.runtime.sparse_encoders, emb, dense, wording,
                              home_regions=self.home, stats=self.stats, encoder=encoder)

    def fit(self, train: list[dict], test: list[dict]) -> tuple[Any, list[TrainingGroup], list[tuple]]:
        """(retriever for the test questions, training groups, test groups with their candidate keys)."""
        neighbours = LabelledNeighbours.of_questions(train)  # the fold's training questions vote
        train_groups = out_of_fold_groups(train, self.flt, fold_embedder=self.fold_embedder,
                                          make_retriever=self.make_retriever, neighbours=neighbours)
        r = self.make_retriever(*self.fold_embedder(train), encoder=self.encoder)
        r.use_neighbours(neighbours)
        test_groups = [question_group(r, q, self.flt) for q in test]
        if self.encoder is not None:  # the encoder's columns dropped: the ranker learns without them
            width = len(feature_names(False))
            test_groups = [(replace(g, features=g.features[:, :width]), keys)
                           for g, keys in test_groups]
        return r, train_groups, test_groups


def _summary(rows: dict[str, list[tuple[str, dict]]]) -> dict[str, Any]:
    sources = sorted({s for v in rows.values() for s, _ in v})
    return {name: {"all": {"queries": len(v), **average([m for _, m in v])},
                   **{s: {"queries": sum(1 for t, _ in v if t == s), **average([m for t, m in v if t == s])}
                      for s in sources}} for name, v in rows.items()}


def system_crossval(runtime: Any, questions: list[dict], *, flt: Any, k: int = 5, ablations: bool = True,
                    progress: bool = True, dump: Path | None = None,
                    encoder_candidates: bool = False) -> dict[str, Any]:
    """Per-question metrics averaged per source file (`source` of each question) and overall, for the fused
    order (`fusion`), the ranker (`ranker`) and each ablation (`-name`). `dump`: a folder where each fold's
    training and test groups are pickled with their candidates' article keys (for tuning the ranker's settings, or
    trying columns computed from the keys, without retraining embedders).
    `encoder_candidates`: see `SystemTrainer` (the encoder issue's ablation; its model must not have seen the
    questions scored)."""
    trainer = SystemTrainer(runtime, flt, encoder_candidates=encoder_candidates)
    variants = {"": ()}
    if ablations:
        variants.update({f"-{name}": tuple(FEATURES.index(f) for f in cols) for name, cols in ABLATIONS.items()})
    folds = [fold_of(str(q["id"]), k) for q in questions]
    rows: dict[str, list[tuple[str, dict]]] = {"fusion": [], "ranker": [], **{n: [] for n in variants if n}}
    importance: list[dict[str, float]] = []
    for f in range(k):
        t0 = time.perf_counter()
        train = [q for q, g in zip(questions, folds) if g != f]
        test = [q for q, g in zip(questions, folds) if g == f]
        if not test:
            continue
        r, train_groups, test_groups = trainer.fit(train, test)
        if dump is not None:
            Path(dump).mkdir(parents=True, exist_ok=True)
            with open(Path(dump) / f"fold{f}.pkl", "wb") as fh:
                pickle.dump({"train": train_groups, "test": test_groups,
                             "relevant": [sorted(relevant_keys(q)) for q in test],
                             "sources": [q.get("source", "") for q in test]}, fh)
        for name, cols in variants.items():
            ranker = LearnedRanker.train([_masked(g, cols) for g in train_groups])
            if not name:
                importance.append(ranker.importance())
            for q, (g, keys) in zip(test, test_groups):
                rel = relevant_keys(q)
                if not name:
                    rows["fusion"].append((q.get("source", ""), score_one(keys, rel)))
                rows[name or "ranker"].append((q.get("source", ""), score_one(ranked_keys(r, ranker, _masked(g, cols),
                                                                                         keys), rel)))
        if progress:
            done = {n: average([m for _, m in v])["R@10"] for n, v in rows.items() if v}
            print(json.dumps({"fold": f, "train": len(train), "test": len(test),
                              "seconds": round(time.perf_counter() - t0, 1), "R@10": done}, ensure_ascii=False),
                  flush=True)
    return {"k": k, "questions": len(questions), "variants": _summary(rows),
            "importance": {f: round(float(np.mean([imp.get(f, 0.0) for imp in importance])), 4) for f in FEATURES}}


def feedback_simulation(runtime: Any, base: list[dict], users: list[dict], *, flt: Any,
                        progress: bool = True) -> dict[str, Any]:
    """What users' feedback buys: `users`' questions are split in two halves; each half is scored by a system
    trained on `base` alone and by one trained on `base` plus the other half given as accepted feedback."""
    trainer = SystemTrainer(runtime, flt)
    rows: dict[str, list[tuple[str, dict]]] = {"without feedback": [], "with feedback": []}
    halves = [fold_of(str(q["id"]) + "#feedback", 2) for q in users]
    for h in (0, 1):
        test = [q for q, g in zip(users, halves) if g == h]
        given = [q for q, g in zip(users, halves) if g != h]
        for name, train in (("without feedback", base), ("with feedback", base + given)):
            r, train_groups, test_groups = trainer.fit(train, test)
            ranker = LearnedRanker.train(train_groups)
            rows[name] += [(q.get("source", ""), score_one(ranked_keys(r, ranker, g, keys), relevant_keys(q)))
                           for q, (g, keys) in zip(test, test_groups)]
            if progress:
                print(json.dumps({"half": h, "variant": name, "R@10": average([m for _, m in rows[name]])["R@10"]},
                                 ensure_ascii=False), flush=True)
    return {"base_questions": len(base), "feedback_questions": len(users), "variants": _summary(rows)}


def load_labelled(paths: Sequence[Path]) -> list[dict]:
    """Questions of several files, each tagged with its file's stem as `source` (stard_dev, xuzhou_dev …)."""
    return [dict(q, source=Path(path).stem) for path in paths for q in read_questions(Path(path))]


__all__ = ["ABLATIONS", "SystemTrainer", "feedback_simulation", "load_labelled", "system_crossval"]

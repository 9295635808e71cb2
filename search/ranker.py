"""A learned ranker (LightGBM LambdaMART) over the fused candidates, instead of hand-set priors alone.

The retriever fuses BM25 and dense candidates (`search.retrieval`); the ranker re-orders the first `pool` of them by a
model trained on labelled questions. Each candidate is described by features a person would weigh:

- how well it matched: BM25 score and rank, dense cosine and rank (static; the character encoder's when the index
  holds its vectors), the fused score and rank;
- what it is: the regulation's level, whether the text is the deployment's city's, its province's, national or
  another region's (the law that applies to the asker), its version year, whether it is a penalty article, whether
  it is a paragraph of a text without 条, where the article stands in its regulation;
- how it fits the question: the share of the regulation title's words (character bigrams, weighted by how rare they
  are among titles) found in the question, the share of its chapter headings' words, a penalty article for a question
  about a violation or a sanction;
- regulation evidence: how many of the first candidates come from the same regulation, and its best fused score.

The model is a small text file (`ranker/model.txt` in the data directory) with a card (`ranker/card.json`: features,
training data, settings, cross-validated figures). Training is seeded and single-threaded-deterministic.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corpus.regions import NATIONAL
from corpus.titles import normalize_title

RANKER_DIR = "ranker"
MODEL_FILE = "model.txt"
CARD_FILE = "card.json"
#: Levels with a feature of their own (others share "level_other").
LEVELS = ("法律", "行政法规", "司法解释", "部门规章", "地方性法规", "地方政府规章")
#: Candidate payload fields the features read (beside the retriever's re-ranking fields).
FEATURE_FIELDS = ["title_key", "headings", "is_penalty", "version_date"]
FEATURES = ("bm25", "bm25_rank", "in_bm25", "cos", "cos_rank", "in_dense", "fused", "fused_rank",
            *(f"level_{lv}" for lv in LEVELS), "level_other",
            "home_city", "home_province", "national", "other_region", "year",
            "title_mass", "title_share", "heading_share", "position", "opening_article", "log_articles",
            "penalty", "violation_question", "penalty_for_violation", "penalty_for_sanction",
            "regulation_count", "regulation_best", "paragraph")
#: The character encoder's cosine and rank: columns appended only where the index holds its vectors, so a deployment
#: without the encoder trains and runs exactly the ranker measured in evaluation/ABLATION.md.
ENCODER_FEATURES = ("encoder", "encoder_rank", "in_encoder")


def feature_names(encoder: bool) -> tuple[str, ...]:
    return FEATURES + ENCODER_FEATURES if encoder else FEATURES

_NON_CJK = re.compile(r"[^\u4e00-\u9fff]+")
#: Title words that say what kind of text it is, not what it is about (安全生产法 → 安全生产).
_TITLE_TAIL = re.compile(r"(?:实施细则|实施条例|实施办法|若干规定|暂行条例|暂行规定|暂行办法|条例|规定|办法|细则|规则|"
                         r"解释|决定|意见|通知|法典|法)$")
_TITLE_HEAD = re.compile(r"^(?:中华人民共和国|最高人民法院|最高人民检察院|国务院|全国人民代表大会常务委员会)")


def bigrams(text: str) -> set[str]:
    """Chinese character bigrams of a text (runs of other characters break them)."""
    out: set[str] = set()
    for run in _NON_CJK.split(text or ""):
        out.update(run[i:i + 2] for i in range(len(run) - 1))
    return out


def title_core(title: str, region: str | None = None) -> str:
    """The subject of a title: 徐州市质量促进条例 → 质量促进, 中华人民共和国安全生产法 → 安全生产."""
    t = _TITLE_HEAD.sub("", normalize_title(title))
    if region and region not in NATIONAL and t.startswith(region):
        t = t[len(region):]
    return _TITLE_TAIL.sub("", t)


@dataclass
class RegulationStats:
    """What the features need to know about each current regulation: its title's words and their rarity, its size."""

    title_words: dict[str, set[str]] = field(default_factory=dict)  # title_key → bigrams of its subject
    idf: dict[str, float] = field(default_factory=dict)
    articles: dict[str, int] = field(default_factory=dict)  # title_key → article count

    @classmethod
    def from_versions(cls, records: Iterable[dict]) -> "RegulationStats":
        stats = cls()
        for rec in records:
            if not rec.get("is_current"):
                continue
            key = rec.get("title_key") or normalize_title(rec.get("title") or "")
            stats.title_words[key] = bigrams(title_core(rec.get("title") or "", rec.get("region")))
            stats.articles[key] = max(stats.articles.get(key, 0), int(rec.get("article_count") or 0))
        df = Counter(b for words in stats.title_words.values() for b in words)
        n = max(len(stats.title_words), 1)
        stats.idf = {b: math.log(n / c) for b, c in df.items()}
        return stats

    def title_match(self, title_key: str, query_words: set[str]) -> tuple[float, float]:
        """(idf mass of the title's subject words found in the question, their share of the title's mass)."""
        words = self.title_words.get(title_key)
        if not words:
            return 0.0, 0.0
        found = words & query_words
        if not found:
            return 0.0, 0.0
        got = sum(self.idf.get(b, 0.0) for b in found)
        mass = sum(self.idf.get(b, 0.0) for b in words) or 1.0
        return got, got / mass


@dataclass
class Candidate:
    """One fused candidate as the ranker sees it. Ranks are 0-based; absent from a list = None."""

    id: str
    payload: dict
    fused: float
    fused_rank: int
    bm25: float | None = None
    bm25_rank: int | None = None
    cos: float | None = None
    cos_rank: int | None = None
    encoder: float | None = None  # the character encoder's cosine and rank (its own candidate list)
    encoder_rank: int | None = None


@dataclass(frozen=True)
class Jurisdiction:
    """The deployment's chain of applicable law: its city (may be empty), its province."""

    city: str | None = None
    province: str | None = None

    @classmethod
    def of(cls, home_regions: Iterable[str]) -> "Jurisdiction":
        regions = set(home_regions)
        province = next((r for r in regions if r.endswith(("省", "自治区"))), None)
        city = next((r for r in regions if r != province), None)
        return cls(city=city, province=province)


def _rank_feature(rank: int | None) -> float:
    return math.log1p(rank) if rank is not None else math.log1p(1000)


def build_features(query_words: set[str], flags: dict[str, bool], candidates: Sequence[Candidate],
                   stats: RegulationStats, where: Jurisdiction, *, encoder: bool = False) -> np.ndarray:
    """The feature matrix (len(candidates) × len(feature_names(encoder))), rows in candidate order."""
    violation = float(bool(flags.get("violation")))
    sanction = float(bool(flags.get("penalty_intent")))
    by_reg = Counter()
    best: dict[str, float] = {}
    for c in candidates[:100]:
        k = c.payload.get("title_key") or ""
        by_reg[k] += 1
        best[k] = max(best.get(k, 0.0), c.fused)
    top = max((c.fused for c in candidates), default=1.0) or 1.0
    title_match: dict[str, tuple[float, float]] = {}  # per regulation, per heading path: computed once a query
    heading_share: dict[tuple, float] = {}
    rows = np.zeros((len(candidates), len(FEATURES)), dtype=np.float32)
    enc = np.zeros((len(candidates), len(ENCODER_FEATURES)), dtype=np.float32) if encoder else None
    for i, c in enumerate(candidates):
        p = c.payload
        key = p.get("title_key") or normalize_title(p.get("title") or "")
        level = p.get("level") or ""
        region = p.get("region") or ""
        national = region in NATIONAL
        headings = tuple(p.get("headings") or ())
        if headings not in heading_share:
            words = bigrams("".join(headings))
            heading_share[headings] = len(query_words & words) / (len(words) or 1)
        if key not in title_match:
            title_match[key] = stats.title_match(key, query_words)
        mass, share = title_match[key]
        date = str(p.get("version_date") or "")
        year = int(date[:4]) if date[:4].isdigit() else 2000
        n_articles = stats.articles.get(key) or 0
        no = int(p.get("article_no") or 0)
        penalty = float(bool(p.get("is_penalty")))
        rows[i] = (
            c.bm25 or 0.0, _rank_feature(c.bm25_rank), float(c.bm25_rank is not None),
            c.cos or 0.0, _rank_feature(c.cos_rank), float(c.cos_rank is not None),
            c.fused / top, _rank_feature(c.fused_rank),
            *(float(level == lv) for lv in LEVELS), float(level not in LEVELS),
            float(bool(where.city) and region == where.city), float(bool(where.province) and region == where.province),
            float(national), float(not national and region not in (where.city, where.province)), year,
            mass, share, heading_share[headings],
            no / n_articles if n_articles else 0.0, float(0 < no <= 3), math.log1p(n_articles),
            penalty, violation, penalty * violation, penalty * sanction,
            by_reg.get(key, 0), best.get(key, 0.0) / top, float(p.get("kind") == "paragraph"),
        )
        if enc is not None:
            enc[i] = (c.encoder or 0.0, _rank_feature(c.encoder_rank), float(c.encoder_rank is not None))
    return rows if enc is None else np.hstack([rows, enc])


# ---- the model ------------------------------------------------------------------------------------------------
#: LightGBM settings: small trees (7 leaves, at least 50 candidates a leaf: about 800 training questions give few
#: positives), many rounds, seeded; deterministic on one thread. Chosen among six settings by the 5-fold
#: cross-validation of evaluation/ABLATION.md (all within ±0.01 of each other; the smallest model kept).
TRAIN_PARAMS = {"objective": "lambdarank", "n_estimators": 300, "learning_rate": 0.05, "num_leaves": 7,
                "min_child_samples": 50, "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8,
                "lambdarank_truncation_level": 20, "random_state": 7, "deterministic": True,
                "force_row_wise": True, "n_jobs": 1, "verbose": -1}


@dataclass
class TrainingGroup:
    """One labelled question's candidates: features and 0/1 relevance."""

    question_id: str
    features: np.ndarray
    labels: np.ndarray


class LearnedRanker:
    """A trained LightGBM ranker: `scores(features)` → one score per candidate (higher first)."""

    def __init__(self, booster: Any, card: dict | None = None):
        self.booster = booster
        self.card = dict(card or {})

    @classmethod
    def train(cls, groups: Sequence[TrainingGroup], *, params: dict | None = None) -> "LearnedRanker":
        import lightgbm as lgb

        # a question whose answer is not among the candidates teaches nothing
        useful = [g for g in groups if g.labels.any()]
        if not useful:
            raise ValueError("no labelled question has a relevant article among its candidates")
        names = feature_names(useful[0].features.shape[1] > len(FEATURES))
        model = lgb.LGBMRanker(**{**TRAIN_PARAMS, **(params or {})})
        model.fit(np.vstack([g.features for g in useful]), np.concatenate([g.labels for g in useful]),
                  group=[len(g.labels) for g in useful], feature_name=list(names))
        card = {"features": list(names), "params": {**TRAIN_PARAMS, **(params or {})},
                "questions": len(groups), "questions_used": len(useful)}
        return cls(model.booster_, card)

    @property
    def uses_encoder(self) -> bool:
        """Whether it was trained with the character encoder's columns."""
        return len(self.booster.feature_name()) > len(FEATURES)

    def scores(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(features, num_threads=1), dtype=np.float64)

    def importance(self) -> dict[str, float]:
        gains = self.booster.feature_importance(importance_type="gain")
        total = float(gains.sum()) or 1.0
        return {name: round(float(g) / total, 4) for name, g in zip(self.booster.feature_name(), gains)}

    # -- persistence ------------------------------------------------------------------------------------------
    def save(self, data_dir: Path) -> Path:
        folder = Path(data_dir) / RANKER_DIR
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (MODEL_FILE + ".tmp")
        self.booster.save_model(str(tmp))
        tmp.replace(folder / MODEL_FILE)
        card = {**self.card, "importance": self.importance()}
        tmp = folder / (CARD_FILE + ".tmp")
        tmp.write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(folder / CARD_FILE)
        return folder

    @staticmethod
    def remove(data_dir: Path) -> None:
        """Delete the saved ranker (searches go back to the fused order)."""
        for name in (MODEL_FILE, CARD_FILE):
            (Path(data_dir) / RANKER_DIR / name).unlink(missing_ok=True)

    @classmethod
    def load(cls, data_dir: Path) -> "LearnedRanker | None":
        """The saved ranker, or None when there is none (or it was trained on other features)."""
        folder = Path(data_dir) / RANKER_DIR
        if not (folder / MODEL_FILE).is_file():
            return None
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
        card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8")) if (folder / CARD_FILE).is_file() else {}
        if tuple(booster.feature_name()) not in (feature_names(False), feature_names(True)):
            return None
        return cls(booster, card)


__all__ = ["ENCODER_FEATURES", "FEATURES", "FEATURE_FIELDS", "Candidate", "Jurisdiction", "LearnedRanker", "RegulationStats",
           "TrainingGroup", "bigrams", "build_features", "feature_names", "title_core"]

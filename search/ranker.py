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

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corpus.jsonfile import read_json, write_json
from corpus.regions import NATIONAL
from corpus.titles import normalize_title
from search.neighbours import FILE as NEIGHBOURS_FILE
from search.neighbours import LabelledNeighbours

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
            "regulation_count", "regulation_best", "paragraph",
            "neighbour_regulation", "neighbour_article")
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


#: `_rank_feature` of ranks 0, 1, 2, …: the same libm values, looked up for a whole column at once (np.log1p may
#: differ from math.log1p in the last bit, and the ranker compares features with its thresholds).
_RANK_LOGS = np.array([math.log1p(r) for r in range(1024)])


def _rank_features(ranks: np.ndarray) -> np.ndarray:
    """`_rank_feature` of a column of ranks (−1: absent from the list)."""
    global _RANK_LOGS
    ranks = np.where(ranks < 0, 1000, ranks)
    table = _RANK_LOGS
    if len(ranks) and int(ranks.max()) >= len(table):
        table = _RANK_LOGS = np.array([math.log1p(r) for r in range(2 * int(ranks.max()) + 1)])
    return table[ranks]


@dataclass
class CandidateColumns:
    """Candidates as columns, the form the features are computed in. Scores are NaN and ranks −1 where the
    candidate is absent from that list."""

    payloads: list[dict]
    fused: np.ndarray
    fused_rank: np.ndarray
    bm25: np.ndarray
    bm25_rank: np.ndarray
    cos: np.ndarray
    cos_rank: np.ndarray
    encoder: np.ndarray
    encoder_rank: np.ndarray

    @classmethod
    def of(cls, candidates: Sequence[Candidate]) -> CandidateColumns:
        def scores(name: str) -> np.ndarray:
            return np.array([np.nan if getattr(c, name) is None else getattr(c, name) for c in candidates],
                            dtype=np.float64)

        def ranks(name: str) -> np.ndarray:
            return np.array([-1 if getattr(c, name) is None else getattr(c, name) for c in candidates],
                            dtype=np.int64)

        return cls(payloads=[c.payload for c in candidates], fused=scores("fused"), fused_rank=ranks("fused_rank"),
                   bm25=scores("bm25"), bm25_rank=ranks("bm25_rank"), cos=scores("cos"), cos_rank=ranks("cos_rank"),
                   encoder=scores("encoder"), encoder_rank=ranks("encoder_rank"))


#: Columns that depend on the candidate alone (given the regulation stats and the jurisdiction), in this order:
#: level_* (7), home_city, home_province, national, other_region, year, position, opening_article, log_articles,
#: penalty, paragraph.
_POINT_COLUMNS = np.array([FEATURES.index(n) for n in (
    *(f"level_{lv}" for lv in LEVELS), "level_other", "home_city", "home_province", "national", "other_region",
    "year", "position", "opening_article", "log_articles", "penalty", "paragraph")])
_COL = {name: i for i, name in enumerate(FEATURES)}


class PointFeatures:
    """The per-candidate part of the features: the point columns, the keys of its regulation and its headings.

    With `cache` (the retriever's, one per stats and jurisdiction) a payload's part is computed once and kept by
    the payload object's identity: sound for the retriever's field-table rows, which are never changed once made
    (≈30 MB for the 150k-article index, against ≈1.5 ms of a query's CPU to build the features row by row).
    """

    def __init__(self, stats: RegulationStats, where: Jurisdiction, *, cache: bool = False,
                 max_entries: int = 500_000):
        self.stats = stats
        self.where = where
        self.cache = cache
        self.max_entries = max_entries
        self.epoch: int | None = None  # set by the owner to tell when the payloads it holds were made
        self._points: dict[int, tuple] = {}  # id(payload) → (payload, row, key, regulation key, headings)
        self._heading_words: dict[tuple, set[str]] = {}

    def _point(self, p: dict) -> tuple:
        key = p.get("title_key") or normalize_title(p.get("title") or "")
        level = p.get("level") or ""
        region = p.get("region") or ""
        national = region in NATIONAL
        date = str(p.get("version_date") or "")
        n_articles = self.stats.articles.get(key) or 0
        no = int(p.get("article_no") or 0)
        where = self.where
        row = np.array((
            *(float(level == lv) for lv in LEVELS), float(level not in LEVELS),
            float(bool(where.city) and region == where.city), float(bool(where.province) and region == where.province),
            float(national), float(not national and region not in (where.city, where.province)),
            int(date[:4]) if date[:4].isdigit() else 2000,
            no / n_articles if n_articles else 0.0, float(0 < no <= 3), math.log1p(n_articles),
            float(bool(p.get("is_penalty"))), float(p.get("kind") == "paragraph"),
        ), dtype=np.float32)
        return p, row, key, p.get("title_key") or "", tuple(p.get("headings") or ())

    def points(self, payloads: Sequence[dict]) -> list[tuple]:
        if not self.cache:
            return [self._point(p) for p in payloads]
        known = self._points
        if len(known) > self.max_entries:
            known = self._points = {}
        out = []
        for p in payloads:
            got = known.get(id(p))
            if got is None or got[0] is not p:
                got = known[id(p)] = self._point(p)
            out.append(got)
        return out

    def heading_words(self, headings: tuple) -> set[str]:
        words = self._heading_words.get(headings)
        if words is None:
            if len(self._heading_words) > self.max_entries:
                self._heading_words = {}
            words = self._heading_words[headings] = bigrams("".join(headings))
        return words


def build_features(query_words: set[str], flags: dict[str, bool], candidates: Sequence[Candidate],
                   stats: RegulationStats, where: Jurisdiction, *, encoder: bool = False,
                   votes: tuple[dict, dict] | None = None) -> np.ndarray:
    """The feature matrix (len(candidates) × len(feature_names(encoder))), rows in candidate order."""
    return feature_matrix(query_words, flags, CandidateColumns.of(candidates), PointFeatures(stats, where),
                          encoder=encoder, votes=votes)


def feature_matrix(query_words: set[str], flags: dict[str, bool], cols: CandidateColumns, points: PointFeatures,
                   *, encoder: bool = False, votes: tuple[dict, dict] | None = None) -> np.ndarray:
    """`build_features` on candidate columns, with the per-candidate part from `points` (cached or not). `votes`:
    the labelled neighbours' votes for regulations and articles (`search.neighbours`); none: zeros."""
    n = len(cols.payloads)
    violation = float(bool(flags.get("violation")))
    sanction = float(bool(flags.get("penalty_intent")))
    parts = points.points(cols.payloads)
    top = (float(cols.fused.max()) if n else 1.0) or 1.0
    # regulation evidence among the first 100 candidates (keyed by the payload's title_key as written)
    by_reg: dict[str, int] = {}
    best: dict[str, float] = {}
    for (_, _, _, k, _), fused in zip(parts[:100], cols.fused[:100].tolist()):
        by_reg[k] = by_reg.get(k, 0) + 1
        best[k] = max(best.get(k, 0.0), fused)
    title_match: dict[str, tuple[float, float]] = {}  # per regulation, per heading path: computed once a query
    heading_share: dict[tuple, float] = {}
    mass, share, heads, count, reg_best = (np.empty(n) for _ in range(5))
    for i, (_, _, key, _, headings) in enumerate(parts):
        if key not in title_match:
            title_match[key] = points.stats.title_match(key, query_words)
        if headings not in heading_share:
            words = points.heading_words(headings)
            heading_share[headings] = len(query_words & words) / (len(words) or 1)
        mass[i], share[i] = title_match[key]
        heads[i] = heading_share[headings]
        count[i] = by_reg.get(key, 0)
        reg_best[i] = best.get(key, 0.0) / top
    rows = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n:
        rows[:, _POINT_COLUMNS] = np.array([r for _, r, _, _, _ in parts])
    penalty = rows[:, _COL["penalty"]]
    for name, score, rank in (("bm25", cols.bm25, cols.bm25_rank), ("cos", cols.cos, cols.cos_rank)):
        rows[:, _COL[name]] = np.where(np.isnan(score), 0.0, score)
        rows[:, _COL[f"{name}_rank"]] = _rank_features(rank)
        rows[:, _COL["in_bm25" if name == "bm25" else "in_dense"]] = rank >= 0
    rows[:, _COL["fused"]] = cols.fused / top
    rows[:, _COL["fused_rank"]] = _rank_features(cols.fused_rank)
    rows[:, _COL["title_mass"]], rows[:, _COL["title_share"]], rows[:, _COL["heading_share"]] = mass, share, heads
    rows[:, _COL["violation_question"]] = violation
    rows[:, _COL["penalty_for_violation"]] = penalty * violation
    rows[:, _COL["penalty_for_sanction"]] = penalty * sanction
    rows[:, _COL["regulation_count"]], rows[:, _COL["regulation_best"]] = count, reg_best
    if votes and (votes[0] or votes[1]):
        regs, arts = votes
        rows[:, _COL["neighbour_regulation"]] = [regs.get(key, 0.0) for _, _, key, _, _ in parts]
        rows[:, _COL["neighbour_article"]] = [
            arts.get((key, int(p.get("article_no") or 0), p.get("article_suffix") or ""), 0.0) if key in regs
            else 0.0 for p, _, key, _, _ in parts]
    if not encoder:
        return rows
    enc = np.zeros((n, len(ENCODER_FEATURES)), dtype=np.float32)
    enc[:, 0] = np.where(np.isnan(cols.encoder), 0.0, cols.encoder)
    enc[:, 1] = _rank_features(cols.encoder_rank)
    enc[:, 2] = cols.encoder_rank >= 0
    return np.hstack([rows, enc])


# ---- the model ------------------------------------------------------------------------------------------------
#: LightGBM settings: small trees (7 leaves, at least 50 candidates a leaf: about 800 training questions give few
#: positives), many rounds, seeded; deterministic on one thread. Chosen among six settings by the 5-fold
#: cross-validation of evaluation/ABLATION.md (all within ±0.01 of each other; the smallest model kept).
TRAIN_PARAMS = {"objective": "lambdarank", "n_estimators": 300, "learning_rate": 0.05, "num_leaves": 7,
                "min_child_samples": 50, "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8,
                "lambdarank_truncation_level": 20, "random_state": 7, "deterministic": True,
                "force_row_wise": True, "n_jobs": 1, "verbose": -1}
#: The ranker is a bag of models that differ only in their seed (the rows and features each tree samples): one
#: seeded model's figures moved by ±0.007 R@10 on STARD and ±0.02 on xuzhou_dev from seed to seed; the sum of five
#: is steadier and better on both (evaluation/ABLATION.md). Kept as one LightGBM file, the members' trees one after
#: the other.
SEEDS = (7, 1, 2, 3, 4)
#: Scoring cost grows with candidates × trees (≈ 3.6 µs a candidate for 300 trees here): the first member orders the
#: whole pool, the others re-score only its first `ENSEMBLE_HEAD` candidates. CV over the 981 questions: 300, 50 and
#: 20 give the same R@10, R@100 and MRR@10 on STARD and xuzhou_dev; 15 and 10 begin to move them. 20 instead of 50
#: saved ≈ 1 ms a search (evaluation/ABLATION.md).
ENSEMBLE_HEAD = 20


@dataclass
class TrainingGroup:
    """One labelled question's candidates: features and 0/1 relevance; `keys`: the candidates' article keys in row
    order, where the group was built from a search (a dump extended with features computed afterwards reads them)."""

    question_id: str
    features: np.ndarray
    labels: np.ndarray
    keys: list | None = None


class LearnedRanker:
    """A trained LightGBM ranker: `scores(features)` → one score per candidate (higher first).

    The booster may hold several members, their trees one after the other (`card["member_trees"]`: how many each
    has): see `SEEDS`."""

    def __init__(self, booster: Any, card: dict | None = None, neighbours: Any | None = None):
        self.booster = booster
        self.card = dict(card or {})
        # the labelled questions its neighbour features were trained with (`search.neighbours`), saved beside it
        self.neighbours = neighbours
        sizes = [int(n) for n in self.card.get("member_trees") or []]
        if len(sizes) < 2 or sum(sizes) != booster.num_trees():
            sizes = [booster.num_trees()]  # one model, or a card that does not describe it: all trees at once
        self.member_trees = sizes

    @classmethod
    def train(cls, groups: Sequence[TrainingGroup], *, params: dict | None = None,
              seeds: Sequence[int] = SEEDS, neighbours: LabelledNeighbours | None = None) -> "LearnedRanker":
        """`neighbours`: the labelled questions the groups' neighbour features were computed with (kept with it,
        for new queries)."""
        import lightgbm as lgb

        # a question whose answer is not among the candidates teaches nothing
        useful = [g for g in groups if g.labels.any()]
        if not useful:
            raise ValueError("no labelled question has a relevant article among its candidates")
        names = feature_names(useful[0].features.shape[1] > len(FEATURES))
        x = np.vstack([g.features for g in useful])
        y = np.concatenate([g.labels for g in useful])
        sizes = [len(g.labels) for g in useful]
        settings = {**TRAIN_PARAMS, **(params or {})}
        seeds = list(seeds) or [settings["random_state"]]
        boosters = []
        for seed in seeds:
            model = lgb.LGBMRanker(**{**settings, "random_state": seed})
            model.fit(x, y, group=sizes, feature_name=list(names))
            boosters.append(model.booster_)
        card = {"features": list(names), "params": settings, "seeds": seeds,
                "questions": len(groups), "questions_used": len(useful),
                "neighbours": len(neighbours) if neighbours is not None else 0}
        if len(boosters) == 1:
            return cls(boosters[0], card, neighbours)
        card["member_trees"] = [b.num_trees() for b in boosters]
        return cls(_concatenated(boosters), card, neighbours)

    @property
    def uses_encoder(self) -> bool:
        """Whether it was trained with the character encoder's columns."""
        return len(self.booster.feature_name()) > len(FEATURES)

    def scores(self, features: np.ndarray) -> np.ndarray:
        """One score per candidate. With several members: the first member's score for every candidate, and for its
        first `ENSEMBLE_HEAD` the mean of all members', lifted above the rest (the order is what counts)."""
        if len(features) == 0:
            return np.zeros(0)
        if len(self.member_trees) == 1:
            return np.asarray(self.booster.predict(features, num_threads=1), dtype=np.float64)
        per = self.member_trees[0]
        first = np.asarray(self.booster.predict(features, num_threads=1, num_iteration=per), dtype=np.float64)
        head = np.argsort(-first, kind="stable")[:ENSEMBLE_HEAD]
        rest = np.asarray(self.booster.predict(features[head], num_threads=1, start_iteration=per),
                          dtype=np.float64)
        mean = (first[head] + rest) / len(self.member_trees)
        out = first.copy()
        if len(head) < len(first):
            below = np.delete(first, head)
            out[head] = mean + max(0.0, float(below.max()) - float(mean.min())) + 1e-6
        else:
            out[head] = mean
        return out

    def importance(self) -> dict[str, float]:
        gains = self.booster.feature_importance(importance_type="gain")
        total = float(gains.sum()) or 1.0
        return {name: round(float(g) / total, 4) for name, g in zip(self.booster.feature_name(), gains)}

    # -- persistence ------------------------------------------------------------------------------------------
    def save(self, data_dir: Path) -> Path:
        folder = Path(data_dir) / RANKER_DIR
        folder.mkdir(parents=True, exist_ok=True)
        if self.neighbours is not None:
            self.neighbours.save(folder)
        else:
            (folder / NEIGHBOURS_FILE).unlink(missing_ok=True)
        tmp = folder / (MODEL_FILE + ".tmp")
        self.booster.save_model(str(tmp))
        tmp.replace(folder / MODEL_FILE)
        write_json(folder / CARD_FILE, {**self.card, "importance": self.importance()}, indent=2)
        return folder

    @staticmethod
    def remove(data_dir: Path) -> None:
        """Delete the saved ranker (searches go back to the fused order)."""
        for name in (MODEL_FILE, CARD_FILE, NEIGHBOURS_FILE):
            (Path(data_dir) / RANKER_DIR / name).unlink(missing_ok=True)

    @staticmethod
    def saved(data_dir: Path) -> bool:
        """Whether a ranker is saved in the data directory (usable or not: see `load`)."""
        return (Path(data_dir) / RANKER_DIR / MODEL_FILE).is_file()

    @classmethod
    def load(cls, data_dir: Path) -> "LearnedRanker | None":
        """The saved ranker, or None when there is none (or it was trained on other features)."""
        folder = Path(data_dir) / RANKER_DIR
        if not (folder / MODEL_FILE).is_file():
            return None
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
        card = read_json(folder / CARD_FILE) or {}
        if tuple(booster.feature_name()) not in (feature_names(False), feature_names(True)):
            return None
        return cls(booster, card, LabelledNeighbours.load(folder))


def _concatenated(boosters: Sequence[Any]) -> Any:
    """One LightGBM booster holding the trees of several (same features and objective), in order: its prediction
    over all trees is the sum of theirs, over a range of iterations that of the members in that range."""
    import lightgbm as lgb

    texts = [b.model_to_string() for b in boosters]
    trees: list[str] = []
    for text in texts:
        body = text[text.index("Tree=0"):text.index("end of trees")]
        trees += [t for t in re.split(r"(?m)^(?=Tree=\d+$)", body) if t]
    trees = [re.sub(r"^Tree=\d+", f"Tree={i}", t) for i, t in enumerate(trees)]
    head = texts[0][:texts[0].index("Tree=0")]
    head = re.sub(r"(?m)^tree_sizes=.*$", "tree_sizes=" + " ".join(str(len(t.encode())) for t in trees), head)
    return lgb.Booster(model_str=head + "".join(trees) + texts[0][texts[0].index("end of trees"):])


__all__ = ["ENCODER_FEATURES", "FEATURES", "FEATURE_FIELDS", "Candidate", "CandidateColumns", "Jurisdiction",
           "LearnedRanker", "PointFeatures", "RegulationStats", "TrainingGroup", "bigrams", "build_features",
           "feature_matrix", "feature_names", "title_core"]

"""Run files and metrics, defined exactly as ../shared/eval/score_run.py defines them (and tested against it)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from corpus.titles import normalize_title

KS = (1, 5, 10, 20, 100)


def load_queries(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def qrels_of(queries: list[dict]) -> dict[str, set[tuple[str, int, str]]]:
    return {q["id"]: {(normalize_title(r["title"]), int(r["article"]), r.get("suffix", "") or "")
                      for r in q["relevant"]} for q in queries}


def load_run(path: str | Path) -> dict[str, list[tuple[str, int, str]]]:
    run = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            run[r["id"]] = dedupe_hits(r["hits"])
    return run


def dedupe_hits(hits: list[dict]) -> list[tuple[str, int, str]]:
    """Article keys in rank order, each once at its best rank (versions and parts collapse)."""
    seen: list[tuple[str, int, str]] = []
    have = set()
    for h in hits:
        try:
            k = (normalize_title(h["title"]), int(h["article_no"]), h.get("article_suffix") or "")
        except (KeyError, TypeError, ValueError):
            continue
        if k not in have:
            have.add(k)
            seen.append(k)
    return seen


def per_query(rel: set, got: list) -> dict[str, float]:
    m = {f"R@{k}": len(rel & set(got[:k])) / len(rel) for k in KS}
    m["MRR@10"] = next((1 / (i + 1) for i, k in enumerate(got[:10]) if k in rel), 0.0)
    dcg = sum(1 / math.log2(i + 2) for i, k in enumerate(got[:10]) if k in rel)
    m["nDCG@10"] = dcg / sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
    return m


def score(qrels: dict[str, set], run: dict[str, list]) -> dict[str, float]:
    agg: dict[str, float] = {}
    for qid, rel in qrels.items():
        for k, v in per_query(rel, run.get(qid, [])).items():
            agg[k] = agg.get(k, 0.0) + v
    out = {k: round(v / len(qrels), 4) for k, v in agg.items()} if qrels else {}
    out["queries"] = len(qrels)
    out["answered"] = sum(1 for q in qrels if run.get(q))
    return out


def query_type(q: dict) -> str:
    """A coarse breakdown: how many articles answer it, and whether it is phrased as a question."""
    n = len(q["relevant"])
    size = "1 article" if n == 1 else ("2-3 articles" if n <= 3 else "4+ articles")
    return size


def breakdown(queries: list[dict], run: dict[str, list]) -> dict[str, dict]:
    groups: dict[str, list[dict]] = {}
    for q in queries:
        groups.setdefault(query_type(q), []).append(q)
    return {name: score(qrels_of(qs), run) for name, qs in sorted(groups.items())}


def recall_curve(qrels: dict[str, set], run: dict[str, list], ks=range(1, 101)) -> list[float]:
    return [sum(len(rel & set(run.get(q, [])[:k])) / len(rel) for q, rel in qrels.items()) / max(len(qrels), 1)
            for k in ks]


def plot_recall(curve: list[float], out: str | Path, label: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    ax.plot(range(1, len(curve) + 1), curve, label=label or "recall@k")
    ax.set_xscale("log")
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)

"""What `lawsearch eval run|score|crossval|system-cv` do, given plain values (the command line parses them)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from corpus.store import Condition, FilterSpec
from evaluation.crossval import read_questions, store_crossval
from evaluation.metrics import breakdown, load_queries, load_run, plot_recall, qrels_of, recall_curve, score
from service.runtime import Runtime


def write_run(engine_search, queries: list[dict], out: str | Path, *, top_k: int = 100,
              filters: dict | None = None) -> int:
    """Run every query through `engine_search(query, top_k=, filters=)` and write the run file."""
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for q in queries:
            res = engine_search(q["query"], top_k=top_k, filters=filters)
            hits = [{"title": h["title"], "article_no": h["article_no"], "article_suffix": h.get("article_suffix", "")}
                    for h in res["hits"]]
            f.write(json.dumps({"id": q["id"], "hits": hits}, ensure_ascii=False) + "\n")
            n += 1
    return n


def eval_run(settings, *, queries: str, out: str, top_k: int = 100, filters: dict | None = None) -> int:
    rt = Runtime.open(settings)
    try:
        n = write_run(rt.search, load_queries(queries), out, top_k=top_k, filters=filters)
        retrieval = rt.retrieval_description
    finally:
        rt.close()
    print(f"已写入 {n} 条查询的结果：{out}（检索方式：{retrieval}）")
    return 0


def eval_score(*, queries: str, run: str, plot: str | None = None, as_json: bool = False) -> int:
    questions = load_queries(queries)
    qrels, ranked = qrels_of(questions), load_run(run)
    result = {"overall": score(qrels, ranked), "by_type": breakdown(questions, ranked)}
    if plot:
        plot_recall(recall_curve(qrels, ranked), plot, label=Path(run).stem)
        result["plot"] = plot
    if as_json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    o = result["overall"]
    print("  ".join(f"{k} {o[k]:.4f}" for k in ("R@1", "R@5", "R@10", "R@20", "R@100", "MRR@10", "nDCG@10"))
          + f"  ({o['queries']} queries)")
    for name, m in result["by_type"].items():
        print(f"  {name:<14} R@10 {m['R@10']:.4f}  R@100 {m['R@100']:.4f}  MRR@10 {m['MRR@10']:.4f}  ({m['queries']})")
    if plot:
        print(f"recall@k plot: {plot}")
    return 0


def _on_index(settings, work) -> int:
    """Run `work(runtime)` on the configured index (2 with a Chinese message when it is empty)."""
    rt = Runtime.open(settings)
    try:
        if rt.index.articles.count() == 0:
            print("索引为空：请先导入法规（lawsearch ingest）", file=sys.stderr)
            return 2
        work(rt)
    finally:
        rt.close()
    return 0


def eval_crossval(settings, *, queries: str, folds: int = 5) -> int:
    """k-fold cross-validation of the trained embedder on the configured index."""
    questions = read_questions(Path(queries))
    return _on_index(settings, lambda rt: print(json.dumps(store_crossval(
        rt.index.articles, rt.sparse_encoders, data_dir=rt.data_dir, questions=questions, k=int(folds or 5),
        flt=FilterSpec(must=[Condition(field="is_current", eq=True)]), progress=True), ensure_ascii=False)))


def _with_default_scope(settings, work) -> int:
    """Run `work(runtime, flt)` on the configured index under the search's default filter and scope."""
    from search.engine import build_filter

    return _on_index(settings, lambda rt: work(rt, build_filter({}, rt.engine.titles, home_region=rt.home_region)))


def _report(res: dict, out: str | None) -> None:
    if out:
        Path(out).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    for name, by_source in res["variants"].items():
        print(f"{name:<18}" + "  ".join(f"{src} R@10 {m['R@10']:.3f} R@100 {m['R@100']:.3f} MRR@10 {m['MRR@10']:.3f}"
                                        for src, m in by_source.items()))


def eval_system_cv(settings, *, queries: list[str], folds: int = 5, ablations: bool = True,
                   out: str | None = None, dump: str | None = None, encoder_candidates: bool = False) -> int:
    """k-fold cross-validation of the embedder and the learned ranker (search default scope and filter)."""
    from evaluation.ranker_cv import load_labelled, system_crossval

    questions = load_labelled([Path(q) for q in queries])
    return _with_default_scope(settings, lambda rt, flt: _report(
        system_crossval(rt, questions, flt=flt, k=int(folds or 5), ablations=ablations,
                        dump=Path(dump) if dump else None, encoder_candidates=encoder_candidates), out))


def eval_feedback_sim(settings, *, base: list[str], feedback: list[str], out: str | None = None) -> int:
    """Feedback simulation (evaluation.ranker_cv.feedback_simulation) on the configured index."""
    from evaluation.ranker_cv import feedback_simulation, load_labelled

    base_q, users = load_labelled([Path(q) for q in base]), load_labelled([Path(q) for q in feedback])
    return _with_default_scope(settings, lambda rt, flt: _report(
        feedback_simulation(rt, base_q, users, flt=flt), out))

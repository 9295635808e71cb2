"""`lawsearch eval run|score|crossval`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from evaluation.metrics import breakdown, load_queries, load_run, plot_recall, qrels_of, recall_curve, score


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


def main(args, settings) -> int:
    if args.eval_cmd == "run":
        from api.runtime import Runtime
        from cli.commands import _filters

        rt = Runtime.open(settings)
        try:
            queries = load_queries(args.queries)
            n = write_run(rt.search, queries, args.out, top_k=args.top_k, filters=_filters(args))
            retrieval = rt.retrieval_description
        finally:
            rt.close()
        print(f"已写入 {n} 条查询的结果：{args.out}（检索方式：{retrieval}）")
        return 0
    if args.eval_cmd == "score":
        queries = load_queries(args.queries)
        qrels, run = qrels_of(queries), load_run(args.run)
        result = {"overall": score(qrels, run), "by_type": breakdown(queries, run)}
        if args.plot:
            plot_recall(recall_curve(qrels, run), args.plot, label=Path(args.run).stem)
            result["plot"] = args.plot
        if args.json:
            json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
            print()
        else:
            o = result["overall"]
            print("  ".join(f"{k} {o[k]:.4f}" for k in ("R@1", "R@5", "R@10", "R@20", "R@100", "MRR@10",
                                                          "nDCG@10")) + f"  ({o['queries']} queries)")
            for name, m in result["by_type"].items():
                print(f"  {name:<14} R@10 {m['R@10']:.4f}  R@100 {m['R@100']:.4f}  MRR@10 {m['MRR@10']:.4f}"
                      f"  ({m['queries']})")
            if args.plot:
                print(f"recall@k plot: {args.plot}")
        return 0
    if args.eval_cmd == "crossval":
        from evaluation.crossval import run_crossval_cli

        return run_crossval_cli(args, settings)
    raise SystemExit(f"unknown eval command {args.eval_cmd}")

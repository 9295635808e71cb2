"""`lawsearch bench parse|ingest|search|http|reingest-load`: figures to report, not assertions."""
from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from evaluation.metrics import load_queries


def peak_rss_mb() -> float:
    """Peak resident memory of this process (and waited-for children) in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)


def percentiles(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)

    def pct(p: float) -> float:
        if not s:
            return 0.0
        i = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
        return round(s[i], 2)

    return {"n": len(s), "p50_ms": pct(50), "p90_ms": pct(90), "p95_ms": pct(95), "p99_ms": pct(99),
            "max_ms": round(s[-1], 2) if s else 0.0, "mean_ms": round(statistics.fmean(s), 2) if s else 0.0}


def bench_parse(args, settings) -> dict:
    from evaluation.parse_report import parse_report

    return parse_report(args.paths, progress=True)


def bench_ingest(args, settings) -> dict:
    """Ingest into a fresh data directory (a temp dir unless --data-dir was given) and report the figures."""
    from api.runtime import Runtime

    tmp = None
    if not args.data_dir:
        tmp = tempfile.TemporaryDirectory(prefix="lawsearch-bench-")
        settings = settings.model_copy(update={"data_dir": Path(tmp.name)})
    t0 = time.perf_counter()
    rt = Runtime.open(settings)
    try:
        s = rt.ingest(args.paths, progress=True, train=True)
        points = rt.index.articles.count()
        desc = rt.retrieval_description
    finally:
        rt.close()
    wall = time.perf_counter() - t0
    if tmp:
        tmp.cleanup()
    return {"files": s.files, "regulations": s.regulations, "articles": s.articles, "points": points,
            "failed": len(s.failed), "wall_s": round(wall, 1), "articles_per_s": round(s.articles / wall, 1),
            "peak_rss_mb": peak_rss_mb(), "phases": s.phases, "trained_embedder": s.trained, "retrieval": desc}


def bench_search(args, settings) -> dict:
    from api.runtime import Runtime

    queries = load_queries(args.queries)
    rt = Runtime.open(settings)
    try:
        cold = []
        if getattr(args, "cold", False):  # first pass before warm-up: what a process that skipped it would see
            for q in queries:
                t = time.perf_counter()
                rt.search(q["query"], top_k=args.top_k)
                cold.append((time.perf_counter() - t) * 1000)
        warm = rt.warm()  # what the API server does at start-up (pipeline, title book, re-ranking fields)
        ms = []
        for q in queries:
            t = time.perf_counter()
            rt.search(q["query"], top_k=args.top_k)
            ms.append((time.perf_counter() - t) * 1000)
        points = rt.index.articles.count()
        desc = rt.retrieval_description
    finally:
        rt.close()
    out = {"queries": len(queries), "points": points, "top_k": args.top_k, "retrieval": desc,
           "warm_up_s": warm["seconds"], **percentiles(ms)}
    if cold:
        out["cold"] = percentiles(cold)
    return out


def bench_http(args, settings) -> dict:
    """N concurrent clients, each with its own connection, sending /api/search requests round-robin over the
    queries until the request budget is spent. Only ever targets the URL given (default: this machine)."""
    import httpx

    queries = [q["query"] for q in load_queries(args.queries)]
    lock = threading.Lock()
    ms: list[float] = []
    errors: list[str] = []
    counter = iter(range(args.requests))

    def client() -> None:
        with httpx.Client(base_url=args.url, timeout=30) as c:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t = time.perf_counter()
                try:
                    r = c.get("/api/search", params={"q": queries[i % len(queries)], "top_k": 10})
                    ok = r.status_code == 200
                except httpx.HTTPError as exc:
                    ok, r = False, exc
                dt = (time.perf_counter() - t) * 1000
                with lock:
                    ms.append(dt)
                    if not ok:
                        errors.append(str(getattr(r, "status_code", r)))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return {"url": args.url, "concurrency": args.concurrency, "requests": len(ms), "errors": len(errors),
            "error_samples": errors[:5], "rps": round(len(ms) / wall, 1), **percentiles(ms)}


DEFAULT_PROBES = ["徐州市安全生产条例", "中华人民共和国安全生产法", "江苏省安全生产条例", "中华人民共和国民法典"]


def bench_reingest_load(args, settings) -> dict:
    """Concurrent searches (in-process threads on one Runtime) while it re-ingests successor versions of the given
    folders (see evaluation/reingest_load.py). Writes those versions into the data directory: run it on a copy."""
    from api.runtime import Runtime
    from evaluation.reingest_load import make_probe, run_reingest_load, successor_copy

    questions = [q["query"] for q in load_queries(args.queries)]
    work = tempfile.TemporaryDirectory(prefix="lawsearch-reingest-", dir=args.work_dir)
    rt = Runtime.open(settings)
    try:
        t = time.perf_counter()
        warm = rt.warm()
        copy = successor_copy(rt.index, args.reingest, Path(work.name), years=args.years)
        probes, skipped = [], []
        for title in args.regulations or DEFAULT_PROBES:
            try:
                probes.append(make_probe(rt, title))
            except ValueError as exc:
                skipped.append(str(exc))
        setup_s = round(time.perf_counter() - t, 1)
        out = run_reingest_load(rt, paths=copy["paths"], questions=questions, probes=probes,
                                concurrency=args.concurrency, before_s=args.before_s, after_s=args.after_s,
                                step_checks=args.step_checks)
        points = rt.index.articles.count()
    finally:
        rt.close()
        work.cleanup()
    return {"data_dir": str(settings.data_dir), "reingest": [str(p) for p in args.reingest],
            "successor_files": copy["rewritten"], "unchanged_files": copy["copied_unchanged"],
            "years_later": copy["years"], "questions": len(questions), "warm_up_rows": warm["rows"],
            "setup_s": setup_s, "points_after": points, "probes_skipped": skipped,
            "ok": out["errors"] == 0 and out["violations"] == 0 and out["duplicate_results"] == 0, **out}


def main(args, settings) -> int:
    fn = {"parse": bench_parse, "ingest": bench_ingest, "search": bench_search, "http": bench_http,
          "reingest-load": bench_reingest_load}[args.bench_cmd]
    result = fn(args, settings)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0 if result.get("ok", True) else 1

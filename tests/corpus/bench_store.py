"""Store speed on Qdrant Edge: upsert N random-sparse points (+ dense), time sparse / dense / hybrid queries.

Not collected by pytest (file name). Run:

    .venv/bin/python tests/corpus/bench_store.py [--points 20000] [--dim 256] [--server :memory:]

Sparse vectors imitate char-bigram BM25 documents: ~120 distinct terms per document drawn from a Zipf-like
vocabulary of 200k ids; queries have ~12 terms. Timings are medians over the queries, before and after `optimize()`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from corpus.store import CollectionLayout, Condition, FilterSpec, PointRecord, open_store

VOCAB = 200_000


def sparse_vec(rng: np.random.Generator, terms: int) -> tuple[list[int], list[float]]:
    ids = np.unique((rng.zipf(1.3, size=terms * 2) - 1) % VOCAB)[:terms]
    vals = rng.uniform(0.3, 2.0, size=len(ids))
    return ids.tolist(), vals.astype(float).tolist()


def make_points(n: int, dim: int, seed: int = 0) -> list[PointRecord]:
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal((n, dim)).astype(np.float32)
    return [
        PointRecord(
            id=str(uuid.UUID(int=i + 1)),
            payload={"regulation_id": f"reg-{i // 40}", "article_no": i % 40 + 1, "is_current": i % 5 != 0,
                     "level": ("法律", "地方性法规", "部门规章")[i % 3]},
            sparse={"bigrams": sparse_vec(rng, 120)},
            dense={"dense": dense[i].tolist()},
        )
        for i in range(n)
    ]


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def run(store, points, dim: int, queries: int) -> None:
    rng = np.random.default_rng(1)
    layout = CollectionLayout(sparse=["bigrams"], dense={"dense": dim}, keyword_fields=["regulation_id", "level"],
                              integer_fields=["article_no"], bool_fields=["is_current"])
    store.ensure_collection(layout, recreate=True)
    t0 = time.perf_counter()
    store.upsert(points, batch_size=512)
    store.flush()
    print(f"{store.backend_name}: upsert+flush {len(points)} points: {time.perf_counter() - t0:.1f} s")
    qs = [sparse_vec(rng, 12) for _ in range(queries)]
    ds = [rng.standard_normal(dim).tolist() for _ in range(queries)]
    current = FilterSpec(must=[Condition("is_current", eq=True), Condition("level", any_of=["法律", "部门规章"])])

    def report(stage: str) -> None:
        it = iter(range(10**9))

        def nxt():
            return next(it) % queries

        cases = {
            "sparse": lambda: store.query(sparse={"bigrams": qs[nxt()]}, limit=10),
            "sparse+filter": lambda: store.query(sparse={"bigrams": qs[nxt()]}, flt=current, limit=10),
            "dense": lambda: store.query(dense={"dense": ds[nxt()]}, limit=10),
            "hybrid rrf": lambda: store.query(sparse={"bigrams": qs[(i := nxt())]}, dense={"dense": ds[i]}, limit=10),
            "hybrid rrf+filter": lambda: store.query(sparse={"bigrams": qs[(i := nxt())]}, dense={"dense": ds[i]},
                                                     flt=current, limit=10),
        }
        batch = [dict(sparse={"bigrams": qs[i]}, dense={"dense": ds[i]}, limit=10) for i in range(queries)]
        line = ", ".join(f"{k} {timed(f, queries):.2f} ms" for k, f in cases.items())
        per = timed(lambda: store.query_batch(batch), 3) / queries
        print(f"  [{stage}] {line}, hybrid via query_batch {per:.2f} ms/query")

    report("before optimize")
    t0 = time.perf_counter()
    store.optimize()
    print(f"  optimize: {time.perf_counter() - t0:.1f} s")
    report("after optimize")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--server", default=None, help="also run the server backend at this URL (':memory:' = local)")
    args = ap.parse_args(argv)
    points = make_points(args.points, args.dim)
    with tempfile.TemporaryDirectory() as d:
        with open_store(data_dir=Path(d)) as store:
            run(store, points, args.dim, args.queries)
        if args.server:
            with open_store(data_dir=Path(d), url=args.server, collection="bench") as store:
                run(store, points, args.dim, min(args.queries, 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())

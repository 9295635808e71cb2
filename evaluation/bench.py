"""`lawsearch bench parse|ingest|search|http|reingest-load`: figures to report, not assertions.

Each benchmark takes plain values (the command line parses them) and returns its figures as a dict."""
from __future__ import annotations

import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

from evaluation.latency import percentiles
from evaluation.metrics import load_queries
from service.runtime import Runtime


def peak_rss_mb() -> float:
    """Peak resident memory of this process (and waited-for children) in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)


class TreeRss:
    """Samples the resident memory of this process plus its children (summed) in a thread, keeping the peaks: the
    memory an ingest needs at once, training children included. `peak_mb` is all resident pages (pages a child
    shares with its parent count twice, so it errs high); `peak_anon_mb` leaves out file-backed pages (the
    engine's memory-mapped segments and WAL, which the kernel can drop and read again) where Linux reports it."""

    def __init__(self, every_s: float = 0.2):
        self.every_s = every_s
        self.peak_mb = 0.0
        self.peak_anon_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    @staticmethod
    def _anon_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _sample(self) -> tuple[float, float]:
        import psutil

        me = psutil.Process()
        total = anon = 0
        for p in [me, *me.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            anon += self._anon_kb(p.pid) * 1024
        return total / 2**20, anon / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, anon = self._sample()
            self.peak_mb = max(self.peak_mb, rss)
            self.peak_anon_mb = max(self.peak_anon_mb, anon)
            self._stop.wait(self.every_s)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def bench_parse(paths: list[str]) -> dict:
    from evaluation.parse_report import parse_report

    return parse_report(paths, progress=True)


def bench_ingest(settings, paths: list[str], *, fresh_dir: bool) -> dict:
    """Ingest (into a fresh temp data directory when `fresh_dir`, else the configured one) and report the figures."""
    tmp = None
    if fresh_dir:
        tmp = tempfile.TemporaryDirectory(prefix="lawsearch-bench-")
        settings = settings.model_copy(update={"data_dir": Path(tmp.name)})
    t0 = time.perf_counter()
    with TreeRss() as tree:
        rt = Runtime.open(settings)
        try:
            s = rt.ingest(paths, progress=True, train=True)
            points = rt.index.articles.count()
            desc = rt.retrieval_description
        finally:
            rt.close()
    wall = time.perf_counter() - t0
    if tmp:
        tmp.cleanup()
    return {"files": s.files, "regulations": s.regulations, "articles": s.articles, "points": points,
            "failed": len(s.failed), "wall_s": round(wall, 1), "articles_per_s": round(s.articles / wall, 1),
            "peak_rss_mb": peak_rss_mb(), "peak_tree_rss_mb": round(tree.peak_mb, 1),
            "peak_tree_anon_mb": round(tree.peak_anon_mb, 1), "load_avg": load_avg(),
            "phases": s.phases, "trained_embedder": s.trained, "retrieval": desc}


def bench_search(settings, *, queries: str, top_k: int = 10, cold: bool = False) -> dict:
    questions = load_queries(queries)
    rt = Runtime.open(settings)
    try:
        cold_ms = []
        if cold:  # first pass before warm-up: what a process that skipped it would see
            for q in questions:
                t = time.perf_counter()
                rt.search(q["query"], top_k=top_k)
                cold_ms.append((time.perf_counter() - t) * 1000)
        warm = rt.warm(freeze_gc=True)  # what the API server does at start-up (pipeline, title book, fields, GC)
        ms = []
        for q in questions:
            t = time.perf_counter()
            rt.search(q["query"], top_k=top_k)
            ms.append((time.perf_counter() - t) * 1000)
        points = rt.index.articles.count()
        desc = rt.retrieval_description
    finally:
        rt.close()
    out = {"queries": len(questions), "points": points, "top_k": top_k, "retrieval": desc,
           "warm_up_s": warm["seconds"], **percentiles(ms)}
    if cold_ms:
        out["cold"] = percentiles(cold_ms)
    return out


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds used so far by process `pid` and its live children (a server and its workers)."""
    if not pid:
        return None
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def bench_http(*, url: str, queries: str, concurrency: int = 8, requests: int = 800,
               server_pid: int | None = None) -> dict:
    """N concurrent clients, each with its own keep-alive connection, sending /api/search requests round-robin over
    the queries until the request budget is spent. Only ever targets the URL given (default: this machine).

    The clients use the standard library's `http.client` (a few times cheaper per request than httpx): on a small
    machine they share the cores with the server they measure. CPU time per request (the clients', and the
    server's when `server_pid` is given: that process and its workers) is reported beside the wall-clock figures:
    it hardly depends on what else runs on the machine, and cores / CPU per request bounds the throughput.
    """
    import http.client
    from urllib.parse import urlencode, urlsplit

    questions = [q["query"] for q in load_queries(queries)]
    target = urlsplit(url)
    conn_class = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    base = target.path.rstrip("/")
    lock = threading.Lock()
    ms: list[float] = []
    errors: list[str] = []
    counter = iter(range(requests))

    def client() -> None:
        conn = conn_class(target.hostname, target.port, timeout=30)
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                path = f"{base}/api/search?" + urlencode({"q": questions[i % len(questions)], "top_k": 10})
                t = time.perf_counter()
                try:
                    conn.request("GET", path)
                    r = conn.getresponse()
                    r.read()
                    err = None if r.status == 200 else str(r.status)
                except (OSError, http.client.HTTPException) as exc:
                    err = f"{type(exc).__name__}: {exc}"
                    conn.close()  # reconnects on the next request
                dt = (time.perf_counter() - t) * 1000
                with lock:
                    ms.append(dt)
                    if err:
                        errors.append(err)
        finally:
            conn.close()

    server0, client0 = _cpu_seconds(server_pid), time.process_time()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    n = max(1, len(ms))
    cpu = {"client_cpu_ms_per_request": round((time.process_time() - client0) * 1000 / n, 2)}
    if server0 is not None:
        cpu["server_cpu_ms_per_request"] = round((_cpu_seconds(server_pid) - server0) * 1000 / n, 2)
    return {"url": url, "concurrency": concurrency, "requests": len(ms), "errors": len(errors),
            "error_samples": errors[:5], "rps": round(len(ms) / wall, 1), "load_avg": load_avg(),
            **cpu, **percentiles(ms)}


def load_avg() -> list[float]:
    """The machine's 1/5/15-minute load averages: the figures are only comparable on a quiet machine."""
    import os

    return [round(x, 2) for x in os.getloadavg()]


DEFAULT_PROBES = ["徐州市安全生产条例", "中华人民共和国安全生产法", "江苏省安全生产条例", "中华人民共和国民法典"]


def bench_reingest_load(settings, *, queries: str, reingest: list[str], concurrency: int = 4,
                        regulations: list[str] | None = None, years: int | None = None, before_s: float = 10.0,
                        after_s: float = 5.0, step_checks: bool = False, work_dir: str | None = None,
                        yield_to_readers: bool = True) -> dict:
    """Concurrent searches (in-process threads on one Runtime) while it re-ingests successor versions of the given
    folders (see evaluation/reingest_load.py). Writes those versions into the data directory: run it on a copy."""
    from evaluation.reingest_load import make_probe, run_reingest_load, successor_copy

    questions = [q["query"] for q in load_queries(queries)]
    work = tempfile.TemporaryDirectory(prefix="lawsearch-reingest-", dir=work_dir)
    rt = Runtime.open(settings)
    try:
        t = time.perf_counter()
        warm = rt.warm(freeze_gc=True)
        copy = successor_copy(rt.index, reingest, Path(work.name), years=years)
        probes, skipped = [], []
        for title in regulations or DEFAULT_PROBES:
            try:
                probes.append(make_probe(rt, title))
            except ValueError as exc:
                skipped.append(str(exc))
        setup_s = round(time.perf_counter() - t, 1)
        out = run_reingest_load(rt, paths=copy["paths"], questions=questions, probes=probes,
                                concurrency=concurrency, before_s=before_s, after_s=after_s,
                                step_checks=step_checks, yield_to_readers=yield_to_readers)
        points = rt.index.articles.count()
    finally:
        rt.close()
        work.cleanup()
    return {"data_dir": str(settings.data_dir), "reingest": [str(p) for p in reingest],
            "successor_files": copy["rewritten"], "unchanged_files": copy["copied_unchanged"],
            "years_later": copy["years"], "questions": len(questions), "warm_up_rows": warm["rows"],
            "setup_s": setup_s, "points_after": points, "probes_skipped": skipped, "load_avg": load_avg(),
            "ok": out["errors"] == 0 and out["violations"] == 0 and out["duplicate_results"] == 0, **out}

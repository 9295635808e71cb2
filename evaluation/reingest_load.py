"""Reads during writes: concurrent searches on one Runtime while it re-ingests a corpus that really rewrites.

What is re-ingested (`successor_copy`): a copy of the given folders in which every file that is the source of a
current, dated version gets a successor — the same text with the version date moved `years` later (50 by default) (a `publish:`
line in the Markdown front matter, which the parser takes as the version date). Ingesting the copy therefore writes
a new version of every such regulation (same articles, same text, new point ids), flips currentness from the old
version to the new one and keeps the old as superseded: version replacement and point upserts at the scale of the
corpus. Superseded versions, alternates and undated versions are copied unchanged (the ingest skips them by hash),
so every regulation keeps the same current articles and texts before, during and after the re-ingest, and any
article missing, duplicated or changed on the way is a fault.

While the ingest runs in the calling thread, `concurrency` client threads call `Runtime.search` (questions and
citations, in process: the embedded index belongs to one process, and the API routes call the same method) and a
checker thread reads a fixed set of regulations over and over:

* the current points of the regulation (a `regulation_id` + `is_current` scroll) cover every article;
* a search restricted to the regulation (`regulation` filter, top_k 200) returns each article exactly once
  (regulations of at most 200 articles);
* citations of a few of its articles return exactly that article with the text it had before.

Every search result is also checked for an article appearing twice (same title, article number and suffix).
"""
from __future__ import annotations

import re
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from corpus.numerals import article_label
from corpus.store import Condition, FilterSpec
from corpus.titles import normalize_title
from evaluation.latency import percentiles

SCAN_LIMIT = 200  # the search API's largest top_k: regulations with more articles are checked by scroll only
_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_PUBLISH = re.compile(r"^publish[ \t]*:.*$", re.M)


# ---- the corpus to re-ingest -----------------------------------------------------------------------------------
def shifted_date(iso: str, years: int) -> str | None:
    """'2024-12-09' → '2124-12-09' for years=100; 29 February becomes the 28th in a common year."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", (iso or "")[:10])
    if not m:
        return None
    y, mo, d = int(m.group(1)) + years, int(m.group(2)), int(m.group(3))
    if (mo, d) == (2, 29) and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
        d = 28
    return f"{y:04d}-{mo:02d}-{d:02d}"


def with_version_date(text: str, iso: str) -> str:
    """The Markdown text with its front matter's `publish:` (the version date) set to `iso`."""
    text = text.lstrip("\ufeff")
    line = f'publish: "{iso} 00:00:00"'
    m = _FRONT.match(text)
    if not m:
        return f"---\n{line}\n---\n\n{text}"
    block = m.group(1) or ""
    block = _PUBLISH.sub(line, block, count=1) if _PUBLISH.search(block) else block + line + "\n"
    return f"---\n{block}---\n" + text[m.end():]


LAST_YEAR = 2100  # the parser takes dates up to this year


def successor_copy(index, roots: list[str | Path], dest: Path, *, years: int | None = None) -> dict[str, Any]:
    """Copy `roots` (folders or files) under `dest`; files that are the source of a current, dated version get a
    successor version `years` later (default: 50, or less so that no date passes 2100; see the module docstring).
    Returns the paths to ingest, the counts and the shift."""
    from corpus.hashing import sha256_file

    current = {r["sha256"]: r for r in index.version_records() if r.get("is_current") and r.get("version_date")}
    latest = max((int(r["version_date"][:4]) for r in current.values() if r["version_date"][:4].isdigit()),
                 default=2000)
    if years is None:
        years = min(50, LAST_YEAR - latest)
    if years < 1 or latest + years > LAST_YEAR:
        raise ValueError(f"successor dates must be later than {latest} and not after {LAST_YEAR}")
    dest.mkdir(parents=True, exist_ok=True)
    paths, rewritten, copied = [], 0, 0
    for i, root in enumerate(Path(r) for r in roots):
        target = dest / f"{i}-{root.name}"
        files = [(root, target)] if root.is_file() else [
            (f, target / f.relative_to(root)) for f in sorted(root.rglob("*")) if f.is_file() and not f.is_symlink()]
        for src, dst in files:
            dst.parent.mkdir(parents=True, exist_ok=True)
            rec = current.get(sha256_file(src)) if src.suffix.lower() in (".md", ".markdown") else None
            new_date = shifted_date(rec["version_date"], years) if rec else None
            if new_date:
                text = src.read_text(encoding="utf-8")
                dst.write_text(with_version_date(text, new_date), encoding="utf-8")
                rewritten += 1
            else:
                shutil.copyfile(src, dst)
                copied += 1
        paths.append(target)
    return {"paths": paths, "rewritten": rewritten, "copied_unchanged": copied, "years": years}


# ---- what the checker reads ------------------------------------------------------------------------------------
@dataclass
class Probe:
    """One regulation that exists before and after the re-ingest, and what reading it must give."""

    title: str
    regulation_id: str
    version_dates: list[str]
    current_versions: int  # current version ids (volumes of a code count one each)
    articles: set[tuple[int, str]]
    citations: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # query → (no, suffix, text)
    scan: bool = True  # the regulation-filtered search returns all its articles


def article_key(hit: dict) -> tuple[str, Any, str]:
    return (normalize_title(hit.get("title") or ""), hit.get("article_no"), hit.get("article_suffix") or "")


def duplicates(hits: list[dict]) -> list[tuple]:
    return [k for k, n in Counter(article_key(h) for h in hits).items() if n > 1]


def current_articles(index, regulation_id: str) -> tuple[Counter, set[str]]:
    """(article → number of current points of it per part 0, current version ids) of one regulation."""
    flt = FilterSpec(must=[Condition(field="regulation_id", eq=regulation_id), Condition(field="is_current", eq=True)])
    keys: Counter = Counter()
    versions = set()
    for h in index.articles.scroll(flt, fields=["article_no", "article_suffix", "part", "version_id"]):
        versions.add(h.payload.get("version_id"))
        if not h.payload.get("part"):
            keys[(h.payload.get("article_no"), h.payload.get("article_suffix") or "")] += 1
    return keys, versions


def make_probe(rt, title: str, *, citations: int = 5) -> Probe:
    recs = rt.index.resolve_title(title)
    rids = {r["regulation_id"] for r in recs}
    if len(rids) != 1:
        raise ValueError(f"{title!r} names {len(rids)} indexed regulations")
    rid = rids.pop()
    keys, versions = current_articles(rt.index, rid)
    probe = Probe(title=title, regulation_id=rid, version_dates=sorted({r.get("version_date") for r in recs}),
                  current_versions=len(versions), articles=set(keys))
    ordered = sorted(probe.articles)
    step = max(1, len(ordered) // max(1, citations))
    for no, suffix in ordered[::step][:citations]:
        q = f"{title}{article_label(no, suffix)}"
        hits = rt.search(q, top_k=10)["hits"]
        if len(hits) == 1 and (hits[0]["article_no"], hits[0]["article_suffix"] or "") == (no, suffix):
            probe.citations[q] = (no, suffix, hits[0]["text"])
    if len(probe.articles) > SCAN_LIMIT:
        probe.scan = False
    else:
        got = rt.search(title, top_k=SCAN_LIMIT, filters={"regulation": title})["hits"]
        probe.scan = {(h["article_no"], h["article_suffix"] or "") for h in got} == probe.articles
    return probe


def check_probe(rt, probe: Probe, *, searches: bool = True) -> list[str]:
    """What is wrong with the regulation now (empty: nothing)."""
    bad = []
    keys, versions = current_articles(rt.index, probe.regulation_id)
    missing = probe.articles - set(keys)
    if missing:
        bad.append(f"missing:{probe.title}: {len(missing)} articles have no current point, e.g. {sorted(missing)[:3]}")
    if not searches:
        return bad
    if probe.scan:
        hits = rt.search(probe.title, top_k=SCAN_LIMIT, filters={"regulation": probe.title})["hits"]
        dup = duplicates(hits)
        if dup:
            bad.append(f"duplicate:{probe.title}: regulation search returned {dup[:3]} twice")
        lost = probe.articles - {(h["article_no"], h["article_suffix"] or "") for h in hits}
        if lost:
            bad.append(f"missing:{probe.title}: regulation search lacks {len(lost)} articles, e.g. {sorted(lost)[:3]}")
    for q, (no, suffix, text) in probe.citations.items():
        hits = rt.search(q, top_k=10)["hits"]
        same = [h for h in hits if (h["article_no"], h["article_suffix"] or "") == (no, suffix)]
        if len(hits) != 1 or len(same) != 1:
            kind = "missing" if not same else "duplicate" if len(same) > 1 else "extra"
            got = [(h.get("title"), h.get("article_no")) for h in hits]
            bad.append(f"{kind}:{q}: expected the one article, got {got[:3]}")
        elif hits[0]["text"] != text:
            bad.append(f"text:{q}: text differs from before the re-ingest "
                       f"({len(hits[0]['text'])} vs {len(text)} chars)")
    return bad


# ---- checks at every store mutation ----------------------------------------------------------------------------
MUTATIONS = ("upsert", "delete", "delete_ids", "set_payload")


class AtEveryMutation:
    """Runs `fn()` in the writing thread after every mutation of the index's two stores (while installed), so each
    intermediate state of a write is read at least once whatever the thread scheduling. For tests and small runs:
    at corpus scale it multiplies the ingest time."""

    def __init__(self, index, fn: Callable[[], None]):
        self.index, self.fn = index, fn
        self._saved: list[tuple[Any, str]] = []

    def __enter__(self):
        for store in (self.index.articles, self.index.versions_store):
            for name in MUTATIONS:
                original = getattr(store, name)

                def wrapped(*a, _original=original, **kw):
                    out = _original(*a, **kw)
                    self.fn()
                    return out

                setattr(store, name, wrapped)
                self._saved.append((store, name))
        return self

    def __exit__(self, *exc) -> None:
        for store, name in self._saved:
            delattr(store, name)  # the class's method shows through again
        self._saved.clear()


# ---- the load --------------------------------------------------------------------------------------------------
class _Log:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[tuple[float, float]] = []  # (start, ms) of client searches
        self.errors: list[str] = []
        self.duplicates: list[str] = []
        self.check_reads = 0
        self.check_errors: list[str] = []
        self.violations: list[str] = []
        self.overlap_reads = 0  # checker reads that saw two versions of a regulation current (the flip window)
        self.step_checks = 0

    def error(self, where: str, q: str, exc: BaseException) -> None:
        with self.lock:
            (self.errors if where == "client" else self.check_errors).append(
                f"{type(exc).__name__}: {str(exc)[:200]} [{q[:40]}]")


def run_reingest_load(rt, *, paths: list[str | Path], questions: list[str], probes: list[Probe],
                      concurrency: int = 4, before_s: float = 5.0, after_s: float = 5.0, top_k: int = 10,
                      step_checks: bool = False, progress: bool = False,
                      yield_to_readers: bool = True) -> dict[str, Any]:
    """Search load and regulation checks while `rt.ingest(paths)` runs in this thread; figures and violations.
    `yield_to_readers`: the ingest yields the CPU to the searches (`Runtime.ingest`), as the server's does."""
    log = _Log()
    stop = threading.Event()
    citations = [q for p in probes for q in p.citations]
    mix = list(questions) + citations
    marks: dict[str, float] = {}
    gen0 = rt.index.versions_store.generation

    def client(n: int) -> None:
        i = n * 7919
        while not stop.is_set():
            q = mix[i % len(mix)]
            i += 1
            t = time.perf_counter()
            try:
                hits = rt.search(q, top_k=top_k)["hits"]
            except Exception as exc:  # every failure counts; the load goes on
                log.error("client", q, exc)
                continue
            dt = (time.perf_counter() - t) * 1000
            dup = duplicates(hits)
            with log.lock:
                log.requests.append((t, dt))
                if dup:
                    log.duplicates.append(f"{q[:40]}: {dup[:3]}")

    def checker() -> None:
        while not stop.is_set():
            for p in probes:
                if stop.is_set():
                    return
                try:
                    bad = check_probe(rt, p)
                    _, versions = current_articles(rt.index, p.regulation_id)
                except Exception as exc:
                    log.error("checker", p.title, exc)
                    continue
                with log.lock:
                    log.check_reads += 1
                    log.violations += bad
                    # More current versions than the regulation had: reads landed inside a currentness flip.
                    if len(versions) > p.current_versions:
                        log.overlap_reads += 1

    def watcher() -> None:
        while not stop.is_set() and "writes" not in marks:
            if rt.index.versions_store.generation != gen0:
                marks["writes"] = time.perf_counter()
            time.sleep(0.02)

    def at_step() -> None:
        for p in probes:
            try:
                bad = check_probe(rt, p, searches=True)
            except Exception as exc:
                log.error("checker", p.title, exc)
                continue
            with log.lock:
                log.step_checks += 1
                log.violations += [f"step:{b}" for b in bad]

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(concurrency)]
    threads += [threading.Thread(target=checker, daemon=True), threading.Thread(target=watcher, daemon=True)]
    for th in threads:
        th.start()
    time.sleep(before_s)
    marks["ingest"] = time.perf_counter()
    try:
        if step_checks:
            with AtEveryMutation(rt.index, at_step):
                summary = rt.ingest(list(paths), progress=progress, train=False, yield_to_readers=yield_to_readers)
        else:
            summary = rt.ingest(list(paths), progress=progress, train=False, yield_to_readers=yield_to_readers)
    finally:
        marks["ingest_end"] = time.perf_counter()
        time.sleep(after_s)
        stop.set()
        for th in threads:
            th.join()
    # After: every regulation is whole once more, and its current version is the successor.
    final = {}
    for p in probes:
        log.violations += [f"after:{b}" for b in check_probe(rt, p)]
        final[p.title] = sorted({r.get("version_date") for r in rt.index.resolve_title(p.title)})

    t_in, t_end = marks["ingest"], marks["ingest_end"]
    t_w = marks.get("writes", t_end)

    def window(lo: float, hi: float) -> dict:
        return percentiles([ms for t, ms in log.requests if lo <= t < hi])

    kinds = Counter(v.split(":", 1)[0] for v in log.violations)
    return {
        "concurrency": concurrency,
        "yield_to_readers": yield_to_readers,
        "requests": len(log.requests) + len(log.errors),
        "requests_during_ingest": sum(1 for t, _ in log.requests if t_in <= t < t_end),
        "requests_during_writes": sum(1 for t, _ in log.requests if t_w <= t < t_end),
        "errors": len(log.errors) + len(log.check_errors),
        "error_samples": (log.errors + log.check_errors)[:5],
        "duplicate_results": len(log.duplicates),
        "duplicate_samples": log.duplicates[:5],
        "checker_reads": log.check_reads,
        "step_checks": log.step_checks,
        "overlap_reads": log.overlap_reads,
        "violations": len(log.violations),
        "violations_by_kind": dict(kinds),
        "violation_samples": log.violations[:10],
        "latency": {"before_ingest": window(0, t_in), "during_ingest": window(t_in, t_end),
                    "during_writes": window(t_w, t_end), "after_ingest": window(t_end, float("inf"))},
        "ingest": {"wall_s": round(t_end - t_in, 1), "write_phase_s": round(t_end - t_w, 1),
                   "files": summary.files, "regulations": summary.regulations, "points": summary.points,
                   "unchanged": summary.unchanged, "alternates": summary.alternates,
                   "replaced_points": summary.replaced_points, "failed": len(summary.failed),
                   "phases": summary.phases},
        "probes": {p.title: {"articles": len(p.articles), "citations": len(p.citations), "scan": p.scan,
                             "version_dates_before": p.version_dates, "version_dates_after": final[p.title]}
                   for p in probes},
    }

"""`lawsearch bench scale --factor N`: a library N times the size of the given folders, built and searched in a
temporary directory, with the engine's dense-vector variants.

The library: every Markdown file of the folders, `factor` times; copy k > 0 gets a distinct title (the `# ` heading
and a `title:` front-matter line end in "（副本k）"), so each copy is a regulation of its own with its own points
(regions and texts stay those of the original). The dense embedder is taken from an existing data directory
(`--models-from`, its `models/`), so the build measures indexing, not training.

Figures: ingest wall time, points, disk, peak RSS (this process and its children, sampled), then search latency
(p50/p99 over the questions, in process, after the warm-up) for each variant of the dense index:

* ``plain``: as ingested (Edge runs no background optimizer: brute-force dense search over appendable segments);
* ``hnsw``: after `optimize()` (HNSW graph for the dense vectors);
* ``hnsw+sq8``: HNSW with int8 scalar quantization of the dense vectors (the shard's config is rewritten and the
  segments re-optimized).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

from evaluation.latency import percentiles
from evaluation.metrics import load_queries

_FRONT_TITLE = re.compile(r"^(title[ \t]*:[ \t]*[\"']?)([^\"'\n]+)", re.MULTILINE)
_HEADING = re.compile(r"^(# +)(\S[^\n]*)", re.MULTILINE)


def replicate(roots: list[str | Path], dest: Path, factor: int) -> dict:
    """Copy the Markdown files of `roots` `factor` times under `dest` (see the module docstring)."""
    files = copies = 0
    for k in range(factor):
        for i, root in enumerate(Path(r) for r in roots):
            sources = [root] if root.is_file() else sorted(root.rglob("*.md"))
            for src in sources:
                rel = src.name if root.is_file() else src.relative_to(root)
                dst = dest / f"copy{k}" / f"{i}-{root.name}" / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                if k == 0:
                    shutil.copyfile(src, dst)
                else:
                    text = src.read_text(encoding="utf-8", errors="replace")
                    suffix = f"（副本{k}）"
                    text = _FRONT_TITLE.sub(lambda m, s=suffix: m.group(1) + m.group(2).rstrip() + s, text, count=1)
                    text = _HEADING.sub(lambda m, s=suffix: m.group(1) + m.group(2).rstrip() + s, text, count=1)
                    dst.write_text(text, encoding="utf-8")
                    copies += 1
                files += 1
    return {"files": files, "retitled": copies}


def _disk_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def _latency(settings, questions: list[str], top_k: int) -> dict:
    from service.runtime import Runtime

    rt = Runtime.open(settings)
    try:
        warm = rt.warm(freeze_gc=True)
        ms = []
        for q in questions:
            t = time.perf_counter()
            rt.search(q, top_k=top_k)
            ms.append((time.perf_counter() - t) * 1000)
    finally:
        rt.close()
    return {"warm_up_s": warm["seconds"], **percentiles(ms)}


def _reconfigure(settings, *, quantize: bool) -> float:
    """Optimize the article shard (HNSW for dense vectors), with int8 scalar quantization when `quantize`; the
    seconds it took."""
    from corpus.store.edge import reconfigure_dense
    from service.runtime import Runtime

    rt = Runtime.open(settings)
    try:
        dense = dict(rt.index.layout().dense)
    finally:
        rt.close()
    t = time.perf_counter()
    reconfigure_dense(Path(settings.data_dir) / "qdrant" / settings.collection, dense, quantize=quantize)
    return round(time.perf_counter() - t, 1)


def _partial(figures: dict) -> None:
    """The figures so far, on stderr: a long run that fails later still leaves what it measured."""
    import json
    import sys

    print(json.dumps(figures, ensure_ascii=False), file=sys.stderr, flush=True)


def bench_scale(settings, *, paths: list[str], factor: int, queries: str, models_from: str, top_k: int = 10,
                max_queries: int = 200, variants: tuple[str, ...] = ("plain", "hnsw", "hnsw+sq8"),
                work_dir: str | None = None) -> dict:
    from evaluation.bench import TreeRss, load_avg
    from service.runtime import Runtime

    questions = [q["query"] for q in load_queries(queries)][:max_queries]
    tmp = tempfile.TemporaryDirectory(prefix="lawsearch-scale-", dir=work_dir)
    root = Path(tmp.name)
    try:
        t = time.perf_counter()
        lib = replicate(paths, root / "library", factor)
        copy_s = round(time.perf_counter() - t, 1)
        data = root / "data"
        shutil.copytree(Path(models_from) / "models", data / "models")
        cfg = settings.model_copy(update={"data_dir": data, "training_questions": [], "optimize_after_ingest": False})
        t = time.perf_counter()
        with TreeRss() as tree:
            rt = Runtime.open(cfg)
            try:
                summary = rt.ingest([root / "library"], progress=True, train=False)
                points = rt.index.articles.count()
            finally:
                rt.close()
        out = {"factor": factor, "library_files": lib["files"], "copy_s": copy_s, "points": points,
               "regulations": summary.regulations, "failed": len(summary.failed),
               "ingest_s": round(time.perf_counter() - t, 1), "ingest_phases": summary.phases,
               "ingest_peak_tree_rss_mb": round(tree.peak_mb, 1),
               "ingest_peak_tree_anon_mb": round(tree.peak_anon_mb, 1), "load_avg_after_ingest": load_avg(),
               "variants": {}}
        _partial(out)
        for name in variants:
            entry: dict = {}
            if name != "plain":
                entry["optimize_s"] = _reconfigure(cfg, quantize=name.endswith("sq8"))
            with TreeRss() as tree:
                entry.update(_latency(cfg, questions, top_k))
            entry["disk_mb"] = _disk_mb(data / "qdrant")
            entry["search_peak_rss_mb"] = round(tree.peak_mb, 1)
            entry["load_avg"] = load_avg()
            out["variants"][name] = entry
            _partial(out)
        return out
    finally:
        tmp.cleanup()

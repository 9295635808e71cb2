"""Handlers of the `lawsearch` subcommands. Each takes the parsed args and the settings."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from corpus.errors import LawSearchError
from cli.verification import cmd_diff, cmd_mcp, cmd_verify  # noqa: F401 - `lawsearch diff|verify|mcp`


def _out(obj) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _print_failures(failures: list[dict]) -> None:
    for f in failures:
        detail = f"（{f['detail']}）" if f.get("detail") else ""
        print(f"失败 [{f['code']}] {f['file']}: {f['message']}{detail}", file=sys.stderr)


def cmd_parse(args, settings) -> int:
    from dataclasses import replace

    from ingest.converters import ConvertLimits
    from ingest.pipeline import parse_files

    limits = ConvertLimits.from_settings(settings)
    if args.no_ocr:
        limits = replace(limits, ocr_enabled=False)
    regs, failures = parse_files(args.files, limits=limits, progress=sys.stderr.isatty())
    if args.json:
        _out({"regulations": [r.to_dict() for r in regs], "failures": failures})
    else:
        for r in regs:
            nums = [a.article_no for a in r.articles]
            span = f"第{nums[0]}–{nums[-1]}条" if nums and r.has_articles else f"{len(nums)} 段（无条文编号）"
            print(f"{r.source_path}\n  《{r.title}》 {r.level or '?'} · {r.region or '?'} · {r.office or '?'}\n"
                  f"  版本日期 {r.version_date or '?'} · {_effective(r)} · 状态 {r.status or '未标注'}\n"
                  f"  {len({(a.article_no, a.article_suffix) for a in r.articles})} 条 ({span})，"
                  f"{len({tuple(a.headings) for a in r.articles if a.headings})} 个章节")
            for w in r.warnings:
                print(f"  注意: {w}")
    _print_failures(failures)
    return 1 if failures else 0


def _effective(r) -> str:
    """施行 date of a parsed version: its own, or the first version's said as such (service.listing)."""
    from corpus.model import first_effective_date, own_effective_date

    rec = {"effective_date": r.effective_date, "version_date": r.version_date,
           "first_effective_date": r.extra.get("first_effective_date")}
    own, first = own_effective_date(rec), first_effective_date(rec)
    if own or not first:
        return f"施行 {own or '?'}"
    return f"首次施行 {first}（本版施行日期原文未载明）"


def _runtime(settings):
    from service.runtime import Runtime

    return Runtime.open(settings)


def _totals(rt) -> str:
    """What the index holds now, each count in its own unit."""
    rows = rt.index.regulations()
    return f"索引现有法规 {len({r['regulation_id'] for r in rows})} 部（{len(rows)} 个版本）"


def cmd_ingest(args, settings) -> int:
    from service.wording import retrieval_words

    rt = _runtime(settings)
    try:
        summary = rt.ingest(args.paths, progress=sys.stderr.isatty() or not args.json, train=not args.no_train)
        retrieval = rt.retrieval_description
        totals = _totals(rt)
    finally:
        rt.close()
    d = summary.to_dict()
    d["retrieval"] = retrieval
    if args.json:
        _out(d)
    else:
        print(f"文件 {d['files']} 个：写入法规版本 {d['regulations']} 个（条文 {d['articles']} 条，索引点 {d['points']} 个）；"
              f"同一版本的其他来源文件 {d['alternates']} 个，内容未变化的文件 {d['unchanged']} 个，失败的文件 "
              f"{len(d['failed'])} 个；用时 {d['seconds']:.1f} 秒。")
        print(f"{totals}。")
        print(f"检索方式：{retrieval_words(retrieval)}")
        if d["recovered"]:
            print(f"已清理上次中断留下的 {len(d['recovered'])} 个未完成版本。")
    _print_failures(d["failed"])
    return 1 if d["failed"] else 0


def _reader(settings):
    """The index, or the running server that holds it (cli.readers); says so on stderr when it is the server."""
    from cli.readers import open_reader

    reader = open_reader(settings)
    if reader.via:
        print(f"（索引正由检索服务使用，本命令通过 {reader.via} 读取）", file=sys.stderr)
    return reader


def cmd_regulations(args, settings) -> int:
    reader = _reader(settings)
    try:
        rows = reader.regulations()
    finally:
        reader.close()
    cols = ("regulation_id", "version_id", "title", "level", "region", "version_date", "effective_date", "status",
            "is_current", "superseded_by", "article_count", "source_path", "alternates")
    if args.json:
        _out([{k: r.get(k) for k in cols} for r in rows])
        return 0
    for r in rows:
        state = "现行" if r.get("is_current") else "已被修订"
        print(f"{r['regulation_id']}  《{r['title']}》 {r.get('version_date') or '日期不详'} [{state}] "
              f"{r.get('level') or ''} {r.get('region') or ''} {r.get('article_count')}条 "
              f"来源状态:{r.get('status') or '未标注'}")
    regs = len({r["regulation_id"] for r in rows})
    print(f"共 {regs} 部法规，{len(rows)} 个版本。")
    return 0


def cmd_article(args, settings) -> int:
    reader = _reader(settings)
    try:
        rec, p = reader.article(args.title, args.article, as_of=args.as_of)
    finally:
        reader.close()
    text = p.get("text") or ""
    if args.json:
        _out({"regulation": {k: rec.get(k) for k in ("regulation_id", "version_id", "title", "version_date",
                                                      "effective_date", "is_current", "status")},
              "article_no": p["article_no"], "article_suffix": p.get("article_suffix") or "", "label": p["label"],
              "headings": p.get("headings") or [], "clauses": p.get("clauses") or [], "text": text})
    else:
        state = "现行有效版本" if rec.get("is_current") else "历史版本"
        print(f"《{rec['title']}》{p['label']}（{rec.get('version_date') or '日期不详'}，{state}）")
        if p.get("headings"):
            print(" / ".join(p["headings"]))
        print(text)
    return 0


def cmd_delete(args, settings) -> int:
    rt = _runtime(settings)
    try:
        n = rt.index.delete(args.regulation_id, args.version_id)
    finally:
        rt.close()
    print(f"已删除 {n} 个版本。")
    return 0


def cmd_search(args, settings) -> int:
    from service.wording import retrieval_words

    reader = _reader(settings)
    try:
        result = reader.search(args.query, top_k=args.top_k, filters=search_filters(args))
    finally:
        reader.close()
    if args.json:
        _out(result)
        return 0
    print(f"检索方式：{retrieval_words(result['mode'])}")
    for m in result.get("not_found") or []:
        print(f"  {m.get('message')}")
    for c in result.get("candidates", []):
        print(f"  候选法规：《{c}》")
    for i, h in enumerate(result["hits"], 1):
        print(f"{i:>2}. 《{h['title']}》{h['label']}  [{h.get('level', '')} {h.get('region', '')} "
              f"{h.get('version_date', '')}{'' if h.get('is_current', True) else ' 已被修订'}]  {h['score']:.3f}")
        print(f"    {terminal_snippet(h['snippet'])}")
        links = [f"{'所罚义务' if x['relation'] == 'penalizes' else '罚则'} {x['label']}" for x in h.get("linked") or []]
        if links:
            print(f"    关联：{'；'.join(links)}")
    return 0


def terminal_snippet(snippet: str) -> str:
    """The HTML snippet for a terminal: one line, matched words in 【】."""
    import html
    import re

    text = snippet.replace("<mark>", "【").replace("</mark>", "】")
    return re.sub(r"\s+", " ", html.unescape(text))


def search_filters(args) -> dict:
    """The search filters given on the command line (--region, --level, … --all-versions) as the engine takes them."""
    keys = ("region", "applicable_in", "scope", "level", "status", "agency", "regulation", "as_of")
    f = {k: getattr(args, k) for k in keys if getattr(args, k, None)}
    if getattr(args, "all_versions", False):
        f["all_versions"] = True
    return f


def cmd_train(args, settings) -> int:
    rt = _runtime(settings)
    try:
        path = rt.train(progress=True)
    finally:
        rt.close()
    print(f"已训练离线向量模型：{path}")
    return 0


def cmd_train_encoder(args, settings) -> int:
    import shlex

    import torch

    from corpus.encoder_training import EncoderSettings

    names = ("layers", "dim", "heads", "max_len", "seed", "mlm_seconds", "contrastive_seconds", "mlm_steps",
             "contrastive_steps", "threads")
    config = EncoderSettings.for_device(torch.cuda.is_available(), **{n: getattr(args, n) for n in names})
    rt = _runtime(settings)
    try:
        if rt.index.articles.count() == 0:
            print("索引为空：请先导入法规（lawsearch ingest）", file=sys.stderr)
            return 2
        model = rt.train_encoder(out_dir=Path(args.out) if args.out else None, settings=config,
                                 command="lawsearch " + shlex.join(sys.argv[1:]), query_steps=args.query_steps or 800)
    finally:
        rt.close()
    f, q = model.card["figures"], model.card.get("query_tower") or {}
    seconds = model.card["training_seconds"] + q.get("seconds", 0.0)
    print(f"已训练字符编码器：{model.folder}（{f['articles']} 条条文，{q.get('questions', 0)} 个标注问题，"
          f"用时 {seconds:.0f} 秒）")
    print(f"启用：LAWSEARCH_ENCODER_MODEL={model.folder}，下次导入时为已有条文补算向量")
    return 0


def cmd_bench(args, settings) -> int:
    from evaluation import bench

    if args.bench_cmd == "parse":
        result = bench.bench_parse(args.paths)
    elif args.bench_cmd == "ingest":
        result = bench.bench_ingest(settings, args.paths, fresh_dir=not args.data_dir)
    elif args.bench_cmd == "search":
        result = bench.bench_search(settings, queries=args.queries, top_k=args.top_k, cold=args.cold)
    elif args.bench_cmd == "scale":
        from evaluation.scale import bench_scale

        result = bench_scale(settings, paths=args.paths, factor=args.factor, queries=args.queries,
                             models_from=args.models_from, max_queries=args.max_queries,
                             variants=tuple(args.variants), work_dir=args.work_dir)
    elif args.bench_cmd == "http":
        result = bench.bench_http(url=args.url, queries=args.queries, concurrency=args.concurrency,
                                  requests=args.requests, server_pid=args.server_pid)
    else:
        result = bench.bench_reingest_load(settings, queries=args.queries, reingest=args.reingest,
                                           concurrency=args.concurrency, regulations=args.regulations,
                                           years=args.years, before_s=args.before_s, after_s=args.after_s,
                                           step_checks=args.step_checks, work_dir=args.work_dir,
                                           yield_to_readers=args.yield_to_readers)
    _out(result)
    return 0 if result.get("ok", True) else 1


def _api_client(settings, url: str | None):
    """An HTTP client of the API: a running server at `url`, else the app over this data directory, in this
    process (its rate limits off: a measurement sends every question from one client)."""
    if url:
        import httpx

        return httpx.Client(base_url=url, timeout=120)
    from fastapi.testclient import TestClient

    from api.app import create_app

    local = settings.model_copy(update={"rate_limit_per_minute": 0, "rate_limit_heavy_per_minute": 0})
    return TestClient(create_app(local))


def cmd_eval(args, settings) -> int:
    from evaluation import commands

    if args.eval_cmd == "run":
        return commands.eval_run(settings, queries=args.queries, out=args.out, top_k=args.top_k,
                                 filters=search_filters(args))
    if args.eval_cmd == "score":
        return commands.eval_score(queries=args.queries, run=args.run, plot=args.plot, as_json=args.json)
    if args.eval_cmd == "ask":
        from evaluation.ask import eval_ask

        with _api_client(settings, args.url) as client:
            return eval_ask(client, queries=args.queries, out=args.out, filters=search_filters(args))
    if args.eval_cmd == "feedback-sim":
        return commands.eval_feedback_sim(settings, base=args.base, feedback=args.feedback, out=args.out)
    if args.eval_cmd == "system-cv":
        return commands.eval_system_cv(settings, queries=args.queries, folds=args.folds, ablations=args.ablations,
                                       out=args.out, dump=args.dump, encoder_candidates=args.encoder_candidates)
    return commands.eval_crossval(settings, queries=args.queries, folds=args.folds)


def cmd_serve(args, settings) -> int:
    import os

    import uvicorn

    from api.app import REPLICAS_ENV, create_app
    from service.address import client_url
    from service.replicas import prepare_replicas, remove_replicas, worker_count

    if args.ingest:
        rt = _runtime(settings)
        try:
            s = rt.ingest(args.ingest, progress=True, train=True)
            totals = _totals(rt)
        finally:
            rt.close()
        print(f"文件 {s.files} 个：写入法规版本 {s.regulations} 个，内容未变化的文件 {s.unchanged} 个，"
              f"失败的文件 {len(s.failed)} 个；{totals}。", file=sys.stderr)
        _print_failures(s.failed)
    workers = worker_count(args.workers)
    opts = {"host": args.host, "port": args.port, "log_level": "info", "access_log": args.access_log}
    if workers == 1:
        uvicorn.run(create_app(settings, address=client_url(args.host, args.port)), **opts)
        return 0
    # Several processes: a search is mostly Python (one core per process); each worker opens a read-only copy of
    # the embedded index (Edge locks a folder to one process), or the same Qdrant server.
    root = None if settings.qdrant_url else prepare_replicas(settings, workers)
    os.environ["LAWSEARCH_DATA_DIR"] = str(settings.data_dir)
    if root is not None:
        os.environ[REPLICAS_ENV] = str(root)
        print(f"以 {workers} 个进程提供服务，每个进程使用索引的只读副本（{root}）；导入或删除法规请先停止服务，"
              f"或以 --workers 1 运行", file=sys.stderr)
    try:
        # A starting worker imports the models and opens its index for seconds (more on a busy machine) while
        # uvicorn's supervisor pings it: the default 5 s would kill and restart it over and over.
        uvicorn.run("api.app:worker_app", factory=True, workers=workers, timeout_worker_healthcheck=120, **opts)
    finally:
        if root is not None:
            remove_replicas(root)
    return 0


def cmd_outreach(args, settings) -> int:
    reader = _reader(settings)
    try:
        body = reader.outreach(args.agency, region=args.region, fmt=args.format)
    finally:
        reader.close()
    if args.out:
        Path(args.out).write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
        print(f"已写入 {args.out}")
    else:
        if isinstance(body, bytes):
            raise LawSearchError("docx 格式需要 --out 指定输出文件", code="bad_request")
        print(body)
    return 0


def cmd_snapshot(args, settings) -> int:
    from corpus.errors import ConfigError
    from corpus.snapshot import create_snapshot

    if settings.qdrant_url:
        raise ConfigError("使用 Qdrant 服务器时请用服务器自身的快照功能", detail=settings.qdrant_url)
    m = create_snapshot(settings.data_dir, Path(args.out), collection=settings.collection)
    print(f"已创建快照 {args.out}：{len(m['files'])} 个文件，条文索引点 {m['points']} 个，版本 {m['versions']} 个。")
    return 0


def cmd_restore(args, settings) -> int:
    from corpus.snapshot import restore_snapshot

    m = restore_snapshot(Path(args.archive), settings.data_dir, force=args.force)
    print(f"已恢复到 {settings.data_dir}：{len(m['files'])} 个文件，条文索引点 {m['points']} 个，版本 {m['versions']} 个"
          f"（快照时间 {m['created']}）。")
    return 0

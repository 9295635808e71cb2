"""`lawsearch` command line: the entry point that reads settings and passes plain values down."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from corpus.errors import LawSearchError


def _settings(args: argparse.Namespace):
    from corpus.settings import Settings

    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", help="制定地区（只看该地区自己制定的法规），如 徐州市、江苏省、全国")
    p.add_argument("--applicable-in", dest="applicable_in",
                   help="适用地区：该地区、所在省份和全国的法律法规（默认：本服务所在地区）")
    p.add_argument("--scope", choices=("applicable", "all"),
                   help="applicable＝适用于本地的法律（默认），all＝所有地区的法规")
    p.add_argument("--level", help="效力级别，如 法律、地方性法规")
    p.add_argument("--status", help="时效状态（来源标注），如 有效")
    p.add_argument("--agency", help="执法部门，如 应急管理")
    p.add_argument("--regulation", help="限定某部法规（标题或简称）")
    p.add_argument("--as-of", dest="as_of", help="某日有效的版本，YYYY-MM-DD")
    p.add_argument("--all-versions", action="store_true", help="包括已被修订的旧版本")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lawsearch", description="法规知识检索 — search Chinese laws and regulations")
    ap.add_argument("--data-dir", help="data directory (default: $LAWSEARCH_DATA_DIR or ./data)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("parse", help="parse files and print regulations with their articles")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-ocr", action="store_true")

    p = sub.add_parser("ingest", help="parse and index files or folders (recursive)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-train", action="store_true", help="do not train the offline embedder")

    p = sub.add_parser("regulations", help="list indexed regulations and versions")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("article", help="print one article: lawsearch article 徐州市安全生产条例 20")
    p.add_argument("title")
    p.add_argument("article")
    p.add_argument("--as-of", dest="as_of")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("delete", help="delete a regulation (all versions) or one version")
    p.add_argument("regulation_id")
    p.add_argument("--version", dest="version_id")

    p = sub.add_parser("search", help="search articles by citation or question")
    p.add_argument("query")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--json", action="store_true")
    _add_filters(p)

    p = sub.add_parser("train", help="train the offline Chinese embedder on the indexed corpus")

    p = sub.add_parser("train-encoder", help="train the compact character encoder (masked characters, then "
                                             "contrastive on the labelled questions) on the indexed corpus")
    p.add_argument("--out", help="model folder (default: <data-dir>/models/encoder/<version>-<size>)")
    for flag, kind in (("--layers", int), ("--dim", int), ("--heads", int), ("--max-len", int), ("--seed", int),
                       ("--mlm-seconds", float), ("--contrastive-seconds", float), ("--mlm-steps", int),
                       ("--contrastive-steps", int), ("--threads", int), ("--query-steps", int)):
        p.add_argument(flag, type=kind, help="default: the CPU or GPU configuration (corpus.encoder_training)")

    p = sub.add_parser("eval", help="evaluation on labelled questions")
    esub = p.add_subparsers(dest="eval_cmd", required=True)
    e = esub.add_parser("run")
    e.add_argument("--queries", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--top-k", type=int, default=100)
    _add_filters(e)
    e = esub.add_parser("score")
    e.add_argument("--queries", required=True)
    e.add_argument("--run", required=True)
    e.add_argument("--plot", help="write a recall@k plot (PNG) here")
    e.add_argument("--json", action="store_true")
    e = esub.add_parser("crossval", help="5-fold cross-validation of training on the labelled questions")
    e.add_argument("--queries", required=True)
    e.add_argument("--folds", type=int, default=5)
    e = esub.add_parser("system-cv", help="k-fold cross-validation of the embedder and the learned ranker together, "
                                          "with the ranker's feature ablations")
    e.add_argument("--queries", required=True, nargs="+", help="labelled question files (JSONL)")
    e.add_argument("--folds", type=int, default=5)
    e.add_argument("--no-ablations", dest="ablations", action="store_false")
    e.add_argument("--dump", help="a folder for each fold's candidate features and article keys (pickled), "
                                  "for tuning the ranker or trying new columns")
    e.add_argument("--encoder-candidates", action="store_true",
                   help="the questions scored also get the character encoder's candidates (the ranker learns "
                        "without them, as `lawsearch train` does); needs LAWSEARCH_ENCODER_MODEL and its vectors")
    e.add_argument("--out", help="write the full result (JSON) here")
    e = esub.add_parser("ask", help="questions through POST /api/ask: errors, verbatim quotes, lead-ins without "
                                    "their items, refusals, gold articles cited")
    e.add_argument("--queries", required=True, help="questions (JSONL: id, query, optionally relevant)")
    e.add_argument("--out", help="write every answer's checks (JSON) here")
    e.add_argument("--url", help="a running server (default: the app in this process over --data-dir)")
    _add_filters(e)
    e = esub.add_parser("feedback-sim", help="simulate users' feedback: half of --feedback's questions given as "
                                             "accepted feedback, the other half scored, and the other way round")
    e.add_argument("--base", required=True, nargs="+", help="labelled question files trained on in both variants")
    e.add_argument("--feedback", required=True, nargs="+", help="question files playing users' feedback")
    e.add_argument("--out", help="write the full result (JSON) here")

    p = sub.add_parser("bench", help="benchmarks")
    bsub = p.add_subparsers(dest="bench_cmd", required=True)
    b = bsub.add_parser("parse")
    b.add_argument("paths", nargs="+")
    b.add_argument("--json", action="store_true")
    b = bsub.add_parser("ingest")
    b.add_argument("paths", nargs="+")
    b = bsub.add_parser("search")
    b.add_argument("--queries", required=True)
    b.add_argument("--top-k", type=int, default=10)
    b.add_argument("--cold", action="store_true", help="also time one pass before the warm-up (reported as cold)")
    b = bsub.add_parser("http")
    b.add_argument("--url", default="http://127.0.0.1:8000")
    b.add_argument("--queries", required=True)
    b.add_argument("--concurrency", type=int, default=8)
    b.add_argument("--requests", type=int, default=800)
    b.add_argument("--server-pid", type=int, help="the server's process id: also report its CPU time per request "
                                                   "(with its worker processes)")
    b = bsub.add_parser("reingest-load", help="concurrent searches while successor versions are re-ingested "
                                              "(writes them into the data directory: use a copy)")
    b.add_argument("--data-dir", default=argparse.SUPPRESS, help="the index to load (a copy)")
    b.add_argument("--queries", required=True, help="questions (stard_dev.jsonl format)")
    b.add_argument("--reingest", nargs="+", required=True, help="folders whose current versions get successors")
    b.add_argument("--concurrency", type=int, default=4)
    b.add_argument("--regulations", nargs="*", help="regulations read throughout (default: 徐州市安全生产条例, "
                                                    "安全生产法, 江苏省安全生产条例, 民法典)")
    b.add_argument("--years", type=int, help="successor version date = current one + YEARS (default: 50, "
                                             "less where that would pass 2100)")
    b.add_argument("--before-s", type=float, default=10.0, help="seconds of load before the ingest starts")
    b.add_argument("--after-s", type=float, default=5.0, help="seconds of load after it ends")
    b.add_argument("--step-checks", action="store_true", help="also read the regulations after every store "
                                                              "mutation (small corpora only)")
    b.add_argument("--work-dir", help="where the successor copy is made (default: the system temp dir)")
    b.add_argument("--no-yield", dest="yield_to_readers", action="store_false",
                   help="the ingest does not yield the CPU to the searches (for comparison)")

    b = bsub.add_parser("scale", help="build a library FACTOR times the given folders in a temporary directory "
                                      "and measure ingest and search, with and without HNSW and quantization")
    b.add_argument("paths", nargs="+", help="folders whose Markdown files are replicated")
    b.add_argument("--factor", type=int, default=10)
    b.add_argument("--queries", required=True, help="questions (stard_dev.jsonl format) for the latency figures")
    b.add_argument("--models-from", required=True, help="a data directory whose trained embedder (models/) is used")
    b.add_argument("--max-queries", type=int, default=200)
    b.add_argument("--variants", nargs="+", default=["plain", "hnsw", "hnsw+sq8"],
                   choices=["plain", "hnsw", "hnsw+sq8"])
    b.add_argument("--work-dir", help="where the temporary library and index go (default: the system temp dir)")

    p = sub.add_parser("serve", help="serve the API and the web page")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--ingest", nargs="*", default=[], help="ingest these paths before serving")
    p.add_argument("--workers", default="1",
                   help="server processes: a number or auto (one per CPU core); with the embedded index, more than "
                        "one serves read-only copies of it (uploads and deletions through the API are refused)")
    p.add_argument("--no-access-log", dest="access_log", action="store_false",
                   help="do not log every request (saves CPU under load)")

    p = sub.add_parser("snapshot", help="archive the data directory (index, models, audit log) consistently")
    p.add_argument("out", help="OUT.tar.gz")
    p = sub.add_parser("restore", help="restore a snapshot into an empty data directory")
    p.add_argument("archive", help="IN.tar.gz")
    p.add_argument("--force", action="store_true", help="replace a non-empty data directory")

    p = sub.add_parser("diff", help="新旧对照: align two versions of a regulation, changed words marked")
    p.add_argument("title", help="法规名称或简称")
    p.add_argument("--from", dest="from_date", help="旧版本的版本日期或年份（默认：现行版本的上一版本）")
    p.add_argument("--to", dest="to_date", help="新版本的版本日期或年份（默认：现行版本）")
    p.add_argument("--all", action="store_true", help="也列出未变的条文")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("verify", help="引用核验: check the citations of a text (TXT, MD, DOCX, PDF, or - for stdin)")
    p.add_argument("file", help="文件路径，或 - 从标准输入读取文字")
    p.add_argument("--as-of", dest="as_of", help="文件的日期 YYYY-MM-DD（按当时有效的版本核验）")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("mcp", help="serve the MCP tools over stdio (default) or streamable HTTP")
    p.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)

    p = sub.add_parser("outreach", help="普法责任清单 for an enforcing agency")
    p.add_argument("agency")
    p.add_argument("--region")
    p.add_argument("--format", choices=["md", "html", "docx"], default="md")
    p.add_argument("--out")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from cli import commands

        handler = getattr(commands, f"cmd_{args.cmd.replace('-', '_')}")
        return int(handler(args, _settings(args)) or 0)
    except LawSearchError as exc:
        print(f"错误 [{exc.code}]: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main())

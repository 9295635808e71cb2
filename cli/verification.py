"""`lawsearch diff`, `lawsearch verify` and `lawsearch mcp`: 新旧对照, 引用核验 and the MCP server."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from corpus.errors import InvalidFilter

STATUS_NAMES = {"same": "未变", "renumbered": "条号变化", "modified": "修改", "inserted": "插入", "added": "新增",
                "split": "拆分", "merged": "合并", "deleted": "删除"}


def _out(obj) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _runtime(settings):
    from service.runtime import Runtime

    return Runtime.open(settings)


def marked(segments: list[dict]) -> str:
    """A diff for a terminal: deleted words in [-…-], inserted ones in {+…+}."""
    return "".join(s["text"] if s["op"] == "equal" else (f"[-{s['text']}-]" if s["op"] == "delete"
                                                         else f"{{+{s['text']}+}}") for s in segments)


def cmd_diff(args, settings) -> int:
    from service.verification import compare

    rt = _runtime(settings)
    try:
        result = compare(rt, args.title, from_date=args.from_date, to_date=args.to_date)
    finally:
        rt.close()
    if args.json:
        _out(result)
        return 0
    s = result["summary"]
    print(f"《{result['title']}》新旧对照：{result['from']['version_date']} → {result['to']['version_date']}")
    print(" · ".join(f"{STATUS_NAMES[k]} {v}" for k, v in s.items() if v))
    for row in result["rows"]:
        status = STATUS_NAMES[row["status"]]
        if row["status"] == "deleted":
            print(f"[{status}] {row['old'][0]}（旧）：{row['old_text'][:60]}")
            continue
        origin = f" ← {'、'.join(row['old'])}" if row["old"] and row["old"] != [row["new"]] else ""
        if row["status"] == "same" and not args.all:
            continue
        print(f"[{status}] {row['new']}{origin}")
        if row.get("changes"):
            print("    " + marked(row["changes"]).replace("\n", "\n    "))
        elif row["status"] in ("added", "inserted"):
            print("    " + row["new_text"].replace("\n", "\n    "))
    return 0


def cmd_verify(args, settings) -> int:
    from service.verification import check_file, check_text

    if args.file == "-":
        text = sys.stdin.read()
    elif not Path(args.file).is_file():
        raise InvalidFilter("文件不存在或不是普通文件", detail=args.file)
    rt = _runtime(settings)
    try:
        report = check_text(rt, text, as_of=args.as_of) if args.file == "-" else \
            check_file(rt, Path(args.file), as_of=args.as_of)
    finally:
        rt.close()
    if args.json:
        _out(report)
    else:
        names = report["verdict_names"]
        counts = " · ".join(f"{names[k]} {v}" for k, v in report["summary"].items() if v)
        print(f"共 {report['total']} 处引用：{counts or '无'}")
        for k, c in enumerate(report["citations"], 1):
            print(f"{k:>2}. [{c['verdict_name']}] {c['written']} —— {c['message']}")
    # a document with a wrong or outdated citation fails, like a linter
    return 0 if all(c["verdict"] == "current" for c in report["citations"]) else 1


def cmd_mcp(args, settings) -> int:
    from api.mcp_server import serve

    serve(settings, transport="http" if args.http else "stdio", host=args.host, port=args.port)
    return 0

"""`lawsearch eval ask`: questions through `POST /api/ask`, each answer checked the way a user relies on it.

Per question: the request succeeded (no error); every quote is verbatim in the article its citation names (read back
through `GET /api/regulations/{id}/articles/{no}`); no quote is a lead-in (…下列…： / …：) without at least one of its
项 quoted after it; the answer was a refusal or not; and, for labelled questions (`relevant`, the stard/xuzhou format),
whether a gold article is among those cited. The client is anything with httpx's `post`/`get` (a running server, or
FastAPI's TestClient over an app in this process): the measurement goes through the API a user calls.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from corpus.titles import normalize_title
from evaluation.metrics import load_queries, qrels_of

LEAD_IN_ENDS = ("：", ":")


def lead_ins_without_items(statements: list[dict]) -> list[str]:
    """The citations of quotes ending in a colon not followed at once by what they introduce: a 项 of the same 款,
    or (a list the text sets out as 款: 本法下列用语的含义：) a later 款 of the same article."""
    bad = []
    for i, s in enumerate(statements):
        if not (s.get("quote") or "").rstrip().endswith(LEAD_IN_ENDS):
            continue
        nxt = statements[i + 1] if i + 1 < len(statements) else {}
        same_article = all(nxt.get(k) == s.get(k) for k in ("version_id", "article_no")) \
            and (nxt.get("article_suffix") or "") == (s.get("article_suffix") or "")
        item = nxt.get("item_no") and nxt.get("clause_no") == s.get("clause_no") and not s.get("item_no")
        later_clause = (nxt.get("clause_no") or 0) > (s.get("clause_no") or 0)
        if not (same_article and (item or later_clause)):
            bad.append(s.get("citation") or "")
    return bad


def cited_keys(statements: list[dict]) -> set[tuple[str, int, str]]:
    return {(normalize_title(s.get("title") or ""), int(s.get("article_no") or 0), s.get("article_suffix") or "")
            for s in statements}


class ArticleReader:
    """Article texts read back through the API, once per (version, article)."""

    def __init__(self, client: Any):
        self.client = client
        self.cache: dict[tuple, str | None] = {}

    def text(self, s: dict) -> str | None:
        key = (s.get("regulation_id"), s.get("version_id"), s.get("article_no"), s.get("article_suffix") or "")
        if key not in self.cache:
            r = self.client.get(f"/api/regulations/{s['regulation_id']}/articles/{s['article_no']}"
                                f"{s.get('article_suffix') or ''}", params={"version_id": s.get("version_id")})
            self.cache[key] = r.json()["article"].get("text") if r.status_code == 200 else None
        return self.cache[key]


def check_answer(answer: dict, reader: ArticleReader) -> dict:
    """What one answer shows: quotes not verbatim (citation list), lead-ins without items, cited articles."""
    statements = answer.get("statements") or []
    not_verbatim = []
    for s in statements:
        text = reader.text(s)
        if not s.get("quote") or text is None or s["quote"] not in text or s.get("citation", "") not in \
                (answer.get("answer_text") or ""):
            not_verbatim.append(s.get("citation") or "")
    return {"grounded": bool(answer.get("grounded")), "statements": len(statements), "not_verbatim": not_verbatim,
            "lead_ins": lead_ins_without_items(statements), "cited": sorted(cited_keys(statements))}


def ask_report(client: Any, queries: list[dict], *, filters: dict | None = None) -> dict:
    """Every question through POST /api/ask; the totals and one row per question."""
    reader = ArticleReader(client)
    gold = qrels_of([q for q in queries if q.get("relevant")])
    rows, started = [], time.perf_counter()
    for q in queries:
        body: dict[str, Any] = {"question": q["query"]}
        if filters:
            body["filters"] = filters
        t0 = time.perf_counter()
        try:
            r = client.post("/api/ask", json=body)
            error = None if r.status_code == 200 else f"HTTP {r.status_code}: {r.text[:200]}"
        except Exception as exc:  # noqa: BLE001 - a failed request is what this counts
            r, error = None, f"{type(exc).__name__}: {exc}"
        row: dict[str, Any] = {"id": q.get("id"), "query": q["query"], "seconds": round(time.perf_counter() - t0, 3)}
        if error:
            row["error"] = error
        else:
            row.update(check_answer(r.json(), reader))
            if q.get("id") in gold:
                row["gold_cited"] = bool(set(map(tuple, row["cited"])) & gold[q["id"]])
        rows.append(row)
    ok = [r for r in rows if "error" not in r]
    labelled = [r for r in ok if "gold_cited" in r]
    n = len(rows) or 1
    summary = {
        "questions": len(rows),
        "errors": len(rows) - len(ok),
        "not_verbatim": sum(len(r["not_verbatim"]) for r in ok),
        "lead_ins_without_items": sum(len(r["lead_ins"]) for r in ok),
        "refusals": sum(not r["grounded"] for r in ok),
        "refusal_rate": round(sum(not r["grounded"] for r in ok) / n, 4),
        "gold_cited": sum(r["gold_cited"] for r in labelled),
        "gold_cited_rate": round(sum(r["gold_cited"] for r in labelled) / (len(labelled) or 1), 4),
        "labelled": len(labelled),
        "statements_per_answer": round(sum(r["statements"] for r in ok) / (len(ok) or 1), 2),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return {"summary": summary, "rows": rows}


def eval_ask(client: Any, *, queries: str, out: str | None = None, filters: dict | None = None) -> int:
    """Print the summary in Chinese (write every row as JSON to `out`); exit status 1 when a request failed, a
    quote is not verbatim or a lead-in lacks its items."""
    report = ask_report(client, load_queries(queries), filters=filters)
    s = report["summary"]
    if out:
        Path(out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"问题 {s['questions']} 个：出错 {s['errors']}，非原文引用 {s['not_verbatim']}，缺少项的引导句 "
          f"{s['lead_ins_without_items']}，拒答 {s['refusals']}（{s['refusal_rate']:.1%}），"
          f"引用了标注条文 {s['gold_cited']}/{s['labelled']}（{s['gold_cited_rate']:.1%}），"
          f"平均每个回答 {s['statements_per_answer']} 段引文；用时 {s['seconds']} 秒")
    if out:
        print(f"逐题结果：{out}")
    return 0 if not (s["errors"] or s["not_verbatim"] or s["lead_ins_without_items"]) else 1


__all__ = ["ask_report", "check_answer", "eval_ask", "lead_ins_without_items"]

"""The MCP server (`lawsearch mcp`): the service as tools an assistant can call, over stdio or streamable HTTP, built
with the official MCP Python SDK (`mcp.server.mcpserver.MCPServer`).

Every tool answers with `citations` (《title》第X条…) next to its data, so an assistant can quote its sources. The
tools read only, unless the settings hold an admin key (`LAWSEARCH_API_KEYS`): then `ingest_files` and
`delete_regulation` are offered too, and each call must carry that key (`api_key`).
"""
from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from corpus.errors import LawSearchError
from service.runtime import Runtime
from service.verification import check_text, compare

INSTRUCTIONS = ("法规知识检索：检索法律法规条文、基于条文回答问题、查询条文原文、核验文本中的法条引用、对照法规新旧版本、"
                "生成执法部门的普法责任清单。每个结果都附有引用（《法规名称》第X条）。")


def citations_in(obj: Any) -> list[str]:
    """Every `citation` string inside a result, in order, each once."""
    found: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            c = x.get("citation")
            if isinstance(c, str) and c and c not in found:
                found.append(c)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(obj)
    return found


def _cited(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data, citations=citations_in(data))


def _error(exc: LawSearchError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message, "detail": exc.detail}, "citations": []}


def admin_keys(settings) -> set[str]:
    return {k for k, role in (settings.api_keys or {}).items() if role == "admin"}


def build_server(runtime: Runtime, settings, composer) -> MCPServer:
    """The tools over one runtime (and the answer composer of api.app.build_composer)."""
    server = MCPServer("lawsearch", title="法规知识检索", instructions=INSTRUCTIONS, version="0.1.0")

    def guarded(fn):
        def run(*args, **kwargs):
            try:
                return _cited(fn(*args, **kwargs))
            except LawSearchError as exc:
                return _error(exc)
        return run

    @server.tool(description="检索法律法规条文：问题、关键词或条文引用（如 徐州市安全生产条例第二十条）。"
                             "默认检索在本地适用的法规；scope=all 检索所有地区。")
    def search(query: str, top_k: int = 5, region: str | None = None, scope: str | None = None,
               as_of: str | None = None) -> dict[str, Any]:
        filters = {k: v for k, v in (("region", region), ("scope", scope), ("as_of", as_of)) if v}

        def run():
            result = runtime.search(query, top_k=max(1, min(int(top_k), 50)), filters=filters)
            hits = [{"citation": f"《{h.get('title')}》{h.get('label')}", "title": h.get("title"),
                     "label": h.get("label"), "text": h.get("text"), "version_date": h.get("version_date"),
                     "is_current": h.get("is_current", True), "region": h.get("region"), "score": h.get("score")}
                    for h in result.get("hits") or []]
            return {"query": query, "hits": hits, "not_found": result.get("not_found") or [],
                    "mode": result.get("mode")}
        return guarded(run)()

    @server.tool(description="基于法规条文回答问题：逐条引用原文（《法规》第X条第Y款），没有依据时如实说明。")
    def ask(question: str) -> dict[str, Any]:
        return guarded(lambda: composer.answer(question, {}).to_dict())()

    @server.tool(description="查询某部法规某一条的原文，如 title=徐州市安全生产条例 article=20；as_of=YYYY-MM-DD 查当日有效版本。")
    def get_article(title: str, article: str, as_of: str | None = None) -> dict[str, Any]:
        def run():
            from corpus.articles import ArticleRecord
            from corpus.numerals import parse_article_number

            no, suffix = parse_article_number(article)
            rec, parts = runtime.index.article(title, no, suffix, as_of=as_of)
            art = ArticleRecord.from_parts(parts)
            return {"citation": f"《{rec['title']}》{art.label}", "title": rec["title"], "label": art.label,
                    "headings": art.payload.get("headings") or [], "text": art.text,
                    "version_date": rec.get("version_date"), "is_current": bool(rec.get("is_current"))}
        return guarded(run)()

    @server.tool(description="核验一段文字（宣传材料、通知、AI 回答）中的法条引用：是否存在、是否为现行条号、"
                             "引号中的文字是否为原文；as_of=文件日期（YYYY-MM-DD）。")
    def verify_citations(text: str, as_of: str | None = None) -> dict[str, Any]:
        def run():
            report = check_text(runtime, text, as_of=as_of)
            report.pop("segments", None)
            return report
        return guarded(run)()

    @server.tool(description="法规新旧对照：两个版本逐条对应（未变、条号变化、修改、新增、删除、拆分、合并），标出改动的文字。"
                             "from_date/to_date 为版本日期或年份，默认上一版本对照现行版本。")
    def compare_versions(title: str, from_date: str | None = None, to_date: str | None = None) -> dict[str, Any]:
        def run():
            result = compare(runtime, title, from_date=from_date, to_date=to_date)
            for row in result["rows"]:
                row["citation"] = f"《{result['title']}》{row['new']}" if row.get("new") else \
                    f"《{result['title']}》（{result['from']['version_date']}版）{row['old'][0]}"
            return result
        return guarded(run)()

    @server.tool(description="普法责任清单：某执法部门（如 应急管理）负责执行的法规条文及其罚则；region 如 徐州市。")
    def outreach_list(agency: str, region: str | None = None) -> dict[str, Any]:
        from outreach import build_outreach

        def run():
            doc = build_outreach(runtime.index, agency, region=region)
            for reg in doc.get("regulations") or []:  # the cards name their articles by label: cite them whole
                for card in reg.get("cards") or []:
                    for basis in card.get("basis") or []:
                        basis["citation"] = f"《{basis.get('title') or reg.get('title')}》{basis.get('label')}"
                    for consequence in card.get("consequences") or []:
                        consequence["citation"] = f"《{reg.get('title')}》{consequence.get('label')}"
            return doc
        return guarded(run)()

    keys = admin_keys(settings)
    if keys:
        def admin(api_key: str) -> None:
            import hmac

            if not any(hmac.compare_digest(api_key.encode("utf-8"), k.encode("utf-8")) for k in keys):
                raise LawSearchError("需要管理员 API 密钥", code="forbidden")

        @server.tool(description="（管理员）导入法规文件或目录（服务器上的路径）。需要管理员 API 密钥。")
        def ingest_files(paths: list[str], api_key: str) -> dict[str, Any]:
            def run():
                admin(api_key)
                summary = runtime.ingest(paths, progress=False, train=False)
                return summary.to_dict()
            return guarded(run)()

        @server.tool(description="（管理员）删除一部法规（全部版本）或其中一个版本。需要管理员 API 密钥。")
        def delete_regulation(regulation_id: str, api_key: str, version_id: str | None = None) -> dict[str, Any]:
            def run():
                admin(api_key)
                with runtime.write_lock:
                    n = runtime.index.delete(regulation_id, version_id=version_id)
                runtime.engine.refresh()
                return {"regulation_id": regulation_id, "version_id": version_id, "versions_deleted": n}
            return guarded(run)()

    return server


def serve(settings, *, transport: str = "stdio", host: str = "127.0.0.1", port: int = 8001) -> None:
    """Open the runtime and serve the tools until the client goes away (stdio) or the process is stopped."""
    from api.app import build_composer

    runtime = Runtime.open(settings)
    try:
        server = build_server(runtime, settings, build_composer(settings, runtime))
        if transport == "stdio":
            server.run("stdio")
        else:
            server.run("streamable-http", host=host, port=port)
    finally:
        runtime.close()


__all__ = ["admin_keys", "build_server", "citations_in", "serve"]

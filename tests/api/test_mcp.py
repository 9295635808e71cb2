"""`lawsearch mcp` driven by the MCP SDK's own client: started over stdio (a subprocess, as an assistant starts it)
and over streamable HTTP; every tool answers with citations; the write tools exist only with an admin key.
The same small index (built on a temp dir, then closed: the embedded store belongs to one process) serves the
`lawsearch diff` and `lawsearch verify` command lines."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tests.indexes import ingested_runtime

REPO = Path(__file__).resolve().parents[2]
LEAFLET = REPO / "tests" / "search" / "data" / "citations_leaflet.md"
FILES = ["徐州市安全生产条例_2019.md", "徐州市安全生产条例_2024修正.md", "中华人民共和国法律援助法.md",
         "江苏省法律援助条例_2005修订.md", "江苏省法律援助条例_2024修订.md"]
READ_TOOLS = {"search", "ask", "get_article", "verify_citations", "compare_versions", "outreach_list"}
ADMIN_KEY = "mcp-admin-key-0123456789"
CALLS = {
    "search": {"query": "生产经营单位的主要负责人安全生产职责", "top_k": 3},
    "ask": {"question": "生产经营单位的主要负责人对安全生产负什么责任？"},
    "get_article": {"title": "徐州市安全生产条例", "article": "12"},
    "verify_citations": {"text": "《徐州市安全生产条例》第九条规定：“生产经营单位的主要负责人应当对本单位的安全生产工作全面负责”。"},
    "compare_versions": {"title": "徐州市安全生产条例"},
    "outreach_list": {"agency": "应急管理", "region": "徐州市"},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, corpus_dir) -> Path:
    path = tmp_path_factory.mktemp("mcp-index")
    with ingested_runtime(path, [corpus_dir / "xuzhou" / f for f in FILES]):
        pass
    return path


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWSEARCH_")}
    env.update(LAWSEARCH_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO), **extra)
    return env


def _cli(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], check=False, cwd=REPO, env=_env(data_dir), input=stdin,
                          capture_output=True, text=True, timeout=300)


async def _exercise(client) -> dict[str, dict]:
    tools = {t.name for t in (await client.list_tools()).tools}
    results = {"_tools": {"names": sorted(tools)}}
    for name, args in CALLS.items():
        res = await client.call_tool(name, args)
        assert not res.is_error, (name, res.content)
        results[name] = res.structured_content
    return results


def _check_answers(results: dict[str, dict]) -> None:
    assert READ_TOOLS <= set(results["_tools"]["names"])
    for name in CALLS:
        assert results[name]["citations"], name  # every tool answers with its sources
        assert all(c.startswith("《") for c in results[name]["citations"])
    assert "《徐州市安全生产条例》第十二条" in results["search"]["citations"]
    assert results["get_article"]["text"].startswith("生产经营单位的主要负责人")
    verdict = results["verify_citations"]["citations"]
    assert results["verify_citations"]["summary"]["superseded"] == 1
    assert "《徐州市安全生产条例》第十二条" in verdict
    assert results["compare_versions"]["mapping"]["第九条"] == ["第十二条"]


@pytest.mark.integration
def test_stdio_server_answers_every_tool_with_citations(data_dir):
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=["-m", "cli.main", "mcp"], cwd=str(REPO),
                                   env=_env(data_dir))

    async def main():
        async with Client(params, read_timeout_seconds=120) as client:
            results = await _exercise(client)
            # read-only: no key configured, no write tools
            assert not {"ingest_files", "delete_regulation"} & set(results["_tools"]["names"])
            return results

    _check_answers(anyio.run(main))


@pytest.mark.integration
def test_streamable_http_server_with_an_admin_key(data_dir):
    from mcp.client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(data_dir, LAWSEARCH_API_KEYS=json.dumps({ADMIN_KEY: "admin"}))
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "mcp", "--http", "--port", str(port)], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"mcp --http did not start: {proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.3)

        async def main():
            async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=120) as client:
                results = await _exercise(client)
                assert {"ingest_files", "delete_regulation"} <= set(results["_tools"]["names"])
                denied = await client.call_tool("delete_regulation", {"regulation_id": "reg-x", "api_key": "wrong"})
                return results, denied.structured_content

        results, denied = anyio.run(main)
        _check_answers(results)
        assert denied["error"]["code"] == "forbidden" and "管理员" in denied["error"]["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.integration
def test_cli_diff_and_verify(data_dir, tmp_path):
    out = _cli(data_dir, "diff", "徐州市安全生产条例", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["mapping"]["第十六条"] == ["第二十条"]
    text = _cli(data_dir, "diff", "徐州市安全生产条例", "--from", "2019", "--to", "2024-12-09")
    assert text.returncode == 0 and "[条号变化] 第十二条 ← 第九条" in text.stdout
    assert "[删除] 第四十八条" in text.stdout and "{+新进+}" in text.stdout

    bad = _cli(data_dir, "diff", "徐州市安全生产条例", "--from", "1999")
    assert bad.returncode == 2 and "1999" in bad.stderr and "2019-12-12" in bad.stderr

    checked = _cli(data_dir, "verify", str(LEAFLET), "--json")
    assert checked.returncode == 1  # the leaflet has wrong citations: the command fails like a linter
    report = json.loads(checked.stdout)
    assert report["total"] >= 20 and report["summary"]["superseded"] >= 2
    good = _cli(data_dir, "verify", "-", stdin="依照《中华人民共和国法律援助法》第二条、第三十一条。")
    assert good.returncode == 0 and "共 2 处引用：正确 2" in good.stdout
    missing = _cli(data_dir, "verify", str(tmp_path / "nope.docx"))
    assert missing.returncode == 2 and "nope.docx" in missing.stderr

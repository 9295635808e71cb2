"""The command line's read commands while `lawsearch serve` holds the embedded index (issue 13): they go through
the running server (its address is in the data directory while it runs) and print what they print on their own;
a writer still gets the "in use" error; once the server stops, they open the index themselves again."""
from __future__ import annotations

import json

import httpx
import pytest

from service.address import read_address, write_address
from tests.indexes import ingested_runtime
from tests.servers import cli, free_port, served

pytestmark = pytest.mark.integration

QUESTION = "工厂没有给工人发劳动防护用品怎么办"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, corpus_dir):
    data = tmp_path_factory.mktemp("cli-serve") / "data"
    with ingested_runtime(data, [corpus_dir / "xuzhou"]):
        pass
    return data


def test_read_commands_go_through_the_running_server(data_dir, corpus_dir):
    with served(data_dir) as url:
        assert read_address(data_dir)["url"] == url

        r = cli(data_dir, "search", QUESTION, "--json")
        assert r.returncode == 0, r.stderr
        assert url in r.stderr  # says where it read from
        hits = json.loads(r.stdout)["hits"]
        served_hits = httpx.get(url + "/api/search", params={"q": QUESTION, "top_k": 10}, trust_env=False).json()["hits"]
        assert hits and [h["id"] for h in hits] == [h["id"] for h in served_hits]
        assert any("劳动防护用品" in h["snippet"].replace("<mark>", "").replace("</mark>", "") for h in hits[:3])

        r = cli(data_dir, "search", QUESTION)  # the plain text form: Chinese retrieval names
        assert r.returncode == 0 and "检索方式：关键词检索" in r.stdout and "sparse" not in r.stdout, r.stdout

        r = cli(data_dir, "article", "徐州市安全生产条例", "20", "--json")
        assert r.returncode == 0, r.stderr
        art = json.loads(r.stdout)
        assert art["label"] == "第二十条" and art["regulation"]["is_current"] and "事故隐患" in art["text"]

        r = cli(data_dir, "article", "安全生产条例", "20")  # two regulations have this short title
        assert r.returncode == 2 and "《徐州市安全生产条例》" in r.stderr and "《江苏省安全生产条例》" in r.stderr

        r = cli(data_dir, "regulations", "--json")
        assert r.returncode == 0, r.stderr
        rows = json.loads(r.stdout)
        assert {row["region"] for row in rows} >= {"徐州市", "江苏省", "全国"}
        assert rows[0]["region"] == "徐州市"  # the home region first

        r = cli(data_dir, "outreach", "应急管理", "--region", "徐州市")
        assert r.returncode == 0 and "普法责任清单" in r.stdout, r.stderr

        # a writer cannot go through the server: it is told the index is in use
        r = cli(data_dir, "ingest", "--no-train", str(corpus_dir / "xuzhou" / "徐州市质量促进条例.md"))
        assert r.returncode != 0 and "正被另一个进程使用" in r.stderr

    assert read_address(data_dir) is None  # removed when the server stopped
    r = cli(data_dir, "search", QUESTION, "--json")
    assert r.returncode == 0 and "通过" not in r.stderr and json.loads(r.stdout)["hits"]
    # a record left behind by a killed server (nothing answers there any more) does not get in the way
    write_address(data_dir, f"http://127.0.0.1:{free_port()}")
    r = cli(data_dir, "article", "徐州市安全生产条例", "20")
    assert r.returncode == 0 and "第二十条" in r.stdout and "通过" not in r.stderr, r.stderr

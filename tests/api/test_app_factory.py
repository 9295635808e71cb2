"""create_app(settings) opens and closes its own Runtime in the lifespan; an LLM URL adds a generator."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_app_opens_its_own_runtime_on_an_empty_data_dir(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from corpus.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, llm_base_url="http://127.0.0.1:9/v1", llm_model="qwen2.5-7b-instruct"))
    assert app.state.runtime is None
    with TestClient(app) as c:
        assert app.state.runtime is not None
        health = c.get("/healthz").json()
        assert health["status"] == "ok" and health["counts"]["points"] == 0
        assert health["answer"] == "generated+verified"
        from haystack.components.generators.chat import OpenAIChatGenerator

        assert isinstance(app.state.composer.generator, OpenAIChatGenerator)
        r = c.get("/api/search", params={"q": "安全生产"})
        assert r.status_code == 404 and r.json()["code"] == "index_missing"
        assert "索引尚未建立" in r.json()["message"] and str(tmp_path) not in r.text
        assert c.get("/api/regulations").json() == {"total": 0, "regulations": []}
    assert app.state.runtime is None  # closed with the app


def test_before_the_runtime_is_open_search_and_ask_answer_503_in_chinese(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from corpus.settings import Settings

    c = TestClient(create_app(Settings(data_dir=tmp_path)), raise_server_exceptions=False)  # no lifespan run yet
    for r in (c.get("/api/search", params={"q": "安全生产"}), c.post("/api/ask", json={"question": "狗咬人怎么办"})):
        assert r.status_code == 503 and "检索服务尚未就绪" in r.json()["message"], r.text


def test_app_warms_search_in_the_background_and_closes_cleanly(tmp_path, corpus_dir):
    import time

    from fastapi.testclient import TestClient

    from api.app import create_app
    from corpus.settings import Settings
    from service.runtime import Runtime

    settings = Settings(data_dir=tmp_path)
    rt = Runtime.open(settings)
    rt.ingest([corpus_dir / "xuzhou" / "徐州市质量促进条例.md"], progress=False, train=False)
    points = rt.index.articles.count()
    assert rt.warm()["rows"] == points
    rt.close()

    app = create_app(settings)
    with TestClient(app) as c:
        table = app.state.runtime.engine.retriever.fields_table()
        deadline = time.monotonic() + 30
        while len(table) < points and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(table) == points  # every point's re-ranking fields are in memory before the first question
        hits = c.get("/api/search", params={"q": "质量奖评选"}).json()["hits"]
        assert hits and hits[0]["title"] == "徐州市质量促进条例"
    assert app.state.runtime is None

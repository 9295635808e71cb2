"""One real index per test session, built from ../shared/corpus/xuzhou on the embedded Qdrant Edge
(`Runtime.ingest(..., train=False)`: BM25 only, fast), and an app + TestClient over it."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_KEY = "test-admin-key-0123456789"
READER_KEY = "test-reader-key-9876543210"


@pytest.fixture(scope="session")
def api_settings(tmp_path_factory):
    from corpus.settings import Settings

    data = tmp_path_factory.mktemp("api-data")
    return Settings(data_dir=data, api_keys={ADMIN_KEY: "admin", READER_KEY: "reader"},
                    cors_origins=["http://allowed.example"], max_upload_mb=1, max_upload_files=3,
                    llm_base_url=None, qdrant_url=None, embedding_model=None,
                    # one client sends every request of the session (300 asks in one test): the limiter has
                    # its own tests (test_limits.py) over apps of their own
                    rate_limit_per_minute=0, rate_limit_heavy_per_minute=0)


@pytest.fixture(scope="session")
def runtime(api_settings, corpus_dir):
    from service.runtime import Runtime

    rt = Runtime.open(api_settings)
    summary = rt.ingest([corpus_dir / "xuzhou"], progress=False, train=False)
    assert summary.regulations >= 10, summary.to_dict()
    assert not summary.failed, summary.failed
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def app(api_settings, runtime):
    from api.app import create_app

    return create_app(api_settings, runtime=runtime)


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture()
def admin():
    return {"X-API-Key": ADMIN_KEY}


@pytest.fixture()
def reader():
    return {"X-API-Key": READER_KEY}


@contextmanager
def serve_in_thread(app) -> Iterator[str]:
    """`app` served by uvicorn on a free local port in a daemon thread; yields the base URL, stops it after."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        if time.time() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)

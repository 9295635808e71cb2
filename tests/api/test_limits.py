"""Per-client rate limits (429 with Retry-After and a Chinese error body) and the body cap of non-upload requests
(413 before the body is read whole): the token bucket on its own (with a hand-driven clock), then through HTTP over
apps of their own built on the session's real xuzhou runtime."""
from __future__ import annotations

import asyncio
import json
import re

import pytest
from fastapi.testclient import TestClient

from api.limits import RateLimiter, limit_class
from tests.api.conftest import ADMIN_KEY, READER_KEY

CHINESE = re.compile(r"[\u4e00-\u9fff]")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# ---- the bucket -------------------------------------------------------------------------------------------------
def test_bucket_allows_a_burst_of_per_minute_then_refills_at_per_minute_over_60():
    clock = Clock()
    lim = RateLimiter(6, clock=clock)  # one token every 10 s
    assert [lim.take("a") for _ in range(6)] == [0.0] * 6
    assert lim.take("a") == pytest.approx(10.0)
    clock.now += 4
    assert lim.take("a") == pytest.approx(6.0)  # a refused request takes nothing
    clock.now += 6
    assert lim.take("a") == 0.0 and lim.take("a") == pytest.approx(10.0)
    clock.now += 3600  # a long pause refills to the burst, not beyond
    assert [lim.take("a") for _ in range(7)].count(0.0) == 6


def test_bucket_identities_are_independent_and_zero_is_off():
    clock = Clock()
    lim = RateLimiter(1, clock=clock)
    assert lim.take("a") == 0.0 and lim.take("a") > 0
    assert lim.take("b") == 0.0
    off = RateLimiter(0, clock=clock)
    assert not off.enabled and all(off.take("a") == 0.0 for _ in range(1000))


def test_bucket_keeps_at_most_max_clients():
    clock = Clock()
    lim = RateLimiter(1, clock=clock, max_clients=3)
    for who in "abcd":
        lim.take(who)
    assert len(lim._buckets) == 3 and "a" not in lim._buckets
    assert lim.take("d") > 0  # the recent ones are kept


@pytest.mark.parametrize("method,path,cls", [
    ("GET", "/api/search", "read"), ("GET", "/api/regulations", "read"), ("GET", "/api/outreach", "read"),
    ("GET", "/api/regulations/reg-1/articles/3", "read"), ("GET", "/api/openapi.json", "read"),
    ("POST", "/api/ask", "heavy"), ("POST", "/api/regulations", "heavy"), ("DELETE", "/api/regulations/reg-1", "heavy"),
    ("GET", "/api/audit", "heavy"),
    ("GET", "/healthz", None), ("GET", "/metrics", None), ("GET", "/", None), ("GET", "/static/app.js", None),
])
def test_route_classes(method, path, cls):
    assert limit_class(method, path) == cls


# ---- through HTTP -----------------------------------------------------------------------------------------------
def make_app(api_settings, runtime, **limits):
    from api.app import create_app

    return create_app(api_settings.model_copy(update=limits), runtime=runtime)


def assert_429(r, per_minute: int):
    assert r.status_code == 429, r.text
    body = r.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == "too_many_requests" and CHINESE.search(body["message"]) and "秒后再试" in body["message"]
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 60 / per_minute + 1 and f"{retry} 秒" in body["message"]
    assert str(per_minute) in body["detail"]
    assert r.headers["x-content-type-options"] == "nosniff"




@pytest.mark.integration
def test_read_limit_answers_429_with_retry_after(api_settings, runtime):
    app = make_app(api_settings, runtime, rate_limit_per_minute=3, rate_limit_heavy_per_minute=0)
    c = TestClient(app)
    statuses = [c.get("/api/search", params={"q": "安全生产"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert_429(c.get("/api/regulations"), 3)  # one bucket for every read route
    assert_429(c.get("/api/search", params={"q": "安全生产"}), 3)
    # heavy routes are off here, and counted apart from reads
    assert c.post("/api/ask", json={"question": "养犬需要登记吗"}).status_code == 200
    assert 'method="GET",route="unmatched",status="429"} 2' in c.get("/metrics").text  # refused before routing


@pytest.mark.integration
def test_a_browser_can_read_the_429(api_settings, runtime):
    c = TestClient(make_app(api_settings, runtime, rate_limit_per_minute=1))
    origin = {"Origin": "http://allowed.example"}
    assert c.get("/api/regulations", headers=origin).status_code == 200
    r = c.get("/api/regulations", headers=origin)
    assert_429(r, 1)
    assert r.headers["access-control-allow-origin"] == "http://allowed.example"


@pytest.mark.integration
def test_clients_have_separate_buckets(api_settings, runtime):
    app = make_app(api_settings, runtime, rate_limit_per_minute=2)
    a, b = TestClient(app, client=("10.0.0.1", 5000)), TestClient(app, client=("10.0.0.2", 5000))
    assert [a.get("/api/regulations").status_code for _ in range(2)] == [200, 200]
    assert_429(a.get("/api/regulations"), 2)
    assert b.get("/api/regulations").status_code == 200  # another address
    # a configured key has its own bucket, whatever the address ...
    assert [a.get("/api/regulations", headers={"X-API-Key": READER_KEY}).status_code for _ in range(2)] == [200, 200]
    assert_429(a.get("/api/regulations", headers={"X-API-Key": READER_KEY}), 2)
    assert a.get("/api/regulations", headers={"X-API-Key": ADMIN_KEY}).status_code == 200
    # ... an unknown key does not: it counts against its address
    assert_429(a.get("/api/regulations", headers={"X-API-Key": "made-up-key-1"}), 2)
    assert b.get("/api/regulations", headers={"X-API-Key": "made-up-key-2"}).status_code == 200
    assert_429(b.get("/api/regulations", headers={"X-API-Key": "made-up-key-3"}), 2)


@pytest.mark.integration
def test_heavy_limit_covers_ask_and_admin_routes_and_denied_attempts(api_settings, runtime):
    app = make_app(api_settings, runtime, rate_limit_per_minute=0, rate_limit_heavy_per_minute=2)
    c = TestClient(app)
    assert c.post("/api/ask", json={"question": "养犬需要登记吗"}).status_code == 200
    assert c.get("/api/audit").status_code == 401  # a guess at the admin key spends a token too
    assert_429(c.post("/api/ask", json={"question": "养犬需要登记吗"}), 2)
    assert_429(c.get("/api/audit", headers={"X-API-Key": "guess"}), 2)
    assert [c.get("/api/search", params={"q": "养犬"}).status_code for _ in range(5)] == [200] * 5  # reads are off
    admin = {"X-API-Key": ADMIN_KEY}
    assert c.get("/api/audit", headers=admin).status_code == 200
    assert c.delete("/api/regulations/reg-doesnotexist", headers=admin).status_code == 404
    assert_429(c.get("/api/audit", headers=admin), 2)


@pytest.mark.integration
def test_health_metrics_and_the_page_are_not_limited(api_settings, runtime):
    c = TestClient(make_app(api_settings, runtime, rate_limit_per_minute=1, rate_limit_heavy_per_minute=1))
    assert c.get("/api/regulations").status_code == 200
    assert_429(c.get("/api/regulations"), 1)
    for _ in range(5):
        assert c.get("/healthz").status_code == 200
        assert c.get("/metrics").status_code == 200
        assert c.get("/").status_code == 200
        assert c.get("/static/app.js").status_code == 200


@pytest.mark.integration
def test_limits_are_off_at_zero(api_settings, runtime):
    c = TestClient(make_app(api_settings, runtime, rate_limit_per_minute=0, rate_limit_heavy_per_minute=0))
    assert all(c.get("/api/regulations").status_code == 200 for _ in range(150))
    assert all(c.post("/api/ask", json={"question": "养犬"}).status_code == 200 for _ in range(70))


def test_default_settings():
    from corpus.settings import Settings

    s = Settings()
    assert s.rate_limit_per_minute == 0  # see corpus/settings.py: `lawsearch bench http`
    assert s.rate_limit_heavy_per_minute == 60 and s.max_body_kb == 64


# ---- body cap ---------------------------------------------------------------------------------------------------
def asgi_post(app, path: str, chunks, headers: list[tuple[bytes, bytes]]):
    """POST through the ASGI interface, the body in `chunks` (an iterator) read only as the app asks for it.
    Returns (status, headers, body, chunks read)."""
    read = 0
    out: dict = {"body": b""}

    async def receive():
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], dict(message["headers"])
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
             "client": ("10.1.1.1", 4000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    return out["status"], out["headers"], out["body"], read


def _assert_413(status, body):
    assert status == 413
    err = json.loads(body)
    assert err["code"] == "payload_too_large" and CHINESE.search(err["message"]) and "64 KB" in err["message"]


@pytest.mark.integration
def test_a_huge_streamed_json_body_is_refused_after_the_cap_not_read_whole(api_settings, runtime):
    app = make_app(api_settings, runtime, max_body_kb=64)
    stream = iter([b" " * 16384] * 256)  # 4 MB in 16 KB chunks (bounded: a broken cap must not eat the memory)
    status, _, body, read = asgi_post(app, "/api/ask", stream, [(b"transfer-encoding", b"chunked")])
    _assert_413(status, body)
    assert read == 5  # 80 KB: the first chunk past 64 KB


@pytest.mark.integration
def test_a_declared_length_over_the_cap_is_refused_before_reading(api_settings, runtime):
    app = make_app(api_settings, runtime, max_body_kb=64)
    status, headers, body, read = asgi_post(app, "/api/ask", iter([b" "] * 1000),
                                            [(b"content-length", str(50 * 1024 * 1024).encode())])
    _assert_413(status, body)
    assert read == 0 and headers[b"connection"] == b"close"
    r = TestClient(app).post("/api/ask", content=json.dumps({"question": "养犬" * 40000}).encode(),
                             headers={"Content-Type": "application/json"})
    _assert_413(r.status_code, r.content)


@pytest.mark.integration
def test_a_body_under_the_cap_reaches_the_route_whole(api_settings, runtime):
    app = make_app(api_settings, runtime, max_body_kb=64)
    question = json.dumps({"question": "养犬需要登记吗"}).encode()
    padded = question[:-1] + b" " * 60000 + b"}"  # ≈ 60 KB of JSON whitespace, in 4 KB chunks
    chunks = iter([padded[i:i + 4096] for i in range(0, len(padded), 4096)])
    status, _, body, _ = asgi_post(app, "/api/ask", chunks, [(b"transfer-encoding", b"chunked")])
    assert status == 200, body
    assert json.loads(body)["question"] == "养犬需要登记吗"


@pytest.mark.integration
def test_uploads_are_capped_by_their_own_limits_not_the_body_cap(api_settings, runtime):
    # 200 KB, over the 64 KB body cap and under max_upload_mb (1): refused for its content, not its size
    c = TestClient(make_app(api_settings, runtime, max_body_kb=64))
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 200_000
    r = c.post("/api/regulations", headers={"X-API-Key": ADMIN_KEY}, files={"files": ("a.png", png, "image/png")})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_type"

"""Request limits applied before any route runs: per-client rate limits (429) and the body size of non-upload
requests (413). Both are pure ASGI middleware and answer with the API's error body ({code, message, detail}).

Rate limits: a token bucket per client identity and class of route. The identity is the API key when the request
carries a configured one (its key id), else the client address: an unknown key does not buy a fresh bucket.
Two classes: "heavy" routes (POST /api/ask, POST /api/verify[/file], POST /api/feedback, the admin routes: upload, delete, audit, feedback
review and export) and every other /api/ route ("read"). /healthz, /metrics, the web page and its static files are
not limited: health checks must never be throttled, and the page is static and cheap. A bucket holds `per_minute` tokens (the burst) and refills at
`per_minute / 60` tokens a second; `per_minute = 0` turns its class off.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.audit import key_id
from api.deps import API_KEY_HEADER, role_of
from api.errors import BodyTooLarge, TooManyRequests, error_response

UPLOAD_PATH = "/api/regulations"  # multipart uploads: limited by max_upload_mb / max_upload_files instead
VERIFY_UPLOAD_PATH = "/api/verify/file"  # a document to check: limited by max_upload_mb in its route


class RateLimiter:
    """Token buckets by client identity. `take(identity)` → 0.0 when a token was taken, else the seconds until
    one is available. At most `max_clients` buckets are kept (least recently used dropped first)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_clients: int = 10000):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # identity → (tokens, updated)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def take(self, identity: str) -> float:
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, updated = self._buckets.pop(identity, (self.capacity, now))
            tokens = min(self.capacity, tokens + max(0.0, now - updated) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[identity] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


def limit_class(method: str, path: str) -> str | None:
    """'heavy', 'read', or None (not limited) for a request."""
    if not path.startswith("/api/"):
        return None
    if ((method == "POST" and path in ("/api/ask", UPLOAD_PATH, "/api/verify", VERIFY_UPLOAD_PATH))
            or path == "/api/audit"
            or (method == "DELETE" and path.startswith(UPLOAD_PATH + "/"))
            or (method == "POST" and path == "/api/feedback") or path.startswith("/api/feedback/")):
        return "heavy"
    return "read"


def _header(scope: Scope, name: bytes) -> str:
    for k, v in scope.get("headers") or []:
        if k.lower() == name:
            return v.decode("latin-1")
    return ""


def client_identity(scope: Scope, api_keys: dict[str, str]) -> str:
    """The configured API key's id when one is presented, else the client address."""
    given = _header(scope, API_KEY_HEADER.lower().encode("ascii"))
    if given and api_keys and role_of(api_keys, given):
        return key_id(given)
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, read: RateLimiter, heavy: RateLimiter, api_keys: dict[str, str]):
        self.app = app
        self.limiters = {"read": read, "heavy": heavy}
        self.api_keys = dict(api_keys or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            cls = limit_class(scope.get("method", ""), scope.get("path", ""))
            limiter = self.limiters.get(cls) if cls else None
            if limiter is not None and limiter.enabled:
                wait = limiter.take(f"{cls}:{client_identity(scope, self.api_keys)}")
                if wait > 0:
                    retry = max(1, math.ceil(wait))
                    exc = TooManyRequests(f"请求过于频繁，请 {retry} 秒后再试", retry_after=retry,
                                          detail=f"每分钟最多 {int(limiter.capacity)} 次请求")
                    await error_response(exc)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Caps the body of every request except uploads at `max_bytes`: a declared Content-Length over the cap is
    refused before anything is read; a body that grows past it while streaming in is refused at that point.
    The accepted body (≤ max_bytes) is handed on to the app as it came."""

    def __init__(self, app: ASGIApp, *, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = BodyTooLarge(f"请求内容过大（不超过 {max(1, self.max_bytes // 1024)} KB）")
        await error_response(exc)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or self.max_bytes <= 0
                or (scope.get("method") == "POST" and scope.get("path") in (UPLOAD_PATH, VERIFY_UPLOAD_PATH))):
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length:
            try:
                declared = int(length)
            except ValueError:
                declared = 0
            if declared > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        elif not _header(scope, b"transfer-encoding"):
            await self.app(scope, receive, send)  # no body
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def _receive() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return _receive

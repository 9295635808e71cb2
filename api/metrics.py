"""Prometheus text-format metrics, written by hand: request counters and a latency histogram per route."""
from __future__ import annotations

import threading
import time
from collections import defaultdict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _esc(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)  # (method, route, status)
        self.buckets: dict[tuple[str, str], list[int]] = {}  # (method, route) → counts per bucket (cumulative)
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.in_flight = 0
        self.started = time.time()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            key = (method, route)
            counts = self.buckets.setdefault(key, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.sums[key] += seconds
            self.counts[key] += 1

    def render(self, extra: dict[str, float] | None = None) -> str:
        lines = ["# HELP lawsearch_http_requests_total HTTP requests by method, route and status.",
                 "# TYPE lawsearch_http_requests_total counter"]
        with self._lock:
            for (m, r, s), n in sorted(self.requests.items()):
                lines.append(f'lawsearch_http_requests_total{{method="{_esc(m)}",route="{_esc(r)}",status="{s}"}} {n}')
            lines += ["# HELP lawsearch_http_request_duration_seconds Request latency by method and route.",
                      "# TYPE lawsearch_http_request_duration_seconds histogram"]
            for (m, r), counts in sorted(self.buckets.items()):
                labels = f'method="{_esc(m)}",route="{_esc(r)}"'
                for bound, n in zip(BUCKETS, counts):
                    lines.append(f'lawsearch_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {n}')
                lines.append(f'lawsearch_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} '
                             f'{self.counts[(m, r)]}')
                lines.append(f"lawsearch_http_request_duration_seconds_sum{{{labels}}} {self.sums[(m, r)]:.6f}")
                lines.append(f"lawsearch_http_request_duration_seconds_count{{{labels}}} {self.counts[(m, r)]}")
            lines += ["# HELP lawsearch_http_requests_in_flight Requests being served.",
                      "# TYPE lawsearch_http_requests_in_flight gauge", f"lawsearch_http_requests_in_flight {self.in_flight}",
                      "# HELP lawsearch_uptime_seconds Seconds since the app started.",
                      "# TYPE lawsearch_uptime_seconds gauge", f"lawsearch_uptime_seconds {time.time() - self.started:.3f}"]
        for name, value in (extra or {}).items():
            lines += [f"# TYPE {name} gauge", f"{name} {value}"]
        return "\n".join(lines) + "\n"


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return path
    p = scope.get("path", "")
    return "/static/*" if p.startswith("/static/") else "unmatched"


class MetricsMiddleware:
    """Pure ASGI middleware: times each HTTP request and counts it under its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        self.metrics.in_flight += 1
        try:
            await self.app(scope, receive, _send)
        finally:
            self.metrics.in_flight -= 1
            self.metrics.observe(scope.get("method", ""), _route_of(scope), status["code"], time.perf_counter() - t0)


SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                 b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                                 b"form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeadersMiddleware:
    """Adds CSP, nosniff, Referrer-Policy and X-Frame-Options to every HTTP response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, _send)

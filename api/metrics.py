"""/metrics through prometheus-client: requests and latency per route template, requests in flight, uptime, and
the index's size read when scraped. Each app has its own registry (tests build several apps in one process)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class IndexSize:
    """A collector: the index's article points and regulation versions, asked for at each scrape; nothing while
    there is no index to ask (the app is starting) or it cannot answer."""

    def __init__(self, counts: Callable[[], dict | None]):
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        try:
            c = self.counts()
        except Exception:  # noqa: BLE001 - a scrape reports what it can
            c = None
        if c:
            yield GaugeMetricFamily("lawsearch_index_points", "Article points in the index.", value=c.get("points", 0))
            yield GaugeMetricFamily("lawsearch_index_versions", "Regulation versions in the index.",
                                    value=c.get("versions", 0))


class Metrics:
    content_type = CONTENT_TYPE_LATEST  # of what render() writes

    def __init__(self, index_counts: Callable[[], dict | None] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("lawsearch_http_requests", "HTTP requests by method, route and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("lawsearch_http_request_duration_seconds", "Request latency by method and route.",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        self.in_flight = Gauge("lawsearch_http_requests_in_flight", "Requests being served.", registry=self.registry)
        started = time.time()
        uptime = Gauge("lawsearch_uptime_seconds", "Seconds since the app started.", registry=self.registry)
        uptime.set_function(lambda: time.time() - started)
        if index_counts is not None:
            self.registry.register(IndexSize(index_counts))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition format."""
        return generate_latest(self.registry)


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

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, _send)
        finally:
            self.metrics.in_flight.dec()
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

"""The FastAPI app: search, grounded Q&A, regulations, admin upload/delete/audit, health, metrics, the web page.

`create_app(settings, runtime=None, address=None)`: one Runtime per app, opened in the lifespan (Qdrant Edge allows
one process per index) unless an existing one is given (tests); a given runtime is not closed by the app. With
`address` (the URL `lawsearch serve` listens on), the app records it in the data directory while it holds the index,
so that the command line's read commands can go through it (`service.address`).

`worker_app()`: the app of one worker process of `lawsearch serve --workers N` (uvicorn starts it as a factory in
each worker): settings from the environment, and with the embedded index, a private read-only copy of it
(`service.replicas`) named by `REPLICAS_ENV` (no address is recorded: the data directory's own index stays free).
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from api import errors
from api.audit import AuditLog
from api.limits import BodyLimitMiddleware, RateLimiter, RateLimitMiddleware
from api.metrics import Metrics, MetricsMiddleware, SecurityHeadersMiddleware
from api.routes import feedback, outreach, regulations, search, verification
from service.address import remove_address, write_address
from service.runtime import Runtime
from service.wording import retrieval_words

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
REPLICAS_ENV = "LAWSEARCH_SERVE_REPLICAS"  # set by `lawsearch serve --workers N` for its worker processes


def build_composer(settings, runtime):
    from search.answer import AnswerComposer, make_generator

    generator = None
    if getattr(settings, "llm_base_url", None):
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        generator = make_generator(settings.llm_base_url, settings.llm_model, key)
    return AnswerComposer(runtime.search, runtime.index, generator=generator)


def attach_runtime(app: FastAPI, runtime) -> None:
    app.state.runtime = runtime
    app.state.composer = build_composer(app.state.settings, runtime)


def _warm(rt) -> None:
    try:
        info = rt.warm(freeze_gc=True)
        log.info("search warmed up: %s re-ranking rows in %.1f s", info["rows"], info["seconds"])
    except Exception:  # warming is an optimisation: a failure must not take the server down
        log.warning("search warm-up failed", exc_info=True)


def create_app(settings, runtime=None, address: str | None = None, *, replicas: Path | None = None) -> FastAPI:
    """`replicas`: the folder of index copies made by `service.replicas.prepare_replicas`; the app then claims one
    of them and serves it read-only (admin uploads and deletions answer 503 `read_only`)."""
    owned = runtime is None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        warming = None
        if owned:
            if replicas is not None:
                from service.replicas import claim_replica

                rt = Runtime.open(settings, replica=claim_replica(replicas))
            else:
                rt = Runtime.open(settings)
            attach_runtime(app, rt)
            if address and not settings.qdrant_url:
                try:
                    write_address(settings.data_dir, address)
                except OSError:  # the command line then cannot reach this server; serving goes on
                    log.warning("could not record the server address in %s", settings.data_dir, exc_info=True)
            # The first searches would otherwise read the re-ranking fields of their candidates from disk (≈5 s
            # for a 150k-article index spread over the first queries); the server answers meanwhile.
            warming = threading.Thread(target=_warm, args=(rt,), name="lawsearch-warm", daemon=True)
            warming.start()
        try:
            yield
        finally:
            if warming is not None:
                warming.join()  # the store must not close under a running scroll
            if owned and getattr(app.state, "runtime", None) is not None:
                if address and not settings.qdrant_url:
                    remove_address(settings.data_dir)
                app.state.runtime.close()
                app.state.runtime = None

    app = FastAPI(title="lawsearch 法规知识检索", version="0.1.0", lifespan=lifespan,
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.state.runtime = None
    app.state.composer = None
    app.state.audit = AuditLog(Path(settings.data_dir) / "audit.log")
    app.state.metrics = Metrics(index_counts=lambda: app.state.runtime.index.counts() if app.state.runtime else None)
    if runtime is not None:
        attach_runtime(app, runtime)

    errors.install(app)
    # Innermost first: the limits answer inside CORS (a browser can read a 429/413) and the metrics count them.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_kb * 1024)
    app.state.rate_limits = {"read": RateLimiter(settings.rate_limit_per_minute),
                             "heavy": RateLimiter(settings.rate_limit_heavy_per_minute)}
    app.add_middleware(RateLimitMiddleware, read=app.state.rate_limits["read"],
                       heavy=app.state.rate_limits["heavy"], api_keys=settings.api_keys or {})
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["X-API-Key", "Content-Type"])
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)

    app.include_router(search.router)
    app.include_router(regulations.router)
    app.include_router(outreach.router)
    app.include_router(feedback.router)
    app.include_router(verification.router)

    @app.get("/healthz", tags=["ops"])
    def healthz(request: Request):
        rt = request.app.state.runtime
        if rt is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            modes = rt.retrieval_modes()
            counts = rt.index.counts()
            regs = len({r["regulation_id"] for r in rt.index.regulations()})
        except Exception:  # noqa: BLE001 - report, don't raise
            log.exception("health check failed")
            return JSONResponse({"status": "error", "message": "索引不可用"}, status_code=503)
        active = [f"sparse: BM25 ({'+'.join(modes.get('sparse') or [])})", f"dense: {modes.get('dense')}"
                  if not str(modes.get("dense", "")).startswith("dense:") else str(modes.get("dense"))]
        if modes.get("encoder"):
            active.append(modes["encoder"])
        return {"status": "ok", "backend": modes.get("backend"), "retrieval": active,
                "description": modes.get("description"), "retrieval_label": retrieval_words(modes.get("description")),
                "counts": dict(counts, regulations=regs),
                "answer": "generated+verified" if rt and request.app.state.composer.generator is not None
                else "extractive"}

    @app.get("/metrics", tags=["ops"])
    def metrics(request: Request):
        m = request.app.state.metrics
        return Response(m.render(), media_type=m.content_type)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def index_page():
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def worker_app() -> FastAPI:
    """The app of one worker of a multi-process server (see the module docstring)."""
    from corpus.settings import Settings

    replicas = os.environ.get(REPLICAS_ENV)
    return create_app(Settings(), replicas=Path(replicas) if replicas else None)


__all__ = ["REPLICAS_ENV", "attach_runtime", "build_composer", "create_app", "worker_app"]

"""Request dependencies: the app's runtime, settings, audit log, answer composer, and API-key roles."""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Request

from api.audit import AuditLog, key_id
from api.errors import Forbidden, Unauthorized
from corpus.errors import BackendUnavailable

API_KEY_HEADER = "X-API-Key"


@dataclass
class Caller:
    key_id: str
    role: str  # "admin" | "reader" | "" (no key)
    client: str | None = None


def runtime_of(request: Request):
    """The app's runtime; 503 (in Chinese) while the server is still starting."""
    rt = getattr(request.app.state, "runtime", None)
    if rt is None:
        raise BackendUnavailable("检索服务尚未就绪，请稍后再试")
    return rt


async def get_runtime(request: Request):
    # async: a route that runs on the event loop (GET /api/search) then gets it without a worker thread's hop
    return runtime_of(request)


def get_settings(request: Request):
    return request.app.state.settings


def get_audit(request: Request) -> AuditLog:
    return request.app.state.audit


def get_composer(request: Request):
    runtime_of(request)
    return request.app.state.composer


def role_of(keys: dict[str, str], given: str) -> str | None:
    """The role of `given`, comparing against every configured key in constant time."""
    role = None
    for key, r in keys.items():
        if hmac.compare_digest(key.encode("utf-8"), given.encode("utf-8")):
            role = r
    return role


def identify(request: Request) -> Caller:
    given = request.headers.get(API_KEY_HEADER, "")
    client = request.client.host if request.client else None
    if not given:
        return Caller(key_id="anonymous", role="", client=client)
    role = role_of(request.app.state.settings.api_keys or {}, given)
    return Caller(key_id=key_id(given), role=role or "", client=client)


def require_role(role: str):
    """A dependency: the caller must present a known key with `role` (admin passes every role check)."""

    def _check(request: Request) -> Caller:
        caller = identify(request)
        audit: AuditLog = request.app.state.audit
        action = f"{request.method} {request.scope.get('route').path if request.scope.get('route') else request.url.path}"
        if not caller.role:
            audit.record(who=caller.key_id, role=None, action=action, result="denied: unauthorized",
                         target=request.url.path, client=caller.client)
            raise Unauthorized("需要有效的 API 密钥（请求头 X-API-Key）")
        if role == "admin" and caller.role != "admin":
            audit.record(who=caller.key_id, role=caller.role, action=action, result="denied: forbidden",
                         target=request.url.path, client=caller.client)
            raise Forbidden("该密钥没有管理员权限")
        return caller

    return _check


require_admin = require_role("admin")

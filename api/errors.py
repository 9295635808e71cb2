"""The one error mapping of the API: every error becomes {code, message, detail} with a Chinese message.

`LawSearchError` (and subclasses) carry their own HTTP status (`exc.http_status`), stable code and message.
Request validation errors, unknown routes and unexpected exceptions are mapped here too. Bodies never contain
stack traces or file-system paths.
"""
from __future__ import annotations

import json
import logging
import re
from functools import cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from corpus.errors import FileTooLarge, LawSearchError, UnsupportedFileType

log = logging.getLogger(__name__)

# Absolute POSIX or Windows paths of two or more components: replaced by their last component.
_PATH = re.compile(r"(?:[A-Za-z]:\\|/)(?:[^\s/\\:*?\"<>|，。；（）()]+[/\\])+(?P<name>[^\s/\\:*?\"<>|，。；（）()]*)")


class Unauthorized(LawSearchError):
    code = "unauthorized"
    http_status = 401


class Forbidden(LawSearchError):
    code = "forbidden"
    http_status = 403


class BadRequest(LawSearchError):
    code = "bad_request"
    http_status = 400


class TooManyFiles(FileTooLarge):
    code = "too_many_files"
    http_status = 413


class UploadTooLarge(FileTooLarge):
    code = "file_too_large"
    http_status = 413


class UploadTypeRejected(UnsupportedFileType):
    code = "unsupported_type"
    http_status = 415


class BodyTooLarge(LawSearchError):
    code = "payload_too_large"
    http_status = 413


class TooManyRequests(LawSearchError):
    code = "too_many_requests"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, **kw):
        self.retry_after = retry_after
        super().__init__(message, **kw)


_STATUS_MESSAGES = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthorized", "需要有效的 API 密钥"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "未找到请求的资源"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "上传内容超过大小上限"),
    415: ("unsupported_type", "不支持的文件类型"),
    422: ("invalid_request", "请求参数不正确"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}


class ErrorBody(BaseModel):
    """What every error answer carries (documented in the OpenAPI schema for the statuses in ERROR_RESPONSES)."""

    code: str = Field(description="stable machine-readable code, e.g. invalid_request, not_found, too_many_requests")
    message: str = Field(description="中文说明，可直接展示给用户")
    detail: str = Field("", description="technical detail (never a stack trace or a server path)")
    candidates: list[str] | None = Field(None, description="for an ambiguous title (409): the regulations it may mean")
    files: list[dict] | None = Field(None, description="for an upload refused as a whole: each file and its reason")


def documented(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


#: The error answers any /api route may give; routers pass these to FastAPI so that generated clients see the
#: real {code, message, detail} shape (FastAPI would otherwise document its own 422 body, which this API never sends).
ERROR_RESPONSES: dict[int | str, dict] = {
    400: documented("请求不正确（如筛选条件、日期格式）"),
    404: documented("未找到法规、版本或条文"),
    409: documented("法规名称有歧义，candidates 列出可能的法规"),
    413: documented("请求体或上传文件超过上限"),
    422: documented("请求参数不正确"),
    429: documented("请求过于频繁（响应头 Retry-After 给出等待秒数）"),
    503: documented("检索服务尚未就绪或索引不可用"),
}
#: Added for the routes that take an API key.
AUTH_RESPONSES: dict[int | str, dict] = {
    401: documented("缺少或无效的 API 密钥（请求头 X-API-Key）"),
    403: documented("该密钥没有管理员权限"),
}


def scrub(text: str) -> str:
    """Remove file-system paths (keep the file name) from text shown to clients."""
    return _PATH.sub(lambda m: m.group("name"), str(text or ""))


def error_body(code: str, message: str, detail: str = "") -> dict:
    return {"code": code, "message": message, "detail": scrub(detail)}


def error_response(exc: LawSearchError) -> JSONResponse:
    status = int(getattr(exc, "http_status", 500) or 500)
    body = error_body(exc.code, exc.message, exc.detail)
    if getattr(exc, "candidates", None):
        body["candidates"] = list(exc.candidates)
    if getattr(exc, "files", None):
        body["files"] = list(exc.files)
    headers = {"WWW-Authenticate": "X-API-Key"} if status == 401 else {}
    if getattr(exc, "retry_after", None):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 413:  # the rest of the body is not read: the connection cannot carry another request
        headers["Connection"] = "close"
    return JSONResponse(body, status_code=status, headers=headers or None)


def domain_error(exc: BaseException) -> LawSearchError | None:
    """The LawSearchError behind a wrapped exception (its __cause__/__context__ chain), if any."""
    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, LawSearchError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


VALIDATION_WORDING = Path(__file__).resolve().parent / "data" / "validation.json"


@cache
def validation_wording() -> dict:
    return json.loads(VALIDATION_WORDING.read_text(encoding="utf-8"))


def validation_message(errors: list[dict]) -> str:
    """Pydantic's validation errors as one Chinese sentence naming each field: 查询内容（q）最多 500 个字符，现有 612 个."""
    words = validation_wording()
    parts = []
    for err in errors[:5]:
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path", "header")]
        name = loc[-1] if loc and not loc[-1].isdigit() else (loc[-2] if len(loc) > 1 else "")
        field = f"{words['fields'].get(name, name)}（{'.'.join(loc)}）" if name else words["fields"]["body"]
        ctx = dict(err.get("ctx") or {})
        if isinstance(err.get("input"), str | list):
            ctx.setdefault("actual", len(err["input"]))
        ctx["expected"] = str(ctx.get("expected", "")).replace("' or '", "、").replace("', '", "、").strip("'")
        template = words["types"].get(err.get("type", ""), words["general"])
        try:
            parts.append(field + template.format(**ctx))
        except (KeyError, IndexError, ValueError):
            parts.append(field + words["general"])
    return "；".join(parts) or words["general"]


def install(app: FastAPI) -> None:
    @app.exception_handler(LawSearchError)
    async def _lawsearch(request: Request, exc: LawSearchError):
        if exc.http_status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return JSONResponse(error_body("invalid_request", f"请求参数不正确：{validation_message(exc.errors())}"),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code, message = _STATUS_MESSAGES.get(exc.status_code, ("error", "请求失败"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found",) else ""
        return JSONResponse(error_body(code, message, detail), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def _wrapped(request: Request, exc: Exception):
        inner = domain_error(exc)
        if inner is not None:
            return error_response(inner)
        log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
        return JSONResponse(error_body("internal_error", "服务器内部错误，请稍后重试"), status_code=500)

    try:  # errors raised inside Haystack pipeline components arrive wrapped
        from haystack.core import errors as hs_errors

        for name in ("PipelineError", "PipelineRuntimeError", "PipelineComponentsBlockedError"):
            if hasattr(hs_errors, name):
                app.add_exception_handler(getattr(hs_errors, name), _wrapped)
    except ImportError:  # pragma: no cover - haystack is a dependency
        pass

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        inner = domain_error(exc)
        if inner is not None:  # e.g. raised inside a Haystack pipeline component and wrapped by it
            return error_response(inner)
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "服务器内部错误，请稍后重试"), status_code=500)

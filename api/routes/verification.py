"""新旧对照 and 引用核验: GET /api/compare, POST /api/verify (text), POST /api/verify/file (a TXT/MD/DOCX/PDF/HTML
document, multipart)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import get_runtime
from api.errors import ERROR_RESPONSES, UploadTooLarge, documented
from api.uploads import EXTENSIONS, MB, check
from corpus.errors import NotFound
from service.verification import check_file, check_text, compare

router = APIRouter(prefix="/api", tags=["verification"], responses=ERROR_RESPONSES)
MAX_TEXT_CHARS = 20_000  # a JSON body stays under the request body cap


@router.get("/compare")
def compare_versions(regulation: str = Query(..., min_length=1, max_length=100,
                                             description="法规名称、简称或法规 ID（reg-…）"),
                     from_date: str | None = Query(None, alias="from", max_length=10,
                                                   description="旧版本的版本日期（YYYY-MM-DD）或年份；默认上一版本"),
                     to_date: str | None = Query(None, alias="to", max_length=10,
                                                 description="新版本的版本日期或年份；默认现行版本"),
                     runtime=Depends(get_runtime)) -> dict:
    title = regulation
    if regulation.startswith("reg-"):
        recs = runtime.index.version_records(regulation)
        if not recs:
            raise NotFound("未找到该法规", detail=regulation)
        title = recs[0].get("title") or regulation
    return compare(runtime, title, from_date=from_date, to_date=to_date)


class VerifyRequest(BaseModel):
    text: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS, description="待核验的文字")
    as_of: str | None = Field(None, max_length=10, description="文件日期 YYYY-MM-DD：按当时有效的版本核验")


@router.post("/verify")
def verify(body: VerifyRequest, runtime=Depends(get_runtime)) -> dict:
    return check_text(runtime, body.text, as_of=body.as_of)


@router.post("/verify/file", responses={413: documented("文件过大"), 415: documented("不支持的文件类型")})
async def verify_file(request: Request, file: UploadFile = File(..., description="TXT、Markdown、Word（.docx）、PDF 或 HTML"),
                      as_of: str | None = Form(None, max_length=10), runtime=Depends(get_runtime)) -> dict:
    settings = request.app.state.settings
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > (settings.max_upload_mb + 1) * MB:
        raise UploadTooLarge(f"文件超过大小上限（不超过 {settings.max_upload_mb} MB）")
    name = (file.filename or "").replace("\\", "/").split("/")[-1] or "document"
    checked = check(file.file, name, max_mb=settings.max_upload_mb)
    with tempfile.TemporaryDirectory(prefix="lawsearch-verify-") as tmp:
        path = Path(tmp) / ("document" + EXTENSIONS[checked.kind])
        file.file.seek(0)
        path.write_bytes(file.file.read())
        report = await run_in_threadpool(check_file, runtime, path, as_of=as_of)
    report["file"] = name
    return report

"""GET /api/outreach: the 普法责任清单 of an enforcing agency (json, md, html for printing, docx)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from api.deps import get_runtime
from api.errors import ERROR_RESPONSES
from outreach import build_outreach, to_docx, to_html, to_markdown

router = APIRouter(prefix="/api", tags=["outreach"], responses=ERROR_RESPONSES)
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/outreach")
def outreach(agency: str = Query(..., min_length=1, max_length=40, description="执法部门，如 应急管理"),
             region: str | None = Query(None, max_length=40, description="地区，如 徐州市（含所在省和全国）"),
             format: str = Query("json", pattern="^(json|md|html|docx)$", description="json、md、html（可打印）或 docx"),
             runtime=Depends(get_runtime)):
    doc = build_outreach(runtime.index, agency, region=region)
    if format == "md":
        return PlainTextResponse(to_markdown(doc), media_type="text/markdown; charset=utf-8")
    if format == "html":
        return HTMLResponse(to_html(doc))
    if format == "docx":
        name = quote(f"{doc['region'] or ''}{doc['agency']}普法责任清单.docx")
        return Response(to_docx(doc), media_type=DOCX_TYPE,
                        headers={"Content-Disposition": f"attachment; filename=outreach.docx; filename*=UTF-8''{name}"})
    return JSONResponse(doc)

"""GET /api/outreach: the 普法责任清单 of an enforcing agency (json, md, html for printing, the page's fragment,
docx); GET/PUT/DELETE /api/outreach/fields: the list's own fields (责任单位, 普法对象, 普法方式, 重要时间节点,
完成标准), defaults from the agency data file, edited by an admin and kept in the data directory."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from api.audit import AuditLog
from api.deps import Caller, get_audit, get_runtime, get_settings, require_admin
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES
from corpus.errors import LawSearchError
from outreach import FieldStore, agency_name, build_outreach, to_docx, to_fragment, to_html, to_markdown
from outreach.fields import default_fields
from outreach.render import PRINT_CSS

router = APIRouter(prefix="/api", tags=["outreach"], responses=ERROR_RESPONSES)
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
AGENCY = Query(..., min_length=1, max_length=40, description="执法部门，如 应急管理、市场监管、人社、城管")
REGION = Query(None, max_length=40, description="地区，如 徐州市（含所在省和全国）")


def get_field_store(settings=Depends(get_settings)) -> FieldStore:
    return FieldStore(settings.data_dir)


@router.get("/outreach")
def outreach(agency: str = AGENCY, region: str | None = REGION,
             format: str = Query("json", pattern="^(json|md|html|fragment|docx)$",
                                 description="json、md、html（可打印）、fragment（页面内嵌）或 docx"),
             runtime=Depends(get_runtime), store: FieldStore = Depends(get_field_store)):
    doc = build_outreach(runtime.index, agency, region=region, store=store)
    if format == "md":
        return PlainTextResponse(to_markdown(doc), media_type="text/markdown; charset=utf-8")
    if format == "html":
        return HTMLResponse(to_html(doc))
    if format == "fragment":
        return HTMLResponse(to_fragment(doc))
    if format == "docx":
        name = quote(f"{doc['region'] or ''}{doc['agency']}普法责任清单.docx")
        return Response(to_docx(doc), media_type=DOCX_TYPE,
                        headers={"Content-Disposition": f"attachment; filename=outreach.docx; filename*=UTF-8''{name}"})
    return JSONResponse(doc)


@router.get("/outreach/print.css", include_in_schema=False)
def print_css() -> Response:
    """The list's stylesheet (screen and print), for served pages and the page's fragment."""
    return Response(PRINT_CSS.read_text(encoding="utf-8"), media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


def _fields(agency: str, region: str | None, store: FieldStore) -> dict[str, Any]:
    region = (region or "").strip() or None
    overrides = store.get(agency, region)
    return {"agency": agency, "region": region, "fields": {**default_fields(agency, region), **overrides},
            "edited": sorted(overrides)}


@router.get("/outreach/fields")
def read_fields(agency: str = AGENCY, region: str | None = REGION,
                store: FieldStore = Depends(get_field_store)) -> dict:
    """The list's fields for an agency and region: the data file's defaults with an admin's edits (`edited`)."""
    return _fields(agency_name(agency), region, store)


@router.put("/outreach/fields", responses=AUTH_RESPONSES)
def edit_fields(agency: str = AGENCY, region: str | None = REGION,
                fields: dict[str, Any] = Body(..., embed=True, description="要修改的字段，如 {\"audience\": \"…\"}"),
                caller: Caller = Depends(require_admin), audit: AuditLog = Depends(get_audit),
                store: FieldStore = Depends(get_field_store)) -> dict:
    """An admin edits some of the list's fields (the others keep their defaults); kept in the data directory."""
    name = agency_name(agency)
    region = (region or "").strip() or None
    try:
        store.put(name, region, fields)
    except LawSearchError as exc:
        audit.record(who=caller.key_id, role=caller.role, action="edit outreach fields",
                     target=f"{name} {region or ''}".strip(), result=f"failed: {exc.code}",
                     client=caller.client)
        raise
    audit.record(who=caller.key_id, role=caller.role, action="edit outreach fields",
                 target=f"{name} {region or ''}".strip(), result="ok", detail={"fields": sorted(fields)},
                 client=caller.client)
    return _fields(name, region, store)


@router.delete("/outreach/fields", responses=AUTH_RESPONSES)
def reset_fields(agency: str = AGENCY, region: str | None = REGION, caller: Caller = Depends(require_admin),
                 audit: AuditLog = Depends(get_audit), store: FieldStore = Depends(get_field_store)) -> dict:
    """Back to the data file's defaults."""
    name = agency_name(agency)
    region = (region or "").strip() or None
    store.reset(name, region)
    audit.record(who=caller.key_id, role=caller.role, action="reset outreach fields",
                 target=f"{name} {region or ''}".strip(), result="ok", client=caller.client)
    return _fields(name, region, store)

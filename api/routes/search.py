"""GET /api/search and POST /api/ask."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import get_composer, get_runtime
from api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api", tags=["search"], responses=ERROR_RESPONSES)


def search_filters(region: str | None, level: str | None, status: str | None, agency: str | None,
                   as_of: str | None, regulation: str | None, all_versions: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (("region", region), ("level", level), ("status", status), ("agency", agency),
                       ("as_of", as_of), ("regulation", regulation)):
        if value is not None and str(value).strip():
            out[key] = str(value).strip()
    if all_versions:
        out["all_versions"] = True
    return out


@router.get("/search")
def search(q: str = Query(..., min_length=1, max_length=500, description="查询：问题、关键词或条文引用"),
           top_k: int = Query(10, ge=1, le=100),
           region: str | None = None, level: str | None = None, status: str | None = None,
           agency: str | None = None, as_of: str | None = Query(None, description="YYYY-MM-DD"),
           regulation: str | None = None, all_versions: bool = False,
           runtime=Depends(get_runtime)) -> dict:
    filters = search_filters(region, level, status, agency, as_of, regulation, all_versions)
    result = runtime.search(q, top_k=top_k, filters=filters)
    result["filters"] = filters
    return result


class AskFilters(BaseModel):
    region: str | None = None
    level: str | None = None
    status: str | None = None
    agency: str | None = None
    as_of: str | None = None
    regulation: str | None = None
    all_versions: bool = False


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=500)
    filters: AskFilters | None = None


@router.post("/ask")
def ask(body: AskRequest, composer=Depends(get_composer)) -> dict:
    f = body.filters or AskFilters()
    filters = search_filters(f.region, f.level, f.status, f.agency, f.as_of, f.regulation, f.all_versions)
    return composer.answer(body.question, filters).to_dict()

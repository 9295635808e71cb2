"""Feedback on results: anyone may mark the article that answered a question, or "none of these"; an admin reviews
the entries and exports the accepted ones; `lawsearch train` learns from them."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from api.audit import AuditLog
from api.deps import Caller, get_audit, get_runtime, require_admin
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES

router = APIRouter(prefix="/api", tags=["feedback"], responses=ERROR_RESPONSES)


class ArticleRef(BaseModel):
    title: str = Field(..., min_length=1, max_length=200)
    article_no: int = Field(..., ge=1, le=99_999)
    article_suffix: str = Field("", max_length=8)


class FeedbackBody(BaseModel):
    question: str = Field(..., min_length=1, max_length=500, description="所问的问题")
    article: ArticleRef | None = Field(None, description="回答了问题的条文；不填＝“都不是”")
    shown: list[ArticleRef] = Field(default_factory=list, max_length=50, description="当时展示的条文")
    filters: dict[str, str | bool] = Field(default_factory=dict)


class ReviewBody(BaseModel):
    accept: bool = Field(..., description="true＝采纳（用于训练），false＝不采纳")


@router.post("/feedback", status_code=201)
def give_feedback(body: FeedbackBody, runtime=Depends(get_runtime)) -> dict:
    entry = runtime.feedback.add(body.question, body.article.model_dump() if body.article else None,
                                 shown=[a.model_dump() for a in body.shown], filters=body.filters)
    return {"id": entry.id, "message": "感谢反馈，管理员审核后将用于改进检索"}


@router.get("/feedback", responses=AUTH_RESPONSES)
def list_feedback(status: Literal["pending", "accepted", "rejected"] | None = Query(None),
                  caller: Caller = Depends(require_admin), runtime=Depends(get_runtime)) -> dict:
    entries = runtime.feedback.entries(status)
    return {"entries": [e.__dict__ for e in entries], "retention_days": runtime.feedback.retention_days}


@router.post("/feedback/{entry_id}/review", responses=AUTH_RESPONSES)
def review_feedback(entry_id: str, body: ReviewBody, caller: Caller = Depends(require_admin),
                    audit: AuditLog = Depends(get_audit), runtime=Depends(get_runtime)) -> dict:
    entry = runtime.feedback.review(entry_id, accept=body.accept, reviewer=caller.key_id)
    audit.record(who=caller.key_id, role=caller.role, action="review feedback", target=entry_id,
                 result=entry.status, client=caller.client)
    return entry.__dict__


@router.get("/feedback/export", responses=AUTH_RESPONSES, response_class=PlainTextResponse)
def export_feedback(caller: Caller = Depends(require_admin), audit: AuditLog = Depends(get_audit),
                    runtime=Depends(get_runtime)) -> PlainTextResponse:
    text = runtime.feedback.export()
    audit.record(who=caller.key_id, role=caller.role, action="export feedback", result="ok",
                 detail={"questions": text.count("\n")}, client=caller.client)
    return PlainTextResponse(text, media_type="application/x-ndjson; charset=utf-8")

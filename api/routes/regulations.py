"""Regulations: list, one regulation with its versions, one article with its chapter and links; admin upload
and delete."""
from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.audit import AuditLog, describe
from api.deps import Caller, get_audit, get_runtime, require_admin
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, BadRequest, TooManyFiles, UploadTooLarge, documented, scrub
from api.uploads import MB, CheckedFile, check, rejected, safe_name, store
from corpus.articles import ArticleRecord, group_articles
from corpus.errors import InvalidFilter, LawSearchError, NotFound
from corpus.index import FAR_FUTURE, date_int
from corpus.numerals import article_label, label_prefix, parse_article_number, parse_label
from corpus.store import Condition, FilterSpec
from corpus.titles import normalize_title
from service.listing import own_effective_date, regulation_order

router = APIRouter(prefix="/api", tags=["regulations"], responses=ERROR_RESPONSES)

VERSION_FIELDS = ("regulation_id", "version_id", "title", "short_title", "level", "region", "office", "status",
                  "version_date", "effective_date", "publish_date", "adopted_date", "amended_date", "is_current",
                  "superseded_by", "valid_from", "valid_to", "article_count", "history", "agencies", "first_effective_date",
                  "source_format", "has_articles", "sha256", "ingested_at")
ARTICLE_FIELDS = ("regulation_id", "version_id", "title", "short_title", "article_no", "article_suffix", "label",
                  "headings", "text", "clauses", "level", "region", "version_date", "effective_date", "status",
                  "is_current", "superseded_by", "agencies", "is_penalty", "kind", "citation")
ARTICLE_NO_MAX = 2**63 - 1  # the index stores article numbers as 64-bit integers: none lies beyond


def public_version(rec: dict) -> dict:
    out = {k: rec.get(k) for k in VERSION_FIELDS if k in rec}
    out["own_effective_date"] = own_effective_date(rec)
    if rec.get("warnings"):
        out["warnings"] = [scrub(w) for w in rec["warnings"]]
    return out


def _versions(runtime, regulation_id: str) -> list[dict]:
    recs = runtime.index.version_records(regulation_id)
    if not recs:
        raise NotFound("未找到该法规", detail=regulation_id)
    recs.sort(key=lambda r: (r.get("version_date") or "", r.get("ingested_at") or 0.0))
    return recs


def choose_edition(recs: list[dict], *, version_id: str | None, as_of: str | None) -> list[dict]:
    """The version records of one edition (same version date: one text, or the volumes of one code such as
    民法典): the one holding `version_id`, the one in force on `as_of`, or the current one."""
    def edition_of(rec: dict) -> list[dict]:
        return [r for r in recs if (r.get("version_date") or "") == (rec.get("version_date") or "")]

    if version_id:
        found = [r for r in recs if r["version_id"] == version_id]
        if not found:
            raise NotFound("未找到该版本", detail=version_id)
        return edition_of(found[0])
    if as_of:
        day = date_int(as_of)
        if day is None or not re.match(r"^\d{4}-\d{2}-\d{2}$", as_of):
            raise InvalidFilter("日期格式应为 YYYY-MM-DD", detail=as_of)
        found = [r for r in recs if (r.get("valid_from") or 0) <= day < (r.get("valid_to") or FAR_FUTURE)]
        if not found:
            raise NotFound("该法规在指定日期没有有效版本", detail=as_of)
        return edition_of(found[-1])
    current = [r for r in recs if r.get("is_current")]
    return edition_of((current or recs)[-1])


def edition_points(runtime, edition: list[dict]) -> list:
    """All article points of an edition, in article order (volumes interleave by article number)."""
    points = [h for rec in edition for h in runtime.index.version_articles(rec["version_id"])]
    points.sort(key=lambda h: (h.payload.get("kind", "article") != "article", h.payload.get("article_no", 0),
                               h.payload.get("article_suffix", ""), h.payload.get("part", 0)))
    return points


def _merge(parts: list) -> dict:
    return ArticleRecord.from_parts(parts).fields(ARTICLE_FIELDS)


def _grouped(points: list) -> list[dict]:
    """Version points (sorted by article and part) → one dict per article."""
    return [rec.fields(ARTICLE_FIELDS) for rec in group_articles(points)]


@router.get("/regulations")
def list_regulations(q: str | None = Query(None, max_length=100), level: str | None = None,
                     region: str | None = None,
                     all_versions: bool = Query(False, description="每个版本一行（默认每部法规一行，取现行版本）"),
                     runtime=Depends(get_runtime)) -> dict:
    """Regulations in listing order: the home region's first, then its province's, then national law."""
    rows = runtime.index.regulations()
    by_reg: dict[str, list[dict]] = {}
    for r in rows:
        by_reg.setdefault(r["regulation_id"], []).append(r)
    out = []
    key = normalize_title(q) if q else ""
    for recs in by_reg.values():
        recs.sort(key=lambda r: (r.get("version_date") or "", r.get("ingested_at") or 0.0))
        cur = next((r for r in reversed(recs) if r.get("is_current")), recs[-1])
        if key and key not in (cur.get("title_key") or normalize_title(cur.get("title") or "")):
            continue
        if level and cur.get("level") != level:
            continue
        if region and cur.get("region") != region:
            continue
        if all_versions:
            out.extend(public_version(r) for r in recs)
            continue
        item = public_version(cur)
        item["current_version_id"] = cur["version_id"]
        edition = [r for r in recs if (r.get("version_date") or "") == (cur.get("version_date") or "")]
        item["versions"] = len({r.get("version_date") or "" for r in recs})
        if len(edition) > 1:  # a code in several volumes: count the whole edition
            item["volumes"] = len(edition)
            item["article_count"] = sum(r.get("article_count") or 0 for r in edition)
        out.append(item)
    out = regulation_order(out, runtime.home_region)
    return {"total": len(out), "regulations": out}


@router.get("/article")
def article_by_title(title: str = Query(..., min_length=1, max_length=200, description="法规名称或简称"),
                     article: str = Query(..., min_length=1, max_length=20, description="条号，如 20、第二十条、21之一"),
                     as_of: str | None = Query(None, description="YYYY-MM-DD：该日有效的版本"),
                     runtime=Depends(get_runtime)) -> dict:
    """One article by the regulation's title (what `lawsearch article` asks): the current version's, or the one in
    force on `as_of`; an ambiguous title answers 409 with the candidates."""
    no, suffix = parse_article_number(article)
    rec, parts = runtime.index.article(title, no, suffix, as_of=as_of)
    return {"regulation": public_version(rec), "article": _merge(parts)}


@router.get("/regulations/{regulation_id}")
def get_regulation(regulation_id: str, version_id: str | None = None, as_of: str | None = None,
                   runtime=Depends(get_runtime)) -> dict:
    recs = _versions(runtime, regulation_id)
    edition = choose_edition(recs, version_id=version_id, as_of=as_of)
    chosen = next((r for r in edition if r["version_id"] == version_id), edition[0])
    arts = _grouped(edition_points(runtime, edition))
    toc = [{"label": a.get("label"), "article_no": a.get("article_no"), "article_suffix": a.get("article_suffix") or "",
            "headings": a.get("headings") or [], "kind": a.get("kind"), "is_penalty": a.get("is_penalty"),
            "preview": (a.get("text") or "")[:60]} for a in arts]
    out = public_version(chosen)
    out["preamble"] = chosen.get("preamble") or ""
    out["versions"] = [public_version(r) for r in recs]
    out["edition"] = [r["version_id"] for r in edition]
    out["toc"] = toc
    return out


def _same_key(ref: dict, title_key: str, own_keys: set[str]) -> bool:
    t = normalize_title(ref.get("title") or "")
    return not t or t == title_key or t in own_keys


def _link(runtime, ref_title: str, label: str, here: dict) -> dict:
    """A link to an article by written title (empty = the same regulation) and label (第X条…)."""
    no, suffix = parse_label(label_prefix(label)) or (None, "")
    title, rid = here.get("title"), here.get("regulation_id")
    if ref_title and normalize_title(ref_title) != normalize_title(here.get("title") or ""):
        title, rid = ref_title, None
        try:
            found = {r["regulation_id"]: r for r in runtime.index.resolve_title(ref_title)}
        except Exception:  # noqa: BLE001 - a link without a target is still shown
            found = {}
        if len(found) == 1:
            rec = next(iter(found.values()))
            title, rid = rec.get("title"), rec["regulation_id"]
    return {"title": title, "regulation_id": rid, "article_no": no, "article_suffix": suffix,
            "label": label, "citation": f"《{title}》{label}"}


def article_links(runtime, art: dict, siblings: list[dict]) -> dict:
    """Penalty/duty links and references out of and into the article, from the enforcement payload."""
    enf = art.get("enforcement") or {}
    label = art.get("label") or article_label(art["article_no"], art.get("article_suffix") or "")
    links: dict[str, list[dict]] = {"penalized_by": [], "penalizes": [], "cites": [], "cited_by": []}
    for key, src in (("penalized_by", "penalized_by"), ("penalizes", "penalizes")):
        for lab in enf.get(src) or []:
            links[key].append(_link(runtime, "", lab, art))
    seen = set()
    for ref in enf.get("references_out") or []:
        lab = ref.get("label") or ref.get("article") or ""
        k = (normalize_title(ref.get("title") or ""), lab)
        if lab and k not in seen:
            seen.add(k)
            links["cites"].append(_link(runtime, ref.get("title") or "", lab, art))
    title_key = normalize_title(art.get("title") or "")
    for other in siblings:
        if other.get("label") == label:
            continue
        for ref in (other.get("enforcement") or {}).get("references_out") or []:
            if (ref.get("article") or "") == label and _same_key(ref, title_key, set()):
                links["cited_by"].append(_link(runtime, "", other.get("label") or "", art))
                break
    return links


@router.get("/regulations/{regulation_id}/articles/{article}")
def get_article(regulation_id: str, article: str, version_id: str | None = None, as_of: str | None = None,
                runtime=Depends(get_runtime)) -> dict:
    no, suffix = parse_article_number(article)
    recs = _versions(runtime, regulation_id)
    edition = choose_edition(recs, version_id=version_id, as_of=as_of)
    parts = [] if no > ARTICLE_NO_MAX else list(runtime.index.articles.scroll(FilterSpec(must=[
        Condition(field="version_id", any_of=sorted(r["version_id"] for r in edition)),
        Condition(field="article_no", eq=no), Condition(field="article_suffix", eq=suffix)])))
    parts = [p for p in parts if p.payload.get("kind", "article") == "article"] or parts
    if not parts:
        raise NotFound(f"《{edition[0].get('title')}》没有{article_label(no, suffix)}",
                       detail=f"{regulation_id} {article}")
    vid = parts[0].payload.get("version_id")
    parts = [p for p in parts if p.payload.get("version_id") == vid]
    chosen = next(r for r in edition if r["version_id"] == vid)
    art = _merge(parts)
    siblings = _grouped(edition_points(runtime, edition))
    headings = art.get("headings") or []
    chapter = [{"label": s.get("label"), "article_no": s.get("article_no"), "article_suffix": s.get("article_suffix") or "",
                "text": s.get("text"), "is_penalty": s.get("is_penalty"), "current": s.get("label") == art.get("label")}
               for s in siblings if (s.get("headings") or []) == headings and s.get("kind", "article") == "article"]
    labels = [s.get("label") for s in siblings if s.get("kind", "article") == "article"]
    pos = labels.index(art.get("label")) if art.get("label") in labels else -1
    nav = {"prev": labels[pos - 1] if pos > 0 else None,
           "next": labels[pos + 1] if 0 <= pos < len(labels) - 1 else None}
    # The same article in the other versions (by number), for the version switcher.
    other_versions, dates = [], set()
    for r in recs:  # one entry per edition (the volumes of a code share a version date)
        if (r.get("version_date") or "") in dates:
            continue
        dates.add(r.get("version_date") or "")
        other_versions.append({"version_id": vid if r in edition else r["version_id"],
                               "version_date": r.get("version_date"), "is_current": r.get("is_current"),
                               "status": r.get("status")})
    return {"article": art, "version": public_version(chosen), "versions": other_versions,
            "chapter": {"headings": headings, "articles": chapter}, "nav": nav,
            "links": article_links(runtime, art, siblings)}


# ---- admin ---------------------------------------------------------------------------------------------------
def _form_limits_error(exc: Exception, settings) -> LawSearchError:
    text = str(getattr(exc, "detail", "") or exc)
    if "Too many files" in text:
        return TooManyFiles(f"一次最多上传 {settings.max_upload_files} 个文件")
    if "exceeded maximum size" in text.lower() or "too large" in text.lower():
        return UploadTooLarge(f"文件超过大小上限（每个文件不超过 {settings.max_upload_mb} MB）")
    return BadRequest("上传内容格式不正确，请使用 multipart/form-data 上传文件")


# The form is parsed by hand (limits apply while it streams in), so FastAPI cannot infer it: documented here.
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"},
                             "description": "PDF、Word（.docx）、HTML、Markdown 或文本文件"}}}}}}}


@router.post("/regulations", status_code=200, openapi_extra=UPLOAD_BODY,
             responses={**AUTH_RESPONSES, 415: documented("不支持的文件类型")})
async def upload(request: Request, caller: Caller = Depends(require_admin), audit: AuditLog = Depends(get_audit),
                 runtime=Depends(get_runtime)) -> dict:
    settings = request.app.state.settings
    action = "upload"
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        length = 0
    budget = (settings.max_upload_files * settings.max_upload_mb + 1) * MB
    try:
        runtime.check_writable()  # a worker of a multi-process server holds a read-only copy of the index
        if length > budget:
            raise UploadTooLarge(f"上传内容超过上限（每个文件不超过 {settings.max_upload_mb} MB，"
                                 f"最多 {settings.max_upload_files} 个文件）")
        too_large = UploadTooLarge(f"上传内容超过上限（每个文件不超过 {settings.max_upload_mb} MB，"
                                   f"最多 {settings.max_upload_files} 个文件）")
        received = 0

        async def limited_receive():
            # A body without (or lying about) Content-Length is cut off here, not spooled to disk whole.
            nonlocal received
            message = await request.receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > budget:
                    raise too_large
            return message

        try:
            form = await Request(request.scope, limited_receive).form(max_files=settings.max_upload_files + 1,
                                                                       max_fields=50)
        except LawSearchError:
            raise
        except StarletteHTTPException as exc:
            raise _form_limits_error(exc, settings)
        except Exception as exc:  # noqa: BLE001 - multipart parser errors
            raise _form_limits_error(exc, settings)
        uploads = [v for k, v in form.multi_items() if hasattr(v, "filename") and hasattr(v, "file")]
        if not uploads:
            raise BadRequest("没有收到文件（表单字段 files）")
        if len(uploads) > settings.max_upload_files:
            raise TooManyFiles(f"一次最多上传 {settings.max_upload_files} 个文件", detail=str(len(uploads)))
    except LawSearchError as exc:
        audit.record(who=caller.key_id, role=caller.role, action=action, result=f"rejected: {exc.code}",
                     detail={"message": exc.message, "detail": scrub(exc.detail)}, client=caller.client,
                     message=describe(who=caller.key_id, role=caller.role, action=action,
                                      result=f"rejected: {exc.code}", reason=exc.message))
        raise

    # Each file on its own: those that pass the checks are imported, the others reported with their reason.
    checked: list[tuple[int, CheckedFile]] = []
    results: dict[int, dict] = {}
    first_error: LawSearchError | None = None
    for i, up in enumerate(uploads):
        shown = (up.filename or "").replace("\\", "/").split("/")[-1] or safe_name(up.filename or "", i)
        try:
            checked.append((i, check(up.file, shown, max_mb=settings.max_upload_mb)))
        except LawSearchError as exc:
            results[i] = rejected(shown, exc)
            first_error = first_error or exc
    if not checked:  # nothing to import: the request fails with the (first) reason, nothing is written
        for up in uploads:
            await up.close()
        names = "、".join(r["filename"] for r in results.values())
        audit.record(who=caller.key_id, role=caller.role, action=action, result=f"rejected: {first_error.code}",
                     detail={"message": first_error.message, "detail": scrub(first_error.detail),
                             "files": [_audit_file(r) for r in results.values()]}, client=caller.client,
                     message=describe(who=caller.key_id, role=caller.role, action=action, target=names,
                                      result=f"rejected: {first_error.code}", reason=first_error.message))
        first_error.files = [results[i] for i in range(len(uploads))]  # the error body reports each file too
        raise first_error

    upload_id, paths = store([f for _, f in checked], runtime.data_dir / "uploads")
    for (i, f), path in zip(checked, paths):
        results[i] = await run_in_threadpool(_ingest_one, runtime, f, path)
    for up in uploads:
        await up.close()
    files = [results[i] for i in range(len(uploads))]
    ok = sum(1 for r in files if r["ok"])
    outcome = "ok" if ok == len(files) else ("partial" if ok else "failed")
    audit.record(who=caller.key_id, role=caller.role, action=action, target=upload_id, result=outcome,
                 detail={"files": [_audit_file(r) for r in files]}, client=caller.client,
                 message=describe(who=caller.key_id, role=caller.role, action=action, result=outcome,
                                  target=f"{len(files)} 个文件",
                                  reason="；".join(_file_words(r) for r in files)))
    return {"upload_id": upload_id, "result": outcome, "files": files}


def _audit_file(r: dict) -> dict:
    return {"name": r["filename"], "ok": r["ok"], "regulations": r["regulations"],
            "errors": [e["code"] for e in r["errors"]]}


def _file_words(r: dict) -> str:
    """One file's outcome in Chinese, for the audit log: 《title》 imported, unchanged, or the reason it failed."""
    if r["ok"]:
        titles = "、".join(f"《{g['title']}》" for g in r["regulations"] if g.get("title"))
        return f"{r['filename']} {'内容未变化' if r['unchanged'] else '已导入'}{titles}"
    reasons = "，".join(e["message"] for e in r["errors"]) or "导入失败"
    return f"{r['filename']} 未导入：{reasons}"


def _ingest_one(runtime, f: CheckedFile, path) -> dict:
    import hashlib

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    base = {"filename": f.client_name, "stored_as": path.name, "type": f.kind, "size": f.size}
    try:
        summary = runtime.ingest([path], progress=False, train=False, yield_to_readers=True)  # searches go on
    except LawSearchError as exc:
        return dict(base, ok=False, regulations=[], articles=0, points=0, unchanged=False,
                    errors=[{"code": exc.code, "message": exc.message, "detail": scrub(exc.detail)}])
    errors = [{"code": e.get("code", "error"), "message": e.get("message", ""), "detail": scrub(e.get("detail", ""))}
              for e in summary.failed]
    regs = []
    try:
        rec = runtime.index.version_by_sha(sha)
    except Exception:  # noqa: BLE001
        rec = None
    if rec:
        regs.append({"regulation_id": rec["regulation_id"], "version_id": rec["version_id"], "title": rec.get("title"),
                     "is_current": rec.get("is_current"), "article_count": rec.get("article_count")})
    return dict(base, ok=not errors and bool(summary.regulations or summary.unchanged), regulations=regs,
                articles=summary.articles, points=summary.points, unchanged=bool(summary.unchanged),
                errors=errors)


@router.delete("/regulations/{regulation_id}", responses=AUTH_RESPONSES)
def delete_regulation(regulation_id: str, request: Request, version_id: str | None = None,
                      caller: Caller = Depends(require_admin), audit: AuditLog = Depends(get_audit),
                      runtime=Depends(get_runtime)) -> dict:
    target = version_id or regulation_id
    try:
        titles = {r.get("title") for r in runtime.index.version_records(regulation_id)} - {None, ""}
    except Exception:  # noqa: BLE001 - the title only words the audit entry
        titles = set()
    named = "、".join(f"《{t}》" for t in sorted(titles)) + f"（{target}）"
    try:
        runtime.check_writable()
        with runtime.write_lock:
            n = runtime.index.delete(regulation_id, version_id=version_id)
        runtime.engine.refresh()
    except LawSearchError as exc:
        audit.record(who=caller.key_id, role=caller.role, action="delete", target=target,
                     result=f"failed: {exc.code}", client=caller.client,
                     message=describe(who=caller.key_id, role=caller.role, action="delete", target=named,
                                      result=f"failed: {exc.code}", reason=exc.message))
        raise
    audit.record(who=caller.key_id, role=caller.role, action="delete", target=target, result="ok",
                 detail={"versions_deleted": n}, client=caller.client,
                 message=describe(who=caller.key_id, role=caller.role, action="delete", target=named, result="ok",
                                  reason=f"删除 {n} 个版本"))
    return {"regulation_id": regulation_id, "version_id": version_id, "versions_deleted": n}


@router.get("/audit", responses=AUTH_RESPONSES)
def read_audit(limit: int = Query(200, ge=1, le=5000), caller: Caller = Depends(require_admin),
               audit: AuditLog = Depends(get_audit)) -> dict:
    entries = audit.read(limit)
    audit.record(who=caller.key_id, role=caller.role, action="read audit", result="ok",
                 detail={"entries": len(entries)}, client=caller.client)
    return {"entries": entries}


"""The knowledge page at `/admin/knowledge`: log in with the admin token, upload with
progress, search, read, replace, delete and roll back documents.

Every action here goes through the knowledge HTTP API in-process (the same calls an
operator's script makes), so the page adds no second way to change knowledge: it adds
the login cookie, CSRF checks and HTML. Every request checks the admin token first.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from zhiyan.auth import ADMIN_COOKIE, AdminSettings, is_admin
from zhiyan.channels.web.render import render, store_of
from zhiyan.channels.web.session import check_csrf
from zhiyan.knowledge.ingest import supported_suffixes

router = APIRouter(include_in_schema=False)

ADMIN_PAGE = "/admin/knowledge"
PAGE_SIZE = 20
API = "/v1/knowledge"
#: how long the admin cookie lasts; the token itself never expires on its own
COOKIE_SECONDS = 12 * 3600


class KnowledgeError(Exception):
    """The knowledge API refused a call; its message is shown to the operator."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _api(request: Request, method: str, path: str, **kwargs: Any) -> Any:
    """Call the knowledge API of this same app, in-process, as the admin."""
    token = request.app.state.settings.section("admin", AdminSettings).token or ""
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zhiyan.internal",
                                 timeout=None) as client:
        response = await client.request(method, API + path,
                                        headers={"X-Admin-Token": token}, **kwargs)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
        raise KnowledgeError(response.status_code, message or response.reason_phrase)
    return body


def _login(request: Request, status: int = 401, error: str | None = None) -> Response:
    return render(request, "admin_login.html", status, ADMIN_PAGE, error=error)


def _failed(request: Request, exc: KnowledgeError) -> Response:
    """The document list page, showing why the knowledge API refused."""
    return render(request, "admin_knowledge.html", exc.status, ADMIN_PAGE, documents=[],
                  total=0, query="",
                  error=str(exc), notice=None, previous=None, next=None, first=0, last=0,
                  formats=supported_suffixes())


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post("/admin/login")
async def login(request: Request, csrf: Annotated[str, Form()] = "",
                token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, store_of(request).secret(), csrf)
    if not _token_matches(request, token):
        return _login(request, 401, error="token_wrong")
    response = RedirectResponse("/admin/knowledge", 303)
    response.set_cookie(ADMIN_COOKIE, token, max_age=COOKIE_SECONDS, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


def _token_matches(request: Request, token: str) -> bool:
    configured = request.app.state.settings.section("admin", AdminSettings).token
    return bool(configured and token and hmac.compare_digest(configured, token))


@router.post("/admin/logout")
async def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, store_of(request).secret(), csrf)
    response = RedirectResponse("/admin/knowledge", 303)
    response.delete_cookie(ADMIN_COOKIE)
    return response


@router.get("/admin/knowledge")
async def knowledge_page(request: Request, q: str = "", offset: int = 0,
                         notice: str | None = None) -> Response:
    if not is_admin(request):
        return _login(request)
    offset = max(0, offset)
    error = None
    try:
        found = await _api(request, "GET", "/documents",
                           params={"q": q, "limit": PAGE_SIZE, "offset": offset})
    except KnowledgeError as exc:
        found, error = {"data": [], "total": 0}, str(exc)

    def page(at: int) -> str:
        return "/admin/knowledge?" + urlencode({"q": q, "offset": at} if q else {"offset": at})

    total = int(found.get("total", 0))
    return render(
        request, "admin_knowledge.html",
        documents=found.get("data", []), total=total, query=q, error=error, notice=notice,
        previous=page(max(0, offset - PAGE_SIZE)) if offset > 0 else None,
        next=page(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        first=offset + 1, last=min(total, offset + PAGE_SIZE), formats=supported_suffixes(),
    )


@router.post("/admin/knowledge/upload")
async def upload(request: Request) -> Response:
    """One or more files; each goes to the knowledge API's upload as it is."""
    if not is_admin(request):
        return _refused(request)
    form = await request.form()
    check_csrf(request, store_of(request).secret(), str(form.get("csrf", "")))
    files = [f for f in form.getlist("file") if isinstance(f, UploadFile) and f.filename]
    summary: dict[str, Any] = {"added": [], "replaced": [], "unchanged": [], "skipped": []}
    status = 200
    if not files:
        summary["skipped"].append({"name": "", "reason": "no file chosen"})
        status = 400
    for file in files:
        try:
            result = await _api(request, "POST", "/upload", files={
                "file": (file.filename, await file.read(),
                         file.content_type or "application/octet-stream"),
            })
        except KnowledgeError as exc:
            summary["skipped"].append({"name": file.filename, "reason": str(exc)})
            status = exc.status if len(files) == 1 else status
            continue
        for key in ("added", "replaced", "unchanged", "skipped"):
            summary[key] += result.get(key, [])
    if _wants_json(request):
        return JSONResponse(summary, status)
    return render(request, "admin_upload.html", status, ADMIN_PAGE, summary=summary)


def _refused(request: Request) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": {"message": "admin token required",
                                       "type": "invalid_request_error"}}, 401)
    return _login(request)


def _doc_path(doc_id: str, action: str = "") -> str:
    return f"/documents/{quote(doc_id, safe='/')}{action}"


@router.get("/admin/knowledge/doc/{doc_id:path}")
async def document_page(request: Request, doc_id: str, notice: str | None = None) -> Response:
    if not is_admin(request):
        return _login(request)
    try:
        document = await _api(request, "GET", _doc_path(doc_id))
        versions = await _api(request, "GET", _doc_path(doc_id, "/versions"))
    except KnowledgeError as exc:
        return _failed(request, exc)
    return render(request, "admin_document.html", document=document, versions=versions["data"],
                  notice=notice)


async def _change(request: Request, doc_id: str, csrf: str, method: str, path: str,
                  done: str, after: str | None = None, **kwargs: Any) -> Response:
    if not is_admin(request):
        return _login(request)
    check_csrf(request, store_of(request).secret(), csrf)
    try:
        await _api(request, method, path, **kwargs)
    except KnowledgeError as exc:
        return _failed(request, exc)
    where = after or f"/admin/knowledge/doc/{quote(doc_id, safe='/')}"
    return RedirectResponse(f"{where}?{urlencode({'notice': done})}", 303)


@router.post("/admin/knowledge/doc/{doc_id:path}/replace")
async def replace(request: Request, doc_id: str, csrf: Annotated[str, Form()] = "",
                  title: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
                  lang: Annotated[str, Form()] = "", source: Annotated[str, Form()] = ""
                  ) -> Response:
    """A new version with the edited text; language and source carry over unless changed."""
    body = {"title": title, "text": text, "lang": lang or None, "source": source or None}
    return await _change(request, doc_id, csrf, "PUT", _doc_path(doc_id), "replaced",
                         json=body)


@router.post("/admin/knowledge/doc/{doc_id:path}/delete")
async def delete(request: Request, doc_id: str, csrf: Annotated[str, Form()] = "") -> Response:
    return await _change(request, doc_id, csrf, "DELETE", _doc_path(doc_id), "deleted",
                         after="/admin/knowledge")


@router.post("/admin/knowledge/doc/{doc_id:path}/rollback")
async def rollback(request: Request, doc_id: str, csrf: Annotated[str, Form()] = "",
                   version: Annotated[int, Form()] = 0) -> Response:
    return await _change(request, doc_id, csrf, "POST", _doc_path(doc_id, "/rollback"),
                         "rolled_back", json={"version": version})

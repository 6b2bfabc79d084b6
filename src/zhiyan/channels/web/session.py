"""Who a browser is, which language it reads, and the CSRF token its forms must carry.

A browser is a random id in the HttpOnly `zhiyan_uid` cookie. Every state-changing form and
fetch carries a CSRF token that is an HMAC of that id under an installation key: another
site can make the browser send the cookie, but cannot read or compute the token, so its
forged POST is refused (signed double-submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request, Response

from zhiyan.i18n import FALLBACK, LANGUAGES

UID_COOKIE = "zhiyan_uid"
LANG_COOKIE = "zhiyan_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
#: scripts written right to left; the interface mirrors for these (none shipped yet, but a
#: catalog added for one must not need a CSS change)
RTL_LANGS = frozenset({"ar", "fa", "ur", "he", "ps", "sd", "ug", "yi", "dv"})
YEAR = 365 * 24 * 3600


def browser_id(request: Request) -> str:
    """The browser's id; a new one is made (and set by `remember`) on first visit."""
    uid = request.cookies.get(UID_COOKIE, "")
    if 16 <= len(uid) <= 64 and uid.replace("-", "").replace("_", "").isalnum():
        return uid
    new_uid: str | None = getattr(request.state, "new_uid", None)
    if new_uid is None:
        new_uid = request.state.new_uid = secrets.token_urlsafe(18)
    return new_uid


def csrf_token(request: Request, key: bytes) -> str:
    return hmac.new(key, browser_id(request).encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, key: bytes, submitted: str | None) -> None:
    """Refuse a state-changing request whose token does not match its cookie."""
    given = submitted or request.headers.get(CSRF_HEADER) or ""
    if UID_COOKIE not in request.cookies or not hmac.compare_digest(
        given, csrf_token(request, key)
    ):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong; reload the page")


def page_lang(request: Request) -> str:
    """`?lang=` (the switcher), else the cookie, else the browser's Accept-Language."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return code
    return FALLBACK


def text_direction(lang: str) -> str:
    return "rtl" if lang in RTL_LANGS else "ltr"


def remember(request: Request, response: Response) -> Response:
    """Set the cookies a page decided on: a new browser id, a newly chosen language."""
    secure = request.url.scheme == "https"
    new_uid = getattr(request.state, "new_uid", None)
    if new_uid:
        response.set_cookie(UID_COOKIE, new_uid, max_age=YEAR, httponly=True, samesite="lax",
                            secure=secure)
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES and chosen != request.cookies.get(LANG_COOKIE):
        response.set_cookie(LANG_COOKIE, chosen, max_age=YEAR, samesite="lax", secure=secure)
    return response

"""The admin token: required on every admin page and every knowledge-changing API call.

Configured as `[admin] token = "…"` or `ZHIYAN_ADMIN__TOKEN`. With no token configured,
admin access is refused outright (never open by default). The knowledge API takes it
as `Authorization: Bearer …` or `X-Admin-Token: …` only; the `zhiyan_admin` cookie that the
admin page sets after login is honoured by the admin pages alone, which check a CSRF token
on every change. A browser sends a cookie by itself, so an API that took the cookie could
be driven by another site's form; a header it never sends by itself.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request
from pydantic import BaseModel


class AdminSettings(BaseModel):
    token: str | None = None


ADMIN_COOKIE = "zhiyan_admin"


def presented_token(request: Request, *, cookie: bool) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = request.headers.get("x-admin-token")
    if token is None and cookie:
        token = request.cookies.get(ADMIN_COOKIE)
    return token


def is_admin(request: Request, *, cookie: bool = True) -> bool:
    """Whether the request carries the configured token (`cookie`: the admin pages' login
    cookie counts too; those pages check CSRF themselves)."""
    configured = request.app.state.settings.section("admin", AdminSettings).token
    given = presented_token(request, cookie=cookie)
    return bool(configured and given and hmac.compare_digest(configured, given))


def require_admin(request: Request) -> None:
    """FastAPI dependency for the API: 401 unless a header carries the admin token."""
    if not is_admin(request, cookie=False):
        raise HTTPException(
            status_code=401,
            detail="admin token required",
            headers={"WWW-Authenticate": "Bearer"},
        )

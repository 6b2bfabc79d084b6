"""The admin token: required on every admin page and every knowledge-changing API call.

Configured as `[admin] token = "…"` or `ZHIYAN_ADMIN__TOKEN`. With no token configured,
admin access is refused outright (never open by default). Accepted as
`Authorization: Bearer …`, `X-Admin-Token: …`, or the `zhiyan_admin` cookie the admin page
sets after login.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request
from pydantic import BaseModel


class AdminSettings(BaseModel):
    token: str | None = None


ADMIN_COOKIE = "zhiyan_admin"


def presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-admin-token") or request.cookies.get(ADMIN_COOKIE)


def is_admin(request: Request) -> bool:
    configured = request.app.state.settings.section("admin", AdminSettings).token
    given = presented_token(request)
    return bool(configured and given and hmac.compare_digest(configured, given))


def require_admin(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries the configured admin token."""
    if not is_admin(request):
        raise HTTPException(
            status_code=401,
            detail="admin token required",
            headers={"WWW-Authenticate": "Bearer"},
        )

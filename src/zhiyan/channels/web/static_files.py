"""zhiyan's own CSS and JavaScript, served by zhiyan (no CDN): cached for a year, because
the page links them by content hash."""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from zhiyan.channels.web.render import STATIC_TYPES, static_file

router = APIRouter(include_in_schema=False)


@router.get("/static/web/{name}")
async def static(name: str) -> Response:
    found = static_file(name)
    kind = STATIC_TYPES.get(PurePosixPath(name).suffix)
    if found is None or kind is None:
        raise HTTPException(404, "no such file")
    return Response(found[0], media_type=kind, headers={
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    })

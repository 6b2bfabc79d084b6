"""Server-side pages: Jinja2 templates with autoescaping, and zhiyan's own static files.

Every page is complete HTML from the server, so the site works with JavaScript off and on
a slow link; the scripts only add streaming and conveniences on top.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FunctionLoader, select_autoescape
from markupsafe import Markup, escape

from zhiyan.channels.web.conversations import ConversationStore
from zhiyan.channels.web.session import csrf_token, page_lang, remember, text_direction
from zhiyan.i18n import LANGUAGES, t

PACKAGE = resources.files("zhiyan.channels.web")
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def _load_template(name: str) -> str:
    return (PACKAGE / "templates" / name).read_text(encoding="utf-8")


@cache
def static_file(name: str) -> tuple[bytes, str] | None:
    """(content, sha) of a file under static/, or None; names never contain a path."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    file = PACKAGE / "static" / name
    if not file.is_file():
        return None
    data = file.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:12]


def asset_url(name: str) -> str:
    """A URL that changes when the file does, so browsers may cache it for a year."""
    found = static_file(name)
    assert found is not None, name
    return f"/static/web/{name}?v={found[1]}"


CITE_MARK = re.compile(r"\[(\d{1,2})\]")
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
CODE = re.compile(r"`([^`\n]+)`")
ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")


def answer_html(text: str, citation_urls: dict[int, str]) -> Markup:
    """An answer as HTML: everything escaped first, then the little markdown the assistant
    writes (bold, italics, code) and its [n] markers as links to the cited passages. The
    same function renders the page and the end of a streamed answer."""

    def link(match: re.Match[str]) -> str:
        url = citation_urls.get(int(match.group(1)))
        if url is None:
            return match.group(0)
        return (f'<a class="cite" href="{escape(url)}" target="_blank" rel="noopener">'
                f'[{match.group(1)}]</a>')

    html = str(escape(text))
    html = CODE.sub(r"<code>\1</code>", html)
    html = BOLD.sub(r"<strong>\1</strong>", html)
    html = ITALIC.sub(r"<em>\1</em>", html)
    return Markup(CITE_MARK.sub(link, html))


ENV = Environment(
    loader=FunctionLoader(_load_template),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals["asset"] = asset_url
ENV.globals["languages"] = LANGUAGES


def conversations_of(app: Any) -> ConversationStore:
    """The web's conversation store, opened on first use and kept on the app."""
    store = getattr(app.state, "web_conversations", None)
    if store is None:
        store = ConversationStore(app.state.settings.storage.database)
        app.state.web_conversations = store
    return store


def store_of(request: Request) -> ConversationStore:
    return conversations_of(request.app)


def render(request: Request, template: str, status_code: int = 200,
           lang_action: str | None = None, **context: object) -> HTMLResponse:
    """A page. `lang_action` is where the language menu reloads to: the page itself for a
    GET, else a page that can be fetched again (an answer to a POST cannot)."""
    lang = page_lang(request)
    html = ENV.get_template(template).render(
        lang=lang,
        dir=text_direction(lang),
        t=lambda key, **values: t(f"web.{key}", lang, **values),
        csrf=csrf_token(request, store_of(request).secret()),
        path=lang_action or (request.url.path if request.method == "GET" else "/"),
        **context,
    )
    response = HTMLResponse(html, status_code)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return remember(request, response)  # type: ignore[return-value]

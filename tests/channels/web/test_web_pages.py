"""The web pages over HTTP, without a browser: the JavaScript-off chat path, CSRF,
escaping, conversations, languages, page weight and the admin gate."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.channels.web.helpers import ADMIN_TOKEN, csrf_of
from zhiyan.assistant.turn import Citation
from zhiyan.channels.web.render import answer_html, conversations_of
from zhiyan.i18n import LANGUAGES, catalog, missing_keys

XSS = '<script>alert("xss")</script>'


def ask(client: TestClient, text: str, conversation_id: str = "") -> str:
    """Ask through the plain form, as a browser with JavaScript off does; return the page."""
    csrf = csrf_of(client.get("/").text)
    response = client.post("/chat", data={"csrf": csrf, "text": text,
                                          "conversation_id": conversation_id})
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/?c=")
    page = client.get(response.headers["location"].split("#")[0])
    assert page.status_code == 200
    return page.text


def conversation_id_of(html: str) -> str:
    found = re.search(r'data-conversation="([^"]+)"', html)
    assert found
    return found.group(1)


def test_chat_works_without_javascript(client: TestClient) -> None:
    page = ask(client, "What is the capital of Kenya?")
    assert page.count('class="msg user"') == 1
    assert page.count('class="msg assistant"') == 1
    assert "What is the capital of Kenya?" in page
    # the conversation is listed, named after its first question
    assert re.search(r'<a href="/\?c=[^"]+">What is the capital of Kenya\?</a>', page)
    # a follow-up goes into the same conversation
    cid = conversation_id_of(page)
    page = ask(client, "And of Nigeria?", cid)
    assert conversation_id_of(page) == cid
    assert page.count('class="msg assistant"') == 2


def test_retry_replaces_the_last_answer(client: TestClient) -> None:
    page = ask(client, "Name a river.")
    cid = conversation_id_of(page)
    response = client.post("/chat", data={"csrf": csrf_of(page), "conversation_id": cid,
                                          "retry": "1"})
    assert response.status_code == 303
    page = client.get(f"/?c={cid}").text
    assert page.count('class="msg user"') == 1
    assert page.count('class="msg assistant"') == 1


def test_streamed_answer_arrives_in_events_and_is_stored(client: TestClient) -> None:
    csrf = csrf_of(client.get("/").text)
    events: list[tuple[str, object]] = []
    with client.stream("POST", "/chat/stream", json={"text": "Say hello."},
                       headers={"X-CSRF-Token": csrf}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers  # never buffered by gzip
        event = "message"
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))
                event = "message"
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "meta" and kinds[-1] == "done"
    deltas = [data for kind, data in events if kind == "message"]
    assert deltas and all(isinstance(d, str) for d in deltas)
    meta, done = events[0][1], events[-1][1]
    assert isinstance(meta, dict) and isinstance(done, dict)
    page = client.get(f"/?c={meta['conversation_id']}").text
    assert f'data-id="{done["message_id"]}"' in page


def test_state_changing_requests_need_the_csrf_token(client: TestClient) -> None:
    page = client.get("/").text
    csrf = csrf_of(page)
    # no token, a wrong token
    assert client.post("/chat", data={"text": "hi"}).status_code == 403
    assert client.post("/chat", data={"text": "hi", "csrf": "0" * 64}).status_code == 403
    assert client.post("/chat/stream", json={"text": "hi"}).status_code == 403
    assert client.post("/conversations/new", data={}).status_code == 403
    assert client.post("/admin/login", data={"token": ADMIN_TOKEN}).status_code == 403
    # a token is tied to its browser's cookie: another browser's token is refused
    with TestClient(client.app) as other:
        other.get("/")
        refused = other.post("/chat", data={"text": "hi", "csrf": csrf})
        assert refused.status_code == 403
        assert "CSRF" in refused.json()["error"]["message"]
    # nothing was stored by the refused requests
    assert "No conversations yet." in client.get("/?lang=en").text


def test_conversations_rename_delete_and_stay_private(client: TestClient) -> None:
    page = ask(client, "First question")
    cid, csrf = conversation_id_of(page), csrf_of(page)
    renamed = client.post(f"/conversations/{cid}/rename",
                          data={"csrf": csrf, "title": "Trip to Kano"})
    assert renamed.status_code == 303
    assert ">Trip to Kano</a>" in client.get("/").text
    with TestClient(client.app) as other:
        other_csrf = csrf_of(other.get("/").text)
        assert other.get(f"/?c={cid}", follow_redirects=False).status_code == 303
        assert other.post(f"/conversations/{cid}/delete",
                          data={"csrf": other_csrf}).status_code == 404
    memory = client.app.state.assistant.memory  # type: ignore[attr-defined]

    def remembered() -> int:
        return int(memory.conn.execute(
            "SELECT count(*) FROM assistant_messages WHERE conversation_id = ?", (cid,)
        ).fetchone()[0])

    assert remembered() == 2
    assert client.post(f"/conversations/{cid}/delete", data={"csrf": csrf}).status_code == 303
    assert "Trip to Kano" not in client.get("/").text
    assert remembered() == 0  # deleted means forgotten by the assistant too


def test_html_in_messages_and_cited_documents_is_escaped(client: TestClient) -> None:
    """A stored-XSS attempt: a cited document whose title and text carry markup."""
    page = ask(client, f"Tell me about {XSS}")
    assert XSS not in page
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in page
    cid = conversation_id_of(page)
    store = conversations_of(client.app)
    message_id = store.add(cid, "assistant", f"See [1]. {XSS}", [Citation(
        number=1, doc_id="doc-x", title=f"Evil {XSS}", version=2,
        snippet=f'<img src=x onerror="alert(1)"> {XSS}', source=f"{XSS}.html",
    )])
    page = client.get(f"/?c={cid}").text
    assert XSS not in page and "<img src=x" not in page
    assert f'<a class="cite" href="/cite/{message_id}/1" target="_blank"' in page
    passage = client.get(f"/cite/{message_id}/1")
    assert passage.status_code == 200
    assert XSS not in passage.text and "<img src=x" not in passage.text
    assert "&lt;img src=x onerror=" in passage.text
    # and no page may run inline script even if something slipped through
    assert "script-src 'self'" in passage.headers["content-security-policy"]


def test_answers_render_a_little_markdown_and_nothing_else() -> None:
    html = answer_html(
        "**Paris** is the `capital` *of* France [1] [2].\n**<b>x</b>** `<script>` a*b*c",
        {1: "/cite/7/1"})
    assert html.startswith("<strong>Paris</strong> is the <code>capital</code> <em>of</em>")
    assert '<a class="cite" href="/cite/7/1" target="_blank" rel="noopener">[1]</a> [2]' in html
    assert "<strong>&lt;b&gt;x&lt;/b&gt;</strong> <code>&lt;script&gt;</code> a*b*c" in html


def test_every_language_has_every_web_message() -> None:
    for lang, missing in missing_keys().items():
        assert not [k for k in missing if k.startswith("web.")], lang
    english = {k: v for k, v in catalog("en").items() if k.startswith("web.")}
    for lang in LANGUAGES:
        if lang == "en":
            continue
        translated = sum(catalog(lang)[k] != v for k, v in english.items())
        assert translated >= len(english) * 0.8, f"{lang}: mostly untranslated"


def test_language_switcher_translates_the_page(client: TestClient) -> None:
    switched = client.get("/?lang=sw")
    assert '<html lang="sw" dir="ltr">' in switched.text
    assert catalog("sw")["web.send"] in switched.text
    assert switched.cookies.get("zhiyan_lang") == "sw"
    # the choice sticks
    assert '<html lang="sw"' in client.get("/").text
    assert '<html lang="zh"' in client.get("/?lang=zh").text
    # a browser's Accept-Language is used until a choice is made
    with TestClient(client.app) as other:
        page = other.get("/", headers={"Accept-Language": "th-TH,th;q=0.9,en;q=0.5"})
        assert '<html lang="th"' in page.text


def test_first_load_is_under_100_kb_compressed(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    total = page.num_bytes_downloaded  # as sent, compressed
    assets = re.findall(r'(?:href|src)="(/static/web/[^"]+)"', page.text)
    assert len(assets) >= 3
    for asset in assets:
        response = client.get(asset, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert "immutable" in response.headers["cache-control"]
        if len(response.content) > 1000:  # smaller ones gain nothing from gzip
            assert response.headers["content-encoding"] == "gzip"
        total += response.num_bytes_downloaded
    # nothing is fetched from anywhere else
    assert not re.search(r'(?:href|src)="(?:https?:)?//', page.text)
    assert total <= 100_000


def test_admin_pages_require_the_token(client: TestClient) -> None:
    login = client.get("/admin/knowledge")
    assert login.status_code == 401
    assert 'name="token"' in login.text
    csrf = csrf_of(login.text)
    assert client.post("/admin/knowledge/upload", data={"csrf": csrf},
                       files={"file": ("a.txt", b"hello", "text/plain")},
                       headers={"Accept": "application/json"}).status_code == 401
    assert client.post("/admin/knowledge/doc/x/delete", data={"csrf": csrf}).status_code == 401
    wrong = client.post("/admin/login", data={"csrf": csrf, "token": "guess"})
    assert wrong.status_code == 401
    assert "zhiyan_admin" not in wrong.cookies
    right = client.post("/admin/login", data={"csrf": csrf, "token": ADMIN_TOKEN})
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert "zhiyan_admin=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/admin/knowledge").status_code == 200
    # the cookie opens the pages (which check CSRF), never the API a foreign form could hit
    assert client.post("/v1/knowledge/documents", json={
        "id": "forged", "title": "t", "text": "x"}).status_code == 401
    # the chat page never needed it
    with TestClient(client.app) as anonymous:
        assert anonymous.get("/").status_code == 200


def test_idiom_corner_and_search(client: TestClient) -> None:
    page = client.get("/").text
    assert 'class="idiom card"' in page
    found = client.get("/idioms", params={"q": "hstz"}).text
    assert "画蛇添足" in found and "huà shé tiān zú" in found
    by_pinyin = client.get("/idioms", params={"q": "hua she tian zu"}).text
    assert "画蛇添足" in by_pinyin


def admin_client(client: TestClient) -> str:
    """Log `client` in as the admin; return its CSRF token."""
    csrf = csrf_of(client.get("/").text)
    assert client.post("/admin/login", data={"csrf": csrf, "token": ADMIN_TOKEN}
                       ).status_code == 303
    return csrf


def test_admin_manages_documents_through_the_page(client: TestClient) -> None:
    csrf = admin_client(client)
    as_json = {"Accept": "application/json"}
    added = client.post("/admin/knowledge/upload", data={"csrf": csrf}, headers=as_json,
                        files={"file": ("okapi.txt", b"The okapi lives in the Ituri forest.",
                                        "text/plain")})
    assert added.status_code == 200, added.text
    assert added.json()["added"] == ["okapi"]
    # refused before anything is stored, with a reason the page shows
    refused = client.post("/admin/knowledge/upload", data={"csrf": csrf}, headers=as_json,
                          files={"file": ("tool.exe", b"MZ", "application/octet-stream")})
    assert refused.status_code == 415
    assert "unsupported file type '.exe'" in refused.json()["skipped"][0]["reason"]
    too_big = client.post("/admin/knowledge/upload", data={"csrf": csrf}, headers=as_json,
                          files={"file": ("big.txt", b"x" * 1_100_000, "text/plain")})
    assert too_big.status_code == 413
    # the JavaScript-off upload answers with a page
    page = client.post("/admin/knowledge/upload", data={"csrf": csrf},
                       files={"file": ("tool.exe", b"MZ", "application/octet-stream")})
    assert page.status_code == 415 and "tool.exe" in page.text and "<h2>Skipped</h2>" in page.text
    # its language menu reloads a page that can be fetched (not the POST's URL)
    assert '<form class="lang" method="get" action="/admin/knowledge">' in page.text
    # a CSRF-less upload is refused even with the admin cookie
    assert client.post("/admin/knowledge/upload", headers=as_json,
                       files={"file": ("a.txt", b"a", "text/plain")}).status_code == 403

    listing = client.get("/admin/knowledge", params={"q": "okapi"}).text
    assert 'href="/admin/knowledge/doc/okapi"' in listing
    replaced = client.post("/admin/knowledge/doc/okapi/replace", data={
        "csrf": csrf, "title": "Okapi", "text": "The okapi lives in the Kasai forest.",
        "lang": "en", "source": ""})
    assert replaced.status_code == 303
    doc = client.get("/admin/knowledge/doc/okapi").text
    assert "Kasai" in doc and "Saved as a new version." in client.get(
        replaced.headers["location"]).text
    rolled = client.post("/admin/knowledge/doc/okapi/rollback",
                         data={"csrf": csrf, "version": "1"})
    assert rolled.status_code == 303
    assert "Ituri" in client.get("/admin/knowledge/doc/okapi").text
    assert client.post("/admin/knowledge/doc/okapi/delete",
                       data={"csrf": ""}).status_code == 403
    assert client.post("/admin/knowledge/doc/okapi/delete",
                       data={"csrf": csrf}).status_code == 303
    assert client.get("/admin/knowledge/doc/okapi").status_code == 404


def test_document_markup_is_escaped_on_the_admin_pages(client: TestClient) -> None:
    csrf = admin_client(client)
    evil = f"# Evil {XSS}\n\n{XSS} <img src=x onerror=alert(1)> The okapi eats leaves.\n"
    assert client.post("/admin/knowledge/upload", data={"csrf": csrf},
                       headers={"Accept": "application/json"},
                       files={"file": ("evil.md", evil.encode(), "text/markdown")}
                       ).status_code == 200
    listing = client.get("/admin/knowledge").text
    doc_link = re.search(r'href="(/admin/knowledge/doc/[^"]+)"', listing)
    assert doc_link
    doc = client.get(doc_link.group(1)).text
    for page in (listing, doc):
        assert XSS not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in doc

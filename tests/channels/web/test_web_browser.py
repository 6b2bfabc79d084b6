"""The web pages in a real browser: Debian's Chromium, headless, driven by Playwright,
against a live zhiyan server on 127.0.0.1 with the tiny model.

Set ZHIYAN_SCREENSHOTS=docs/screenshots to refresh the screenshots in the docs; otherwise
they are taken into a temporary folder (so taking them is still tested).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.channels.web.helpers import ADMIN_TOKEN
from tests.conftest import LiveServer
from zhiyan.i18n import LANGUAGES, catalog

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
#: the tiny model on a busy 2-core machine can take a while per answer
ANSWER_MS = 180_000
#: any other step (the first upload loads the embedding model)
STEP_MS = 90_000

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM),
                                reason="Chromium not installed (scripts/install-system-deps.sh)")

sync_api = pytest.importorskip("playwright.sync_api")

# Records every length the answer being written had, so a test can tell a streamed answer
# (several lengths) from one that arrived whole. Each record's added nodes, not the text at
# callback time: several deltas read from the network at once are set in one task and
# reach the observer as one callback, which would look like a whole answer.
WATCH_STREAM = """() => {
  window.__lengths = [];
  new MutationObserver((records) => {
    for (const r of records) {
      const t = r.target;
      if (!(t instanceof Element) || !t.matches('.msg.assistant .text')) continue;
      // a streamed delta replaces the text with one text node; the finished answer's
      // HTML (possibly several nodes) is not a streaming step
      const added = r.addedNodes;
      if (added.length === 1 && added[0].nodeType === Node.TEXT_NODE)
        window.__lengths.push(added[0].textContent.length);
    }
  }).observe(document.getElementById('messages'), {childList: true, subtree: true});
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(web_app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(web_app) as live:
        yield live


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ZHIYAN_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def no_script_ran(page: object) -> None:
    assert page.evaluate("window.__xss") is None  # type: ignore[attr-defined]


def ask(page: object, question: str) -> object:
    """Type a question, send it with Enter, wait for the cited answer; return its element."""
    page.evaluate(WATCH_STREAM)  # type: ignore[attr-defined]
    page.fill("#text", question)  # type: ignore[attr-defined]
    page.press("#text", "Enter")  # type: ignore[attr-defined]
    answer = page.locator(".msg.assistant").last  # type: ignore[attr-defined]
    answer.locator(".actions .copy").wait_for(timeout=ANSWER_MS)
    return answer


def test_chat_admin_and_languages_in_chromium(browser: object, server: LiveServer,
                                              shots: Path) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # the admin page refuses until the token is given, then sets the cookie
    refused = page.goto(server.url + "/admin/knowledge")
    assert refused is not None and refused.status == 401
    page.fill("#token", ADMIN_TOKEN)
    page.click("form[action='/admin/login'] button")
    page.wait_for_selector("#upload")
    assert any(c["name"] == "zhiyan_admin" and c["httpOnly"] for c in context.cookies())

    # upload with progress; the result says what was added
    page.set_input_files("#file", files=[{
        "name": "okapi.txt", "mimeType": "text/plain",
        "buffer": b"Where does the okapi live? The okapi lives in the Ituri rainforest.",
    }])
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#upload-result strong")
    assert "okapi" in page.inner_text("#upload-result")
    assert page.eval_on_selector("#progress", "p => p.value") == 100
    page.reload()
    page.screenshot(path=str(shots / "knowledge-desktop.png"))
    # readable on a 360-px phone: nothing wider than the screen
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "knowledge-phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)

    # a free answer streams in piece by piece (a grounded one is checked before it is
    # shown, so it may arrive whole)
    page.goto(server.url + "/")
    ask(page, "Write one sentence about cats.")
    lengths = page.evaluate("window.__lengths")
    assert len(set(lengths)) >= 2, f"answer did not stream: {lengths}"

    # ask about the document (an FAQ: retrieval wants the question's rare words in it): the
    # answer cites it, and the citation opens the passage
    answer = ask(page, "Where does the okapi live?")
    with context.expect_page() as opened:
        answer.locator("a.cite").first.click()
    passage = opened.value
    passage.wait_for_load_state()
    assert "okapi" in passage.inner_text("h1").lower()
    assert "Ituri" in passage.inner_text("blockquote")
    passage.close()

    # replace the document on the admin page, ask again, and see the new fact cited
    page.goto(server.url + "/admin/knowledge/doc/okapi")
    page.fill("#text", "Where does the okapi live? The okapi lives in the Kasai forest.")
    page.click("form[action$='/replace'] button")
    page.wait_for_selector(".notice")
    assert "✓" in page.inner_text("tbody tr:last-child")
    page.goto(server.url + "/")
    page.click("form[action='/conversations/new'] button")
    answer = ask(page, "Where does the okapi live?")
    passage = context.new_page()
    passage.goto(server.url + str(answer.locator("a.cite").first.get_attribute("href")))
    assert "Version 2" in passage.inner_text(".meta")
    assert "Kasai" in passage.inner_text("blockquote")
    passage.close()
    page.screenshot(path=str(shots / "chat-desktop.png"))
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "chat-phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # the language switcher translates the whole interface, in every language
    for lang in LANGUAGES:
        with page.expect_navigation():
            page.select_option("#lang", lang)
        assert page.get_attribute("html", "lang") == lang
        assert page.get_attribute("html", "dir") == "ltr"
        assert page.inner_text("#compose button") == catalog(lang)["web.send"]
        assert page.inner_text(".convs h2") == catalog(lang)["web.conversations"]
    assert not dialogs
    context.close()


def test_no_token_no_admin_and_chat_without_javascript(browser: object, server: LiveServer
                                                       ) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    # without the admin token: the page and the API both refuse
    assert page.goto(server.url + "/admin/knowledge").status == 401
    api = context.request.post(server.url + "/v1/knowledge/upload",
                               multipart={"file": {"name": "a.txt", "mimeType": "text/plain",
                                                   "buffer": b"a"}})
    assert api.status == 401
    # the chat works as a plain form: the answer is rendered by the server
    page.goto(server.url + "/")
    page.fill("#text", "Hello <b>there</b>")
    with page.expect_navigation(timeout=ANSWER_MS):
        page.click("#compose button")
    assert page.locator(".msg.user .text").inner_text() == "Hello <b>there</b>"
    assert page.locator(".msg.assistant .text").inner_text().strip()
    assert page.locator(".msg.user .text b").count() == 0
    context.close()


def test_cited_document_with_script_does_not_run(browser: object, server: LiveServer,
                                                 web_app: FastAPI) -> None:
    """Stored XSS: a document whose title and text carry script is cited and shown."""
    context = browser.new_context()  # type: ignore[attr-defined]
    context.set_default_timeout(STEP_MS)
    evil = ('# Okapi <script>window.__xss=1</script>\n\n'
            'What does the okapi eat? The okapi eats leaves <img src=x onerror="window.__xss=1">'
            '<script>window.__xss=1</script>\n')
    uploaded = context.request.post(
        server.url + "/v1/knowledge/upload", headers={"X-Admin-Token": ADMIN_TOKEN},
        multipart={"file": {"name": "evil.md", "mimeType": "text/markdown",
                            "buffer": evil.encode()}})
    assert uploaded.status == 200, uploaded.text()
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    page.goto(server.url + "/")
    answer = ask(page, "What does the okapi eat?")
    no_script_ran(page)
    assert "<script>" in answer.locator(".text").inner_text()  # shown as text, not run
    href = str(answer.locator("a.cite").first.get_attribute("href"))
    page.reload()
    no_script_ran(page)
    page.goto(server.url + href)
    no_script_ran(page)
    context.add_cookies([{"name": "zhiyan_admin", "value": ADMIN_TOKEN, "url": server.url}])
    page.goto(server.url + "/admin/knowledge")
    no_script_ran(page)
    page.click("tbody a")
    page.wait_for_load_state()
    no_script_ran(page)
    context.close()

"""The chat page at `/`: conversations, streamed answers with citations, and a plain form
path that answers server-side when JavaScript is off.

The streaming endpoint speaks Server-Sent Events over a fetch POST (events `meta`, then
unnamed `data` deltas, then `done` or `error`), so the browser shows the first token as
soon as the engine makes it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from zhiyan.assistant.turn import Citation, Reply, Turn
from zhiyan.channels.web import idioms
from zhiyan.channels.web.conversations import Conversation, WebMessage, title_from
from zhiyan.channels.web.render import answer_html, render, store_of
from zhiyan.channels.web.session import browser_id, check_csrf, page_lang, remember
from zhiyan.engine.errors import EngineError
from zhiyan.i18n import t

router = APIRouter(include_in_schema=False)

MAX_QUESTION_CHARS = 4000


def cite_url(message_id: int, number: int) -> str:
    return f"/cite/{message_id}/{number}"


def unmarked(text: str, citations: list[Citation]) -> list[Citation]:
    """Citations the answer does not already link with an [n] marker: listed below it."""
    return [c for c in citations if f"[{c.number}]" not in text]


def _view(message: WebMessage) -> dict[str, Any]:
    urls = {c.number: cite_url(message.id, c.number) for c in message.citations}
    return {
        "id": message.id,
        "role": message.role,
        "text": message.text,
        "html": answer_html(message.text, urls),
        "citations": [(c, urls[c.number]) for c in unmarked(message.text, message.citations)],
    }


def _conversation(request: Request, conversation_id: str | None) -> Conversation | None:
    if not conversation_id:
        return None
    return store_of(request).get(browser_id(request), conversation_id)


@router.get("/")
async def chat_page(request: Request, c: str | None = None) -> Response:
    store = store_of(request)
    owner = browser_id(request)
    current = _conversation(request, c)
    if c and current is None:
        return remember(request, RedirectResponse("/", 303))
    messages = [_view(m) for m in store.messages(current.id)] if current else []
    return render(
        request,
        "chat.html",
        conversations=store.list(owner),
        current=current,
        messages=messages,
        error=None,
        idiom=await idioms.today(),
    )


def _user_id(request: Request) -> str:
    return f"web:{browser_id(request)}"


async def _answer(request: Request, conversation: Conversation, question: str, retry: bool
                  ) -> AsyncIterator[tuple[str, Reply | None]]:
    """Ask the assistant; yields (delta, None)… then ("", reply). The assistant's memory
    keeps the conversation's context under the same conversation id, so no history is
    sent along."""
    store_of(request).add(conversation.id, "user", question)
    turn = Turn(
        text=question,
        user_id=_user_id(request),
        channel="web",
        conversation_id=conversation.id,
        retry=retry,
        # markdown lets the assistant stream (plain text is shaped whole at the end)
        markdown=True,
    )
    async for event in request.app.state.assistant.stream(turn):
        if event.reply is not None:
            yield "", event.reply
        elif event.delta:
            yield event.delta, None


def _start(request: Request, conversation_id: str | None, text: str, retry: bool
           ) -> tuple[Conversation, str]:
    """Validate a question (or a retry) and find or create its conversation."""
    store = store_of(request)
    conversation = _conversation(request, conversation_id)
    if conversation_id and conversation is None:
        raise HTTPException(404, "no such conversation")
    if retry:
        question = store.take_last_question(conversation.id) if conversation else None
        if conversation is None or question is None:
            raise HTTPException(400, "nothing to retry")
        return conversation, question
    question = text.strip()
    if not question:
        raise HTTPException(400, "the message is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise HTTPException(400, f"the message is over {MAX_QUESTION_CHARS} characters")
    if conversation is None:
        conversation = store.create(browser_id(request), title_from(question))
    return conversation, question


class StreamRequest(BaseModel):
    text: str = Field(default="", max_length=MAX_QUESTION_CHARS * 2)
    conversation_id: str | None = None
    retry: bool = False


def _sse(data: object, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


@router.post("/chat/stream")
async def chat_stream(request: Request, body: StreamRequest) -> Response:
    store = store_of(request)
    check_csrf(request, store.secret(), None)
    conversation, question = _start(request, body.conversation_id, body.text, body.retry)
    lang = page_lang(request)

    async def events() -> AsyncIterator[bytes]:
        yield _sse({"conversation_id": conversation.id, "title": conversation.title}, "meta")
        try:
            async for delta, reply in _answer(request, conversation, question, body.retry):
                if reply is None:
                    yield _sse(delta)
                    continue
                message_id = store.add(conversation.id, "assistant", reply.text,
                                       reply.citations)
                yield _sse({
                    "message_id": message_id,
                    "text": reply.text,
                    "html": answer_html(reply.text, {
                        c.number: cite_url(message_id, c.number) for c in reply.citations}),
                    "citations": [
                        {**asdict(c), "url": cite_url(message_id, c.number)}
                        for c in unmarked(reply.text, reply.citations)
                    ],
                }, "done")
        except EngineError as exc:
            yield _sse({"message": t("web.busy", lang) if exc.status_code == 429
                        else str(exc)}, "error")

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/chat")
async def chat_form(
    request: Request,
    csrf: Annotated[str, Form()] = "",
    text: Annotated[str, Form(max_length=MAX_QUESTION_CHARS * 2)] = "",
    conversation_id: Annotated[str, Form()] = "",
    retry: Annotated[str, Form()] = "",
) -> Response:
    """The JavaScript-off path: answer completely, store, and redirect to the page."""
    store = store_of(request)
    check_csrf(request, store.secret(), csrf)
    conversation, question = _start(request, conversation_id or None, text, bool(retry))
    lang = page_lang(request)
    try:
        async for _, reply in _answer(request, conversation, question, bool(retry)):
            if reply is not None:
                store.add(conversation.id, "assistant", reply.text, reply.citations)
    except EngineError as exc:
        message = t("web.busy", lang) if exc.status_code == 429 else str(exc)
        return render(request, "chat.html", exc.status_code,
                      conversations=store.list(browser_id(request)), current=conversation,
                      messages=[_view(m) for m in store.messages(conversation.id)],
                      error=message, idiom=await idioms.today())
    return RedirectResponse(f"/?c={conversation.id}#end", 303)


@router.post("/conversations/new")
async def new_conversation(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, store_of(request).secret(), csrf)
    return RedirectResponse("/", 303)


@router.post("/conversations/{conversation_id}/rename")
async def rename_conversation(
    request: Request, conversation_id: str, csrf: Annotated[str, Form()] = "",
    title: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    store = store_of(request)
    check_csrf(request, store.secret(), csrf)
    if not title.strip():
        raise HTTPException(400, "the title is empty")
    if not store.rename(browser_id(request), conversation_id, title):
        raise HTTPException(404, "no such conversation")
    return RedirectResponse(f"/?c={conversation_id}", 303)


@router.post("/conversations/{conversation_id}/delete")
async def delete_conversation(request: Request, conversation_id: str,
                              csrf: Annotated[str, Form()] = "") -> Response:
    store = store_of(request)
    check_csrf(request, store.secret(), csrf)
    if not store.delete(browser_id(request), conversation_id):
        raise HTTPException(404, "no such conversation")
    # deleted means forgotten: the assistant's memory of it goes too
    request.app.state.assistant.memory.reset(_user_id(request), conversation_id)
    return RedirectResponse("/", 303)


@router.get("/cite/{message_id}/{number}")
async def cited_passage(request: Request, message_id: int, number: int) -> Response:
    """The passage an answer cited, as it was when cited."""
    message = store_of(request).message(browser_id(request), message_id)
    citation = next((c for c in message.citations if c.number == number), None) if message \
        else None
    if citation is None:
        raise HTTPException(404, "no such citation")
    return render(request, "passage.html", citation=citation)

"""The OpenAI-compatible HTTP API: /v1/chat/completions, /v1/models, /healthz, /metrics.

It speaks the OpenAI wire schema exactly (the official `openai` client works unchanged)
and translates it to and from zhiyan's own types; the answer itself comes from the
responder on `app.state`, so this module knows nothing about models or retrieval.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from zhiyan.engine.base import ChatChunk, ChatRequest, Engine, Message
from zhiyan.engine.errors import BadRequestError
from zhiyan.metrics import Metrics

router = APIRouter()


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class WireMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[ContentPart] | None = None

    def to_message(self) -> Message:
        if isinstance(self.content, list):
            if any(part.type != "text" for part in self.content):
                raise BadRequestError("only text content parts are supported")
            text = "".join(part.text or "" for part in self.content)
        else:
            text = self.content or ""
        role = "system" if self.role == "developer" else self.role
        return Message(role=role, content=text)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str | None = None
    messages: list[WireMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(default=1, ge=1, le=1)
    #: extension, as in llama.cpp's server: a GBNF grammar the answer must follow
    grammar: str | None = Field(default=None, max_length=20_000)

    @field_validator("stop")
    @classmethod
    def _stop_list(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    def to_chat_request(self, default_max_tokens: int) -> ChatRequest:
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        request = ChatRequest(
            messages=[m.to_message() for m in self.messages],
            max_tokens=self.max_completion_tokens or self.max_tokens or default_max_tokens,
            stop=stop,
            seed=self.seed,
            grammar=self.grammar,
        )
        if self.temperature is not None:
            request.temperature = self.temperature
        if self.top_p is not None:
            request.top_p = self.top_p
        return request


def _engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    from dataclasses import asdict

    from zhiyan.assistant.turn import Reply, Turn

    engine = _engine(request)
    metrics = _metrics(request)
    chat = body.to_chat_request(request.app.state.settings.engine.default_max_tokens)
    last_user = max((i for i, m in enumerate(chat.messages) if m.role == "user"), default=None)
    if last_user is None:
        raise BadRequestError("messages must contain a user message")
    user = (body.model_extra or {}).get("user")
    turn = Turn(
        text=chat.messages[last_user].content,
        user_id=f"http:{user}" if isinstance(user, str) and user else "http",
        channel="http",
        markdown=True,
        history=chat.messages[:last_user],
        max_tokens=chat.max_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        stop=chat.stop,
        seed=chat.seed,
        grammar=chat.grammar,
    )
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    model = engine.model_id
    started = time.perf_counter()
    stream = request.app.state.assistant.stream(turn)
    # Pull the first event before any byte is sent, so that a full queue, an overlong
    # prompt or a backend error still becomes a proper HTTP status and error body.
    first = await anext(stream)
    metrics.time_to_first_token.observe(time.perf_counter() - started)

    def finish_reason(reply: Reply) -> str:
        return "content_filter" if reply.kind == "refusal" else reply.finish_reason

    def extras(reply: Reply) -> dict[str, Any]:
        """zhiyan's own fields: OpenAI clients ignore them, zhiyan clients show sources."""
        return {"citations": [asdict(c) for c in reply.citations],
                "zhiyan": {"lang": reply.lang, "kind": reply.kind,
                           "policy_rule": reply.policy_rule}}

    if not body.stream:
        reply: Reply | None = first.reply
        async for event in stream:
            reply = event.reply or reply
        assert reply is not None
        usage = ChatChunk(usage=reply.usage)
        metrics.completion_tokens.inc(reply.usage.completion_tokens if reply.usage else 0)
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text},
                        "finish_reason": finish_reason(reply),
                        "logprobs": None,
                    }
                ],
                "usage": _usage_json(usage),
                **extras(reply),
            }
        )

    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def events() -> AsyncIterator[str]:
        def frame(delta: dict[str, Any], finish: str | None, **extra: Any) -> str:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                             "logprobs": None}],
                **extra,
            }
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        try:
            yield frame({"role": "assistant", "content": ""}, None)
            event = first
            while True:
                if event.delta:
                    yield frame({"content": event.delta}, None)
                if event.reply is not None:
                    reply = event.reply
                    yield frame({}, finish_reason(reply), **extras(reply))
                    if reply.usage:
                        metrics.completion_tokens.inc(reply.usage.completion_tokens)
                    if include_usage:
                        payload = {
                            "id": completion_id,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": _usage_json(ChatChunk(usage=reply.usage)),
                        }
                        yield f"data: {json.dumps(payload)}\n\n"
                    break
                event = await anext(stream)
            yield "data: [DONE]\n\n"
        finally:
            await stream.aclose()  # a client that hung up frees its slot here

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _usage_json(chunk: ChatChunk) -> dict[str, int]:
    usage = chunk.usage
    prompt = usage.prompt_tokens if usage else 0
    completion = usage.completion_tokens if usage else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


@router.get("/v1/models")
async def list_models(request: Request) -> dict[str, Any]:
    engine = _engine(request)
    return {
        "object": "list",
        "data": [{"id": engine.model_id, "object": "model", "created": 0, "owned_by": "zhiyan"}],
    }


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    return {"status": "ok", "engine": await _engine(request).health()}


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    text = _metrics(request).render()
    llama = getattr(_engine(request), "llama_metrics", None)
    if llama is not None:
        text += llama()
    return Response(text, media_type="text/plain; version=0.0.4")

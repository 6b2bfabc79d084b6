"""One assistant turn, from any channel: the only entry point channels call.

A channel adapter builds a `Turn` from its wire format, calls `Assistant.respond` (or
`Assistant.stream`), and renders the `Reply`. It never sees models, retrieval or policy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from zhiyan.engine.base import ChatRequest, Engine, Message

Channel = Literal["http", "web", "sms", "ussd", "cli"]


@dataclass
class Turn:
    """What a user said, and what the channel can carry back."""

    text: str
    user_id: str
    channel: Channel = "http"
    conversation_id: str | None = None
    #: the user's chosen language (e.g. from `LANG sw`); overrides detection
    lang: str | None = None
    #: the most characters the channel can show (None: no limit)
    max_chars: int | None = None
    #: whether the channel renders markdown
    markdown: bool = False
    #: earlier messages when the channel keeps history itself (the OpenAI API does)
    history: list[Message] = field(default_factory=list)


@dataclass
class Citation:
    number: int
    doc_id: str
    title: str
    version: int | None = None
    chunk_id: str | None = None
    snippet: str = ""
    source: str | None = None


@dataclass
class Reply:
    text: str
    lang: str = "und"
    citations: list[Citation] = field(default_factory=list)
    #: "answer", "knowledge", "idiom", "command", "refusal", "error" …
    kind: str = "answer"
    #: the policy rule that fired, when one did
    policy_rule: str | None = None
    finish_reason: str = "stop"


@dataclass
class ReplyEvent:
    """A piece of a streamed reply; the final event carries the whole Reply."""

    delta: str = ""
    reply: Reply | None = None


class Assistant:
    """The turn pipeline.

    This first version sends the turn straight to the engine; the language, policy,
    routing, knowledge and memory stages are added here and nowhere else.
    """

    def __init__(self, engine: Engine, default_max_tokens: int = 512) -> None:
        self.engine = engine
        self.default_max_tokens = default_max_tokens

    async def stream(self, turn: Turn) -> AsyncIterator[ReplyEvent]:
        messages = [*turn.history, Message(role="user", content=turn.text)]
        parts: list[str] = []
        finish = "stop"
        async for chunk in self.engine.chat_stream(
            ChatRequest(messages=messages, max_tokens=self.default_max_tokens, temperature=0.3)
        ):
            if chunk.delta:
                parts.append(chunk.delta)
                yield ReplyEvent(delta=chunk.delta)
            finish = chunk.finish_reason or finish
        yield ReplyEvent(reply=Reply(text="".join(parts), finish_reason=finish))

    async def respond(self, turn: Turn) -> Reply:
        reply: Reply | None = None
        async for event in self.stream(turn):
            if event.reply is not None:
                reply = event.reply
        assert reply is not None
        return reply

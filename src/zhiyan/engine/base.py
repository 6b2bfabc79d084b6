"""The one interface every language-model backend implements.

Like httpx's transports: callers (the turn pipeline, evaluations, the HTTP API) only see
`Engine`; whether tokens come from llama.cpp in this process or from a vLLM server across
the network is a configuration choice.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import Literal

from pydantic import BaseModel, Field


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str


class ChatRequest(BaseModel):
    messages: list[Message]
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    grammar: str | None = None  # GBNF, honoured where the backend supports it


FinishReason = Literal["stop", "length", "cancelled"]


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChatChunk(BaseModel):
    """One piece of a streamed answer. The last chunk carries finish_reason and usage."""

    delta: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None


class ChatResult(BaseModel):
    content: str
    finish_reason: FinishReason
    usage: Usage


class Engine(abc.ABC):
    """A language model that can chat, count tokens and score choices."""

    #: the model name reported to API clients
    model_id: str
    #: the most tokens (prompt + answer) one request may use
    context_size: int

    @abc.abstractmethod
    def chat_stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream an answer. Closing the iterator early cancels generation at once."""

    async def chat(self, request: ChatRequest) -> ChatResult:
        parts: list[str] = []
        last = ChatChunk()
        async for chunk in self.chat_stream(request):
            parts.append(chunk.delta)
            last = chunk
        return ChatResult(
            content="".join(parts),
            finish_reason=last.finish_reason or "stop",
            usage=last.usage or Usage(),
        )

    @abc.abstractmethod
    async def count_tokens(self, messages: list[Message]) -> int:
        """Tokens the messages take once the chat template is applied."""

    @abc.abstractmethod
    async def score_choices(self, prompt: str, choices: list[str]) -> list[float]:
        """Log-probability of each continuation given `prompt` (raw text, no chat template).

        Higher is better. The shared prompt is evaluated once where the backend caches
        prefixes, so scoring seven candidates costs little more than scoring one.
        """

    async def health(self) -> dict[str, object]:
        return {"model": self.model_id, "context_size": self.context_size}

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model and any threads."""

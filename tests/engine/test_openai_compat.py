"""The remote engine against real OpenAI-compatible servers: llama.cpp's own HTTP server
(the one xllamacpp runs beside the in-process engine) and another zhiyan."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer
from zhiyan.engine.base import ChatRequest, Message
from zhiyan.engine.errors import ContextOverflowError
from zhiyan.engine.llamacpp import LlamaCppEngine
from zhiyan.engine.openai_compat import OpenAICompatEngine

pytestmark = pytest.mark.anyio


def _remote(tiny_engine: LlamaCppEngine) -> OpenAICompatEngine:
    return OpenAICompatEngine(tiny_engine._server.listening_address + "/v1", model="tiny",
                              context_size=tiny_engine.context_size)


async def test_chat_streams_from_a_llamacpp_server(tiny_engine: LlamaCppEngine) -> None:
    remote = _remote(tiny_engine)
    try:
        request = ChatRequest(messages=[Message(role="user", content="Say hi")], max_tokens=6,
                              temperature=0.0)
        chunks = [c async for c in remote.chat_stream(request)]
        local = await tiny_engine.chat(request)
        assert "".join(c.delta for c in chunks) == local.content  # same model, greedy
        assert chunks[-1].finish_reason == local.finish_reason
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == local.usage.completion_tokens
    finally:
        await remote.close()


async def test_scores_match_the_in_process_engine(tiny_engine: LlamaCppEngine) -> None:
    remote = _remote(tiny_engine)
    try:
        choices = [" Paris", " London"]
        local = await tiny_engine.score_choices("The capital of France is", choices)
        far = await remote.score_choices("The capital of France is", choices)
        assert far == pytest.approx(local, abs=1e-3)
        assert await remote.count_tokens([Message(role="user", content="hello world")]) > 2
    finally:
        await remote.close()


async def test_overlong_prompt_maps_to_context_overflow(tiny_engine: LlamaCppEngine) -> None:
    remote = _remote(tiny_engine)
    try:
        request = ChatRequest(messages=[Message(role="user", content="word " * 6000)],
                              max_tokens=4)
        with pytest.raises(ContextOverflowError):
            async for _ in remote.chat_stream(request):
                pass
    finally:
        await remote.close()


async def test_chat_through_another_zhiyan(live_server: LiveServer) -> None:
    remote = OpenAICompatEngine(live_server.url + "/v1", model="zhiyan", context_size=2048)
    try:
        result = await remote.chat(ChatRequest(
            messages=[Message(role="user", content="What is the capital of France?")],
            max_tokens=8, temperature=0.0))
        assert result.content.strip()
        assert result.usage.completion_tokens >= 1
        health = await remote.health()
        assert health["remote"] == "ok"
    finally:
        await remote.close()

"""The OpenAI-compatible API through real HTTP, with the official `openai` client."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from tests.conftest import LiveServer
from zhiyan.app import create_app
from zhiyan.config import Settings
from zhiyan.engine.base import ChatRequest, Message
from zhiyan.engine.llamacpp import LlamaCppEngine
from zhiyan.engine.models import resolve

# A grammar with no end: generation can only stop at max_tokens or by cancellation.
ENDLESS = {"messages": [{"role": "user", "content": "Please sing me a song, thank you."}],
           "stream": True,
           "grammar": 'root ::= "la " root'}


def _client(server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def test_openai_client_non_streaming(live_server: LiveServer) -> None:
    result = _client(live_server).chat.completions.create(
        model="anything", messages=[{"role": "user", "content": "Say hi"}], max_tokens=5,
        temperature=0,
    )
    choice = result.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in {"stop", "length"}
    assert result.usage is not None
    assert result.usage.completion_tokens >= 1
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.model == "zhiyan-tiny"


def test_openai_client_streams_with_usage(live_server: LiveServer) -> None:
    stream = _client(live_server).chat.completions.create(
        model="zhiyan", messages=[{"role": "system", "content": "Be brief."},
                                  {"role": "user", "content": "Name a colour"}],
        max_tokens=6, stream=True, stream_options={"include_usage": True},
    )
    deltas, finishes, usage = [], [], None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            deltas.append(choice.delta.content or "")
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    assert "".join(deltas).strip()
    assert len(finishes) == 1
    assert usage is not None and usage.completion_tokens >= 1


def test_models_health_and_metrics(live_server: LiveServer) -> None:
    models = _client(live_server).models.list()
    assert [m.id for m in models.data] == ["zhiyan-tiny"]
    assert httpx.get(live_server.url + "/healthz").json()["status"] == "ok"
    _client(live_server).chat.completions.create(
        model="x", messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    metrics = httpx.get(live_server.url + "/metrics").text
    assert 'zhiyan_http_requests_total{method="POST",route="/v1/chat/completions",status="200"}' \
        in metrics
    assert "zhiyan_time_to_first_token_seconds_count" in metrics
    assert "llamacpp:tokens_predicted_total" in metrics


def test_malformed_json_is_a_400_with_an_openai_error(live_server: LiveServer) -> None:
    response = httpx.post(live_server.url + "/v1/chat/completions", content=b"{not json",
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "not valid JSON" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "body, where",
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "role"),
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": 9}, "temperature"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
    ],
)
def test_schema_violations_are_400_naming_the_field(
    live_server: LiveServer, body: dict, where: str
) -> None:
    response = httpx.post(live_server.url + "/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert where in response.json()["error"]["message"]


def test_openai_client_raises_bad_request_for_an_overlong_prompt(live_server: LiveServer) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        _client(live_server).chat.completions.create(
            model="x", messages=[{"role": "user", "content": "知言" * 1900}], max_tokens=4)
    assert "context limit of 2048 tokens" in str(info.value)


def test_oversized_body_is_refused(live_server: LiveServer) -> None:
    response = httpx.post(live_server.url + "/v1/chat/completions",
                          json={"messages": [{"role": "user", "content": "x" * 1_100_000}]})
    assert response.status_code == 413


def test_full_queue_answers_429_with_retry_after(settings: Settings) -> None:
    settings.engine.context_size, settings.engine.parallel, settings.engine.max_waiting = 512, 1, 0
    engine = LlamaCppEngine(resolve("tiny"), model_id="zhiyan-tiny", context_size=512,
                            parallel=1, max_waiting=0)

    async def while_busy() -> httpx.Response:
        # Occupy the only slot with a real generation, held open, then ask over HTTP.
        busy = engine.chat_stream(ChatRequest(
            messages=[Message(role="user", content="sing")], max_tokens=200,
            grammar=ENDLESS["grammar"]))
        await anext(busy)
        try:
            return httpx.post(server.url + "/v1/chat/completions", timeout=120,
                              json={"messages": [{"role": "user", "content": "Hello there"}]})
        finally:
            await busy.aclose()

    with LiveServer(create_app(settings, engine)) as server:
        refused = asyncio.run(while_busy())
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) > 0
        assert refused.json()["error"]["type"] == "rate_limit_error"
        assert engine.in_flight == 0


def test_client_disconnect_mid_stream_frees_the_slot(settings: Settings) -> None:
    """On its own engine, so that llama.cpp's count of busy slots can only be this
    request's."""
    engine = LlamaCppEngine(resolve("tiny"), model_id="zhiyan-tiny", context_size=2048,
                            parallel=2)
    body = {**ENDLESS, "max_tokens": 1500}
    with LiveServer(create_app(settings, engine)) as server:
        with httpx.Client(timeout=120) as http, \
                http.stream("POST", server.url + "/v1/chat/completions", json=body) as r:
            lines = r.iter_lines()
            for _ in range(4):
                next(lines)
            assert httpx.get(server.url + "/healthz").json()["engine"]["in_flight"] == 1
        # leaving the block closed the connection mid-stream; llama.cpp frees its slot a
        # moment after zhiyan's own count drops, so both are awaited (15 s: with another
        # job taking a core, a 2-core machine once took more than 5 s)

        def freed() -> bool:
            return (httpx.get(server.url + "/healthz").json()["engine"]["in_flight"] == 0
                    and "llamacpp:requests_processing 0"
                    in httpx.get(server.url + "/metrics").text)

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not freed():
            time.sleep(0.02)
        assert httpx.get(server.url + "/healthz").json()["engine"]["in_flight"] == 0
        assert "llamacpp:requests_processing 0" in httpx.get(server.url + "/metrics").text


def test_oversized_body_without_content_length_is_refused(live_server: LiveServer) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(120):
            yield b"x" * 10_000
        yield b'"}]}'

    response = httpx.post(live_server.url + "/v1/chat/completions", content=chunks(),
                          headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "over 1000000 bytes" in response.json()["error"]["message"]

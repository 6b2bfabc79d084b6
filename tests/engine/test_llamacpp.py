"""The in-process llama.cpp engine on the tiny model: streaming, counting, scoring, limits."""

from __future__ import annotations

import asyncio

import pytest

from zhiyan.engine.base import ChatRequest, Engine, Message
from zhiyan.engine.errors import ContextOverflowError, ModelError, QueueFullError
from zhiyan.engine.llamacpp import LlamaCppEngine
from zhiyan.engine.models import resolve

pytestmark = pytest.mark.anyio


def _ask(text: str, max_tokens: int = 8) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)], max_tokens=max_tokens,
                       temperature=0.0)


async def test_stream_yields_text_then_finish_with_usage(tiny_engine: Engine) -> None:
    chunks = [c async for c in tiny_engine.chat_stream(_ask("Say hello", 6))]
    assert "".join(c.delta for c in chunks).strip()
    last = chunks[-1]
    assert last.finish_reason in {"stop", "length"}
    assert last.usage is not None
    assert last.usage.completion_tokens >= 1
    assert last.usage.prompt_tokens == await tiny_engine.count_tokens(_ask("Say hello").messages)


async def test_count_tokens_grows_with_the_text(tiny_engine: Engine) -> None:
    short = await tiny_engine.count_tokens([Message(role="user", content="hi")])
    long = await tiny_engine.count_tokens([Message(role="user", content="hi " * 50)])
    assert long > short + 40


async def test_score_choices_prefers_the_likely_continuation(tiny_engine: Engine) -> None:
    scores = await tiny_engine.score_choices(
        "The capital of France is", [" Paris", " London", " banana"]
    )
    assert len(scores) == 3
    assert scores[0] > scores[1] > scores[2]
    assert all(s < 0 for s in scores)


async def test_score_of_longer_continuation_sums_its_tokens(tiny_engine: Engine) -> None:
    one, two = await tiny_engine.score_choices("The capital of France is", [" Paris", " Paris."])
    assert two < one  # one more token, one more (negative) log-probability


async def test_score_pieces_splits_one_forced_decode_by_piece(tiny_engine: Engine) -> None:
    prompt = "The capital of France is"
    (paris, dot), (london,) = await tiny_engine.score_pieces(  # type: ignore[attr-defined]
        prompt, [[" Paris", "."], [" London"]])
    alone = await tiny_engine.score_choices(prompt, [" Paris", " London"])
    # the first piece is exactly the choice alone; the second is scored after it
    assert abs(paris - alone[0]) < 0.5 and abs(london - alone[1]) < 0.5
    assert dot < 0 and paris > london


async def test_prompt_over_the_context_is_refused_with_the_limit(tiny_engine: Engine) -> None:
    with pytest.raises(ContextOverflowError) as info:
        async for _ in tiny_engine.chat_stream(_ask("word " * 3000)):
            pass
    assert "2048" in str(info.value)
    assert info.value.status_code == 400


async def test_closing_the_stream_cancels_generation_and_frees_the_slot(
    tiny_engine: LlamaCppEngine,
) -> None:
    stream = tiny_engine.chat_stream(_ask("Count from one to two hundred", 400))
    async for _ in stream:
        assert tiny_engine.in_flight == 1
        break
    await stream.aclose()
    assert tiny_engine.in_flight == 0
    # llama.cpp's own view: no slot still processing
    await asyncio.sleep(0.1)
    assert "llamacpp:requests_processing 0" in tiny_engine.llama_metrics()


async def test_bounded_queue_refuses_beyond_capacity() -> None:
    engine = LlamaCppEngine(resolve("tiny"), context_size=512, parallel=1, max_waiting=1)
    try:
        streams = [engine.chat_stream(_ask("Count to one hundred", 200)) for _ in range(2)]
        firsts = await asyncio.gather(*(anext(s) for s in streams))
        assert len(firsts) == 2 and engine.in_flight == 2
        with pytest.raises(QueueFullError) as info:
            await anext(engine.chat_stream(_ask("one more")))
        assert info.value.status_code == 429 and info.value.retry_after > 0
        for stream in streams:
            await stream.aclose()
        assert engine.in_flight == 0
    finally:
        await engine.close()


def test_a_corrupt_model_file_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelError, match="could not load"):
        LlamaCppEngine(bad, context_size=256, parallel=1)

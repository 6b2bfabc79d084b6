"""The in-process llama.cpp engine on the tiny model: streaming, counting, scoring, limits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from zhiyan.engine.base import ChatRequest, Engine, Message
from zhiyan.engine.errors import (
    BadRequestError,
    ContextOverflowError,
    ModelError,
    QueueFullError,
)
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


async def test_a_choice_split_into_bytes_is_scored(tiny_engine: LlamaCppEngine) -> None:
    """The tiny model splits Chinese into bytes, and llama.cpp reports no probability for
    a piece that does not complete a character: the engine reads it from the position's
    ranked next-token list instead, and gets what llama.cpp reports for a whole token."""
    smile, chinese = await tiny_engine.score_choices("She gave a", [" smile", "一嚬一笑"])
    assert chinese < smile < 0
    (one, pin), = await tiny_engine.score_pieces("She gave a", [["一", "嚬"]])
    assert one < 0 and pin < 0 and one + pin > chinese  # two characters fewer
    prompt = tiny_engine._tokenize_sync("She gave a")
    [token] = tiny_engine._tokenize_sync(" smile")
    assert abs(tiny_engine._distribution_logprob(prompt, token) - smile) < 1e-3
    # an unlikely token is not in the top 5,000: found in the whole vocabulary
    unlikely = tiny_engine._distribution_logprob(prompt, 49_000)
    assert unlikely < smile
    assert tiny_engine.in_flight == 0


async def test_forced_scores_are_the_raw_probabilities(tiny_engine: LlamaCppEngine) -> None:
    # what the model says unforced: its top tokens after the prompt, with their log-probs
    prompt = "The capital of France is"
    ids = await tiny_engine._tokenize(prompt)
    top = tiny_engine._server.handle_completions(
        {"prompt": ids, "max_tokens": 1, "n_probs": 5, "temperature": 0.0})
    listed = top["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    texts = [t["token"] for t in listed]
    # forcing each of them (the first greedy, the others not) reports the same numbers
    scores = await tiny_engine.score_choices(prompt, texts)
    assert scores == pytest.approx([t["logprob"] for t in listed], abs=1e-3)


async def test_forced_pieces_match_one_token_at_a_time(tiny_engine: LlamaCppEngine) -> None:
    # the log-prob of a later token is that of the longer prompt's next token
    prompt = "The capital of France is"
    ((paris, dot),) = await tiny_engine.score_pieces(prompt, [[" Paris", "."]])
    (after,) = await tiny_engine.score_choices(prompt + " Paris", ["."])
    assert dot == pytest.approx(after, abs=0.05)  # a different batch shape, ~1e-3 apart
    assert paris < 0 and dot < 0



async def test_given_pieces_are_context_not_scored(tiny_engine: LlamaCppEngine) -> None:
    # a shortlist's second look: the choice itself is read as prompt, only what follows
    # is forced, and its log-prob is the one the full forced decode gives it
    prompt = "The capital of France is"
    ((_, dot, end),) = await tiny_engine.score_pieces(prompt, [[" Paris", ".", " It"]])
    ((dot_given, end_given),) = await tiny_engine.score_pieces(
        prompt, [[" Paris", ".", " It"]], given=1)
    assert dot_given == pytest.approx(dot, abs=0.05)
    assert end_given == pytest.approx(end, abs=0.05)
    with pytest.raises(BadRequestError, match="more than 1 pieces"):
        await tiny_engine.score_pieces(prompt, [[" Paris"]], given=1)


async def test_prompt_over_the_context_is_refused_with_the_limit(tiny_engine: Engine) -> None:
    with pytest.raises(ContextOverflowError) as info:
        async for _ in tiny_engine.chat_stream(_ask("word " * 3000)):
            pass
    assert "2048" in str(info.value)
    assert info.value.status_code == 400


async def test_closing_the_stream_cancels_generation_and_frees_the_slot(
    tiny_engine: LlamaCppEngine,
) -> None:
    stream = tiny_engine.chat_stream(_ask("Count from one to two hundred", 1500))
    async for _ in stream:
        assert tiny_engine.in_flight == 1
        break
    await stream.aclose()
    assert tiny_engine.in_flight == 0
    # llama.cpp's own view: no slot still processing, once its loop has seen the stop
    # (within 1 s even on a loaded machine, far less than the 1,500 tokens asked for would
    # take; a fixed 0.1 s failed under load)
    for _ in range(20):
        if "llamacpp:requests_processing 0" in tiny_engine.llama_metrics():
            break
        await asyncio.sleep(0.05)
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


@pytest.mark.parametrize("llama_logs", [False, True])
async def test_llama_cpp_request_logs_only_when_asked(
        llama_logs: bool, capfd: pytest.CaptureFixture[str]) -> None:
    engine = LlamaCppEngine(resolve("tiny"), context_size=512, parallel=1,
                            llama_logs=llama_logs)
    try:
        capfd.readouterr()
        await engine.chat(_ask("Say hello", 4))
        # llama.cpp's log thread writes after the reply: give it up to 2 s to show up
        logged = ""
        for _ in range(40):
            logged += capfd.readouterr().err
            if "print_timing" in logged:
                break
            await asyncio.sleep(0.05)
    finally:
        await engine.close()
    assert ("print_timing" in logged) is llama_logs


def test_a_corrupt_model_file_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelError, match="could not load"):
        LlamaCppEngine(bad, context_size=256, parallel=1)


@pytest.fixture(scope="module")
def lookup_engine() -> Iterator[LlamaCppEngine]:
    """The tiny model with prompt-lookup speculation on, otherwise like `tiny_engine`."""
    engine = LlamaCppEngine(resolve("tiny"), context_size=2048, parallel=4, lookup_draft=4)
    yield engine
    asyncio.run(engine.close())


_COPY = ("Copy this sentence exactly: The Nile flows through eleven countries and ends in "
         "the Mediterranean Sea, after a journey of 6650 kilometres.")


def _drafted(engine: LlamaCppEngine) -> float:
    for line in engine.llama_metrics().splitlines():
        if line.startswith("llamacpp:spec_decode_num_draft_tokens_total"):
            return float(line.split()[-1])
    return 0.0


async def test_lookup_speculation_drafts_and_keeps_the_greedy_answer(
    tiny_engine: Engine, lookup_engine: LlamaCppEngine
) -> None:
    plain = await tiny_engine.chat(_ask(_COPY, 40))
    before = _drafted(lookup_engine)
    drafted = await lookup_engine.chat(_ask(_COPY, 40))
    assert _drafted(lookup_engine) > before  # it did speculate …
    assert drafted.content == plain.content  # … and the greedy answer is the same


async def test_lookup_speculation_leaves_forced_scores_alone(
    tiny_engine: Engine, lookup_engine: LlamaCppEngine
) -> None:
    prompt = "The Nile flows through eleven countries. The Nile flows through"
    choices = [" eleven countries.", " ten countries.", " banana"]
    plain = await tiny_engine.score_choices(prompt, choices)
    drafted = await lookup_engine.score_choices(prompt, choices)
    assert drafted == pytest.approx(plain, abs=1e-3)
    pieces = [[" eleven", " countries."], [" ten", " countries."]]
    plain_pieces = await tiny_engine.score_pieces(prompt, pieces)  # type: ignore[attr-defined]
    drafted_pieces = await lookup_engine.score_pieces(prompt, pieces)
    assert [x for c in drafted_pieces for x in c] == pytest.approx(
        [x for c in plain_pieces for x in c], abs=1e-3)

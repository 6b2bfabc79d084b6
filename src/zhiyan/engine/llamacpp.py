"""llama.cpp in this process, through the prebuilt `xllamacpp` wheel.

xllamacpp runs llama.cpp's own server loop (continuous batching over `parallel` slots,
prompt-prefix cache) on a C++ thread; each request is a blocking call that streams chunks
to a Python callback. We run those calls on a dedicated thread pool and hand chunks to the
event loop, so the async server never blocks. Returning True from the callback tells
llama.cpp to stop, which is how a client that hangs up frees its slot at once.

Tokenizing and chat-template rendering are not exposed as Python calls by xllamacpp; its
server also listens on a private 127.0.0.1 port, and we use its /tokenize and
/apply-template there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import xllamacpp

from zhiyan.engine.base import ChatChunk, ChatRequest, Engine, Message, Usage
from zhiyan.engine.errors import (
    BadRequestError,
    ContextOverflowError,
    EngineError,
    ModelError,
    QueueFullError,
)

log = logging.getLogger(__name__)

_DONE = object()
#: logit bias that makes greedy sampling pick a forced token (raw logits span ~30)
_FORCE_BIAS = 1000.0
#: how much of the ranked next-token list to ask for, in turn (the last: all of it)
_RANKED_LIST_SIZES = (5_000, 1 << 18)


class LlamaCppEngine(Engine):
    def __init__(
        self,
        model_path: Path,
        *,
        model_id: str = "zhiyan",
        context_size: int = 4096,
        parallel: int = 4,
        threads: int = 2,
        max_waiting: int = 16,
        prompt_cache_mib: int = 256,
        lookup_draft: int = 0,
        llama_logs: bool = False,
    ) -> None:
        self.model_id = model_id
        self.context_size = context_size
        self.parallel = parallel
        self.max_waiting = max_waiting
        self._in_flight = 0
        #: a token forced to read a position's ranked list (`_distribution_logprob`)
        self._anchor: int | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=parallel + max_waiting, thread_name_prefix="llamacpp"
        )
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        # Each slot gets its own `context_size` window (kv not unified), so the limit a
        # request sees does not depend on what other requests are doing.
        params.n_ctx = context_size * parallel
        params.n_parallel = parallel
        params.kv_unified = False
        params.cont_batching = True
        params.cache_prompt = True
        params.n_cache_reuse = 256
        params.cache_ram_mib = prompt_cache_mib
        params.verbosity = 3 if llama_logs else 1  # 3: llama.cpp's info lines; 1: errors
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.endpoint_metrics = True
        if lookup_draft:
            # Prompt-lookup speculation: the tokens that followed the last 3 generated ones
            # earlier in the context (a passage being copied) are drafted, up to
            # `lookup_draft`, and checked in one batch. llama.cpp applies it to every
            # request of this server (it has no per-request switch).
            params.speculative.types = [
                xllamacpp.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
            params.speculative.ngram_simple.size_n = 3
            params.speculative.ngram_simple.size_m = lookup_draft
            params.speculative.draft.n_max = lookup_draft
        params.warmup = False
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # llama.cpp reports a bad file as a generic error
            raise ModelError(
                f"llama.cpp could not load {model_path}: {exc}. The file is damaged or not a "
                "model llama.cpp supports: replace it, or use a verified one with "
                "--model default|lite|tiny (zhiyan model verify NAME checks it)"
            ) from exc
        # A thread-safe sync client used from worker threads: the engine then belongs to no
        # particular event loop and can be shared (tests reuse one across many loops).
        self._http = httpx.Client(base_url=self._server.listening_address, timeout=60)

    # -- admission -------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @contextlib.contextmanager
    def _admit(self):  # type: ignore[no-untyped-def]
        """Bounded admission: `parallel` running plus `max_waiting` queued, no more."""
        with self._lock:
            if self._in_flight >= self.parallel + self.max_waiting:
                raise QueueFullError(self._in_flight - self.parallel, retry_after=2)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    # -- chat ------------------------------------------------------------------------

    def _payload(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [m.model_dump() for m in request.messages],
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": stream,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop:
            body["stop"] = request.stop
        if request.seed is not None:
            body["seed"] = request.seed
        if request.grammar:
            body["grammar"] = request.grammar
        return body

    async def chat_stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        prompt_tokens = await self.count_tokens(request.messages)
        room = self.context_size - prompt_tokens
        if room < 1:
            raise ContextOverflowError(prompt_tokens, self.context_size)
        if request.max_tokens is None or request.max_tokens > room:
            # The answer may use what the prompt leaves; it ends with finish_reason "length".
            request = request.model_copy(update={"max_tokens": room})
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancelled = threading.Event()

        def on_chunk(data: dict[str, Any]) -> bool:
            loop.call_soon_threadsafe(queue.put_nowait, data)
            return cancelled.is_set()

        def run() -> None:
            try:
                self._server.handle_chat_completions(self._payload(request, True), on_chunk)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        with self._admit():
            future = loop.run_in_executor(self._pool, run)
            finish: str | None = None
            usage: Usage | None = None
            try:
                while (item := await queue.get()) is not _DONE:
                    _raise_if_error(item)
                    if item.get("usage"):
                        u = item["usage"]
                        usage = Usage(
                            prompt_tokens=u.get("prompt_tokens", 0),
                            completion_tokens=u.get("completion_tokens", 0),
                        )
                    for choice in item.get("choices") or []:
                        delta = (choice.get("delta") or {}).get("content") or ""
                        finish = choice.get("finish_reason") or finish
                        if delta:
                            yield ChatChunk(delta=delta)
                yield ChatChunk(
                    finish_reason="length" if finish == "length" else "stop",
                    usage=usage or Usage(prompt_tokens=prompt_tokens),
                )
            finally:
                # Reached on normal end, on error, and when the consumer closes us early
                # (client disconnected): the next callback returns True and the slot frees.
                cancelled.set()
                await asyncio.shield(future)

    # -- tokens and scoring ----------------------------------------------------------

    def _tokenize_sync(self, text: str) -> list[int]:
        response = self._http.post("/tokenize", json={"content": text})
        response.raise_for_status()
        return list(response.json()["tokens"])

    def _distribution_logprob(self, prompt: list[int], token: int) -> float:
        """The raw log-probability of `token` after `prompt`, read from the model's ranked
        next-token list.

        For a piece of a character that the tokenizer splits into bytes (嚬 in 一嚬一笑, 痡
        in 财殚力痡) llama.cpp reports no probability of its own: it reports the character
        with the piece that completes it. So a whole token (",") is forced instead, which
        makes the response carry the position's ranked list (raw logits, before the
        bias), and the piece is looked up there: in the top 5,000 (~0.1 s with the default
        model), else in the whole vocabulary (~1.6 s)."""
        if self._anchor is None:
            self._anchor = self._tokenize_sync(",")[0]
        for size in _RANKED_LIST_SIZES:
            result = self._server.handle_completions({
                "prompt": prompt, "max_tokens": 1, "n_probs": size, "temperature": 0.0,
                "logit_bias": [[self._anchor, _FORCE_BIAS]], "cache_prompt": True,
            })
            _raise_if_error(result)
            content = (result["choices"][0].get("logprobs") or {}).get("content") or []
            ranked = content[0].get("top_logprobs", []) if content else []
            found = next((e["logprob"] for e in ranked if e["id"] == token), None)
            if found is not None:
                return float(found)
        raise EngineError(f"llama.cpp reported no probability for token {token}")

    def _count_sync(self, messages: list[Message]) -> int:
        response = self._http.post(
            "/apply-template", json={"messages": [m.model_dump() for m in messages]}
        )
        response.raise_for_status()
        return len(self._tokenize_sync(response.json()["prompt"]))

    async def _tokenize(self, text: str) -> list[int]:
        return await asyncio.to_thread(self._tokenize_sync, text)

    async def count_tokens(self, messages: list[Message]) -> int:
        return await asyncio.to_thread(self._count_sync, messages)

    async def score_choices(self, prompt: str, choices: list[str]) -> list[float]:
        """Sum of log-probabilities of each choice's own tokens after `prompt`.

        Each choice is forced token by token (a logit bias, one token per request) and
        `n_probs` reports the model's raw probability of exactly that token. The prompt
        is a shared prefix: llama.cpp's prompt cache evaluates it once, and the choices run
        concurrently in the parallel slots.
        """
        if not choices:
            raise BadRequestError("score_choices needs at least one choice")
        prompt_ids = await self._tokenize(prompt)
        token_lists = [await self._tokenize(c) for c in choices]
        steps = await self._force(prompt_ids, token_lists)
        return [float(sum(s)) for s in steps]

    async def score_pieces(self, prompt: str, choices: list[list[str]],
                           given: int = 0) -> list[list[float]]:
        """Like `score_choices`, but each choice is a sequence of pieces, each tokenized on
        its own, and the log-probability of every piece (given the prompt and the pieces
        before it) comes back separately: one forced decode yields, say, both
        log P(idiom | before) and log P(idiom + text after | before).

        The first `given` pieces of each choice are context, not scored: they are read
        with the prompt in one batch instead of forced a token at a time, and only the
        later pieces' log-probabilities come back (a second look at a shortlist of
        candidates already scored costs only the text after them)."""
        if not choices or not all(len(c) > given for c in choices):
            raise BadRequestError(f"score_pieces needs choices of more than {given} pieces")
        prompt_ids = await self._tokenize(prompt)
        piece_ids = [[await self._tokenize(p) for p in c] for c in choices]
        steps = await self._force(prompt_ids, [[t for p in c for t in p] for c in piece_ids],
                                  [sum(map(len, c[:given])) for c in piece_ids])
        out: list[list[float]] = []
        for pieces, logprobs in zip(piece_ids, steps, strict=True):
            sums, at = [], 0
            for p in pieces[given:]:
                sums.append(float(sum(logprobs[at:at + len(p)])))
                at += len(p)
            out.append(sums)
        return out

    async def _force(self, prompt_ids: list[int], token_lists: list[list[int]],
                     starts: list[int] | None = None) -> list[list[float]]:
        """The log-probability of each forced token of each list after `prompt_ids`;
        a list's tokens before its `starts` entry are read as prompt, not forced."""
        longest = len(prompt_ids) + max(len(t) for t in token_lists)
        if longest > self.context_size:
            raise ContextOverflowError(longest, self.context_size)
        loop = asyncio.get_running_loop()

        def score(tokens: list[int], start: int) -> list[float]:
            # One request per forced token: the prompt grows by the tokens already forced
            # (the slot's cache holds them, so each request evaluates one new token), and
            # a logit bias makes the greedy pick the forced token. `n_probs` reports the
            # probability from the raw logits, before the bias. Measured against the
            # earlier token-id grammar: the same log-probs, without the grammar's pass
            # over the whole vocabulary at every step (up to ~400 ms a token for a token
            # the model would not pick, against ~50 ms for the evaluation). One token per
            # request also means speculative drafting never applies here (llama.cpp
            # reports no probabilities for drafted tokens).
            out: list[float] = []
            for k in range(start, len(tokens)):
                token = tokens[k]
                result = self._server.handle_completions(
                    {
                        "prompt": prompt_ids + tokens[:k],
                        "max_tokens": 1,
                        "n_probs": 1,
                        "temperature": 0.0,
                        "logit_bias": [[token, _FORCE_BIAS]],
                        "cache_prompt": True,
                    }
                )
                _raise_if_error(result)
                logprobs = result["choices"][0].get("logprobs")
                if not logprobs or not logprobs.get("content"):
                    # part of a character split into bytes: not reported on its own
                    out.append(self._distribution_logprob(prompt_ids + tokens[:k], token))
                    continue
                step = logprobs["content"][0]
                if step.get("id", token) != token:
                    raise EngineError(f"llama.cpp did not force token {token}: {step}")
                out.append(float(step["logprob"]))
            return out

        # At most one list per slot at a time: each list's requests then find their own
        # slot's cache (prompt + the tokens forced so far); more lists than slots would
        # interleave in a slot and re-evaluate each other's tokens (measured: 2x slower).
        slots = asyncio.Semaphore(self.parallel)

        async def score_in_a_slot(tokens: list[int], start: int) -> list[float]:
            async with slots:
                return await loop.run_in_executor(self._pool, score, tokens, start)

        with self._admit():
            return list(await asyncio.gather(*(
                score_in_a_slot(t, s) for t, s in
                zip(token_lists, starts or [0] * len(token_lists), strict=True))))

    # -- health and shutdown ---------------------------------------------------------

    def llama_metrics(self) -> str:
        return str(self._server.handle_metrics())

    async def health(self) -> dict[str, object]:
        return {
            "model": self.model_id,
            "context_size": self.context_size,
            "parallel": self.parallel,
            "in_flight": self._in_flight,
        }

    async def close(self) -> None:
        self._http.close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        del self._server


def _raise_if_error(item: dict[str, Any]) -> None:
    error = item.get("error") if isinstance(item.get("error"), dict) else None
    if error is None and "code" in item and "message" in item and "choices" not in item:
        error = item
    if error is None:
        return
    if error.get("type") == "exceed_context_size_error":
        raise ContextOverflowError(int(error.get("n_prompt_tokens", 0)), int(error.get("n_ctx", 0)))
    exc = EngineError(str(error.get("message", error)))
    if int(error.get("code", 500)) == 400:
        exc = BadRequestError(str(error.get("message")))
    raise exc

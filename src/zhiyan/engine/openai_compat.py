"""A remote OpenAI-compatible server: vLLM, a llama.cpp server, Ollama, or another zhiyan.

This is how a deployment outgrows one box: point `engine.base_url` at the server and
nothing else changes. Chat uses only the standard /v1/chat/completions schema. Token
counting and choice scoring use the server's extensions where it has them (llama.cpp's
/tokenize and token grammars; vLLM's /tokenize and echoed prompt logprobs).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from zhiyan.engine.base import ChatChunk, ChatRequest, Engine, Message, Usage
from zhiyan.engine.errors import BadRequestError, ContextOverflowError, EngineError, QueueFullError


class OpenAICompatEngine(Engine):
    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        context_size: int = 4096,
        timeout: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model_id = model
        self.context_size = context_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        root = base_url.rstrip("/").removesuffix("/v1")
        self._http = httpx.AsyncClient(
            base_url=root, headers=headers, timeout=timeout, transport=transport
        )

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": [m.model_dump() for m in request.messages],
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop:
            body["stop"] = request.stop
        if request.seed is not None:
            body["seed"] = request.seed
        if request.grammar:
            body["grammar"] = request.grammar  # llama.cpp; vLLM ignores unknown keys
        return body

    async def chat_stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        finish: str | None = None
        usage: Usage | None = None
        async with self._http.stream(
            "POST", "/v1/chat/completions", json=self._payload(request)
        ) as response:
            if response.status_code != 200:
                await response.aread()
                _raise_for_status(response)
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                item = json.loads(data)
                if item.get("error"):
                    raise EngineError(str(item["error"]))
                if item.get("usage"):
                    usage = Usage(
                        prompt_tokens=item["usage"].get("prompt_tokens", 0),
                        completion_tokens=item["usage"].get("completion_tokens", 0),
                    )
                for choice in item.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if delta:
                        yield ChatChunk(delta=delta)
        yield ChatChunk(finish_reason="length" if finish == "length" else "stop",
                        usage=usage or Usage())

    async def _tokenize(self, text: str) -> list[int]:
        response = await self._http.post("/tokenize", json={"content": text, "prompt": text,
                                                            "model": self.model_id})
        _raise_for_status(response)
        body = response.json()
        return list(body["tokens"])

    async def count_tokens(self, messages: list[Message]) -> int:
        """Exact where the server tokenizes (llama.cpp, vLLM); otherwise a stated estimate.

        The estimate (one token per 3 bytes of UTF-8, plus 4 per message) over-counts for
        English and roughly matches CJK, erring on the side of refusing too early.
        """
        text = "".join(f"{m.role}\n{m.content}\n" for m in messages)
        try:
            return len(await self._tokenize(text)) + 4 * len(messages)
        except (EngineError, httpx.HTTPError, KeyError, ValueError):
            return len(text.encode()) // 3 + 4 * len(messages)

    async def score_choices(self, prompt: str, choices: list[str]) -> list[float]:
        if not choices:
            raise BadRequestError("score_choices needs at least one choice")
        prompt_ids = await self._tokenize(prompt)
        scores = []
        for choice in choices:
            tokens = await self._tokenize(choice)
            if not tokens:
                scores.append(0.0)
                continue
            response = await self._http.post(
                "/completion",
                json={
                    "prompt": prompt_ids,
                    "n_predict": len(tokens),
                    "n_probs": 1,
                    "temperature": 0.0,
                    "grammar": "root ::= " + " ".join(f"<[{t}]>" for t in tokens),
                    "cache_prompt": True,
                },
            )
            _raise_for_status(response)
            steps = response.json()["completion_probabilities"]
            scores.append(float(sum(step["logprob"] for step in steps)))
        return scores

    async def health(self) -> dict[str, object]:
        response = await self._http.get("/v1/models")
        _raise_for_status(response)
        return {"model": self.model_id, "context_size": self.context_size, "remote": "ok"}

    async def close(self) -> None:
        await self._http.aclose()


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
        error = body.get("error", body) if isinstance(body, dict) else {}
    except ValueError:
        error = {"message": response.text}
    message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
    if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
        raise ContextOverflowError(int(error.get("n_prompt_tokens", 0)), int(error.get("n_ctx", 0)))
    if response.status_code == 429:
        raise QueueFullError(0, int(response.headers.get("retry-after", "2")))
    if response.status_code == 400:
        raise BadRequestError(message)
    raise EngineError(f"remote engine answered {response.status_code}: {message}")

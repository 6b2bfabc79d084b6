"""Prompt-lookup speculation (`engine.lookup_draft`) against none, on grounded CMRC prompts
and on open-ended chat, in one process.

One engine per setting, all with the same model; every prompt goes to each of them in a
rotating order, so they see the same prompt-cache states and the same machine load. The
timings are llama.cpp's own (prompt reading, generation) per request; the outputs are
compared for identity (greedy, temperature 0).

    flock /tmp/zhiyan-cpu.lock .venv/bin/python benchmarks/lookup_draft_bench.py \
        --offset 210 --limit 27 --drafts 0 4 8
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from zhiyan.engine.llamacpp import LlamaCppEngine
from zhiyan.engine.models import resolve
from zhiyan.eval.qa import load_questions
from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.grounded import RETRIEVE_K, build_prompt, relevant
from zhiyan.knowledge.settings import KnowledgeSettings

CMRC = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmrc2018_trial.json"
CHAT = ["写一段关于秋天的短文。", "Explain why the sky is blue, in a few sentences.",
        "给我三个周末活动的建议，并说明理由。", "Write a short story about a lost cat.",
        "介绍一下长城的历史。", "What are the pros and cons of remote work?"]


def grounded_prompts(path: Path, offset: int, limit: int) -> list[list[dict[str, str]]]:
    class _Room:
        context_size = 4096

    docs, questions = load_questions(path)
    out = []
    with tempfile.TemporaryDirectory() as folder:
        kb = KnowledgeBase.open(Path(folder) / "kb.sqlite3", KnowledgeSettings(embeddings=False))
        kb.add_many(docs)
        for q in questions[offset:offset + limit]:
            hits = relevant(kb.search_sync(q["question"], RETRIEVE_K), q["question"])
            if hits:
                prompt = build_prompt(_Room(), hits, q["question"], "zh", 48)  # type: ignore[arg-type]
                out.append([m.model_dump() for m in prompt.messages])
        kb.close()
    return out


def compare(engines: dict[int, LlamaCppEngine], prompts: list[list[dict[str, str]]],
            max_tokens: int, label: str) -> None:
    gen: dict[int, list[float]] = {d: [] for d in engines}
    read: dict[int, list[float]] = {d: [] for d in engines}
    per_token: dict[int, list[float]] = {d: [] for d in engines}
    differ = {d: 0 for d in engines}
    order = list(engines)
    for i, messages in enumerate(prompts):
        texts: dict[int, str] = {}
        for d in order[i % len(order):] + order[:i % len(order)]:
            # the private server: llama.cpp's own timings come with its reply
            reply: dict[str, Any] = engines[d]._server.handle_chat_completions(
                {"messages": messages, "max_tokens": max_tokens, "temperature": 0.0, "seed": 0})
            timings = reply.get("timings", {})
            texts[d] = reply["choices"][0]["message"]["content"]
            generated = timings.get("predicted_ms", 0.0)
            gen[d].append(generated / 1000)
            read[d].append(timings.get("prompt_ms", 0.0) / 1000)
            per_token[d].append(generated / max(timings.get("predicted_n", 1), 1))
        for d in order:
            differ[d] += texts[d] != texts[order[0]]
    print(f"\n{label}: {len(prompts)} prompts, max_tokens {max_tokens}")
    print(f"{'lookup_draft':<14}{'generation s':>14}{'ms/token':>10}{'prompt s':>10}{'differ':>8}")
    for d in order:
        print(f"{d:<14}{sum(gen[d]):>14.1f}{statistics.mean(per_token[d]):>10.1f}"
              f"{sum(read[d]):>10.1f}{differ[d]:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=CMRC)
    parser.add_argument("--offset", type=int, default=210)
    parser.add_argument("--limit", type=int, default=27)
    parser.add_argument("--drafts", type=int, nargs="+", default=[0, 4, 8])
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    path = resolve(args.model)
    engines = {d: LlamaCppEngine(path, context_size=4096, parallel=2, lookup_draft=d)
               for d in args.drafts}
    compare(engines, grounded_prompts(args.data, args.offset, args.limit), 48,
            "grounded answers (CMRC)")
    chat = [[{"role": "user", "content": text}] for text in CHAT]
    compare(engines, chat, 96, "open-ended chat")


if __name__ == "__main__":
    main()

"""zhiyan's HTTP API against llama.cpp called directly through xllamacpp, in one run.

Both run the same model with the same threads and slots; requests alternate between them
so that machine noise hits both alike. Prints decode tokens/s and time to first token
(TTFT) for 1 and for N concurrent streams, the ratios, and the server's peak RSS.

    .venv/bin/python benchmarks/engine_bench.py --model default --rounds 3

Decode rate is measured per stream from its first to its last token (tokens after the
first / time), so it excludes prompt processing; TTFT is from sending to the first token.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import xllamacpp

from zhiyan.engine.models import resolve

QUESTIONS = [
    "Explain in a few sentences why the sky is blue.",
    "画蛇添足是什么意思？请举一个例子。",
    "Give three tips for learning a new language.",
    "What is the difference between a lake and a sea?",
]


@dataclass
class Stream:
    ttft: float
    tokens: int
    decode_seconds: float


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Direct:
    """llama.cpp through xllamacpp, no zhiyan code in the path."""

    def __init__(self, model: Path, threads: int, parallel: int, ctx: int) -> None:
        params = xllamacpp.CommonParams()
        params.model.path = str(model)
        params.n_ctx = ctx * parallel
        params.n_parallel = parallel
        params.cont_batching = True
        params.cache_prompt = True
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.warmup = False
        self.server = xllamacpp.Server(params)

    def one(self, question: str, max_tokens: int) -> Stream:
        start = time.perf_counter()
        stamps: list[float] = []

        def on_chunk(data: dict) -> bool:
            for choice in data.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    stamps.append(time.perf_counter())
            return False

        self.server.handle_chat_completions(
            {"messages": [{"role": "user", "content": question}], "max_tokens": max_tokens,
             "temperature": 0.0, "stream": True},
            on_chunk,
        )
        return Stream(stamps[0] - start, len(stamps), stamps[-1] - stamps[0])


class ViaZhiyan:
    """The same model behind `zhiyan serve`, over HTTP with SSE streaming."""

    def __init__(self, model: str, threads: int, parallel: int, ctx: int, port: int) -> None:
        env = {**os.environ, "ZHIYAN_ENGINE__THREADS": str(threads),
               "ZHIYAN_ENGINE__PARALLEL": str(parallel),
               "ZHIYAN_ENGINE__CONTEXT_SIZE": str(ctx),
               "ZHIYAN_STORAGE__DATA_DIR": f"/tmp/zhiyan-bench-{os.getpid()}"}
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zhiyan.cli", "serve", "--model", model, "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise RuntimeError("zhiyan serve did not come up")

    def one(self, question: str, max_tokens: int) -> Stream:
        start = time.perf_counter()
        stamps: list[float] = []
        body = {"messages": [{"role": "user", "content": question}], "max_tokens": max_tokens,
                "temperature": 0.0, "stream": True}
        with httpx.stream("POST", self.url + "/v1/chat/completions", json=body,
                          timeout=600) as response:
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                for choice in json.loads(line[6:]).get("choices") or []:
                    if (choice.get("delta") or {}).get("content"):
                        stamps.append(time.perf_counter())
        return Stream(stamps[0] - start, len(stamps), stamps[-1] - stamps[0])

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def concurrent(target: Direct | ViaZhiyan, n: int, max_tokens: int) -> tuple[list[Stream], float]:
    """n streams started together; returns them and the aggregate decode tokens/s."""
    results: list[Stream] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        stream = target.one(QUESTIONS[i % len(QUESTIONS)], max_tokens)
        with lock:
            results.append(stream)

    start = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return results, sum(s.tokens for s in results) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()

    direct = Direct(resolve(args.model), args.threads, args.parallel, args.ctx)
    zhiyan = ViaZhiyan(args.model, args.threads, args.parallel, args.ctx, args.port)
    rows: dict[str, dict[str, list[float]]] = {
        name: {"decode": [], "ttft": [], "agg1": [], "aggN": [], "ttftN": []}
        for name in ("direct", "zhiyan")
    }
    try:
        for _ in range(args.rounds):
            for name, target in (("direct", direct), ("zhiyan", zhiyan)):
                for question in QUESTIONS:
                    s = target.one(question, args.max_tokens)
                    rows[name]["ttft"].append(s.ttft)
                    if s.tokens > 1:
                        rows[name]["decode"].append((s.tokens - 1) / s.decode_seconds)
                _, agg1 = concurrent(target, 1, args.max_tokens)
                rows[name]["agg1"].append(agg1)
                many, aggn = concurrent(target, args.concurrency, args.max_tokens)
                rows[name]["aggN"].append(aggn)
                rows[name]["ttftN"].extend(s.ttft for s in many)
        rss = zhiyan.peak_rss_mb()
    finally:
        zhiyan.close()

    def med(name: str, key: str) -> float:
        return statistics.median(rows[name][key])

    n = args.concurrency
    print(f"model={args.model} threads={args.threads} parallel={args.parallel} "
          f"max_tokens={args.max_tokens} rounds={args.rounds}")
    print(f"{'':28}{'direct':>10}{'zhiyan':>10}{'ratio':>8}")
    lines = [
        ("decode tok/s, 1 stream (p50)", med("direct", "decode"), med("zhiyan", "decode")),
        ("TTFT s, 1 stream (p50)", med("direct", "ttft"), med("zhiyan", "ttft")),
        ("TTFT s, 1 stream (p95)", _percentile(rows["direct"]["ttft"], 0.95),
         _percentile(rows["zhiyan"]["ttft"], 0.95)),
        ("aggregate tok/s, 1 stream", med("direct", "agg1"), med("zhiyan", "agg1")),
        (f"aggregate tok/s, {n} streams", med("direct", "aggN"), med("zhiyan", "aggN")),
        (f"TTFT s, {n} streams (p50)", med("direct", "ttftN"), med("zhiyan", "ttftN")),
        (f"TTFT s, {n} streams (p95)", _percentile(rows["direct"]["ttftN"], 0.95),
         _percentile(rows["zhiyan"]["ttftN"], 0.95)),
    ]
    for label, d, z in lines:
        print(f"{label:28}{d:10.2f}{z:10.2f}{z / d:8.3f}")
    overhead = 1 - med("zhiyan", "decode") / med("direct", "decode")
    print(f"decode overhead: {overhead:+.1%} (target <= 3%)")
    print(f"zhiyan server peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()

"""SMS gateway benchmark, in one run:

1. Acceptance: inbound webhooks (generic provider) accepted and durably queued per second,
   and acceptance latency p50/p99, with the engine replaced by an instant one (gateway
   overhead only; the worker is off so only acceptance is measured). Baselines in the
   same run, same server, same load: `/healthz` (a GET, nothing written) and a plain POST
   of the same body to a handler that only reads it. Every accepted message is then
   counted in the database.
2. End to end with a real model: a few questions by SMS, timed from the webhook to the
   reply arriving at a local stand-in gateway, against the same server's
   `/v1/chat/completions` for the same question (the plain engine, no SMS path).

    .venv/bin/python benchmarks/sms_bench.py --requests 3000 --concurrency 32 --e2e 3

The server runs as a separate process (uvicorn, one worker), so the load generator and the
server each get their own core, as on a 2-core gateway box with the client elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from fastapi import Request

from zhiyan.engine.base import ChatChunk, ChatRequest, Engine, Message, Usage

QUESTIONS = [
    "What is the capital of Kenya?",
    "How do I keep drinking water safe?",
    "Habari, mvua itanyesha lini?",
    "What does the idiom 画蛇添足 mean?",
]


class InstantEngine(Engine):
    """Answers at once, so only the gateway's own cost is measured."""

    model_id = "instant"
    context_size = 4096

    async def chat_stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        yield ChatChunk(delta="ok", finish_reason="stop", usage=Usage(completion_tokens=1))

    async def count_tokens(self, messages: list[Message]) -> int:
        return sum(len(m.content) // 4 + 1 for m in messages)

    async def score_choices(self, prompt: str, choices: list[str]) -> list[float]:
        return [0.0 for _ in choices]


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from zhiyan.app import create_app
    from zhiyan.config import EngineSettings, Settings, StorageSettings
    from zhiyan.engine.factory import build_engine

    sms = {"worker_in_server": args.worker, "rate_per_minute": 100000,
           "daily_quota": 100000, "providers": {"generic": {"send_url": args.send_url}}}
    settings = Settings(engine=EngineSettings(model=args.model, parallel=2),
                        storage=StorageSettings(data_dir=Path(args.data)), extra={"sms": sms})
    engine = InstantEngine() if args.model == "instant" else build_engine(settings.engine)
    app = create_app(settings, engine)

    @app.post("/bench/post")
    async def post_baseline(request: Request) -> dict[str, bool]:
        """The same POST, body read and answered, nothing parsed or stored."""
        await request.body()
        return {"ok": True}

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


class Sink:
    """The stand-in gateway: records when each reply arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, tuple[float, dict]] = {}
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                sink.arrived.setdefault(body["to"], (time.perf_counter(), body))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(model: str, data: Path, send_url: str, worker: bool) -> tuple[subprocess.Popen,
                                                                               str]:
    port = _free_port()
    cmd = [sys.executable, __file__, "serve", "--port", str(port), "--data", str(data),
           "--model", model, "--send-url", send_url]
    if worker:
        cmd.append("--worker")
    proc = subprocess.Popen(cmd, env={**os.environ, "ZHIYAN_CONFIG": ""})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(url: str, n: int, concurrency: int, make: str, offset: int,
               prefix: str = "bench") -> tuple[float, list[float]]:
    """`n` requests from `concurrency` connections; returns (requests/s, latencies)."""
    latencies: list[float] = []
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one_client() -> None:
            for i in counter:
                started = time.perf_counter()
                body = {"id": f"{prefix}-{offset + i}", "from": f"+2547{(offset + i) % 10**8:08d}",
                        "to": "22345", "text": f"benchmark message {i}"}
                if make == "healthz":
                    response = await client.get(f"{url}/healthz")
                elif make == "post":
                    response = await client.post(f"{url}/bench/post", json=body)
                else:
                    response = await client.post(f"{url}/sms/generic/inbound", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{make}: HTTP {response.status_code} {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        return n / (time.perf_counter() - started), latencies


def acceptance(args: argparse.Namespace, scratch: Path) -> None:
    data = scratch / "accept"
    proc, url = start_server("instant", data, "http://127.0.0.1:9/unused", worker=False)
    try:
        asyncio.run(load(url, 200, args.concurrency, "webhook", 0, "warmup"))
        asyncio.run(load(url, 200, args.concurrency, "healthz", 0))
        results: dict[str, list[tuple[float, list[float]]]] = {}
        cpu: dict[str, float] = {}
        for rnd in range(args.rounds):  # alternate, so machine noise hits both alike
            for kind in ("healthz", "post", "webhook"):
                before = cpu_seconds(proc.pid)
                rate, lat = asyncio.run(load(url, args.requests, args.concurrency, kind,
                                             rnd * args.requests))
                cpu[kind] = cpu.get(kind, 0.0) + cpu_seconds(proc.pid) - before
                results.setdefault(kind, []).append((rate, lat))
    finally:
        proc.terminate()
        proc.wait()
    conn = sqlite3.connect(data / "zhiyan.sqlite3")
    queued = conn.execute("SELECT count(*) FROM sms_inbound WHERE provider_msg_id LIKE"
                          " 'bench-%'").fetchone()[0]
    conn.close()
    expected = args.requests * args.rounds
    print(f"## acceptance: {args.requests} requests x {args.rounds} rounds, "
          f"{args.concurrency} connections")
    summary = {}
    for kind, runs in results.items():
        rate = statistics.median(r for r, _ in runs)
        lat = [x for _, lats in runs for x in lats]
        summary[kind] = rate
        per_request = cpu[kind] / (args.requests * args.rounds)
        print(f"{kind:8} {rate:8.0f} req/s   p50 {_pct(lat, .5) * 1000:6.1f} ms   "
              f"p99 {_pct(lat, .99) * 1000:6.1f} ms   server CPU {per_request * 1000:.2f} ms/req"
              f" (= {1 / per_request:.0f} req/s per free core)")
    print(f"durably queued: {queued} of {expected} accepted")
    print(f"ratio webhook/healthz throughput: {summary['webhook'] / summary['healthz']:.2f}")
    print(f"ratio webhook/plain POST throughput: {summary['webhook'] / summary['post']:.2f}")
    if queued != expected:
        raise SystemExit("accepted messages are missing from the queue")


def end_to_end(args: argparse.Namespace, scratch: Path) -> None:
    sink = Sink()
    proc, url = start_server(args.model, scratch / "e2e", sink.url, worker=True)
    sms_times, direct_times = [], []
    try:
        for i in range(args.e2e):
            question = QUESTIONS[i % len(QUESTIONS)]
            number = f"+25479900{i:04d}"

            def by_sms(i: int = i, question: str = question, number: str = number) -> dict:
                started = time.perf_counter()
                httpx.post(f"{url}/sms/generic/inbound", timeout=30, json={
                    "id": f"e2e-{i}", "from": number, "to": "22345", "text": question})
                while number not in sink.arrived:
                    time.sleep(0.05)
                arrived, body = sink.arrived[number]
                sms_times.append(arrived - started)
                return body

            def direct(question: str = question) -> None:
                started = time.perf_counter()
                httpx.post(f"{url}/v1/chat/completions", timeout=900, json={
                    "model": "x", "messages": [{"role": "user", "content": question}],
                    "max_tokens": 306})
                direct_times.append(time.perf_counter() - started)

            # alternate the order: the second call of a pair reuses the first one's cached
            # prompt prefix, and that advantage must not always go to the same side
            if i % 2 == 0:
                body = by_sms()
                direct()
            else:
                direct()
                body = by_sms()
            print(f"e2e {i}: sms {sms_times[-1]:6.2f} s ({body['encoding']}, "
                  f"{len(body['text'])} chars)   direct chat {direct_times[-1]:6.2f} s",
                  flush=True)
    finally:
        proc.terminate()
        proc.wait()
    print(f"## end to end, model {args.model}: median sms {statistics.median(sms_times):.2f} s,"
          f" median direct {statistics.median(direct_times):.2f} s, ratio "
          f"{statistics.median(sms_times) / statistics.median(direct_times):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    srv = sub.add_parser("serve")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--data", required=True)
    srv.add_argument("--model", default="instant")
    srv.add_argument("--send-url", required=True)
    srv.add_argument("--worker", action="store_true")
    parser.add_argument("--requests", type=int, default=3000, help="per round (0: skip)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--e2e", type=int, default=3, help="questions for end to end (0: skip)")
    parser.add_argument("--model", default="default", help="model for the end-to-end part")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
        return
    with tempfile.TemporaryDirectory() as scratch:
        if args.requests:
            acceptance(args, Path(scratch))
        if args.e2e:
            end_to_end(args, Path(scratch))


if __name__ == "__main__":
    main()

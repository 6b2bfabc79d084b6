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
import shutil
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

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", http=args.http,
                loop="uvloop" if args.http == "httptools" else "asyncio")


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


def start_server(model: str, data: Path, send_url: str, worker: bool,
                 http: str = "httptools") -> tuple[subprocess.Popen, str]:
    port = _free_port()
    cmd = [sys.executable, __file__, "serve", "--port", str(port), "--data", str(data),
           "--model", model, "--send-url", send_url, "--http", http]
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


WRK_SCRIPT = """
local counter = 0
local prefix = "bench"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
init = function(args) prefix = args[1] end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"id":"%s-%d","from":"+2547%08d","to":"22345","text":"benchmark message %d"}',
    prefix, counter, counter % 100000000, counter)
  return wrk.format(nil, wrk.path, nil, body)
end
"""

PATHS = {"healthz": "/healthz", "post": "/bench/post", "webhook": "/sms/generic/inbound"}


def wrk(url: str, kind: str, seconds: int, connections: int, script: Path,
        prefix: str) -> tuple[int, float, float, float]:
    """One wrk run (C load generator, one thread, so it takes one core and the server the
    other); returns (requests answered, requests/s, p50 s, p99 s)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if kind != "healthz":
        cmd += ["-s", str(script)]
    cmd += [url + PATHS[kind], "--", prefix]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"{kind}: wrk saw errors:\n{out}")
    fields = {}
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] in (["50%"], ["99%"]):
            fields[parts[0]] = _seconds(parts[1])
        elif "requests in" in line:
            fields["n"] = int(parts[0])
        elif line.startswith("Requests/sec:"):
            fields["rate"] = float(parts[1])
    return fields["n"], fields["rate"], fields["50%"], fields["99%"]


def _seconds(text: str) -> float:
    for unit, scale in (("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    raise ValueError(text)


async def open_loop(url: str, rate: float, seconds: float, prefix: str,
                    pool: int = 64) -> tuple[int, float, list[float]]:
    """Webhooks sent at a fixed rate whatever the answers do (an open loop, like real
    phones), each latency counted from the moment it was due, so a stalled server cannot
    hide its queue (no coordinated omission). Returns (sent, achieved rate, latencies)."""
    host, port = url.removeprefix("http://").split(":")
    conns: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(pool):
        conns.put_nowait(await asyncio.open_connection(host, int(port)))
    latencies: list[float] = []

    async def send(i: int, due: float) -> None:
        reader, writer = await conns.get()
        body = json.dumps({"id": f"{prefix}-{i}", "from": f"+2547{i % 10**8:08d}",
                           "to": "22345", "text": f"benchmark message {i}"}).encode()
        writer.write(b"POST /sms/generic/inbound HTTP/1.1\r\nHost: bench\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - due)
        conns.put_nowait((reader, writer))
        if b" 200 " not in status:
            raise SystemExit(f"open loop: {status!r}")

    n = int(rate * seconds)
    tasks = []
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i, due)))
    await asyncio.gather(*tasks)
    achieved = n / (time.perf_counter() - start)
    while not conns.empty():
        conns.get_nowait()[1].close()
    return n, achieved, latencies


def acceptance(args: argparse.Namespace, scratch: Path) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (scripts/install-system-deps.sh)")
    script = scratch / "webhook.lua"
    script.write_text(WRK_SCRIPT)
    data = scratch / "accept"
    proc, url = start_server("instant", data, "http://127.0.0.1:9/unused", worker=False,
                             http=args.http)
    answered = 0
    try:
        for kind in PATHS:  # warm-up
            answered += wrk(url, kind, 2, args.connections, script, "warm")[0] * (
                kind == "webhook")
        results: dict[str, list[tuple[float, float, float]]] = {}
        cpu: dict[str, tuple[float, int]] = {}
        for rnd in range(args.rounds):  # alternate, so machine noise hits all alike
            for kind in PATHS:
                before = cpu_seconds(proc.pid)
                n, rate, p50, p99 = wrk(url, kind, args.seconds, args.connections, script,
                                        f"bench{rnd}")
                spent, count = cpu.get(kind, (0.0, 0))
                cpu[kind] = (spent + cpu_seconds(proc.pid) - before, count + n)
                results.setdefault(kind, []).append((rate, p50, p99))
                answered += n * (kind == "webhook")
        fixed_rate = []
        for rate in args.rates:
            n, achieved, lat = asyncio.run(open_loop(url, rate, args.seconds, f"rate{rate}"))
            answered += n
            lat.sort()
            fixed_rate.append((rate, achieved, lat[len(lat) // 2], lat[int(len(lat) * .99)],
                               lat[-1]))
    finally:
        proc.terminate()
        proc.wait()
    conn = sqlite3.connect(data / "zhiyan.sqlite3")
    queued = conn.execute("SELECT count(*) FROM sms_inbound").fetchone()[0]
    conn.close()
    print(f"## acceptance: {args.rounds} rounds x {args.seconds} s per endpoint, "
          f"{args.connections} connections (wrk, medians over rounds)")
    summary = {}
    for kind, runs in results.items():
        rate = statistics.median(r for r, _, _ in runs)
        summary[kind] = rate
        spent, count = cpu[kind]
        per_request = spent / count
        p50 = statistics.median(r[1] for r in runs) * 1000
        p99 = statistics.median(r[2] for r in runs) * 1000
        worst = max(r[2] for r in runs) * 1000
        print(f"{kind:8} {rate:8.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms (worst "
              f"{worst:.1f})   server CPU {per_request * 1000:.2f} ms/req")
    for rate, achieved, p50, p99, worst in fixed_rate:
        print(f"webhook at a fixed {rate:.0f}/s (open loop, {args.seconds} s): achieved "
              f"{achieved:.0f}/s   p50 {p50 * 1000:.1f} ms   p99 {p99 * 1000:.1f} ms   "
              f"max {worst * 1000:.1f} ms")
    # wrk stops its clock with requests in flight: those may be committed yet uncounted
    print(f"durably queued: {queued} (answered 200: {answered}; in flight at each stop: "
          f"at most {args.connections})")
    print(f"ratio webhook/healthz throughput: {summary['webhook'] / summary['healthz']:.2f}")
    print(f"ratio webhook/plain POST throughput: {summary['webhook'] / summary['post']:.2f}")
    if not answered <= queued <= answered + args.connections * (args.rounds + 1):
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
    srv.add_argument("--http", default="httptools")
    parser.add_argument("--seconds", type=int, default=10,
                        help="per endpoint and round (0: skip the acceptance part)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rates", type=float, nargs="*", default=[500.0, 1000.0],
                        help="fixed webhook rates for the open-loop latency part")
    parser.add_argument("--http", choices=["httptools", "h11"], default="httptools",
                        help="uvicorn's HTTP parser (h11 with the asyncio loop: the slow path)")
    parser.add_argument("--e2e", type=int, default=3, help="questions for end to end (0: skip)")
    parser.add_argument("--model", default="default", help="model for the end-to-end part")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
        return
    with tempfile.TemporaryDirectory() as scratch:
        if args.seconds:
            acceptance(args, Path(scratch))
        if args.e2e:
            end_to_end(args, Path(scratch))


if __name__ == "__main__":
    main()

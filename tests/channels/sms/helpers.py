"""Test helpers for the SMS channel: a stand-in gateway at the HTTP boundary of the paid APIs
(Africa's Talking, Twilio) and of a generic gateway that honours idempotency keys, plus an
app builder and a polling wait."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI

from zhiyan.app import create_app
from zhiyan.config import Settings
from zhiyan.engine.base import Engine
from zhiyan.storage.db import connect


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.path.partition("?")[2], keep_blank_values=True))


@dataclass
class Gateway:
    """A local HTTP server standing in for a gateway's API.

    `failures[path_prefix]` = N answers the next N requests there with 500. Requests with an
    `Idempotency-Key` are deduplicated like a gateway that honours the key would: a repeat
    gets the first answer and is not delivered again.
    """

    requests: list[Seen] = field(default_factory=list)
    delivered: dict[str, Seen] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    # the sender died mid-request (a SIGKILLed worker): like any HTTP server,
                    # drop the truncated request rather than deliver what arrived
                    self.close_connection = True
                    return
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in
                                                     self.headers.items()}, body)
                status, payload = gateway.answer(seen)
                if gateway.delay:
                    time.sleep(gateway.delay)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(seen)
            for prefix, left in self.failures.items():
                if seen.path.startswith(prefix) and left > 0:
                    self.failures[prefix] = left - 1
                    return 500, {"error": "stand-in failure"}
            key = seen.headers.get("idempotency-key")
            if key:
                self.delivered.setdefault(key, seen)
                return 200, {"id": f"gw-{key}"}
            if seen.path.startswith("/version1/messaging"):
                n = len(self.requests)
                return 201, {"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [{
                    "statusCode": 101, "number": seen.form.get("to"), "status": "Success",
                    "cost": "KES 0.8000", "messageId": f"ATXid_{n}"}]}}
            if "/Messages.json" in seen.path:
                return 201, {"sid": f"SM{len(self.requests):032d}", "status": "queued"}
            return 200, {}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sent_to(self, path_prefix: str) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]


def sms_settings(settings: Settings, **sms: Any) -> Settings:
    base: dict[str, Any] = {"poll_interval_s": 0.05, "send_backoff_s": 0.1}
    base.update(sms)
    return settings.model_copy(update={"extra": {**settings.extra, "sms": base}})


def build_app(settings: Settings, engine: Engine, assistant: Any = None) -> FastAPI:
    app = create_app(settings, engine)
    if assistant is not None:
        app.state.assistant = assistant
    return app


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def db(settings: Settings) -> sqlite3.Connection:
    return connect(settings.storage.database)


def rows(settings: Settings, sql: str, *args: Any) -> list[sqlite3.Row]:
    conn = db(settings)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()

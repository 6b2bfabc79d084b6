"""Fault injection: `zhiyan sms worker` processes are killed with SIGKILL at random moments
(mid-claim, mid-answer, mid-commit, mid-send) and restarted until the queue drains. Every
accepted message must end with exactly one reply delivered at the gateway.

The gateway is the local stand-in that honours `Idempotency-Key` (the generic provider's
contract); it also counts raw requests, so resends after a crash are visible. The engine is
the instant echo (with a small delay standing in for model time) so many messages and many
crashes fit in a few seconds. The argument for why this holds is in worker.py's docstring.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.channels.sms.helpers import Gateway, build_app, rows, sms_settings
from tests.conftest import LiveServer
from zhiyan.config import Settings
from zhiyan.engine.base import Engine

NUMBERS = 12
PER_NUMBER = 5
MAX_KILLS = 10


def _config(settings: Settings, gateway: Gateway, path: Path) -> Path:
    path.write_text(
        f'[storage]\ndata_dir = "{settings.storage.data_dir}"\n\n'
        "[sms]\nlease_seconds = 1.0\npoll_interval_s = 0.02\nconcurrency = 3\n"
        "send_backoff_s = 0.05\nrate_per_minute = 1000\ndaily_quota = 1000\n"
        # every kill of a claimed message counts as an attempt: don't turn them into apologies
        "max_attempts = 100\n\n"
        f'[sms.providers.generic]\nsend_url = "{gateway.url}/generic/send"\n'
    )
    return path


def _start_worker(config: Path, log: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhiyan.cli", "sms", "worker", "--config", str(config),
         "--echo", "--echo-delay", "0.02"],
        stdout=subprocess.PIPE, stderr=log.open("a"), text=True,
        env={**os.environ, "ZHIYAN_CONFIG": ""},
    )
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "sms worker ready" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        proc.kill()
        raise AssertionError("the worker did not start: " + log.read_text()[-2000:])
    return proc


def _pending(settings: Settings) -> int:
    queued = rows(settings, "SELECT count(*) FROM sms_inbound WHERE state = 'queued'")[0][0]
    unsent = rows(settings, "SELECT count(*) FROM sms_outbox WHERE state = 'pending'")[0][0]
    return int(queued) + int(unsent)


def test_sigkilled_workers_reply_exactly_once(settings: Settings, shared_engine: Engine,
                                              gateway: Gateway, tmp_path: Path) -> None:
    seed = int(os.environ.get("ZHIYAN_TEST_SEED") or time.time())  # printed below: rerun
    rng = random.Random(seed)
    gateway.delay = 0.05  # widen the window between "gateway has it" and "marked sent",
    # and make the queue last several worker lives (at 0.02 s some seeds drained it in two)
    accepting = sms_settings(settings, worker_in_server=False,
                             providers={"generic": {"send_url": f"{gateway.url}/generic/send"}})
    expected: dict[str, tuple[str, str]] = {}
    with LiveServer(build_app(accepting, shared_engine)) as live, httpx.Client() as client:
        for i in range(NUMBERS * PER_NUMBER):
            number = f"+2547000{i % NUMBERS:05d}"
            msg_id = f"fi-{i}"
            body = {"id": msg_id, "from": number, "to": "22345", "text": f"message {i}"}
            assert client.post(f"{live.url}/sms/generic/inbound", json=body).status_code == 200
            expected[msg_id] = (number, f"You said: message {i}")
            if i % 6 == 0:  # the gateway retries some webhooks: no new message
                assert client.post(f"{live.url}/sms/generic/inbound",
                                   json=body).json()["duplicate"] is True

    config = _config(settings, gateway, tmp_path / "worker.toml")
    log = tmp_path / "worker.log"
    kills_mid_work = 0
    for _ in range(MAX_KILLS):
        if _pending(settings) == 0:
            break
        proc = _start_worker(config, log)
        time.sleep(rng.uniform(0.0, 0.5))
        if _pending(settings) > 0:
            kills_mid_work += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # a last worker, left alone, finishes whatever the crashes left behind
    proc = _start_worker(config, log)
    deadline = time.monotonic() + 60
    while _pending(settings) > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)

    print(f"seed {seed}: {kills_mid_work} kills mid-work, {len(gateway.requests)} gateway "
          f"requests for {len(gateway.delivered)} distinct replies")
    assert kills_mid_work >= 3, "the test did not kill any worker while work remained"
    inbound = rows(settings, "SELECT * FROM sms_inbound ORDER BY id")
    assert len(inbound) == len(expected)
    assert {r["state"] for r in inbound} == {"answered"}
    outbox = rows(settings, "SELECT * FROM sms_outbox")
    assert sorted(r["inbound_id"] for r in outbox) == [r["id"] for r in inbound]
    assert {r["state"] for r in outbox} == {"sent"}
    # at the gateway: exactly one delivered reply per accepted message, with the right text
    by_inbound = {r["provider_msg_id"]: r["id"] for r in inbound}
    delivered = {(seen.json["to"], seen.json["text"]) for seen in gateway.delivered.values()}
    assert len(gateway.delivered) == len(expected)
    assert delivered == set(expected.values())
    assert set(gateway.delivered) == {f"zhiyan-sms-{by_inbound[m]}" for m in expected}


def test_a_send_cut_off_by_the_kill_is_not_delivered(gateway: Gateway) -> None:
    """A worker killed between a request's headers and its body leaves a truncated request;
    the stand-in must drop it as a real gateway would, or its key would swallow the retry."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(gateway.url)
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(b"POST /generic/send HTTP/1.1\r\nHost: x\r\nIdempotency-Key: zhiyan-sms-1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"to\": ")
    deadline = time.monotonic() + 1  # the stand-in reads until the socket closes: ample
    while gateway.requests == [] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gateway.delivered == {} and gateway.requests == []

"""The SMS worker: turns queued messages into replies and replies into sent messages.

Why every accepted message gets exactly one reply, even if a worker is SIGKILLed at any
instruction:

1. *Accepted means durable, once.* A webhook answers 2xx only after the inbound row is
   committed (WAL, `synchronous=FULL`), and `UNIQUE(provider, provider_msg_id)` turns a
   gateway's retry into a no-op. One accepted message, one inbound row.

2. *The reply is recorded exactly once.* A worker claims a row with a lease, computes the
   answer (nothing durable is written meanwhile), then in ONE transaction inserts the
   outbox row, applies the session changes and moves the inbound row from `queued` to
   done — conditioned on still holding the lease. SQLite commits that transaction whole
   or not at all. Killed before COMMIT: nothing was written, the lease expires and the
   message is claimed again (a fresh answer is computed; the lost one was never shown to
   anyone). Killed after COMMIT: the row is done and never claimed again.
   `UNIQUE(outbox.inbound_id)` and the lease check forbid a second reply if an expired
   lease let two workers race. Every row is eventually claimed once leases expire, and
   after `max_attempts` failed attempts the reply is a localized apology rather than
   nothing — so at least one, and at most one.

3. *The reply is sent exactly once at the gateway.* The outbox row is claimed with a lease
   and sent with its idempotency key `zhiyan-sms-<inbound id>`; it is marked sent after
   the gateway answers. Killed in between, the lease expires and the same row is sent
   again with the same key, which a gateway honouring idempotency keys (the generic
   provider's contract) answers with the first result: the phone gets one message.
   Kannel, Africa's Talking and Twilio take no such key; for them the one duplicate
   window is a crash between their HTTP answer and our commit (milliseconds).
   A reply carried in the webhook's own HTTP response (Kannel `reply = "body"`) is marked
   sent in the same statement that hands it to the webhook, so no sender sends it; if that
   response is lost, the gateway repeats the webhook and gets the same reply again.

Delivery reports then move `sent` to `delivered` or `undelivered`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

import httpx

from zhiyan.channels.sms import dialogue
from zhiyan.channels.sms.dialogue import Decision, Responder
from zhiyan.channels.sms.providers.base import (
    OutboundMessage,
    Provider,
    SendError,
    load_provider,
)
from zhiyan.channels.sms.queue import InboundRow, OutboxRow, Queue
from zhiyan.channels.sms.sessions import remember, save
from zhiyan.channels.sms.settings import SmsSettings

log = logging.getLogger("zhiyan.sms")


class LeaseLost(Exception):
    """Another worker took the message over (our lease expired): drop our answer."""


def load_providers(settings: SmsSettings) -> dict[str, Provider]:
    providers = {}
    for name, options in settings.providers.items():
        try:
            providers[name] = load_provider(name, options)
        except KeyError:
            raise ValueError(f"[sms.providers.{name}]: no such SMS provider") from None
    return providers


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with ±20% jitter, so retries from many messages spread out."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay * random.uniform(0.8, 1.2)


class Worker:
    def __init__(self, db_path: Path | str, assistant: Responder, settings: SmsSettings,
                 providers: Mapping[str, Provider] | None = None,
                 client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.assistant = assistant
        self.queue = Queue(db_path)
        self.providers = dict(providers) if providers is not None else load_providers(settings)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._client = client
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def nudge(self) -> None:
        """Wake idle loops now (thread-safe): new work was committed."""
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Process and send until `stop` is set (or the task is cancelled)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        stop = stop or asyncio.Event()
        send_timeout = max(1.0, min(30.0, self.settings.lease_seconds * 0.8))
        client = self._client or httpx.AsyncClient(timeout=send_timeout)
        try:
            loops = [self._inbound_loop(stop) for _ in range(self.settings.concurrency)]
            loops += [self._send_loop(stop, client) for _ in range(2)]
            await asyncio.gather(*loops)
        finally:
            if self._client is None:
                await client.aclose()

    async def _idle(self) -> None:
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_s)

    async def _inbound_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            row = await asyncio.to_thread(
                self.queue.claim_inbound, self.owner, self.settings.lease_seconds, time.time()
            )
            if row is None:
                await self._idle()
                continue
            try:
                await self.process(row)
            except Exception:  # a bug must not stop the queue; the lease brings it back
                log.exception("sms %s: processing crashed", row.id)

    async def process(self, row: InboundRow) -> None:
        settings = self.settings

        def snapshot() -> dialogue.Snapshot:
            with self.queue.transaction() as conn:
                return dialogue.load_snapshot(conn, row.msisdn, time.time())

        state = await asyncio.to_thread(snapshot)
        if row.attempts > settings.max_attempts:
            decision = dialogue.error_decision(state, settings.segment_budget)
        else:
            try:
                decision = await dialogue.decide(state, row.text, self.assistant, settings,
                                                 time.time())
            except asyncio.CancelledError:  # shutting down: hand the message back now
                self.queue.release_inbound(row.id, self.owner, time.time())
                raise
            except Exception as exc:
                retry_at = time.time() + backoff(row.attempts, 1.0, 60.0)
                log.warning("sms %s: answer failed (%s); retrying", row.id, exc)
                await asyncio.to_thread(self.queue.release_inbound, row.id, self.owner,
                                        retry_at)
                return
        try:
            await asyncio.to_thread(self._commit, row, decision)
        except LeaseLost:
            log.warning("sms %s: lease lost, another worker answers it", row.id)
            return
        self.nudge()

    def _commit(self, row: InboundRow, decision: Decision) -> None:
        now = time.time()
        with self.queue.transaction() as conn:
            state = "answered" if decision.reply is not None else "ignored"
            if decision.outcome == "error":
                state = "failed"
            if not Queue.finish_inbound(conn, row.id, self.owner, state, decision.outcome, now):
                raise LeaseLost(row.id)
            save(conn, decision.session, now)
            for role, text in decision.remember:
                remember(conn, row.msisdn, role, text, now)
            if decision.reply is not None:
                provider = self.providers.get(row.provider)
                hold = provider.reply_hold_s if provider is not None else 0.0
                remaining = max(0.0, row.received_at + hold - now)
                Queue.add_outbox(
                    conn, inbound_id=row.id, provider=row.provider, msisdn=row.msisdn,
                    sender=row.shortcode, text=decision.reply.text,
                    encoding=decision.reply.info.encoding,
                    segments=decision.reply.info.segments, now=now, hold_s=remaining,
                )

    async def _send_loop(self, stop: asyncio.Event, client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            row = await asyncio.to_thread(
                self.queue.claim_outbox, self.owner, self.settings.lease_seconds, time.time()
            )
            if row is None:
                await self._idle()
                continue
            try:
                await self.send(row, client)
            except Exception:
                log.exception("sms outbox %s: sending crashed", row.id)

    async def send(self, row: OutboxRow, client: httpx.AsyncClient) -> None:
        provider = self.providers.get(row.provider)
        try:
            if provider is None:
                raise SendError(f"provider {row.provider!r} is not configured", retryable=False)
            result = await provider.send(client, OutboundMessage(
                row.id, row.idempotency_key, row.msisdn, row.sender, row.text, row.encoding,
            ))
        except SendError as exc:
            give_up = not exc.retryable or row.attempts >= self.settings.send_max_attempts
            retry_at = None if give_up else time.time() + backoff(
                row.attempts, self.settings.send_backoff_s, self.settings.send_backoff_max_s)
            log.warning("sms outbox %s: send failed (%s)%s", row.id, exc,
                        "; giving up" if give_up else "; will retry")
            await asyncio.to_thread(self.queue.mark_send_failed, row.id, self.owner, str(exc),
                                    retry_at)
            return
        await asyncio.to_thread(self.queue.mark_sent, row.id, self.owner,
                                result.provider_ref, time.time())

    def close(self) -> None:
        self.queue.close()


"""The durable SMS queue in SQLite: inbound messages, the outbox, leases, delivery reports.

Acceptance uses group commit: webhooks hand their message to one writer thread, which
inserts everything that has arrived meanwhile in one transaction and commits it with
`synchronous=FULL` before any of those webhooks answers. One fsync then covers many
messages, so acceptance stays fast under load without acknowledging anything that a power
cut could lose, and the event loop never blocks on a database lock.

Workers claim work with leases (`lease_owner`, `lease_until`): a claim is one UPDATE, so two
workers never hold the same row, and a worker that dies simply lets its lease expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zhiyan.channels.sms.providers.base import AcceptedInbound, DeliveryReport, InboundMessage
from zhiyan.storage.db import connect, migrate

MAX_BATCH = 256


@dataclass(frozen=True)
class InboundRow:
    id: int
    provider: str
    msisdn: str
    shortcode: str
    text: str
    received_at: float
    attempts: int


@dataclass(frozen=True)
class OutboxRow:
    id: int
    inbound_id: int | None
    provider: str
    msisdn: str
    sender: str
    text: str
    encoding: str
    idempotency_key: str
    attempts: int


class Acceptor:
    """Commits inbound messages before their webhooks answer (group commit, one thread)."""

    def __init__(self, path: Path | str, on_commit: Callable[[], None] | None = None) -> None:
        self._conn = connect(path, check_same_thread=False)
        migrate(self._conn)
        self._items: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        self._on_commit = on_commit
        self._thread = threading.Thread(target=self._run, name="sms-acceptor", daemon=True)
        self._thread.start()

    async def accept(self, provider: str, message: InboundMessage,
                     msisdn: str) -> AcceptedInbound:
        """Durably queue `message`; returns once committed. A message id the provider
        already delivered returns the first row, marked duplicate, and adds nothing."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AcceptedInbound] = loop.create_future()
        row = (provider, message.provider_msg_id, msisdn, message.to, message.text)
        self._items.put((row, loop, future))
        return await future

    def close(self) -> None:
        self._items.put(None)
        self._thread.join(timeout=10)
        self._conn.close()

    def _run(self) -> None:
        while True:
            item = self._items.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    more = self._items.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._items.put(None)
                    break
                batch.append(more)
            self._commit(batch)

    def _commit(self, batch: list[tuple]) -> None:
        now = time.time()
        results: list[AcceptedInbound | BaseException] = []
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for row, _, _ in batch:
                got = self._conn.execute(
                    "INSERT INTO sms_inbound (provider, provider_msg_id, msisdn, shortcode,"
                    " text, received_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (provider, provider_msg_id) DO NOTHING RETURNING id",
                    (*row, now),
                ).fetchone()
                if got is not None:
                    results.append(AcceptedInbound(int(got[0]), False))
                else:
                    first = self._conn.execute(
                        "SELECT id FROM sms_inbound WHERE provider = ? AND provider_msg_id = ?",
                        (row[0], row[1]),
                    ).fetchone()
                    results.append(AcceptedInbound(int(first[0]), True))
            self._conn.execute("COMMIT")
        except Exception as exc:  # answer every waiting webhook: 503, the gateway retries
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            results = [exc] * len(batch)
        for (_, loop, future), result in zip(batch, results, strict=True):
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                loop.call_soon_threadsafe(_settle, future, result)
        if self._on_commit is not None:
            self._on_commit()


def _settle(future: asyncio.Future[AcceptedInbound],
            result: AcceptedInbound | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class Queue:
    """The worker's side: claims, completions, sends and delivery reports.

    One connection guarded by a lock, so the methods may run in worker threads
    (`asyncio.to_thread`) without sharing a cursor.
    """

    def __init__(self, path: Path | str) -> None:
        self.conn = connect(path, check_same_thread=False)
        migrate(self.conn)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def claim_inbound(self, owner: str, lease_s: float, now: float) -> InboundRow | None:
        """The oldest message whose number has nothing older waiting or in progress.

        Per-number order keeps a conversation (and MORE) in sequence, and it is also the
        fairness rule: a flood from one number occupies one worker slot at a time.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "UPDATE sms_inbound SET lease_owner = ?, lease_until = ?,"
                " attempts = attempts + 1 WHERE id = ("
                "  SELECT i.id FROM sms_inbound i WHERE i.state = 'queued'"
                "  AND (i.lease_until IS NULL OR i.lease_until < ?)"
                "  AND NOT EXISTS (SELECT 1 FROM sms_inbound o WHERE o.msisdn = i.msisdn"
                "                  AND o.state = 'queued' AND o.id < i.id)"
                "  ORDER BY i.id LIMIT 1)"
                " RETURNING id, provider, msisdn, shortcode, text, received_at, attempts",
                (owner, now + lease_s, now),
            ).fetchone()
        return InboundRow(*row) if row is not None else None

    @staticmethod
    def finish_inbound(conn: sqlite3.Connection, inbound_id: int, owner: str, state: str,
                       outcome: str, now: float) -> bool:
        """Mark a claimed message done; False when this worker no longer holds its lease
        (another took over), and then the caller must roll back."""
        cur = conn.execute(
            "UPDATE sms_inbound SET state = ?, outcome = ?, done_at = ?, lease_owner = NULL,"
            " lease_until = NULL WHERE id = ? AND state = 'queued' AND lease_owner = ?",
            (state, outcome, now, inbound_id, owner),
        )
        return cur.rowcount == 1

    @staticmethod
    def add_outbox(conn: sqlite3.Connection, *, inbound_id: int, provider: str, msisdn: str,
                   sender: str, text: str, encoding: str, segments: int, now: float,
                   hold_s: float = 0.0) -> int:
        """The reply row. `hold_s` keeps the sender away for a while, so the webhook that is
        still waiting can take the reply into its HTTP response instead."""
        cur = conn.execute(
            "INSERT INTO sms_outbox (inbound_id, idempotency_key, provider, msisdn, sender,"
            " text, encoding, segments, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (inbound_id, f"zhiyan-sms-{inbound_id}", provider, msisdn, sender, text, encoding,
             segments, now + hold_s, now),
        )
        return int(cur.lastrowid or 0)

    def take_for_body(self, inbound_id: int, now: float) -> tuple[str, str] | None:
        """The reply to `inbound_id` as (text, encoding) for a webhook's HTTP response.

        Taking it marks it sent in the same statement, so the sender never sends it too;
        nothing is returned once a sender holds it. A repeat of the same webhook (the
        gateway never got our response) gets the same reply again: a gateway such as
        Kannel repeats a request only when the response did not arrive.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "UPDATE sms_outbox SET state = 'sent', sent_at = ?, provider_ref = 'http-body'"
                " WHERE inbound_id = ? AND ((state = 'pending' AND (lease_until IS NULL"
                " OR lease_until < ?)) OR provider_ref = 'http-body')"
                " RETURNING text, encoding",
                (now, inbound_id, now),
            ).fetchone()
        return (row[0], row[1]) if row is not None else None

    def release_inbound(self, inbound_id: int, owner: str, retry_at: float) -> None:
        """Give a claimed message back (the assistant failed); it is retried at `retry_at`."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE sms_inbound SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                (retry_at, inbound_id, owner),
            )

    def claim_outbox(self, owner: str, lease_s: float, now: float) -> OutboxRow | None:
        with self.transaction() as conn:
            row = conn.execute(
                "UPDATE sms_outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1"
                " WHERE id = (SELECT id FROM sms_outbox WHERE state = 'pending'"
                "  AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)"
                "  ORDER BY next_attempt_at, id LIMIT 1)"
                " RETURNING id, inbound_id, provider, msisdn, sender, text, encoding,"
                " idempotency_key, attempts",
                (owner, now + lease_s, now, now),
            ).fetchone()
        return OutboxRow(*row) if row is not None else None

    def mark_sent(self, outbox_id: int, owner: str, provider_ref: str | None,
                  now: float) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE sms_outbox SET state = CASE WHEN state = 'pending' THEN 'sent'"
                " ELSE state END, provider_ref = coalesce(?, provider_ref), sent_at = ?,"
                " lease_owner = NULL, lease_until = NULL, last_error = NULL"
                " WHERE id = ? AND lease_owner = ?",
                (provider_ref, now, outbox_id, owner),
            )

    def mark_send_failed(self, outbox_id: int, owner: str, error: str,
                         retry_at: float | None) -> None:
        """A failed attempt: try again at `retry_at`, or give up when it is None."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE sms_outbox SET last_error = ?, lease_owner = NULL, lease_until = NULL,"
                " next_attempt_at = coalesce(?, next_attempt_at),"
                " state = CASE WHEN ? IS NULL AND state = 'pending' THEN 'failed'"
                " ELSE state END WHERE id = ? AND lease_owner = ?",
                (error[:500], retry_at, retry_at, outbox_id, owner),
            )

    def apply_dlr(self, provider: str, report: DeliveryReport, now: float) -> bool:
        """Record a delivery report; False when no message matches (the gateway may retry).

        Final states (delivered, undelivered) are never overwritten by a late "sent".
        A report can overtake our own "sent" commit; it then settles the message anyway.
        """
        if report.outbox_id is not None:
            where, key = "id = ? AND provider = ?", (report.outbox_id, provider)
        else:
            where, key = "provider = ? AND provider_ref = ?", (provider, report.provider_ref)
        final = report.status in ("delivered", "undelivered")
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE sms_outbox SET dlr_status = ?, dlr_at = ?, state = CASE"
                "  WHEN state IN ('delivered', 'undelivered') THEN state"
                "  WHEN ? THEN ? ELSE 'sent' END,"
                " last_error = CASE WHEN ? = 'undelivered' THEN ? ELSE last_error END"
                f" WHERE {where}",
                (report.status, now, final, report.status, report.status,
                 report.detail[:500], *key),
            )
            return cur.rowcount > 0

    def counts(self) -> dict[str, int]:
        with self._lock:
            out = {}
            for table in ("sms_inbound", "sms_outbox"):
                for state, n in self.conn.execute(
                    f"SELECT state, count(*) FROM {table} GROUP BY state"
                ):
                    out[f"{table.removeprefix('sms_')}.{state}"] = int(n)
            return out

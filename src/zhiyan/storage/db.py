"""The embedded database: SQLite in WAL mode with explicit, numbered migrations.

Migrations are the files `migrations/NNNN_area_what.sql`, applied in number order, each in
its own transaction, and recorded in `schema_migrations`. Number ranges per area keep
parallel work from colliding: 0001–0099 core, 0100 knowledge, 0200 chengyu,
0300 assistant, 0400 sms, 0500 web.
"""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000


def connect(path: Path | str, *, check_same_thread: bool = False) -> sqlite3.Connection:
    """Open the database with the settings every zhiyan connection needs.

    `synchronous=FULL` because accepted work must be durable before it is acknowledged.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=check_same_thread,
        isolation_level=None,
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def available_migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("zhiyan.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number = int(name.split("_", 1)[0])
        found.append((number, name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number: {sorted(numbers)}")
    return found


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet applied; return the names applied now."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
    )
    applied = []
    for number, name, sql in available_migrations():
        # Check under the write lock: two processes starting together (server and worker)
        # must not both apply the same migration.
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?",
                        (number,)).fetchone():
            conn.execute("COMMIT")
            continue
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations(version, name) VALUES (?, ?)",
                         (number, name))
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements, keeping CREATE TRIGGER … END bodies whole."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


def open_database(path: Path | str) -> sqlite3.Connection:
    conn = connect(path)
    migrate(conn)
    return conn

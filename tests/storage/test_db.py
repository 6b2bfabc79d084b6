"""Migrations apply once, in order, and the database runs in WAL with full sync."""

from __future__ import annotations

from pathlib import Path

from zhiyan.storage.db import available_migrations, connect, migrate, open_database


def test_migrations_apply_once_in_number_order(tmp_path: Path) -> None:
    conn = connect(tmp_path / "z.sqlite3")
    applied = migrate(conn)
    numbers = [int(name.split("_", 1)[0]) for name in applied]
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert len(applied) == len(available_migrations())
    assert migrate(conn) == []  # idempotent
    rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == numbers


def test_wal_and_full_sync(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "z.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("SELECT value FROM meta WHERE key='created_at'").fetchone()


def test_processes_starting_together_apply_each_migration_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = ("import sys; from zhiyan.storage.db import open_database; "
              "open_database(sys.argv[1])")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "z.sqlite3")],
                              stderr=subprocess.PIPE) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    conn = connect(tmp_path / "z.sqlite3")
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert len(versions) == len(set(versions)) == len(available_migrations())

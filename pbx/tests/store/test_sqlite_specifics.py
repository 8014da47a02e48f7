"""SQLite behaviour that matters on a cluster disk: WAL, checkpoint on close, Windows paths,
and noticing that the disk went away."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pbxd.store import open_database, open_store
from pbxd.store.base import Binding
from pbxd.store.errors import DatabaseUnavailableError, StoreError
from pbxd.store.url import (
    DatabaseUrlError,
    PostgresUrl,
    SqliteUrl,
    is_windows_absolute,
    parse_database_url,
    redact_url,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///D:/PBX/data/pbx.db", SqliteUrl("D:/PBX/data/pbx.db")),
        ("sqlite:///D:\\PBX\\data\\pbx.db", SqliteUrl("D:\\PBX\\data\\pbx.db")),
        ("sqlite:////srv/pbx/pbx.db", SqliteUrl("/srv/pbx/pbx.db")),
        ("sqlite:///pbx.db", SqliteUrl("pbx.db")),
        ("postgresql://pbx@127.0.0.1:5432/pbx", PostgresUrl("postgresql://pbx@127.0.0.1:5432/pbx")),
        ("postgres://pbx@db/pbx", PostgresUrl("postgres://pbx@db/pbx")),
    ],
)
def test_urls_name_backend_and_place(url: str, expected: object) -> None:
    assert parse_database_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://x@y/z", "sqlite://pbx.db", "sqlite:///", "D:/PBX/pbx.db"])
def test_unsupported_urls_are_refused_with_the_expected_forms(url: str) -> None:
    with pytest.raises(DatabaseUrlError, match=r"database\.url: .*sqlite:///<path>"):
        parse_database_url(url)


def test_passwords_in_urls_are_redacted() -> None:
    assert redact_url("postgresql://pbx:hunter2@db:5432/pbx") == "postgresql://pbx:***@db:5432/pbx"
    assert redact_url("postgresql://db/pbx?password=hunter2&sslmode=require") == (
        "postgresql://db/pbx?password=***&sslmode=require"
    )
    with pytest.raises(DatabaseUrlError) as raised:
        parse_database_url("mysql://pbx:hunter2@db/pbx")
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("path", "absolute"), [("D:/x", True), ("d:\\x", True), ("\\\\srv\\share", True), ("x/y", False)]
)
def test_windows_absolute_paths_are_recognised_on_linux(path: str, absolute: bool) -> None:
    assert is_windows_absolute(path) is absolute


def test_database_is_in_wal_mode_and_checkpointed_on_close(tmp_path: Path) -> None:
    path = tmp_path / "pbx.db"
    database = open_database(f"sqlite:///{path}", migrate=True)
    assert database._fetch("PRAGMA journal_mode")[0][0] == "wal"
    assert database._fetch("PRAGMA synchronous")[0][0] == 2  # FULL, the safe default
    database.close()
    # After the checkpoint the main file holds everything: the WAL is empty or gone.
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with sqlite3.connect(path) as plain:
        assert {row[0] for row in plain.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= {
            "extensions",
            "bindings",
            "call_records",
            "schema_version",
        }


def test_missing_folder_is_not_created(tmp_path: Path) -> None:
    # A missing folder usually means the shared disk is not mounted here.
    with pytest.raises(DatabaseUnavailableError, match=r"folder .*absent.* does not exist"):
        open_database(f"sqlite:///{tmp_path / 'absent' / 'pbx.db'}", migrate=True)
    assert not (tmp_path / "absent").exists()


def test_ping_fails_when_the_file_disappears(tmp_path: Path) -> None:
    path = tmp_path / "pbx.db"

    async def scenario() -> None:
        store = open_store(f"sqlite:///{path}")
        await store.ping()
        os.rename(path, tmp_path / "moved.db")
        with pytest.raises(DatabaseUnavailableError, match="is gone"):
            await store.ping()
        await store.close()

    asyncio.run(scenario())


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    """The CLI may write while the PBX holds a write transaction: it waits (busy timeout)
    instead of failing with 'database is locked'."""
    url = f"sqlite:///{tmp_path / 'pbx.db'}"
    holder_ready = open_store(url)
    holder = sqlite3.connect(tmp_path / "pbx.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def scenario() -> None:
        store = holder_ready
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, holder.execute, "COMMIT")
        await store.put_binding(Binding("sip:1@x", "sip:1@127.0.0.1", 1.0, "c", 1, "udp:127.0.0.1:1"))
        assert len(await store.load_bindings()) == 1
        await store.close()

    asyncio.run(scenario())
    holder.close()


def test_opening_an_up_to_date_database_takes_no_write_lock(tmp_path: Path) -> None:
    """pbxd restarting while a CLI command writes must not wait on (or fail at) migration."""
    url = f"sqlite:///{tmp_path / 'pbx.db'}"
    open_database(url, migrate=True).close()
    holder = sqlite3.connect(tmp_path / "pbx.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        open_database(url, migrate=True).close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize(("mode", "value"), [("NORMAL", 1), ("FULL", 2), ("EXTRA", 3)])
def test_synchronous_is_the_configured_mode(tmp_path: Path, mode: str, value: int) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'pbx.db'}", migrate=True, synchronous=mode)
    try:
        assert database._fetch("PRAGMA synchronous")[0][0] == value
    finally:
        database.close()


def binding(number: int) -> Binding:
    return Binding(str(number), f"sip:{number}@127.0.0.1", 2e9, "call", 1, "udp:127.0.0.1:5062")


def test_writes_waiting_together_share_one_commit_and_all_are_durable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbx.db'}"
    batches: list[int] = []

    async def scenario() -> None:
        store = open_store(url)
        run_batch = store.database.run_batch

        def counting(calls: Any) -> Any:
            batches.append(len(calls))
            return run_batch(calls)

        store.database.run_batch = counting  # type: ignore[method-assign]
        await asyncio.gather(*(store.put_binding(binding(n)) for n in range(300)))
        await store.close()

    asyncio.run(scenario())
    assert sum(batches) >= 300 and max(batches) > 1  # group commit happened
    with sqlite3.connect(tmp_path / "pbx.db") as plain:
        assert plain.execute("SELECT COUNT(*) FROM bindings").fetchone()[0] == 300


def test_a_failing_operation_fails_alone_and_a_failing_commit_fails_them_all(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'pbx.db'}", migrate=True)

    def broken() -> None:
        raise StoreError("this one fails")

    outcomes = database.run_batch([lambda: database.put_binding(binding(1)), broken])
    assert outcomes[0] == (None, None) and isinstance(outcomes[1][1], StoreError)
    assert [b.aor for b in database.load_bindings()] == ["1"]

    class CommitFails:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def execute(self, sql: str, params: Any = ()) -> Any:
            if sql == "COMMIT":
                raise DatabaseUnavailableError("disk I/O error")
            return self.inner.execute(sql, params)

    database._conn = CommitFails(database._conn)
    outcomes = database.run_batch([lambda: database.put_binding(binding(2)), lambda: None])
    assert all(isinstance(error, DatabaseUnavailableError) for _, error in outcomes)
    database._conn = database._conn.inner
    assert [b.aor for b in database.load_bindings()] == ["1"]  # nothing was reported done, nor kept
    database.close()

"""SQLite: the default database, one file on the cluster's shared disk.

The shared disk is attached to one node at a time, so SQLite sees a local file system and
WAL mode is safe there (never put the file on an SMB share). The running PBX is the one
long-lived writer; CLI commands write briefly and wait on the busy timeout if they meet it.
On close the WAL is checkpointed into the main file so the disk can move to another node with
a self-contained database.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pbxd.store.database import Database, Dialect
from pbxd.store.errors import DatabaseUnavailableError, StoreError
from pbxd.store.url import foreign_windows_path

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


def _time_to_db(moment: datetime) -> str:
    # A fixed format in UTC, so text order is time order in range queries.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time_from_db(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(UTC)


DIALECT = Dialect(
    name="sqlite",
    placeholder="?",
    begin_write="BEGIN IMMEDIATE",
    migration_lock=None,  # BEGIN IMMEDIATE already holds the database's write lock
    table_exists="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    time_to_db=_time_to_db,
    time_from_db=_time_from_db,
    group_commit=True,
)


class _Connection:
    """A sqlite3 connection whose errors say which file they concern."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self._path = path

    def execute(self, sql: str, params: Sequence[object] = (), /) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise DatabaseUnavailableError(f"SQLite file {self._path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite file {self._path}: {exc}") from exc

    def close(self) -> None:
        self._conn.close()


class SqliteDatabase(Database):
    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        super().__init__(_Connection(conn, path), DIALECT, f"SQLite file {path}")
        self.path = path

    def ping(self) -> None:
        self.check_presence()
        super().ping()

    def check_presence(self) -> None:
        # An open file handle keeps answering from cache after the cluster disk went away;
        # the path vanishing is what tells that the disk is gone.
        if not os.path.exists(self.path):
            raise DatabaseUnavailableError(f"SQLite file {self.path} is gone (was the disk taken offline?)")

    def close(self) -> None:
        try:
            self._execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except StoreError as exc:
            # The data is safe in the WAL either way; the next open replays it.
            log.warning("could not checkpoint %s before closing: %s", self.path, exc)
        super().close()


def connect(path: str, *, create: bool, synchronous: str = "FULL") -> SqliteDatabase:
    """Open the database file; with ``create`` a missing file is created (its folder must exist).
    ``synchronous`` is the PRAGMA's value (NORMAL, FULL or EXTRA; checked by the configuration)."""
    if synchronous not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous: {synchronous!r} is not NORMAL, FULL or EXTRA")
    problem = foreign_windows_path("database.url", path)
    if problem is not None:
        raise DatabaseUnavailableError(problem)
    if path == ":memory:":
        raise DatabaseUnavailableError(
            "database.url: an in-memory SQLite database keeps nothing across a failover; name a file"
        )
    if not os.path.exists(path):
        folder = os.path.dirname(path) or "."
        if not create:
            raise DatabaseUnavailableError(
                f"SQLite file {path} does not exist: check database.url, or create it with "
                "`pbxd db migrate --config <file>`"
            )
        if not os.path.isdir(folder):
            # Creating the folder could hide a shared disk that is not mounted.
            raise DatabaseUnavailableError(
                f"SQLite file {path}: folder {folder} does not exist; create it (on the shared disk) first"
            )
    try:
        # timeout= is SQLite's busy timeout; isolation_level=None leaves transactions to us.
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")  # one of three fixed words, checked above
    except sqlite3.Error as exc:
        raise DatabaseUnavailableError(f"SQLite file {path}: {exc}") from exc
    return SqliteDatabase(conn, path)

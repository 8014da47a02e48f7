"""The extension database, spoken to synchronously through a DB-API connection.

One ``Database`` wraps one connection to SQLite or PostgreSQL; a ``Dialect`` carries the few
differences (placeholders, how times are stored, how a write transaction starts). The CLI
uses this class directly; the running PBX uses it through ``pbxd.store.async_store``, which
runs it on a worker thread so the event loop never waits on disk or network.

All SQL is written with ``?`` placeholders and parameters, never with values spliced in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pbxd.extensions import PlannedChange, plan_change
from pbxd.store.base import Binding, CallRecord, Extension
from pbxd.store.errors import ExtensionConflictError, SchemaOutdatedError
from pbxd.store.schema import Migration, pending


class Cursor(Protocol):
    rowcount: int

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What sqlite3 and psycopg connections have in common, and all this module uses."""

    def execute(self, sql: str, params: Sequence[object] = ..., /) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    placeholder: str
    # SQLite takes its write lock at BEGIN IMMEDIATE so that two writers queue on the busy
    # timeout instead of failing at their first write; PostgreSQL locks rows as it goes.
    begin_write: str
    # Serialises migrations between processes.
    migration_lock: str | None
    table_exists: str
    time_to_db: Callable[[datetime], object]
    time_from_db: Callable[[Any], datetime]
    # Whether several of the running PBX's statements may share one transaction (see
    # ``Database.run_batch``). SQLite: a statement that fails leaves the transaction open.
    group_commit: bool = False

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


@dataclass(frozen=True, slots=True)
class ExtensionInfo:
    """An extension with its bookkeeping times, as ``extension list`` shows it."""

    extension: Extension
    created: datetime
    updated: datetime


@dataclass(frozen=True, slots=True)
class Activity:
    """What ``pbxd stats`` reports from the database."""

    contacts: int
    registered_extensions: int
    extensions: int
    calls_today: int
    active_calls: int


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC: the PBX records times in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# Stand-ins for "no limit" in the call record filter, so that its SQL text never changes.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)


class Database:
    def __init__(self, connection: Connection, dialect: Dialect, description: str) -> None:
        self._conn = connection
        self.dialect = dialect
        # Where the data lives, for messages ("SQLite file D:/PBX/data/pbx.db"); no secrets.
        self.description = description

    # -- plumbing ---------------------------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        return self._conn.execute(self.dialect.sql(sql), params)

    def _fetch(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        rows: list[Any] = self._execute(sql, params).fetchall()
        return rows

    @contextmanager
    def _write_transaction(self) -> Iterator[None]:
        self._conn.execute(self.dialect.begin_write)
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    def ping(self) -> None:
        """Raise if the database no longer answers."""
        self._fetch("SELECT 1")

    def run_batch(self, calls: Sequence[Callable[[], object]]) -> list[tuple[object, BaseException | None]]:
        """Run single-statement operations in one transaction (group commit: one commit, so
        one sync to disk, for all of them) and return each one's result or error. If the
        commit fails, every operation failed: none is reported done before it is durable."""
        if len(calls) == 1 or not self.dialect.group_commit:
            return [self._outcome(call) for call in calls]
        try:
            self._conn.execute(self.dialect.begin_write)
        except Exception as exc:
            return [(None, exc)] * len(calls)
        outcomes = [self._outcome(call) for call in calls]
        try:
            self._conn.execute("COMMIT")
        except Exception as exc:
            with suppress(Exception):  # the transaction may already be gone with the error
                self._conn.execute("ROLLBACK")
            return [(None, exc)] * len(calls)
        return outcomes

    @staticmethod
    def _outcome(call: Callable[[], object]) -> tuple[object, BaseException | None]:
        try:
            return call(), None
        except Exception as exc:
            return None, exc

    def check_presence(self) -> None:
        """Raise if the database is plainly gone, without using the connection (so that it
        can run while the connection is busy). Nothing to check for a database server."""

    # -- schema -----------------------------------------------------------------------------

    def schema_version(self) -> int:
        if not self._fetch(self.dialect.table_exists, ("schema_version",)):
            return 0
        rows = self._fetch("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    def migrate(self, migrations: tuple[Migration, ...]) -> list[Migration]:
        """Apply what is missing, each migration in its own transaction; returns those applied.

        The version is read again under the lock, so two processes migrating at once apply
        each migration once.
        """
        applied: list[Migration] = []
        # Refuses a newer database before any write, and takes no write lock when up to date.
        for migration in pending(self.schema_version(), migrations):
            with self._write_transaction():
                if self.dialect.migration_lock:
                    self._conn.execute(self.dialect.migration_lock)
                self._execute(
                    "CREATE TABLE IF NOT EXISTS schema_version "
                    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                current = int(self._fetch("SELECT MAX(version) FROM schema_version")[0][0] or 0)
                if migration not in pending(current, migrations):
                    continue
                for statement in migration.statements:
                    self._conn.execute(statement)
                self._execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, datetime.now(UTC).isoformat(timespec="seconds")),
                )
            applied.append(migration)
        return applied

    def require_schema(self, migrations: tuple[Migration, ...]) -> None:
        """Refuse a database that is newer than this code or still needs migrations."""
        current = self.schema_version()
        missing = pending(current, migrations)
        if missing:
            raise SchemaOutdatedError(
                f"the database ({self.description}) is at schema version {current} and this pbxd "
                f"needs version {missing[-1].version}: run `pbxd db migrate --config <file>` first"
            )

    # -- extensions -------------------------------------------------------------------------

    @staticmethod
    def _extension(row: Sequence[Any]) -> Extension:
        return Extension(row[0], row[1], row[2], row[3], row[4], bool(row[5]))

    def get_extension(self, number: str) -> Extension | None:
        rows = self._fetch(
            "SELECT number, display_name, realm, ha1_md5, ha1_sha256, enabled FROM extensions "
            "WHERE number = ?",
            (number,),
        )
        return self._extension(rows[0]) if rows else None

    def list_extensions(self) -> list[ExtensionInfo]:
        rows = self._fetch(
            "SELECT number, display_name, realm, ha1_md5, ha1_sha256, enabled, created_at, updated_at "
            "FROM extensions ORDER BY number"
        )
        return [
            ExtensionInfo(
                self._extension(row), self.dialect.time_from_db(row[6]), self.dialect.time_from_db(row[7])
            )
            for row in rows
        ]

    def apply_extensions(self, desired: Sequence[Extension], *, update: bool) -> list[PlannedChange]:
        """Add or update several extensions in one transaction, all or nothing.

        Extensions that exist with other settings are an error unless ``update``; then nothing
        is written and every conflicting number is named.
        """
        with self._write_transaction():
            plan = [plan_change(self.get_extension(ext.number), ext, update=update) for ext in desired]
            conflicts = [change.number for change in plan if change.conflict]
            if conflicts:
                raise ExtensionConflictError(conflicts)
            now = self.dialect.time_to_db(datetime.now(UTC))
            for change in plan:
                ext = change.desired
                values = (ext.display_name, ext.realm, ext.ha1_md5, ext.ha1_sha256, ext.enabled, now)
                if change.outcome == "added":
                    self._execute(
                        "INSERT INTO extensions (number, display_name, realm, ha1_md5, ha1_sha256, enabled, "
                        "updated_at, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (ext.number, *values, now),
                    )
                elif change.outcome == "updated":
                    self._execute(
                        "UPDATE extensions SET display_name = ?, realm = ?, ha1_md5 = ?, ha1_sha256 = ?, "
                        "enabled = ?, updated_at = ? WHERE number = ?",
                        (*values, ext.number),
                    )
        return plan

    def delete_extension(self, number: str) -> bool:
        """Remove an extension and its stored registrations (a binding's AOR is the extension
        number), so that a pbxd started after a failover does not route to it; False when
        there was no such extension."""
        with self._write_transaction():
            deleted: int = self._execute("DELETE FROM extensions WHERE number = ?", (number,)).rowcount
            self._execute("DELETE FROM bindings WHERE aor = ?", (number,))
        return deleted > 0

    # -- bindings ---------------------------------------------------------------------------

    def load_bindings(self) -> list[Binding]:
        rows = self._fetch(
            "SELECT aor, contact, expires_at, call_id, cseq, source, user_agent FROM bindings "
            "ORDER BY aor, contact"
        )
        return [Binding(r[0], r[1], float(r[2]), r[3], int(r[4]), r[5], r[6]) for r in rows]

    def put_binding(self, binding: Binding) -> None:
        # A single statement commits on its own (autocommit), which is the write-through the
        # failover relies on.
        self._execute(
            "INSERT INTO bindings (aor, contact, expires_at, call_id, cseq, source, user_agent) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (aor, contact) DO UPDATE SET expires_at = excluded.expires_at, "
            "call_id = excluded.call_id, cseq = excluded.cseq, source = excluded.source, "
            "user_agent = excluded.user_agent",
            (
                binding.aor,
                binding.contact,
                binding.expires_at,
                binding.call_id,
                binding.cseq,
                binding.source,
                binding.user_agent,
            ),
        )

    def delete_binding(self, aor: str, contact: str) -> None:
        self._execute("DELETE FROM bindings WHERE aor = ? AND contact = ?", (aor, contact))

    def delete_bindings(self, aor: str) -> None:
        self._execute("DELETE FROM bindings WHERE aor = ?", (aor,))

    # -- shared secrets ---------------------------------------------------------------------

    def shared_secret(self, name: str) -> bytes:
        """The secret ``name`` shared by every PBX on this database; the first to ask makes it
        (two nodes asking at once: the insert of one is a no-op, both read the same value)."""
        self._execute(
            "INSERT INTO shared_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, secrets.token_hex(32)),
        )
        rows = self._fetch("SELECT value FROM shared_secrets WHERE name = ?", (name,))
        return bytes.fromhex(rows[0][0])

    # -- status ------------------------------------------------------------------------------

    def activity(self, now: datetime, day_start: datetime, answered_since: datetime) -> Activity:
        """Counts for a status report, read in one snapshot. A call is active when it was
        answered after ``answered_since`` and has not ended (a record is written at answer and
        at end; ringing calls are not in the database)."""
        to_db = self.dialect.time_to_db
        with self._read_snapshot():
            registered = self._fetch(
                "SELECT COUNT(*), COUNT(DISTINCT aor) FROM bindings WHERE expires_at > ?", (now.timestamp(),)
            )[0]
            today = self._fetch("SELECT COUNT(*) FROM call_records WHERE start_at >= ?", (to_db(day_start),))
            active = self._fetch(
                "SELECT COUNT(*) FROM call_records WHERE answer_at >= ? AND end_at IS NULL",
                (to_db(answered_since),),
            )
            extensions = self._fetch("SELECT COUNT(*) FROM extensions")
        return Activity(
            contacts=int(registered[0]),
            registered_extensions=int(registered[1]),
            extensions=int(extensions[0][0]),
            calls_today=int(today[0][0]),
            active_calls=int(active[0][0]),
        )

    @contextmanager
    def _read_snapshot(self) -> Iterator[None]:
        """One read transaction, so that counts taken together agree with each other."""
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("ROLLBACK")

    # -- call records -----------------------------------------------------------------------

    def _time_or_none(self, moment: datetime | None) -> object:
        return None if moment is None else self.dialect.time_to_db(as_utc(moment))

    def put_call_record(self, record: CallRecord) -> None:
        """Insert the record, or update it while it has no disposition: a finished call's
        record is never written over (the WHERE of the upsert)."""
        self._execute(
            "INSERT INTO call_records (record_id, call_id, caller, callee, route, start_at, answer_at, "
            "end_at, duration, disposition) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (record_id) DO UPDATE SET answer_at = excluded.answer_at, "
            "end_at = excluded.end_at, duration = excluded.duration, disposition = excluded.disposition "
            "WHERE call_records.disposition IS NULL",
            (
                record.record_id,
                record.call_id,
                record.caller,
                record.callee,
                record.route,
                self._time_or_none(record.start),
                self._time_or_none(record.answer),
                self._time_or_none(record.end),
                record.duration,
                record.disposition,
            ),
        )

    def list_call_records(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        number: str | None = None,
        limit: int = 100,
    ) -> list[CallRecord]:
        """The most recent records first, filtered by start time and by caller or callee."""
        to_db = self.dialect.time_to_db
        rows = self._fetch(
            "SELECT call_id, caller, callee, route, start_at, answer_at, end_at, duration, disposition, "
            "record_id FROM call_records "
            "WHERE start_at >= ? AND start_at < ? AND (? = '' OR caller = ? OR callee = ?) "
            "ORDER BY start_at DESC, call_id, record_id LIMIT ?",
            (
                to_db(as_utc(since or _EARLIEST)),
                to_db(as_utc(until or _LATEST)),
                number or "",
                number or "",
                number or "",
                limit,
            ),
        )
        from_db = self.dialect.time_from_db
        return [
            CallRecord(
                call_id=r[0],
                caller=r[1],
                callee=r[2],
                route=r[3],
                start=from_db(r[4]),
                answer=None if r[5] is None else from_db(r[5]),
                end=None if r[6] is None else from_db(r[6]),
                duration=None if r[7] is None else float(r[7]),
                disposition=r[8],
                record_id=r[9],
            )
            for r in rows
        ]

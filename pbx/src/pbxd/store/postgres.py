"""PostgreSQL, for sites that keep their data on a database server (``postgresql://`` URLs).

psycopg 3 is an optional dependency (``pip install pbxd[postgresql]``), imported only when a
PostgreSQL URL is used. When the server dropped the connection (restart, failover), the next
statement outside a transaction reconnects and runs again; inside a transaction the error is
raised and the transaction's caller decides.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pbxd.store.database import Database, Dialect
from pbxd.store.errors import DatabaseUnavailableError, StoreError
from pbxd.store.url import redact_url

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 5000

DIALECT = Dialect(
    name="postgresql",
    placeholder="%s",
    begin_write="BEGIN",
    # Any constant works; it only has to be the same in every pbxd.
    migration_lock="SELECT pg_advisory_xact_lock(5060)",
    table_exists="SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = ? AND schemaname = current_schema()",
    time_to_db=lambda moment: moment,
    time_from_db=lambda value: value.astimezone(UTC) if isinstance(value, datetime) else value,
)


def _import_psycopg() -> Any:
    try:
        import psycopg  # noqa: PLC0415  (optional dependency, needed only for PostgreSQL URLs)
    except ImportError as exc:
        raise DatabaseUnavailableError(
            "database.url names PostgreSQL but psycopg is not installed: pip install 'pbxd[postgresql]'"
        ) from exc
    return psycopg


class _Connection:
    """A psycopg connection that reconnects after a lost connection and names the server in
    its errors (without the password)."""

    def __init__(self, conninfo: str) -> None:
        self._psycopg = _import_psycopg()
        self._conninfo = conninfo
        self._where = f"PostgreSQL {redact_url(conninfo)}"
        self._conn: Any = None
        self._in_transaction = False
        self._connect()

    def _connect(self) -> None:
        try:
            self._conn = self._psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            )
        except self._psycopg.Error as exc:
            raise DatabaseUnavailableError(f"{self._where}: {exc}".strip()) from exc

    def execute(self, sql: str, params: Sequence[object] = (), /) -> Any:
        keyword = sql.split(None, 1)[0].upper()
        if self._conn.broken:
            if keyword == "ROLLBACK":
                # The server dropped the transaction with the connection; nothing to undo.
                self._in_transaction = False
                return None
            if not self._in_transaction:
                log.warning("connection to %s was lost; reconnecting", self._where)
                self._connect()
        try:
            cursor = self._conn.execute(sql, params)
        except self._psycopg.OperationalError as exc:
            if not (self._conn.broken and not self._in_transaction):
                raise DatabaseUnavailableError(f"{self._where}: {exc}") from exc
            # The server closed the connection (restart, failover, idle timeout) since the
            # last statement: every statement we run alone is safe to repeat, so try once more.
            log.warning("connection to %s was lost; reconnecting", self._where)
            self._connect()
            cursor = self._retry(sql, params)
        except self._psycopg.Error as exc:
            raise StoreError(f"{self._where}: {exc}") from exc
        if keyword == "BEGIN":
            self._in_transaction = True
        elif keyword in ("COMMIT", "ROLLBACK"):
            self._in_transaction = False
        return cursor

    def _retry(self, sql: str, params: Sequence[object]) -> Any:
        try:
            return self._conn.execute(sql, params)
        except self._psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(f"{self._where}: {exc}") from exc
        except self._psycopg.Error as exc:
            raise StoreError(f"{self._where}: {exc}") from exc

    def close(self) -> None:
        self._conn.close()


def connect(conninfo: str) -> Database:
    return Database(_Connection(conninfo), DIALECT, f"PostgreSQL {redact_url(conninfo)}")

"""Persistence of extensions, registrations and call records (SQLite or PostgreSQL).

``open_store`` gives the running PBX its ``Store``; ``open_database`` gives the CLI the
synchronous ``Database`` with the administrative operations; ``migrate_database`` applies
the schema migrations. The backends are imported only
when used (and this package imports nothing heavy), so ``pbxd.store.base`` stays a light
contract module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pbxd.store.async_store import SqlStore
    from pbxd.store.database import Database
    from pbxd.store.schema import Migration


# SQLite's PRAGMA synchronous values pbxd accepts (``database.synchronous``); FULL, the default,
# syncs every commit to disk, so an answered REGISTER survives a power loss too.
SYNCHRONOUS_MODES = ("NORMAL", "FULL", "EXTRA")
DEFAULT_SYNCHRONOUS = "FULL"


def _connect(
    url: str, *, create: bool, synchronous: str = DEFAULT_SYNCHRONOUS
) -> tuple[Database, tuple[Migration, ...]]:
    from pbxd.store.schema import load_migrations  # noqa: PLC0415
    from pbxd.store.url import SqliteUrl, parse_database_url  # noqa: PLC0415

    target = parse_database_url(url)
    if isinstance(target, SqliteUrl):
        from pbxd.store import sqlite  # noqa: PLC0415

        return sqlite.connect(target.path, create=create, synchronous=synchronous), load_migrations("sqlite")
    from pbxd.store import postgres  # noqa: PLC0415

    return postgres.connect(target.conninfo), load_migrations("postgresql")


def open_database(url: str, *, migrate: bool, synchronous: str = DEFAULT_SYNCHRONOUS) -> Database:
    """Connect and check the schema. With ``migrate`` the missing migrations are applied (and
    a missing SQLite file is created); without, a database that needs them is refused.
    A database newer than this code is always refused. ``synchronous`` is SQLite's."""
    database, migrations = _connect(url, create=migrate, synchronous=synchronous)
    try:
        if migrate:
            database.migrate(migrations)
        else:
            database.require_schema(migrations)
    except BaseException:
        database.close()
        raise
    return database


def migrate_database(url: str) -> tuple[int, list[Migration]]:
    """Bring the schema up to date; returns the version found and the migrations applied."""
    database, migrations = _connect(url, create=True)
    try:
        before = database.schema_version()
        return before, database.migrate(migrations)
    finally:
        database.close()


def open_store(url: str, *, migrate: bool = True, synchronous: str = DEFAULT_SYNCHRONOUS) -> SqlStore:
    """The ``Store`` for the running PBX, its schema brought up to date (see ``open_database``)."""
    from pbxd.store.async_store import SqlStore  # noqa: PLC0415

    return SqlStore(open_database(url, migrate=migrate, synchronous=synchronous))

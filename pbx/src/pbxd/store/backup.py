"""Online backup and restore of the SQLite database (``pbxd db backup``, ``pbxd db restore``).

A backup is SQLite's online backup API in one step: one read transaction, so the copy is one
consistent moment of the database while pbxd keeps writing (WAL readers do not block the
writer). It is written beside the target under a temporary name, checked, switched to a
self-contained rollback-journal file, and renamed into place: a backup that stopped halfway
never looks like a good one.

A restore replaces the database's content with a backup's, again through the backup API, so
SQLite itself rewrites the file and its WAL consistently. It takes the server lock
(``pbxd.store.inuse``) first: a running pbxd would keep serving from its memory and write over
the restored data.

PostgreSQL has its own tools for this (``pg_dump``, ``pg_restore``, base backups).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pbxd.store.errors import SchemaTooNewError, StoreError
from pbxd.store.inuse import ServerLock
from pbxd.store.schema import load_migrations

_TABLES = ("extensions", "bindings", "call_records", "schema_version")


class BackupError(StoreError):
    """The backup or restore cannot be made; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: str
    bytes: int
    schema_version: int
    extensions: int


def _describe(conn: sqlite3.Connection, path: Path) -> BackupInfo:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in _TABLES if t not in tables]
    if missing:
        raise BackupError(f"{path} is not a pbxd database (no table {', '.join(missing)})")
    version = int(conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)
    extensions = int(conn.execute("SELECT COUNT(*) FROM extensions").fetchone()[0])
    return BackupInfo(str(path), path.stat().st_size, version, extensions)


def _check(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {result}")


def backup(database_path: str, target: Path, *, overwrite: bool) -> BackupInfo:
    """Copy the database at ``database_path`` to ``target`` while a server may be using it."""
    source_path = Path(database_path)
    if not source_path.is_file():
        raise BackupError(f"SQLite file {database_path} does not exist: check database.url")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists; choose another name, or pass --overwrite to replace it")
    if target.exists() and target.resolve() == source_path.resolve():
        raise BackupError(f"{target} is the database itself; choose another path")
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist; create it first")
    partial = target.with_name(target.name + ".partial")
    try:
        source = sqlite3.connect(source_path, timeout=5)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)  # pages=-1: the whole database in one step, one snapshot
                copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                _check(copy, partial)
                info = _describe(copy, partial)
            finally:
                copy.close()
        finally:
            source.close()
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {database_path} to {target} failed: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupInfo(str(target), target.stat().st_size, info.schema_version, info.extensions)


def restore(database_path: str, source: Path) -> BackupInfo:
    """Replace the database's content with the backup at ``source``; refused while a server
    uses the database."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist or is not a file")
    database = Path(database_path)
    if database.exists() and source.resolve() == database.resolve():
        raise BackupError(f"{source} is the database itself; name a backup file")
    if not database.parent.is_dir():
        raise BackupError(f"folder {database.parent} does not exist (is the shared disk online here?)")
    known = max(m.version for m in load_migrations("sqlite"))
    try:
        backup_conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source}: {exc}") from exc
    try:
        try:
            _check(backup_conn, source)
            info = _describe(backup_conn, source)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite database: {exc}") from exc
        if info.schema_version > known:
            raise SchemaTooNewError(
                f"{source} is at schema version {info.schema_version}, newer than this pbxd "
                f"(version {known}): restore it with the pbxd that made it"
            )
        lock = ServerLock(database_path)
        lock.acquire("restore over it")
        try:
            target = sqlite3.connect(database, timeout=5)
            try:
                backup_conn.backup(target)
                target.execute("PRAGMA journal_mode = WAL")  # as pbxd runs it
                target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                target.close()
        except sqlite3.Error as exc:
            raise BackupError(f"restore of {source} into {database_path} failed: {exc}") from exc
        finally:
            lock.release()
    finally:
        backup_conn.close()
    return BackupInfo(str(database), database.stat().st_size, info.schema_version, info.extensions)

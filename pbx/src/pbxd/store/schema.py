"""The schema migrations shipped with pbxd, and which of them a database still needs.

Pure functions only: reading the SQL files and deciding what to apply. Running them is the
job of ``pbxd.store.database``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from pbxd.store.errors import SchemaTooNewError

Backend = Literal["sqlite", "postgresql"]

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(sql: str) -> tuple[str, ...]:
    """Split a migration file into statements: ``--`` comments are dropped and a statement
    ends with ``;`` at the end of a line (our files keep to that; no procedural SQL)."""
    statements: list[str] = []
    current: list[str] = []
    for raw in sql.splitlines():
        line = raw.split("--", 1)[0].rstrip()
        if not line.strip():
            continue
        current.append(line)
        if line.endswith(";"):
            statements.append("\n".join(current).rstrip(";").strip())
            current = []
    if current:
        raise ValueError(f"migration ends without ';' after: {' '.join(current)[:60]}")
    return tuple(statements)


def load_migrations(backend: Backend) -> tuple[Migration, ...]:
    """Every migration for ``backend``, in version order."""
    folder = resources.files("pbxd.migrations").joinpath(backend)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match[1]), match[2], split_statements(entry.read_text("utf-8"))))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"{backend} migrations must be numbered 1..n without gaps, found {versions}")
    return tuple(found)


def latest_version(migrations: tuple[Migration, ...]) -> int:
    return migrations[-1].version if migrations else 0


def pending(current: int, migrations: tuple[Migration, ...]) -> tuple[Migration, ...]:
    """The migrations a database at schema ``current`` still needs, in order.

    A database newer than this code is refused: an older pbxd writing into a newer schema
    could lose data that the newer one relies on.
    """
    latest = latest_version(migrations)
    if current > latest:
        raise SchemaTooNewError(
            f"the database schema is at version {current}, but this pbxd knows versions up to "
            f"{latest}: it was migrated by a newer pbxd. Run that newer pbxd (or restore a "
            "backup taken before the upgrade); this one will not touch the database."
        )
    return tuple(m for m in migrations if m.version > current)

"""Database URLs: which backend, and where.

``sqlite:///<path>`` names a file. The path after the three slashes is taken as written, so
``sqlite:///D:/PBX/data/pbx.db`` is the Windows path ``D:/PBX/data/pbx.db``, ``sqlite:////srv/pbx.db``
the POSIX path ``/srv/pbx.db`` and ``sqlite:///pbx.db`` a path relative to the working directory.
``postgresql://user@host:port/db`` (or ``postgres://``) is handed to psycopg unchanged.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\|//)")


@dataclass(frozen=True, slots=True)
class SqliteUrl:
    path: str


@dataclass(frozen=True, slots=True)
class PostgresUrl:
    conninfo: str


DatabaseUrl = SqliteUrl | PostgresUrl


class DatabaseUrlError(ValueError):
    """The URL names no backend pbxd supports, or no database."""


def parse_database_url(url: str) -> DatabaseUrl:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path:
            raise DatabaseUrlError(f'database.url: "{url}" has no file path; expected "sqlite:///<path>"')
        return SqliteUrl(path)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresUrl(url)
    raise DatabaseUrlError(
        f'database.url: "{redact_url(url)}" is not "sqlite:///<path>" or "postgresql://user@host:port/db"'
    )


def is_windows_absolute(path: str) -> bool:
    """True for ``D:/x``, ``D:\\x`` and UNC paths, on any platform (so a Linux process
    reading a Windows configuration does not mistake them for relative paths)."""
    return bool(_WINDOWS_ABSOLUTE.match(path))


def foreign_windows_path(key: str, path: str) -> str | None:
    """Why ``path`` cannot be used on this system, if it is a Windows drive or UNC path and
    this is not Windows (elsewhere ``D:/PBX/x`` would be a folder named ``D:`` in the working
    directory); None when it can be used."""
    if sys.platform == "win32" or not is_windows_absolute(path):
        return None
    return (
        f'{key}: "{path}" is a Windows path and this system is not Windows; nothing was created. '
        "Give an absolute path of this system, or a path relative to the configuration file's "
        'folder (such as "data/pbx.db" or "logs/pbxd.log"), which works on both'
    )


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, for logs and messages."""
    without_userinfo_password = re.sub(r"^([a-z]+://[^:/@]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", without_userinfo_password)

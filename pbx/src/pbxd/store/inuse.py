"""Which process serves from a SQLite database: an OS lock on a file beside it.

``pbxd run`` holds an exclusive lock on ``<database file>.lock`` while it serves, so that
``pbxd db restore`` (which replaces the data under a server's feet) and a second ``pbxd run``
on the same file are refused while it runs. The operating system drops the lock when the
process ends, however it ends, so a crash never leaves a stale lock behind; the file itself
stays (removing it would race with the next holder) and says which process held it last.

POSIX uses ``flock``; Windows ``msvcrt.locking`` on the file's first byte (the process id is
written after it, where the byte-range lock does not stop others from reading it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from pbxd.store.errors import StoreError

_PID_OFFSET = 16


class DatabaseInUseError(StoreError):
    """Another process serves from the database."""


def lock_path(database_path: str) -> Path:
    return Path(database_path + ".lock")


def _try_lock(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt  # noqa: PLC0415

        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl  # noqa: PLC0415

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(_PID_OFFSET)
            pid = handle.read(20).strip(b"\0 \n").decode("ascii", "replace")
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


class ServerLock:
    """The lock a server holds on its SQLite database while it runs."""

    def __init__(self, database_path: str) -> None:
        self.database_path = database_path
        self.path = lock_path(database_path)
        self._handle: IO[bytes] | None = None

    def acquire(self, purpose: str) -> None:
        """Take the lock or raise ``DatabaseInUseError`` naming the holder; ``purpose`` says
        what needs it, for the message."""
        try:
            handle = self.path.open("a+b")
        except OSError as exc:
            raise StoreError(f"cannot open the lock file {self.path}: {exc.strerror or exc}") from exc
        if not _try_lock(handle):
            handle.close()
            raise DatabaseInUseError(
                f"SQLite file {self.database_path} is in use by {_holder(self.path)} (a running pbxd "
                f"holds {self.path}); cannot {purpose}: stop that pbxd (the service, or the cluster "
                "role) first"
            )
        handle.seek(_PID_OFFSET)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the handle drops the lock
            self._handle = None

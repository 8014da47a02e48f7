"""The ``Store`` the running PBX uses: a ``Database`` driven from one worker thread.

Database calls block (disk, network, lock waits), so they run on a dedicated thread and the
event loop only awaits their result. One thread means one connection used in order, which is
what both SQLite and a psycopg connection require, and writes keep the order the PBX issued
them in.

The store also says how far behind it is (``backlog``, ``oldest_wait``: the load shedder reads
them) and whether the database makes progress (``check``: the health watchdog calls it). Under
a flood of registrations the queue is long and a ping waits behind it; that is a busy
database, not a dead one, as long as operations keep finishing.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from pbxd.store.base import Binding, CallRecord, Extension
from pbxd.store.database import Database


class SqlStore:
    """Implements ``pbxd.store.base.Store`` (and ``ping`` for the health watchdog)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pbxd-db")
        self._closed = False
        # When each waiting operation was submitted (time.monotonic), oldest first: one worker
        # finishes them in order. Used from the event loop's thread only.
        self._submitted: deque[float] = deque()
        self.succeeded = 0  # operations that finished without error, ever
        self._ping: asyncio.Future[None] | None = None

    async def _run[T](self, call: Callable[[], T]) -> T:
        self._submitted.append(time.monotonic())
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._worker, call)
        finally:
            self._submitted.popleft()
        self.succeeded += 1
        return result

    @property
    def backlog(self) -> int:
        """Operations submitted and not finished (the one running included)."""
        return len(self._submitted)

    def oldest_wait(self, now: float) -> float:
        """Seconds the oldest unfinished operation has waited (``now`` from time.monotonic)."""
        return now - self._submitted[0] if self._submitted else 0.0

    async def check(self, timeout: float) -> str | None:
        """None if the database makes progress, else why not.

        The ping goes through the queue like any operation and is not repeated while one is
        waiting. If it does not finish within ``timeout`` but other operations finished
        meanwhile, the database is busy, not dead. A presence check that needs no queue (for
        SQLite: the file is still there) runs beside it, so a disk taken away under load is
        seen at once.
        """
        try:
            await asyncio.wait_for(asyncio.to_thread(self.database.check_presence), timeout)
        except TimeoutError:
            return f"{self.database.description}: the presence check did not return within {timeout:.1f} s"
        except Exception as exc:
            return str(exc) or type(exc).__name__
        if self._ping is None:
            self._ping = asyncio.ensure_future(self.ping())
        ping, before = self._ping, self.succeeded
        done, _ = await asyncio.wait({ping}, timeout=timeout)
        if not done:
            if self.succeeded > before:
                return None  # busy: the ping waits behind work that is getting done
            return (
                f"no database operation finished within {timeout:.1f} s "
                f"({self.backlog} waiting, the oldest for {self.oldest_wait(time.monotonic()):.1f} s)"
            )
        self._ping = None
        error = ping.exception()
        if error is not None:
            return str(error) or type(error).__name__
        return None

    async def get_extension(self, number: str) -> Extension | None:
        return await self._run(partial(self.database.get_extension, number))

    async def load_bindings(self) -> list[Binding]:
        return await self._run(self.database.load_bindings)

    async def put_binding(self, binding: Binding) -> None:
        await self._run(partial(self.database.put_binding, binding))

    async def delete_binding(self, aor: str, contact: str) -> None:
        await self._run(partial(self.database.delete_binding, aor, contact))

    async def delete_bindings(self, aor: str) -> None:
        await self._run(partial(self.database.delete_bindings, aor))

    async def put_call_record(self, record: CallRecord) -> None:
        await self._run(partial(self.database.put_call_record, record))

    async def ping(self) -> None:
        """Raise ``StoreError`` if the database stopped answering."""
        await self._run(self.database.ping)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._run(self.database.close)
        self._worker.shutdown(wait=False)
        if self._ping is not None and not self._ping.done():
            self._ping.cancel()

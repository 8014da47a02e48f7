"""The ``Store`` the running PBX uses: a ``Database`` driven from one worker thread.

Database calls block (disk, network, lock waits), so they run on a dedicated thread and the
event loop only awaits their result. One thread means one connection used in order, which is
what both SQLite and a psycopg connection require, and writes keep the order the PBX issued
them in.

Group commit: the thread takes every operation waiting when it is free (up to ``MAX_BATCH``)
and, on SQLite, runs them in one transaction, so a burst of registrations costs one sync to
disk per batch instead of one per REGISTER, with ``synchronous=FULL`` as with NORMAL. Each
caller still gets its answer only after the commit: a 200 OK still means "on disk".

The store also says how far behind it is (``backlog``, ``oldest_wait``: the load shedder reads
them) and whether the database makes progress (``check``: the health watchdog calls it). Under
a flood of registrations the queue is long and a ping waits behind it; that is a busy
database, not a dead one, as long as operations keep finishing.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from pbxd.store.base import Binding, CallRecord, Extension
from pbxd.store.database import Database

# Operations sharing one transaction at most: bounds how long one commit holds the write lock.
MAX_BATCH = 500


@dataclass(slots=True)
class _Job:
    call: Callable[[], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    # Whether it may share a transaction (single statements; not close).
    batchable: bool = True


def _settle(jobs: list[_Job], outcomes: list[tuple[object, BaseException | None]]) -> None:
    """On the event loop: hand each job its result (a caller that gave up is skipped)."""
    for job, (result, error) in zip(jobs, outcomes, strict=True):
        if job.future.done():
            continue
        if error is None:
            job.future.set_result(result)
        else:
            job.future.set_exception(error)


class SqlStore:
    """Implements ``pbxd.store.base.Store`` (and ``ping`` for the health watchdog)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="pbxd-db", daemon=True)
        self._thread.start()
        self._closed = False
        # When each waiting operation was submitted (time.monotonic), oldest first: one worker
        # finishes them in order. Used from the event loop's thread only.
        self._submitted: deque[float] = deque()
        self.succeeded = 0  # operations that finished without error, ever
        self._ping: asyncio.Future[None] | None = None

    def _submit[T](self, call: Callable[[], T], *, batchable: bool = True) -> asyncio.Future[T]:
        """Queue ``call`` for the database thread; the future settles once it has run (and,
        in a batch, once the batch is committed)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._submitted.append(time.monotonic())
        self._jobs.put(_Job(call, future, future.get_loop(), batchable))
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: asyncio.Future[Any]) -> None:
        self._submitted.popleft()
        if not future.cancelled() and future.exception() is None:
            self.succeeded += 1

    async def _run[T](self, call: Callable[[], T], *, batchable: bool = True) -> T:
        return await self._submit(call, batchable=batchable)

    def _work(self) -> None:
        """The database thread: run jobs in order, those waiting together in one batch."""
        pending: _Job | None = None  # taken from the queue but not batchable: runs on its own next
        stop = False
        while not stop:
            job = pending or self._jobs.get()
            pending = None
            if job is None:
                return
            batch = [job]
            while job.batchable and len(batch) < MAX_BATCH:
                try:
                    following = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    stop = True
                    break
                if not following.batchable:
                    pending = following
                    break
                batch.append(following)
            outcomes = self.database.run_batch([j.call for j in batch])
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                job.loop.call_soon_threadsafe(_settle, batch, outcomes)

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

    async def put_call_records(self, records: Sequence[CallRecord]) -> list[BaseException | None]:
        # Futures, not one task per record: the call recorder writes up to a thousand a second.
        futures = [self._submit(partial(self.database.put_call_record, record)) for record in records]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        return [outcome if isinstance(outcome, BaseException) else None for outcome in outcomes]

    async def shared_secret(self, name: str) -> bytes:
        return await self._run(partial(self.database.shared_secret, name))

    async def ping(self) -> None:
        """Raise ``StoreError`` if the database stopped answering."""
        await self._run(self.database.ping)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ping is not None and not self._ping.done():
            self._ping.cancel()
        try:
            await self._run(self.database.close, batchable=False)
        finally:
            self._jobs.put(None)  # the thread ends once it is through the queue

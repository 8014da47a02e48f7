"""Call detail records: one ``CallRecord`` per call, written when the call is answered and
again when it ends. Writes go through one queue, in order, so that the "ended" version of a
record never overtakes its "answered" version.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from pbxd.store.base import CallRecord, Disposition, Store

log = logging.getLogger("pbxd.cdr")

# An answered call whose BYE never came through (a phone lost power) is forgotten after this.
MAX_CALL_SECONDS = 12 * 3600


def disposition_for(status: int) -> Disposition:
    """How a call that failed with ``status`` is recorded."""
    if status in (486, 600, 603):
        return "busy"
    if status in (408, 504):
        return "no_answer"
    if status == 487:
        return "cancelled"
    return "failed"


class CallRecorder:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._active: dict[str, CallRecord] = {}
        self._queue: asyncio.Queue[CallRecord] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write_forever())

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def flush(self) -> None:
        """Wait until every queued record is written (tests, orderly shutdown)."""
        await self._queue.join()

    @property
    def active_calls(self) -> int:
        return len(self._active)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def started(self, call_id: str, caller: str, callee: str, route: str) -> None:
        if call_id not in self._active:
            self._active[call_id] = CallRecord(call_id, caller, callee, route, start=self._now())

    def answered(self, call_id: str) -> None:
        record = self._active.get(call_id)
        if record is None or record.answer is not None:
            return
        record.answer = self._now()
        self._queue.put_nowait(replace(record))

    def failed(self, call_id: str, status: int) -> None:
        """The call ended without being answered (final response ``status``)."""
        record = self._active.get(call_id)
        if record is None or record.answer is not None:
            return
        del self._active[call_id]
        record.end = self._now()
        record.duration = 0.0
        record.disposition = disposition_for(status)
        self._queue.put_nowait(record)

    def ended(self, call_id: str) -> None:
        """A BYE ended the call."""
        record = self._active.pop(call_id, None)
        if record is None or record.answer is None:
            return
        record.end = self._now()
        record.duration = round((record.end - record.answer).total_seconds(), 3)
        record.disposition = "answered"
        self._queue.put_nowait(record)

    def expire(self) -> None:
        """Close records of answered calls older than MAX_CALL_SECONDS (their BYE was lost)."""
        limit = self.clock() - MAX_CALL_SECONDS
        for call_id, record in list(self._active.items()):
            if record.start.timestamp() < limit:
                log.info(
                    "call %s had no BYE for %d hours: closing its record", call_id, MAX_CALL_SECONDS // 3600
                )
                self.ended(call_id)

    async def _write_forever(self) -> None:
        while True:
            record = await self._queue.get()
            try:
                await self.store.put_call_record(record)
            except Exception:
                log.exception("could not write the call record of %s", record.call_id)
            finally:
                self._queue.task_done()

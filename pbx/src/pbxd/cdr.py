"""Call detail records: one ``CallRecord`` per call, written when the call is answered and
again when it ends. Writes go through one queue, in order, so that the "ended" version of a
record never overtakes its "answered" version; versions queued together are written as one,
the latest.

A call is known by its Call-ID and the caller's From tag (a Call-ID alone may come again), and
an answered call ends only by a BYE of its own dialog, that is with both tags right, that the
other side accepted (the proxy reports the 2xx). A forged BYE, answered 481, changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
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


@dataclass(slots=True)
class _Call:
    record: CallRecord
    callee_tag: str | None = None  # the To tag of the answer: with the caller's, the dialog


# (Call-ID, the caller's From tag)
CallKey = tuple[str, str]


class CallRecorder:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._active: dict[CallKey, _Call] = {}
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

    def started(self, key: CallKey, caller: str, callee: str, route: str) -> None:
        if key not in self._active:
            self._active[key] = _Call(CallRecord(key[0], caller, callee, route, start=self._now()))

    def answered(self, key: CallKey, callee_tag: str) -> None:
        call = self._active.get(key)
        if call is None or call.record.answer is not None:
            return
        call.record.answer = self._now()
        call.callee_tag = callee_tag
        self._queue.put_nowait(replace(call.record))

    def failed(self, key: CallKey, status: int) -> None:
        """The call ended without being answered (final response ``status``)."""
        call = self._active.get(key)
        if call is None or call.record.answer is not None:
            return
        del self._active[key]
        record = call.record
        record.end = self._now()
        record.duration = 0.0
        record.disposition = disposition_for(status)
        self._queue.put_nowait(record)

    def ended(self, call_id: str, from_tag: str, to_tag: str) -> None:
        """A BYE with these tags was accepted (answered 2xx): the call of that dialog ended,
        whichever side hung up."""
        for caller_tag, callee_tag in ((from_tag, to_tag), (to_tag, from_tag)):
            call = self._active.get((call_id, caller_tag))
            if call is not None and call.callee_tag is not None and call.callee_tag == callee_tag:
                self._end((call_id, caller_tag))
                return

    def _end(self, key: CallKey) -> None:
        call = self._active.pop(key)
        record = call.record
        assert record.answer is not None
        record.end = self._now()
        record.duration = round((record.end - record.answer).total_seconds(), 3)
        record.disposition = "answered"
        self._queue.put_nowait(record)

    def expire(self) -> None:
        """Close records of calls older than MAX_CALL_SECONDS (their BYE was lost)."""
        limit = self.clock() - MAX_CALL_SECONDS
        for key, call in list(self._active.items()):
            if call.record.start.timestamp() < limit:
                log.info(
                    "call %s had no BYE for %d hours: closing its record", key[0], MAX_CALL_SECONDS // 3600
                )
                if call.record.answer is None:
                    self.failed(key, 408)
                else:
                    self._end(key)

    async def _write_forever(self) -> None:
        while True:
            taken = [await self._queue.get()]
            while not self._queue.empty():
                taken.append(self._queue.get_nowait())
            try:
                await self._write(taken)
            finally:
                for _ in taken:
                    self._queue.task_done()

    async def _write(self, records: list[CallRecord]) -> None:
        """Write what was queued together: only the latest version of each record (a call
        answered and ended while the writer was busy is written once, already finished, which
        the upsert would have made of the two versions), all submitted at once so that the
        store can commit them together."""
        latest: dict[str, CallRecord] = {}
        for record in records:
            latest[record.record_id] = record
        outcomes = await self.store.put_call_records(list(latest.values()))
        for record, outcome in zip(latest.values(), outcomes, strict=True):
            if outcome is not None:
                if isinstance(outcome, asyncio.CancelledError):
                    raise outcome
                log.error(
                    "could not write the call record of %s: %s", record.call_id, outcome, exc_info=outcome
                )

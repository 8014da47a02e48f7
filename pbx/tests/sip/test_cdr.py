"""Call records follow dialogs: keyed by Call-ID and the caller's tag, closed only by a BYE of
that dialog, never written again once finished."""

from __future__ import annotations

import asyncio

from pbxd.cdr import CallRecorder
from pbxd.memstore import MemoryStore
from pbxd.store.base import CallRecord


def queued(recorder: CallRecorder) -> list[CallRecord]:
    records = []
    while not recorder._queue.empty():
        records.append(recorder._queue.get_nowait())
    return records


def test_only_a_bye_with_both_tags_of_the_dialog_ends_the_call_either_way_round() -> None:
    now = [1000.0]
    recorder = CallRecorder(MemoryStore(), clock=lambda: now[0])
    recorder.started(("c1", "alice"), "1001", "1002", "local")
    recorder.answered(("c1", "alice"), "bob")
    queued(recorder)
    now[0] += 30
    for from_tag, to_tag in (("mallory", "bob"), ("alice", "eve"), ("x", "y")):
        recorder.ended("c1", from_tag, to_tag)
    recorder.ended("c2", "alice", "bob")  # another call's id
    assert recorder.active_calls == 1 and queued(recorder) == []
    recorder.ended("c1", "bob", "alice")  # the callee hangs up: its tag is the From tag
    (record,) = queued(recorder)
    assert record.disposition == "answered" and record.duration == 30.0
    assert recorder.active_calls == 0


def test_a_reused_call_id_is_another_call_with_a_record_of_its_own() -> None:
    recorder = CallRecorder(MemoryStore(), clock=lambda: 1000.0)
    recorder.started(("same", "first"), "1001", "1002", "local")
    recorder.started(("same", "second"), "1001", "1003", "local")
    recorder.answered(("same", "first"), "bob")
    recorder.failed(("same", "second"), 486)
    recorder.failed(("same", "first"), 500)  # answered: a late failure changes nothing
    records = queued(recorder)
    assert [(r.callee, r.disposition) for r in records] == [("1002", None), ("1003", "busy")]
    assert records[0].record_id != records[1].record_id
    assert recorder.active_calls == 1


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str | None]] = []

    async def put_call_record(self, record: CallRecord) -> None:
        self.writes.append((record.callee, record.disposition))
        await super().put_call_record(record)


def test_versions_queued_together_are_written_once_as_the_latest() -> None:
    """A short call answered and hung up while the writer was busy is written once, already
    finished; a call still ringing or talking keeps the version it has."""

    async def scenario() -> list[tuple[str, str | None]]:
        now = [1000.0]
        store = CountingStore()
        recorder = CallRecorder(store, clock=lambda: now[0])
        recorder.started(("short", "a"), "1001", "1002", "local")
        recorder.started(("long", "b"), "1001", "1003", "local")
        recorder.answered(("short", "a"), "x")
        recorder.answered(("long", "b"), "y")
        now[0] += 2
        recorder.ended("short", "a", "x")
        recorder.start()
        await recorder.flush()
        await recorder.stop()
        return store.writes

    assert asyncio.run(scenario()) == [("1002", "answered"), ("1003", None)]

"""The store's behaviour, the same on SQLite and PostgreSQL (``database_url`` runs both)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pbxd.extensions import make_extension, with_password
from pbxd.store import open_database, open_store
from pbxd.store.base import Binding, CallRecord
from pbxd.store.errors import ExtensionConflictError, SchemaOutdatedError, SchemaTooNewError
from pbxd.store.schema import latest_version, load_migrations


def binding(
    aor: str = "sip:100@pbx.test", contact: str = "sip:100@127.0.0.1:5062", **changes: object
) -> Binding:
    values: dict[str, object] = {
        "aor": aor,
        "contact": contact,
        "expires_at": 1_900_000_000.5,
        "call_id": "call-1@127.0.0.1",
        "cseq": 1,
        "source": "udp:127.0.0.1:5062",
        "user_agent": "phone/1.0",
    }
    values.update(changes)
    return Binding(**values)  # type: ignore[arg-type]


def test_bindings_survive_a_reopen(database_url: str) -> None:
    async def scenario() -> None:
        store = open_store(database_url)
        await store.put_binding(binding())
        await store.put_binding(binding(contact="sip:100@127.0.0.1:5064"))
        await store.put_binding(binding(aor="sip:101@pbx.test", contact="sip:101@127.0.0.1:5066"))
        await store.close()

        reopened = open_store(database_url)
        loaded = await reopened.load_bindings()
        await reopened.close()
        assert loaded == [
            binding(),
            binding(contact="sip:100@127.0.0.1:5064"),
            binding(aor="sip:101@pbx.test", contact="sip:101@127.0.0.1:5066"),
        ]

    asyncio.run(scenario())


def test_put_binding_replaces_the_same_aor_and_contact(database_url: str) -> None:
    async def scenario() -> list[Binding]:
        store = open_store(database_url)
        await store.put_binding(binding())
        await store.put_binding(
            binding(expires_at=1_900_000_900.0, cseq=2, call_id="call-2", source="tcp:127.0.0.1:1")
        )
        loaded = await store.load_bindings()
        await store.close()
        return loaded

    assert asyncio.run(scenario()) == [
        binding(expires_at=1_900_000_900.0, cseq=2, call_id="call-2", source="tcp:127.0.0.1:1")
    ]


def test_delete_one_binding_and_all_of_an_aor(database_url: str) -> None:
    async def scenario() -> tuple[list[Binding], list[Binding]]:
        store = open_store(database_url)
        await store.put_binding(binding())
        await store.put_binding(binding(contact="sip:100@127.0.0.1:5064"))
        await store.put_binding(binding(aor="sip:101@pbx.test"))
        await store.delete_binding("sip:100@pbx.test", "sip:100@127.0.0.1:5064")
        after_one = await store.load_bindings()
        await store.delete_bindings("sip:100@pbx.test")
        await store.delete_binding("sip:100@pbx.test", "sip:never@127.0.0.1")  # absent: no error
        after_all = await store.load_bindings()
        await store.close()
        return after_one, after_all

    after_one, after_all = asyncio.run(scenario())
    assert after_one == [binding(), binding(aor="sip:101@pbx.test")]
    assert after_all == [binding(aor="sip:101@pbx.test")]


def test_get_extension_returns_what_the_admin_stored(database_url: str) -> None:
    database = open_database(database_url, migrate=True)
    ext = make_extension("100", "Alice", "pbx.test", "s3cret")
    database.apply_extensions([ext], update=False)
    database.close()

    async def scenario() -> tuple[object, object]:
        store = open_store(database_url)
        found = await store.get_extension("100"), await store.get_extension("999")
        await store.close()
        return found

    assert asyncio.run(scenario()) == (ext, None)


def test_extension_add_is_idempotent_and_conflicts_need_update(database_url: str) -> None:
    database = open_database(database_url, migrate=True)
    alice = make_extension("100", "Alice", "pbx.test", "s3cret")
    assert [c.outcome for c in database.apply_extensions([alice], update=False)] == ["added"]
    assert [c.outcome for c in database.apply_extensions([alice], update=False)] == ["unchanged"]

    renamed = make_extension("100", "Alice Smith", "pbx.test", "s3cret")
    bob = make_extension("101", "Bob", "pbx.test", "pw")
    with pytest.raises(ExtensionConflictError) as raised:
        database.apply_extensions([bob, renamed], update=False)
    assert raised.value.numbers == ["100"]
    # All or nothing: bob was not added alongside the refused change.
    assert database.get_extension("101") is None
    assert database.get_extension("100") == alice

    outcomes = [c.outcome for c in database.apply_extensions([bob, renamed], update=True)]
    assert outcomes == ["added", "updated"]
    assert database.get_extension("100") == renamed
    listed = database.list_extensions()
    assert [info.extension for info in listed] == [renamed, bob]
    assert listed[0].updated >= listed[0].created
    assert listed[0].created.tzinfo is not None
    database.close()


def test_password_change_and_disable_are_updates(database_url: str) -> None:
    database = open_database(database_url, migrate=True)
    alice = make_extension("100", "Alice", "pbx.test", "old")
    database.apply_extensions([alice], update=False)
    changed = with_password(alice, "pbx.test", "new")
    assert [c.outcome for c in database.apply_extensions([changed], update=True)] == ["updated"]
    stored = database.get_extension("100")
    assert stored is not None and stored.ha1_md5 == changed.ha1_md5 != alice.ha1_md5
    disabled = make_extension("100", "Alice", "pbx.test", "new", enabled=False)
    database.apply_extensions([disabled], update=True)
    assert database.get_extension("100") == disabled
    database.close()


def test_delete_extension_reports_whether_it_existed_and_drops_its_bindings(database_url: str) -> None:
    database = open_database(database_url, migrate=True)
    database.apply_extensions([make_extension("100", "", "pbx.test", "pw")], update=False)
    database.put_binding(binding(aor="100"))
    database.put_binding(binding(aor="101"))
    assert database.delete_extension("100") is True
    assert database.load_bindings() == [binding(aor="101")]
    assert database.delete_extension("100") is False
    assert database.get_extension("100") is None
    database.close()


def test_call_records_are_upserted_and_listed_newest_first(database_url: str) -> None:
    start = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    ringing = CallRecord("c1", "100", "101", "local", start, record_id="r1")
    answered = CallRecord(
        "c1",
        "100",
        "101",
        "local",
        start,
        start + timedelta(seconds=3),
        start + timedelta(seconds=63),
        60.0,
        "answered",
        record_id="r1",
    )
    later = CallRecord(
        "c2", "101", "200", "trunk:site-b", start + timedelta(hours=1), disposition="busy", duration=0.0
    )
    # Naive times are UTC.
    earlier = CallRecord("c0", "102", "103", "local", datetime(2026, 11, 25, 9, 0), disposition="cancelled")

    async def scenario() -> None:
        store = open_store(database_url)
        for record in (ringing, answered, later, earlier):
            await store.put_call_record(record)
        await store.close()

    asyncio.run(scenario())
    database = open_database(database_url, migrate=False)
    assert database.list_call_records() == [
        later,
        answered,
        CallRecord(
            "c0",
            "102",
            "103",
            "local",
            datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
            disposition="cancelled",
            record_id=earlier.record_id,
        ),
    ]
    assert [r.call_id for r in database.list_call_records(since=start)] == ["c2", "c1"]
    assert [r.call_id for r in database.list_call_records(until=start + timedelta(minutes=1))] == ["c1", "c0"]
    assert [r.call_id for r in database.list_call_records(number="200")] == ["c2"]
    assert [r.call_id for r in database.list_call_records(number="101")] == ["c2", "c1"]
    assert [r.call_id for r in database.list_call_records(limit=1)] == ["c2"]
    database.close()


def test_a_finished_call_record_is_never_written_over_and_a_reused_call_id_is_a_new_record(
    database_url: str,
) -> None:
    start = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    answered = CallRecord(
        "reused", "100", "101", "local", start, start, start + timedelta(seconds=90), 90.0, "answered"
    )
    # The same record id written again (a late or replayed write) changes nothing once finished.
    rewrite = CallRecord(
        "reused", "100", "101", "local", start, None, start, 0.0, "failed", record_id=answered.record_id
    )
    # A new call with the same Call-ID gets a record of its own.
    again = CallRecord("reused", "100", "101", "local", start + timedelta(hours=1), disposition="failed")

    async def scenario() -> None:
        store = open_store(database_url)
        for record in (answered, rewrite, again):
            await store.put_call_record(record)
        await store.close()

    asyncio.run(scenario())
    database = open_database(database_url, migrate=False)
    assert database.list_call_records() == [again, answered]
    database.close()


def test_call_records_written_together_each_get_their_own_outcome(database_url: str) -> None:
    """The call recorder hands the store every record waiting at once; one the database refuses
    is reported as such, and the others are stored all the same."""
    start = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    first = CallRecord("one", "100", "101", "local", start, disposition="busy", duration=0.0)
    refused = replace(CallRecord("two", "100", "101", "local", start), caller=None)  # type: ignore[arg-type]
    last = CallRecord("three", "100", "101", "local", start + timedelta(seconds=1), disposition="failed")

    async def scenario() -> list[BaseException | None]:
        store = open_store(database_url)
        outcomes = await store.put_call_records([first, refused, last])
        await store.close()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], Exception) and "caller" in str(outcomes[1]).lower()
    database = open_database(database_url, migrate=False)
    assert database.list_call_records() == [last, first]
    database.close()


def test_a_shared_secret_is_made_once_and_read_by_every_node(database_url: str) -> None:
    async def scenario() -> tuple[bytes, bytes, bytes]:
        first, second = open_store(database_url), open_store(database_url)
        key = await first.shared_secret("record-route")
        same = await second.shared_secret("record-route")
        other = await second.shared_secret("another")
        await first.close()
        await second.close()
        return key, same, other

    key, same, other = asyncio.run(scenario())
    assert len(key) == 32 and key == same and other != key


def test_migrate_applies_every_version_once(database_url: str) -> None:
    database = open_database(database_url, migrate=True)
    backend = database.dialect.name
    migrations = load_migrations(backend)  # type: ignore[arg-type]
    assert database.schema_version() == latest_version(migrations)
    assert database.migrate(migrations) == []
    database.close()


def test_admin_open_refuses_an_unmigrated_database(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        # A missing file is not created by a command that does not migrate.
        with pytest.raises(Exception, match="does not exist"):
            open_database(database_url, migrate=False)
        return
    with pytest.raises(SchemaOutdatedError, match=r"schema version 0 .*pbxd db migrate"):
        open_database(database_url, migrate=False)


def test_a_database_newer_than_the_code_is_refused(database_url: str) -> None:
    database = open_database(database_url, migrate=True)
    future = latest_version(load_migrations(database.dialect.name)) + 1  # type: ignore[arg-type]
    database._execute(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
        (future, "future", "2030-01-01"),
    )
    database.close()
    for migrate in (True, False):
        with pytest.raises(SchemaTooNewError, match=f"version {future}.*newer pbxd"):
            open_database(database_url, migrate=migrate)


def test_ping_succeeds_on_a_live_database(database_url: str) -> None:
    async def scenario() -> None:
        store = open_store(database_url)
        await store.ping()
        await store.close()
        await store.close()  # closing twice is harmless

    asyncio.run(scenario())


def test_migration_2_keeps_the_call_records_of_version_1_and_keys_them_by_their_own_id(
    database_url: str,
) -> None:
    from pbxd.store import _connect  # the raw connection, to stop at version 1

    database, migrations = _connect(database_url, create=True)
    assert database.migrate(migrations[:1]) == [migrations[0]]
    to_db = database.dialect.time_to_db
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    database._execute(
        "INSERT INTO call_records (call_id, caller, callee, route, start_at, answer_at, end_at, duration, "
        "disposition) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "old-call",
            "100",
            "101",
            "local",
            to_db(start),
            to_db(start),
            to_db(start + timedelta(seconds=5)),
            5.0,
            "answered",
        ),
    )
    assert [m.version for m in database.migrate(migrations)] == [2]
    kept = database.list_call_records()
    assert kept == [
        CallRecord(
            "old-call",
            "100",
            "101",
            "local",
            start,
            start,
            start + timedelta(seconds=5),
            5.0,
            "answered",
            record_id="old-call",
        )
    ]
    # Keyed by record id now: the same Call-ID again is a second record, the first untouched.
    database.put_call_record(CallRecord("old-call", "100", "101", "local", start + timedelta(days=1)))
    database.put_call_record(replace(kept[0], disposition="failed", duration=0.0))
    records = database.list_call_records()
    assert len(records) == 2 and records[1] == kept[0]
    assert len(database.shared_secret("record-route")) == 32
    database.close()

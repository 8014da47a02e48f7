"""PostgreSQL behaviour beyond the shared suite: surviving a dropped connection."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from pbxd.store import open_store
from pbxd.store.base import Binding
from pbxd.store.errors import DatabaseUnavailableError

pytestmark = pytest.mark.peer


def binding(contact: str) -> Binding:
    return Binding("sip:100@pbx.test", contact, 1_900_000_000.0, "c", 1, "udp:127.0.0.1:5062")


def drop_other_connections(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_store_reconnects_after_the_server_dropped_its_connection(postgres_server: Any) -> None:
    url = postgres_server.create_database()

    async def scenario() -> list[Binding]:
        store = open_store(url)
        await store.put_binding(binding("sip:100@127.0.0.1:1"))
        assert drop_other_connections(url) == 1
        await store.put_binding(binding("sip:100@127.0.0.1:2"))  # reconnects and writes
        await store.ping()
        loaded = await store.load_bindings()
        await store.close()
        return loaded

    assert [b.contact for b in asyncio.run(scenario())] == ["sip:100@127.0.0.1:1", "sip:100@127.0.0.1:2"]


def test_an_unreachable_server_is_reported_without_the_password(postgres_server: Any) -> None:
    port = postgres_server.port
    with pytest.raises(DatabaseUnavailableError) as raised:
        open_store(f"postgresql://postgres:hunter2@127.0.0.1:{port}/no_such_database")
    message = str(raised.value)
    assert "no_such_database" in message and "hunter2" not in message

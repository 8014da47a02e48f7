"""``pbxd run`` on PostgreSQL: when the database server stops accepting pbxd, the watchdog ends
the process with exit code 4 so that the cluster notices (WSFC only sees whether the service
runs)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from peers.harness import PbxFactory

pytestmark = pytest.mark.peer


def test_pbxd_exits_4_when_postgresql_refuses_it(pbxes: PbxFactory, postgres_server: Any) -> None:
    url = postgres_server.create_database()
    name = url.rsplit("/", 1)[1]
    pbx = pbxes("a", "127.0.0.2", database_url=url)
    pbx.start()
    assert pbx.process is not None
    with psycopg.connect(postgres_server.url("postgres"), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    code = pbx.process.wait(timeout=30)
    pbx.process = None
    assert code == 4
    log = pbx.log_text()
    assert "reconnecting" in log
    assert "the database stopped answering" in log

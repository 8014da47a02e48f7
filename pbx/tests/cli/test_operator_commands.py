"""What operators and the cluster use: registrations list, stats, backup and restore, import
of digest hashes, and readiness reports (NOTIFY_SOCKET)."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pbxd import commands, notify
from pbxd.store import open_database
from pbxd.store.base import Binding, CallRecord

from cli.cli_helpers import Pbxd, write_config
from cli.test_run import HOST, free_udp_port, write_run_config

PASSWORD = "s3cret"


def add(pbxd: Pbxd, number: str) -> None:
    assert pbxd("extension", "add", number, "--password-stdin", stdin=PASSWORD + "\n").code == 0


# --- registrations list ---------------------------------------------------------------------


def test_registrations_list_shows_the_contacts_that_have_not_expired(pbxd: Pbxd) -> None:
    now = time.time()
    database = open_database(f"sqlite:///{pbxd.database}", migrate=False)
    database.put_binding(
        Binding("100", "sip:100@10.0.0.5:5062", now + 600, "a", 1, "udp:10.0.0.5:5062", "Yealink")
    )
    database.put_binding(Binding("101", "sip:101@10.0.0.6:5062", now + 300, "b", 1, "tcp:10.0.0.6:40000"))
    database.put_binding(Binding("102", "sip:102@10.0.0.7:5062", now - 1, "c", 1, "udp:10.0.0.7:5062"))
    database.close()

    listed = pbxd("registrations", "list", "--json")
    assert listed.code == 0 and listed.json["changed"] is False
    rows = listed.json["registrations"]
    assert [(r["number"], r["source"], r["user_agent"]) for r in rows] == [
        ("100", "udp:10.0.0.5:5062", "Yealink"),
        ("101", "tcp:10.0.0.6:40000", ""),
    ]
    assert 590 <= rows[0]["expires_in"] <= 600
    text = pbxd("registrations", "list").out
    assert "sip:100@10.0.0.5:5062  (Yealink)" in text and "102" not in text
    assert text.rstrip().endswith("2 contact(s) of 2 extension(s)")
    only = pbxd("registrations", "list", "--number", "101", "--json").json["registrations"]
    assert [r["number"] for r in only] == ["101"]


# --- stats ------------------------------------------------------------------------------------


def test_stats_counts_from_the_database_and_says_why_the_server_is_not_healthy(pbxd: Pbxd) -> None:
    nobody = f"udp:{HOST}:{free_udp_port()}"  # nothing listens there
    pbxd.config.write_text(pbxd.config.read_text().replace("udp:127.0.0.1:5060", nobody))
    add(pbxd, "100")
    now = datetime.now(UTC)
    database = open_database(f"sqlite:///{pbxd.database}", migrate=False)
    database.put_binding(Binding("100", "sip:100@10.0.0.5:5062", now.timestamp() + 600, "a", 1, "udp:x:1"))
    database.put_call_record(CallRecord("talking", "100", "101", "local", now, answer=now))
    database.put_call_record(
        CallRecord(
            "done", "100", "101", "local", now, answer=now, end=now, duration=0.0, disposition="answered"
        )
    )
    database.put_call_record(
        CallRecord("old", "100", "101", "local", now - timedelta(days=2), disposition="busy", duration=0.0)
    )
    database.close()

    result = pbxd("stats", "--json")
    assert result.code == 0, result.err
    data = result.json
    assert data["changed"] is False
    assert (data["registrations"], data["registered_extensions"], data["extensions"]) == (1, 1, 1)
    assert (data["active_calls"], data["calls_today"]) == (1, 2)
    assert data["version"] and data["version"] != "unknown"
    assert data["build"] == commands.build()
    assert pbxd("stats").out.startswith(f"pbxd {data['version']} ({data['build']}): failing")
    # Nothing listens on the configured address: the server's check fails, with the reason.
    assert data["health"] == "failing" and data["checks"]["database"] == "ok"
    assert data["checks"]["sip"].startswith(nobody)
    assert "pbxd.db" not in result.out  # read-only: nothing created


# --- a running server: stats, backup, restore, the lock, readiness ------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Pbxd, Path]]:
    """``pbxd run`` with NOTIFY_SOCKET set to a datagram socket the test reads."""
    port = free_udp_port()
    config = write_run_config(tmp_path, port)
    tool = Pbxd(config, tmp_path / "pbx.db")
    assert tool("db", "migrate").code == 0
    add(tool, "100")
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(15)
    process = subprocess.Popen(
        [sys.executable, "-m", "pbxd", "--config", str(config), "run"],
        env={**os.environ, "NOTIFY_SOCKET": str(notify_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = listener.recv(4096).decode()
        assert ready.startswith("READY=1\n")
        # READY=1 comes once the database is open and every socket listens.
        assert (tmp_path / "pbxd.log").read_text().count("pbxd is serving") == 1
        yield process, tool, tmp_path
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert listener.recv(4096) == b"STOPPING=1"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        listener.close()


def test_a_running_server_is_reported_healthy_and_backed_up_consistently(
    server: tuple[subprocess.Popen[bytes], Pbxd, Path],
) -> None:
    _, tool, folder = server
    stats = tool("stats", "--json").json
    assert stats["health"] == "ok" and stats["checks"] == {"sip": "ok", "database": "ok"}

    backup = tool("db", "backup", str(folder / "copy.db"), "--json")
    assert backup.code == 0, backup.err
    assert backup.json["changed"] is True and backup.json["extensions"] == 1
    with sqlite3.connect(folder / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
        assert copy.execute("SELECT number FROM extensions").fetchall() == [("100",)]
    again = tool("db", "backup", str(folder / "copy.db"))
    assert again.code == 1 and "exists" in again.err and "--overwrite" in again.err
    assert tool("db", "backup", str(folder / "copy.db"), "--overwrite").code == 0
    assert not list(folder.glob("*.partial"))


def test_restore_and_a_second_server_are_refused_while_a_server_runs(
    server: tuple[subprocess.Popen[bytes], Pbxd, Path],
) -> None:
    process, tool, folder = server
    assert tool("db", "backup", str(folder / "copy.db")).code == 0
    add(tool, "200")  # after the backup
    refused = tool("db", "restore", str(folder / "copy.db"), "--json")
    assert refused.code == 1
    assert f"in use by process {process.pid}" in refused.json["error"]
    assert "stop that pbxd" in refused.json["error"]
    numbers = [e["number"] for e in tool("extension", "list", "--json").json["extensions"]]
    assert numbers == ["100", "200"]  # nothing was touched
    second = subprocess.run(
        [sys.executable, "-m", "pbxd", "--config", str(tool.config), "run"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert second.returncode == 1 and f"in use by process {process.pid}" in second.stderr


def test_restore_replaces_the_data_once_the_server_is_stopped(tmp_path: Path) -> None:
    tool = Pbxd(write_config(tmp_path), tmp_path / "pbx.db")
    assert tool("db", "migrate").code == 0
    add(tool, "100")
    assert tool("db", "backup", str(tmp_path / "copy.db")).code == 0
    add(tool, "200")
    restored = tool("db", "restore", str(tmp_path / "copy.db"), "--json")
    assert restored.code == 0, restored.err
    assert restored.json["changed"] is True and restored.json["extensions"] == 1
    assert [e["number"] for e in tool("extension", "list", "--json").json["extensions"]] == ["100"]
    with sqlite3.connect(tmp_path / "pbx.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # as pbxd runs it


def test_restore_refuses_what_is_not_a_pbxd_backup_and_changes_nothing(pbxd: Pbxd, tmp_path: Path) -> None:
    add(pbxd, "100")
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with sqlite3.connect(tmp_path / "other.db") as other:
        other.execute("CREATE TABLE t (x)")
    for name, expected in (("junk.db", "not a SQLite database"), ("other.db", "is not a pbxd database")):
        result = pbxd("db", "restore", str(tmp_path / name))
        assert result.code == 1 and expected in result.err, result.err
    assert pbxd("db", "restore", str(tmp_path / "absent.db")).code == 1
    assert [e["number"] for e in pbxd("extension", "list", "--json").json["extensions"]] == ["100"]


def test_backup_and_restore_leave_postgresql_to_its_own_tools(tmp_path: Path) -> None:
    tool = Pbxd(write_config(tmp_path, url="postgresql://pbx@127.0.0.1:1/pbx"), tmp_path / "unused")
    for action, tool_name in (("backup", "pg_dump"), ("restore", "pg_restore")):
        result = tool("db", action, str(tmp_path / "x.db"))
        assert result.code == 1 and tool_name in result.err


# --- import of digest hashes ------------------------------------------------------------------


def ha1(number: str, realm: str, password: str) -> tuple[str, str]:
    secret = f"{number}:{realm}:{password}".encode()
    return hashlib.md5(secret).hexdigest(), hashlib.sha256(secret).hexdigest()


def test_import_of_hashes_stores_them_as_given_and_is_idempotent(pbxd: Pbxd, tmp_path: Path) -> None:
    md5, sha256 = ha1("100", "pbx.test", PASSWORD)
    csv_file = tmp_path / "hashes.csv"
    csv_file.write_text(
        "number,display_name,realm,ha1_md5,ha1_sha256,enabled\n"
        f"100,Alice,pbx.test,{md5.upper()},{sha256},true\n",
        encoding="utf-8",
    )
    first = pbxd("extension", "import", str(csv_file), "--json")
    assert first.code == 0, first.err
    assert first.json["added"] == 1
    with sqlite3.connect(pbxd.database) as conn:
        stored = conn.execute("SELECT realm, ha1_md5, ha1_sha256 FROM extensions").fetchall()
    assert stored == [("pbx.test", md5, sha256)]
    assert pbxd("extension", "import", str(csv_file), "--json").json["unchanged"] == 1
    # The same password given as a password: the same hashes, so nothing changes.
    assert pbxd("extension", "add", "100", "--name", "Alice", "--password-stdin", stdin=PASSWORD).code == 0
    assert (
        "unchanged"
        in pbxd("extension", "add", "100", "--name", "Alice", "--password-stdin", stdin=PASSWORD).out
    )


def test_import_of_hashes_refuses_another_realm_and_wrong_lengths_without_echoing_them(
    pbxd: Pbxd, tmp_path: Path
) -> None:
    md5, sha256 = ha1("100", "other.realm", PASSWORD)
    csv_file = tmp_path / "hashes.csv"
    csv_file.write_text(
        "number,realm,ha1_md5,ha1_sha256\n"
        f"100,other.realm,{md5},{sha256}\n"
        f"101,pbx.test,{md5[:-1]},{sha256}\n"
        f"102,pbx.test,{md5},{sha256}zz\n",
        encoding="utf-8",
    )
    result = pbxd("extension", "import", str(csv_file))
    assert result.code == 1
    assert f'{csv_file} line 2, realm: "other.realm" is not the configured realm "pbx.test"' in result.err
    assert f"{csv_file} line 3, ha1_md5: not a hash of 32 hexadecimal digits (found 31" in result.err
    assert f"{csv_file} line 4, ha1_sha256: not a hash of 64 hexadecimal digits (found 66" in result.err
    assert md5[:20] not in result.err and sha256[:20] not in result.err
    assert pbxd("extension", "list", "--json").json["extensions"] == []


def test_import_refuses_a_header_mixing_passwords_and_hashes(pbxd: Pbxd, tmp_path: Path) -> None:
    csv_file = tmp_path / "mixed.csv"
    csv_file.write_text("number,password,ha1_md5\n100,x,y\n", encoding="utf-8")
    result = pbxd("extension", "import", str(csv_file))
    assert result.code == 1 and "both password and hash columns" in result.err
    missing = tmp_path / "missing.csv"
    missing.write_text("number,realm,ha1_md5\n100,pbx.test,y\n", encoding="utf-8")
    assert "(missing: ha1_sha256)" in pbxd("extension", "import", str(missing)).err


# --- readiness reports ------------------------------------------------------------------------


def test_notify_does_nothing_without_the_variable_or_without_unix_sockets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert notify.notify("READY=1", environ={}) is False
    monkeypatch.delattr(socket, "AF_UNIX")  # as on Windows builds without AF_UNIX
    assert notify.notify("READY=1", environ={"NOTIFY_SOCKET": "/run/x.sock"}) is False


def test_notify_reaches_an_abstract_socket_and_survives_a_missing_one(tmp_path: Path) -> None:
    name = f"pbxd-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(5)
        assert notify.notify("READY=1", environ={"NOTIFY_SOCKET": "@" + name}) is True
        assert listener.recv(100) == b"READY=1"
    assert notify.notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "absent.sock")}) is False
    assert notify.notify("READY=1", environ={"NOTIFY_SOCKET": "relative.sock"}) is False


def test_stats_probes_over_tcp_when_the_pbx_listens_on_tcp_only(pbxd: Pbxd) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind((HOST, 0))
        server.listen(1)
        port = server.getsockname()[1]
        pbxd.config.write_text(pbxd.config.read_text().replace("udp:127.0.0.1:5060", f"tcp:{HOST}:{port}"))

        def answer() -> None:
            connection, _ = server.accept()
            with connection:
                request = connection.recv(65535)
                assert request.startswith(b"OPTIONS sip:") and b"SIP/2.0/TCP" in request
                connection.sendall(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")

        answering = threading.Thread(target=answer)
        answering.start()
        result = pbxd("stats", "--json")
        answering.join(10)
    assert result.json["checks"]["sip"] == "ok"

"""``pbxd run`` as a real process: it serves, stops quickly on SIGTERM/SIGINT, and ends
itself (non-zero) when its database goes away, so that the cluster notices."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pbxd.runner import Outcome, WatchdogSettings
from pbxd.runner import watch as watch_health
from pbxd.store import async_store, open_store
from pbxd.store.async_store import SqlStore
from pbxd.store.base import Binding

HOST = "127.0.0.31"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def write_run_config(folder: Path, port: int) -> Path:
    config = folder / "pbx.toml"
    config.write_text(
        f"""
[sip]
listen = ["udp:{HOST}:{port}", "tcp:{HOST}:{port}"]
realm = "pbx.test"
domain = "pbx.test"

[database]
url = "sqlite:///pbx.db"

[log]
level = "INFO"
file = "pbxd.log"
""",
        encoding="utf-8",
    )
    return config


def wait_for_log(log: Path, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(encoding="utf-8"):
            return
        time.sleep(0.05)
    raise AssertionError(
        f"{text!r} not logged within {timeout} s; log: {log.read_text() if log.exists() else ''}"
    )


def options_ping(port: int) -> bytes:
    """A SIP OPTIONS to the PBX; returns the first line of the answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(3)
        local = sock.getsockname()[1]
        request = (
            f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{local};branch=z9hG4bK-run-test\r\n"
            f"From: <sip:probe@{HOST}>;tag=1\r\nTo: <sip:{HOST}>\r\nCall-ID: run-test@{HOST}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(request.encode(), (HOST, port))
        return sock.recv(65535).split(b"\r\n", 1)[0]


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, int]]:
    port = free_udp_port()
    config = write_run_config(tmp_path, port)
    process = subprocess.Popen(
        [sys.executable, "-m", "pbxd", "--config", str(config), "run"],
        cwd="/",  # like a service: relative paths in the file must not depend on the working folder
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_log(tmp_path / "pbxd.log", "pbxd is serving")
        yield process, tmp_path, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_and_stops_within_two_seconds_of_the_signal(
    started: tuple[subprocess.Popen[bytes], Path, int], signum: int
) -> None:
    process, folder, port = started
    assert options_ping(port).startswith(b"SIP/2.0 ")
    sent = time.monotonic()
    process.send_signal(signum)
    code = process.wait(timeout=10)
    elapsed = time.monotonic() - sent
    assert code == 0
    assert elapsed < 2.0, f"stopping took {elapsed:.2f} s"
    log = (folder / "pbxd.log").read_text()
    assert "stop requested" in log and log.rstrip().endswith("pbxd stopped")
    # Which version runs is in the log, so that an upgrade can be confirmed on the node.
    assert f"pbxd {importlib.metadata.version('pbxd')} starting" in log
    # The database was closed cleanly: its WAL was checkpointed into the file.
    wal = folder / "pbx.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    with sqlite3.connect(folder / "pbx.db") as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] >= 1


def test_run_exits_non_zero_when_the_database_disappears(
    started: tuple[subprocess.Popen[bytes], Path, int],
) -> None:
    process, folder, _ = started
    # What a shared disk taken offline looks like from the process: the file is gone.
    os.rename(folder / "pbx.db", folder / "moved.db")
    code = process.wait(timeout=15)
    assert code == 4 == int(Outcome.DATABASE_UNREACHABLE)
    assert "the database stopped answering" in (folder / "pbxd.log").read_text()


def test_run_fails_fast_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as blocker:
        blocker.bind((HOST, 0))
        port = blocker.getsockname()[1]
        config = write_run_config(tmp_path, port)
        result = subprocess.run(
            [sys.executable, "-m", "pbxd", "--config", str(config), "run"],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1 == int(Outcome.STARTUP_FAILED)
    assert "cannot start the PBX" in result.stderr


def test_run_refuses_a_database_folder_that_is_not_there(tmp_path: Path) -> None:
    config = write_run_config(tmp_path, free_udp_port())
    config.write_text(config.read_text().replace("sqlite:///pbx.db", "sqlite:///absent/pbx.db"))
    result = subprocess.run(
        [sys.executable, "-m", "pbxd", "--config", str(config), "run"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr and "does not exist" in result.stderr


class ScriptedServer:
    """Answers ``healthy()`` from a script, then unhealthy for ever."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.checks = 0

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health_problem(self) -> str | None:
        self.checks += 1
        healthy = self.answers.pop(0) if self.answers else False
        return None if healthy else "scripted failure"


def watch(tmp_path: Path, server: ScriptedServer) -> Outcome:
    async def scenario() -> Outcome:
        store = open_store(f"sqlite:///{tmp_path / 'pbx.db'}")
        try:
            return await asyncio.wait_for(watch_health(server, store, WatchdogSettings(interval_s=0.01)), 5)
        finally:
            await store.close()

    return asyncio.run(scenario())


def test_watchdog_gives_up_after_three_unhealthy_checks_in_a_row(tmp_path: Path) -> None:
    server = ScriptedServer(True, True)
    assert watch(tmp_path, server) is Outcome.SERVER_UNHEALTHY
    assert server.checks == 5


def test_watchdog_rides_out_isolated_failed_checks(tmp_path: Path) -> None:
    server = ScriptedServer(True, False, True, False, False, True)
    assert watch(tmp_path, server) is Outcome.SERVER_UNHEALTHY
    # Failures at checks 2, 4-5 were ridden out; 7, 8, 9 in a row ended the run.
    assert server.checks == 9


def slow_store(tmp_path: Path, gate: threading.Event | None = None, seconds: float = 0.02) -> SqlStore:
    """A SQLite store whose binding writes take ``seconds`` each (a slow disk), or wait for
    ``gate`` (a database that stopped answering)."""
    store = open_store(f"sqlite:///{tmp_path / 'pbx.db'}")
    write = store.database.put_binding

    def slow_write(binding: Binding) -> None:
        if gate is not None:
            gate.wait(10)
        else:
            time.sleep(seconds)
        write(binding)

    store.database.put_binding = slow_write  # type: ignore[method-assign]
    return store


def flood(store: SqlStore, count: int) -> list[asyncio.Future[None]]:
    return [
        asyncio.ensure_future(
            store.put_binding(Binding(f"{n}", f"sip:{n}@127.0.0.1", time.time() + 60, "c", 1, "udp:x:1"))
        )
        for n in range(count)
    ]


FAST = WatchdogSettings(interval_s=0.05, failures_allowed=3, ping_timeout_s=0.3)
HEALTHY_FOREVER = (True,) * 10_000


def test_a_long_database_queue_that_makes_progress_is_not_taken_for_a_dead_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(async_store, "MAX_BATCH", 5)  # 20 ms a write: a batch every 0.1 s

    async def scenario() -> tuple[int, int]:
        store = slow_store(tmp_path)
        writes = flood(store, 100)  # 2 s of work: every ping waits far longer than its timeout
        try:
            with pytest.raises(TimeoutError):  # the watchdog was still watching
                await asyncio.wait_for(watch_health(ScriptedServer(*HEALTHY_FOREVER), store, FAST), 1.2)
            return store.backlog, store.succeeded
        finally:
            for write in writes:
                write.cancel()
            await store.close()

    backlog, succeeded = asyncio.run(scenario())
    assert backlog > 10 and succeeded > 10  # busy throughout, and making progress
    assert "database check failed" not in caplog.text


def test_a_database_that_makes_no_progress_still_ends_the_run_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()

    async def scenario() -> Outcome:
        store = slow_store(tmp_path, gate)
        writes = flood(store, 5)
        try:
            return await asyncio.wait_for(watch_health(ScriptedServer(*HEALTHY_FOREVER), store, FAST), 5)
        finally:
            gate.set()
            await asyncio.gather(*writes, return_exceptions=True)
            await store.close()

    assert asyncio.run(scenario()) is Outcome.DATABASE_UNREACHABLE
    assert "database check failed (3 in a row): no database operation finished within 0.3 s" in caplog.text
    assert "the database stopped answering (no database operation finished" in caplog.text


def test_a_database_file_that_disappears_under_load_is_seen_at_once(tmp_path: Path) -> None:
    async def scenario() -> tuple[Outcome, float]:
        store = slow_store(tmp_path)
        writes = flood(store, 30)
        os.rename(tmp_path / "pbx.db", tmp_path / "moved.db")
        started = time.monotonic()
        try:
            outcome = await asyncio.wait_for(watch_health(ScriptedServer(*HEALTHY_FOREVER), store, FAST), 5)
            return outcome, time.monotonic() - started
        finally:
            for write in writes:
                write.cancel()
            await store.close()

    outcome, elapsed = asyncio.run(scenario())
    assert outcome is Outcome.DATABASE_UNREACHABLE
    assert elapsed < 1.0  # three checks, none waiting behind the queue

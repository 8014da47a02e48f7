"""Real peers for pbxd: ``pbxd run`` processes, SIPp and baresip, all bounded in time.

Every process started here is stopped by the fixture that owns it, killed if it does not
stop. Addresses are on 127.0.0.0/8 only; ports are chosen free at run time.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

SIPP = "/usr/bin/sipp"
BARESIP = "/usr/bin/baresip"
SCENARIOS = Path(__file__).parent / "scenarios"
REALM = "pbx.test"


def free_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host`` (pbxd listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no free UDP+TCP port on {host}")


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Pbx:
    """One pbxd: its folder (configuration, SQLite file, log) and its ``pbxd run`` process."""

    name: str
    host: str
    port: int
    folder: Path
    trunks: str = ""
    extra_sip: str = ""
    # None: a SQLite file in the folder.
    database_url: str | None = None
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0

    @property
    def config(self) -> Path:
        return self.folder / "pbx.toml"

    @property
    def database(self) -> Path:
        return self.folder / "pbx.db"

    @property
    def log(self) -> Path:
        return self.folder / "pbxd.log"

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"""
[sip]
listen = ["udp:{self.host}:{self.port}", "tcp:{self.host}:{self.port}"]
realm = "{REALM}"
domain = "{self.name}.{REALM}"
{self.extra_sip}

[database]
url = "{self.database_url or "sqlite:///pbx.db"}"

[log]
level = "DEBUG"
file = "pbxd.log"
{self.trunks}
""",
            encoding="utf-8",
        )

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pbxd", "--config", str(self.config), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def add_extension(self, number: str, password: str) -> None:
        result = self.cli("extension", "add", number, "--password-stdin", stdin=password + "\n")
        assert result.returncode == 0, result.stderr

    def start(self) -> None:
        assert self.process is None, "already running"
        self.runs += 1
        marker = f"pbxd is serving on udp:{self.host}:{self.port}"
        already = self.log.read_text(encoding="utf-8").count(marker) if self.log.exists() else 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pbxd", "--config", str(self.config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def serving() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"pbxd {self.name} exited with {self.process.returncode}:\n{self.log_text()}"
                )
            return self.log.exists() and self.log.read_text(encoding="utf-8").count(marker) > already

        wait_until(serving, 20, f"pbxd {self.name} to serve")

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then wait; killed if it does not end in time. Returns the exit code."""
        process, self.process = self.process, None
        if process is None:
            return 0
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else "(no log)"

    def bindings(self) -> list[tuple[str, str, str, str]]:
        """(aor, contact, source, user_agent) of every stored registration, read directly."""
        query = "SELECT aor, contact, source, user_agent FROM bindings ORDER BY aor"
        if self.database_url is not None:
            with psycopg.connect(self.database_url) as pg:
                return [tuple(row) for row in pg.execute(query).fetchall()]
        if not self.database.exists():
            return []
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as conn:
            return [tuple(row) for row in conn.execute(query).fetchall()]

    def calls(self) -> list[dict[str, Any]]:
        result = self.cli("calls", "list", "--json")
        assert result.returncode == 0, result.stderr
        calls: list[dict[str, Any]] = json.loads(result.stdout)["calls"]
        return calls


@dataclass
class PbxFactory:
    base: Path
    created: list[Pbx] = field(default_factory=list)

    def __call__(
        self,
        name: str,
        host: str,
        *,
        port: int | None = None,
        trunks: str = "",
        extra_sip: str = "",
        database_url: str | None = None,
    ) -> Pbx:
        pbx = Pbx(name, host, port or free_port(host), self.base / name, trunks, extra_sip, database_url)
        pbx.write_config()
        migrated = pbx.cli("db", "migrate")
        assert migrated.returncode == 0, migrated.stderr
        self.created.append(pbx)
        return pbx

    def close(self) -> None:
        for pbx in self.created:
            if pbx.process is not None:
                pbx.process.kill()
                pbx.process.wait(timeout=10)
                pbx.process = None


@dataclass
class SippResult:
    code: int
    errors: str
    stdout: str

    def assert_ok(self, pbx: Pbx | None = None) -> None:
        assert self.code == 0, (
            f"sipp exited with {self.code}\nerrors:\n{self.errors}\nstdout tail:\n{self.stdout[-1500:]}"
            + (f"\npbxd log tail:\n{pbx.log_text()[-4000:]}" if pbx else "")
        )


@dataclass
class Sipp:
    """SIPp runs of one test, in its own folder (SIPp writes its logs to the working folder)."""

    folder: Path
    running: list[subprocess.Popen[str]] = field(default_factory=list)

    def _argv(
        self,
        scenario: str,
        *,
        local: tuple[str, int],
        remote: tuple[str, int] | None,
        fields: list[str] | None,
        timeout_s: int,
        extra: tuple[str, ...],
    ) -> list[str]:
        argv = [SIPP, "-sf", str(SCENARIOS / scenario), "-i", local[0], "-p", str(local[1])]
        if remote is not None:
            argv.insert(1, f"{remote[0]}:{remote[1]}")
        if fields is not None:
            # The whole "[authentication ...]" keyword travels in a field: SIPp 3.6.1 mangles
            # [fieldN] placed inside it.
            users = self.folder / f"{scenario}-{local[1]}.csv"
            users.write_text("SEQUENTIAL\n" + ";".join(fields) + "\n", encoding="utf-8")
            argv += ["-inf", str(users)]
        return [
            *argv,
            "-m", "1",
            "-nostdin",
            "-trace_err",
            "-trace_msg",
            "-timeout", f"{timeout_s}s",
            "-timeout_error",
            *extra,
        ]  # fmt: skip

    def run(
        self,
        scenario: str,
        *,
        local: tuple[str, int],
        remote: tuple[str, int] | None = None,
        fields: list[str] | None = None,
        timeout_s: int = 15,
        extra: tuple[str, ...] = (),
    ) -> SippResult:
        argv = self._argv(
            scenario, local=local, remote=remote, fields=fields, timeout_s=timeout_s, extra=extra
        )
        done = subprocess.run(
            argv, cwd=self.folder, capture_output=True, text=True, timeout=timeout_s + 15, check=False
        )
        return SippResult(done.returncode, self._errors(scenario), done.stdout)

    def start(
        self,
        scenario: str,
        *,
        local: tuple[str, int],
        fields: list[str] | None = None,
        timeout_s: int = 20,
        extra: tuple[str, ...] = (),
    ) -> subprocess.Popen[str]:
        """Start a SIPp that waits for a request (a UAS), in the background."""
        argv = self._argv(scenario, local=local, remote=None, fields=fields, timeout_s=timeout_s, extra=extra)
        process = subprocess.Popen(
            argv, cwd=self.folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.running.append(process)
        time.sleep(0.3)  # SIPp binds its socket at start; a request sent earlier would be lost
        assert process.poll() is None, f"sipp {scenario} ended at once: {process.communicate()[0][-1500:]}"
        return process

    def finish(self, process: subprocess.Popen[str], scenario: str, timeout_s: float = 30) -> SippResult:
        try:
            stdout, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, _ = process.communicate(timeout=10)
        return SippResult(process.returncode, self._errors(scenario), stdout)

    def _errors(self, scenario: str) -> str:
        stem = scenario.removesuffix(".xml")
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.folder.glob(f"{stem}_*_errors.log"))
        )

    def close(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=10)


def auth_fields(number: str, password: str, *more: str) -> list[str]:
    return [f"[authentication username={number} password={password}]", number, *more]


def registered(pbx: Pbx, number: str) -> bool:
    return any(aor == number for aor, *_ in pbx.bindings())


def trunk_table(name: str, peer: Pbx, numbers: str) -> str:
    return f"""
[[trunks]]
name = "{name}"
host = "{peer.host}"
port = {peer.port}
transport = "udp"
numbers = ["{numbers}"]
trusted_sources = ["{peer.host}"]
trust_source_address = true
"""


def baresip_config(folder: Path, account: str, sip_listen: str) -> Path:
    """A headless baresip: SIP over UDP on ``sip_listen``, one account, no audio device."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config").write_text(
        "\n".join(
            [
                "poll_method epoll",
                f"sip_listen {sip_listen}",
                "sip_transports udp",
                "module_path /usr/lib/baresip/modules",
                "module account.so",
                "module g711.so",
                "",
            ]
        ),
        encoding="utf-8",
    )
    (folder / "accounts").write_text(account + "\n", encoding="utf-8")
    return folder

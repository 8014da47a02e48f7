"""Real ``pbxd run`` processes for the collection's tests, two of them trunked like two sites.

Each PBX gets its own folder (configuration, SQLite database, log) and loopback address; every
process is stopped by the fixture that started it, and every wait is bounded.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REALM = "pbx.test"
TRUNK_USER = "trunk.site-a.site-b"
TRUNK_PASSWORD = "trunk-password-for-tests"


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


@dataclass
class Pbxd:
    name: str
    host: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.folder / "pbx.toml"

    @property
    def log(self) -> Path:
        return self.folder / "pbxd.log"

    def write_config(self, trunks: list[tuple[str, Pbxd, str]]) -> None:
        """``trunks``: (name, peer, numbers regex) for each peer PBX."""
        self.folder.mkdir(parents=True, exist_ok=True)
        text = f"""
[sip]
listen = ["udp:{self.host}:{self.port}", "tcp:{self.host}:{self.port}"]
realm = "{REALM}"
domain = "{self.name}.{REALM}"

[database]
url = "sqlite:///pbx.db"

[log]
level = "DEBUG"
file = "pbxd.log"
"""
        for name, peer, numbers in trunks:
            text += f"""
[[trunks]]
name = "{name}"
host = "{peer.host}"
port = {peer.port}
numbers = ["{numbers}"]
trusted_sources = ["{peer.host}"]
username = "{TRUNK_USER}"
password = "{TRUNK_PASSWORD}"
"""
        self.config.write_text(text, encoding="utf-8")

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
        migrated = self.cli("db", "migrate")
        assert migrated.returncode == 0, migrated.stderr
        marker = f"pbxd is serving on udp:{self.host}:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pbxd", "--config", str(self.config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"pbxd {self.name} exited with {self.process.returncode}:\n{self.log_text()}"
                )
            if marker in self.log_text():
                return
            time.sleep(0.05)
        raise AssertionError(f"pbxd {self.name} did not serve within 20 s:\n{self.log_text()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else "(no log)"


def trunked_pair(base: Path, host_a: str, host_b: str) -> tuple[Pbxd, Pbxd]:
    """Site A (numbers 1xx) and site B (2xx), each with a trunk to the other, not yet started."""
    a = Pbxd("site-a", host_a, free_port(host_a), base / "site-a")
    b = Pbxd("site-b", host_b, free_port(host_b), base / "site-b")
    a.write_config([("site-b", b, "2\\\\d\\\\d")])
    b.write_config([("site-a", a, "1\\\\d\\\\d")])
    return a, b

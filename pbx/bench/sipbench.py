"""Benchmark pbxd with SIPp on loopback and print the figures.

    .venv/bin/python pbx/bench/sipbench.py [--quick]

It starts ``pbxd run`` (a real process, SQLite file store with write-through) on 127.0.0.1,
then measures:

1. authenticated registrations/s: SIPp REGISTER -> 401 -> REGISTER with digest -> 200, over
   1,000 extensions, at rising rates; the highest rate with zero failures is reported;
2. calls/s through the proxy: SIPp caller (407 digest) -> pbxd -> SIPp's built-in uas, which is
   extension 2000 (its binding is in the database before pbxd starts); answered, ACKed along
   the recorded route, hung up; highest rate with zero failures;
3. pbxd's resident memory after 1,000, 10,000 and 20,000 calls, each measured once the
   transactions of those calls have ended (RFC 3261 keeps them 32 s over UDP).

Every SIPp run is bounded in calls and time; pbxd and the uas are stopped at the end. Traffic
goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pbxd.extensions import make_extension
from pbxd.store import open_database
from pbxd.store.base import Binding

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
HOST = "127.0.0.1"
REALM = "bench.pbx"
SCENARIOS = Path(__file__).with_name("scenarios")
USERS = range(1000, 2000)
CALLEE = "2000"
# RFC 3261 keeps INVITE and non-INVITE transactions 64*T1 = 32 s over UDP after they end.
DRAIN_SECONDS = 34


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Run:
    rate: int
    calls: int
    ok: bool
    elapsed: float
    detail: str

    @property
    def achieved(self) -> float:
        return self.calls / self.elapsed if self.elapsed else 0.0


def prepare(workdir: Path, uas_port: int) -> str:
    """A SQLite database with 1,000 extensions plus the callee, whose binding points at the uas."""
    url = f"sqlite:///{workdir / 'pbx.db'}"
    database = open_database(url, migrate=True)
    try:
        extensions = [make_extension(str(n), f"bench {n}", REALM, f"pw{n}") for n in USERS]
        extensions.append(make_extension(CALLEE, "SIPp uas", REALM, "uas-password"))
        database.apply_extensions(extensions, update=True)
        database.put_binding(
            Binding(
                aor=CALLEE,
                contact=f"sip:{CALLEE}@{HOST}:{uas_port}",
                expires_at=time.time() + 86_400,
                call_id="bench-seed",
                cseq=1,
                source=f"udp:{HOST}:{uas_port}",
            )
        )
    finally:
        database.close()
    return url


def write_config(workdir: Path, url: str, port: int) -> Path:
    config = workdir / "pbx.toml"
    config.write_text(
        f"""[sip]
listen = ["udp:{HOST}:{port}", "tcp:{HOST}:{port}"]
realm = "{REALM}"
domain = "{HOST}"
ring_timeout = 30

[database]
url = "{url}"

[log]
level = "WARNING"
""",
        encoding="utf-8",
    )
    return config


def write_csv(workdir: Path) -> Path:
    path = workdir / "users.csv"
    lines = ["SEQUENTIAL"] + [f"{n};[authentication username={n} password=pw{n}]" for n in USERS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_until_answering(port: int, deadline: float) -> None:
    probe = (
        f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {HOST}:9;branch=z9hG4bKbench;rport\r\n"
        f"From: <sip:bench@{HOST}>;tag=1\r\nTo: <sip:{HOST}>\r\nCall-ID: bench-probe\r\n"
        "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            sock.sendto(probe, (HOST, port))
            try:
                if b"200 OK" in sock.recv(4096):
                    return
            except OSError:
                pass
            time.sleep(0.1)
    raise RuntimeError("pbxd did not answer OPTIONS within the start-up time")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sipp(args: list[str], calls: int, rate: int, workdir: Path, timeout: float) -> Run:
    """Run one bounded SIPp client; ok when every call succeeded in about calls/rate seconds."""
    port = free_port()
    command = [
        SIPP,
        *args,
        "-i",
        HOST,
        "-p",
        str(port),
        "-r",
        str(rate),
        "-m",
        str(calls),
        "-timeout",
        f"{int(timeout)}s",
        "-timeout_error",
        "-nostdin",
        "-nd",
        "-trace_err",
        "-error_file",
        str(workdir / f"errors-{port}.log"),
        "-max_retrans",
        "3",
    ]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, timeout=timeout + 15, cwd=workdir, check=False)
    elapsed = time.monotonic() - started
    expected = calls / rate
    # The offered rate was achieved: within 5 % (plus half a second for the last calls to end).
    on_time = elapsed <= expected * 1.05 + 0.5
    detail = f"exit {result.returncode}" + ("" if on_time else f", late ({elapsed:.1f}s for {expected:.1f}s)")
    return Run(rate, calls, result.returncode == 0 and on_time, elapsed, detail)


def ladder(name: str, rates: list[int], seconds: float, attempt: Callable[[int, int], Run]) -> Run | None:
    """Try each rate for ``seconds``; stop at the first failure. The best passing run wins."""
    best: Run | None = None
    for rate in rates:
        run = attempt(rate, max(100, int(rate * seconds)))
        verdict = ("ok" if run.ok else "FAILED") + f" ({run.detail})"
        print(f"  {name}: {rate:>5}/s x {run.calls:>6} -> {run.achieved:7.0f}/s achieved, {verdict}")
        if not run.ok:
            break
        best = run
        time.sleep(1)
    return best


def describe(best: Run | None) -> str:
    if best is None:
        return "below the lowest step"
    return f"{best.rate} (achieved {best.achieved:.0f}/s)"


@dataclass(frozen=True)
class Setup:
    workdir: Path
    config: Path
    port: int
    quick: bool
    seconds: float  # per ladder step


class Pbxd:
    """``pbxd run`` as a child process for one phase of the benchmark (a fresh process per
    phase, so that one phase's load does not weigh on the next)."""

    def __init__(self, setup: Setup, phase: str) -> None:
        self._log = (setup.workdir / f"pbxd-{phase}.log").open("wb")
        command = [sys.executable, "-m", "pbxd", "--config", str(setup.config), "run"]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=self._log)
        try:
            wait_until_answering(setup.port, time.monotonic() + 15)
        except RuntimeError:
            self.__exit__()
            raise

    def __enter__(self) -> Pbxd:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._log.close()

    @property
    def rss(self) -> float:
        return rss_mb(self.process.pid)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer steps (a smoke test)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, database)")
    parser.add_argument(
        "--phases",
        default="register,calls,memory",
        help="comma-separated phases to run (default: register,calls,memory)",
    )
    options = parser.parse_args()
    if not Path(SIPP).exists():
        print(f"SIPp not found at {SIPP}: install the Debian package sip-tester", file=sys.stderr)
        return 2
    seconds = 2.0 if options.quick else 5.0
    workdir = Path(tempfile.mkdtemp(prefix="pbxd-bench-"))
    pbx_port, uas_port = free_port(), free_port()
    url = prepare(workdir, uas_port)
    config = write_config(workdir, url, pbx_port)
    users = write_csv(workdir)
    target = f"{HOST}:{pbx_port}"
    uas = subprocess.Popen(
        [SIPP, "-sn", "uas", "-i", HOST, "-p", str(uas_port), "-nostdin", "-nd", "-timeout", "900s"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
    )

    def register(rate: int, calls: int) -> Run:
        scenario = [target, "-sf", str(SCENARIOS / "register.xml"), "-inf", str(users)]
        return sipp(scenario, calls, rate, workdir, 60)

    def call(rate: int, calls: int) -> Run:
        scenario = [target, "-sf", str(SCENARIOS / "uac_auth.xml"), "-inf", str(users), "-s", CALLEE]
        return sipp(scenario, calls, rate, workdir, 90)

    print(f"pbxd on {target}, store: SQLite file {workdir / 'pbx.db'} (write-through)")
    phases = set(options.phases.split(","))
    setup = Setup(workdir, config, pbx_port, options.quick, seconds)
    best_register = best_call = None
    rss: dict[int, float] = {}
    runs: list[Run] = []
    try:
        if "register" in phases:
            best_register = register_phase(setup, register)
        if "calls" in phases:
            best_call = calls_phase(setup, call)
        if "memory" in phases:
            rss, runs = memory_phase(setup, call)
        memory_ok = all(run.ok for run in runs)

        print()
        print("== pbxd on loopback, SIPp 3.6.1, SQLite write-through ==")
        if "register" in phases:
            print(f"authenticated registrations/s, 0 failures: {describe(best_register)}")
        if "calls" in phases:
            print(f"calls/s through the proxy, 0 failures:      {describe(best_call)}")
        if "memory" in phases:
            print("RSS after " + "; ".join(f"{calls:,} calls: {mb:.1f} MB" for calls, mb in rss.items()))
            print(f"every memory run free of failures: {memory_ok}")
        return 0
    finally:
        if uas.poll() is None:
            uas.send_signal(signal.SIGTERM)
        try:
            uas.wait(timeout=10)
        except subprocess.TimeoutExpired:
            uas.kill()
        if options.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


Attempt = Callable[[int, int], Run]


def register_phase(setup: Setup, register: Attempt) -> Run | None:
    with Pbxd(setup, "register") as pbxd:
        print(f"RSS at start: {pbxd.rss:.1f} MB")
        rates = [500, 1000] if setup.quick else [1000, 1500, 2000, 2500, 3000, 3500, 4000]
        return ladder("register", rates, setup.seconds, register)


def calls_phase(setup: Setup, call: Attempt) -> Run | None:
    with Pbxd(setup, "calls"):
        rates = [100, 200] if setup.quick else [200, 300, 400, 500, 600, 700, 800, 1000, 1200]
        return ladder("calls", rates, setup.seconds, call)


def memory_phase(setup: Setup, call: Attempt) -> tuple[dict[int, float], list[Run]]:
    with Pbxd(setup, "memory") as pbxd:
        rate = 200
        print(f"memory: 1,000 calls at {rate}/s, then {DRAIN_SECONDS} s for transactions to end ...")
        runs = [call(rate, 1000)]
        time.sleep(DRAIN_SECONDS)
        rss = {1000: pbxd.rss}
        if not setup.quick:
            # The first 1,000 calls end within 32 s, so fewer transactions were ever alive at
            # once than in a long run: the 10,000 and 20,000 figures are the ones to compare.
            for total, batches in ((10_000, [3000, 3000, 3000]), (20_000, [2500, 2500, 2500, 2500])):
                print(f"memory: up to {total:,} calls, then {DRAIN_SECONDS} s ...")
                runs += [call(rate, batch) for batch in batches]
                time.sleep(DRAIN_SECONDS)
                rss[total] = pbxd.rss
        return rss, runs


if __name__ == "__main__":
    sys.exit(main())

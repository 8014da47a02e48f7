"""Benchmark pbxd with SIPp on loopback and print the figures.

    .venv/bin/python pbx/bench/sipbench.py [--quick]

It starts ``pbxd run`` (a real process, SQLite file store with write-through) on 127.0.0.1,
then measures:

1. authenticated registrations/s: SIPp REGISTER -> 401 -> REGISTER with digest -> 200, over
   1,000 extensions, at rising rates; the highest rate with zero failures is reported;
2. calls/s through the proxy: SIPp caller (407 digest) -> pbxd -> SIPp's built-in uas, which is
   extension 2000 (its binding is in the database before pbxd starts); answered, ACKed along
   the recorded route, hung up; highest rate with zero failures;
3. pbxd's memory after 1,000, 10,000 and 20,000 calls, each measured once the transactions
   of those calls have ended (RFC 3261 keeps them 32 s over UDP): resident memory, and the
   memory Python holds (``tracemalloc``, which pbxd runs under in this phase, through
   ``cpu_profile.py memory``) against what it held before the first call;
4. overload: after each ladder, a step at 2x and one at 4x the rate found (the knee), each
   followed by a step at the knee. pbxd must stay up, say in its log that it shed load (503
   with Retry-After), and the knee step after the burst must pass again.

Every SIPp run is bounded in calls and time; pbxd and the uas are stopped at the end. Traffic
goes to 127.0.0.1 only.

pbxd runs as this script imports it, and says which build that is: the Python source, or with
``PYTHONPATH=.pbxd-compiled/lib`` (what ``make bench`` sets, after ``make compiled``) the
build compiled by mypyc.
"""

from __future__ import annotations

import argparse
import os
import re
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
from typing import Protocol

from pbxd.commands import build
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
# Calls/s of the memory phase: tracemalloc about triples what pbxd spends per call, and at 200/s
# a busy host pushed it into shedding, which would make this phase measure the shedder.
MEMORY_CALL_RATE = 120
PROFILER = Path(__file__).with_name("cpu_profile.py")
REGISTER_RATES = [250, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000]
CALL_RATES = [50, 100, 200, 300, 400, 600, 800, 1000, 1200, 1400, 1600, 2000]


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
    successful: int = 0
    failed: int = 0

    @property
    def achieved(self) -> float:
        return self.calls / self.elapsed if self.elapsed else 0.0

    @property
    def successful_per_s(self) -> float:
        return self.successful / self.elapsed if self.elapsed else 0.0


def read_counts(stat_file: Path) -> tuple[int, int]:
    """(successful, failed) calls from the last line of SIPp's -trace_stat file."""
    try:
        lines = [line for line in stat_file.read_text().splitlines() if line.strip()]
    except OSError:
        return 0, 0
    if len(lines) < 2:
        return 0, 0
    header, last = lines[0].split(";"), lines[-1].split(";")
    values = dict(zip(header, last, strict=False))
    return int(values.get("SuccessfulCall(C)", 0) or 0), int(values.get("FailedCall(C)", 0) or 0)


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
synchronous = "FULL"

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


def sipp(
    args: list[str],
    calls: int,
    rate: int,
    workdir: Path,
    timeout: float,
    *,
    watch: Callable[[], None] = lambda: None,
) -> Run:
    """Run one bounded SIPp client; ok when every call succeeded in about calls/rate seconds.
    ``watch`` is called about twice a second while SIPp runs (to sample pbxd's memory)."""
    port = free_port()
    stat_file = workdir / f"stat-{port}.csv"
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
        "-trace_stat",
        "-stf",
        str(stat_file),
        "-fd",
        "1",
    ]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    try:
        while process.poll() is None and time.monotonic() - started < timeout + 15:
            watch()
            time.sleep(0.5)
    finally:
        if process.poll() is None:
            process.kill()
        returncode = process.wait(timeout=10)
    elapsed = time.monotonic() - started
    expected = calls / rate
    # The offered rate was achieved: within 5 % (plus half a second for the last calls to end).
    on_time = elapsed <= expected * 1.05 + 0.5
    detail = f"exit {returncode}" + ("" if on_time else f", late ({elapsed:.1f}s for {expected:.1f}s)")
    successful, failed = read_counts(stat_file)
    return Run(rate, calls, returncode == 0 and on_time, elapsed, detail, successful, failed)


def ladder(name: str, rates: list[int], seconds: float, attempt: Attempt) -> Run | None:
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
    overload: bool = True  # the 2x and 4x steps after each ladder


class Pbxd:
    """``pbxd run`` as a child process for one phase of the benchmark (a fresh process per
    phase, so that one phase's load does not weigh on the next)."""

    def __init__(self, setup: Setup, phase: str, *, trace_memory: bool = False) -> None:
        self.log_path = setup.workdir / f"pbxd-{phase}.log"
        self._log = self.log_path.open("wb")
        command = [sys.executable, "-m", "pbxd", "--config", str(setup.config), "run"]
        self.trace_path: Path | None = None
        if trace_memory:
            self.trace_path = setup.workdir / f"pbxd-{phase}.tracemalloc"
            pbxd_script = Path(sys.executable).with_name("pbxd")
            command = [sys.executable, str(PROFILER), "memory", str(self.trace_path), str(pbxd_script)]
            command += ["--config", str(setup.config), "run"]
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
        return rss_mb(self.process.pid) if self.alive else 0.0

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def traced_mb(self) -> tuple[float, float]:
        """(current, peak) MB that Python's allocator holds, as tracemalloc last sampled them."""
        assert self.trace_path is not None
        deadline = time.monotonic() + 5
        while not (self.trace_path.exists() and self.trace_path.read_text().strip()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no tracemalloc samples in {self.trace_path}")
            time.sleep(0.2)
        _, current, peak = self.trace_path.read_text().split("\n")[-2].split()
        return int(current) / 1e6, int(peak) / 1e6

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, limit: float = 30.0) -> float:
        """Seconds until pbxd used under 5 % of a core over one second (at most ``limit``):
        the end of the burst's after-effects, as the shared harness's idle check."""
        started = time.monotonic()
        while self.alive and time.monotonic() - started < limit:
            before = self.cpu_seconds()
            time.sleep(1.0)
            if self.cpu_seconds() - before < 0.05:
                break
        return time.monotonic() - started

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def overload_lines(self, since: int) -> list[str]:
        """The load shedder's log lines written after byte ``since``."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        return [line for line in text.splitlines() if "pbxd.overload" in line]


class Attempt(Protocol):
    """One SIPp run at ``rate`` for ``calls`` calls; ``watch`` samples pbxd while it runs."""

    def __call__(self, rate: int, calls: int, watch: Callable[[], None] = ...) -> Run: ...


def overload_steps(name: str, knee: Run, pbxd: Pbxd, seconds: float, attempt: Attempt) -> list[str]:
    """2x and 4x the knee, each followed by the knee again; returns summary lines."""
    summary = []
    for factor in (2, 4):
        rate = knee.rate * factor
        peak = [pbxd.rss]

        def sample(peak: list[float] = peak) -> None:
            peak[0] = max(peak[0], pbxd.rss)

        log_at = pbxd.log_size()
        burst = attempt(rate, int(rate * seconds), sample)
        alive = pbxd.alive
        line = (
            f"{name} at {factor}x the knee ({rate}/s offered x {burst.calls}): "
            f"{burst.successful} ok ({burst.successful_per_s:.0f}/s), {burst.failed} failed; "
            f"pbxd {'up' if alive else 'DOWN (exit ' + str(pbxd.process.returncode) + ')'}, "
            f"peak RSS {peak[0]:.1f} MB"
        )
        if alive:
            idle = pbxd.wait_idle()
            after = attempt(knee.rate, int(knee.rate * seconds), sample)
            verdict = "passed" if after.ok else f"FAILED ({after.detail}, {after.failed} failed)"
            line += (
                f"; idle {idle:.0f} s after the burst; then the knee ({knee.rate}/s): {verdict}, "
                f"{after.achieved:.0f}/s achieved"
            )
        shed = pbxd.overload_lines(log_at)
        counts = [int(m) for text in shed for m in re.findall(r"shed (\d+) new requests", text)]
        started = sum(1 for text in shed if "overloaded (" in text)
        line += f"; log: {started} shedding episode(s) began, {max(counts, default=0)} requests shed (503)"
        print(f"  {line}")
        for text in shed[:3]:
            print(f"    {text[:200]}")
        summary.append(line)
        if not alive:
            break
    return summary


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
    parser.add_argument(
        "--no-overload", action="store_true", help="skip the 2x and 4x overload steps after each ladder"
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

    def register(rate: int, calls: int, watch: Callable[[], None] = lambda: None) -> Run:
        scenario = [target, "-sf", str(SCENARIOS / "register.xml"), "-inf", str(users)]
        return sipp(scenario, calls, rate, workdir, 60, watch=watch)

    def call(rate: int, calls: int, watch: Callable[[], None] = lambda: None) -> Run:
        scenario = [target, "-sf", str(SCENARIOS / "uac_auth.xml"), "-inf", str(users), "-s", CALLEE]
        return sipp(scenario, calls, rate, workdir, 90, watch=watch)

    print(f"pbxd ({build()} build) on {target}, store: SQLite file {workdir / 'pbx.db'} (write-through)")
    phases = set(options.phases.split(","))
    setup = Setup(workdir, config, pbx_port, options.quick, seconds, overload=not options.no_overload)
    best_register = best_call = None
    overload: list[str] = []
    rss: dict[int, float] = {}
    runs: list[Run] = []
    try:
        if "register" in phases:
            best_register, lines = register_phase(setup, register)
            overload += lines
        if "calls" in phases:
            best_call, lines = calls_phase(setup, call)
            overload += lines
        if "memory" in phases:
            rss, runs = memory_phase(setup, call)
        memory_ok = all(run.ok for run in runs)

        print()
        print(f"== pbxd ({build()} build) on loopback, SIPp 3.6.1, SQLite write-through ==")
        if "register" in phases:
            print(f"authenticated registrations/s, 0 failures: {describe(best_register)}")
        if "calls" in phases:
            print(f"calls/s through the proxy, 0 failures:      {describe(best_call)}")
        if "memory" in phases:
            print("RSS after " + "; ".join(f"{calls:,} calls: {mb:.1f} MB" for calls, mb in rss.items()))
            print(f"every memory run free of failures: {memory_ok}")
            for run in (r for r in runs if not r.ok):
                print(f"  memory run of {run.calls} calls at {run.rate}/s: {run.detail}, {run.failed} failed")
        for line in overload:
            print(line)
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


def register_phase(setup: Setup, register: Attempt) -> tuple[Run | None, list[str]]:
    with Pbxd(setup, "register") as pbxd:
        print(f"RSS at start: {pbxd.rss:.1f} MB")
        rates = [500, 1000] if setup.quick else REGISTER_RATES
        best = ladder("register", rates, setup.seconds, register)
        if best is None or not setup.overload:
            return best, []
        return best, overload_steps("register", best, pbxd, setup.seconds, register)


def calls_phase(setup: Setup, call: Attempt) -> tuple[Run | None, list[str]]:
    with Pbxd(setup, "calls") as pbxd:
        rates = [100, 200] if setup.quick else CALL_RATES
        best = ladder("calls", rates, setup.seconds, call)
        if best is None or not setup.overload:
            return best, []
        return best, overload_steps("calls", best, pbxd, setup.seconds, call)


def memory_phase(setup: Setup, call: Attempt) -> tuple[dict[int, float], list[Run]]:
    """RSS after each checkpoint, and the memory Python holds (tracemalloc) against what it
    held once started: what the calls leave behind after their transactions have ended."""
    with Pbxd(setup, "memory", trace_memory=True) as pbxd:
        rate = MEMORY_CALL_RATE
        time.sleep(2)  # a few tracemalloc samples of the idle server
        start, _ = pbxd.traced_mb()
        print(f"memory: RSS {pbxd.rss:.1f} MB, Python holds {start:.1f} MB (tracemalloc) before any call")
        print(f"memory: 1,000 calls at {rate}/s, then {DRAIN_SECONDS} s for transactions to end ...")
        runs = [call(rate, 1000)]
        time.sleep(DRAIN_SECONDS)
        rss = {1000: pbxd.rss}
        held = {1000: pbxd.traced_mb()[0]}
        if not setup.quick:
            # The first 1,000 calls end within 32 s, so fewer transactions were ever alive at
            # once than in a long run: the 10,000 and 20,000 figures are the ones to compare.
            for total, batches in ((10_000, [3000, 3000, 3000]), (20_000, [2500, 2500, 2500, 2500])):
                print(f"memory: up to {total:,} calls, then {DRAIN_SECONDS} s ...")
                runs += [call(rate, batch) for batch in batches]
                time.sleep(DRAIN_SECONDS)
                rss[total] = pbxd.rss
                held[total] = pbxd.traced_mb()[0]
        _, peak = pbxd.traced_mb()
        print(
            "memory Python holds (tracemalloc): "
            + "; ".join(f"after {n:,} calls {mb:.1f} MB ({mb - start:+.1f})" for n, mb in held.items())
            + f"; peak {peak:.1f} MB; {start:.1f} MB before the first call"
        )
        return rss, runs


if __name__ == "__main__":
    sys.exit(main())

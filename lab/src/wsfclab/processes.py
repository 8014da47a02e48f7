"""Real processes for the lab's Windows services.

A service whose binary is a ``python.exe`` runs as a real process under the lab's own Python
(``sys.executable``). Its command line is split with the Windows rules (CommandLineToArgvW), the
Windows paths in its arguments are mapped to the node's folders, and it is started detached (its
own session, parent = init) through ``wsfclab.launcher`` so that it outlives the ansible worker
that started it and never becomes a zombie of it. Output goes to a log under the state dir.

Liveness is checked through /proc: the PID must exist, not be a zombie, and have the start time
recorded when it was launched (PIDs are reused).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wsfclab.errors import LabError
from wsfclab.state import LabState, Service

STOP_TIMEOUT_SECONDS = 10.0
_WINDOWS_PATH = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]:[\\/][^;]*")


@dataclass(frozen=True)
class LaunchSpec:
    argv: list[str]  # what runs: [sys.executable, mapped arguments...]
    cwd: Path
    env: dict[str, str]
    log: Path


def split_command_line(command: str) -> list[str]:
    """Split a Windows command line as CommandLineToArgvW does (quotes group, 2n backslashes + quote)."""
    args: list[str] = []
    current: list[str] = []
    in_quotes = False
    has_arg = False
    i = 0
    while i < len(command):
        ch = command[i]
        if ch == "\\":
            j = i
            while j < len(command) and command[j] == "\\":
                j += 1
            count = j - i
            if j < len(command) and command[j] == '"':
                current.append("\\" * (count // 2))
                if count % 2:
                    current.append('"')
                    i = j + 1
                else:
                    i = j
                has_arg = True
                continue
            current.append("\\" * count)
            has_arg = True
            i = j
            continue
        if ch == '"':
            in_quotes = not in_quotes
            has_arg = True
        elif ch in " \t" and not in_quotes:
            if has_arg:
                args.append("".join(current))
                current, has_arg = [], False
        else:
            current.append(ch)
            has_arg = True
        i += 1
    if has_arg:
        args.append("".join(current))
    return args


def is_python_binary(path: str) -> bool:
    return path.replace("/", "\\").lower().endswith("python.exe")


def python_path_environment(binary: Path) -> dict[str, str]:
    """The environment that makes the lab's Python import what a real ``python.exe`` at ``binary``
    would: its own ``Lib\\site-packages`` first (where pip installed the PBX onto the shared
    disk), and no per-user site folder, which a service account does not have."""
    return {"PYTHONPATH": str(binary.parent / "Lib" / "site-packages"), "PYTHONNOUSERSITE": "1"}


def map_arguments(args: list[str], resolve: Callable[[str], Path]) -> list[str]:
    """Replace each Windows path inside an argument by the local path ``resolve`` gives for it;
    paths on drives the node cannot reach are left as they are (the program then fails to open them,
    as it would on Windows)."""

    def one(match: re.Match[str]) -> str:
        try:
            return str(resolve(match.group(0)))
        except LabError:
            return match.group(0)

    return [_WINDOWS_PATH.sub(one, arg) for arg in args]


def launch(spec: LaunchSpec) -> tuple[int, int]:
    """Start the process detached; returns (pid, start time)."""
    spec.log.parent.mkdir(parents=True, exist_ok=True)
    spec.cwd.mkdir(parents=True, exist_ok=True)
    request = json.dumps({"argv": spec.argv, "cwd": str(spec.cwd), "log": str(spec.log)})
    done = subprocess.run(
        [sys.executable, "-m", "wsfclab.launcher"],
        input=request,
        capture_output=True,
        text=True,
        env=spec.env,
        timeout=30,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        raise LabError(f"the lab could not start {spec.argv!r}: {done.stderr.strip() or done.stdout.strip()}")
    pid = int(done.stdout.strip())
    started = start_time(pid)
    if started is None:
        return pid, 0
    return pid, started


def start_time(pid: int) -> int | None:
    """The process start time from /proc (clock ticks since boot), or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_alive(pid: int | None, started: int | None) -> bool:
    if pid is None:
        return False
    now = start_time(pid)
    return now is not None and (started is None or started in (0, now))


def terminate(pid: int, started: int | None, *, graceful: bool) -> None:
    """Stop the process group: SIGTERM and wait (graceful), then SIGKILL."""
    if not is_alive(pid, started):
        return
    if graceful:
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not is_alive(pid, started):
                return
            time.sleep(0.05)
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and is_alive(pid, started):
        time.sleep(0.02)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # the launcher made the process a session (and group) leader
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)


def mark_stopped(service: Service) -> None:
    service.state = "Stopped"
    service.pid = None
    service.process_start = None


def refresh(state: LabState) -> None:
    """A service whose process has died is Stopped (as the SCM reports after a crash)."""
    for node in state.nodes.values():
        for service in node.services.values():
            if service.pid is not None and not is_alive(service.pid, service.process_start):
                mark_stopped(service)


def stop_all(state: LabState) -> None:
    """Kill every process the state tracks (reset, tests)."""
    for node in state.nodes.values():
        for service in node.services.values():
            if service.pid is not None:
                terminate(service.pid, service.process_start, graceful=False)
                mark_stopped(service)

"""Twin of ansible.windows.win_command for ``python.exe`` command lines.

Follows win_command.ps1: the command line comes from ``cmd``, ``_raw_params`` (trimmed) or
``argv`` (escaped with the C rules); ``creates``/``removes`` skip the run; the result has ``cmd``,
``rc``, ``stdout``, ``stderr``, ``start``, ``end``, ``delta`` and ``changed: true``; a non-zero
exit fails with "non-zero return code". Check mode is refused by the module's own spec
(``supports_check_mode = $false``), which the host answers before a twin runs.

Only a ``python.exe`` that exists at its Windows path runs: as the lab's Python, with every
Windows path in the arguments mapped to the node's folders, as services run. Its own
``Lib\\site-packages`` folder comes first on the module path and is where ``pip install`` puts
packages, so a PBX installed from wheels onto the shared disk is the one that runs. pip runs
with ``--target`` semantics there, which leave a replaced version's files and metadata behind;
pip on Windows uninstalls the version it replaces, so after a ``pip install`` the twin removes
what a replaced version had installed (as listed in its RECORD) and the new one did not. Any
other program fails "unsupported in the lab".
"""

from __future__ import annotations

import csv
import ntpath
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wsfclab.errors import LabError
from wsfclab.processes import is_python_binary, map_arguments, python_path_environment, split_command_line
from wsfclab.twins.base import ModuleFailure, TwinContext, unsupported

# A command that runs longer than this is stopped: an ansible task on Windows would wait, but
# a lab run must end.
TIMEOUT_SECONDS = 600


def _escape(argument: str) -> str:
    """ConvertTo-EscapedArgument: quote when needed, doubling backslashes before a quote."""
    if argument and not any(c in argument for c in ' \t\n\v"'):
        return argument
    out, backslashes = ['"'], 0
    for char in argument:
        if char == "\\":
            backslashes += 1
            continue
        if char == '"':
            out.append("\\" * (backslashes * 2 + 1) + '"')
        else:
            out.append("\\" * backslashes + char)
        backslashes = 0
    out.append("\\" * (backslashes * 2) + '"')
    return "".join(out)


def _command_line(params: dict[str, Any]) -> str:
    if params.get("cmd"):
        return str(params["cmd"])
    if params.get("_raw_params"):
        return str(params["_raw_params"]).strip()
    return " ".join(_escape(str(a)) for a in params["argv"])


def _exists(ctx: TwinContext, windows_path: str) -> bool:
    try:
        return ctx.local(windows_path).exists()
    except LabError:
        return False


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _delta(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:09.6f}"


def win_command(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("output_encoding_override"):
        raise unsupported("win_command output_encoding_override")
    command = _command_line(params)
    result: dict[str, Any] = {"changed": False, "cmd": command, "rc": 0}
    creates, removes = params.get("creates"), params.get("removes")
    if creates and _exists(ctx, creates):
        return {**result, "msg": f"skipped, since {creates} exists", "skipped": True}
    if removes and not _exists(ctx, removes):
        return {**result, "msg": f"skipped, since {removes} does not exist", "skipped": True}

    args = split_command_line(command)
    if not args or not is_python_binary(args[0]):
        raise unsupported(f"win_command runs only python.exe command lines in the lab, not {command!r}")
    executable = args[0]
    if not ntpath.isabs(executable) or not _exists(ctx, executable):
        # CreateProcess: ERROR_FILE_NOT_FOUND, as Start-AnsibleWindowsProcess reports it.
        raise ModuleFailure(
            f"Failed to run: '{command}': The system cannot find the file specified", rc=2, cmd=command
        )
    if params.get("chdir"):
        home = ctx.local(params["chdir"])
    else:
        # The logon creates the profile folder on Windows; the lab's nodes make it on first use.
        home = ctx.local(ctx.env.variables["USERPROFILE"])
        home.mkdir(parents=True, exist_ok=True)
    if not home.is_dir():
        raise ModuleFailure(f"Failed to run: '{command}': The directory name is invalid", rc=267, cmd=command)
    python_path = python_path_environment(ctx.local(executable))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "COMPUTERNAME": ctx.node.name,
        **python_path,
        "PIP_TARGET": python_path["PYTHONPATH"],
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "LANG": "C.UTF-8",
    }
    site_packages = Path(python_path["PYTHONPATH"])
    pip_install = args[1:4] == ["-m", "pip", "install"]
    installed_before = _dist_infos(site_packages) if pip_install else set()
    argv = [sys.executable, *map_arguments(args[1:], ctx.local)]
    started_utc, started = datetime.now(UTC), time.monotonic()
    try:
        done = subprocess.run(
            argv,
            cwd=home,
            env=env,
            input=params.get("stdin") or "",
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise unsupported(f"a command running longer than {TIMEOUT_SECONDS} s: {command!r}") from None
    ended_utc = datetime.now(UTC)
    result.update(
        changed=True,
        stdout=done.stdout.replace("\n", "\r\n"),
        stderr=done.stderr.replace("\n", "\r\n"),
        rc=done.returncode,
        start=_timestamp(started_utc),
        end=_timestamp(ended_utc),
        delta=_delta(time.monotonic() - started),
    )
    if pip_install:
        _uninstall_replaced(site_packages, installed_before)
    if done.returncode != 0:
        raise ModuleFailure("non-zero return code", **{k: v for k, v in result.items() if k != "msg"})
    return result


def _project(dist_info: Path) -> str:
    """The normalised project name of a ``<name>-<version>.dist-info`` folder."""
    return (
        dist_info.name.removesuffix(".dist-info")
        .rsplit("-", 1)[0]
        .lower()
        .replace("_", "-")
        .replace(".", "-")
    )


def _dist_infos(site_packages: Path) -> set[Path]:
    return set(site_packages.glob("*.dist-info")) if site_packages.is_dir() else set()


def _recorded_files(dist_info: Path) -> set[Path]:
    record = dist_info / "RECORD"
    if not record.is_file():
        return set()
    with record.open(newline="") as rows:
        return {(dist_info.parent / row[0]).resolve() for row in csv.reader(rows) if row}


def _uninstall_replaced(site_packages: Path, before: set[Path]) -> None:
    """Remove the versions that a pip run replaced: their files the new version does not list,
    then their metadata."""
    root = site_packages.resolve()
    for new in _dist_infos(site_packages) - before:
        for old in (d for d in before if _project(d) == _project(new) and d.exists()):
            for path in _recorded_files(old) - _recorded_files(new):
                if path.is_file() and root in path.parents:
                    path.unlink()
                    for folder in path.parents:
                        if folder == root or any(folder.iterdir()):
                            break
                        folder.rmdir()
            shutil.rmtree(old, ignore_errors=True)

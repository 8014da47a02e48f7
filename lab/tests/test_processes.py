"""Services as real processes: start, liveness, kill, node power operations, and what cannot run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from wsfclab import nodes, processes, services
from wsfclab.errors import LabError
from wsfclab.lab import Lab
from wsfclab.services import ServiceError
from wsfclab.testing import NOTIFY_READY

TINY = NOTIFY_READY + "import sys, time\nprint('started', sys.argv[1:], flush=True)\ntime.sleep(120)\n"
COMMAND = r'"C:\Py\python.exe" C:\app\tiny.py --config C:\app\tiny.toml'


def _install_tiny(lab: Lab, node: str = "PBX-N1", start_mode: str = "Automatic", script: str = TINY) -> None:
    root = lab.node_root(node)
    (root / "Py").mkdir(exist_ok=True)
    (root / "Py" / "python.exe").write_text("")  # the binary must exist, as on Windows
    (root / "app").mkdir(exist_ok=True)
    (root / "app" / "tiny.py").write_text(script)
    with lab.session() as state:
        services.create_service(state, node, "Tiny", COMMAND, start_mode=start_mode)


def _alive(pid: int | None) -> bool:
    return pid is not None and processes.start_time(pid) is not None


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        (
            r'"C:\Program Files\Py\python.exe" -m pbxd run',
            [r"C:\Program Files\Py\python.exe", "-m", "pbxd", "run"],
        ),
        (r'a "b c" d', ["a", "b c", "d"]),
        (r'a\\\"b "c\\" d', [r"a\"b", "c\\", "d"]),
        ('a ""  b', ["a", "", "b"]),
    ],
)
def test_command_lines_split_as_windows_does(command: str, argv: list[str]) -> None:
    assert processes.split_command_line(command) == argv


def test_a_python_service_runs_with_mapped_paths_and_dies_into_stopped(lab: Lab) -> None:
    _install_tiny(lab)
    with lab.session() as state:
        service = services.start_service(lab, state, "PBX-N1", "tiny")
        pid = service.pid
    assert service.state == "Running" and _alive(pid)
    log = lab.state_dir / "logs" / "PBX-N1" / "Tiny.log"
    deadline = time.monotonic() + 5
    while "started" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert str(lab.node_root("PBX-N1") / "app" / "tiny.toml") in log.read_text()
    assert pid is not None
    os.killpg(pid, 9)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    with lab.session() as state:
        assert state.nodes["PBX-N1"].services["Tiny"].state == "Stopped"
        assert state.nodes["PBX-N1"].services["Tiny"].pid is None


def test_a_python_service_imports_from_its_interpreters_own_site_packages_first(lab: Lab) -> None:
    # What pip installed next to that python.exe (the PBX on the shared disk) is what the
    # service runs, not whatever the lab's own Python has installed under the same name.
    probe = "import pathlib, sys\nimport pbxd\npathlib.Path(sys.argv[2]).write_text(pbxd.__file__)\n"
    _install_tiny(lab, script=NOTIFY_READY + probe + "import time\ntime.sleep(120)\n")
    shadow = lab.node_root("PBX-N1") / "Py" / "Lib" / "site-packages" / "pbxd"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    with lab.session() as state:
        services.start_service(lab, state, "PBX-N1", "Tiny")
    written = lab.node_root("PBX-N1") / "app" / "tiny.toml"
    deadline = time.monotonic() + 5
    while not written.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert written.read_text() == str(shadow / "__init__.py")


def test_stop_and_kill_end_the_process(lab: Lab) -> None:
    _install_tiny(lab)
    with lab.session() as state:
        pid = services.start_service(lab, state, "PBX-N1", "Tiny").pid
        services.stop_service(lab, state, "PBX-N1", "Tiny")
        assert not _alive(pid)
        pid = services.start_service(lab, state, "PBX-N1", "Tiny").pid
        services.kill_service(lab, state, "PBX-N1", "Tiny")
        assert not _alive(pid)
        assert state.nodes["PBX-N1"].services["Tiny"].state == "Stopped"


def test_reboot_restarts_automatic_services_with_a_new_boot_time(lab: Lab) -> None:
    _install_tiny(lab)
    with lab.session() as state:
        first = services.start_service(lab, state, "PBX-N1", "Tiny").pid
        booted = state.nodes["PBX-N1"].boot_time
        assert nodes.reboot_node(lab, state, "PBX-N1") == []
        service = state.nodes["PBX-N1"].services["Tiny"]
        assert not _alive(first) and _alive(service.pid) and service.pid != first
        assert state.nodes["PBX-N1"].boot_time != booted


def test_crash_and_stop_leave_the_node_off_until_started(lab: Lab) -> None:
    _install_tiny(lab, start_mode="Manual")
    with lab.session() as state:
        pid = services.start_service(lab, state, "PBX-N1", "Tiny").pid
        nodes.crash_node(lab, state, "PBX-N1")
        assert not _alive(pid) and not state.nodes["PBX-N1"].running
        with pytest.raises(LabError, match="not running"):
            services.start_service(lab, state, "PBX-N1", "Tiny")
        nodes.start_node(lab, state, "PBX-N1")
        assert state.nodes["PBX-N1"].services["Tiny"].state == "Stopped"  # Manual: not started at boot
        assert state.nodes["PBX-N1"].services["WinRM"].state == "Running"
        nodes.stop_node(lab, state, "PBX-N1")
        assert state.nodes["PBX-N1"].services["WinRM"].state == "Stopped"


def test_other_binaries_are_unsupported(lab: Lab) -> None:
    with lab.session() as state:
        services.create_service(state, "PBX-N1", "Native", r"C:\bin\native.exe /run")
        with pytest.raises(LabError, match="unsupported in the lab"):
            services.start_service(lab, state, "PBX-N1", "Native")


def test_a_missing_binary_or_an_early_exit_fails_like_the_scm(lab: Lab) -> None:
    with lab.session() as state:
        services.create_service(state, "PBX-N1", "Ghost", r"D:\PBX\python\python.exe -m pbxd")
        with pytest.raises(ServiceError) as missing:
            services.start_service(lab, state, "PBX-N1", "Ghost")
        assert missing.value.code == services.ERROR_FILE_NOT_FOUND
    _install_tiny(lab, script="raise SystemExit(3)\n")
    with lab.session() as state, pytest.raises(ServiceError) as aborted:
        services.start_service(lab, state, "PBX-N1", "Tiny")
    assert aborted.value.code == services.ERROR_PROCESS_ABORTED


def test_disabled_services_do_not_start(lab: Lab) -> None:
    _install_tiny(lab, start_mode="Disabled")
    with lab.session() as state, pytest.raises(ServiceError) as refused:
        services.start_service(lab, state, "PBX-N1", "Tiny")
    assert refused.value.code == services.ERROR_SERVICE_DISABLED


def test_reset_stops_lab_processes(lab: Lab) -> None:
    _install_tiny(lab)
    with lab.session() as state:
        pid = services.start_service(lab, state, "PBX-N1", "Tiny").pid
    lab.reset()
    assert not _alive(pid)


SILENT = "import time\ntime.sleep(120)\n"  # runs, but never tells the service controller


def _pipe_timeout(lab: Lab, milliseconds: int) -> None:
    """What ServicesPipeTimeout (the world's services_pipe_timeout_ms) sets on the node."""
    with lab.session() as state:
        state.nodes["PBX-N1"].services_pipe_timeout_ms = milliseconds


def test_a_program_that_never_reports_running_fails_with_1053_and_is_ended(lab: Lab) -> None:
    _install_tiny(lab, script=SILENT)
    _pipe_timeout(lab, 600)
    started = time.monotonic()
    with lab.session() as state, pytest.raises(ServiceError) as timed_out:
        services.start_service(lab, state, "PBX-N1", "Tiny")
    assert timed_out.value.code == services.ERROR_SERVICE_REQUEST_TIMEOUT == 1053
    assert "did not respond to the start or control request in a timely fashion" in str(timed_out.value)
    assert time.monotonic() - started >= 0.6
    with lab.session() as state:
        service = state.nodes["PBX-N1"].services["Tiny"]
        assert (service.state, service.pid) == ("Stopped", None)
    assert not any("tiny.py" in _cmdline(pid) for pid in _pids())


def test_a_service_counts_as_running_only_once_it_reports_ready(lab: Lab) -> None:
    """The program sleeps before it reports: the start waits for READY=1, not for a fixed time."""
    _install_tiny(lab, script="import time\ntime.sleep(0.8)\n" + TINY)
    with lab.session() as state:
        before = time.monotonic()
        service = services.start_service(lab, state, "PBX-N1", "Tiny")
        assert time.monotonic() - before >= 0.8
        assert service.state == "Running" and _alive(service.pid)


def test_stopping_before_ready_is_a_failed_start(lab: Lab) -> None:
    stopping = NOTIFY_READY.replace('b"READY=1"', 'b"STOPPING=1"') + "import time\ntime.sleep(120)\n"
    _install_tiny(lab, script=stopping)
    with lab.session() as state, pytest.raises(ServiceError) as aborted:
        services.start_service(lab, state, "PBX-N1", "Tiny")
    assert aborted.value.code == services.ERROR_PROCESS_ABORTED
    with lab.session() as state:
        assert state.nodes["PBX-N1"].services["Tiny"].pid is None


def test_the_world_sets_the_services_pipe_timeout(tmp_path: Path, two_node_world: Path) -> None:
    data = yaml.safe_load(two_node_world.read_text())
    data["nodes"][0]["services_pipe_timeout_ms"] = 1500
    world = tmp_path / "world.yml"
    world.write_text(yaml.safe_dump(data))
    lab = Lab.open(tmp_path / "state", world)
    with lab.session() as state:
        assert state.nodes["PBX-N1"].services_pipe_timeout_ms == 1500
        assert state.nodes["PBX-N2"].services_pipe_timeout_ms == 30000


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""

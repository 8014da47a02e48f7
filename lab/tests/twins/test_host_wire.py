"""NodeHost answers the shell snippets, win_reboot and file transfers as a Windows host would."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from wsfclab.errors import LabError
from wsfclab.host import NodeHost, NodeUnreachable
from wsfclab.lab import Lab
from wsfclab.nodes import stop_node
from wsfclab.testing import NOTIFY_READY

Driver = t.Any  # conftest.WindowsDriver


@pytest.fixture
def shell() -> t.Any:
    from ansible.plugins.loader import shell_loader

    plugin = shell_loader.get("powershell")
    plugin.set_options({})
    return plugin


def _text(host: NodeHost, command: str, in_data: bytes | None = None) -> tuple[int, str, str]:
    result = host.exec_command(command, in_data)
    return result.rc, result.stdout.decode().strip(), result.stderr.decode().strip()


def test_temp_dirs_are_made_expanded_and_removed_in_both_forms(lab: Lab, shell: t.Any) -> None:
    host = NodeHost(lab, "PBX-N1")
    rc, made, _ = _text(host, shell.mkdtemp(basefile="ansible-tmp-1", tmpdir="%TEMP%"))
    assert (rc, made) == (0, r"C:\Users\Administrator\AppData\Local\Temp\ansible-tmp-1")
    bootstrapped = shell._mkdtemp2(basefile="ansible-tmp-2", tmpdir="%TEMP%")
    rc, made2, _ = _text(host, bootstrapped.command, bootstrapped.input_data)
    assert made2.endswith(r"\Temp\ansible-tmp-2")
    assert _text(host, shell.exists(made2))[0] == 0
    assert _text(host, shell.remove(made2, recurse=True))[0] == 0
    assert _text(host, shell.exists(made2))[0] == 1
    rc, _, error = _text(host, shell.remove(made2, recurse=True))
    assert rc == 1 and "does not exist" in error
    assert _text(host, shell.expand_user("~"))[1] == r"C:\Users\Administrator"
    expanded = shell._expand_user2("~\\.ansible")
    assert _text(host, expanded.command, expanded.input_data)[1] == r"C:\Users\Administrator\.ansible"


def test_files_travel_to_and_from_the_node(lab: Lab, tmp_path: Path) -> None:
    host = NodeHost(lab, "PBX-N2")
    source = tmp_path / "in.bin"
    source.write_bytes(b"\x00\x01payload")
    with pytest.raises(LabError, match="Could not find a part of the path"):
        host.put_file(source, r"C:\Missing\dir\file.bin")
    host.put_file(source, r"C:\Windows\Temp\file.bin")
    assert (lab.node_root("PBX-N2") / "Windows" / "Temp" / "file.bin").read_bytes() == b"\x00\x01payload"
    back = tmp_path / "out.bin"
    host.fetch_file(r"c:\windows\temp\FILE.bin", back)
    assert back.read_bytes() == b"\x00\x01payload"


def test_a_powered_off_node_is_unreachable(lab: Lab, shell: t.Any) -> None:
    with lab.session() as state:
        stop_node(lab, state, "PBX-N2")
    with pytest.raises(NodeUnreachable, match="PBX-N2 is not running"):
        NodeHost(lab, "PBX-N2").exec_command(shell.exists(r"C:\Windows"))


def test_raw_and_unknown_commands_fail_as_unsupported(lab: Lab, shell: t.Any) -> None:
    host = NodeHost(lab, "PBX-N1")
    rc, out, error = _text(host, "Get-Process")
    assert rc == 1 and out == ""
    assert error.startswith("unsupported in the lab: raw command 'Get-Process'")
    rc, _, error = _text(host, shell._encode_pwsh_script_as_command("Restart-Computer -Force"))
    assert rc == 1 and error.startswith(
        "unsupported in the lab: PowerShell script starting with 'Restart-Computer"
    )


class _LabConnection:
    """The part of a connection plugin win_reboot's plugin_utils uses, over a NodeHost."""

    def __init__(self, host: NodeHost) -> None:
        self.host = host

    def get_option(self, name: str) -> t.Any:
        raise KeyError(name)

    def exec_command(
        self, cmd: str, in_data: bytes | None = None, sudoable: bool = True
    ) -> tuple[int, bytes, bytes]:
        result = self.host.exec_command(cmd, in_data)
        return result.rc, result.stdout, result.stderr

    def close(self) -> None:
        pass

    def reset(self) -> None:
        pass


def test_win_reboot_reboots_the_node_through_its_raw_commands(lab: Lab) -> None:
    from ansible_collections.ansible.windows.plugins.plugin_utils import _reboot

    with lab.session() as state:
        before = state.nodes["PBX-N1"].boot_time
        other = state.nodes["PBX-N2"].boot_time
    result = _reboot.reboot_host(
        "ansible.windows.win_reboot", _LabConnection(NodeHost(lab, "PBX-N1")), reboot_timeout=20
    )
    assert result["rebooted"] and result["changed"] and not result["failed"], result
    with lab.session() as state:
        assert state.nodes["PBX-N1"].boot_time != before
        assert state.nodes["PBX-N1"].running
        assert state.nodes["PBX-N2"].boot_time == other
    log = (lab.state_dir / "logs" / "PBX-N1" / "wire.log").read_text()
    assert "win_reboot shutdown /r" in log


def test_a_python_service_really_runs_and_stops(windows: Driver, lab: Lab, tmp_path: Path) -> None:
    program = tmp_path / "svc.py"
    program.write_text(NOTIFY_READY + "import time\nwhile True:\n    time.sleep(0.2)\n")
    windows.run("ansible.windows.win_file", {"path": r"C:\Python312", "state": "directory"})
    windows.run("ansible.windows.win_file", {"path": r"C:\App", "state": "directory"})
    windows.host.put_file(program, r"C:\App\svc.py")
    windows.host.put_file(program, r"C:\Python312\python.exe")  # stands in for the interpreter
    args = {
        "name": "LabSvc",
        "path": r"C:\Python312\python.exe C:\App\svc.py",
        "start_mode": "manual",
        "state": "started",
    }
    started = windows.run("ansible.windows.win_service", args).result
    assert started["changed"] and started["state"] == "running" and started["start_mode"] == "manual"
    with lab.session() as state:
        pid = state.nodes["PBX-N1"].services["LabSvc"].pid
    assert pid is not None and Path(f"/proc/{pid}").exists()
    assert windows.run("ansible.windows.win_service", args).result["changed"] is False
    stopped = windows.run("ansible.windows.win_service", {"name": "LabSvc", "state": "stopped"}).result
    assert stopped["changed"] and stopped["state"] == "stopped"
    with lab.session() as state:
        assert state.nodes["PBX-N1"].services["LabSvc"].pid is None


def test_win_service_fails_to_start_a_silent_program_as_start_service_fails(
    windows: Driver, lab: Lab, tmp_path: Path
) -> None:
    """A program that never reports running: the SCM gives up after the services pipe timeout
    (1053) and the module fails with Start-Service's own error."""
    program = tmp_path / "silent.py"
    program.write_text("import time\ntime.sleep(60)\n")
    windows.run("ansible.windows.win_file", {"path": r"C:\Python312", "state": "directory"})
    windows.run("ansible.windows.win_file", {"path": r"C:\App", "state": "directory"})
    windows.host.put_file(program, r"C:\App\silent.py")
    windows.host.put_file(program, r"C:\Python312\python.exe")
    with lab.session() as state:
        state.nodes["PBX-N1"].services_pipe_timeout_ms = 500
    args = {"name": "Silent", "path": r"C:\Python312\python.exe C:\App\silent.py", "state": "started"}
    outcome = windows.run("ansible.windows.win_service", args)
    assert outcome.rc == 1
    assert outcome.result["msg"] == (
        "Unhandled exception while executing module: Service 'Silent (Silent)' cannot be started due to "
        "the following error: Cannot start service Silent on computer '.'."
    )
    assert "(1053)" in outcome.result["exception"]
    with lab.session() as state:
        assert state.nodes["PBX-N1"].services["Silent"].state == "Stopped"

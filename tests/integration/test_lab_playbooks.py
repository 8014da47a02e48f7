"""Run the lab integration playbooks with ansible-playbook against a two-node lab.

The lab is lab/examples/two-node-iscsi.yml, built in a fresh state directory per module; each
playbook runs as a subprocess with tests/integration/ansible.cfg and the ansible.posix.json
callback, and the tests assert on its per-task results and recap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wsfclab.lab import Lab
from wsfclab.state import LabState

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WORLD = REPO / "lab" / "examples" / "two-node-iscsi.yml"
PLAYBOOKS = HERE / "playbooks"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
NODES = ("PBX-N1", "PBX-N2")


def run_playbook(
    state_dir: Path, playbook: str, *extra: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """ansible-playbook with the JSON callback; returns its document (plays, tasks, stats)."""
    environment = {
        **os.environ,
        "ANSIBLE_CONFIG": str(HERE / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
        "WSFCLAB_STATE_DIR": str(state_dir),
        "WSFCLAB_WORLD": str(WORLD),
        **(env or {}),
    }
    done = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(PLAYBOOKS / playbook), *extra],
        cwd=HERE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        document: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{playbook}: no JSON output (rc {done.returncode})\n{done.stdout}\n{done.stderr}")
    document["rc"] = done.returncode
    document["stderr"] = done.stderr
    return document


def task_results(document: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """Per-host results of the task with this name (the first play that has it)."""
    for play in document["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                return dict(task["hosts"])
    raise AssertionError(f"no task named {name!r}")


def failures(document: dict[str, Any]) -> str:
    """What failed, for assertion messages: task, host and message."""
    lines = [document["stderr"]]
    for play in document["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed") and not result.get("ignore_errors"):
                    lines.append(
                        f"{task['task']['name']} on {host}: {result.get('msg')} {result.get('stderr', '')}"
                    )
    return "\n".join(lines)


def stats(document: dict[str, Any]) -> dict[str, dict[str, int]]:
    return dict(document["stats"])


def snapshot(state_dir: Path) -> dict[str, str]:
    """The lab's state and every node file, by content hash.

    The Windows account's profile is left out: Windows itself writes there in check mode too (the
    async wrapper's job files in %USERPROFILE%\\.ansible_async, and the temp dir ansible.windows'
    win_template action leaves behind when win_copy replaces the shell's tmpdir).
    """
    files = {"state.json": hashlib.sha256((state_dir / "state.json").read_bytes()).hexdigest()}
    for node in NODES:
        root = state_dir / "nodes" / node / "C"
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(state_dir)
            if relative.parts[3:5] == ("Users", "Administrator"):
                continue
            files[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return files


def stop_lab(state_dir: Path) -> None:
    if (state_dir / "state.json").exists():
        Lab.open(state_dir).reset()


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A lab on which windows_modules.yml ran once; yields the state dir and that run's document."""
    state_dir = tmp_path_factory.mktemp("lab") / "state"
    try:
        first = run_playbook(state_dir, "windows_modules.yml")
        yield state_dir, first
    finally:
        stop_lab(state_dir)


def _state(state_dir: Path) -> LabState:
    with Lab.open(state_dir).session() as state:
        return state


def test_the_first_run_converges_the_nodes(converged: tuple[Path, dict[str, Any]]) -> None:
    state_dir, first = converged
    assert first["rc"] == 0, failures(first)
    for node in NODES:
        assert stats(first)[node]["failures"] == 0
        assert stats(first)[node]["changed"] >= 10
    for task in (
        "Failover clustering is installed with its tools",
        "The application folder exists",
        "A configuration file is written from content",
        "The node's configuration is templated",
        "A folder tree is copied",
        "The echo service is registered and running",
    ):
        assert all(result["changed"] for result in task_results(first, task).values()), task
    feature = task_results(first, "Failover clustering is installed with its tools")["PBX-N1"]
    assert feature["exitcode"] == "Success"
    assert {entry["display_name"] for entry in feature["feature_result"]} >= {"Failover Clustering"}
    state = _state(state_dir)
    for node in NODES:
        assert state.nodes[node].features["Failover-Clustering"].installed
        echo = state.nodes[node].services["LabEcho"]
        assert echo.state == "Running" and echo.pid is not None
        assert echo.start_mode == "Automatic"
    toml = state_dir / "nodes" / "PBX-N2" / "C" / "PBX" / "app" / "pbx.toml"
    assert 'name = "PBX-N2"' in toml.read_text()


def test_a_second_run_changes_nothing(converged: tuple[Path, dict[str, Any]]) -> None:
    state_dir, _first = converged
    second = run_playbook(state_dir, "windows_modules.yml")
    assert second["rc"] == 0, failures(second)
    for node in NODES:
        assert stats(second)[node]["changed"] == 0
        assert stats(second)[node]["failures"] == 0
        assert stats(second)[node]["ok"] > 20


def test_modules_run_the_same_when_copied_to_the_node_first(converged: tuple[Path, dict[str, Any]]) -> None:
    """ANSIBLE_KEEP_REMOTE_FILES makes core put_file the payload and run it from the node's disk."""
    state_dir, _first = converged
    document = run_playbook(state_dir, "windows_modules.yml", env={"ANSIBLE_KEEP_REMOTE_FILES": "1"})
    assert document["rc"] == 0, failures(document)
    for node in NODES:
        assert stats(document)[node]["changed"] == 0
    temp = state_dir / "nodes" / "PBX-N1" / "C" / "Users" / "Administrator" / "AppData" / "Local" / "Temp"
    assert list(temp.rglob("AnsiballZ_win_file.ps1")), "the module was not copied to the node first"


def test_reboot_restarts_the_node_and_its_automatic_services(converged: tuple[Path, dict[str, Any]]) -> None:
    state_dir, _first = converged
    before = _state(state_dir)
    document = run_playbook(state_dir, "reboot.yml")
    assert document["rc"] == 0, failures(document)
    reboot = task_results(document, "The node reboots")["PBX-N2"]
    assert reboot["rebooted"] and reboot["changed"]
    after = _state(state_dir)
    assert after.nodes["PBX-N2"].boot_time != before.nodes["PBX-N2"].boot_time
    assert after.nodes["PBX-N1"].boot_time == before.nodes["PBX-N1"].boot_time
    old_pid = before.nodes["PBX-N2"].services["LabEcho"].pid
    new = after.nodes["PBX-N2"].services["LabEcho"]
    assert new.state == "Running" and new.pid is not None and new.pid != old_pid


def test_unsupported_modules_raw_commands_and_bad_arguments_fail_loudly(
    converged: tuple[Path, dict[str, Any]],
) -> None:
    state_dir, _first = converged
    document = run_playbook(state_dir, "unsupported.yml")
    assert document["rc"] == 0, failures(document)
    assert stats(document)["PBX-N1"]["ignored"] == 5
    regedit = task_results(document, "A module without a twin")["PBX-N1"]
    assert regedit["failed"]
    assert regedit["msg"].startswith("unsupported in the lab: module ansible.windows.win_regedit has no twin")
    raw = task_results(document, "A raw command")["PBX-N1"]
    assert raw["failed"] and raw["rc"] == 1
    assert "unsupported in the lab: raw command 'Get-Process'" in raw["stderr"]


def test_check_mode_changes_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    Lab.open(state_dir, WORLD)
    try:
        before = snapshot(state_dir)
        document = run_playbook(state_dir, "windows_modules.yml", "--check")
        assert document["rc"] == 0, failures(document)
        for node in NODES:
            assert stats(document)[node]["changed"] >= 10, "check mode should report what would change"
        assert snapshot(state_dir) == before
        service = task_results(document, "The echo service is registered and running")["PBX-N1"]
        assert service["changed"]
    finally:
        stop_lab(state_dir)


# The playbook under the older ansible-core minors the lab supports, each in its contract venv
# (scripts/contract-venvs.sh): those cores take the Windows path from the connection's
# always_pipeline_modules / has_native_async, and send the 2.20-and-older shell snippets.
# minor -> (a port of its own for the echo service, whether ANSIBLE_KEEP_REMOTE_FILES makes it copy
# modules to the node first: 2.19 pipelines regardless when the connection always pipelines, as with
# its psrp plugin; 2.20 then sends `type <file> | PowerShell ...`)
OLDER_CORES = {"2.19": (5219, False), "2.20": (5220, True)}
RECAP = re.compile(
    r"^(?P<host>PBX-N\d)\s*: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


def run_with_core(
    minor: str, state_dir: Path, port: int, env: dict[str, str] | None = None
) -> dict[str, dict[str, int]]:
    venv = REPO / ".venvs" / f"core-{minor}"
    assert (venv / "bin" / "ansible-playbook").exists(), f"no {venv}: run scripts/contract-venvs.sh {minor}"
    environment = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "ANSIBLE_CONFIG": str(HERE / "ansible.cfg"),
        # this checkout as pbxops.wsfc, and the main venv's ansible.windows (linked by contract-venvs.sh)
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(
            [str(REPO / "collections"), str(REPO / ".venvs" / "ansible-windows")]
        ),
        "ANSIBLE_NOCOLOR": "1",
        "WSFCLAB_STATE_DIR": str(state_dir),
        "WSFCLAB_WORLD": str(WORLD),
        **(env or {}),
    }
    done = subprocess.run(
        [
            str(venv / "bin" / "ansible-playbook"),
            str(PLAYBOOKS / "windows_modules.yml"),
            "-e",
            f"service_port={port}",
        ],
        cwd=HERE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    recap = {
        m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
        for m in RECAP.finditer(done.stdout)
    }
    assert done.returncode == 0 and set(recap) == set(NODES), (
        f"ansible-core {minor}:\n{done.stdout[-3000:]}\n{done.stderr}"
    )
    return recap


@pytest.mark.parametrize("minor", sorted(OLDER_CORES))
def test_the_playbook_converges_then_stays_ok_under_older_cores(minor: str, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    try:
        port, copies_modules = OLDER_CORES[minor]
        first = run_with_core(minor, state_dir, port)
        assert all(first[node]["changed"] >= 10 and first[node]["failed"] == 0 for node in NODES), first
        second = run_with_core(minor, state_dir, port, env={"ANSIBLE_KEEP_REMOTE_FILES": "1"})
        assert all(second[node]["changed"] == 0 and second[node]["failed"] == 0 for node in NODES), second
        temp = state_dir / "nodes" / "PBX-N1" / "C" / "Users" / "Administrator" / "AppData" / "Local" / "Temp"
        assert bool(list(temp.rglob("AnsiballZ_win_file.ps1"))) == copies_modules
    finally:
        stop_lab(state_dir)

"""The wsfclab command: status, node power, service kill, reset, and its errors."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from wsfclab import processes
from wsfclab.cli import main
from wsfclab.lab import Lab
from wsfclab.testing import NOTIFY_READY


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(list(argv)) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_status_reset_and_node_power(
    tmp_path: Path, two_node_world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = str(tmp_path / "lab")
    built = _json(capsys, "--state-dir", state_dir, "--world", str(two_node_world), "--json", "reset")
    assert [n["name"] for n in built["nodes"]] == ["PBX-N1", "PBX-N2"]
    stopped = _json(capsys, "--state-dir", state_dir, "--json", "node", "stop", "pbx-n2")
    assert [n["running"] for n in stopped["nodes"]] == [True, False]
    started = _json(capsys, "--state-dir", state_dir, "--json", "node", "start", "PBX-N2")
    assert all(n["running"] for n in started["nodes"]) and started["problems"] == []
    assert main(["--state-dir", state_dir, "status"]) == 0
    human = capsys.readouterr().out
    assert "node PBX-N1" in human and "iscsi-san1-data" in human


def test_service_kill_stops_the_process(
    tmp_path: Path, two_node_world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = Lab.open(tmp_path / "lab", two_node_world)
    root = lab.node_root("PBX-N1")
    (root / "python.exe").write_text("")
    (root / "sleep.py").write_text(NOTIFY_READY + "import time\ntime.sleep(60)\n")
    from wsfclab import services

    with lab.session() as state:
        services.create_service(state, "PBX-N1", "Sleeper", r"C:\python.exe C:\sleep.py")
        pid = services.start_service(lab, state, "PBX-N1", "Sleeper").pid
    try:
        killed = _json(
            capsys, "--state-dir", str(lab.state_dir), "--json", "service", "kill", "PBX-N1", "Sleeper"
        )
        node = next(n for n in killed["nodes"] if n["name"] == "PBX-N1")
        assert {"name": "Sleeper", "state": "Stopped"}.items() <= node["services"][0].items()
        assert pid is not None and processes.start_time(pid) is None
    finally:
        with lab.session() as state:
            processes.stop_all(state)


def test_errors_are_one_line_with_what_to_do(
    tmp_path: Path, two_node_world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--state-dir", str(tmp_path / "none"), "status"]) == 1
    assert "give a world file" in capsys.readouterr().err
    Lab.open(tmp_path / "lab", two_node_world)
    assert main(["--state-dir", str(tmp_path / "lab"), "node", "stop", "NOPE"]) == 1
    assert "no node 'NOPE'" in capsys.readouterr().err


def test_the_hint_to_rebuild_from_another_world_is_a_command_that_works(
    tmp_path: Path, two_node_world: Path, three_node_world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = str(tmp_path / "lab")
    Lab.open(Path(state_dir), two_node_world)
    assert main(["--state-dir", state_dir, "--world", str(three_node_world), "status"]) == 1
    hint = re.search(r"`(wsfclab [^`]+)`", capsys.readouterr().err)
    assert hint is not None
    argv = shlex.split(hint.group(1))[1:]
    assert main(argv) == 0
    with Lab.open(Path(state_dir), three_node_world).session() as state:
        assert state.world_name == "three-node-sas"
        processes.stop_all(state)

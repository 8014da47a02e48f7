"""The state dir: persistence across processes and Lab handles, reset, world changes, paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from wsfclab.disks import add_view
from wsfclab.errors import LabError
from wsfclab.lab import Lab


def test_changes_persist_across_lab_handles(lab: Lab, two_node_world: Path) -> None:
    with lab.session() as state:
        state.nodes["PBX-N1"].features["Failover-Clustering"].installed = True
    reopened = Lab.open(lab.state_dir, two_node_world)
    with reopened.session() as state:
        assert state.nodes["PBX-N1"].features["Failover-Clustering"].installed
    saved = json.loads((lab.state_dir / "state.json").read_text())
    assert saved["nodes"]["PBX-N1"]["features"]["Failover-Clustering"]["installed"] is True
    assert not (lab.state_dir / "state.tmp").exists()


def test_a_failing_session_stores_nothing(lab: Lab) -> None:
    with pytest.raises(RuntimeError), lab.session() as state:
        state.nodes["PBX-N1"].running = False
        raise RuntimeError("boom")
    with lab.session() as state:
        assert state.nodes["PBX-N1"].running


def test_reset_returns_to_the_described_world(lab: Lab) -> None:
    (lab.node_root("PBX-N1") / "leftover.txt").write_text("x")
    with lab.session() as state:
        state.nodes["PBX-N2"].running = False
    lab.reset()
    with lab.session() as state:
        assert state.nodes["PBX-N2"].running
    assert not (lab.node_root("PBX-N1") / "leftover.txt").exists()
    assert (lab.node_root("PBX-N1") / "Windows" / "System32").is_dir()


def test_another_world_needs_a_reset(lab: Lab, three_node_world: Path) -> None:
    with pytest.raises(LabError, match=r"wsfclab --state-dir .* --world .* reset`"):
        Lab.open(lab.state_dir, three_node_world)
    lab.reset(three_node_world)
    with lab.session() as state:
        assert sorted(state.nodes) == ["SAS-N1", "SAS-N2", "SAS-N3"]


def test_a_new_state_dir_needs_a_world(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="give a world file"):
        Lab.open(tmp_path / "empty")


def test_paths_are_case_insensitive_and_accept_both_slashes(lab: Lab) -> None:
    folder = lab.node_root("PBX-N1") / "PBX" / "Config"
    folder.mkdir(parents=True)
    with lab.session() as state:
        assert lab.resolve_path(state, "pbx-n1", r"c:\pbx\CONFIG\pbx.toml") == folder / "pbx.toml"
        assert lab.resolve_path(state, "PBX-N1", "C:/PBX/Config/../Config/a") == folder / "a"
        assert lab.windows_path(state, "PBX-N1", folder / "pbx.toml") == r"C:\PBX\Config\pbx.toml"


@pytest.mark.parametrize("bad", ["relative\\path", r"\\server\share\x", "C:rel", r"C:\a\b?c"])
def test_paths_the_lab_cannot_map_are_refused(lab: Lab, bad: str) -> None:
    with lab.session() as state, pytest.raises(LabError):
        lab.resolve_path(state, "PBX-N1", bad)


def test_a_drive_letter_follows_the_node_that_has_the_disk_online(lab: Lab) -> None:
    with lab.session() as state:
        disk = state.disks["iscsi-san1-data"]
        for node in ("PBX-N1", "PBX-N2"):
            add_view(state, disk, node)
        disk.partition_style = "GPT"
        from wsfclab.state import Partition, Volume

        disk.partitions.append(
            Partition(
                2,
                16 * 1024**2,
                1024**3,
                "{g}",
                "{t}",
                "Basic",
                "D",
                f"{disk.folder}/2",
                Volume("v", "u", "NTFS", "", 4096),
            )
        )
        with pytest.raises(LabError, match="drive D: is not available on PBX-N1"):
            lab.resolve_path(state, "PBX-N1", r"D:\PBX")
        disk.views["PBX-N1"].is_offline = False
        assert lab.resolve_path(state, "PBX-N1", r"D:\PBX") == lab.state_dir / disk.folder / "2" / "PBX"
        with pytest.raises(LabError):
            lab.resolve_path(state, "PBX-N2", r"D:\PBX")
        disk.views["PBX-N1"].is_offline = True
        disk.views["PBX-N2"].is_offline = False
        assert lab.resolve_path(state, "PBX-N2", r"d:\pbx") == lab.state_dir / disk.folder / "2" / "pbx"


def test_sessions_in_parallel_processes_lose_no_update(lab: Lab) -> None:
    script = (
        "import sys\nfrom pathlib import Path\nfrom wsfclab.lab import Lab\n"
        "lab = Lab.open(Path(sys.argv[1]))\n"
        "for _ in range(10):\n"
        "    with lab.session() as state:\n"
        "        state.next_id()\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, str(lab.state_dir)]) for _ in range(4)]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0, 0]
    with lab.session() as state:
        assert state.counter == 40


def test_a_session_can_let_other_processes_change_the_state_meanwhile(lab: Lab) -> None:
    """A long cmdlet (New-Cluster waiting for its nodes) releases the lock so that the nodes' own
    processes can write; what it changed before is kept, what they wrote is seen after."""
    script = (
        "import sys\nfrom pathlib import Path\nfrom wsfclab.lab import Lab\n"
        "lab = Lab.open(Path(sys.argv[1]))\n"
        "with lab.session() as state:\n"
        "    state.nodes['PBX-N2'].running = False\n"
    )
    with lab.session() as state:
        node = state.nodes["PBX-N1"]
        node.features["Failover-Clustering"].installed = True
        with lab.released():
            other = subprocess.run([sys.executable, "-c", script, str(lab.state_dir)], check=True, timeout=60)
        assert other.returncode == 0
        assert not state.nodes["PBX-N2"].running
        assert state.nodes["PBX-N1"].features["Failover-Clustering"].installed
        state.nodes["PBX-N1"].running = False
    with lab.session() as state:
        assert not state.nodes["PBX-N1"].running and not state.nodes["PBX-N2"].running


def test_releasing_outside_a_session_is_refused(lab: Lab) -> None:
    with pytest.raises(LabError, match="inside a session"), lab.released():
        pass

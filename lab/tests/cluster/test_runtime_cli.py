"""Drilling faults through the ``wsfclab`` command, with --json, on a running cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import runtime_support as rs
from wsfclab import cli
from wsfclab.lab import Lab


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Lab, int]]:
    lab, port = rs.build(tmp_path)
    try:
        rs.add_role(lab)
        yield lab, port
    finally:
        rs.stop_everything(lab)


def wsfclab(lab: Lab, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = cli.main(["--state-dir", str(lab.state_dir), "--json", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else err


def test_the_command_isolates_heals_crashes_and_shows_the_cluster_and_its_events(
    cluster: tuple[Lab, int], capsys: pytest.CaptureFixture[str]
) -> None:
    lab, port = cluster
    code, view = wsfclab(lab, capsys, "cluster")
    assert code == 0
    assert view["cluster"]["quorum"]["has_quorum"] is True
    assert {g["name"]: g["owner_node"] for g in view["cluster"]["groups"]}["PBX"] == "N1"

    code, cut = wsfclab(lab, capsys, "node", "isolate", "N2", "--network", "Cluster Network 2")
    assert code == 0 and cut["cluster"]["isolations"] == [{"node": "N2", "network": "Cluster Network 2"}]
    code, error = wsfclab(lab, capsys, "node", "isolate", "N2", "--network", "Cluster Network 9")
    assert code == 1 and "The cluster network was not found" in error and "wsfclab cluster status" in error
    code, healed = wsfclab(lab, capsys, "node", "heal", "N2")
    assert code == 0 and healed["cluster"]["isolations"] == []

    code, _ = wsfclab(lab, capsys, "node", "crash", "N1")
    assert code == 0
    rs.wait_for(
        lab,
        lambda s: (
            s.cluster is not None
            and s.cluster.groups["PBX"].owner_node == "N2"
            and s.cluster.groups["PBX"].state == "Online"
        ),
        "the failover",
    )
    assert rs.ask(port) == "N2"
    code, log = wsfclab(lab, capsys, "events", "--node", "N2", "--id", "1135")
    assert code == 0
    assert [(e["node"], e["id"]) for e in log["events"]] == [("N2", 1135)]
    assert log["events"][0]["message"].startswith("Cluster node 'N1' was removed from the active failover")
    assert log["events"][0]["time"].endswith("0Z")
    code, view = wsfclab(lab, capsys, "cluster", "status")
    assert {n["name"]: n["state"] for n in view["cluster"]["nodes"]} == {"N1": "Down", "N2": "Up"}
    assert cli.main(["--state-dir", str(lab.state_dir), "cluster"]) == 0
    assert "group PBX" in capsys.readouterr().out

"""The node cmdlets through the executor path: joining and evicting (a second hop), pausing with
drain, resuming, stopping and starting, and the names Windows refuses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_worlds import clustered, delegated, stop, wait_for
from wsfclab.lab import Lab
from wsfclab.testing import change, output

ADD_ID = "Add-ClusterNode,Microsoft.FailoverClusters.PowerShell.AddClusterNodeCommand"


def _third_node(data: dict[str, Any]) -> None:
    extra = {**data["nodes"][1], "name": "N3"}
    extra["nics"] = [
        {**extra["nics"][0], "mac": "00-15-5D-09-01-03", "addresses": ["127.0.1.13/24"]},
        {**extra["nics"][1], "mac": "00-15-5D-09-02-03", "addresses": ["127.0.2.13/24"]},
    ]
    data["nodes"].append(extra)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    built = clustered(tmp_path, _third_node, clustering=("N1", "N2", "N3"))
    yield built
    stop(built)


def _states(lab: Lab) -> dict[str, str]:
    return {n["Name"]: n["State"] for n in output(lab, "N1", "Get-ClusterNode")}


def test_add_cluster_node_needs_credentials_that_reach_the_node(lab: Lab) -> None:
    refused = change(lab, "N1", ("Add-ClusterNode", {"Name": ["N3"], "NoStorage": True}))
    assert refused["failed"] and refused["msg"].endswith(
        "You do not have administrative privileges on the server 'N3'."
    )
    assert refused["error_id"] == ADD_ID
    assert "N3" not in _states(lab)
    with delegated():
        added = change(lab, "N1", ("Add-ClusterNode", {"Name": ["N3"], "NoStorage": True}))
    assert "failed" not in added, added
    assert added["results"][0]["output"][0]["Name"] == "N3"
    wait_for(lab, lambda s: s.cluster is not None and s.cluster.nodes["N3"].state == "Up")
    with delegated():
        again = change(lab, "N1", ("Add-ClusterNode", {"Name": ["N3"], "NoStorage": True}))
    assert again["failed"] and "The cluster node is already a member of the cluster." in again["msg"]
    assert again["error_id"] == ADD_ID


def test_add_cluster_node_refuses_a_computer_that_does_not_exist(lab: Lab) -> None:
    with delegated():
        result = change(lab, "N1", ("Add-ClusterNode", {"Name": ["N8"]}))
    assert result["failed"] and "the computer 'N8' could not be reached" in result["msg"]


def test_remove_cluster_node_prompts_and_needs_the_second_hop(lab: Lab) -> None:
    with delegated():
        prompted = change(lab, "N1", ("Remove-ClusterNode", {"Name": ["N2"]}))
    assert prompted["failed"] and "NonInteractive mode" in prompted["msg"], prompted
    no_hop = change(lab, "N1", ("Remove-ClusterNode", {"Name": ["N2"], "Force": True}))
    assert no_hop["failed"] and no_hop["msg"].endswith(
        "You do not have administrative privileges on the server 'N2'."
    )
    unknown = change(lab, "N1", ("Remove-ClusterNode", {"Name": ["N9"], "Force": True}))
    assert unknown["failed"] and "The cluster node was not found." in unknown["msg"]
    with delegated():
        evicted = change(lab, "N1", ("Remove-ClusterNode", {"Name": ["N2"], "Force": True}))
    assert "failed" not in evicted, evicted
    assert list(_states(lab)) == ["N1"]


def test_suspend_with_drain_pauses_and_resume_brings_the_node_back(lab: Lab) -> None:
    paused = change(lab, "N1", ("Suspend-ClusterNode", {"Name": ["N1"], "Drain": True, "Wait": True}))
    (node,) = paused["results"][0]["output"]
    assert (node["State"], node["DrainStatus"]) == ("Paused", "Completed")
    assert output(lab, "N2", "Get-ClusterGroup", {"Name": "Cluster Group"})[0]["OwnerNode"] == "N2"
    resumed = change(lab, "N1", ("Resume-ClusterNode", {"Name": ["N1"], "Failback": "Immediate"}))
    assert resumed["results"][0]["output"][0]["State"] == "Up"
    again = change(lab, "N1", ("Resume-ClusterNode", {"Name": ["N1"]}))
    assert again["failed"] and "The cluster node is not paused." in again["msg"]


def test_stop_and_start_a_node(lab: Lab) -> None:
    stopped = change(lab, "N1", ("Stop-ClusterNode", {"Name": ["N2"], "Confirm": False}))
    assert "failed" not in stopped, stopped
    wait_for(lab, lambda s: s.cluster is not None and s.cluster.nodes["N2"].state == "Down")
    down = output(lab, "N1", "Get-ClusterNode", {"Name": "N2"})[0]
    assert down["State"] == "Down"
    started = change(lab, "N1", ("Start-ClusterNode", {"Name": ["N2"]}))
    assert "failed" not in started, started
    wait_for(lab, lambda s: s.cluster is not None and s.cluster.nodes["N2"].state == "Up")


def _pin_storage_to_n1(lab: Lab) -> None:
    """Available Storage can run on N1 only: its disk's possible owners are N1 alone."""
    (disk,) = [
        r["Name"] for r in output(lab, "N1", "Get-ClusterResource") if r["OwnerGroup"] == "Available Storage"
    ]
    pinned = change(lab, "N1", ("Set-ClusterOwnerNode", {"Resource": disk, "Owners": ["N1"]}))
    assert "failed" not in pinned, pinned
    moved = change(lab, "N1", ("Move-ClusterGroup", {"Name": "Available Storage", "Node": "N1"}))
    assert "failed" not in moved, moved


def _group(lab: Lab, name: str) -> dict[str, Any]:
    (group,) = output(lab, "N1", "Get-ClusterGroup", {"Name": name})
    return dict(group)


def test_a_drain_that_cannot_move_a_role_fails_and_leaves_it_running(lab: Lab) -> None:
    _pin_storage_to_n1(lab)
    paused = change(lab, "N1", ("Suspend-ClusterNode", {"Name": ["N1"], "Drain": True, "Wait": True}))
    (node,) = paused["results"][0]["output"]
    assert (node["State"], node["DrainStatus"]) == ("Paused", "Failed")
    assert (_group(lab, "Available Storage")["OwnerNode"], _group(lab, "Available Storage")["State"]) == (
        "N1",
        "Online",
    )


def test_force_drain_stops_the_role_that_cannot_move_and_pauses_the_node(lab: Lab) -> None:
    """ "any workload that failed will be stopped ... Thereafter, the node will be forced to pause"
    (Suspend-ClusterNode, -ForceDrain)."""
    _pin_storage_to_n1(lab)
    paused = change(
        lab, "N1", ("Suspend-ClusterNode", {"Name": ["N1"], "Drain": True, "ForceDrain": True, "Wait": True})
    )
    (node,) = paused["results"][0]["output"]
    assert node["State"] == "Paused"
    assert _group(lab, "Available Storage")["State"] != "Online"
    assert _group(lab, "Cluster Group")["OwnerNode"] == "N2"

"""New-Cluster and Add-ClusterNode return once their nodes have joined, as on Windows, where the
wizard's last step is "Waiting for notification that the node is a fully functional member of the
cluster"; a join that does not complete in time fails with the timeout error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_worlds import clustered, delegated, new_cluster, prepare_disks, stop, world
from wsfclab import processes, services
from wsfclab.cluster import api
from wsfclab.cluster.runtime import CLUSTER_SERVICE
from wsfclab.cmdlets.cluster import joining
from wsfclab.lab import Lab
from wsfclab.state import LabState
from wsfclab.testing import change

ADD_ID = "Add-ClusterNode,Microsoft.FailoverClusters.PowerShell.AddClusterNodeCommand"


def _third_node(data: dict[str, Any]) -> None:
    extra = {**data["nodes"][1], "name": "N3"}
    extra["nics"] = [
        {**extra["nics"][0], "mac": "00-15-5D-09-01-03", "addresses": ["127.0.1.13/24"]},
        {**extra["nics"][1], "mac": "00-15-5D-09-02-03", "addresses": ["127.0.2.13/24"]},
    ]
    data["nodes"].append(extra)


def _stored_states(lab: Lab) -> dict[str, str]:
    """The node states as stored, read at once (no waiting)."""
    with lab.session() as state:
        assert state.cluster is not None
        return {name: node.state for name, node in state.cluster.nodes.items()}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    built = clustered(tmp_path, _third_node, clustering=("N1", "N2", "N3"))
    yield built
    stop(built)


def test_new_cluster_returns_with_every_node_up(tmp_path: Path) -> None:
    built = world(tmp_path)
    try:
        prepare_disks(built)
        created = new_cluster(built)
        assert "failed" not in created, created
        assert _stored_states(built) == {"N1": "Up", "N2": "Up"}
    finally:
        stop(built)


def test_add_cluster_node_returns_the_node_up(lab: Lab) -> None:
    with delegated():
        added = change(lab, "N1", ("Add-ClusterNode", {"Name": ["N3"], "NoStorage": True}))
    assert "failed" not in added, added
    (node,) = added["results"][0]["output"]
    assert (node["Name"], node["State"]) == ("N3", "Up")
    assert _stored_states(lab)["N3"] == "Up"


def test_a_join_that_does_not_complete_fails_with_the_timeout(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N3's cluster service dies as it starts: the node never joins, and Add-ClusterNode says so."""
    original = api.add_node

    def add_then_crash(lab_: Lab, state: LabState, name: str, **kwargs: Any) -> Any:
        added = original(lab_, state, name, **kwargs)
        clussvc = services.get_service(state.nodes[name], CLUSTER_SERVICE)
        assert clussvc.pid is not None
        processes.terminate(clussvc.pid, clussvc.process_start, graceful=False)
        return added

    monkeypatch.setattr(api, "add_node", add_then_crash)
    monkeypatch.setattr(joining, "JOIN_TIMEOUT", 1.0)
    with delegated():
        result = change(lab, "N1", ("Add-ClusterNode", {"Name": ["N3"], "NoStorage": True}))
    assert result["failed"], result
    assert result["error_id"] == ADD_ID
    assert "An error occurred while adding node 'N3' to cluster 'PBXCL'.\n" in result["msg"]
    assert "This operation returned because the timeout period expired." in result["msg"]
    assert _stored_states(lab)["N3"] != "Up"

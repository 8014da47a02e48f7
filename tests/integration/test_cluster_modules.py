"""The cluster modules against a two-node lab, with real playbooks (playbooks/cluster/).

One lab for the whole file, built once by prepare.yml (Failover Clustering, iSCSI logins, the two
LUNs prepared) and then taken, module after module, from no cluster to a cluster with a disk
witness and the echo service as a Generic Service role: each test needs the ones before it, so they
run in the order of the file. Each playbook shows, for its module, that check mode reports a change
and makes none (the run after it still changes), that the run makes it, that a re-run is ok in one
round trip, that bad input fails with a clear message, and that a change left half-applied (a fault
injected with the executor module between the two halves) converges on the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_lab_playbooks import failures, run_playbook, stop_lab, task_results

pytestmark = pytest.mark.integration

ROLE_RESOURCES = {"PBX", "IP Address 127.0.1.47", "Cluster Disk 1", "Lab echo service"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state_dir = tmp_path_factory.mktemp("cluster-lab") / "state"
    try:
        prepared = run_playbook(state_dir, "cluster/prepare.yml")
        assert prepared["rc"] == 0, failures(prepared)
        yield state_dir
    finally:
        stop_lab(state_dir)


def play(state_dir: Path, playbook: str) -> dict[str, Any]:
    document = run_playbook(state_dir, f"cluster/{playbook}")
    assert document["rc"] == 0, failures(document)
    return document


def on_n1(document: dict[str, Any], task: str) -> dict[str, Any]:
    return task_results(document, task)["PBX-N1"]


def assert_no_change_in_one_round_trip(result: dict[str, Any]) -> None:
    assert result["changed"] is False, result
    assert result["round_trips"] == 1, result


def test_cluster(lab: Path) -> None:
    document = play(lab, "cluster.yml")
    checked = on_n1(document, "Check mode reports the cluster it would create")
    assert checked["changed"] is True
    assert checked["round_trips"] == 1
    assert checked["diff"]["before"] == {"exists": False}

    created = on_n1(document, "The cluster is created and the second node joins")
    assert created["changed"] is True, "check mode must not have created the cluster"
    assert created["round_trips"] == 2
    # As Add-ClusterNode returned it: the new node may still be joining.
    assert created["state"]["nodes"].keys() == {"PBX-N1", "PBX-N2"}
    assert set(created["state"]["nodes"].values()) <= {"Up", "Joining"}
    assert created["state"]["same_subnet_threshold"] == 20

    assert_no_change_in_one_round_trip(on_n1(document, "A second run changes nothing"))

    refused = on_n1(document, "A cluster name longer than NetBIOS allows is refused")
    assert refused["failed"] is True
    assert "name: 'PBX-CLUSTER-NAME-TOO-LONG' is not a valid NetBIOS name" in refused["msg"]
    assert refused["round_trips"] == 0

    rejoined = on_n1(document, "The next run joins the missing node")
    assert rejoined["changed"] is True
    assert rejoined["state"]["nodes"].keys() == {"PBX-N1", "PBX-N2"}
    assert_no_change_in_one_round_trip(on_n1(document, "And the run after it changes nothing"))

    absent = on_n1(document, "Check mode reports that absent would destroy the cluster, and destroys nothing")
    assert absent["changed"] is True
    assert_no_change_in_one_round_trip(on_n1(document, "The cluster is still there"))


def test_cluster_network(lab: Path) -> None:
    document = play(lab, "cluster_network.yml")
    checked = on_n1(document, "Check mode reports the rename and the role")
    assert checked["changed"] is True
    assert checked["diff"]["before"]["role"] == "none"
    assert checked["diff"]["after"] == {**checked["diff"]["before"], "name": "Heartbeat", "role": "cluster"}

    made = on_n1(document, "The network is renamed and gets its role back")
    assert made["changed"] is True
    assert made["state"] == {"name": "Heartbeat", "subnet": "127.0.2.0/24", "role": "cluster", "state": "Up"}
    assert_no_change_in_one_round_trip(on_n1(document, "A second run changes nothing"))

    refused = on_n1(document, "A subnet without a cluster network is refused")
    assert refused["failed"] is True
    assert "subnet: no cluster network is on 127.0.9.0/24" in refused["msg"]

    renamed = on_n1(document, "The next run renames it again")
    assert renamed["changed"] is True
    assert renamed["state"]["name"] == "Heartbeat"
    assert_no_change_in_one_round_trip(on_n1(document, "And the run after it changes nothing"))


def test_cluster_disk(lab: Path) -> None:
    document = play(lab, "cluster_disk.yml")
    checked = on_n1(document, "Check mode reports that the data disk would be clustered")
    assert checked["changed"] is True
    assert checked["diff"]["before"]["clustered"] is False

    clustered = on_n1(document, "The data disk is clustered")
    assert clustered["changed"] is True
    assert clustered["state"]["clustered"] is True
    assert clustered["state"]["name"] == "Cluster Disk 1"
    assert clustered["state"]["owner_group"] == "Available Storage"
    assert_no_change_in_one_round_trip(on_n1(document, "A second run changes nothing"))

    refused = on_n1(document, "A disk this node does not see is refused")
    assert refused["failed"] is True
    assert "unique_id: no disk with UniqueId '00000000000000000000000000000000' is visible" in refused["msg"]

    assert on_n1(document, "The witness disk is clustered")["state"]["name"] == "Cluster Disk 2"


def test_cluster_quorum(lab: Path) -> None:
    document = play(lab, "cluster_quorum.yml")
    checked = on_n1(document, "Check mode reports the witness it would set")
    assert checked["changed"] is True
    assert checked["diff"]["before"]["witness"] == "none"

    made = on_n1(document, "The disk witness is set")
    assert made["changed"] is True
    assert made["state"]["witness"] == "disk"
    assert made["state"]["resource"] == "Cluster Disk 2"
    assert_no_change_in_one_round_trip(on_n1(document, "A second run changes nothing"))

    refused = on_n1(document, "A disk the cluster does not have is refused")
    assert refused["failed"] is True
    assert "disk: the cluster has no disk called 'No Such Disk'" in refused["msg"]

    assert on_n1(document, "The next run sets the witness again")["changed"] is True
    assert_no_change_in_one_round_trip(on_n1(document, "And the run after it changes nothing"))


def test_generic_service_role(lab: Path) -> None:
    document = play(lab, "generic_service_role.yml")
    checked = on_n1(document, "Check mode reports the role it would create")
    assert checked["changed"] is True
    assert checked["diff"]["before"] == {"exists": False}

    completed = on_n1(document, "The next run makes the missing settings")
    assert completed["changed"] is True
    assert completed["round_trips"] == 2
    assert completed["diff"]["before"]["startup_parameters"] != "--verbose"
    assert completed["state"]["startup_parameters"] == "--verbose"
    assert completed["state"]["dependencies"] == ["PBX", "Cluster Disk 1"]
    assert_no_change_in_one_round_trip(on_n1(document, "A second run changes nothing"))

    refused = on_n1(document, "A disk the cluster does not have is refused")
    assert refused["failed"] is True
    assert "storage: the cluster has no disk called 'No Such Disk'" in refused["msg"]

    one = on_n1(document, "One changed setting changes only that setting")
    assert one["changed"] is True
    changed_keys = {k for k, v in one["diff"]["after"].items() if one["diff"]["before"].get(k) != v}
    assert changed_keys == {"restart_threshold"}

    assert on_n1(document, "The role is removed")["state"] == {"exists": False}
    created = on_n1(document, "The role is created with every setting in one run")
    assert created["changed"] is True
    assert created["round_trips"] == 4
    assert created["state"]["state"] == "Online"
    assert created["state"]["preferred_owners"] == ["PBX-N1", "PBX-N2"]
    assert_no_change_in_one_round_trip(on_n1(document, "And the run after it changes nothing"))


def test_cluster_group(lab: Path) -> None:
    document = play(lab, "cluster_group.yml")
    checked = on_n1(document, "Check mode reports the move")
    assert checked["changed"] is True
    assert checked["diff"]["after"]["owner_node"] == "PBX-N2"

    moved = on_n1(document, "The role moves to the second node")
    assert moved["changed"] is True
    assert moved["state"]["owner_node"] == "PBX-N2"
    assert set(moved["state"]["resources"]) == ROLE_RESOURCES
    assert {r["owner_node"] for r in moved["state"]["resources"].values()} == {"PBX-N2"}
    assert {r["state"] for r in moved["state"]["resources"].values()} == {"Online"}
    assert_no_change_in_one_round_trip(on_n1(document, "A second run changes nothing"))

    refused = on_n1(document, "A node the cluster does not have is refused")
    assert refused["failed"] is True
    assert "node: 'PBX-N9' is not a node of the cluster" in refused["msg"]

    restarted = on_n1(document, "The next run brings it online again, where it is")
    assert restarted["changed"] is True
    assert restarted["state"]["state"] == "Online"
    assert restarted["state"]["owner_node"] == "PBX-N2"
    assert_no_change_in_one_round_trip(on_n1(document, "And the run after it changes nothing"))


def test_cluster_node(lab: Path) -> None:
    document = play(lab, "cluster_node.yml")
    checked = on_n1(document, "Check mode reports the pause")
    assert checked["changed"] is True
    assert checked["diff"]["after"]["state"] == "Paused"

    drained = on_n1(document, "The next run drains it, waiting for the drain")
    assert drained["changed"] is True
    assert drained["state"]["state"] == "Paused"
    assert drained["state"]["drain_status"] == "Completed"
    assert_no_change_in_one_round_trip(on_n1(document, "A second run changes nothing"))
    assert on_n1(document, "The role left the drained node")["state"]["owner_node"] == "PBX-N1"

    refused = on_n1(document, "A node the cluster does not have is refused")
    assert refused["failed"] is True
    assert "name: 'PBX-N9' is not a node of the cluster" in refused["msg"]

    resumed = on_n1(document, "The node is resumed and the role fails back")
    assert resumed["changed"] is True
    assert resumed["state"]["state"] == "Up"
    assert_no_change_in_one_round_trip(on_n1(document, "A resumed node needs no resume"))


def test_cluster_info(lab: Path) -> None:
    document = play(lab, "cluster_info.yml")
    for host, read in task_results(document, "The whole cluster is read").items():
        assert_no_change_in_one_round_trip(read)
        state = read["state"]
        assert state["name"] == "PBXCL", host
        assert state["quorum"]["witness"] == "Cluster Disk 2"
        pbx = next(g for g in state["groups"] if g["name"] == "PBX")
        assert set(pbx["resources"]) == ROLE_RESOURCES
        service = next(r for r in state["resources"] if r["name"] == "Lab echo service")
        assert service["parameters"]["ServiceName"] == "LabEcho"
        assert service["dependency_expression"] == "[PBX] and [Cluster Disk 1]"
    # The lab has no Win32_NTLogEvent: its events cannot be read, and the module says so.
    with_events = on_n1(document, "With the recent events too")
    assert with_events["state"]["name"] == "PBXCL"
    assert "events" in with_events["state"] or "events could not be read" in with_events["warnings"][0]
    assert on_n1(document, "Check mode reads the same")["state"]["name"] == "PBXCL"
    refused = on_n1(document, "A negative number of events is refused")
    assert refused["failed"] is True
    assert "events: -1 is out of range" in refused["msg"]
    absent = on_n1(document, "A cluster that cannot be reached is reported as absent")
    assert absent["state"]["exists"] is False
    assert absent["state"]["reason"]

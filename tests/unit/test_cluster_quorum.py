"""cluster_quorum: disk witness, file share witness, or node majority."""

from __future__ import annotations

from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.cluster_quorum import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_quorum_planner as planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import SWITCH
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from fake_cluster import FakeCluster

WITNESS_DISK = {
    "Name": "Witness",
    "ResourceType": "Physical Disk",
    "OwnerGroup": "Cluster Group",
    "State": "Online",
}
DATA_DISK = {
    "Name": "PBX-Data",
    "ResourceType": "Physical Disk",
    "OwnerGroup": "Available Storage",
    "State": "Online",
}
SHARE = {
    "Name": "File Share Witness",
    "ResourceType": {"Name": "File Share Witness"},
    "OwnerGroup": "Cluster Group",
}


def args(**overrides: Any) -> dict[str, Any]:
    return {"witness": "disk", "disk": "Witness", "file_share": None, "cluster": None, **overrides}


def observed(
    witness: str | None, *resources: dict[str, Any], parameters: list[Any] | None = None
) -> Observed:
    quorum = {"QuorumResource": {"Name": witness} if witness else None, "QuorumType": "Majority"}
    return Observed(
        outputs={"quorum": [quorum], "resources": list(resources), "parameters": parameters or []}
    )


def only_step(plan: Any) -> tuple[str, dict[str, Any]]:
    (pipeline,) = plan.changes
    (step,) = pipeline.steps
    return step.cmdlet, dict(step.parameters)


def test_a_disk_witness_is_set_by_its_resource_name() -> None:
    plan = planner.plan(args(disk="witness"), observed(None, WITNESS_DISK, DATA_DISK))
    assert only_step(plan) == ("Set-ClusterQuorum", {"DiskWitness": "Witness"})
    assert plan.before == {"witness": "none", "quorum_type": "Majority"}
    assert plan.after == {"witness": "disk", "disk": "Witness", "quorum_type": "Majority"}


def test_the_same_disk_witness_is_left_alone() -> None:
    assert planner.plan(args(), observed("Witness", WITNESS_DISK)).changes == ()


def test_another_disk_replaces_the_witness() -> None:
    plan = planner.plan(args(disk="PBX-Data"), observed("Witness", WITNESS_DISK, DATA_DISK))
    assert only_step(plan) == ("Set-ClusterQuorum", {"DiskWitness": "PBX-Data"})
    assert plan.before["disk"] == "Witness"


def test_an_unknown_disk_is_refused_with_the_disks_there_are() -> None:
    with pytest.raises(
        PlanError, match="disk: the cluster has no disk called 'Quorum'; its disks are 'Witness', 'PBX-Data'"
    ):
        planner.plan(args(disk="Quorum"), observed(None, WITNESS_DISK, DATA_DISK))


def test_a_resource_that_is_not_a_disk_is_not_a_disk_witness() -> None:
    with pytest.raises(PlanError, match="no disk called 'File Share Witness'"):
        planner.plan(args(disk="File Share Witness"), observed(None, SHARE))


def test_a_file_share_witness_is_set_and_compared_without_case_or_trailing_slash() -> None:
    share = args(witness="file_share", disk=None, file_share="\\\\fs1\\witness")
    plan = planner.plan(share, observed(None))
    assert only_step(plan) == ("Set-ClusterQuorum", {"FileShareWitness": "\\\\fs1\\witness"})
    same = observed(
        "File Share Witness",
        SHARE,
        parameters=[
            {"ClusterObject": "File Share Witness", "Name": "SharePath", "Value": "\\\\FS1\\Witness\\"}
        ],
    )
    assert planner.plan(share, same).changes == ()
    assert planner.quorum_state(same)["witness"] == "file_share"


def test_another_share_replaces_the_witness() -> None:
    current = observed(
        "File Share Witness",
        SHARE,
        parameters=[{"ClusterObject": "File Share Witness", "Name": "SharePath", "Value": "\\\\fs1\\old"}],
    )
    plan = planner.plan(args(witness="file_share", disk=None, file_share="\\\\fs2\\new"), current)
    assert plan.before["file_share"] == "\\\\fs1\\old"
    assert plan.after["file_share"] == "\\\\fs2\\new"


def test_node_majority_removes_the_witness() -> None:
    plan = planner.plan(args(witness="none", disk=None), observed("Witness", WITNESS_DISK))
    assert only_step(plan) == ("Set-ClusterQuorum", {"NoWitness": SWITCH})
    assert planner.plan(args(witness="none", disk=None), observed(None)).changes == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"disk": None}, "disk: witness is disk, so disk"),
        ({"witness": "file_share", "disk": None}, "file_share: witness is file_share, so file_share"),
        (
            {"witness": "file_share", "disk": None, "file_share": "C:\\witness"},
            "file_share: 'C:\\\\\\\\witness' is not a UNC path",
        ),
        ({"witness": "none"}, "disk: only applies when witness is disk, not none"),
    ],
)
def test_bad_options_are_refused_before_any_read(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        planner.reads(args(**overrides))


# --- the action ----------------------------------------------------------------------------


def cluster_with_disks() -> FakeCluster:
    cluster = FakeCluster()
    cluster.add_disk("W1", "{00000000-0000-4000-8000-00000000000a}", clustered_as="Witness")
    return cluster


def run(cluster: FakeCluster, task: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return make_action(ActionModule, task, cluster.host(), **kw).run(task_vars={})


def test_disk_witness_then_rerun_ok_in_one_round_trip() -> None:
    cluster = cluster_with_disks()
    first = run(cluster, {"witness": "disk", "disk": "Witness"})
    assert first["changed"] is True
    assert first["round_trips"] == 2
    assert first["state"]["resource"] == "Witness"
    assert cluster.witness == "Witness"
    second = run(cluster, {"witness": "disk", "disk": "Witness"})
    assert second["changed"] is False
    assert second["round_trips"] == 1


def test_check_mode_sets_no_witness() -> None:
    cluster = cluster_with_disks()
    assert run(cluster, {"witness": "disk", "disk": "Witness"}, check_mode=True)["changed"] is True
    assert cluster.witness is None


def test_switching_to_a_share_and_back_to_node_majority() -> None:
    cluster = cluster_with_disks()
    share = run(cluster, {"witness": "file_share", "file_share": "\\\\fs1\\witness"})
    assert share["changed"] is True
    assert run(cluster, {"witness": "file_share", "file_share": "\\\\fs1\\witness"})["changed"] is False
    none = run(cluster, {"witness": "none"}, diff=True)
    assert none["diff"]["before"]["witness"] == "file_share"
    assert cluster.witness is None


def test_disk_and_file_share_exclude_each_other() -> None:
    with pytest.raises(Exception, match="mutually exclusive: disk\\|file_share"):
        run(cluster_with_disks(), {"witness": "disk", "disk": "Witness", "file_share": "\\\\a\\b"})

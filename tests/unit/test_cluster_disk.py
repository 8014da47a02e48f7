"""cluster_disk: a disk found by unique id becomes a named cluster disk, never by number."""

from __future__ import annotations

from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.cluster_disk import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_disk_planner as planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import SetProperties
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from fake_cluster import FakeCluster, disk
from fake_windows import CmdletFailure

UID = "60003FF44DC75ADC8F6CF2C1A2F7E2B1"
GUID = "{5e6f7a8b-0000-4000-8000-000000000001}"


def args(**overrides: Any) -> dict[str, Any]:
    return {"unique_id": UID, "name": "PBX-Data", **overrides}


def resource(name: str, kind: str = "Physical Disk", group: str = "Available Storage") -> dict[str, Any]:
    return {"Name": name, "State": "Online", "OwnerGroup": group, "OwnerNode": "PBX-N1", "ResourceType": kind}


def observed(
    found: list[dict[str, Any]], resources: list[dict[str, Any]], parameters: list[dict[str, Any]]
) -> Observed:
    return Observed(outputs={"disk": found, "resources": resources, "parameters": parameters})


def test_the_reads_find_the_disk_by_unique_id_without_failing_when_it_is_absent() -> None:
    first = planner.reads(args())[0]
    assert [s.cmdlet for s in first.steps] == ["Get-Disk", "Where-Object"]
    assert first.steps[1].parameters["Value"] == UID
    assert "Number" not in first.steps[0].parameters


def test_an_unclustered_disk_is_added_and_named_in_one_pipeline() -> None:
    plan = planner.plan(args(), observed([disk(3, UID, GUID)], [], []))
    (pipeline,) = plan.changes
    assert [getattr(s, "cmdlet", "SetProperties") for s in pipeline.steps] == [
        "Get-Disk",
        "Where-Object",
        "Add-ClusterDisk",
        "SetProperties",
    ]
    assert isinstance(pipeline.steps[-1], SetProperties)
    assert dict(pipeline.steps[-1].values) == {"Name": "PBX-Data"}
    assert plan.before["clustered"] is False
    assert plan.after == {
        **plan.before,
        "clustered": True,
        "name": "PBX-Data",
        "owner_group": "Available Storage",
    }


def test_a_clustered_disk_with_its_name_is_left_alone() -> None:
    plan = planner.plan(
        args(),
        observed(
            [{**disk(3, UID, GUID), "IsClustered": True}],
            [resource("PBX-Data")],
            [{"ClusterObject": "PBX-Data", "Name": "DiskIdGuid", "Value": GUID.upper()}],
        ),
    )
    assert plan.changes == ()
    assert plan.before["name"] == "PBX-Data"


def test_a_disk_clustered_under_another_name_is_renamed() -> None:
    plan = planner.plan(
        args(),
        observed(
            [{**disk(3, UID, GUID), "IsClustered": True}],
            [resource("Cluster Disk 2")],
            [{"ClusterObject": {"Name": "Cluster Disk 2"}, "Name": "DiskIdGuid", "Value": GUID.strip("{}")}],
        ),
    )
    (pipeline,) = plan.changes
    assert pipeline.steps[0].parameters == {"Name": ("Cluster Disk 2",)}
    assert dict(pipeline.steps[1].values) == {"Name": "PBX-Data"}
    assert (plan.before["name"], plan.after["name"]) == ("Cluster Disk 2", "PBX-Data")


def test_an_mbr_disk_is_matched_by_its_signature() -> None:
    mbr = {
        **disk(3, UID, ""),
        "Guid": None,
        "Signature": 305419896,
        "PartitionStyle": "MBR",
        "IsClustered": True,
    }
    plan = planner.plan(
        args(),
        observed(
            [mbr],
            [resource("PBX-Data")],
            [{"ClusterObject": "PBX-Data", "Name": "DiskSignature", "Value": "0x12345678"}],
        ),
    )
    assert plan.changes == ()


def test_the_disk_number_plays_no_part() -> None:
    other = disk(3, "OTHER", "{5e6f7a8b-0000-4000-8000-000000000009}")
    plan = planner.plan(
        args(),
        observed(
            [{**disk(7, UID, GUID), "IsClustered": True}],
            [resource("Cluster Disk 3"), resource("PBX-Data")],
            [
                {"ClusterObject": "Cluster Disk 3", "Name": "DiskIdGuid", "Value": other["Guid"]},
                {"ClusterObject": "PBX-Data", "Name": "DiskIdGuid", "Value": GUID},
            ],
        ),
    )
    assert plan.changes == ()


def test_a_disk_this_node_does_not_see_is_refused_with_what_to_check() -> None:
    with pytest.raises(PlanError, match=rf"unique_id: no disk with UniqueId '{UID}' is visible on this node"):
        planner.plan(args(), observed([], [], []))


def test_a_disk_clustered_elsewhere_is_refused() -> None:
    with pytest.raises(PlanError, match="is clustered \\(IsClustered\\) but no Physical Disk resource"):
        planner.plan(args(), observed([{**disk(3, UID, GUID), "IsClustered": True}], [], []))


def test_a_name_taken_by_another_resource_is_refused_before_adding() -> None:
    with pytest.raises(
        PlanError, match="name: the cluster already has a resource called 'pbx-data' \\(IP Address"
    ):
        planner.plan(
            args(name="pbx-data"),
            observed([disk(3, UID, GUID)], [resource("PBX-Data", "IP Address", "PBX")], []),
        )


def test_without_a_name_the_disk_keeps_the_one_windows_gives_it() -> None:
    plan = planner.plan(
        args(name=None), observed([disk(3, UID, GUID)], [resource("PBX-Data", "IP Address")], [])
    )
    (pipeline,) = plan.changes
    assert [getattr(s, "cmdlet", "SetProperties") for s in pipeline.steps] == [
        "Get-Disk",
        "Where-Object",
        "Add-ClusterDisk",
    ]
    clustered = observed(
        [{**disk(3, UID, GUID), "IsClustered": True}],
        [resource("Cluster Disk 1")],
        [{"Object": "Cluster Disk 1", "Name": "DiskIdGuid", "Value": GUID}],
    )
    unnamed = planner.plan(args(name=None), clustered)
    assert unnamed.changes == ()
    assert unnamed.before["name"] == "Cluster Disk 1"


@pytest.mark.parametrize(("option", "value"), [("unique_id", " "), ("name", "")])
def test_empty_options_are_refused(option: str, value: str) -> None:
    with pytest.raises(PlanError, match=f"^{option}: "):
        planner.reads(args(**{option: value}))


# --- the action ----------------------------------------------------------------------------


def run(cluster: FakeCluster, task: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return make_action(ActionModule, task, cluster.host(), **kw).run(task_vars={})


def test_add_then_rerun_ok_in_one_round_trip() -> None:
    cluster = FakeCluster()
    cluster.add_disk(UID, GUID)
    first = run(cluster, args(), diff=True)
    assert first["changed"] is True
    assert first["round_trips"] == 2
    assert first["state"]["name"] == "PBX-Data"
    assert first["state"]["state"] == "OnlinePending"
    assert first["diff"]["before"]["clustered"] is False
    assert cluster.resource("PBX-Data")["OwnerGroup"] == "Available Storage"
    second = run(cluster, args())
    assert second["changed"] is False
    assert second["round_trips"] == 1


def test_check_mode_adds_nothing() -> None:
    cluster = FakeCluster()
    cluster.add_disk(UID, GUID)
    result = run(cluster, args(), check_mode=True)
    assert result["changed"] is True
    assert not cluster.disks[0]["IsClustered"]


def test_a_disk_added_but_not_renamed_is_renamed_on_the_next_run() -> None:
    cluster = FakeCluster()
    found = cluster.add_disk(UID, GUID)
    cluster._cluster_disk(found)  # Add-ClusterDisk ran; the rename did not
    result = run(cluster, args())
    assert result["changed"] is True
    assert result["state"]["name"] == "PBX-Data"
    assert [r["Name"] for r in cluster.resources if r["ResourceType"] == "Physical Disk"] == ["PBX-Data"]


def test_windows_refusing_the_disk_is_reported_plainly() -> None:
    cluster = FakeCluster(
        fail_on={"Add-ClusterDisk": [CmdletFailure("The disk is not eligible", "NotEligible")]}
    )
    cluster.add_disk(UID, GUID)
    result = run(cluster, args())
    assert result["failed"] is True
    assert "The disk is not eligible" in result["msg"]
    assert result["changed"] is True  # the steps before Add-ClusterDisk ran in a changing pipeline

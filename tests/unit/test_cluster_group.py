"""cluster_group: online, offline, or moved to a node, waiting with the cmdlets' own -Wait."""

from __future__ import annotations

from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.cluster_group import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_group_planner as planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from fake_cluster import FakeCluster, node


def args(**overrides: Any) -> dict[str, Any]:
    return {"name": "PBX", "state": None, "node": None, "wait": 120, "cluster": None, **overrides}


def group(state: str = "Online", owner: str = "PBX-N1") -> dict[str, Any]:
    return {"Name": "PBX", "OwnerNode": owner, "State": state, "GroupType": "GenericService"}


def observed(found: dict[str, Any], *nodes: dict[str, Any]) -> Observed:
    resources = [
        {
            "Name": "PBX",
            "State": found["State"],
            "OwnerNode": found["OwnerNode"],
            "ResourceType": "Network Name",
        },
        {
            "Name": "PBX Service",
            "State": found["State"],
            "OwnerNode": found["OwnerNode"],
            "ResourceType": {"Name": "Generic Service"},
        },
    ]
    return Observed(
        outputs={
            "groups": [found, {"Name": "Cluster Group", "OwnerNode": "PBX-N1", "State": "Online"}],
            "resources": resources,
            "nodes": list(nodes) or [node("PBX-N1"), node("PBX-N2")],
        }
    )


def commands(plan: Any) -> list[tuple[str, dict[str, Any]]]:
    return [
        (p.steps[0].cmdlet, dict(p.steps[0].parameters)) for p in plan.changes if p.name != "resources after"
    ]


def test_an_offline_group_is_started_with_the_wait() -> None:
    plan = planner.plan(args(state="online", wait=60), observed(group("Offline")))
    assert commands(plan) == [("Start-ClusterGroup", {"Name": "PBX", "Wait": 60})]
    assert plan.changes[-1].name == "resources after"
    assert plan.after["state"] == "Online"
    assert {r["state"] for r in plan.after["resources"].values()} == {"Online"}


@pytest.mark.parametrize("state", ["Failed", "PartialOnline", "Pending"])
def test_a_group_that_is_not_fully_online_is_started(state: str) -> None:
    assert commands(planner.plan(args(state="online"), observed(group(state))))[0][0] == "Start-ClusterGroup"


def test_an_online_group_is_left_alone() -> None:
    plan = planner.plan(args(state="online"), observed(group()))
    assert plan.changes == ()
    assert plan.before["resources"]["PBX Service"]["resource_type"] == "Generic Service"


def test_offline_stops_the_group() -> None:
    plan = planner.plan(args(state="offline"), observed(group()))
    assert commands(plan) == [("Stop-ClusterGroup", {"Name": "PBX", "Wait": 120})]


def test_moving_to_another_node_uses_move_cluster_group() -> None:
    plan = planner.plan(args(node="pbx-n2"), observed(group()))
    assert commands(plan) == [("Move-ClusterGroup", {"Name": "PBX", "Node": "PBX-N2", "Wait": 120})]
    assert plan.after["owner_node"] == "PBX-N2"
    assert {r["owner_node"] for r in plan.after["resources"].values()} == {"PBX-N2"}


def test_a_group_already_on_the_node_is_not_moved() -> None:
    assert planner.plan(args(node="PBX-N1"), observed(group())).changes == ()


def test_moving_and_starting_moves_first() -> None:
    plan = planner.plan(args(state="online", node="PBX-N2"), observed(group("Offline")))
    assert [c for c, _ in commands(plan)] == ["Move-ClusterGroup", "Start-ClusterGroup"]


def test_stopping_and_moving_stops_first() -> None:
    plan = planner.plan(args(state="offline", node="PBX-N2"), observed(group()))
    assert [c for c, _ in commands(plan)] == ["Stop-ClusterGroup", "Move-ClusterGroup"]


def test_a_paused_target_node_is_refused_with_what_to_do() -> None:
    with pytest.raises(
        PlanError, match="node: PBX-N2 is Paused and cannot take group PBX; resume or start it first"
    ):
        planner.plan(args(node="PBX-N2"), observed(group(), node("PBX-N1"), node("PBX-N2", "Paused")))


def test_an_unknown_node_is_refused_with_the_nodes_there_are() -> None:
    with pytest.raises(
        PlanError, match="node: 'PBX-N3' is not a node of the cluster; its nodes are 'PBX-N1', 'PBX-N2'"
    ):
        planner.plan(args(node="PBX-N3"), observed(group()))


def test_an_unknown_group_is_refused_with_the_groups_there_are() -> None:
    with pytest.raises(
        PlanError, match="name: the cluster has no group called 'PBY'; its groups are 'PBX', 'Cluster Group'"
    ):
        planner.plan(args(name="PBY", state="online"), observed(group()))


def test_state_or_node_is_required_and_wait_is_not_negative() -> None:
    with pytest.raises(PlanError, match="state: give state"):
        planner.reads(args())
    with pytest.raises(PlanError, match="wait: -5 is out of range"):
        planner.reads(args(state="online", wait=-5))


def test_shortfall_names_what_was_not_reached() -> None:
    assert planner.shortfall(args(state="online"), {"state": "Online", "owner_node": "PBX-N1"}) is None
    message = planner.shortfall(
        args(state="online", node="PBX-N2", wait=5), {"state": "Pending", "owner_node": "PBX-N1"}
    )
    assert message is not None
    assert message.startswith(
        "group PBX is Pending, not Online and is on PBX-N1, not PBX-N2 after waiting 5 s"
    )


# --- the action ----------------------------------------------------------------------------


def role_cluster() -> FakeCluster:
    cluster = FakeCluster()
    cluster.add_role({"Name": "PBX", "ServiceName": "pbxd", "StaticAddress": ("127.0.1.30",)}, [])
    return cluster


def run(cluster: FakeCluster, task: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return make_action(ActionModule, task, cluster.host(), **kw).run(task_vars={})


def test_move_then_rerun_ok_in_one_round_trip_with_every_resource_reported() -> None:
    cluster = role_cluster()
    first = run(cluster, {"name": "PBX", "node": "PBX-N2", "state": "online"})
    assert first["changed"] is True
    assert first["round_trips"] == 2
    assert first["state"]["owner_node"] == "PBX-N2"
    assert set(first["state"]["resources"]) == {"PBX", "IP Address 127.0.1.30", "PBX Service"}
    assert {r["owner_node"] for r in first["state"]["resources"].values()} == {"PBX-N2"}
    second = run(cluster, {"name": "PBX", "node": "PBX-N2", "state": "online"})
    assert second["changed"] is False
    assert second["round_trips"] == 1


def test_check_mode_moves_nothing() -> None:
    cluster = role_cluster()
    result = run(cluster, {"name": "PBX", "node": "PBX-N2"}, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["diff"]["after"]["owner_node"] == "PBX-N2"
    assert cluster.group("PBX")["OwnerNode"] == "PBX-N1"


def test_a_group_still_pending_after_the_wait_fails_and_the_rerun_starts_it_again() -> None:
    cluster = role_cluster()
    cluster.group("PBX")["State"] = "Offline"
    cluster.stuck.add("PBX")
    first = run(cluster, {"name": "PBX", "state": "online", "wait": 5})
    assert first["failed"] is True
    assert "group PBX is Pending, not Online after waiting 5 s" in first["msg"]
    assert first["state"]["resources"]["PBX Service"]["state"] == "OnlinePending"

    cluster.stuck.clear()
    second = run(cluster, {"name": "PBX", "state": "online", "wait": 5})
    assert "failed" not in second
    assert second["state"]["state"] == "Online"

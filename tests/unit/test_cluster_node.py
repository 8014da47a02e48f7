"""cluster_node: pause with drain, resume with failback, evict; the planner and the action."""

from __future__ import annotations

from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.cluster_node import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_node_planner as planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from fake_cluster import FakeCluster, node

DEFAULTS = {
    "cluster": None,
    "drain": True,
    "force_drain": False,
    "target_node": None,
    "drain_timeout": 600,
    "failback": None,
    "cleanup_disks": False,
}


def args(**overrides: Any) -> dict[str, Any]:
    return {**DEFAULTS, "name": "PBX-N1", "state": "paused", **overrides}


def observed(*nodes: dict[str, Any]) -> Observed:
    return Observed(outputs={"nodes": list(nodes)})


def steps(plan: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(s.cmdlet, dict(s.parameters)) for p in plan.changes for s in p.steps]


# --- the planner ---------------------------------------------------------------------------


def test_an_up_node_is_paused_with_a_drain() -> None:
    plan = planner.plan(args(), observed(node("PBX-N1"), node("PBX-N2")))
    assert steps(plan) == [("Suspend-ClusterNode", {"Name": ("PBX-N1",), "Drain": planner.SWITCH})]
    assert plan.before["state"] == "Up"
    assert plan.after["state"] == "Paused"
    assert plan.after["drain_status"] == "InProgress"


def test_force_drain_and_target_node_are_passed_on() -> None:
    plan = planner.plan(args(force_drain=True, target_node="PBX-N2"), observed(node("PBX-N1")))
    assert steps(plan)[0][1] == {
        "Name": ("PBX-N1",),
        "Drain": planner.SWITCH,
        "ForceDrain": planner.SWITCH,
        "TargetNode": "PBX-N2",
    }


def test_pausing_without_drain_sends_no_drain_switches() -> None:
    plan = planner.plan(args(drain=False, force_drain=True), observed(node("PBX-N1")))
    assert steps(plan) == [("Suspend-ClusterNode", {"Name": ("PBX-N1",)})]
    assert "drain_status" not in plan.after or plan.after["drain_status"] != "InProgress"


def test_a_paused_and_drained_node_is_left_alone() -> None:
    paused = {**node("PBX-N1", "Paused"), "DrainStatus": "Completed"}
    plan = planner.plan(args(), observed(paused))
    assert plan.changes == ()
    assert plan.before == plan.after


def test_a_drain_in_progress_is_waited_for_not_started_again() -> None:
    draining = {**node("PBX-N1", "Paused"), "DrainStatus": "InProgress"}
    plan = planner.plan(args(), observed(draining))
    assert plan.changes == ()
    assert planner.wants_drain_wait(args(), plan)


def test_a_failed_drain_is_started_again() -> None:
    failed = {**node("PBX-N1", "Paused"), "DrainStatus": "Failed"}
    plan = planner.plan(args(), observed(failed))
    assert steps(plan)[0][0] == "Suspend-ClusterNode"


def test_a_paused_node_without_drain_wanted_is_ok_whatever_its_drain_status() -> None:
    failed = {**node("PBX-N1", "Paused"), "DrainStatus": "Failed"}
    assert planner.plan(args(drain=False), observed(failed)).changes == ()


def test_names_match_without_regard_to_case() -> None:
    plan = planner.plan(args(name="pbx-n1"), observed(node("PBX-N1")))
    assert steps(plan)[0][1]["Name"] == ("PBX-N1",)


def test_a_paused_node_is_resumed_with_the_failback_asked_for() -> None:
    plan = planner.plan(args(state="resumed", failback="immediate"), observed(node("PBX-N1", "Paused")))
    assert steps(plan) == [("Resume-ClusterNode", {"Name": ("PBX-N1",), "Failback": "Immediate"})]
    assert plan.after["state"] == "Up"


def test_resume_without_failback_leaves_the_policy_to_windows() -> None:
    plan = planner.plan(args(state="resumed"), observed(node("PBX-N1", "Paused")))
    assert steps(plan) == [("Resume-ClusterNode", {"Name": ("PBX-N1",)})]


def test_an_up_node_needs_no_resume() -> None:
    assert planner.plan(args(state="resumed"), observed(node("PBX-N1"))).changes == ()


@pytest.mark.parametrize("state", ["Down", "Joining", "Unknown"])
def test_a_node_that_is_not_up_or_paused_is_refused_with_what_to_do(state: str) -> None:
    with pytest.raises(PlanError, match=rf"node PBX-N1 is {state}.*Start-ClusterNode"):
        planner.plan(args(), observed(node("PBX-N1", state)))


def test_a_node_that_is_not_a_member_is_refused_naming_the_members() -> None:
    with pytest.raises(
        PlanError, match=r"name: 'PBX-N9' is not a node of the cluster; its nodes are 'PBX-N1', 'PBX-N2'"
    ):
        planner.plan(args(name="PBX-N9"), observed(node("PBX-N1"), node("PBX-N2")))


def test_evicting_uses_force_and_cleanup_disks_when_asked() -> None:
    plan = planner.plan(args(state="absent", cleanup_disks=True), observed(node("PBX-N1")))
    assert steps(plan) == [
        ("Remove-ClusterNode", {"Name": ("PBX-N1",), "Force": planner.SWITCH, "CleanupDisks": planner.SWITCH})
    ]
    assert plan.after == {"member": False}


def test_evicting_a_node_that_is_gone_changes_nothing() -> None:
    plan = planner.plan(args(name="PBX-N9", state="absent"), observed(node("PBX-N1")))
    assert plan.changes == ()
    assert plan.after == {"member": False}


def test_a_named_cluster_is_addressed_in_every_call() -> None:
    assert planner.reads(args(cluster="PBXCL"))[0].steps[0].parameters == {"Cluster": "PBXCL"}
    plan = planner.plan(args(cluster="PBXCL", state="absent"), observed(node("PBX-N1")))
    assert steps(plan)[0][1]["Cluster"] == "PBXCL"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "NODE_WITH_UNDERSCORE"}, "name: 'NODE_WITH_UNDERSCORE' is not a valid NetBIOS name"),
        ({"name": "A-NAME-LONGER-THAN-15"}, "name: 'A-NAME-LONGER-THAN-15' is not a valid NetBIOS name"),
        ({"target_node": "bad name"}, "target_node: 'bad name' is not a valid NetBIOS name"),
        ({"drain_timeout": -1}, "drain_timeout: -1 is out of range"),
    ],
)
def test_bad_options_are_refused_before_any_read(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        planner.reads(args(**overrides))


def test_drain_outcome() -> None:
    assert planner.drain_outcome({"DrainStatus": "InProgress"}) is None
    assert planner.drain_outcome({"DrainStatus": "Completed"}) == "Completed"
    assert planner.drain_outcome({"DrainStatus": "Failed"}) == "Failed"
    assert planner.drain_outcome(None) == "Failed"


# --- the action against a fake cluster -----------------------------------------------------


class Quick(ActionModule):
    poll_interval = 0.0


def run(cluster: FakeCluster, task: dict[str, Any], **kw: Any) -> dict[str, Any]:
    host = cluster.host()
    result = make_action(Quick, task, host, **kw).run(task_vars={})
    result["_calls"] = host.calls
    return result


def test_pause_drains_waits_and_reports_the_drain_status() -> None:
    cluster = FakeCluster(drain_polls=2)
    result = run(cluster, {"name": "PBX-N1", "state": "paused"})
    assert result["changed"] is True
    assert result["state"]["state"] == "Paused"
    assert result["state"]["drain_status"] == "Completed"
    # read, apply, then one poll per Get-ClusterNode until the drain completed (3 polls)
    assert result["round_trips"] == 5
    assert cluster.cluster_node("PBX-N1")["State"] == "Paused"


def test_a_rerun_after_the_pause_is_ok_in_one_round_trip() -> None:
    cluster = FakeCluster()
    run(cluster, {"name": "PBX-N1", "state": "paused"})
    again = run(cluster, {"name": "PBX-N1", "state": "paused"})
    assert again["changed"] is False
    assert again["round_trips"] == 1


def test_a_drain_that_outlasts_the_timeout_fails_and_the_rerun_keeps_waiting() -> None:
    cluster = FakeCluster(drain_polls=100)
    first = run(cluster, {"name": "PBX-N1", "state": "paused", "drain_timeout": 0})
    assert first["failed"] is True
    assert "still in progress after 0 s" in first["msg"]
    assert "Run the task again to keep waiting" in first["msg"]
    assert first["state"]["drain_status"] == "InProgress"

    cluster.drain_polls = 0
    second = run(cluster, {"name": "PBX-N1", "state": "paused", "drain_timeout": 60})
    assert "failed" not in second
    assert second["changed"] is False
    assert second["state"]["drain_status"] == "Completed"
    sent = [s["cmdlet"] for call in second["_calls"] for p in call["pipelines"] for s in p["steps"]]
    assert "Suspend-ClusterNode" not in sent


def test_a_failed_drain_fails_the_task_with_what_to_do() -> None:
    cluster = FakeCluster(drain_result="Failed")
    result = run(cluster, {"name": "PBX-N1", "state": "paused"})
    assert result["failed"] is True
    assert "the drain of PBX-N1 failed" in result["msg"]
    assert "force_drain" in result["msg"]


def test_check_mode_reports_the_pause_and_changes_nothing() -> None:
    cluster = FakeCluster()
    result = run(cluster, {"name": "PBX-N1", "state": "paused"}, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["round_trips"] == 1
    assert result["diff"]["before"]["state"] == "Up"
    assert result["diff"]["after"]["state"] == "Paused"
    assert cluster.cluster_node("PBX-N1")["State"] == "Up"


def test_resume_reports_what_windows_returned() -> None:
    cluster = FakeCluster(nodes=[node("PBX-N1", "Paused"), node("PBX-N2")])
    result = run(cluster, {"name": "PBX-N1", "state": "resumed", "failback": "policy"})
    assert result["changed"] is True
    assert result["state"]["state"] == "Up"
    assert result["round_trips"] == 2


def test_evicting_needs_the_second_hop_and_says_how() -> None:
    cluster = FakeCluster()
    refused = run(cluster, {"name": "PBX-N2", "state": "absent"})
    assert refused["failed"] is True
    assert "become" in refused["msg"]
    assert refused["round_trips"] == 0
    assert len(cluster.nodes) == 2

    done = run(cluster, {"name": "PBX-N2", "state": "absent"}, become=True)
    assert done["changed"] is True
    assert done["state"] == {"member": False}
    assert [n["Name"] for n in cluster.nodes] == ["PBX-N1"]


def test_pausing_needs_no_second_hop() -> None:
    result = run(FakeCluster(), {"name": "PBX-N1", "state": "paused", "drain": False})
    assert result["changed"] is True


def test_an_unknown_node_fails_after_the_read_and_changes_nothing() -> None:
    cluster = FakeCluster()
    result = run(cluster, {"name": "PBX-N7", "state": "paused"})
    assert result["failed"] is True
    assert "'PBX-N7' is not a node of the cluster" in result["msg"]
    assert result["round_trips"] == 1

"""cluster: create on the first node, join the others, evict and rejoin Down nodes, common properties."""

from __future__ import annotations

from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.cluster import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_planner as planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import SWITCH, SetProperties
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from fake_cluster import COMMON_DEFAULTS, FakeCluster, node
from fake_windows import CmdletFailure

DEFAULTS: dict[str, Any] = {
    "state": "present",
    "static_address": None,
    "ignore_network": None,
    "administrative_access_point": None,
    "rejoin_down_nodes": True,
    "cleanup_ad": False,
    **dict.fromkeys(planner.COMMON_PROPERTIES),
}


def args(**overrides: Any) -> dict[str, Any]:
    return {**DEFAULTS, "name": "PBXCL", "nodes": ["PBX-N1", "PBX-N2"], **overrides}


def cluster_object(**properties: Any) -> dict[str, Any]:
    return {"Name": "PBXCL", "Domain": "pbx.lab", "Id": "x", **COMMON_DEFAULTS, **properties}


def existing(*nodes: dict[str, Any], **properties: Any) -> Observed:
    return Observed(outputs={"cluster": [cluster_object(**properties)], "nodes": list(nodes)})


NO_CLUSTER = Observed(outputs={})


def steps(plan: Any) -> list[tuple[str, Any]]:
    return [
        (s.cmdlet, dict(s.parameters))
        if not isinstance(s, SetProperties)
        else ("SetProperties", dict(s.values))
        for p in plan.changes
        for s in p.steps
    ]


# --- the planner ---------------------------------------------------------------------------


def test_a_missing_cluster_is_created_on_the_first_node_and_the_others_join() -> None:
    plan = planner.plan(
        args(
            nodes=["PBX-N1", "PBX-N2", "PBX-N3"],
            static_address=["127.0.1.20"],
            ignore_network=["127.0.3.0/24"],
        ),
        NO_CLUSTER,
    )
    assert steps(plan) == [
        (
            "New-Cluster",
            {
                "Name": "PBXCL",
                "Node": ("PBX-N1",),
                "NoStorage": SWITCH,
                "StaticAddress": ("127.0.1.20",),
                "IgnoreNetwork": ("127.0.3.0/24",),
            },
        ),
        ("Add-ClusterNode", {"Name": ("PBX-N2", "PBX-N3"), "Cluster": "PBXCL", "NoStorage": SWITCH}),
    ]
    assert plan.before == {"exists": False}
    assert plan.after["nodes"] == {"PBX-N1": "Up", "PBX-N2": "Up", "PBX-N3": "Up"}


def test_a_one_node_cluster_needs_no_join() -> None:
    plan = planner.plan(args(nodes=["PBX-N1"]), NO_CLUSTER)
    assert [c for c, _ in steps(plan)] == ["New-Cluster"]


def test_the_administrative_access_point_is_given_by_its_windows_name() -> None:
    plan = planner.plan(args(administrative_access_point="dns"), NO_CLUSTER)
    assert steps(plan)[0][1]["AdministrativeAccessPoint"] == "Dns"


def test_properties_of_a_new_cluster_are_assigned_after_it_is_created() -> None:
    plan = planner.plan(args(same_subnet_threshold=20), NO_CLUSTER)
    assert steps(plan)[-2:] == [
        ("Get-Cluster", {"Name": "PBXCL"}),
        ("SetProperties", {"SameSubnetThreshold": 20}),
    ]
    assert plan.after["same_subnet_threshold"] == 20


def test_a_complete_cluster_is_left_alone() -> None:
    plan = planner.plan(args(same_subnet_delay=1000), existing(node("PBX-N1"), node("PBX-N2")))
    assert plan.changes == ()
    assert plan.before == plan.after
    assert plan.before["nodes"] == {"PBX-N1": "Up", "PBX-N2": "Up"}


def test_a_paused_node_counts_as_a_member() -> None:
    assert planner.plan(args(), existing(node("PBX-N1"), node("PBX-N2", "Paused"))).changes == ()


def test_only_the_missing_node_joins() -> None:
    plan = planner.plan(args(nodes=["PBX-N1", "pbx-n2", "PBX-N3"]), existing(node("PBX-N1"), node("PBX-N2")))
    assert steps(plan) == [
        ("Add-ClusterNode", {"Name": ("PBX-N3",), "Cluster": "PBXCL", "NoStorage": SWITCH})
    ]
    assert plan.after["nodes"] == {"PBX-N1": "Up", "PBX-N2": "Up", "PBX-N3": "Up"}


def test_a_down_node_is_evicted_and_joined_again() -> None:
    plan = planner.plan(args(), existing(node("PBX-N1"), node("PBX-N2", "Down")))
    assert steps(plan) == [
        ("Remove-ClusterNode", {"Name": ("PBX-N2",), "Cluster": "PBXCL", "Force": SWITCH}),
        ("Add-ClusterNode", {"Name": ("PBX-N2",), "Cluster": "PBXCL", "NoStorage": SWITCH}),
    ]
    assert plan.before["nodes"]["PBX-N2"] == "Down"
    assert plan.after["nodes"]["PBX-N2"] == "Up"


def test_a_down_node_is_kept_when_rejoining_is_off() -> None:
    assert (
        planner.plan(args(rejoin_down_nodes=False), existing(node("PBX-N1"), node("PBX-N2", "Down"))).changes
        == ()
    )


def test_a_member_not_listed_is_left_in_the_cluster() -> None:
    plan = planner.plan(args(nodes=["PBX-N1"]), existing(node("PBX-N1"), node("PBX-N2")))
    assert plan.changes == ()


def test_only_the_differing_properties_are_assigned_and_the_diff_shows_old_and_new() -> None:
    plan = planner.plan(
        args(same_subnet_delay=1000, same_subnet_threshold=20, quarantine_duration=3600),
        existing(node("PBX-N1"), node("PBX-N2")),
    )
    assert steps(plan) == [
        ("Get-Cluster", {"Name": "PBXCL"}),
        ("SetProperties", {"SameSubnetThreshold": 20, "QuarantineDuration": 3600}),
    ]
    assert (plan.before["same_subnet_threshold"], plan.after["same_subnet_threshold"]) == (10, 20)
    assert (plan.before["quarantine_duration"], plan.after["quarantine_duration"]) == (7200, 3600)
    assert plan.before["same_subnet_delay"] == plan.after["same_subnet_delay"] == 1000


def test_absent_removes_the_cluster_and_its_ad_objects_when_asked() -> None:
    plan = planner.plan(args(state="absent", cleanup_ad=True), existing(node("PBX-N1")))
    assert steps(plan) == [("Remove-Cluster", {"Cluster": "PBXCL", "Force": SWITCH, "CleanupAD": SWITCH})]
    assert plan.after == {"exists": False}


def test_absent_without_a_cluster_changes_nothing() -> None:
    plan = planner.plan(args(state="absent"), NO_CLUSTER)
    assert plan.changes == ()
    assert plan.after == {"exists": False}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "PBX_CLUSTER"}, "name: 'PBX_CLUSTER' is not a valid NetBIOS name"),
        ({"name": "1234"}, "name: '1234' is not a valid NetBIOS name"),
        ({"nodes": []}, "nodes: state is present, so list the cluster's nodes"),
        ({"nodes": ["PBX-N1", "pbx-n1"]}, "nodes: 'pbx-n1' is listed twice"),
        ({"nodes": ["PBX-N1", "a.b"]}, "nodes: 'a.b' is not a valid NetBIOS name"),
        ({"static_address": ["127.0.1.300"]}, "static_address: '127.0.1.300' is not an IPv4 address"),
        (
            {"ignore_network": ["127.0.3.5/24"]},
            "ignore_network: '127.0.3.5/24' is not an IPv4 network in CIDR form",
        ),
        ({"same_subnet_delay": 100}, "same_subnet_delay: 100 is out of range; Windows accepts 250 to 2000"),
        (
            {"cross_subnet_threshold": 121},
            "cross_subnet_threshold: 121 is out of range; Windows accepts 3 to 120",
        ),
        ({"quarantine_threshold": -1}, "quarantine_threshold: -1 is out of range; Windows accepts 0 or more"),
    ],
)
def test_bad_options_are_refused_before_any_read(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        planner.reads(args(**overrides))


def test_absent_needs_no_node_list() -> None:
    assert [p.name for p in planner.reads(args(state="absent", nodes=None))] == ["cluster", "nodes"]


def test_the_reported_state_is_what_the_cmdlets_returned() -> None:
    plan = planner.plan(args(same_subnet_threshold=20), NO_CLUSTER)
    applied = Observed(
        outputs={
            "create cluster": [cluster_object()],
            "join nodes": [node("PBX-N2", "Joining")],
            "common properties": [cluster_object(SameSubnetThreshold=20)],
        }
    )
    assert plan.reported is not None
    state = plan.reported(applied)
    assert state["nodes"] == {"PBX-N1": "Up", "PBX-N2": "Joining"}
    assert state["same_subnet_threshold"] == 20
    assert state["domain"] == "pbx.lab"


# --- the action against a fake cluster -----------------------------------------------------


def run(cluster: FakeCluster, task: dict[str, Any], **kw: Any) -> dict[str, Any]:
    kw.setdefault("become", True)
    return make_action(ActionModule, task, cluster.host(), **kw).run(task_vars={})


TASK = {"name": "PBXCL", "nodes": ["PBX-N1", "PBX-N2"], "static_address": ["127.0.1.20"]}


def test_create_then_rerun_ok_in_one_round_trip() -> None:
    cluster = FakeCluster(name=None)
    first = run(cluster, TASK)
    assert first["changed"] is True
    assert first["round_trips"] == 2
    assert first["state"]["exists"] is True
    assert first["state"]["nodes"] == {"PBX-N1": "Up", "PBX-N2": "Up"}
    assert [n["Name"] for n in cluster.nodes] == ["PBX-N1", "PBX-N2"]

    second = run(cluster, TASK)
    assert second["changed"] is False
    assert second["round_trips"] == 1


def test_check_mode_reports_the_creation_and_creates_nothing() -> None:
    cluster = FakeCluster(name=None)
    result = run(cluster, TASK, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["round_trips"] == 1
    assert result["diff"]["before"] == {"exists": False}
    assert result["diff"]["after"]["nodes"] == {"PBX-N1": "Up", "PBX-N2": "Up"}
    assert cluster.name is None


def test_without_become_the_task_is_refused_before_contacting_the_host() -> None:
    cluster = FakeCluster(name=None)
    result = run(cluster, TASK, become=False)
    assert result["failed"] is True
    assert "New-Cluster and Add-ClusterNode" in result["msg"]
    assert "become_method: runas" in result["msg"]
    assert result["round_trips"] == 0


def test_a_join_that_failed_half_way_converges_on_the_next_run() -> None:
    cluster = FakeCluster(
        name=None,
        fail_on={"Add-ClusterNode": [CmdletFailure("The RPC server is unavailable", "AddClusterNode")]},
    )
    first = run(cluster, TASK)
    assert first["failed"] is True
    assert first["changed"] is True
    assert "The RPC server is unavailable" in first["msg"]
    assert [n["Name"] for n in cluster.nodes] == ["PBX-N1"]

    second = run(cluster, TASK)
    assert second["changed"] is True
    assert second["round_trips"] == 2
    assert second["state"]["nodes"] == {"PBX-N1": "Up", "PBX-N2": "Up"}


def test_a_property_change_shows_old_and_new_values_and_is_made() -> None:
    cluster = FakeCluster()
    result = run(cluster, {**TASK, "same_subnet_threshold": 20, "cross_subnet_delay": 2000}, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"]["same_subnet_threshold"] == 10
    assert result["diff"]["after"]["same_subnet_threshold"] == 20
    assert result["state"]["cross_subnet_delay"] == 2000
    assert cluster.common["SameSubnetThreshold"] == 20
    assert cluster.common["CrossSubnetDelay"] == 2000


def test_a_down_node_is_evicted_and_rejoined() -> None:
    cluster = FakeCluster(nodes=[node("PBX-N1"), node("PBX-N2", "Down")])
    result = run(cluster, TASK)
    assert result["changed"] is True
    assert cluster.cluster_node("PBX-N2")["State"] == "Up"


def test_absent_removes_and_then_is_ok() -> None:
    cluster = FakeCluster()
    removed = run(cluster, {"name": "PBXCL", "state": "absent"}, become=False)
    assert removed["changed"] is True
    assert removed["state"] == {"exists": False}
    assert cluster.name is None
    again = run(cluster, {"name": "PBXCL", "state": "absent"}, become=False)
    assert again["changed"] is False
    assert again["round_trips"] == 1


def test_a_read_failing_elsewhere_than_get_cluster_fails_the_task() -> None:
    cluster = FakeCluster(fail_on={"Get-ClusterNode": [CmdletFailure("Access is denied", "AccessDenied")]})
    result = run(cluster, TASK)
    assert result["failed"] is True
    assert "Access is denied" in result["msg"]

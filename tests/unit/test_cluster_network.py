"""cluster_network: a network found by its subnet gets its name and role."""

from __future__ import annotations

from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.cluster_network import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_network_planner as planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import SetProperties
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from fake_cluster import FakeCluster
from fake_windows import CmdletFailure

PUBLIC = {
    "Name": "Cluster Network 1",
    "Address": "127.0.1.0",
    "AddressMask": "255.255.255.0",
    "Role": "ClusterAndClient",
    "State": "Up",
    "Metric": 1,
}
PRIVATE = {
    "Name": "Cluster Network 2",
    "Address": "127.0.2.0",
    "AddressMask": "255.255.255.0",
    "Role": "Cluster",
    "State": "Up",
    "Metric": 2,
}


def args(**overrides: Any) -> dict[str, Any]:
    return {"subnet": "127.0.2.0/24", "name": None, "role": None, "cluster": None, **overrides}


def networks(*found: dict[str, Any]) -> Observed:
    return Observed(outputs={"networks": [dict(n) for n in found]})


def assignment(plan: Any) -> dict[str, Any]:
    (pipeline,) = plan.changes
    setter = pipeline.steps[-1]
    assert isinstance(setter, SetProperties)
    assert pipeline.steps[0].cmdlet == "Get-ClusterNetwork"
    return dict(setter.values)


def test_the_network_is_renamed_by_assignment() -> None:
    plan = planner.plan(args(name="Heartbeat"), networks(PUBLIC, PRIVATE))
    assert assignment(plan) == {"Name": "Heartbeat"}
    assert plan.changes[0].steps[0].parameters == {"Name": ("Cluster Network 2",)}
    assert plan.before["name"] == "Cluster Network 2"
    assert plan.after["name"] == "Heartbeat"


@pytest.mark.parametrize(("role", "number"), [("none", 0), ("cluster", 1), ("cluster_and_client", 3)])
def test_the_role_is_assigned_as_its_number(role: str, number: int) -> None:
    current = {**PRIVATE, "Role": "ClusterAndClient" if role != "cluster_and_client" else "Cluster"}
    plan = planner.plan(args(role=role), networks(PUBLIC, current))
    assert assignment(plan) == {"Role": number}
    assert plan.after["role"] == role


def test_name_and_role_change_in_one_assignment() -> None:
    plan = planner.plan(args(name="Heartbeat", role="none"), networks(PUBLIC, PRIVATE))
    assert assignment(plan) == {"Role": 0, "Name": "Heartbeat"}


def test_nothing_changes_when_name_and_role_are_right() -> None:
    plan = planner.plan(args(name="Cluster Network 2", role="cluster"), networks(PUBLIC, PRIVATE))
    assert plan.changes == ()
    assert plan.before == {
        "name": "Cluster Network 2",
        "subnet": "127.0.2.0/24",
        "role": "cluster",
        "state": "Up",
    }


def test_a_role_given_as_a_number_is_read_as_well() -> None:
    plan = planner.plan(args(role="cluster"), networks(PUBLIC, {**PRIVATE, "Role": 1}))
    assert plan.changes == ()


def test_a_subnet_without_a_cluster_network_is_refused_with_the_networks_found() -> None:
    with pytest.raises(
        PlanError,
        match=r"subnet: no cluster network is on 127.0.9.0/24.*'Cluster Network 1 \(127.0.1.0/24\)'",
    ):
        planner.plan(args(subnet="127.0.9.0/24", role="none"), networks(PUBLIC, PRIVATE))


def test_a_prefix_that_differs_is_another_subnet() -> None:
    with pytest.raises(PlanError, match=r"no cluster network is on 127\.0\.2\.0/25"):
        planner.plan(args(subnet="127.0.2.0/25", role="none"), networks(PRIVATE))


def test_a_name_taken_by_another_network_is_refused() -> None:
    with pytest.raises(
        PlanError, match="name: another cluster network is already called 'cluster network 1'"
    ):
        planner.plan(args(name="cluster network 1"), networks(PUBLIC, PRIVATE))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subnet": "127.0.2.5/24"}, "subnet: '127.0.2.5/24' is not an IPv4 network"),
        ({"subnet": "private"}, "subnet: 'private' is not an IPv4 network"),
        ({"name": "  "}, "name: an empty name is not a network name"),
    ],
)
def test_bad_options_are_refused_before_any_read(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        planner.reads(args(**overrides))


# --- the action ----------------------------------------------------------------------------


def run(cluster: FakeCluster, task: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return make_action(ActionModule, task, cluster.host(), **kw).run(task_vars={})


def test_run_then_rerun_ok_in_one_round_trip() -> None:
    cluster = FakeCluster()
    task = {"subnet": "127.0.2.0/24", "name": "Heartbeat", "role": "cluster"}
    first = run(cluster, task, diff=True)
    assert first["changed"] is True
    assert first["round_trips"] == 2
    assert first["state"]["name"] == "Heartbeat"
    assert first["diff"]["before"]["name"] == "Cluster Network 2"
    assert cluster.networks[1]["Name"] == "Heartbeat"
    second = run(cluster, task)
    assert second["changed"] is False
    assert second["round_trips"] == 1


def test_check_mode_changes_nothing() -> None:
    cluster = FakeCluster()
    result = run(cluster, {"subnet": "127.0.1.0/24", "role": "none"}, check_mode=True)
    assert result["changed"] is True
    assert cluster.networks[0]["Role"] == "ClusterAndClient"


def test_name_or_role_is_required() -> None:
    with pytest.raises(Exception, match=r"one of the following is required: name, role"):
        run(FakeCluster(), {"subnet": "127.0.1.0/24"})


def test_a_windows_refusal_is_reported_with_its_message() -> None:
    host = FakeCluster().host()
    handlers = host.handlers
    original = handlers["Get-ClusterNetwork"]
    calls = {"n": 0}

    def second_call_fails(p: dict[str, Any], i: list[Any]) -> list[Any]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise CmdletFailure("The cluster network cannot be changed while it is down", "InvalidOperation")
        return original(p, i)

    handlers["Get-ClusterNetwork"] = second_call_fails
    result = make_action(ActionModule, {"subnet": "127.0.1.0/24", "role": "none"}, host).run(task_vars={})
    assert result["failed"] is True
    assert "cannot be changed while it is down" in result["msg"]
    assert result["cmdlet"] == "Get-ClusterNetwork"

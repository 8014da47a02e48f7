"""generic_service_role: create the role, then change only the settings that differ."""

from __future__ import annotations

from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.generic_service_role import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils import generic_service_role_planner as planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import SetProperties
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from fake_cluster import FakeCluster
from fake_windows import CmdletFailure

OPTIONS = [
    *("static_address", "storage", "checkpoint_keys", "startup_parameters", "use_network_name"),
    *("dependencies", "preferred_owners", "possible_owners", "failover_threshold", "failover_period"),
    *("auto_failback", "restart_action", "restart_threshold", "restart_period", "restart_delay"),
    *("retry_period_on_failure", "pending_timeout", "wait", "cluster"),
]


def args(**overrides: Any) -> dict[str, Any]:
    return {**dict.fromkeys(OPTIONS), "name": "PBX", "state": "present", "service_name": "pbxd", **overrides}


def cluster_with_disk() -> FakeCluster:
    cluster = FakeCluster()
    cluster.add_disk("D1", "{00000000-0000-4000-8000-0000000000d1}", clustered_as="PBX-Data")
    return cluster


def read_from(cluster: FakeCluster, task: dict[str, Any]) -> Observed:
    """What the module's read round trip returns from the fake cluster."""
    result = cluster.host().execute_module(
        "pbxops.wsfc.cmdlet_pipelines", {"pipelines": [p.to_wire() for p in planner.reads(task)]}, False
    )
    return Observed(outputs={r["name"]: r["output"] for r in result["results"]})


def role_cluster() -> FakeCluster:
    cluster = cluster_with_disk()
    cluster.add_role(
        {"Name": "PBX", "ServiceName": "pbxd", "StaticAddress": ("127.0.1.30",), "Storage": ("PBX-Data",)}, []
    )
    return cluster


def names_and_cmdlets(plan: Any) -> list[tuple[str, str]]:
    return [
        (p.name, p.steps[-1].cmdlet if not isinstance(p.steps[-1], SetProperties) else "SetProperties")
        for p in plan.changes
    ]


# --- the planner: creating -------------------------------------------------------------------


def test_a_missing_role_is_created_with_what_add_cluster_generic_service_role_takes() -> None:
    cluster = cluster_with_disk()
    task = args(
        static_address=["127.0.1.30"],
        storage=["PBX-Data"],
        checkpoint_keys=["SOFTWARE\\pbxd"],
        wait=30,
        startup_parameters="-c x",
    )
    plan = planner.plan(task, read_from(cluster, task))
    (create,) = plan.changes
    (step,) = create.steps
    assert step.cmdlet == "Add-ClusterGenericServiceRole"
    assert dict(step.parameters) == {
        "ServiceName": "pbxd",
        "Name": "PBX",
        "StaticAddress": ("127.0.1.30",),
        "Storage": ("PBX-Data",),
        "CheckpointKey": ("SOFTWARE\\pbxd",),
        "Wait": 30,
    }
    assert planner.follow_up(plan)
    assert plan.before == {"exists": False}
    assert plan.after["startup_parameters"] == "-c x"


def test_creating_with_an_unknown_disk_is_refused_with_the_disks_there_are() -> None:
    cluster = cluster_with_disk()
    task = args(storage=["PBX-Dta"])
    with pytest.raises(
        PlanError, match="storage: the cluster has no disk called 'PBX-Dta'; its disks are 'PBX-Data'"
    ):
        planner.plan(task, read_from(cluster, task))


def test_a_disk_of_another_role_is_refused() -> None:
    cluster = role_cluster()
    task = args(name="OTHER", storage=["PBX-Data"])
    with pytest.raises(PlanError, match="storage: disk 'PBX-Data' belongs to the role 'PBX'"):
        planner.plan(task, read_from(cluster, task))


def test_creating_with_an_unknown_owner_is_refused() -> None:
    task = args(preferred_owners=["PBX-N1", "PBX-N9"])
    with pytest.raises(PlanError, match="preferred_owners: 'PBX-N9' is not a node of the cluster"):
        planner.plan(task, read_from(cluster_with_disk(), task))


# --- the planner: an existing role ---------------------------------------------------------


def test_the_state_of_an_existing_role() -> None:
    state = planner.role_state(args(), read_from(role_cluster(), args()))
    assert state["exists"] is True
    assert state["service_resource"] == "PBX Service"
    assert state["static_address"] == ["127.0.1.30"]
    assert state["storage"] == ["PBX-Data"]
    assert state["possible_owners"] == ["PBX-N1", "PBX-N2"]
    assert state["restart_action"] == "restart_then_failover"
    assert state["use_network_name"] is False


def test_an_unchanged_role_plans_nothing() -> None:
    task = args(
        static_address=["127.0.1.30"],
        storage=["PBX-Data"],
        restart_action="restart_then_failover",
        possible_owners=["PBX-N2", "PBX-N1"],
    )
    plan = planner.plan(task, read_from(role_cluster(), task))
    assert plan.changes == ()


def test_one_changed_setting_changes_only_that_setting() -> None:
    task = args(startup_parameters="--config C:\\pbx.toml", storage=["PBX-Data"])
    plan = planner.plan(task, read_from(role_cluster(), task))
    assert names_and_cmdlets(plan) == [("PBX Service StartupParameters", "Set-ClusterParameter")]
    assert dict(plan.changes[0].steps[1].parameters) == {
        "Name": "StartupParameters",
        "Value": "--config C:\\pbx.toml",
    }
    assert (plan.before["startup_parameters"], plan.after["startup_parameters"]) == (
        "",
        "--config C:\\pbx.toml",
    )


def test_use_network_name_is_set_as_a_number() -> None:
    task = args(use_network_name=True)
    plan = planner.plan(task, read_from(role_cluster(), task))
    assert dict(plan.changes[0].steps[1].parameters) == {"Name": "UseNetworkName", "Value": 1}


def test_dependencies_become_one_and_expression_and_order_does_not_matter() -> None:
    cluster = role_cluster()
    task = args(dependencies=["pbx", "PBX-Data"])
    plan = planner.plan(task, read_from(cluster, task))
    assert [dict(s.parameters) for p in plan.changes for s in p.steps] == [
        {"Resource": "PBX Service", "Dependency": "[PBX] and [PBX-Data]"}
    ]
    cluster.resource("PBX Service")["_deps"] = "[PBX-Data] and [PBX]"
    assert planner.plan(task, read_from(cluster, task)).changes == ()


def test_a_dependency_expression_with_or_is_replaced() -> None:
    cluster = role_cluster()
    cluster.resource("PBX Service")["_deps"] = "[PBX] or [PBX-Data]"
    task = args(dependencies=["PBX", "PBX-Data"])
    assert planner.role_state(task, read_from(cluster, task))["dependencies"] == "[PBX] or [PBX-Data]"
    assert len(planner.plan(task, read_from(cluster, task)).changes) == 1


def test_a_dependency_outside_the_role_is_refused() -> None:
    task = args(dependencies=["Cluster Name"])
    with pytest.raises(PlanError, match="dependencies: 'Cluster Name' is not another resource of role 'PBX'"):
        planner.plan(task, read_from(role_cluster(), task))


def test_the_service_cannot_depend_on_itself() -> None:
    task = args(dependencies=["PBX Service"])
    with pytest.raises(PlanError, match="dependencies: 'PBX Service' is not another resource"):
        planner.plan(task, read_from(role_cluster(), task))


def test_checkpoints_are_added_and_removed_one_by_one() -> None:
    cluster = role_cluster()
    cluster.resource("PBX Service")["_checkpoints"] = ["SOFTWARE\\old"]
    task = args(checkpoint_keys=["SOFTWARE\\pbxd"])
    plan = planner.plan(task, read_from(cluster, task))
    assert [(s.cmdlet, dict(s.parameters)) for p in plan.changes for s in p.steps] == [
        ("Add-ClusterCheckpoint", {"ResourceName": "PBX Service", "RegistryCheckpoint": "SOFTWARE\\pbxd"}),
        (
            "Remove-ClusterCheckpoint",
            {
                "ResourceName": "PBX Service",
                "CheckpointName": "SOFTWARE\\old",
                "RegistryCheckpoint": planner.SWITCH,
                "Force": planner.SWITCH,
            },
        ),
    ]


def test_checkpoints_compare_without_case() -> None:
    cluster = role_cluster()
    cluster.resource("PBX Service")["_checkpoints"] = ["software\\PBXD"]
    task = args(checkpoint_keys=["SOFTWARE\\pbxd"])
    assert planner.plan(task, read_from(cluster, task)).changes == ()


def test_preferred_owners_are_an_ordered_list() -> None:
    cluster = role_cluster()
    cluster.group("PBX")["_owners"] = ["PBX-N1", "PBX-N2"]
    same = args(preferred_owners=["pbx-n1", "PBX-N2"])
    assert planner.plan(same, read_from(cluster, same)).changes == ()
    swapped = args(preferred_owners=["PBX-N2", "PBX-N1"])
    plan = planner.plan(swapped, read_from(cluster, swapped))
    assert [dict(s.parameters) for p in plan.changes for s in p.steps] == [
        {"Group": "PBX", "Owners": ("PBX-N2", "PBX-N1")}
    ]


def test_possible_owners_are_set_on_every_resource_of_the_role_that_differs() -> None:
    cluster = role_cluster()
    cluster.resource("PBX-Data")["_owners"] = ["PBX-N1"]
    task = args(possible_owners=["PBX-N1"])
    plan = planner.plan(task, read_from(cluster, task))
    assert sorted(dict(p.steps[0].parameters)["Resource"] for p in plan.changes) == [
        "IP Address 127.0.1.30",
        "PBX",
        "PBX Service",
    ]


def test_failover_policy_is_assigned_on_the_group_and_restart_policy_on_the_service() -> None:
    task = args(
        failover_threshold=3,
        failover_period=6,
        auto_failback=True,
        restart_action="restart",
        restart_threshold=2,
    )
    plan = planner.plan(task, read_from(role_cluster(), task))
    assigned = {p.name: dict(p.steps[-1].values) for p in plan.changes}
    assert assigned == {
        "PBX failover policy": {"FailoverThreshold": 3, "AutoFailbackType": 1},
        "PBX Service restart policy": {"RestartThreshold": 2, "RestartAction": 1},
    }
    assert [s.cmdlet for s in plan.changes[0].steps[:-1]] == ["Get-ClusterGroup", "Where-Object"]
    assert (plan.before["failover_threshold"], plan.after["failover_threshold"]) == (4294967295, 3)


@pytest.mark.parametrize("rendered", ["RestartNoNotify", "ClusterResourceRestartNoNotify", 1])
def test_restart_action_reads_by_name_or_number(rendered: Any) -> None:
    cluster = role_cluster()
    cluster.resource("PBX Service")["RestartAction"] = rendered
    task = args(restart_action="restart")
    assert planner.plan(task, read_from(cluster, task)).changes == ()


def test_the_reported_policies_are_what_the_assignments_returned() -> None:
    task = args(failover_threshold=3, restart_threshold=2)
    plan = planner.plan(task, read_from(role_cluster(), task))
    assert plan.reported is not None
    state = plan.reported(
        Observed(
            outputs={
                "PBX failover policy": [{"FailoverThreshold": 3, "FailoverPeriod": 6, "AutoFailbackType": 0}],
                "PBX Service restart policy": [
                    {
                        "RestartAction": "RestartNotify",
                        "RestartThreshold": 2,
                        "RestartPeriod": 900000,
                        "RestartDelay": 500,
                        "RetryPeriodOnFailure": 3600000,
                        "PendingTimeout": 180000,
                    }
                ],
            }
        )
    )
    assert (state["failover_threshold"], state["restart_threshold"], state["restart_action"]) == (
        3,
        2,
        "restart_then_failover",
    )


def test_enum_names_of_older_hosts_compare_as_numbers() -> None:
    cluster = role_cluster()
    cluster.resource("PBX Service")["RestartAction"] = "ClusterResourceRestartNotify"
    cluster.group("PBX")["AutoFailbackType"] = "ClusterGroupAllowFailback"
    task = args(restart_action="restart_then_failover", auto_failback=True)
    assert planner.plan(task, read_from(cluster, task)).changes == ()


def test_an_address_is_changed_in_place() -> None:
    task = args(static_address=["127.0.1.31"])
    plan = planner.plan(task, read_from(role_cluster(), task))
    assert [(s.cmdlet, dict(s.parameters)) for p in plan.changes for s in p.steps] == [
        ("Get-ClusterResource", {"Name": ("IP Address 127.0.1.30",)}),
        ("Set-ClusterParameter", {"Name": "Address", "Value": "127.0.1.31"}),
    ]


def test_adding_an_address_is_refused_with_what_to_do() -> None:
    task = args(static_address=["127.0.1.30", "127.0.1.31"])
    with pytest.raises(PlanError, match=r"static_address: role 'PBX' has 1 address\(es\).*Remove the role"):
        planner.plan(task, read_from(role_cluster(), task))


def test_adding_storage_to_an_existing_role_is_refused_with_what_to_do() -> None:
    cluster = role_cluster()
    cluster.add_disk("D2", "{00000000-0000-4000-8000-0000000000d2}", clustered_as="PBX-Logs")
    task = args(storage=["PBX-Data", "PBX-Logs"])
    with pytest.raises(PlanError, match="storage: role 'PBX' does not hold 'PBX-Logs'"):
        planner.plan(task, read_from(cluster, task))


def test_a_group_of_another_kind_with_the_name_is_refused() -> None:
    cluster = role_cluster()
    cluster.groups.append(cluster._group("FILES", "PBX-N1", "FileServer"))
    task = args(name="FILES")
    with pytest.raises(PlanError, match="already has a role called 'FILES' of type FileServer"):
        planner.plan(task, read_from(cluster, task))


def test_absent_removes_the_group_with_its_resources() -> None:
    task = args(state="absent", service_name=None)
    plan = planner.plan(task, read_from(role_cluster(), task))
    step = plan.changes[0].steps[0]
    assert (step.cmdlet, dict(step.parameters)) == (
        "Remove-ClusterGroup",
        {"Name": ("PBX",), "RemoveResources": planner.SWITCH, "Force": planner.SWITCH},
    )
    assert planner.plan(task, read_from(cluster_with_disk(), task)).changes == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "PBX ROLE"}, "name: 'PBX ROLE' is not a valid NetBIOS name"),
        ({"service_name": None}, "service_name: state is present"),
        ({"static_address": ["10.0.0"]}, "static_address: '10.0.0' is not an IPv4 address"),
        ({"dependencies": ["[PBX]"]}, "dependencies: '\\[PBX\\]' is not a resource name"),
        ({"checkpoint_keys": ["HKLM\\SOFTWARE\\pbxd"]}, "checkpoint_keys: .*relative to HKEY_LOCAL_MACHINE"),
        ({"preferred_owners": ["node_1"]}, "preferred_owners: 'node_1' is not a valid NetBIOS name"),
        ({"restart_period": -1}, "restart_period: -1 is out of range"),
    ],
)
def test_bad_options_are_refused_before_any_read(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        planner.reads(args(**overrides))


# --- the action ----------------------------------------------------------------------------

FULL = {
    "name": "PBX",
    "service_name": "pbxd",
    "static_address": ["127.0.1.30"],
    "storage": ["PBX-Data"],
    "checkpoint_keys": ["SOFTWARE\\pbxd"],
    "startup_parameters": "--config P:\\pbx\\pbx.toml",
    "use_network_name": True,
    "dependencies": ["PBX", "PBX-Data"],
    "preferred_owners": ["PBX-N1", "PBX-N2"],
    "failover_threshold": 2,
    "restart_threshold": 3,
}


def run(cluster: FakeCluster, task: dict[str, Any], **kw: Any) -> dict[str, Any]:
    kw.setdefault("become", True)
    host = cluster.host()
    result = make_action(ActionModule, task, host, **kw).run(task_vars={})
    result["_calls"] = host.calls
    return result


def test_create_sets_every_setting_and_the_rerun_is_ok_in_one_round_trip() -> None:
    cluster = cluster_with_disk()
    first = run(cluster, FULL, diff=True)
    assert first["changed"] is True
    # read, create, read the new role, apply its remaining settings
    assert first["round_trips"] == 4
    assert first["diff"]["before"] == {"exists": False}
    state = first["state"]
    assert state["startup_parameters"] == "--config P:\\pbx\\pbx.toml"
    assert state["dependencies"] == ["PBX", "PBX-Data"]
    assert state["preferred_owners"] == ["PBX-N1", "PBX-N2"]
    service = cluster.resource("PBX Service")
    assert service["_params"]["UseNetworkName"] == 1
    assert service["_deps"] == "[PBX] and [PBX-Data]"
    assert service["RestartThreshold"] == 3
    assert cluster.group("PBX")["FailoverThreshold"] == 2

    second = run(cluster, FULL)
    assert second["changed"] is False
    assert second["round_trips"] == 1


def test_check_mode_creates_nothing() -> None:
    cluster = cluster_with_disk()
    result = run(cluster, FULL, check_mode=True)
    assert result["changed"] is True
    assert result["round_trips"] == 1
    assert not any(g["Name"] == "PBX" for g in cluster.groups)


def test_without_become_creating_is_refused_before_contacting_the_host() -> None:
    result = run(cluster_with_disk(), FULL, become=False)
    assert result["failed"] is True
    assert "Add-ClusterGenericServiceRole" in result["msg"]
    assert result["round_trips"] == 0


def test_a_failure_after_creating_converges_on_the_next_run() -> None:
    cluster = cluster_with_disk()
    cluster.fail_on["Set-ClusterOwnerNode"] = [CmdletFailure("The node is not reachable", "Unreachable")]
    first = run(cluster, FULL)
    assert first["failed"] is True
    assert "The node is not reachable" in first["msg"]
    assert any(g["Name"] == "PBX" for g in cluster.groups)

    second = run(cluster, FULL)
    assert "failed" not in second
    assert second["changed"] is True
    assert second["round_trips"] == 2
    sent = [s.get("cmdlet") for p in second["_calls"][1]["pipelines"] for s in p["steps"]]
    assert "Add-ClusterGenericServiceRole" not in sent
    assert cluster.group("PBX")["_owners"] == ["PBX-N1", "PBX-N2"]
    assert run(cluster, FULL)["changed"] is False


def test_changing_one_setting_sends_only_that_change() -> None:
    cluster = cluster_with_disk()
    run(cluster, FULL)
    result = run(cluster, {**FULL, "restart_threshold": 5}, diff=True)
    assert result["changed"] is True
    apply = result["_calls"][1]["pipelines"]
    assert [p["name"] for p in apply] == ["PBX Service restart policy"]
    assert result["diff"]["before"]["restart_threshold"] == 3
    assert result["diff"]["after"]["restart_threshold"] == 5


def test_absent_removes_the_role_and_is_then_ok() -> None:
    cluster = cluster_with_disk()
    run(cluster, FULL)
    removed = run(cluster, {"name": "PBX", "state": "absent"}, become=False)
    assert removed["changed"] is True
    assert cluster.resource("PBX-Data")["OwnerGroup"] == "Available Storage"
    assert run(cluster, {"name": "PBX", "state": "absent"}, become=False)["changed"] is False

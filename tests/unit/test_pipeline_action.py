"""The action-plugin base against a fake Windows host: one read, a pure plan, one apply."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import SWITCH, OutputOf, Step, change, read
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import (
    Observed,
    PipelineAction,
    Plan,
)
from fake_windows import CmdletFailure, FakeWindows
from wsfclab.manifest import CmdletCallError


class FeatureAction(PipelineAction):
    """A small module in the way the collection's modules are written: ensure features are installed."""

    argument_spec = {"names": {"type": "list", "elements": "str", "required": True}}

    def read_pipelines(self, args: Mapping[str, Any]) -> list:
        return [
            read(
                "features",
                Step("Get-WindowsFeature", {"Name": tuple(args["names"])}),
                select=("Name", "InstallState"),
            )
        ]

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        states = {f["Name"]: f["InstallState"] for f in observed["features"]}
        missing = tuple(n for n in args["names"] if states.get(n) != "Installed")
        changes = ()
        if missing:
            changes = (
                change(
                    "install features",
                    Step("Install-WindowsFeature", {"Name": missing, "IncludeManagementTools": SWITCH}),
                ),
            )
        return Plan(
            changes=changes,
            before={"features": states},
            after={"features": dict.fromkeys(states, "Installed")},
        )


class Host:
    """Features of one fake node, changed by Install-WindowsFeature."""

    def __init__(self, **features: str) -> None:
        self.features = dict(features)

    def handlers(self) -> dict[str, Any]:
        def get(params: dict[str, Any], _input: list[Any]) -> list[Any]:
            return [
                {"Name": n, "InstallState": self.features[n]} for n in params["Name"] if n in self.features
            ]

        def install(params: dict[str, Any], _input: list[Any]) -> list[Any]:
            if "Bad-Feature" in params["Name"]:
                raise CmdletFailure(
                    "ArgumentException: The role, role service, or feature name is not valid: 'Bad-Feature'.",
                    "NameDoesNotExist,Microsoft.Windows.ServerManager.Commands.AddWindowsFeatureCommand",
                )
            for n in params["Name"]:
                self.features[n] = "Installed"
            return [{"Success": True, "RestartNeeded": "No", "ExitCode": "Success"}]

        return {"Get-WindowsFeature": get, "Install-WindowsFeature": install}


def make_action(
    cls: type[PipelineAction],
    args: dict[str, Any],
    fake: FakeWindows,
    check_mode: bool = False,
    diff: bool = False,
) -> PipelineAction:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.action = "pbxops.wsfc.test_feature"
    connection = MagicMock()
    connection._shell.tmpdir = "C:/Windows/Temp/ansible"
    action = cls(task, connection, MagicMock(), MagicMock(), MagicMock(), None)

    def execute_module(
        module_name: str, module_args: dict[str, Any], task_vars: Any = None
    ) -> dict[str, Any]:
        return fake.execute_module(module_name, module_args, check_mode)

    action._execute_module = execute_module  # type: ignore[method-assign]
    return action


def test_converges_in_two_round_trips_then_is_a_no_op_in_one() -> None:
    host = Host(**{"Failover-Clustering": "Available"})
    fake = FakeWindows(host.handlers())

    first = make_action(FeatureAction, {"names": ["Failover-Clustering"]}, fake).run(task_vars={})
    assert first["changed"] is True
    assert first["round_trips"] == 2
    assert host.features["Failover-Clustering"] == "Installed"
    assert first["state"] == {"features": {"Failover-Clustering": "Installed"}}

    second = make_action(FeatureAction, {"names": ["Failover-Clustering"]}, fake).run(task_vars={})
    assert second["changed"] is False
    assert second["round_trips"] == 1
    assert len(fake.calls) == 3


def test_reads_are_batched_in_one_round_trip() -> None:
    fake = FakeWindows(Host(A="Installed").handlers())
    make_action(FeatureAction, {"names": ["A"]}, fake).run(task_vars={})
    assert [p["name"] for p in fake.calls[0]["pipelines"]] == ["features"]
    assert all(not p["changes"] for p in fake.calls[0]["pipelines"])


def test_check_mode_sends_no_change_and_reports_what_would_change() -> None:
    host = Host(**{"Failover-Clustering": "Available"})
    fake = FakeWindows(host.handlers())

    result = make_action(FeatureAction, {"names": ["Failover-Clustering"]}, fake, check_mode=True).run(
        task_vars={}
    )

    assert result["changed"] is True
    assert result["round_trips"] == 1
    assert host.features["Failover-Clustering"] == "Available"
    assert not any(p["changes"] for call in fake.calls for p in call["pipelines"])


def test_diff_mode_returns_before_and_after() -> None:
    fake = FakeWindows(Host(A="Available").handlers())
    result = make_action(FeatureAction, {"names": ["A"]}, fake, diff=True).run(task_vars={})
    assert result["diff"] == {
        "before": {"features": {"A": "Available"}},
        "after": {"features": {"A": "Installed"}},
    }


def test_no_diff_key_outside_diff_mode() -> None:
    fake = FakeWindows(Host(A="Available").handlers())
    result = make_action(FeatureAction, {"names": ["A"]}, fake).run(task_vars={})
    assert "diff" not in result


def test_executor_error_becomes_a_clean_failure_with_the_cmdlet_message() -> None:
    fake = FakeWindows(Host(**{"Bad-Feature": "Available"}).handlers())
    result = make_action(FeatureAction, {"names": ["Bad-Feature"]}, fake).run(task_vars={})
    assert result["failed"] is True
    assert "pipeline 'install features' failed at step 1 (Install-WindowsFeature)" in result["msg"]
    assert "feature name is not valid: 'Bad-Feature'" in result["msg"]
    assert result["cmdlet"] == "Install-WindowsFeature"
    assert result["error_id"].startswith("NameDoesNotExist")
    assert result["round_trips"] == 2
    assert "changed" not in result or result["changed"] is False


def test_bad_arguments_fail_before_any_round_trip() -> None:
    fake = FakeWindows(Host().handlers())
    with pytest.raises(AnsibleActionFail, match="names"):
        make_action(FeatureAction, {"names": "x", "bogus": 1}, fake).run(task_vars={})
    assert fake.calls == []


def test_a_step_unknown_to_windows_is_caught_by_the_fake_host() -> None:
    class Wrong(FeatureAction):
        def read_pipelines(self, args: Mapping[str, Any]) -> list:
            return [read("features", Step("Get-WindowsFeature", {"Feature": "A"}))]

    with pytest.raises(CmdletCallError, match="'Feature'"):
        make_action(Wrong, {"names": ["A"]}, FakeWindows(Host().handlers())).run(task_vars={})


def test_a_plan_may_not_hide_a_change_in_a_read_pipeline() -> None:
    with pytest.raises(ValueError, match="marked as a read"):
        Plan(changes=(read("x", Step("Get-Disk")),), before={}, after={})


def test_duplicate_pipeline_names_in_one_round_trip_are_refused() -> None:
    class Twice(FeatureAction):
        def read_pipelines(self, args: Mapping[str, Any]) -> list:
            return [read("same", Step("Get-Disk")), read("same", Step("Get-Volume"))]

    with pytest.raises(AnsibleActionFail, match="unique"):
        make_action(Twice, {"names": ["A"]}, FakeWindows(Host().handlers())).run(task_vars={})


def test_a_reference_must_point_at_an_earlier_pipeline_of_the_same_round_trip() -> None:
    class Backwards(FeatureAction):
        def read_pipelines(self, args: Mapping[str, Any]) -> list:
            return [
                read("pool", Step("Get-StoragePool", {"PhysicalDisk": OutputOf("disks")})),
                read("disks", Step("Get-PhysicalDisk")),
            ]

    fake = FakeWindows(Host().handlers())
    with pytest.raises(AnsibleActionFail, match="'disks', which is not an earlier pipeline"):
        make_action(Backwards, {"names": ["A"]}, fake).run(task_vars={})
    assert fake.calls == []


def test_a_failed_apply_after_an_earlier_change_reports_changed() -> None:
    class OneByOne(FeatureAction):
        def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
            changes = tuple(
                change(f"install {n}", Step("Install-WindowsFeature", {"Name": (n,)})) for n in args["names"]
            )
            return Plan(changes=changes, before={}, after={})

    host = Host(A="Available", **{"Bad-Feature": "Available"})
    result = make_action(OneByOne, {"names": ["A", "Bad-Feature"]}, FakeWindows(host.handlers())).run(
        task_vars={}
    )
    assert result["failed"] is True
    assert host.features["A"] == "Installed"
    assert result["changed"] is True


def test_plan_reads_the_warnings_of_a_read_and_the_operator_sees_those_of_the_apply() -> None:
    class Validated(FeatureAction):
        """Reads a verdict that only the warning stream carries, as Test-Cluster reports it."""

        def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
            plan = super().plan(args, observed)
            verdict = [w for w in observed.warnings["features"] if w.startswith("Test Result")]
            return Plan(plan.changes, plan.before, plan.after, warnings=tuple(verdict))

    fake = FakeWindows(
        Host(A="Available").handlers(),
        warnings={
            "Get-WindowsFeature": ["Test Result: ClusterConditionallyApproved"],
            "Install-WindowsFeature": ["You must restart this server to finish the installation."],
        },
    )
    result = make_action(Validated, {"names": ["A"]}, fake).run(task_vars={})
    assert result["warnings"] == [
        "Test Result: ClusterConditionallyApproved",
        "You must restart this server to finish the installation.",
    ]

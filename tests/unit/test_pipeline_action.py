"""The action-plugin base against a fake Windows host: one read, a pure plan, one apply."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from action_harness import make_action
from ansible.errors import AnsibleActionFail
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import SWITCH, OutputOf, Step, change, read
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import (
    Observed,
    PipelineAction,
    Plan,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import PlanError
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
    assert result["msg"].endswith(
        "The host is changed up to that step and no further; once the cause is fixed, run the task again: "
        "it reads the host first and completes what is left"
    )


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


# --- the hardened base: secrets, option relations, reported state, refusals, second hop ---------


SECRET = "Tr0ub4dor&3-chap"


class SecretAction(FeatureAction):
    """Sends a no_log value to the host, and echoes it everywhere a careless module might."""

    argument_spec = {
        "names": {"type": "list", "elements": "str", "required": True},
        "password": {"type": "str", "no_log": True},
        "fail_with_secret": {"type": "bool", "default": False},
    }

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        if args["fail_with_secret"]:
            raise PlanError(f"the password {args['password']} is refused", field=args["password"])
        change_ = change("install", Step("Install-WindowsFeature", {"Name": (args["password"],)}))
        return Plan(
            changes=(change_,),
            before={"password": "old"},
            after={"password": args["password"]},
            warnings=(f"using {args['password']}",),
            reported=lambda applied: {"password": args["password"], "reported": True},
        )


def test_a_no_log_value_never_appears_in_a_result() -> None:
    fake = FakeWindows(Host().handlers())
    fake.handlers["Install-WindowsFeature"] = lambda params, _input: [{"Echo": params["Name"][0]}]
    args = {"names": ["A"], "password": SECRET}
    for check_mode in (False, True):
        result = make_action(SecretAction, dict(args), fake, check_mode=check_mode, diff=True).run(
            task_vars={}
        )
        assert SECRET not in repr(result)
        assert result["diff"]["after"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        assert result["warnings"] == ["using ********"]
    failed = make_action(SecretAction, {**args, "fail_with_secret": True}, fake).run(task_vars={})
    assert failed["failed"] is True
    assert SECRET not in repr(failed)
    assert failed["msg"] == "the password ******** is refused"


def test_a_round_trip_that_carries_a_secret_runs_the_executor_with_no_log() -> None:
    fake = FakeWindows(Host().handlers())
    fake.handlers["Install-WindowsFeature"] = lambda _params, _input: []
    make_action(SecretAction, {"names": ["A"], "password": SECRET}, fake).run(task_vars={})
    assert fake.no_log_flags == [False, True]


def test_an_argument_error_does_not_show_a_secret() -> None:
    class Choosy(FeatureAction):
        argument_spec = {
            "names": {"type": "list", "elements": "str", "required": True},
            "password": {"type": "str", "no_log": True, "choices": ["a", "b"]},
        }

    with pytest.raises(AnsibleActionFail) as raised:
        make_action(Choosy, {"names": ["A"], "password": SECRET}, FakeWindows(Host().handlers())).run(
            task_vars={}
        )
    assert "password" in str(raised.value)
    assert SECRET not in str(raised.value)


class Related(FeatureAction):
    argument_spec = {
        "names": {"type": "list", "elements": "str"},
        "all": {"type": "bool"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "reason": {"type": "str"},
    }
    mutually_exclusive = [("names", "all")]
    required_one_of = [("names", "all")]
    required_if = [("state", "absent", ("reason",))]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"names": ["A"], "all": True}, "parameters are mutually exclusive: names|all"),
        ({}, "one of the following is required: names, all"),
        ({"names": ["A"], "state": "absent"}, "state is absent but all of the following are missing: reason"),
    ],
)
def test_option_relations_of_a_subclass_are_enforced_before_any_round_trip(
    args: dict[str, Any], message: str
) -> None:
    fake = FakeWindows(Host(A="Installed").handlers())
    with pytest.raises(AnsibleActionFail, match=re.escape(message)):
        make_action(Related, args, fake).run(task_vars={})
    assert fake.calls == []


def test_the_state_after_an_apply_is_what_the_host_reported() -> None:
    class Reported(FeatureAction):
        def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
            plan = super().plan(args, observed)
            return Plan(
                plan.changes,
                plan.before,
                plan.after,
                reported=lambda applied: {"install": applied["install features"][0]["ExitCode"]},
            )

    fake = FakeWindows(Host(A="Available").handlers())
    applied = make_action(Reported, {"names": ["A"]}, fake).run(task_vars={})
    assert applied["state"] == {"install": "Success"}
    checked = make_action(
        Reported, {"names": ["B"]}, FakeWindows(Host(B="Available").handlers()), check_mode=True
    )
    assert checked.run(task_vars={})["state"] == {"features": {"B": "Installed"}}


def test_a_plan_error_fails_with_its_details_and_changes_nothing() -> None:
    class Refusing(FeatureAction):
        def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
            raise PlanError("names: 'A' is installed; expected an available feature", feature="A")

    host = Host(A="Available")
    result = make_action(Refusing, {"names": ["A"]}, FakeWindows(host.handlers())).run(task_vars={})
    assert result == {
        "failed": True,
        "changed": False,
        "msg": "names: 'A' is installed; expected an available feature",
        "feature": "A",
        "round_trips": 1,
    }
    assert host.features["A"] == "Available"


class DoubleHop(FeatureAction):
    second_hop = "Install-WindowsFeature"


def test_a_second_hop_without_delegable_credentials_fails_before_any_round_trip() -> None:
    fake = FakeWindows(Host(A="Available").handlers())
    result = make_action(DoubleHop, {"names": ["A"]}, fake).run(task_vars={})
    assert result["failed"] is True and result["round_trips"] == 0
    assert result["msg"].startswith(
        "Install-WindowsFeature must reach other nodes or Active Directory, and the connection's "
        "credentials cannot travel that second hop: set become: true with become_method: runas"
    )
    assert fake.calls == []


@pytest.mark.parametrize(
    ("become", "variables"),
    [
        ({"become": True}, {}),
        ({}, {"ansible_winrm_transport": "credssp"}),
        ({}, {"ansible_winrm_transport": ["kerberos", "credssp"]}),
        ({}, {"ansible_psrp_auth": "credssp"}),
        ({}, {"ansible_winrm_kerberos_delegation": "true"}),
        ({"become": True, "become_user": "deploy@pbx.lab"}, {}),
    ],
)
def test_a_second_hop_runs_with_become_credssp_or_delegation(
    become: dict[str, Any], variables: dict[str, Any]
) -> None:
    fake = FakeWindows(Host(A="Available").handlers())
    result = make_action(DoubleHop, {"names": ["A"]}, fake, **become).run(task_vars=variables)
    assert result["changed"] is True and result["round_trips"] == 2


@pytest.mark.parametrize(
    ("become", "reason"),
    [
        ({"become_method": "su"}, "the connection's credentials cannot travel that second hop"),
        ({"become_user": "Administrator"}, "become_user 'Administrator' is not a domain account"),
        ({"become_user": ".\\Administrator"}, "is not a domain account"),
        (
            {"become_pass": None},
            "become without a password logs PBXLAB\\deploy on without network credentials",
        ),
        (
            {"become_flags": "logon_type=network"},
            "become_flags logon_type=network gives a token without credentials",
        ),
    ],
)
def test_become_that_cannot_carry_a_second_hop_is_refused_with_the_reason(
    become: dict[str, Any], reason: str
) -> None:
    fake = FakeWindows(Host(A="Available").handlers())
    result = make_action(DoubleHop, {"names": ["A"]}, fake, become=True, **become).run(task_vars={})
    assert result["failed"] is True and fake.calls == []
    assert reason in result["msg"]


def test_a_refusal_after_the_apply_says_the_host_changed() -> None:
    class CheckedAfter(FeatureAction):
        def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
            plan = super().plan(args, observed)

            def refuse(applied: Observed) -> Mapping[str, Any]:
                raise PlanError("the feature installed, and now asks for a restart")

            return Plan(plan.changes, plan.before, plan.after, reported=refuse)

    host = Host(A="Available")
    result = make_action(CheckedAfter, {"names": ["A"]}, FakeWindows(host.handlers())).run(task_vars={})
    assert result["failed"] is True and result["changed"] is True and result["round_trips"] == 2
    assert host.features["A"] == "Installed"

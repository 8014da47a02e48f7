"""pbxops.wsfc.cluster_validation: the Test-Cluster call and the reading of its warning stream."""

from __future__ import annotations

from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.cluster_validation import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.validation_report import (
    NOT_RUN,
    plan_validation,
    validation_pipeline,
    verdict_of,
)
from fake_windows import FakeWindows
from manifest_check import assert_calls_bind

REPORT = r"C:\Windows\Cluster\Reports\Validation Report 2026.12.01 At 21.30.00.htm"
NETWORK_WARNING = "Network - Validate Network Communication: The test reported some warnings.."
SUMMARY = [
    "Test Result:",
    "HadUnselectedTests, ClusterConditionallyApproved",
    "Testing has completed for the tests you selected. You should review the warnings in the Report.",
    f"Test report file path: {REPORT}",
]


def args(**overrides: Any) -> dict[str, Any]:
    return {
        "nodes": ["PBX-N1", "PBX-N2"],
        "include": ["Inventory", "Network", "System Configuration"],
        "ignore": [],
        "accepted_warnings": [],
        "fail_on_warnings": True,
        "report_name": None,
        **overrides,
    }


def applied(warnings: list[str], report: str | None = REPORT) -> Observed:
    output = [{"FullName": report, "Name": "r.htm"}] if report else []
    return Observed(outputs={"validation": output}, warnings={"validation": warnings})


def test_the_call_names_the_nodes_and_categories_and_binds() -> None:
    pipeline = validation_pipeline(args(ignore=["Storage"], report_name="pbx"))
    step = pipeline.steps[0]
    # It writes its report on the host: a change, which check mode leaves out.
    assert step.cmdlet == "Test-Cluster" and pipeline.changes
    assert dict(step.parameters) == {
        "Node": ("PBX-N1", "PBX-N2"),
        "Include": ("Inventory", "Network", "System Configuration"),
        "Ignore": ("Storage",),
        "ReportName": "pbx",
    }
    assert_calls_bind([pipeline])


def test_an_empty_include_runs_every_test() -> None:
    assert "Include" not in validation_pipeline(args(include=[])).steps[0].parameters


def test_a_clean_validation_passes_with_its_report() -> None:
    verdict = verdict_of([], [{"FullName": REPORT}], [])
    assert verdict.as_dict() == {
        "outcome": "passed",
        "failures": [],
        "warnings": [],
        "accepted_warnings": [],
        "flags": [],
        "report": REPORT,
    }


def test_warnings_and_flags_are_read_from_one_message_or_many() -> None:
    as_lines = verdict_of([NETWORK_WARNING, *SUMMARY], [], [])
    as_block = verdict_of(["\n".join([NETWORK_WARNING, *SUMMARY])], [], [])
    assert as_lines == as_block
    assert as_lines.warnings == (NETWORK_WARNING,)
    assert as_lines.flags == ("HadUnselectedTests", "ClusterConditionallyApproved")
    assert as_lines.report == REPORT
    assert as_lines.outcome == "warnings"


def test_an_accepted_warning_is_set_apart_by_test_name_or_with_its_category() -> None:
    for accepted in (["validate network communication"], ["Network - Validate Network Communication"]):
        verdict = verdict_of([NETWORK_WARNING, *SUMMARY], [], accepted)
        assert verdict.warnings == () and verdict.accepted == (NETWORK_WARNING,)


def test_a_test_line_without_warnings_is_a_failure() -> None:
    failed = "Storage - Validate Disk Failover: The test failed."
    assert verdict_of([failed, *SUMMARY], [], []).failures == (failed,)


def test_an_unknown_result_flag_is_a_failure() -> None:
    verdict = verdict_of(["Test Result:", "ClusterNotApproved", f"Test report file path: {REPORT}"], [], [])
    assert verdict.failures == ("Test Result: ClusterNotApproved",)
    assert verdict.outcome == "failed"


def test_the_plan_fails_on_failures_naming_them_and_the_report() -> None:
    failed = "Network - Validate IP Configuration: The test failed."
    with pytest.raises(PlanError) as raised:
        plan_validation(args(), Observed()).state_after_apply(applied([failed, *SUMMARY]))
    assert raised.value.msg == (
        f"cluster validation failed 1 test(s): {failed}; the report is {REPORT}. Fix what the report "
        "describes and run the validation again"
    )
    assert raised.value.details["state"]["outcome"] == "failed"


def test_before_test_cluster_runs_the_state_says_so() -> None:
    plan = plan_validation(args(), Observed())
    assert plan.before == plan.after == NOT_RUN


def test_unaccepted_warnings_fail_unless_told_otherwise() -> None:
    with pytest.raises(PlanError, match="cluster validation warned in 1 test"):
        plan_validation(args(), Observed()).state_after_apply(applied([NETWORK_WARNING, *SUMMARY]))
    plan = plan_validation(args(fail_on_warnings=False), Observed())
    state = plan.state_after_apply(applied([NETWORK_WARNING, *SUMMARY]))
    assert state["outcome"] == "warnings" and state["warnings"] == [NETWORK_WARNING]


def test_accepted_warnings_pass_quietly() -> None:
    plan = plan_validation(args(accepted_warnings=["Validate Network Communication"]), Observed())
    state = plan.state_after_apply(applied([NETWORK_WARNING, *SUMMARY]))
    assert state["warnings"] == [] and state["accepted_warnings"] == [NETWORK_WARNING]


def test_the_action_needs_credentials_that_reach_the_other_nodes() -> None:
    fake = FakeWindows({"Test-Cluster": lambda _p, _i: [{"FullName": REPORT, "Name": "r.htm"}]})
    refused = make_action(ActionModule, args(), fake).run(task_vars={})
    assert refused["failed"] is True and fake.calls == []
    assert refused["msg"].startswith(
        "Test-Cluster over several nodes must reach other nodes or Active Directory"
    )


def test_the_action_validates_in_one_round_trip_and_reports_no_change() -> None:
    fake = FakeWindows(
        {"Test-Cluster": lambda _p, _i: [{"FullName": REPORT, "Name": "r.htm"}]},
        warnings={"Test-Cluster": [NETWORK_WARNING, "\n".join(SUMMARY)]},
    )
    result = make_action(ActionModule, args(fail_on_warnings=False), fake, become=True).run(task_vars={})
    assert result["changed"] is False and result["round_trips"] == 1
    assert result["state"]["report"] == REPORT
    assert result["warnings"] == [f"cluster validation: {NETWORK_WARNING}"]


def test_in_check_mode_test_cluster_does_not_run_and_says_so() -> None:
    fake = FakeWindows({"Test-Cluster": lambda _p, _i: []})
    result = make_action(ActionModule, args(), fake, become=True, check_mode=True).run(task_vars={})
    assert fake.calls == []
    assert result["changed"] is False and result["round_trips"] == 0
    assert result["state"]["outcome"] == "not run"
    assert result["warnings"][0].startswith("check mode: Test-Cluster did not run")

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure half of ``pbxops.wsfc.cluster_validation``: the Test-Cluster call, and its verdict.

Test-Cluster returns the report file and tells its verdict only on the warning stream
(wsfc-behaviour 1.4): one line per test that did not pass (``Network - Validate Network
Communication: The test reported some warnings..``), then ``Test Result:`` and its flags
(``HadUnselectedTests, ClusterConditionallyApproved``), then ``Test report file path: ...``.
``ClusterConditionallyApproved`` means warnings only; the flag for failures is not documented, so
any flag other than the known ones counts as a failure, and so does a test line that does not
speak of warnings.

Test-Cluster writes its report on the host, so its pipeline is a change: it never runs in check
mode, and the read round trip is empty. The module still reports no change, since no setting of
any node changes (see the action plugin).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline, Step, change
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan, PlanError

__all__ = [
    "NOT_RUN",
    "Verdict",
    "plan_validation",
    "validation_pipeline",
    "verdict_of",
    "verdict_warnings",
]

KNOWN_FLAGS = frozenset({"HadUnselectedTests", "ClusterConditionallyApproved", "ClusterApproved"})
_TEST_LINE = re.compile(r"^(?P<category>[A-Za-z][A-Za-z ]*?) - (?P<test>[^:]+): (?P<message>.+)$")
_REPORT = re.compile(r"^Test report file path: (?P<path>.+?)\s*$")


def validation_pipeline(args: Mapping[str, Any]) -> Pipeline:
    parameters: dict[str, Any] = {"Node": tuple(args["nodes"])}
    if args["include"]:
        parameters["Include"] = tuple(args["include"])
    if args["ignore"]:
        parameters["Ignore"] = tuple(args["ignore"])
    if args.get("report_name"):
        parameters["ReportName"] = args["report_name"]
    return change("validation", Step("Test-Cluster", parameters), select=("FullName", "Name"))


@dataclass(frozen=True)
class Verdict:
    """What Test-Cluster said: failed and warning tests (``Category - Test: message``), the flags
    of its Test Result, and the report."""

    failures: tuple[str, ...]
    warnings: tuple[str, ...]
    accepted: tuple[str, ...]
    flags: tuple[str, ...]
    report: str | None

    @property
    def outcome(self) -> str:
        if self.failures:
            return "failed"
        return "warnings" if self.warnings or self.accepted else "passed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "failures": list(self.failures),
            "warnings": list(self.warnings),
            "accepted_warnings": list(self.accepted),
            "flags": list(self.flags),
            "report": self.report,
        }


def _lines(messages: Sequence[str]) -> list[str]:
    return [line.strip() for message in messages for line in str(message).splitlines() if line.strip()]


def _accepted(test: str, category: str, accepted: Sequence[str]) -> bool:
    names = {test.casefold(), f"{category} - {test}".casefold()}
    return any(a.casefold() in names for a in accepted)


def verdict_of(
    warnings: Sequence[str], output: Sequence[Mapping[str, Any]], accepted: Sequence[str]
) -> Verdict:
    failures: list[str] = []
    warned: list[str] = []
    taken: list[str] = []
    flags: list[str] = []
    report = next((str(o["FullName"]) for o in output if o.get("FullName")), None)
    lines = _lines(warnings)
    for position, line in enumerate(lines):
        if line.rstrip(":") == "Test Result" and position + 1 < len(lines):
            flags = [f.strip() for f in lines[position + 1].split(",") if f.strip()]
            continue
        found = _REPORT.match(line)
        if found:
            report = report or found["path"]
            continue
        test = _TEST_LINE.match(line)
        if test is None:
            continue
        entry = f"{test['category']} - {test['test']}: {test['message']}"
        if "warning" not in test["message"].lower():
            failures.append(entry)
        elif _accepted(test["test"].strip(), test["category"].strip(), accepted):
            taken.append(entry)
        else:
            warned.append(entry)
    unknown = [f for f in flags if f not in KNOWN_FLAGS]
    if unknown and not failures:
        failures.append(f"Test Result: {', '.join(flags)}")
    return Verdict(tuple(failures), tuple(warned), tuple(taken), tuple(flags), report)


NOT_RUN: dict[str, Any] = {
    "outcome": "not run",
    "failures": [],
    "warnings": [],
    "accepted_warnings": [],
    "flags": [],
    "report": None,
}


def plan_validation(args: Mapping[str, Any], observed: Observed) -> Plan:
    """Run Test-Cluster; its verdict becomes the state, or a failure that lists what failed (or
    warned, when unaccepted warnings count) with the report's path."""
    del observed

    def reported(applied: Observed) -> Mapping[str, Any]:
        verdict = verdict_of(
            applied.warnings.get("validation", []), applied.get("validation"), args["accepted_warnings"]
        )
        state = verdict.as_dict()
        where = f"; the report is {verdict.report}" if verdict.report else ""
        if verdict.failures:
            raise PlanError(
                f"cluster validation failed {len(verdict.failures)} test(s): "
                f"{'; '.join(verdict.failures)}{where}. Fix what the report describes and run the "
                "validation again",
                state=state,
            )
        if verdict.warnings and args["fail_on_warnings"]:
            raise PlanError(
                f"cluster validation warned in {len(verdict.warnings)} test(s): "
                f"{'; '.join(verdict.warnings)}{where}. Fix them, or list the tests in accepted_warnings "
                "once the report shows they do not matter",
                state=state,
            )
        return state

    return Plan(
        changes=(validation_pipeline(args),),
        before=NOT_RUN,
        after=NOT_RUN,
        reported=reported,
    )


def verdict_warnings(state: Mapping[str, Any]) -> list[str]:
    """The warnings the operator sees: those of tests not accepted."""
    return [f"cluster validation: {w}" for w in state.get("warnings", [])]

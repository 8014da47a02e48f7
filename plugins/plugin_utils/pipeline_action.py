# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the collection's action plugins: read, plan in Python, apply.

Every module of the collection is an action plugin that speaks to Windows only through the
executor module ``pbxops.wsfc.cmdlet_pipelines``:

1. ``read_pipelines(args)``: what to read; sent in one remote round trip;
2. ``plan(args, observed)``: pure Python, desired state versus what was read, giving the
   pipelines that would change the host and the state before and after;
3. unless check mode, the changes are sent in one more round trip.

The result carries ``changed``, a ``diff`` (in diff mode), the new ``state``, and
``round_trips``, the number of remote calls made: remote round trips are what makes Windows
automation slow, so they are counted and kept few.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan

__all__ = ["EXECUTOR", "ExecutorError", "Observed", "PipelineAction", "Plan"]

EXECUTOR = "pbxops.wsfc.cmdlet_pipelines"


class ExecutorError(Exception):
    """The executor module reported a failure; ``result`` is what it returned."""

    def __init__(self, result: Mapping[str, Any]) -> None:
        super().__init__(result.get("msg", "the cmdlet_pipelines module failed without a message"))
        self.result = result


class PipelineAction(ActionBase):
    """Subclasses set ``argument_spec`` (as in the module's documentation) and implement
    ``read_pipelines`` and ``plan``."""

    TRANSFERS_FILES = False
    _requires_connection = True
    argument_spec: dict[str, Any] = {}

    def read_pipelines(self, args: Mapping[str, Any]) -> list[Pipeline]:
        raise NotImplementedError

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        raise NotImplementedError

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=self.argument_spec)[1]
        self._round_trips = 0
        result["round_trips"] = 0
        try:
            observed = self._run_pipelines(self.read_pipelines(args), task_vars)
            plan = self.plan(args, observed)
            applied = Observed()
            if plan.changes and not self._task.check_mode:
                applied = self._run_pipelines(list(plan.changes), task_vars)
        except ExecutorError as error:
            # A failure in the apply round trip may follow pipelines that did change the host.
            changed = bool(error.result.get("changed", False))
            result.update(failed=True, changed=changed, msg=str(error), round_trips=self._round_trips)
            for key in ("pipeline", "step", "cmdlet", "error_id"):
                if key in error.result:
                    result[key] = error.result[key]
            return result
        result.update(changed=bool(plan.changes), state=dict(plan.after), round_trips=self._round_trips)
        if self._task.diff:
            result["diff"] = {"before": dict(plan.before), "after": dict(plan.after)}
        # The plan's own warnings, then what the changing cmdlets warned about (New-Cluster writes
        # its report location there): the operator sees both.
        warnings = [*plan.warnings, *(w for ws in applied.warnings.values() for w in ws)]
        if warnings:
            result["warnings"] = warnings
        return result

    def _run_pipelines(self, pipelines: list[Pipeline], task_vars: dict[str, Any] | None) -> Observed:
        """One remote round trip for all ``pipelines``."""
        if not pipelines:
            return Observed()
        names = [p.name for p in pipelines]
        if len(set(names)) != len(names):
            raise AnsibleActionFail(f"pipeline names must be unique within a round trip: {names}")
        for position, pipeline in enumerate(pipelines):
            for reference in pipeline.references():
                if reference not in names[:position]:
                    raise AnsibleActionFail(
                        f"pipeline {pipeline.name!r} uses the output of {reference!r}, "
                        "which is not an earlier pipeline of the same round trip"
                    )
        self._round_trips += 1
        response = self._execute_module(
            module_name=EXECUTOR,
            module_args={"pipelines": [p.to_wire() for p in pipelines]},
            task_vars=task_vars,
        )
        if response.get("failed"):
            raise ExecutorError(response)
        return Observed(
            outputs={entry["name"]: entry["output"] for entry in response["results"]},
            warnings={entry["name"]: entry.get("warnings", []) for entry in response["results"]},
        )

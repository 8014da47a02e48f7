# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the failover-cluster action plugins add to ``PipelineAction``.

Each cluster module keeps its logic in a pure planner (``<module>_planner.py``): ``reads(args)``,
which checks the options first, and ``plan(args, observed)``. This class connects them to
``PipelineAction`` and adds what cluster operations need beyond one read and one apply:

- a read that fails because the object does not exist yet: ``Get-Cluster -Name X`` throws when
  there is no cluster X, and the executor stops at the first error. The pipeline named
  ``absent_when_fails`` may fail; the planner then sees no output for it (and the outputs of the
  pipelines before it);
- progress: before a long apply (a drain, a group move) the operator is told what is waited for;
- follow-up passes: ``follow_up(args, plan)`` says that the apply created something whose settings
  can only be planned from a new read (a new role's resources get names that Windows chooses);
  the module then reads, plans and applies once more, and reports both passes as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.utils.display import Display
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import (
    Observed,
    PipelineAction,
    Plan,
    observed_from,
)

display = Display()


class WsfcAction(PipelineAction):
    """Subclasses set ``argument_spec`` and ``planner``: the module with the pure functions
    ``reads(args) -> list[Pipeline]`` and ``plan(args, observed) -> Plan``."""

    planner: Any = None
    # The read pipeline whose failure means "not there": its output is then missing from Observed.
    absent_when_fails: str | None = None
    second_hop: str | None = None
    # Why the read found nothing, in Windows' words, when ``absent_when_fails`` failed.
    absent_reason: str | None = None
    _args: Mapping[str, Any] = {}
    _plan: Plan | None = None

    def follow_up(self, args: Mapping[str, Any], plan: Plan) -> bool:
        """Whether to read and plan once more after this plan was applied."""
        del args, plan
        return False

    def progress(self, args: Mapping[str, Any], plan: Plan) -> str | None:
        """What the operator is told before the apply round trip starts."""
        del args, plan
        return None

    # --- PipelineAction's hooks --------------------------------------------------------------

    def read_pipelines(self, args: Mapping[str, Any]) -> list[Pipeline]:
        self._args = args
        pipelines: list[Pipeline] = self.planner.reads(args)
        return pipelines

    def recover_read(self, args: Mapping[str, Any], failure: Mapping[str, Any]) -> Observed | None:
        if self.absent_when_fails is None or failure.get("pipeline") != self.absent_when_fails:
            return None
        self.absent_reason = str(failure.get("msg", "")) or None
        return observed_from(failure)

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        plan: Plan = self.planner.plan(args, observed)
        self._plan = plan
        return plan

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._args = {}
        self._plan = None
        self.absent_reason = None
        result: dict[str, Any] = super().run(tmp, task_vars)
        if not self._applied(result) or self._plan is None or not self.follow_up(self._args, self._plan):
            return result
        second: dict[str, Any] = super().run(tmp, task_vars)
        second["changed"] = True
        second["round_trips"] = result["round_trips"] + second.get("round_trips", 0)
        if "diff" in result and "diff" in second:
            second["diff"]["before"] = result["diff"]["before"]
        warnings = [*result.get("warnings", []), *second.get("warnings", [])]
        if warnings:
            second["warnings"] = warnings
        return second

    def _applied(self, result: Mapping[str, Any]) -> bool:
        return bool(result.get("changed")) and not result.get("failed") and not self._task.check_mode

    def _run_pipelines(self, pipelines: list[Pipeline], task_vars: dict[str, Any] | None) -> Observed:
        if self._plan is not None and any(p.changes for p in pipelines):
            message = self.progress(self._args, self._plan)
            if message:
                # On stderr, with warnings: stdout belongs to the callback (a JSON one included).
                display.display(f"{self._task.get_name()}: {message}", stderr=True)
        return super()._run_pipelines(pipelines, task_vars)

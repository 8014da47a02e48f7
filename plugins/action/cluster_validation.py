# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ``pbxops.wsfc.cluster_validation``; the verdict is read in
``plugin_utils.validation_report``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import (
    Observed,
    PipelineAction,
    Plan,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.validation_report import (
    plan_validation,
    verdict_warnings,
)

CHECK_MODE_WARNING = (
    "check mode: Test-Cluster did not run, since it writes its report on the host; "
    "run without check mode to validate"
)


class ActionModule(PipelineAction):
    argument_spec = {
        "nodes": {"type": "list", "elements": "str", "required": True},
        "include": {
            "type": "list",
            "elements": "str",
            "default": ["Inventory", "Network", "System Configuration"],
        },
        "ignore": {"type": "list", "elements": "str", "default": []},
        "accepted_warnings": {"type": "list", "elements": "str", "default": []},
        "fail_on_warnings": {"type": "bool", "default": True},
        "report_name": {"type": "str"},
    }
    second_hop = "Test-Cluster over several nodes"

    def read_pipelines(self, args: Mapping[str, Any]) -> list[Pipeline]:
        return []

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        plan: Plan = plan_validation(args, observed)
        return plan

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        # The report Test-Cluster writes is no change of the nodes: validation is never "changed".
        result["changed"] = False
        result.pop("diff", None)
        if result.get("failed"):
            return result
        if self._task.check_mode:
            result["warnings"] = [CHECK_MODE_WARNING]
        else:
            warnings: list[str] = verdict_warnings(result["state"])
            if warnings:
                result["warnings"] = warnings
        return result

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxops.wsfc.cluster_group: bring a cluster group online or offline, or move it to a node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_group_planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Plan
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_action import WsfcAction


class ActionModule(WsfcAction):
    planner = cluster_group_planner
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["online", "offline"]},
        "node": {"type": "str"},
        "wait": {"type": "int", "default": 120},
        "cluster": {"type": "str"},
    }
    required_one_of = [("state", "node")]

    def progress(self, args: Mapping[str, Any], plan: Plan) -> str | None:
        steps = [p.name for p in plan.changes[:-1]]
        return f"{' then '.join(steps)} (waiting up to {args['wait']} s for each)"

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        if not self._applied(result):
            return result
        shortfall = cluster_group_planner.shortfall(self._args, result["state"])
        if shortfall is not None:
            result.update(failed=True, msg=shortfall)
        return result

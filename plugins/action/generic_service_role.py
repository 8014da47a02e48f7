# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxops.wsfc.generic_service_role: a Generic Service role with its addresses, storage and policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import generic_service_role_planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Plan
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_action import WsfcAction


class ActionModule(WsfcAction):
    planner = generic_service_role_planner
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "service_name": {"type": "str"},
        "static_address": {"type": "list", "elements": "str"},
        "storage": {"type": "list", "elements": "str"},
        "checkpoint_keys": {"type": "list", "elements": "str", "no_log": False},
        "startup_parameters": {"type": "str"},
        "use_network_name": {"type": "bool"},
        "dependencies": {"type": "list", "elements": "str"},
        "preferred_owners": {"type": "list", "elements": "str"},
        "possible_owners": {"type": "list", "elements": "str"},
        "failover_threshold": {"type": "int"},
        "failover_period": {"type": "int"},
        "auto_failback": {"type": "bool"},
        "restart_action": {"type": "str", "choices": ["no_restart", "restart", "restart_then_failover"]},
        "restart_threshold": {"type": "int"},
        "restart_period": {"type": "int"},
        "restart_delay": {"type": "int"},
        "retry_period_on_failure": {"type": "int"},
        "pending_timeout": {"type": "int"},
        "wait": {"type": "int"},
        "cluster": {"type": "str"},
    }
    required_if = [("state", "present", ("service_name",))]

    def follow_up(self, args: Mapping[str, Any], plan: Plan) -> bool:
        del args
        return bool(generic_service_role_planner.follow_up(plan))

    def progress(self, args: Mapping[str, Any], plan: Plan) -> str | None:
        if generic_service_role_planner.follow_up(plan):
            return f"creating role {args['name']} and bringing it online"
        return None

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        # Creating the role creates its network name's computer object in Active Directory.
        present = self._task.args.get("state", "present") == "present"
        self.second_hop = "Add-ClusterGenericServiceRole" if present else None
        result: dict[str, Any] = super().run(tmp, task_vars)
        return result

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxops.wsfc.cluster: create or remove a failover cluster, join its nodes, set its common properties."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Plan
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_action import WsfcAction


class ActionModule(WsfcAction):
    planner = cluster_planner
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "nodes": {"type": "list", "elements": "str"},
        "static_address": {"type": "list", "elements": "str"},
        "ignore_network": {"type": "list", "elements": "str"},
        "administrative_access_point": {
            "type": "str",
            "choices": ["active_directory_and_dns", "dns", "none", "active_directory"],
        },
        "rejoin_down_nodes": {"type": "bool", "default": True},
        "cleanup_ad": {"type": "bool", "default": False},
        **{option: {"type": "int"} for option in cluster_planner.COMMON_PROPERTIES},
    }
    required_if = [("state", "present", ("nodes",))]
    absent_when_fails = cluster_planner.CLUSTER

    def progress(self, args: Mapping[str, Any], plan: Plan) -> str | None:
        if not plan.before.get("exists"):
            return f"creating cluster {args['name']} on {args['nodes'][0]} (this takes a minute or more)"
        return None

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        # Creating and joining reach the other nodes and AD; so does removing the computer objects.
        args = self._task.args
        hop: str | None = None
        if args.get("state", "present") == "present":
            hop = "New-Cluster and Add-ClusterNode"
        elif args.get("cleanup_ad"):
            hop = "Remove-Cluster -CleanupAD"
        self.second_hop = hop
        result: dict[str, Any] = super().run(tmp, task_vars)
        return result

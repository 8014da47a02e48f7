# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxops.wsfc.cluster_node: pause (drain), resume (failback) or evict a cluster node."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_node_planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Plan
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_action import WsfcAction, display
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_common import find_named


class ActionModule(WsfcAction):
    planner = cluster_node_planner
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "required": True, "choices": ["paused", "resumed", "absent"]},
        "cluster": {"type": "str"},
        "drain": {"type": "bool", "default": True},
        "force_drain": {"type": "bool", "default": False},
        "target_node": {"type": "str"},
        "drain_timeout": {"type": "int", "default": 600},
        "failback": {"type": "str", "choices": ["no_failback", "immediate", "policy"]},
        "cleanup_disks": {"type": "bool", "default": False},
    }

    # Seconds between two reads of DrainStatus while a drain runs (Suspend-ClusterNode's -Wait
    # switch waits without a limit, so the wait and its timeout are the controller's).
    poll_interval = 2.0

    def progress(self, args: Mapping[str, Any], plan: Plan) -> str | None:
        if cluster_node_planner.wants_drain_wait(args, plan):
            return f"pausing {args['name']} and draining its roles (waiting up to {args['drain_timeout']} s)"
        return None

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        # Only evicting reaches other nodes; pausing and resuming work over a plain logon.
        self.second_hop = "Remove-ClusterNode" if self._task.args.get("state") == "absent" else None
        result: dict[str, Any] = super().run(tmp, task_vars)
        if result.get("failed") or self._task.check_mode or self._plan is None:
            return result
        if cluster_node_planner.wants_drain_wait(self._args, self._plan):
            self._wait_for_drain(self._args, result, task_vars)
        return result

    def _wait_for_drain(self, args: Mapping[str, Any], result: dict[str, Any], task_vars: Any) -> None:
        """Reads DrainStatus until the drain ends or ``drain_timeout`` passes; the result says which."""
        deadline = time.monotonic() + args["drain_timeout"]
        started = time.monotonic()
        while True:
            observed = self._run_pipelines([cluster_node_planner.node_read(args)], task_vars)
            result["round_trips"] += 1
            node = find_named(observed["node"], args["name"])
            result["state"] = cluster_node_planner.node_state(node)
            outcome = cluster_node_planner.drain_outcome(node)
            if outcome == "Completed":
                return
            if outcome == "Failed":
                status = (node or {}).get("StatusInformation")
                result.update(
                    failed=True,
                    msg=(
                        f"the drain of {args['name']} failed (DrainStatus Failed, StatusInformation "
                        f"{status}); the node stays paused. Find the role that could not move with "
                        "pbxops.wsfc.cluster_info or Get-ClusterLog, then run again, or set force_drain: "
                        "true to move it regardless"
                    ),
                )
                return
            if time.monotonic() >= deadline:
                result.update(
                    failed=True,
                    msg=(
                        f"the drain of {args['name']} is still in progress after {args['drain_timeout']} s; "
                        "the node is paused and its roles are still moving. Run the task again to keep "
                        "waiting, or raise drain_timeout"
                    ),
                )
                return
            display.display(
                f"{self._task.get_name()}: drain of {args['name']} in progress "
                f"({int(time.monotonic() - started)} s of {args['drain_timeout']} s)",
                stderr=True,
            )
            time.sleep(self.poll_interval)

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxops.wsfc.cluster_info: the whole failover cluster as data, read in one round trip."""

from __future__ import annotations

from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_info_reader
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_action import WsfcAction


class ActionModule(WsfcAction):
    planner = cluster_info_reader
    argument_spec = {
        "cluster": {"type": "str"},
        "events": {"type": "int", "default": 20},
    }
    absent_when_fails = cluster_info_reader.CLUSTER

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        if self.absent_reason and not result.get("failed"):
            result["state"]["reason"] = self.absent_reason
        return result

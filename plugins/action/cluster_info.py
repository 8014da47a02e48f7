# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxops.wsfc.cluster_info: the whole failover cluster as data, read in one round trip."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_info_reader
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import Observed, observed_from
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_action import WsfcAction


class ActionModule(WsfcAction):
    planner = cluster_info_reader
    argument_spec = {
        "cluster": {"type": "str"},
        "events": {"type": "int", "default": 20},
    }
    absent_when_fails = cluster_info_reader.CLUSTER
    events_failure: str | None = None

    def recover_read(self, args: Mapping[str, Any], failure: Mapping[str, Any]) -> Observed | None:
        if failure.get("pipeline") == cluster_info_reader.EVENTS:
            self.events_failure = str(failure.get("msg", ""))
            recovered: Observed = observed_from(failure)
            return recovered
        recovered_cluster: Observed | None = super().recover_read(args, failure)
        return recovered_cluster

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self.events_failure = None
        result: dict[str, Any] = super().run(tmp, task_vars)
        if result.get("failed"):
            return result
        if self.absent_reason:
            result["state"]["reason"] = self.absent_reason
        if self.events_failure:
            result.setdefault("warnings", []).append(
                f"the cluster's events could not be read, the rest of the cluster was: {self.events_failure}"
            )
        return result

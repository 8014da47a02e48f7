# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ``pbxops.wsfc.iscsi_target``; the planning is in ``plugin_utils.iscsi_plan``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.iscsi_plan import (
    initiator_stopped,
    plan_iscsi_target,
    read_iscsi,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import (
    Observed,
    PipelineAction,
    Plan,
    observed_from,
)


class ActionModule(PipelineAction):
    argument_spec = {
        "portal": {"type": "str", "required": True},
        "port": {"type": "int", "default": 3260},
        "target": {"type": "str", "required": True},
        "persistent": {"type": "bool", "default": True},
        "multipath": {"type": "bool", "default": False},
        "chap_username": {"type": "str"},
        "chap_secret": {"type": "str", "no_log": True},
    }
    required_together = [("chap_username", "chap_secret")]

    def read_pipelines(self, args: Mapping[str, Any]) -> list[Pipeline]:
        pipelines: list[Pipeline] = read_iscsi()
        return pipelines

    def recover_read(self, args: Mapping[str, Any], failure: Mapping[str, Any]) -> Observed | None:
        if not initiator_stopped(failure):
            return None
        recovered: Observed = observed_from(failure)
        return recovered

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        plan: Plan = plan_iscsi_target(args, observed)
        return plan

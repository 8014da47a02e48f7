# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ``pbxops.wsfc.storage_space``; the planning is in ``plugin_utils.storage_space_plan``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import (
    Observed,
    PipelineAction,
    Plan,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.storage_space_plan import (
    check_space_arguments,
    plan_storage_space,
    read_storage_spaces,
)


class ActionModule(PipelineAction):
    argument_spec = {
        "pool": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
        "physical_disks": {"type": "list", "elements": "str"},
        "resiliency": {"type": "str", "choices": ["simple", "mirror", "parity"], "default": "mirror"},
        "columns": {"type": "int"},
        "size": {"type": "int"},
        "provisioning": {"type": "str", "choices": ["fixed", "thin"], "default": "fixed"},
    }

    def check_arguments(self, args: Mapping[str, Any]) -> Mapping[str, Any]:
        check_space_arguments(args)
        return args

    def read_pipelines(self, args: Mapping[str, Any]) -> list[Pipeline]:
        pipelines: list[Pipeline] = read_storage_spaces()
        return pipelines

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        plan: Plan = plan_storage_space(args, observed)
        return plan

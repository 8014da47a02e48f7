# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ``pbxops.wsfc.disk``; the planning is in ``plugin_utils.disk_plan``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.disk_plan import (
    checked_arguments,
    plan_disk,
    read_disks,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import (
    Observed,
    PipelineAction,
    Plan,
)


class ActionModule(PipelineAction):
    argument_spec = {
        "unique_id": {"type": "str", "required": True},
        "partition_style": {"type": "str", "choices": ["gpt", "mbr"], "default": "gpt"},
        "file_system": {"type": "str", "choices": ["ntfs", "refs"], "default": "ntfs"},
        "allocation_unit_size": {"type": "int"},
        "label": {"type": "str"},
        "drive_letter": {"type": "str"},
        "force": {"type": "bool", "default": False},
    }

    def check_arguments(self, args: Mapping[str, Any]) -> Mapping[str, Any]:
        checked: dict[str, Any] = checked_arguments(args)
        return checked

    def read_pipelines(self, args: Mapping[str, Any]) -> list[Pipeline]:
        pipelines: list[Pipeline] = read_disks()
        return pipelines

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        plan: Plan = plan_disk(args, observed)
        return plan

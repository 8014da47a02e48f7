# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ``pbxops.wsfc.preflight``: the rules in ``plugin_utils.preflight_rules``, on
the controller, over facts the nodes already reported; it never contacts a host."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import (
    Observed,
    PipelineAction,
    Plan,
    PlanError,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.preflight_rules import (
    check_cluster,
    check_preflight_arguments,
    preflight_summary,
    violations_message,
)


class ActionModule(PipelineAction):
    _requires_connection = False
    argument_spec = {
        "nodes": {"type": "list", "elements": "dict", "required": True},
        "cluster_name": {"type": "str", "required": True},
        "cluster_ip": {"type": "str", "required": True},
        "public_subnet": {"type": "str", "required": True},
        "private_subnet": {"type": "str", "required": True},
        "roles": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "name": {"type": "str", "required": True},
                "ips": {"type": "list", "elements": "str", "default": []},
            },
        },
        "shared_disks": {"type": "list", "elements": "str", "default": []},
        "witness_disk": {"type": "str"},
        "addresses_in_use": {"type": "list", "elements": "str", "default": []},
    }

    def check_arguments(self, args: Mapping[str, Any]) -> Mapping[str, Any]:
        check_preflight_arguments(args)
        return args

    def read_pipelines(self, args: Mapping[str, Any]) -> list[Pipeline]:
        return []

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        violations = check_cluster(args)
        if violations:
            raise PlanError(violations_message(violations), violations=[v.as_dict() for v in violations])
        summary: dict[str, Any] = preflight_summary(args)
        return Plan(changes=(), before=summary, after=summary, extra={"violations": []})

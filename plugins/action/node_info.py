# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ``pbxops.wsfc.node_info``; the facts are made in ``plugin_utils.node_facts``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.node_facts import (
    node_facts,
    read_cluster,
    read_node,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import (
    Observed,
    PipelineAction,
    Plan,
)


class ActionModule(PipelineAction):
    argument_spec: dict[str, Any] = {}

    def read_pipelines(self, args: Mapping[str, Any]) -> list[Pipeline]:
        pipelines: list[Pipeline] = read_node()
        return pipelines

    def read_more(self, args: Mapping[str, Any], observed: Observed) -> list[Pipeline]:
        pipelines: list[Pipeline] = read_cluster(observed)
        return pipelines

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        facts = node_facts(observed)
        return Plan(changes=(), before=facts, after=facts)

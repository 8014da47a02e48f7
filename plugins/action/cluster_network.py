# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxops.wsfc.cluster_network: name a cluster network, found by its subnet, and set its role."""

from __future__ import annotations

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_network_planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_action import WsfcAction


class ActionModule(WsfcAction):
    planner = cluster_network_planner
    argument_spec = {
        "subnet": {"type": "str", "required": True},
        "name": {"type": "str"},
        "role": {"type": "str", "choices": ["none", "cluster", "cluster_and_client"]},
        "cluster": {"type": "str"},
    }
    required_one_of = [("name", "role")]

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxops.wsfc.cluster_disk: a disk, found by its unique id, becomes a named cluster disk."""

from __future__ import annotations

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_disk_planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_action import WsfcAction


class ActionModule(WsfcAction):
    planner = cluster_disk_planner
    argument_spec = {
        "unique_id": {"type": "str", "required": True},
        "name": {"type": "str"},
    }

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxops.wsfc.cluster_quorum: a disk witness, a file share witness, or node majority."""

from __future__ import annotations

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_quorum_planner
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_action import WsfcAction


class ActionModule(WsfcAction):
    planner = cluster_quorum_planner
    argument_spec = {
        "witness": {"type": "str", "required": True, "choices": ["none", "disk", "file_share"]},
        "disk": {"type": "str"},
        "file_share": {"type": "str"},
        "cluster": {"type": "str"},
    }
    required_if = [("witness", "disk", ("disk",)), ("witness", "file_share", ("file_share",))]
    mutually_exclusive = [("disk", "file_share")]

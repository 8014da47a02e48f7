#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cluster_group
short_description: Bring a failover cluster group online or offline, or move it to a node
description:
  - Brings a cluster group (a role, such as the PBX's Generic Service role) online with
    C(Start-ClusterGroup) or offline with C(Stop-ClusterGroup), and moves it to a node with
    C(Move-ClusterGroup).
  - Each cmdlet waits for the group up to O(wait) seconds (its C(-Wait) parameter) and returns the
    group as it then is. When the group has not reached what was asked, the task fails and says what
    it is, and running it again waits again.
  - The result reports the owner and state of the group and of every resource in it, as they are
    after the changes.
  - When both are asked, an offline group is stopped before it moves, and a group to be online
    moves before it starts, so that it starts once.
version_added: 0.1.0
options:
  name:
    description:
      - The name of the group.
    type: str
    required: true
  state:
    description:
      - Whether the group should be V(online) or V(offline). A group that is C(Failed),
        C(PartialOnline) or C(Pending) is started again for V(online).
    type: str
    choices: [online, offline]
  node:
    description:
      - The node the group should be on. The node must be C(Up).
    type: str
  wait:
    description:
      - Seconds each cmdlet waits for the group to reach its state; V(0) returns at once.
    type: int
    default: 120
  cluster:
    description:
      - The cluster to connect to, by name, when the task does not run on one of its nodes.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - pbxops.wsfc.common
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - At least one of O(state) and O(node) is required.
  - Resources come online in the order of their dependencies and go offline in the reverse order.
  - Moving the PBX role drops the calls in progress; move it in a quiet hour.
seealso:
  - module: pbxops.wsfc.cluster_node
  - module: pbxops.wsfc.generic_service_role
  - module: pbxops.wsfc.cluster_info
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Fail the PBX over to the second node and make sure it runs there
  pbxops.wsfc.cluster_group:
    name: PBX
    node: PBX-N2
    state: online
    wait: 180
  run_once: true

- name: Take the PBX offline for maintenance
  pbxops.wsfc.cluster_group:
    name: PBX
    state: offline
  run_once: true
"""

RETURN = r"""
state:
  description: The group and every resource in it.
  returned: success, and when the group did not reach its state in time
  type: dict
  sample:
    name: PBX
    owner_node: PBX-N2
    state: Online
    resources:
      PBX: {state: Online, owner_node: PBX-N2, resource_type: Network Name}
      IP Address 10.0.1.30: {state: Online, owner_node: PBX-N2, resource_type: IP Address}
      PBX-Data: {state: Online, owner_node: PBX-N2, resource_type: Physical Disk}
      PBX Service: {state: Online, owner_node: PBX-N2, resource_type: Generic Service}
"""

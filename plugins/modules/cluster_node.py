#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cluster_node
short_description: Pause (drain), resume (fail back) or evict a failover cluster node
description:
  - V(paused) pauses a node with C(Suspend-ClusterNode), by default draining its roles to the other
    nodes first, and waits until the drain is over (C(DrainStatus) C(Completed)) or O(drain_timeout)
    passes, showing its progress. A drain that fails fails the task, with the node left paused.
  - V(resumed) resumes a paused node with C(Resume-ClusterNode), failing its roles back as
    O(failback) says.
  - V(absent) evicts the node from the cluster with C(Remove-ClusterNode -Force).
  - A node that is C(Down) or C(Joining) can be neither paused nor resumed; the module says so and
    changes nothing.
version_added: 0.1.0
options:
  name:
    description:
      - The node, by its NetBIOS name.
    type: str
    required: true
  state:
    description:
      - What the node should be.
    type: str
    required: true
    choices: [paused, resumed, absent]
  cluster:
    description:
      - The cluster to connect to, by name, when the task does not run on one of its nodes.
    type: str
  drain:
    description:
      - With O(state=paused), whether the node's roles are moved to other nodes first.
    type: bool
    default: true
  force_drain:
    description:
      - With O(drain), move the roles even when some of them cannot be moved gracefully
        (C(-ForceDrain)).
    type: bool
    default: false
  target_node:
    description:
      - With O(drain), the node the roles are moved to; by default the cluster chooses.
    type: str
  drain_timeout:
    description:
      - Seconds to wait for the drain to end. When it has not ended by then the task fails, the node
        stays paused and its roles keep moving; running the task again keeps waiting without
        starting another drain.
      - C(Suspend-ClusterNode -Wait) waits without a limit, so the module waits by reading
        C(DrainStatus) every two seconds instead.
    type: int
    default: 600
  failback:
    description:
      - With O(state=resumed), whether the roles drained from the node come back to it;
        V(no_failback) leaves them, V(immediate) moves them back at once, V(policy) follows each
        role's failback policy. By default Windows' default applies.
    type: str
    choices: [no_failback, immediate, policy]
  cleanup_disks:
    description:
      - With O(state=absent), also clean the cluster disks' reservations on the evicted node
        (C(-CleanupDisks)).
    type: bool
    default: false
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
  - While a drain runs the module reads the node once every two seconds, so RV(round_trips) grows
    with the length of the drain.
  - Evicting a node reaches the other nodes (the double hop), so O(state=absent) needs
    C(become=true) with C(become_method=runas) and a domain account, or CredSSP, or Kerberos
    delegation; without them the module fails before it contacts the host. Pausing and resuming
    work over a plain logon.
seealso:
  - module: pbxops.wsfc.cluster
  - module: pbxops.wsfc.cluster_group
  - name: Suspend-ClusterNode
    description: The cmdlet the module pauses and drains with.
    link: https://learn.microsoft.com/powershell/module/failoverclusters/suspend-clusternode
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Drain the node before patching it
  pbxops.wsfc.cluster_node:
    name: PBX-N1
    state: paused
    drain_timeout: 300

- name: Bring it back and let the PBX fail back at once
  pbxops.wsfc.cluster_node:
    name: PBX-N1
    state: resumed
    failback: immediate

- name: Evict a node that is being retired
  pbxops.wsfc.cluster_node:
    name: PBX-N3
    state: absent
  become: true
  become_method: runas
"""

RETURN = r"""
state:
  description:
    - The node; C(member) is false when it is not a node of the cluster.
  returned: success, and when the drain failed or timed out
  type: dict
  sample:
    member: true
    name: PBX-N1
    state: Paused
    drain_status: Completed
    node_weight: 1
    dynamic_weight: 1
"""

#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cluster_network
short_description: Name a failover cluster network, found by its subnet, and set its role
description:
  - Windows makes one cluster network for each subnet of the nodes' connected adapters and names them
    C(Cluster Network 1), C(Cluster Network 2), ... in the order it finds them. This module finds the
    network by its subnet, names it and sets its role.
  - The role says what the cluster uses the network for; the PBX plan uses V(cluster_and_client) for
    the public network, V(cluster) for the private heartbeat network and V(none) for the iSCSI
    network.
version_added: 0.1.0
options:
  subnet:
    description:
      - The network's subnet in CIDR form, such as C(10.0.1.0/24).
    type: str
    required: true
  name:
    description:
      - The name the network should have.
    type: str
  role:
    description:
      - V(none) keeps cluster traffic off the network; V(cluster) carries heartbeats and cluster
        communication only; V(cluster_and_client) also lets clients reach the roles' addresses.
      - Role addresses (IP Address resources) come online only on networks with client access.
    type: str
    choices: [none, cluster, cluster_and_client]
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
  - At least one of O(name) and O(role) is required.
  - The role is assigned as its number, which every Windows Server version accepts. The client-only
    role (2) is not offered; Microsoft does not support it.
seealso:
  - module: pbxops.wsfc.cluster
  - module: pbxops.wsfc.cluster_info
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Public network, for clients and the cluster
  pbxops.wsfc.cluster_network:
    subnet: 10.0.1.0/24
    name: Public
    role: cluster_and_client
  run_once: true

- name: Private heartbeat network
  pbxops.wsfc.cluster_network:
    subnet: 10.0.2.0/24
    name: Heartbeat
    role: cluster
  run_once: true

- name: Keep the cluster off the iSCSI network
  pbxops.wsfc.cluster_network:
    subnet: 10.0.3.0/24
    name: iSCSI
    role: none
  run_once: true
"""

RETURN = r"""
state:
  description: The network.
  returned: success
  type: dict
  sample:
    name: Heartbeat
    subnet: 10.0.2.0/24
    role: cluster
    state: Up
"""

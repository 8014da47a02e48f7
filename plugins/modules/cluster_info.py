#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cluster_info
short_description: Read a whole failover cluster as data
description:
  - Reads, in one round trip, the cluster's common properties, nodes, networks and network
    interfaces, quorum, groups with their owners and preferred owners, resources with their states,
    owners, possible owners, dependencies and private parameters, and the cluster service's recent
    events from the System log.
  - Changes nothing.
  - When there is no cluster to read (the host is in none, or the cluster named O(cluster) cannot be
    reached) the result says so, with Windows' reason, rather than failing, so a play can decide
    what to do.
version_added: 0.1.0
options:
  cluster:
    description:
      - The cluster to read, by name; by default the cluster of the host.
    type: str
  events:
    description:
      - How many of the most recent events of the cluster service (source
        C(Microsoft-Windows-FailoverClustering) in the System log) to return; V(0) reads none.
      - When the events cannot be read (an account without access to the event log), the rest of the
        cluster is returned and a warning says why.
    type: int
    default: 20
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - pbxops.wsfc.common
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
seealso:
  - module: pbxops.wsfc.node_info
  - module: pbxops.wsfc.cluster_group
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Read the cluster
  pbxops.wsfc.cluster_info:
  register: cluster
  run_once: true

- name: Show where the PBX runs
  ansible.builtin.debug:
    msg: "{{ (cluster.state.groups | selectattr('name', 'eq', 'PBX') | first).owner_node }}"
  when: cluster.state.exists
"""

RETURN = r"""
state:
  description:
    - The cluster. C(exists) is false when there is none, and C(reason) then says why.
    - C(nodes), C(networks), C(network_interfaces), C(groups) and C(resources) are lists of maps;
      states and types are the names Windows gives them.
  returned: success
  type: dict
  sample:
    exists: true
    name: PBXCL
    domain: pbx.lab
    common_properties: {same_subnet_delay: 1000, same_subnet_threshold: 10}
    nodes: [{name: PBX-N1, state: Up, node_weight: 1, dynamic_weight: 1, drain_status: NotInitiated}]
    networks: [{name: Public, subnet: 10.0.1.0/24, role: cluster_and_client, state: Up, metric: 70240}]
    quorum: {quorum_type: Majority, witness: Witness}
    groups:
      - name: PBX
        owner_node: PBX-N1
        state: Online
        group_type: GenericService
        preferred_owners: [PBX-N1, PBX-N2]
        resources: [PBX, IP Address 10.0.1.30, PBX-Data, PBX Service]
    resources:
      - name: PBX Service
        state: Online
        owner_group: PBX
        owner_node: PBX-N1
        resource_type: Generic Service
        dependency_expression: "[PBX] and [PBX-Data]"
        possible_owners: [PBX-N1, PBX-N2]
        parameters: {ServiceName: pbxd, StartupParameters: "", UseNetworkName: 1}
    events:
      - {time: "2026-12-01T21:00:00.0000000Z", event_id: 1069, level: Error, node: PBX-N1, message: "..."}
"""

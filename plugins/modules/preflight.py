#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: preflight
short_description: Check that a set of Windows nodes can form a failover cluster
description:
  - Checks the nodes of one cluster together, from the facts M(pbxops.wsfc.node_info) gathered on
    each, against the cluster's desired settings, and reports B(every) violation at once, each with
    the node, the field, the value found and what is expected.
  - It runs on the controller and changes nothing; it never contacts a host.
  - "The rules: every name (cluster, roles, nodes) a valid NetBIOS name of at most 15 characters;
    the same OS version, build, edition and architecture on every node; every node joined to the
    same domain; at least two connected NICs on every node, exactly one in the public subnet and one
    in the private subnet; the two subnets distinct and not overlapping; the cluster IP and every role
    IP inside the public subnet, neither its network nor its broadcast address, no node's address, not
    in use and not repeated; the shared disks and the witness visible on every node with the same
    unique id, basic, not the boot or system disk; a witness of at least 512 MB; Failover Clustering
    installed or installable on every node."
version_added: 0.1.0
options:
  nodes:
    description:
      - The facts of every node of the cluster, as M(pbxops.wsfc.node_info) returns them.
      - Each element is either the registered result of M(pbxops.wsfc.node_info) or its RV(state).
    type: list
    elements: dict
    required: true
  cluster_name:
    description:
      - The name of the cluster, its network name in DNS and Active Directory.
    type: str
    required: true
  cluster_ip:
    description:
      - The static IPv4 address of the cluster's network name.
    type: str
    required: true
  public_subnet:
    description:
      - The client-facing subnet in CIDR form, for example C(10.0.1.0/24). The cluster and role
        addresses belong to it.
    type: str
    required: true
  private_subnet:
    description:
      - The subnet of the private cluster network (heartbeats) in CIDR form.
    type: str
    required: true
  roles:
    description:
      - The clustered roles the cluster will host, with their static addresses.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - The role's network name.
        type: str
        required: true
      ips:
        description:
          - The role's static IPv4 addresses.
        type: list
        elements: str
        default: []
  shared_disks:
    description:
      - The unique ids of the disks the cluster will share (the C(unique_id) of each disk
        M(pbxops.wsfc.node_info) reports).
    type: list
    elements: str
    default: []
  witness_disk:
    description:
      - The unique id of the disk witness, checked like a shared disk and for its size.
    type: str
  addresses_in_use:
    description:
      - Addresses known to be taken by other hosts (from an address plan or a scan); the cluster and
        role addresses must not be among them. The nodes' own addresses are always checked.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - pbxops.wsfc.common
attributes:
  check_mode:
    support: full
    details: The module changes nothing, in check mode as otherwise.
  diff_mode:
    support: none
  platform:
    platforms: windows
    details: The checks run on the controller, over facts gathered on Windows nodes.
notes:
  - Run it once per cluster (C(run_once), or on one node of the cluster's group) with the facts of
    all its nodes, as the collection's C(preflight) role does.
  - Whether an address answers on the network cannot be known from the facts; pass what your address
    plan or a scan knows as O(addresses_in_use).
seealso:
  - module: pbxops.wsfc.node_info
  - module: pbxops.wsfc.cluster_validation
  - name: Failover clustering hardware requirements and storage options
    description: Microsoft's prerequisites for a failover cluster.
    link: https://learn.microsoft.com/windows-server/failover-clustering/clustering-requirements
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Gather the facts of every node
  pbxops.wsfc.node_info:
  register: node

- name: Check the nodes of the cluster together
  pbxops.wsfc.preflight:
    nodes: "{{ ansible_play_hosts | map('extract', hostvars, 'node') | list }}"
    cluster_name: PBX-CL
    cluster_ip: 10.0.1.20
    public_subnet: 10.0.1.0/24
    private_subnet: 10.0.2.0/24
    roles:
      - name: PBX
        ips: [10.0.1.21]
    shared_disks: [60003FF44DC75ADC8C1D2B0B0B0B0B02]
    witness_disk: 60003FF44DC75ADC8C1D2B0B0B0B0B01
  run_once: true
"""

RETURN = r"""
state:
  description: What was checked.
  returned: success
  type: dict
  sample:
    cluster_name: PBX-CL
    nodes: [PBX-N1, PBX-N2]
    rules: [names, same_os, domain, subnets, nics, addresses, disks, witness, feature]
violations:
  description:
    - Every violation found, in the order of the rules and of the nodes; empty on success.
    - C(node) is the node's name, or C(cluster) for a setting of the cluster itself.
  returned: when the rules ran (success, or failure for violations)
  type: list
  elements: dict
  sample:
    - node: PBX-N2
      field: os.build
      found: "'17763'"
      expected: "'20348' as on PBX-N1"
      message: "PBX-N2: os.build is '17763'; expected '20348' as on PBX-N1"
"""

#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cluster
short_description: Create a Windows Server failover cluster, join its nodes and set its common properties
description:
  - Makes sure a failover cluster exists with the nodes listed in O(nodes), or that it does not exist.
  - When the cluster does not exist, it is created on the first node of O(nodes) with
    C(New-Cluster -NoStorage), with the static addresses and ignored networks given, and the other
    nodes then join with C(Add-ClusterNode -NoStorage). No disk is clustered on the way; add each
    shared disk by its unique id with M(pbxops.wsfc.cluster_disk).
  - When the cluster exists, the nodes of O(nodes) that are not members join it. A listed node
    that the cluster shows as C(Down) is evicted and joins again (see O(rejoin_down_nodes)). Members
    that are not listed are left alone; evict them with M(pbxops.wsfc.cluster_node).
  - The cluster's common properties (heartbeat delay and threshold on the same subnet and across
    subnets, node quarantine) are set to the values given, leaving the others as they are; the diff
    shows their old and new values.
  - Run the task on one node only, for example with C(run_once=true) on the first node.
version_added: 0.1.0
options:
  name:
    description:
      - The name of the cluster, which is also the computer name of its cluster name object in
        Active Directory, so a NetBIOS name of at most 15 characters.
    type: str
    required: true
  state:
    description:
      - V(present) creates the cluster and joins the nodes; V(absent) destroys the cluster with
        C(Remove-Cluster -Force).
    type: str
    default: present
    choices: [present, absent]
  nodes:
    description:
      - The nodes of the cluster, by NetBIOS name. The first one creates it.
      - Required when O(state=present).
    type: list
    elements: str
  static_address:
    description:
      - The IPv4 addresses of the cluster name, one on each cluster network that has no DHCP.
      - Used when the cluster is created; changing it later is not done by this module.
    type: list
    elements: str
  ignore_network:
    description:
      - Networks, in CIDR form such as C(10.0.9.0/24), that the cluster must not use for its name
        when it is created (for example the iSCSI network).
    type: list
    elements: str
  administrative_access_point:
    description:
      - The kind of cluster name object created with the cluster. V(active_directory_and_dns) is
        Windows' default when the nodes are domain members; V(dns) registers the name in DNS only,
        V(none) creates no name (a detached cluster).
      - Used when the cluster is created.
    type: str
    choices: [active_directory_and_dns, dns, none, active_directory]
  rejoin_down_nodes:
    description:
      - Whether a listed node that the cluster shows as C(Down) is evicted and joined again.
      - A node that is merely switched off is C(Down) too, and joining it again fails until it is
        up; turn this off while nodes are being serviced.
    type: bool
    default: true
  cleanup_ad:
    description:
      - With O(state=absent), also delete the cluster name object and the role computer objects
        from Active Directory (C(Remove-Cluster -CleanupAD)).
    type: bool
    default: false
  same_subnet_delay:
    description:
      - Milliseconds between two heartbeats to a node on the same subnet (C(SameSubnetDelay)),
        250 to 2000.
    type: int
  same_subnet_threshold:
    description:
      - Heartbeats missed on the same subnet before a node is taken as down
        (C(SameSubnetThreshold)), 3 to 120.
    type: int
  cross_subnet_delay:
    description:
      - Milliseconds between two heartbeats to a node on another subnet (C(CrossSubnetDelay)),
        250 to 4000.
    type: int
  cross_subnet_threshold:
    description:
      - Heartbeats missed across subnets before a node is taken as down (C(CrossSubnetThreshold)),
        3 to 120.
    type: int
  quarantine_threshold:
    description:
      - Failures of a node within an hour before it is quarantined (C(QuarantineThreshold)).
    type: int
  quarantine_duration:
    description:
      - Seconds a quarantined node is kept out of the cluster (C(QuarantineDuration)).
    type: int
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - pbxops.wsfc.common
  - pbxops.wsfc.second_hop
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - When C(Get-Cluster -Name) cannot reach a cluster of that name, the module takes it as absent
    and plans to create it; C(New-Cluster) then reports why it cannot, for example when the name
    is already taken in Active Directory.
  - C(New-Cluster) writes warnings and the location of its report to the warning stream; they are
    shown as the task's warnings.
  - The common properties' ranges are those Microsoft documents for Windows Server 2012 R2 and
    later ("Tuning Failover Cluster Network Thresholds").
seealso:
  - module: pbxops.wsfc.cluster_node
  - module: pbxops.wsfc.cluster_disk
  - module: pbxops.wsfc.cluster_validation
  - module: pbxops.wsfc.cluster_info
  - name: New-Cluster
    description: The cmdlet the module creates the cluster with.
    link: https://learn.microsoft.com/powershell/module/failoverclusters/new-cluster
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Create the PBX cluster on the first node and join the second
  pbxops.wsfc.cluster:
    name: PBXCL
    nodes: [PBX-N1, PBX-N2]
    static_address: [10.0.1.20]
    ignore_network: [10.0.3.0/24]
  run_once: true
  become: true
  become_method: runas
  become_user: PBXLAB\deploy
  vars:
    ansible_become_password: "{{ vault_deploy_password }}"

- name: Detect a lost node sooner (5 missed heartbeats of 1 s)
  pbxops.wsfc.cluster:
    name: PBXCL
    nodes: [PBX-N1, PBX-N2]
    same_subnet_delay: 1000
    same_subnet_threshold: 5
  run_once: true
  become: true
  become_method: runas

- name: Destroy the cluster and its computer objects
  pbxops.wsfc.cluster:
    name: PBXCL
    state: absent
    cleanup_ad: true
  run_once: true
  become: true
  become_method: runas
"""

RETURN = r"""
state:
  description:
    - The cluster; C(exists) is false when there is none.
    - The common properties are given by the names of the module's options.
  returned: success
  type: dict
  sample:
    exists: true
    name: PBXCL
    domain: pbx.lab
    nodes: {PBX-N1: Up, PBX-N2: Up}
    same_subnet_delay: 1000
    same_subnet_threshold: 10
    cross_subnet_delay: 1000
    cross_subnet_threshold: 20
    quarantine_threshold: 3
    quarantine_duration: 7200
"""

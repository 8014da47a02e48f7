#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: node_info
short_description: Gather what a Windows node brings to a failover cluster
description:
  - Reads, in one round trip, what decides whether a Windows Server host can join a failover
    cluster, and what the cluster will see of it.
  - The operating system (caption, version, build, edition, architecture, installation type),
    domain membership, network adapters with their addresses, gateways and DNS servers, disks with
    their unique ids, the installed features, and cluster membership.
  - On a node whose Cluster service runs, the cluster's name and the node's state in it are read in
    a second round trip, since the cluster cmdlets fail on a node outside a cluster.
  - The facts are what M(pbxops.wsfc.preflight) checks across the nodes of a cluster.
version_added: 0.1.0
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - pbxops.wsfc.common
attributes:
  check_mode:
    support: full
    details: The module only reads, in check mode as otherwise.
  diff_mode:
    support: none
notes:
  - The installation type is derived from C(Win32_OperatingSystem.OperatingSystemSKU) (the Server
    Core values of Microsoft's PRODUCT_* list); a host whose SKU does not say is reported with
    RV(state.os.install_type=null).
  - Disks are those C(Get-Disk) lists. It never lists dynamic disks, and shared disks appear only
    once their iSCSI session or SAS path is connected; pool members of Storage Spaces leave the list.
seealso:
  - module: pbxops.wsfc.preflight
  - module: ansible.windows.setup
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Gather the facts of every node of the cluster
  pbxops.wsfc.node_info:
  register: node

- name: Show the disks each node sees
  ansible.builtin.debug:
    msg: "{{ node.state.disks | map(attribute='unique_id') | list }}"
"""

RETURN = r"""
state:
  description: The facts of the node.
  returned: success
  type: dict
  contains:
    hostname:
      description: The computer name.
      type: str
      sample: PBX-N1
    os:
      description: The operating system.
      type: dict
      sample:
        caption: Microsoft Windows Server 2022 Datacenter
        version: 10.0.20348
        build: "20348"
        edition: ServerDatacenter
        sku: 8
        install_type: Server
        architecture: 64-bit
        product_type: 3
    domain:
      description:
        - Domain membership. C(name) is the DNS name of the domain when C(joined), C(workgroup) the
          workgroup otherwise; C(role) is C(Win32_ComputerSystem.DomainRole) (3 for a member server).
      type: dict
      sample: {joined: true, name: pbx.lab, workgroup: null, role: 3}
    nics:
      description:
        - One entry per network adapter, with its addresses (every family, with prefix length and
          origin), its IPv4 addresses in CIDR form, its IPv4 default gateways and DNS servers.
      type: list
      elements: dict
      sample:
        - name: Public
          description: Microsoft Hyper-V Network Adapter
          index: 4
          status: Up
          mac: 00-15-5D-01-01-01
          addresses: [{address: 10.0.1.11, prefix_length: 24, family: IPv4, origin: Manual}]
          ipv4: [10.0.1.11/24]
          gateways: [10.0.1.1]
          dns_servers: [10.0.1.10]
    disks:
      description:
        - One entry per disk. Identify disks by C(unique_id); C(number) may change at each boot.
      type: list
      elements: dict
      sample:
        - number: 1
          unique_id: 60003FF44DC75ADC8C1D2B0B0B0B0B01
          friendly_name: MSFT Virtual Disk
          serial_number: 6E3A1B0C
          bus_type: iSCSI
          size: 21474836480
          partition_style: RAW
          partitions: 0
          offline: true
          read_only: true
          clustered: false
          boot: false
          system: false
    features:
      description:
        - The names of the installed Windows features, and the install state of Failover Clustering
          (C(Installed), C(Available), or C(Removed) when its payload was removed).
      type: dict
      sample: {installed: [FileAndStorage-Services, Storage-Services], failover_clustering: Available}
    cluster:
      description:
        - Cluster membership. C(service) is the state of the Cluster service (null when Failover
          Clustering is not installed); C(name), C(node_state) and C(drain_status) are set on a node
          whose Cluster service runs.
      type: dict
      sample: {service: Running, name: PBX-CL, node_state: Up, drain_status: NotInitiated}
"""

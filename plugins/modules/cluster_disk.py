#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cluster_disk
short_description: Make a shared disk, found by its unique id, a named cluster disk
description:
  - Finds the disk by its C(UniqueId) (as C(Get-Disk) reports it), never by its number, which
    changes between restarts and differs between nodes.
  - A disk that is not clustered is added to the cluster (C(Add-ClusterDisk)), into the
    C(Available Storage) group, and its Physical Disk resource gets the name O(name) by assignment.
    A disk that is clustered under another name is renamed.
  - The disk's resource is recognised by its C(DiskIdGuid) (GPT) or C(DiskSignature) (MBR)
    parameter, as Windows links them.
version_added: 0.1.0
options:
  unique_id:
    description:
      - The disk's C(UniqueId), for example from M(pbxops.wsfc.node_info).
    type: str
    required: true
  name:
    description:
      - The name of the disk's cluster resource, for example C(PBX-Data) or C(Witness).
      - When omitted, a new cluster disk keeps the name Windows gives it (C(Cluster Disk 1), ...) and
        a clustered disk keeps its name; RV(state.name) says which it is.
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
  - Run the task on a node that sees the disk. Prepare the disk first (online, GPT, one NTFS
    partition) with M(pbxops.wsfc.disk) on one node.
  - A disk that is clustered in another cluster is refused, and so is a name that another resource
    of the cluster already has.
seealso:
  - module: pbxops.wsfc.disk
  - module: pbxops.wsfc.cluster_quorum
  - module: pbxops.wsfc.generic_service_role
  - name: Add-ClusterDisk
    description: The cmdlet the module clusters the disk with.
    link: https://learn.microsoft.com/powershell/module/failoverclusters/add-clusterdisk
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Cluster the data disk and the witness disk
  pbxops.wsfc.cluster_disk:
    unique_id: "{{ item.unique_id }}"
    name: "{{ item.name }}"
  loop:
    - {unique_id: 60003FF44DC75ADC8F6CF2C1A2F7E2B1, name: PBX-Data}
    - {unique_id: 60003FF44DC75ADC9A2E55F0D18C6A07, name: Witness}
  run_once: true
"""

RETURN = r"""
state:
  description: The disk and, when it is clustered, its resource.
  returned: success
  type: dict
  sample:
    unique_id: 60003FF44DC75ADC8F6CF2C1A2F7E2B1
    size: 21474836480
    clustered: true
    name: PBX-Data
    owner_group: Available Storage
    owner_node: PBX-N1
    state: Online
"""

#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: storage_space
short_description: Make a Storage Spaces pool and a virtual disk on shared disks
description:
  - Creates a Storage Spaces pool from physical disks, and a virtual disk (a space) in it with the
    chosen resiliency (C(Simple), C(Mirror) or C(Parity)), number of columns, size and provisioning.
  - Refuses, before anything changes and with the reason, what Windows refuses. iSCSI- or Fibre
    Channel-attached disks cannot be pooled, parity needs at least three disks and a two-way mirror
    two, there cannot be more columns than disks, and a clustered pool takes only fixed
    provisioning.
  - A pool or a space that exists is never rebuilt. A space whose layout differs from the task is
    reported as an error, and a pool that exists keeps its disks.
  - The new space is a disk of the host, online and writable on the node that made it; prepare it
    with M(pbxops.wsfc.disk).
version_added: 0.1.0
options:
  pool:
    description:
      - The friendly name of the storage pool; it is created when no pool has it.
    type: str
    required: true
  name:
    description:
      - The friendly name of the virtual disk.
    type: str
    required: true
  physical_disks:
    description:
      - The unique ids of the physical disks to pool, when the pool is created.
      - When omitted, every disk of the host that can be pooled (C(CanPool)) is used.
      - Ignored when the pool exists.
    type: list
    elements: str
  resiliency:
    description:
      - The resiliency of the space. V(simple) stripes without redundancy, V(mirror) keeps two
        copies, V(parity) one parity column.
    type: str
    choices: [simple, mirror, parity]
    default: mirror
  columns:
    description:
      - The number of columns (disks a stripe spans). By default Windows chooses.
    type: int
  size:
    description:
      - The size of the space in bytes, rounded up to whole 256 MB slabs by Windows.
      - When omitted, the space takes all the free space of the pool.
    type: int
  provisioning:
    description:
      - Fixed allocates the whole size at once; thin as data is written.
      - A space in a clustered pool must be fixed.
    type: str
    choices: [fixed, thin]
    default: fixed
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
  - Storage Spaces takes local or shared SAS disks without partitions. iSCSI and Fibre Channel LUNs
    are not supported; give their RAID to the storage target.
  - Run the module on one node; the pool and the space then show on every node that sees all the
    pool's disks.
seealso:
  - module: pbxops.wsfc.disk
  - name: Storage Spaces overview
    description: Resiliency types and their disk counts.
    link: https://learn.microsoft.com/windows-server/storage/storage-spaces/overview
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Pool four shared SAS disks into a parity space
  pbxops.wsfc.storage_space:
    pool: PBX
    name: PBX-Data
    resiliency: parity
    physical_disks:
      - 5000C500A1B2C301
      - 5000C500A1B2C302
      - 5000C500A1B2C303
      - 5000C500A1B2C304
  run_once: true
"""

RETURN = r"""
state:
  description: The pool and the space.
  returned: success
  type: dict
  sample:
    pool: {name: PBX, present: true, clustered: false}
    space:
      name: PBX-Data
      unique_id: 5E4F3A2B1C0D9E8F
      resiliency: Parity
      columns: 4
      provisioning: Fixed
      size: 322122547200
differences:
  description: How an existing space differs from the task.
  returned: failure, when the space exists with another layout
  type: list
  elements: str
  sample: ["resiliency Mirror, not Parity"]
"""

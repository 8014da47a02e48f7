#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: disk
short_description: Prepare a disk for a cluster, online, GPT, one NTFS volume
description:
  - Prepares one disk, found by its unique id (never by number, which changes), as a cluster
    takes it. The disk is brought online and made writable, initialised as GPT, given one partition
    over the whole disk, and that partition formatted as NTFS (or ReFS) with a label, an allocation
    unit size and a drive letter.
  - B(Never) initialises, repartitions or formats a disk that holds data or partitions unless
    O(force=true), and the error then says so, with the disk's unique id and what it holds. Even
    with O(force=true) it never removes partitions nor changes the style of a disk that has some.
  - A partition without a file system holds nothing readable and is formatted without O(force);
    that is also how a run stopped between the partition and the format completes.
  - A cluster disk belongs to the cluster, so the module leaves it alone and checks that it matches.
version_added: 0.1.0
options:
  unique_id:
    description:
      - The unique id of the disk, as C(Get-Disk) and M(pbxops.wsfc.node_info) report it.
    type: str
    required: true
  partition_style:
    description:
      - The partition style a RAW disk is initialised with.
      - A disk with the other style and no partitions is converted only with O(force=true).
    type: str
    choices: [gpt, mbr]
    default: gpt
  file_system:
    description:
      - The file system of the volume. A cluster disk witness needs NTFS.
    type: str
    choices: [ntfs, refs]
    default: ntfs
  allocation_unit_size:
    description:
      - The allocation unit (cluster) size in bytes, a power of two from 512 to 2097152.
      - By default Windows chooses (4096 for NTFS); an existing volume is then not compared.
    type: int
  label:
    description:
      - The volume label, at most 32 characters for NTFS.
      - A volume with another label is formatted again only with O(force=true).
    type: str
  drive_letter:
    description:
      - The drive letter of the volume, from D to Z.
      - By default Windows assigns the next free letter when it creates the partition.
    type: str
  force:
    description:
      - Whether a volume with another file system, label or allocation unit size may be formatted
        again, erasing it, and a disk without partitions converted to another partition style.
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
  - Prepare a shared disk on one node only, before it joins the cluster; on the other nodes it stays
    offline until the cluster brings it online where its role runs.
  - The module does not move drive letters nor rename labels in place; it says which cmdlet does.
seealso:
  - module: pbxops.wsfc.iscsi_target
  - module: pbxops.wsfc.storage_space
  - module: community.windows.win_partition
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Prepare the data disk on the first node
  pbxops.wsfc.disk:
    unique_id: 60003FF44DC75ADC8C1D2B0B0B0B0B02
    label: PBX-DATA
    drive_letter: P
  run_once: true

- name: Prepare the witness disk
  pbxops.wsfc.disk:
    unique_id: 60003FF44DC75ADC8C1D2B0B0B0B0B01
    label: WITNESS
  run_once: true
"""

RETURN = r"""
state:
  description: The disk and its volume.
  returned: success
  type: dict
  sample:
    unique_id: 60003FF44DC75ADC8C1D2B0B0B0B0B02
    number: 2
    size: 21474836480
    online: true
    read_only: false
    partition_style: GPT
    partitions: 1
    drive_letter: P
    file_system: NTFS
    label: PBX-DATA
    allocation_unit_size: 4096
disk:
  description: The unique id of the disk a refusal is about.
  returned: failure, when the module refuses to touch the disk
  type: str
  sample: 60003FF44DC75ADC8C1D2B0B0B0B0B02
differences:
  description: How the existing volume differs from the task.
  returned: failure, when a volume would have to be formatted again
  type: list
  elements: str
  sample: ["label 'OLD', not 'PBX-DATA'"]
"""

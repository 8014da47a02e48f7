#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cluster_quorum
short_description: Set the failover cluster's quorum witness, a disk, a file share, or none
description:
  - Sets the witness that breaks a tie between the nodes' votes, with C(Set-ClusterQuorum).
  - A two-node cluster needs a witness to survive the loss of either node.
version_added: 0.1.0
options:
  witness:
    description:
      - V(disk) uses the cluster disk O(disk); V(file_share) uses the share O(file_share); V(none)
        leaves the vote to the nodes alone (node majority).
    type: str
    required: true
    choices: [none, disk, file_share]
  disk:
    description:
      - The name of the cluster disk to use as the witness, as M(pbxops.wsfc.cluster_disk) named it.
      - Required when O(witness=disk). Windows wants at least 512 MB, a basic disk with one NTFS
        volume, used for nothing else.
    type: str
  file_share:
    description:
      - The UNC path of the share to use as the witness, such as C(\\fs1\witness).
      - Required when O(witness=file_share). The cluster name object needs write access to it, and it
        must not be hosted on a node of the cluster.
    type: str
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
  - The quorum is changed while the cluster runs; its roles stay online.
  - A cloud witness is not supported by this module.
seealso:
  - module: pbxops.wsfc.cluster_disk
  - name: Set-ClusterQuorum
    description: The cmdlet the module sets the witness with.
    link: https://learn.microsoft.com/powershell/module/failoverclusters/set-clusterquorum
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Use the 1 GB witness disk
  pbxops.wsfc.cluster_quorum:
    witness: disk
    disk: Witness
  run_once: true

- name: Use a file share on another server
  pbxops.wsfc.cluster_quorum:
    witness: file_share
    file_share: \\fs1\pbx-witness
  run_once: true
"""

RETURN = r"""
state:
  description: The witness.
  returned: success
  type: dict
  sample:
    witness: disk
    disk: Witness
    resource: Witness
    quorum_type: Majority
"""

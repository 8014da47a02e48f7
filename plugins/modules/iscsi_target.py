#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iscsi_target
short_description: Connect a Windows host to an iSCSI target, persistently
description:
  - Makes the Microsoft iSCSI initiator of a Windows host log in to one target, so that its LUNs
    appear as disks. The initiator service (C(MSiSCSI)) is made to run and start automatically, the
    target portal is added, and a session to the target is made by its IQN, persistent (restored at
    each boot) unless told otherwise, with multipath when asked.
  - A session that exists is kept as it is, except that a session made without persistence is
    registered as persistent. Whether a session was made with multipath cannot be read back (the
    session object has no such property), so O(multipath) applies to new logins only.
  - When the initiator service is stopped, its cmdlets cannot read portals or sessions; the module
    then starts it and adds the portal and the login with steps that are safe to repeat.
version_added: 0.1.0
options:
  portal:
    description:
      - The address (IPv4 or DNS name) of the target portal.
    type: str
    required: true
  port:
    description:
      - The TCP port of the target portal.
    type: int
    default: 3260
  target:
    description:
      - The IQN of the target, for example C(iqn.1991-05.com.microsoft:san1-pbx-target).
    type: str
    required: true
  persistent:
    description:
      - Whether the login is persistent, so that the initiator logs in again after each restart.
      - Cluster disks need it.
    type: bool
    default: true
  multipath:
    description:
      - Whether the session is made with multipath enabled, for a target reached through several
        portals with MPIO.
      - The Multipath-IO feature must be installed and claim iSCSI devices first.
    type: bool
    default: false
  chap_username:
    description:
      - The CHAP user name for one-way CHAP authentication of the initiator to the target.
      - Requires O(chap_secret).
    type: str
  chap_secret:
    description:
      - The CHAP secret for one-way CHAP, 12 to 16 characters as the Microsoft initiator requires.
      - This value is kept secret (no_log), so it never appears in results, diffs or logs.
      - The secret of an existing session cannot be read back, so a changed secret is not detected.
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
  - Storage Spaces does not support iSCSI disks; build redundancy on the target, and prepare the LUN
    with M(pbxops.wsfc.disk).
  - The target must let this initiator in (its access list names the node's initiator IQN).
  - Disconnecting is not done by this module.
seealso:
  - module: pbxops.wsfc.disk
  - module: pbxops.wsfc.node_info
  - name: Connect-IscsiTarget
    description: The cmdlet the module logs in with.
    link: https://learn.microsoft.com/powershell/module/iscsi/connect-iscsitarget
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Connect every node to the shared storage target
  pbxops.wsfc.iscsi_target:
    portal: 10.0.3.10
    target: iqn.1991-05.com.microsoft:san1-pbx-target

- name: Connect with one-way CHAP
  pbxops.wsfc.iscsi_target:
    portal: 10.0.3.10
    target: iqn.1991-05.com.microsoft:san1-pbx-target
    chap_username: pbx-nodes
    chap_secret: "{{ vault_iscsi_chap_secret }}"
"""

RETURN = r"""
state:
  description: The initiator service, the portal and the session to the target.
  returned: success
  type: dict
  sample:
    service: {state: Running, start_mode: Auto}
    portal: {address: 10.0.3.10, port: 3260, present: true}
    target:
      iqn: iqn.1991-05.com.microsoft:san1-pbx-target
      connected: true
      persistent: true
      authentication: NONE
offered_targets:
  description: The IQNs the portal offers to this host, when O(target) is not among them.
  returned: failure, when the target is not offered
  type: list
  elements: str
  sample: [iqn.1991-05.com.microsoft:san1-pbx-target]
"""

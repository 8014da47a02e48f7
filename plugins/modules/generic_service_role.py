#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: generic_service_role
short_description: Make a Windows service highly available as a failover cluster Generic Service role
description:
  - Creates a Generic Service role with C(Add-ClusterGenericServiceRole), which makes a group, a
    network name (a computer object in Active Directory) with its static addresses, the shared
    disks, the registry checkpoints, and the Generic Service resource that runs O(service_name) on
    the node that owns the role.
  - Then, and on an existing role, sets what the role's other settings say, namely the service's startup
    parameters and network name use, its dependencies, preferred and possible owners, and the
    failover and restart policies. A new role is read again after it is created, since Windows names
    its service resource (after the service's display name).
  - On an existing role, only the settings that differ are changed; an option that is not given is
    left as it is.
  - V(absent) removes the role and its resources; its disks go back to C(Available Storage).
version_added: 0.1.0
options:
  name:
    description:
      - The name of the role, which is also its network name (the computer name clients reach), so a
        NetBIOS name of at most 15 characters.
    type: str
    required: true
  state:
    description:
      - Whether the role should exist.
    type: str
    default: present
    choices: [present, absent]
  service_name:
    description:
      - The name (not the display name) of the Windows service the role runs, for example C(pbxd).
      - The service must be installed, with the same name and a manual start, on every node that may
        own the role.
      - Required when O(state=present).
    type: str
  static_address:
    description:
      - The IPv4 addresses of the role, each on a cluster network with client access.
      - An address of an existing role is changed in place; adding or removing addresses of an
        existing role is refused (remove the role and create it again).
    type: list
    elements: str
  storage:
    description:
      - The cluster disks of the role, by the names M(pbxops.wsfc.cluster_disk) gave them. They must
        be in C(Available Storage) when the role is created.
      - A disk cannot be added to an existing role by this module; the module says so.
    type: list
    elements: str
  checkpoint_keys:
    description:
      - Registry keys, relative to C(HKEY_LOCAL_MACHINE) (such as C(SOFTWARE\pbxd)), that the cluster
        copies to the node that takes the role over. An existing role gains and loses keys to match.
    type: list
    elements: str
  startup_parameters:
    description:
      - The arguments the cluster starts the service with (the resource's C(StartupParameters)).
    type: str
  use_network_name:
    description:
      - Whether the service sees the role's network name as the computer name
        (C(UseNetworkName)).
    type: bool
  dependencies:
    description:
      - The resources of the role the service depends on, all of them (C([a] and [b])); the cluster
        brings them online first. Typically the role's network name and its disk.
    type: list
    elements: str
  preferred_owners:
    description:
      - The nodes the role prefers, in order. Nodes not listed may still own the role.
    type: list
    elements: str
  possible_owners:
    description:
      - The only nodes that may own the role, set on every resource of the role.
    type: list
    elements: str
  failover_threshold:
    description:
      - How many times the role may fail over within O(failover_period) before it is left failed.
        By default Windows allows one fewer than the number of nodes.
    type: int
  failover_period:
    description:
      - The period, in hours, that O(failover_threshold) counts in.
    type: int
  auto_failback:
    description:
      - Whether the role moves back to its most preferred owner when that node returns. Needs
        O(preferred_owners).
    type: bool
  restart_action:
    description:
      - What the cluster does when the service fails. V(no_restart) leaves it failed, V(restart)
        restarts it on the same node, V(restart_then_failover) restarts it and, past
        O(restart_threshold) failures, fails the role over.
    type: str
    choices: [no_restart, restart, restart_then_failover]
  restart_threshold:
    description:
      - Restarts of the service within O(restart_period) before the role fails over.
    type: int
  restart_period:
    description:
      - The period, in milliseconds, that O(restart_threshold) counts in.
    type: int
  restart_delay:
    description:
      - Milliseconds to wait before restarting the service.
    type: int
  retry_period_on_failure:
    description:
      - Milliseconds after which a failed service is tried again.
    type: int
  pending_timeout:
    description:
      - Milliseconds the service may take to start or stop before it is taken as failed.
    type: int
  wait:
    description:
      - Seconds C(Add-ClusterGenericServiceRole) waits for the new role to come online; V(0) returns
        at once. By default it waits until the role is online.
    type: int
  cluster:
    description:
      - The cluster to connect to, by name, when the task does not run on one of its nodes.
    type: str
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
  - Creating the role creates its network name's computer object in Active Directory, done by the
    cluster name object, which therefore needs the right to create computer objects in its
    organizational unit (or a prestaged, disabled computer object that grants it full control).
  - Creating a role costs four round trips (read, create, read again, set the rest); a run that
    changes nothing costs one.
seealso:
  - module: pbxops.wsfc.cluster_disk
  - module: pbxops.wsfc.cluster_group
  - module: ansible.windows.win_service
  - name: Add-ClusterGenericServiceRole
    description: The cmdlet the module creates the role with.
    link: https://learn.microsoft.com/powershell/module/failoverclusters/add-clustergenericservicerole
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Register the PBX as a Generic Service role
  pbxops.wsfc.generic_service_role:
    name: PBX
    service_name: pbxd
    static_address: [10.0.1.30]
    storage: [PBX-Data]
    checkpoint_keys: ['SOFTWARE\pbxd']
    startup_parameters: --config P:\pbx\pbx.toml
    use_network_name: true
    dependencies: [PBX, PBX-Data]
    preferred_owners: [PBX-N1, PBX-N2]
    failover_threshold: 2
    failover_period: 6
    restart_action: restart_then_failover
    restart_threshold: 3
  run_once: true
  become: true
  become_method: runas
  become_user: PBXLAB\deploy

- name: Remove the role
  pbxops.wsfc.generic_service_role:
    name: PBX
    state: absent
  run_once: true
  become: true
  become_method: runas
"""

RETURN = r"""
state:
  description:
    - The role; C(exists) is false when there is none.
    - C(dependencies) is the list of resources the service depends on, or the expression itself
      when it joins them otherwise than with C(and).
  returned: success
  type: dict
  sample:
    exists: true
    name: PBX
    owner_node: PBX-N1
    state: Online
    group_type: GenericService
    service_resource: PBX Service
    service_name: pbxd
    startup_parameters: --config P:\pbx\pbx.toml
    use_network_name: true
    static_address: [10.0.1.30]
    storage: [PBX-Data]
    checkpoint_keys: ['SOFTWARE\pbxd']
    dependencies: [PBX, PBX-Data]
    preferred_owners: [PBX-N1, PBX-N2]
    possible_owners: [PBX-N1, PBX-N2]
    failover_threshold: 2
    failover_period: 6
    auto_failback: false
    restart_action: restart_then_failover
    restart_threshold: 3
    restart_period: 900000
    restart_delay: 500
    retry_period_on_failure: 3600000
    pending_timeout: 180000
"""

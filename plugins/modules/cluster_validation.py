#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cluster_validation
short_description: Validate Windows nodes for a failover cluster with Test-Cluster
description:
  - Runs C(Test-Cluster) on the nodes with the chosen test categories or tests, and reads its
    verdict, that is the tests that failed, those that warned, the flags of its test result, and the
    path of the validation report on the host.
  - Fails when a test failed, naming each with the report's path; warnings fail too unless the test
    is listed in O(accepted_warnings) or O(fail_on_warnings=false), in which case they are returned
    and shown as warnings.
  - Validation changes no setting of the nodes; it writes its report under
    C(C:\Windows\Cluster\Reports) on the node that runs it. The module never reports a change, and
    costs one round trip.
version_added: 0.1.0
options:
  nodes:
    description:
      - The names of the nodes to validate together. If a node already belongs to a cluster, Windows
        validates every node of that cluster.
    type: list
    elements: str
    required: true
  include:
    description:
      - The categories or tests to run, as C(Test-Cluster -List) names them (C(Inventory),
        C(Network), C(Storage), C(System Configuration), C(List Potential Cluster Disks), ...).
      - The default leaves out C(Storage), whose tests take shared disks offline in turn; include it
        before the disks hold data, or in a maintenance window.
      - An empty list runs every test.
    type: list
    elements: str
    default: [Inventory, Network, System Configuration]
  ignore:
    description:
      - Categories or tests to leave out.
    type: list
    elements: str
    default: []
  accepted_warnings:
    description:
      - Tests whose warnings are accepted, by name (C(Validate Network Communication)) or with their
        category (C(Network - Validate Network Communication)), matched without regard to case.
      - Accepted warnings are returned in RV(state.accepted_warnings) and neither fail the task nor
        show as warnings.
    type: list
    elements: str
    default: []
  fail_on_warnings:
    description:
      - Whether a warning of a test not in O(accepted_warnings) fails the task.
      - When V(false), such warnings are returned and shown as warnings.
    type: bool
    default: true
  report_name:
    description:
      - The name of the report file, without C(.htm), which Windows appends.
      - By default Windows names it C(Validation Report <date> At <time>.htm).
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - pbxops.wsfc.common
  - pbxops.wsfc.second_hop
attributes:
  check_mode:
    support: partial
    details: Test-Cluster writes its report on the host, so in check mode it does not run; the module
      then returns RV(state.outcome=not run) with a warning.
  diff_mode:
    support: none
notes:
  - Test-Cluster reports its verdict on the warning stream. The flag Windows uses for failures is
    not documented, so any test result flag other than C(ClusterApproved),
    C(ClusterConditionallyApproved) and C(HadUnselectedTests) counts as a failure.
seealso:
  - module: pbxops.wsfc.preflight
  - name: Validate hardware for a failover cluster
    description: What each validation test checks.
    link: https://learn.microsoft.com/troubleshoot/windows-server/high-availability/validate-hardware-failover-cluster
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Validate the two nodes before creating the cluster
  pbxops.wsfc.cluster_validation:
    nodes: [PBX-N1, PBX-N2]
  become: true
  become_method: ansible.builtin.runas
  become_user: PBXLAB\deploy
  run_once: true

- name: Validate networks only, accepting the warning of a single public network
  pbxops.wsfc.cluster_validation:
    nodes: [PBX-N1, PBX-N2]
    include: [Network]
    accepted_warnings:
      - Validate Network Communication
  become: true
  become_method: ansible.builtin.runas
  become_user: PBXLAB\deploy
  run_once: true
"""

RETURN = r"""
state:
  description: The verdict of the validation; also returned when it fails.
  returned: success, and failure when Test-Cluster found failures or warnings
  type: dict
  contains:
    outcome:
      description: C(passed), C(warnings) or C(failed); C(not run) in check mode.
      type: str
      sample: warnings
    failures:
      description: "The tests that failed, as C(<category> - <test>: <message>)."
      type: list
      elements: str
      sample: []
    warnings:
      description: The tests that warned and are not accepted.
      type: list
      elements: str
      sample: ["Network - Validate Network Communication: The test reported some warnings.."]
    accepted_warnings:
      description: The tests that warned and are listed in O(accepted_warnings).
      type: list
      elements: str
      sample: []
    flags:
      description: The flags of Test-Cluster's test result.
      type: list
      elements: str
      sample: [HadUnselectedTests, ClusterConditionallyApproved]
    report:
      description: The path of the validation report on the host.
      type: str
      sample: C:\Windows\Cluster\Reports\Validation Report 2026.12.01 At 21.30.00.htm
"""

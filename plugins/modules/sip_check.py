#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sip_check
short_description: Check a PBX from the controller as phones see it, with real SIP
description:
  - Sends SIP from the Ansible controller to a PBX and checks, in order, that it answers
    C(OPTIONS), that two test extensions register with digest authentication, that one calls the
    other and the call is answered and ended, and that calls cross the trunks to other sites.
  - The test phones are UDP sockets on the controller that answer the test call themselves;
    nothing is installed or run on the task's host, and no SIP software is needed on the
    controller.
  - The checks stop at the first failure, whose message says what was sent, what came back and
    what to look at. Registrations made by the test are removed at the end.
  - Requests are retransmitted as RFC 3261 says for UDP (every 0.5 s, doubling up to 4 s), so a
    lost datagram does not fail the check.
version_added: 0.1.0
options:
  server:
    description:
      - The PBX to check, normally the IP address of the cluster role that runs it.
      - A name is resolved once on the controller.
    type: str
    required: true
  port:
    description:
      - The PBX's SIP port (UDP).
    type: int
    default: 5060
  caller:
    description:
      - The test extension that registers and places the calls.
    type: dict
    required: true
    suboptions:
      number:
        description:
          - The extension number.
        type: str
        required: true
      password:
        description:
          - Its SIP password, normally from Ansible Vault. It is used only to answer digest
            challenges, and kept secret (no_log).
        type: str
        required: true
  callee:
    description:
      - The test extension that registers at O(server) and answers the local call.
      - The same suboptions as O(caller).
    type: dict
    required: true
    suboptions:
      number:
        description:
          - The extension number.
        type: str
        required: true
      password:
        description:
          - Its SIP password, kept secret (no_log).
        type: str
        required: true
  trunk_calls:
    description:
      - Calls that must cross a trunk. For each, O(trunk_calls[].callee) registers at the other
        site's PBX and O(caller) dials its number through O(server).
    type: list
    elements: dict
    default: []
    suboptions:
      site:
        description:
          - The other site's name, used in the check's name.
        type: str
        required: true
      server:
        description:
          - The other site's PBX (its role IP address).
        type: str
        required: true
      port:
        description:
          - Its SIP port.
        type: int
        default: 5060
      callee:
        description:
          - The test extension at that site that answers.
        type: dict
        required: true
        suboptions:
          number:
            description:
              - The extension number.
            type: str
            required: true
          password:
            description:
              - Its SIP password, kept secret (no_log).
            type: str
            required: true
  local_address:
    description:
      - The controller's address the test phones send from and put in their Contact.
      - Defaults to the address the controller would use to reach O(server).
    type: str
  timeout:
    description:
      - Seconds to wait for the final response of each request, 0 to 60.
    type: float
    default: 5.0
attributes:
  check_mode:
    support: full
    details:
      - The checks run in check mode too, since they change no configuration. The PBX keeps its
        usual call records of the test calls.
  diff_mode:
    support: none
  platform:
    platforms: all
    details:
      - Runs on the controller; the task's host is not contacted.
notes:
  - The controller must reach the PBX's address over UDP, and the PBX must reach the controller's
    O(local_address) to deliver the test call and its responses.
  - Use extensions that exist only for this test; their registrations briefly take the place of
    real phones of the same numbers.
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Check the PBX through its role IP, and a call to site B
  pbxops.wsfc.sip_check:
    server: 10.0.1.50
    caller:
      number: "190"
      password: "{{ vault_sip_test_passwords['190'] }}"
    callee:
      number: "191"
      password: "{{ vault_sip_test_passwords['191'] }}"
    trunk_calls:
      - site: site-b
        server: 10.0.2.50
        callee:
          number: "290"
          password: "{{ vault_sip_test_passwords['290'] }}"
  run_once: true
"""

RETURN = r"""
checks:
  description:
    - Each check that ran, in order; after a failure the later checks do not run.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: What was checked.
      type: str
      sample: call 190 -> 290 across the trunk to site-b
    ok:
      description: Whether it passed.
      type: bool
      sample: true
    detail:
      description: What happened, or what to look at when it failed.
      type: str
      sample: answered (ringing, 200 OK) in 12 ms and ended (BYE 200 OK)
    elapsed_ms:
      description: Milliseconds from the first request to the final response.
      type: int
      sample: 12
msg:
  description: The verdict; on failure, the failed check and what to do.
  returned: always
  type: str
  sample: all 6 SIP checks passed
"""

#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sip_watch
short_description: Watch a PBX as its phones see it, and measure an outage
description:
  - Registers test phones at a PBX with digest authentication, then sends it C(OPTIONS) every
    O(interval) seconds until O(duration) has passed, or until O(settle) seconds after an
    outage has ended. An outage runs from the last answered probe before unanswered ones to the
    first answered probe after them.
  - At the end the first phone calls every other phone, which has not registered again since
    the start; a phone that cannot be reached lost its registration.
  - Runs on the controller (C(delegate_to) C(localhost)) and is meant to run with C(async) while
    another task moves or fails the PBX, as C(playbooks/failover_drill.yml) does.
version_added: 0.1.0
options:
  server:
    description: The PBX's address, normally its cluster role's IP address.
    type: str
    required: true
  port:
    description: The PBX's SIP port (UDP).
    type: int
    default: 5060
  phones:
    description: The test phones, at least two; the first calls the others at the end.
    type: list
    elements: dict
    required: true
    suboptions:
      number:
        description: The extension number.
        type: str
        required: true
      password:
        description: Its SIP password, kept secret (no_log).
        type: str
        required: true
  duration:
    description: The longest time to watch, in seconds.
    type: float
    default: 60
  interval:
    description: Seconds between probes; also how long a probe waits for its answer.
    type: float
    default: 0.2
  settle:
    description: Seconds of answered probes after an outage before the watch ends early.
    type: float
    default: 3
  timeout:
    description: Seconds each registration and call may take.
    type: float
    default: 5
  local_address:
    description: The controller's address the phones use; by default the one that reaches O(server).
    type: str
attributes:
  check_mode:
    support: full
    details:
      - It changes no configuration, so it runs in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details:
      - Runs on the controller.
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Watch the PBX while its role moves
  pbxops.wsfc.sip_watch:
    server: 10.0.1.50
    phones:
      - {number: "190", password: "{{ vault_pbx_passwords['190'] }}"}
      - {number: "191", password: "{{ vault_pbx_passwords['191'] }}"}
  delegate_to: localhost
  async: 120
  poll: 0
  register: watching
"""

RETURN = r"""
outage_ms:
  description: The longest outage the phones saw, in milliseconds (0 when there was none).
  returned: success
  type: int
  sample: 2350
outages:
  description: Each outage, in seconds since the first probe.
  returned: success
  type: list
  elements: dict
  sample: [{began_s: 4.2, ended_s: 6.55}]
probes:
  description: The OPTIONS probes sent.
  returned: success
  type: int
answered:
  description: The probes answered.
  returned: success
  type: int
registered:
  description: The phones that registered at the start.
  returned: success
  type: list
  elements: str
lost_registrations:
  description: How many phones could not be called at the end without registering again.
  returned: success
  type: int
  sample: 0
lost:
  description: Their numbers.
  returned: success
  type: list
  elements: str
"""

# A module documents itself before its imports, as ansible-doc expects.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_phone import Address  # noqa: E402
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_transport import local_address_for  # noqa: E402
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_watch import watch  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "server": {"type": "str", "required": True},
            "port": {"type": "int", "default": 5060},
            "phones": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "number": {"type": "str", "required": True},
                    "password": {"type": "str", "required": True, "no_log": True},
                },
            },
            "duration": {"type": "float", "default": 60},
            "interval": {"type": "float", "default": 0.2},
            "settle": {"type": "float", "default": 3},
            "timeout": {"type": "float", "default": 5},
            "local_address": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if len(params["phones"]) < 2:
        module.fail_json(
            msg=f"phones: {len(params['phones'])} given; at least two are needed (one calls the others)"
        )
    if not 0 < params["interval"] <= 5 or not 0 < params["duration"] <= 3600:
        module.fail_json(msg="interval must be 0-5 s and duration 0-3600 s")
    server = Address(params["server"], params["port"])
    result = watch(
        server,
        [(p["number"], p["password"]) for p in params["phones"]],
        local_host=params["local_address"] or local_address_for(server),
        duration=params["duration"],
        interval=params["interval"],
        settle=params["settle"],
        timeout=params["timeout"],
    )
    if result.failures:
        module.fail_json(
            msg="the phones could not register: " + "; ".join(result.failures), **result.as_dict()
        )
    module.exit_json(changed=False, **result.as_dict())


if __name__ == "__main__":
    main()

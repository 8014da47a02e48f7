# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-side SIP smoke test (documentation: ``plugins/modules/sip_check.py``).

It never touches the task's host: the test phones are sockets on the controller, which is
where a phone's view of the PBX (its role IP address) is the one that matters.
"""

from __future__ import annotations

import socket
from typing import Any

from ansible.plugins.action import ActionBase
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_phone import Address
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_scenario import Report, TrunkCall, smoke_test
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_transport import UdpNetwork, local_address_for

_EXTENSION = {
    "type": "dict",
    "required": True,
    "options": {
        "number": {"type": "str", "required": True},
        "password": {"type": "str", "required": True, "no_log": True},
    },
}

ARGUMENT_SPEC: dict[str, Any] = {
    "server": {"type": "str", "required": True},
    "port": {"type": "int", "default": 5060},
    "caller": _EXTENSION,
    "callee": _EXTENSION,
    "trunk_calls": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "site": {"type": "str", "required": True},
            "server": {"type": "str", "required": True},
            "port": {"type": "int", "default": 5060},
            "callee": _EXTENSION,
        },
    },
    "local_address": {"type": "str"},
    "timeout": {"type": "float", "default": 5.0},
}


def _address(host: str, port: int) -> Address:
    """The server's address, a name resolved once so every URI and datagram use the same IP."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as error:
        raise ValueError(
            f"server {host!r} cannot be resolved ({error}); give the role's IP address"
        ) from None
    return Address(str(info[0][4][0]), port)


class ActionModule(ActionBase):
    argument_spec = ARGUMENT_SPEC
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=self.argument_spec)
        del validation
        if not 0 < args["timeout"] <= 60:
            return {
                **result,
                "failed": True,
                "msg": f"timeout: {args['timeout']} is not between 0 and 60 seconds",
            }
        try:
            report = self._check(args)
        except (ValueError, OSError) as error:
            return {**result, "failed": True, "changed": False, "checks": [], "msg": str(error)}
        checks = [check.as_dict() for check in report.checks]
        failure = report.first_failure
        if failure is not None:
            return {
                **result,
                "failed": True,
                "changed": False,
                "checks": checks,
                "msg": f"{failure.name}: {failure.detail}",
            }
        return {**result, "changed": False, "checks": checks, "msg": f"all {len(checks)} SIP checks passed"}

    @staticmethod
    def _check(args: dict[str, Any]) -> Report:
        server = _address(args["server"], args["port"])
        local_host = args["local_address"] or local_address_for(server)
        report = Report()
        with UdpNetwork() as network:

            def phone(extension: dict[str, str], at: Address) -> Any:
                return network.phone(
                    extension["number"], extension["password"], local_host=local_host, server=at
                )

            probe = network.phone("options", "", local_host=local_host, server=server)
            trunk_calls = tuple(
                TrunkCall(trunk["site"], phone(trunk["callee"], _address(trunk["server"], trunk["port"])))
                for trunk in args["trunk_calls"]
            )
            scenario = smoke_test(
                report,
                probe=probe,
                caller=phone(args["caller"], server),
                callee=phone(args["callee"], server),
                trunk_calls=trunk_calls,
                timeout=args["timeout"],
            )
            network.run(scenario, args["timeout"])
        return report

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Naming a cluster network and setting its role, found by its subnet: the pure planner.

WSFC makes one cluster network per subnet and names them "Cluster Network N" in the order it finds
them, so a playbook can only know a network by its subnet. ``Role`` is set by assignment
(``$network.Role = 3``, wsfc-behaviour 3.3) with the number, which every Windows Server version
accepts (2012 R2 typed it as UInt32). Role 2 (client only) is not supported by Microsoft.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import (
    ParameterValue,
    Pipeline,
    PropertyValue,
    SetProperties,
    Step,
    change,
    read,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_common import (
    ArgumentError,
    PlanError,
    listing,
    parse_subnet,
    same_name,
)

NETWORK_PROPERTIES = ("Name", "Address", "AddressMask", "Role", "State", "Metric")
ROLE_NUMBERS = {"none": 0, "cluster": 1, "cluster_and_client": 3}
_ROLE_OPTION = {
    "None": "none",
    "0": "none",
    "Cluster": "cluster",
    "1": "cluster",
    "ClusterAndClient": "cluster_and_client",
    "3": "cluster_and_client",
    "Client": "client",
    "2": "client",
}


def _cluster(args: Mapping[str, Any]) -> dict[str, ParameterValue]:
    return {"Cluster": args["cluster"]} if args.get("cluster") else {}


def reads(args: Mapping[str, Any]) -> list[Pipeline]:
    parse_subnet("subnet", args["subnet"])
    if args.get("name") is not None and not args["name"].strip():
        raise ArgumentError("name", "an empty name is not a network name")
    return [read("networks", Step("Get-ClusterNetwork", _cluster(args)), select=NETWORK_PROPERTIES)]


def network_subnet(network: Mapping[str, Any]) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(f"{network.get('Address')}/{network.get('AddressMask')}", strict=False)
    except ValueError:
        return None


def role_option(value: Any) -> str:
    """The module's name for a ClusterNetworkRole, given by name or by number."""
    return _ROLE_OPTION.get(str(value), str(value))


def network_state(network: Mapping[str, Any]) -> dict[str, Any]:
    subnet = network_subnet(network)
    return {
        "name": network.get("Name"),
        "subnet": str(subnet) if subnet else None,
        "role": role_option(network.get("Role")),
        "state": network.get("State"),
    }


def plan(args: Mapping[str, Any], observed: Observed) -> Plan:
    subnet = parse_subnet("subnet", args["subnet"])
    networks = observed["networks"]
    network = next((n for n in networks if network_subnet(n) == subnet), None)
    if network is None:
        found = [f"{n.get('Name')} ({network_subnet(n)})" for n in networks]
        raise PlanError(
            f"subnet: no cluster network is on {subnet}; the cluster's networks are {listing(found)}. "
            "A cluster network exists for each subnet of a connected adapter on the nodes"
        )
    before = network_state(network)
    after = dict(before)
    assignments: dict[str, PropertyValue] = {}
    if args.get("role") and before["role"] != args["role"]:
        assignments["Role"] = ROLE_NUMBERS[args["role"]]
        after["role"] = args["role"]
    if args.get("name") and before["name"] != args["name"]:
        others = [n for n in networks if n is not network and same_name(str(n.get("Name")), args["name"])]
        if others:
            raise PlanError(
                f"name: another cluster network is already called {args['name']!r} "
                f"(on {network_subnet(others[0])}); rename that one first or choose another name"
            )
        assignments["Name"] = args["name"]
        after["name"] = args["name"]
    if not assignments:
        return Plan(changes=(), before=before, after=before)
    current = str(network["Name"])
    pipeline_name = f"network {current}"

    def reported(applied: Observed) -> dict[str, Any]:
        returned = applied.get(pipeline_name)
        return network_state(returned[0]) if returned else after

    return Plan(
        reported=reported,
        changes=(
            change(
                pipeline_name,
                Step("Get-ClusterNetwork", {"Name": (current,), **_cluster(args)}),
                SetProperties(assignments),
                select=NETWORK_PROPERTIES,
            ),
        ),
        before=before,
        after=after,
    )

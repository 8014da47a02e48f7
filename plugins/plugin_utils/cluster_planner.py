# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Creating a failover cluster, joining its nodes, and its common properties: the pure planner.

The pattern is FailoverClusterDsc's (wsfc-behaviour 3.1): ``Get-Cluster -Name N`` throws when
there is no cluster N, and then the cluster is created on the first node with ``New-Cluster
-NoStorage`` (disks are clustered one by one, by unique id, with ``cluster_disk``); the other nodes
join with ``Add-ClusterNode -NoStorage``. A node listed Down is evicted and joined again, since a
node whose cluster service cannot start stays Down for good; a node in the cluster but not in
``nodes`` is left alone (``cluster_node`` evicts nodes).

Common properties are set by assignment on the object ``Get-Cluster`` returns. Their ranges are
those Microsoft documents in "Tuning Failover Cluster Network Thresholds" (Windows Server 2012 R2
and later).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import (
    SWITCH,
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
    check_ipv4_address,
    check_netbios_name,
    name_of,
    parse_subnet,
)

# option -> (cluster common property, lowest, highest)
COMMON_PROPERTIES: dict[str, tuple[str, int, int | None]] = {
    "same_subnet_delay": ("SameSubnetDelay", 250, 2000),
    "same_subnet_threshold": ("SameSubnetThreshold", 3, 120),
    "cross_subnet_delay": ("CrossSubnetDelay", 250, 4000),
    "cross_subnet_threshold": ("CrossSubnetThreshold", 3, 120),
    "quarantine_threshold": ("QuarantineThreshold", 0, None),
    "quarantine_duration": ("QuarantineDuration", 0, None),
}
CLUSTER_PROPERTIES = ("Name", "Domain", "Id", *(p for p, _lowest, _highest in COMMON_PROPERTIES.values()))
NODE_PROPERTIES = ("Name", "State", "Id")
ADMINISTRATIVE_ACCESS_POINTS = {
    "active_directory_and_dns": "ActiveDirectoryAndDns",
    "dns": "Dns",
    "none": "None",
    "active_directory": "ActiveDirectory",
}
CLUSTER = "cluster"


def reads(args: Mapping[str, Any]) -> list[Pipeline]:
    check_netbios_name("name", args["name"])
    nodes = args.get("nodes") or []
    if args["state"] == "present" and not nodes:
        raise ArgumentError(
            "nodes", "state is present, so list the cluster's nodes, the first one creating it"
        )
    seen: set[str] = set()
    for node in nodes:
        check_netbios_name("nodes", node)
        if node.casefold() in seen:
            raise ArgumentError("nodes", f"{node!r} is listed twice")
        seen.add(node.casefold())
    for address in args.get("static_address") or []:
        check_ipv4_address("static_address", address)
    for network in args.get("ignore_network") or []:
        parse_subnet("ignore_network", network)
    for option, (_property, lowest, highest) in COMMON_PROPERTIES.items():
        value = args.get(option)
        if value is None:
            continue
        if value < lowest or (highest is not None and value > highest):
            expected = f"{lowest} to {highest}" if highest is not None else f"{lowest} or more"
            raise ArgumentError(option, f"{value} is out of range; Windows accepts {expected}")
    return [
        read(CLUSTER, Step("Get-Cluster", {"Name": args["name"]}), select=CLUSTER_PROPERTIES),
        read("nodes", Step("Get-ClusterNode", {"Cluster": args["name"]}), select=NODE_PROPERTIES),
    ]


def cluster_state(cluster: Mapping[str, Any] | None, nodes: list[Any]) -> dict[str, Any]:
    if cluster is None:
        return {"exists": False}
    state: dict[str, Any] = {
        "exists": True,
        "name": cluster.get("Name"),
        "domain": cluster.get("Domain"),
        "nodes": {name_of(n): n.get("State") for n in nodes},
    }
    for option, (prop, _lowest, _highest) in COMMON_PROPERTIES.items():
        state[option] = cluster.get(prop)
    return state


def _wanted_properties(args: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, PropertyValue]:
    return {
        prop: args[option]
        for option, (prop, _lowest, _highest) in COMMON_PROPERTIES.items()
        if args.get(option) is not None and current.get(option) != args[option]
    }


def _reported(predicted: Mapping[str, Any], kept_nodes: Mapping[str, Any]) -> Any:
    """The state from what New-Cluster, Add-ClusterNode and the property assignment returned."""

    def reported(applied: Observed) -> dict[str, Any]:
        state = dict(predicted)
        nodes = dict(kept_nodes)
        for pipeline, output in applied.outputs.items():
            for obj in output:
                if pipeline in ("create cluster", "common properties"):
                    state.update({k: v for k, v in cluster_state(obj, []).items() if k != "nodes"})
                elif pipeline == "join nodes":
                    nodes[name_of(obj)] = obj.get("State")
        state["nodes"] = nodes
        return state

    return reported


def plan(args: Mapping[str, Any], observed: Observed) -> Plan:
    name = args["name"]
    found = observed.get(CLUSTER)
    cluster = found[0] if found else None
    before = cluster_state(cluster, observed.get("nodes"))

    if args["state"] == "absent":
        if cluster is None:
            return Plan(changes=(), before=before, after=before)
        parameters: dict[str, ParameterValue] = {"Cluster": name, "Force": SWITCH}
        if args.get("cleanup_ad"):
            parameters["CleanupAD"] = SWITCH
        return Plan(
            changes=(change("remove cluster", Step("Remove-Cluster", parameters)),),
            before=before,
            after={"exists": False},
            reported=lambda applied: {"exists": False},
        )

    desired_nodes: list[str] = list(args["nodes"])
    changes: list[Pipeline] = []
    if cluster is None:
        create: dict[str, ParameterValue] = {"Name": name, "Node": (desired_nodes[0],), "NoStorage": SWITCH}
        if args.get("static_address"):
            create["StaticAddress"] = tuple(args["static_address"])
        if args.get("ignore_network"):
            create["IgnoreNetwork"] = tuple(args["ignore_network"])
        if args.get("administrative_access_point"):
            create["AdministrativeAccessPoint"] = ADMINISTRATIVE_ACCESS_POINTS[
                args["administrative_access_point"]
            ]
        changes.append(change("create cluster", Step("New-Cluster", create), select=CLUSTER_PROPERTIES))
        current_nodes: dict[str, Any] = {desired_nodes[0]: "Up"}
        joining = desired_nodes[1:]
        properties = _wanted_properties(args, {})
    else:
        current_nodes = dict(before["nodes"])
        by_key = {n.casefold(): n for n in current_nodes}
        joining = [n for n in desired_nodes if n.casefold() not in by_key]
        down = [
            by_key[n.casefold()]
            for n in desired_nodes
            if n.casefold() in by_key and current_nodes[by_key[n.casefold()]] == "Down"
        ]
        if down and args["rejoin_down_nodes"]:
            changes.append(
                change(
                    "evict down nodes",
                    Step("Remove-ClusterNode", {"Name": tuple(down), "Cluster": name, "Force": SWITCH}),
                )
            )
            for node in down:
                del current_nodes[node]
            joining = [*down, *joining]
        properties = _wanted_properties(args, before)
    if joining:
        changes.append(
            change(
                "join nodes",
                Step("Add-ClusterNode", {"Name": tuple(joining), "Cluster": name, "NoStorage": SWITCH}),
                select=NODE_PROPERTIES,
            )
        )
    if properties:
        changes.append(
            change(
                "common properties",
                Step("Get-Cluster", {"Name": name}),
                SetProperties(properties),
                select=CLUSTER_PROPERTIES,
            )
        )
    if not changes:
        return Plan(changes=(), before=before, after=before)
    after: dict[str, Any] = {
        **before,
        "exists": True,
        "name": before.get("name", name),
        "nodes": {**current_nodes, **dict.fromkeys(joining, "Up")},
    }
    for option in COMMON_PROPERTIES:
        if args.get(option) is not None:
            after[option] = args[option]
        elif cluster is None:
            after[option] = None
    return Plan(
        changes=tuple(changes),
        before=before,
        after=after,
        reported=_reported(after, current_nodes),
    )

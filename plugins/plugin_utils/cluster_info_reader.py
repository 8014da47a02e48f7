# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole cluster as data, read in one round trip: the pure half of ``cluster_info``.

Nothing is changed. When ``Get-Cluster`` fails (no cluster here, or none called ``cluster``), the
result says so with Windows' message instead of failing, so a play can branch on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_network_planner as networks
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cluster_planner import COMMON_PROPERTIES
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import ParameterValue, Pipeline, Step, read
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_common import (
    check_positive,
    name_of,
    owner_names,
    parameters_by_object,
    resource_type,
)

CLUSTER = "cluster"
# The last read: when it fails (an event log the account may not read) everything else was read.
EVENTS = "events"
RESOURCE_PROPERTIES = (
    "Name",
    "State",
    "OwnerGroup",
    "OwnerNode",
    "ResourceType",
    "RestartAction",
    "RestartThreshold",
    "RestartPeriod",
    "RestartDelay",
    "RetryPeriodOnFailure",
    "PendingTimeout",
    "IsCoreResource",
)
GROUP_PROPERTIES = (
    "Name",
    "OwnerNode",
    "State",
    "GroupType",
    "FailoverThreshold",
    "FailoverPeriod",
    "AutoFailbackType",
)
NODE_PROPERTIES = (
    "Name",
    "State",
    "Id",
    "NodeWeight",
    "DynamicWeight",
    "DrainStatus",
    "StatusInformation",
    "BuildNumber",
)
# The System log's events of the cluster service (wsfc-behaviour 4.7).
EVENT_FILTER = "Logfile = 'System' AND SourceName = 'Microsoft-Windows-FailoverClustering'"
EVENT_PROPERTIES = ("TimeGenerated", "EventCode", "Type", "ComputerName", "Message")


def reads(args: Mapping[str, Any]) -> list[Pipeline]:
    check_positive("events", args.get("events"), allow_zero=True)
    on: dict[str, ParameterValue] = {"Cluster": args["cluster"]} if args.get("cluster") else {}
    pipelines = [
        read(
            CLUSTER,
            Step("Get-Cluster", {"Name": args["cluster"]} if args.get("cluster") else {}),
            select=("Name", "Domain", "Id", *(p for p, _lowest, _highest in COMMON_PROPERTIES.values())),
        ),
        read("nodes", Step("Get-ClusterNode", on), select=NODE_PROPERTIES),
        read("networks", Step("Get-ClusterNetwork", on), select=networks.NETWORK_PROPERTIES),
        read(
            "interfaces",
            Step("Get-ClusterNetworkInterface", on),
            select=("Name", "Node", "Network", "Address", "State"),
            depth=1,
        ),
        read("quorum", Step("Get-ClusterQuorum", on), select=("QuorumResource", "QuorumType"), depth=1),
        read("groups", Step("Get-ClusterGroup", on), select=GROUP_PROPERTIES),
        read("resources", Step("Get-ClusterResource", on), select=RESOURCE_PROPERTIES),
        read(
            "dependencies",
            Step("Get-ClusterResource", on),
            Step("Get-ClusterResourceDependency"),
            select=("Resource", "DependencyExpression"),
            depth=1,
        ),
        read(
            "parameters",
            Step("Get-ClusterResource", on),
            Step("Get-ClusterParameter"),
            depth=1,
        ),
        read(
            "preferred owners",
            Step("Get-ClusterGroup", on),
            Step("Get-ClusterOwnerNode"),
            select=("ClusterObject", "OwnerNodes"),
        ),
        read(
            "possible owners",
            Step("Get-ClusterResource", on),
            Step("Get-ClusterOwnerNode"),
            select=("ClusterObject", "OwnerNodes"),
        ),
    ]
    if args.get("events"):
        pipelines.append(
            read(
                EVENTS,
                Step("Get-CimInstance", {"ClassName": "Win32_NTLogEvent", "Filter": EVENT_FILTER}),
                Step("Select-Object", {"First": args["events"]}),
                select=EVENT_PROPERTIES,
            )
        )
    return pipelines


def cluster_document(observed: Observed) -> dict[str, Any]:
    found = observed.get(CLUSTER)
    if not found:
        return {"exists": False}
    cluster = found[0]
    parameters = parameters_by_object(observed.get("parameters"))
    dependencies = {
        name_of(d.get("Resource")).casefold(): d.get("DependencyExpression") or ""
        for d in observed.get("dependencies")
    }
    preferred = owner_names(observed.get("preferred owners"))
    possible = owner_names(observed.get("possible owners"))
    quorum = (observed.get("quorum") or [{}])[0]
    resources_by_group: dict[str, list[str]] = {}
    resources = []
    for r in observed.get("resources"):
        name = name_of(r)
        resources_by_group.setdefault(name_of(r.get("OwnerGroup")).casefold(), []).append(name)
        resources.append(
            {
                "name": name,
                "state": r.get("State"),
                "owner_group": name_of(r.get("OwnerGroup")),
                "owner_node": name_of(r.get("OwnerNode")),
                "resource_type": resource_type(r),
                "is_core_resource": r.get("IsCoreResource"),
                "restart_action": r.get("RestartAction"),
                "restart_threshold": r.get("RestartThreshold"),
                "restart_period": r.get("RestartPeriod"),
                "restart_delay": r.get("RestartDelay"),
                "retry_period_on_failure": r.get("RetryPeriodOnFailure"),
                "pending_timeout": r.get("PendingTimeout"),
                "dependency_expression": dependencies.get(name.casefold(), ""),
                "possible_owners": possible.get(name.casefold(), []),
                "parameters": parameters.get(name.casefold(), {}),
            }
        )
    document: dict[str, Any] = {
        "exists": True,
        "name": cluster.get("Name"),
        "domain": cluster.get("Domain"),
        "id": cluster.get("Id"),
        "common_properties": {
            option: cluster.get(prop) for option, (prop, _lowest, _highest) in COMMON_PROPERTIES.items()
        },
        "nodes": [
            {
                "name": n.get("Name"),
                "state": n.get("State"),
                "id": n.get("Id"),
                "node_weight": n.get("NodeWeight"),
                "dynamic_weight": n.get("DynamicWeight"),
                "drain_status": n.get("DrainStatus"),
                "build_number": n.get("BuildNumber"),
            }
            for n in observed.get("nodes")
        ],
        "networks": [
            {**networks.network_state(n), "metric": n.get("Metric")} for n in observed.get("networks")
        ],
        "network_interfaces": [
            {
                "name": i.get("Name"),
                "node": name_of(i.get("Node")),
                "network": name_of(i.get("Network")),
                "address": i.get("Address"),
                "state": i.get("State"),
            }
            for i in observed.get("interfaces")
        ],
        "quorum": {
            "quorum_type": quorum.get("QuorumType"),
            "witness": name_of(quorum.get("QuorumResource")) or None,
        },
        "groups": [
            {
                "name": name_of(g),
                "owner_node": name_of(g.get("OwnerNode")),
                "state": g.get("State"),
                "group_type": g.get("GroupType"),
                "failover_threshold": g.get("FailoverThreshold"),
                "failover_period": g.get("FailoverPeriod"),
                "auto_failback_type": g.get("AutoFailbackType"),
                "preferred_owners": preferred.get(name_of(g).casefold(), []),
                "resources": resources_by_group.get(name_of(g).casefold(), []),
            }
            for g in observed.get("groups")
        ],
        "resources": resources,
    }
    if EVENTS in observed.outputs:
        document["events"] = [
            {
                "time": e.get("TimeGenerated"),
                "event_id": e.get("EventCode"),
                "level": e.get("Type"),
                "node": e.get("ComputerName"),
                "message": e.get("Message"),
            }
            for e in observed[EVENTS]
        ]
    return document


def plan(args: Mapping[str, Any], observed: Observed) -> Plan:
    del args
    document = cluster_document(observed)
    return Plan(changes=(), before=document, after=document)

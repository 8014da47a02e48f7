# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure half of ``pbxops.wsfc.node_info``: what to read of a node, and the facts made of it.

Everything is read in one round trip. The cluster cmdlets fail on a node outside a cluster, and
the executor stops at the first failure, so the cluster's name and the node's state are read in
a second trip only when the Cluster service runs (a cluster member); other nodes cost one trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline, Step, read
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed

__all__ = ["FAILOVER_CLUSTERING", "node_facts", "read_cluster", "read_node"]

FAILOVER_CLUSTERING = "Failover-Clustering"
DISK_FIELDS = (
    "Number",
    "UniqueId",
    "FriendlyName",
    "SerialNumber",
    "BusType",
    "Size",
    "PartitionStyle",
    "IsOffline",
    "IsReadOnly",
    "IsClustered",
    "IsBoot",
    "IsSystem",
    "NumberOfPartitions",
)
# Win32_OperatingSystem.OperatingSystemSKU (the PRODUCT_* values of GetProductInfo).
EDITIONS = {
    7: ("ServerStandard", "Server"),
    8: ("ServerDatacenter", "Server"),
    10: ("ServerEnterprise", "Server"),
    12: ("ServerDatacenter", "Server Core"),
    13: ("ServerStandard", "Server Core"),
    14: ("ServerEnterprise", "Server Core"),
    79: ("ServerStandardEval", "Server"),
    80: ("ServerDatacenterEval", "Server"),
    145: ("ServerDatacenterACor", "Server Core"),
    146: ("ServerStandardACor", "Server Core"),
}


def read_node() -> list[Pipeline]:
    return [
        read(
            "os",
            Step("Get-CimInstance", {"ClassName": "Win32_OperatingSystem"}),
            select=(
                "Caption",
                "Version",
                "BuildNumber",
                "OSArchitecture",
                "OperatingSystemSKU",
                "ProductType",
            ),
        ),
        read(
            "computer",
            Step("Get-CimInstance", {"ClassName": "Win32_ComputerSystem"}),
            select=("Name", "Domain", "PartOfDomain", "DomainRole", "Workgroup"),
        ),
        read(
            "adapters",
            Step("Get-NetAdapter"),
            select=("Name", "InterfaceDescription", "InterfaceIndex", "Status", "MacAddress"),
        ),
        read(
            "addresses",
            Step("Get-NetIPAddress"),
            select=("InterfaceIndex", "IPAddress", "PrefixLength", "AddressFamily", "PrefixOrigin"),
        ),
        read(
            "ip configuration",
            Step("Get-NetIPConfiguration", {"All": True}),
            select=("InterfaceIndex", "IPv4DefaultGateway", "DNSServer"),
            depth=3,
        ),
        read("disks", Step("Get-Disk"), select=DISK_FIELDS),
        read("features", Step("Get-WindowsFeature"), select=("Name", "InstallState")),
        read(
            "cluster service",
            Step("Get-CimInstance", {"ClassName": "Win32_Service", "Filter": "Name = 'ClusSvc'"}),
            select=("State", "StartMode"),
        ),
    ]


def cluster_service_runs(observed: Observed) -> bool:
    services = observed.get("cluster service")
    return bool(services) and services[0].get("State") == "Running"


def read_cluster(observed: Observed) -> list[Pipeline]:
    """The cluster and this node in it: only on a node whose Cluster service runs."""
    if not cluster_service_runs(observed):
        return []
    name = str(observed["computer"][0]["Name"])
    return [
        read("cluster", Step("Get-Cluster"), select=("Name", "Domain")),
        read(
            "cluster node",
            Step("Get-ClusterNode", {"Name": (name,)}),
            select=("Name", "State", "DrainStatus"),
        ),
    ]


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _nic(adapter: Mapping[str, Any], observed: Observed) -> dict[str, Any]:
    index = adapter.get("InterfaceIndex")
    addresses = [
        {
            "address": str(a.get("IPAddress")).split("%", maxsplit=1)[0],
            "prefix_length": a.get("PrefixLength"),
            "family": a.get("AddressFamily"),
            "origin": a.get("PrefixOrigin"),
        }
        for a in observed.get("addresses")
        if a.get("InterfaceIndex") == index
    ]
    config: Mapping[str, Any] = next(
        (c for c in observed.get("ip configuration") if c.get("InterfaceIndex") == index), {}
    )
    gateways = [g.get("NextHop") for g in _many(config.get("IPv4DefaultGateway")) if isinstance(g, Mapping)]
    dns = [
        server
        for entry in _many(config.get("DNSServer"))
        if isinstance(entry, Mapping)
        for server in _many(entry.get("ServerAddresses"))
    ]
    return {
        "name": adapter.get("Name"),
        "description": adapter.get("InterfaceDescription"),
        "index": index,
        "status": adapter.get("Status"),
        "mac": adapter.get("MacAddress"),
        "addresses": addresses,
        "ipv4": [f"{a['address']}/{a['prefix_length']}" for a in addresses if a["family"] == "IPv4"],
        "gateways": gateways,
        "dns_servers": dns,
    }


def _disk(disk: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "number": disk.get("Number"),
        "unique_id": disk.get("UniqueId"),
        "friendly_name": disk.get("FriendlyName"),
        "serial_number": disk.get("SerialNumber"),
        "bus_type": disk.get("BusType"),
        "size": disk.get("Size"),
        "partition_style": disk.get("PartitionStyle"),
        "partitions": disk.get("NumberOfPartitions"),
        "offline": bool(disk.get("IsOffline")),
        "read_only": bool(disk.get("IsReadOnly")),
        "clustered": bool(disk.get("IsClustered")),
        "boot": bool(disk.get("IsBoot")),
        "system": bool(disk.get("IsSystem")),
    }


def node_facts(observed: Observed) -> dict[str, Any]:
    os_ = observed["os"][0]
    computer = observed["computer"][0]
    sku = os_.get("OperatingSystemSKU")
    edition, install_type = EDITIONS.get(int(sku) if sku is not None else -1, (None, None))
    joined = bool(computer.get("PartOfDomain"))
    features = {str(f.get("Name")): f.get("InstallState") for f in observed.get("features")}
    service = (observed.get("cluster service") or [None])[0]
    cluster = (observed.get("cluster") or [None])[0]
    member = (observed.get("cluster node") or [None])[0]
    return {
        "hostname": computer.get("Name"),
        "os": {
            "caption": os_.get("Caption"),
            "version": os_.get("Version"),
            "build": os_.get("BuildNumber"),
            "edition": edition,
            "sku": sku,
            "install_type": install_type,
            "architecture": os_.get("OSArchitecture"),
            "product_type": os_.get("ProductType"),
        },
        "domain": {
            "joined": joined,
            # Win32_ComputerSystem.Domain holds the workgroup's name on a machine outside a domain.
            "name": computer.get("Domain") if joined else None,
            "workgroup": None if joined else computer.get("Workgroup") or computer.get("Domain"),
            "role": computer.get("DomainRole"),
        },
        "nics": [_nic(a, observed) for a in observed.get("adapters")],
        "disks": [_disk(d) for d in observed.get("disks")],
        "features": {
            "installed": sorted(n for n, s in features.items() if s == "Installed"),
            "failover_clustering": features.get(FAILOVER_CLUSTERING),
        },
        "cluster": {
            "service": service.get("State") if service else None,
            "name": cluster.get("Name") if cluster else None,
            "node_state": member.get("State") if member else None,
            "drain_status": member.get("DrainStatus") if member else None,
        },
    }

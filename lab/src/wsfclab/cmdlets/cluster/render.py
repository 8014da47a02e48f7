"""The FailoverClusters output objects, built from the cluster database.

Class names are the .NET types the cmdlet pages list under OUTPUTS; property names and enum names
are those of FailoverClusters 2.0.0.0 ([STUB] FailoverClusters.stubs.psm1). Enumerations go out by
name, as the executor renders every enum. ``DEFAULT_COLUMNS`` are the columns of the default table
view (what ``Format-Table`` shows without ``-Property``), for the lab's own status views.

Properties that Windows lets a script assign (``(Get-Cluster).SameSubnetDelay = 2000``) are listed
per class in ``SETTABLE``; ``wsfclab.cmdlets.cluster.settable`` applies them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wsfclab.cluster import database as db
from wsfclab.cmdlets.base import CimObject

NS = "Microsoft.FailoverClusters.PowerShell"
CLUSTER = f"{NS}.Cluster"
NODE = f"{NS}.ClusterNode"
GROUP = f"{NS}.ClusterGroup"
RESOURCE = f"{NS}.ClusterResource"
NETWORK = f"{NS}.ClusterNetwork"
INTERFACE = f"{NS}.ClusterNetworkInterface"
QUORUM = f"{NS}.ClusterQuorumSettings"
DISK_INFO = f"{NS}.ClusterDiskInfo"
PARAMETER = f"{NS}.ClusterParameter"
DEPENDENCY = f"{NS}.ClusterResourceDependency"
OWNERS = f"{NS}.ClusterOwnerNodeList"
CHECKPOINT = f"{NS}.ClusterCheckpoint"
TEST_INFO = f"{NS}.ClusterTestInfo"
FILE_INFO = "System.IO.FileInfo"

# Format-Table defaults of FailoverClusters.format.ps1xml, as the [PS16] examples print them.
DEFAULT_COLUMNS = {
    CLUSTER: ("Name",),
    NODE: ("Name", "Id", "State"),
    GROUP: ("Name", "OwnerNode", "State"),
    RESOURCE: ("Name", "State", "OwnerGroup", "ResourceType"),
    NETWORK: ("Name", "State", "Metric", "Role"),
    INTERFACE: ("Name", "Node", "Network", "State"),
    QUORUM: ("Cluster", "QuorumResource"),
    DISK_INFO: ("Cluster", "Id", "Name", "Number", "Size"),
    PARAMETER: ("Object", "Name", "Value", "ParameterType"),
    DEPENDENCY: ("Resource", "DependencyExpression"),
    OWNERS: ("ClusterObject", "OwnerNodes"),
    CHECKPOINT: ("Resource", "Name"),
}


def _date(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def cluster(cdb: db.ClusterDatabase) -> CimObject:
    p = cdb.properties
    props: dict[str, object] = {
        "Name": cdb.name,
        "Domain": cdb.domain,
        "Id": cdb.id,
        "AdministrativeAccessPoint": cdb.administrative_access_point,
        "FixQuorum": int(any(n.force_quorum for n in cdb.nodes.values())),
        "WitnessDynamicWeight": cdb.quorum.witness_dynamic_weight,
    }
    for field, windows in db.ClusterProperties.WINDOWS_NAMES.items():
        props[windows] = getattr(p, field)
    props["Description"] = ""
    return CimObject(CLUSTER, props, ref=cdb.name)


def node(cdb: db.ClusterDatabase, item: db.ClusterNode) -> CimObject:
    return CimObject(
        NODE,
        {
            "Name": item.name,
            "Id": item.id,
            "State": item.state,
            "NodeName": item.name,
            "NodeWeight": item.node_weight,
            "DynamicWeight": item.dynamic_weight,
            "BuildNumber": item.build_number,
            "MajorVersion": 10,
            "MinorVersion": 0,
            "DrainStatus": item.drain_status,
            "DrainTarget": 0xFFFFFFFF,
            "StatusInformation": "Normal" if item.status_information == 0 else "Quarantined",
            "Cluster": cdb.name,
            "Description": "",
        },
        ref=item.name,
    )


def group(cdb: db.ClusterDatabase, item: db.ClusterGroup) -> CimObject:
    return CimObject(
        GROUP,
        {
            "Name": item.name,
            "OwnerNode": item.owner_node,
            "State": item.state,
            "GroupType": item.group_type,
            "FailoverThreshold": item.failover_threshold,
            "FailoverPeriod": item.failover_period,
            "AutoFailbackType": item.auto_failback_type,
            "FailbackWindowStart": item.failback_window_start,
            "FailbackWindowEnd": item.failback_window_end,
            "PersistentState": item.persistent_state,
            "IsCoreGroup": item.group_type in ("Cluster", "AvailableStorage"),
            "Priority": 2000,
            "Cluster": cdb.name,
            "Id": item.id,
            "Description": item.description,
        },
        ref=item.name,
    )


def resource(cdb: db.ClusterDatabase, item: db.ClusterResource) -> CimObject:
    owner = cdb.group_by_name(item.owner_group)
    return CimObject(
        RESOURCE,
        {
            "Name": item.name,
            "State": item.state,
            "OwnerGroup": item.owner_group,
            "ResourceType": item.resource_type,
            "OwnerNode": owner.owner_node if owner is not None else None,
            "RestartAction": restart_action(item.restart_action),
            "RestartThreshold": item.restart_threshold,
            "RestartPeriod": item.restart_period,
            "RestartDelay": item.restart_delay,
            "RetryPeriodOnFailure": item.retry_period_on_failure,
            "PendingTimeout": item.pending_timeout,
            "IsCoreResource": item.is_core_resource,
            "IsNetworkClassResource": item.resource_type in (db.IP_ADDRESS, db.NETWORK_NAME),
            "IsStorageClassResource": item.resource_type == db.PHYSICAL_DISK,
            "PersistentState": 1 if item.state == "Online" else 0,
            "Cluster": cdb.name,
            "Id": item.id,
            "Description": item.description,
        },
        ref=item.name,
    )


def restart_action(value: int) -> str:
    names = {v: k for k, v in db.RESTART_ACTION_VALUES.items()}
    return names.get(value, str(value))


def network(cdb: db.ClusterDatabase, item: db.ClusterNetwork) -> CimObject:
    return CimObject(
        NETWORK,
        {
            "Name": item.name,
            "State": item.state,
            "Role": item.role,
            "Metric": item.metric,
            "AutoMetric": True,
            "Address": item.address,
            "AddressMask": item.address_mask,
            "Ipv4Addresses": [item.address],
            "Ipv4PrefixLengths": [item.prefix_length],
            "Ipv6Addresses": [],
            "Ipv6PrefixLengths": [],
            "Cluster": cdb.name,
            "Id": item.id,
            "Description": item.description,
        },
        ref=item.name,
    )


def interface(cdb: db.ClusterDatabase, item: db.NetworkInterface) -> CimObject:
    return CimObject(
        INTERFACE,
        {
            "Name": item.name,
            "Node": item.node,
            "Network": item.network,
            "State": item.state,
            "Adapter": item.adapter,
            "Address": item.address,
            "Ipv4Addresses": [item.address],
            "Ipv6Addresses": [],
            "DhcpEnabled": False,
            "Cluster": cdb.name,
            "Description": "",
        },
        ref=item.name,
    )


def quorum(cdb: db.ClusterDatabase) -> CimObject:
    witness = cdb.resource_by_name(cdb.quorum.witness_resource) if cdb.quorum.witness_resource else None
    return CimObject(
        QUORUM,
        {
            "Cluster": cdb.name,
            "QuorumResource": resource(cdb, witness) if witness is not None else None,
            "QuorumType": cdb.quorum.quorum_type,
        },
        ref=cdb.name,
    )


def parameter(owner: str, name: str, value: object, *, read_only: bool = False) -> CimObject:
    """One private property (Get-ClusterParameter); its table shows ParameterType as "Type"."""
    kind = "UInt32" if isinstance(value, int) and not isinstance(value, bool) else "String"
    return CimObject(
        PARAMETER,
        {"Object": owner, "Name": name, "IsReadOnly": read_only, "ParameterType": kind, "Value": value},
        ref=f"{owner}\x00{name}",
    )


def dependency(item: db.ClusterResource) -> CimObject:
    return CimObject(
        DEPENDENCY, {"Resource": item.name, "DependencyExpression": item.dependency_expression}, ref=item.name
    )


def owners(kind_object: str, owner_nodes: list[str], cdb: db.ClusterDatabase) -> CimObject:
    return CimObject(
        OWNERS,
        {
            "ClusterObject": kind_object,
            "OwnerNodes": [node(cdb, cdb.nodes[n]) for n in owner_nodes if n in cdb.nodes],
        },
        ref=kind_object,
    )


def checkpoint(item: db.ClusterResource, key: str) -> CimObject:
    return CimObject(CHECKPOINT, {"Resource": item.name, "Name": key}, ref=f"{item.name}\x00{key}")


def file_info(full_name: str, length: int, written: float) -> CimObject:
    """System.IO.FileInfo as ConvertTo-Json shows its main properties."""
    directory, _, name = full_name.rpartition("\\")
    base, dot, extension = name.rpartition(".")
    when = _date(written)
    return CimObject(
        FILE_INFO,
        {
            "Name": name,
            "Length": length,
            "DirectoryName": directory,
            "IsReadOnly": False,
            "Exists": True,
            "FullName": full_name,
            "Extension": f".{extension}" if dot else "",
            "BaseName": base if dot else name,
            "CreationTime": when,
            "CreationTimeUtc": when,
            "LastWriteTime": when,
            "LastWriteTimeUtc": when,
            "Attributes": "Archive",
            "Mode": "-a----",
        },
        ref=full_name,
    )

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A disk, found by its unique id, becomes a named cluster disk: the pure planner.

Disk numbers change between boots and differ between nodes, so the disk is found by ``UniqueId``
(``Get-Disk | Where-Object UniqueId -EQ <id>``, which returns nothing rather than failing). Its
cluster resource is the Physical Disk resource whose ``DiskIdGuid`` parameter is the disk's GPT
``Guid``, or whose ``DiskSignature`` is its MBR ``Signature`` (wsfc-behaviour 2.4, as
FailoverClusterDsc maps them). ``Get-Disk | Add-ClusterDisk`` clusters it into "Available
Storage" as "Cluster Disk N"; assigning ``Name`` renames the resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import (
    SWITCH,
    Pipeline,
    SetProperties,
    Step,
    change,
    read,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_common import (
    ArgumentError,
    PlanError,
    name_of,
    parameters_by_object,
    resource_type,
    same_name,
)

DISK_PROPERTIES = (
    "Number",
    "UniqueId",
    "FriendlyName",
    "Size",
    "PartitionStyle",
    "IsClustered",
    "Guid",
    "Signature",
)
RESOURCE_PROPERTIES = ("Name", "State", "OwnerGroup", "OwnerNode", "ResourceType")


def _disk_by_unique_id(unique_id: str) -> tuple[Step, Step]:
    return (
        Step("Get-Disk"),
        Step("Where-Object", {"Property": "UniqueId", "EQ": SWITCH, "Value": unique_id}),
    )


def reads(args: Mapping[str, Any]) -> list[Pipeline]:
    if not args["unique_id"].strip():
        raise ArgumentError("unique_id", "an empty string is not a disk's UniqueId; Get-Disk lists them")
    if args.get("name") is not None and not args["name"].strip():
        raise ArgumentError("name", "an empty string is not a cluster disk name")
    return [
        read("disk", *_disk_by_unique_id(args["unique_id"]), select=DISK_PROPERTIES),
        read("resources", Step("Get-ClusterResource"), select=RESOURCE_PROPERTIES),
        read(
            "parameters",
            Step("Get-ClusterResource"),
            Step("Get-ClusterParameter"),
            depth=1,
        ),
    ]


def _guid(value: Any) -> str:
    return str(value or "").strip("{}").casefold()


def _signature(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value or None
    try:
        return int(str(value), 0) or None
    except ValueError:
        return None


def disk_resource(disk: Mapping[str, Any], observed: Observed) -> Mapping[str, Any] | None:
    """The Physical Disk resource of ``disk``, if it is clustered here."""
    parameters = parameters_by_object(observed["parameters"])
    guid = _guid(disk.get("Guid"))
    signature = _signature(disk.get("Signature"))
    resource: Mapping[str, Any]
    for resource in observed["resources"]:
        if resource_type(resource).casefold() != "physical disk":
            continue
        private = parameters.get(name_of(resource).casefold(), {})
        if guid and _guid(private.get("DiskIdGuid")) == guid:
            return resource
        if signature is not None and _signature(private.get("DiskSignature")) == signature:
            return resource
    return None


def disk_state(disk: Mapping[str, Any], resource: Mapping[str, Any] | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "unique_id": disk.get("UniqueId"),
        "size": disk.get("Size"),
        "clustered": resource is not None,
    }
    if resource is not None:
        state.update(
            name=name_of(resource),
            owner_group=name_of(resource.get("OwnerGroup")),
            owner_node=name_of(resource.get("OwnerNode")),
            state=resource.get("State"),
        )
    return state


def plan(args: Mapping[str, Any], observed: Observed) -> Plan:
    unique_id, name = args["unique_id"], args.get("name")
    if not observed["disk"]:
        raise PlanError(
            f"unique_id: no disk with UniqueId {unique_id!r} is visible on this node; run the task on a "
            "node that sees the shared disk (Get-Disk lists the UniqueId of each), and check that its "
            "iSCSI session or storage space is connected"
        )
    disk = observed["disk"][0]
    resource = disk_resource(disk, observed)
    before = disk_state(disk, resource)
    if resource is None and disk.get("IsClustered"):
        raise PlanError(
            f"unique_id: disk {unique_id!r} is clustered (IsClustered) but no Physical Disk resource of "
            "this cluster holds it; it may belong to another cluster. Remove it there first"
        )
    taken = [
        r
        for r in observed["resources"]
        if name and same_name(name_of(r), name) and (resource is None or r is not resource)
    ]
    if taken:
        raise PlanError(
            f"name: the cluster already has a resource called {name!r} ({resource_type(taken[0])}, in "
            f"{name_of(taken[0].get('OwnerGroup'))}); choose another name"
        )
    after = {**before, "clustered": True, "name": name or before.get("name")}
    if resource is None:
        # Without a name the disk keeps the one Windows gives it ("Cluster Disk N").
        rename = (SetProperties({"Name": name}),) if name else ()
        after.update(owner_group="Available Storage")
        changes = (
            change(
                f"cluster disk {unique_id}",
                *_disk_by_unique_id(unique_id),
                Step("Add-ClusterDisk"),
                *rename,
                select=RESOURCE_PROPERTIES,
            ),
        )
    elif name and name_of(resource) != name:
        changes = (
            change(
                f"rename {name_of(resource)}",
                Step("Get-ClusterResource", {"Name": (name_of(resource),)}),
                SetProperties({"Name": name}),
                select=RESOURCE_PROPERTIES,
            ),
        )
    else:
        return Plan(changes=(), before=before, after=before)

    def reported(applied: Observed) -> dict[str, Any]:
        returned = applied.get(changes[0].name)
        return disk_state(disk, returned[0]) if returned else after

    return Plan(changes=changes, before=before, after=after, reported=reported)

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure planner of ``pbxops.wsfc.storage_space``: a Storage Spaces pool and one virtual disk.

It refuses what Windows refuses, with the reason, before anything changes (wsfc-behaviour 2.3):
iSCSI- or FC-attached disks in a pool (Storage Spaces does not support them; RAID belongs on
the target), parity on fewer than three disks, a two-way mirror on fewer than two, more columns
than disks, and thin provisioning in a clustered pool. A pool or space that exists is never
rebuilt: a space whose layout differs from the task is reported, not recreated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import (
    SWITCH,
    OutputOf,
    Pipeline,
    Step,
    change,
    read,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan, PlanError, read_back

__all__ = ["check_space_arguments", "plan_storage_space", "read_storage_spaces"]

POOL_FIELDS = (
    "FriendlyName",
    "UniqueId",
    "IsPrimordial",
    "IsClustered",
    "IsReadOnly",
    "Size",
    "AllocatedSize",
)
PHYSICAL_FIELDS = ("FriendlyName", "UniqueId", "BusType", "CanPool", "CannotPoolReason", "Size")
SPACE_FIELDS = (
    "FriendlyName",
    "UniqueId",
    "ResiliencySettingName",
    "NumberOfColumns",
    "NumberOfDataCopies",
    "PhysicalDiskRedundancy",
    "ProvisioningType",
    "Size",
    "IsClustered",
    "HealthStatus",
)
RESILIENCY = {"simple": "Simple", "mirror": "Mirror", "parity": "Parity"}
# The fewest disks each layout takes (New-VirtualDisk; StorageWMI 48004 below that).
MINIMUM_DISKS = {"Simple": 1, "Mirror": 2, "Parity": 3}
UNSUPPORTED_BUSES = {"iSCSI", "Fibre Channel", "FibreChannel"}


def read_storage_spaces() -> list[Pipeline]:
    return [
        read("pools", Step("Get-StoragePool"), select=POOL_FIELDS),
        read("physical disks", Step("Get-PhysicalDisk"), select=PHYSICAL_FIELDS),
        read("spaces", Step("Get-VirtualDisk"), select=SPACE_FIELDS),
    ]


def check_space_arguments(args: Mapping[str, Any]) -> None:
    """What Windows would refuse whatever the host holds."""
    disks = args.get("physical_disks") or []
    resiliency = RESILIENCY[args["resiliency"]]
    if len(set(d.upper() for d in disks)) != len(disks):
        raise PlanError(f"physical_disks: {disks} lists a disk twice; list each unique id once")
    if disks and len(disks) < MINIMUM_DISKS[resiliency]:
        raise PlanError(
            f"physical_disks: {resiliency} needs at least {MINIMUM_DISKS[resiliency]} disks, and "
            f"{len(disks)} are given; add disks or choose another resiliency"
        )
    columns = args.get("columns")
    if columns is not None and (columns < 1 or (disks and columns > len(disks))):
        raise PlanError(
            f"columns: {columns} is not possible with {len(disks) or 'the'} disks; "
            "expected 1 to the number of disks"
        )
    if args.get("size") is not None and args["size"] <= 0:
        raise PlanError(
            f"size: {args['size']} is not a size; expected a positive number of bytes, or leave it out"
        )


def _space_state(
    space: Mapping[str, Any] | None, pool: Mapping[str, Any] | None, args: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "pool": {
            "name": args["pool"],
            "present": pool is not None,
            "clustered": bool(pool and pool.get("IsClustered")),
        },
        "space": None
        if space is None
        else {
            "name": space.get("FriendlyName"),
            "unique_id": space.get("UniqueId"),
            "resiliency": space.get("ResiliencySettingName"),
            "columns": space.get("NumberOfColumns"),
            "provisioning": space.get("ProvisioningType"),
            "size": space.get("Size"),
        },
    }


def _pool_disks(args: Mapping[str, Any], physical: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    wanted = [d.upper() for d in args.get("physical_disks") or []]
    by_id = {str(p.get("UniqueId")).upper(): p for p in physical}
    if not wanted:
        chosen = [p for p in physical if p.get("CanPool")]
        if len(chosen) < MINIMUM_DISKS[RESILIENCY[args["resiliency"]]]:
            raise PlanError(
                f"physical_disks: none given, and this host has {len(chosen)} disks that can be pooled; "
                f"{RESILIENCY[args['resiliency']]} needs {MINIMUM_DISKS[RESILIENCY[args['resiliency']]]}. "
                "List the shared disks by unique id (pbxops.wsfc.node_info shows them)"
            )
        return chosen
    missing = [d for d in wanted if d not in by_id]
    if missing:
        raise PlanError(
            f"physical_disks: no physical disk of this host has the unique id {', '.join(missing)}; "
            f"its disks are {', '.join(sorted(by_id)) or 'none'}"
        )
    chosen = [by_id[d] for d in wanted]
    for disk in chosen:
        if disk.get("BusType") in UNSUPPORTED_BUSES:
            raise PlanError(
                f"physical_disks: {disk.get('UniqueId')} is attached by {disk.get('BusType')}, and Storage "
                "Spaces does not support iSCSI- or Fibre Channel-attached disks. Build the RAID on the "
                "storage target and give the cluster its LUN as a disk (pbxops.wsfc.disk)",
                disk=disk.get("UniqueId"),
            )
        if not disk.get("CanPool"):
            reasons = ", ".join(disk.get("CannotPoolReason") or []) or "unknown"
            raise PlanError(
                f"physical_disks: {disk.get('UniqueId')} cannot be pooled (CannotPoolReason: {reasons}). "
                "A disk with partitions must be cleared first; a disk in another pool or in the cluster "
                "stays there",
                disk=disk.get("UniqueId"),
            )
    return chosen


def _compare_space(space: Mapping[str, Any], args: Mapping[str, Any], resiliency: str) -> None:
    differences = []
    if space.get("ResiliencySettingName") != resiliency:
        differences.append(f"resiliency {space.get('ResiliencySettingName')}, not {resiliency}")
    if args.get("columns") is not None and space.get("NumberOfColumns") != args["columns"]:
        differences.append(f"{space.get('NumberOfColumns')} columns, not {args['columns']}")
    if str(space.get("ProvisioningType", "")).lower() != args["provisioning"]:
        differences.append(
            f"provisioning {space.get('ProvisioningType')}, not {args['provisioning'].title()}"
        )
    if differences:
        raise PlanError(
            f"name: the virtual disk {args['name']!r} exists with {', '.join(differences)}. A space's layout "
            "cannot change in place: move its data, remove it (Remove-VirtualDisk) and run the task again, "
            "or change the task to match it",
            differences=differences,
        )


def plan_storage_space(args: Mapping[str, Any], observed: Observed) -> Plan:
    resiliency = RESILIENCY[args["resiliency"]]
    pools = [p for p in observed.get("pools") if not p.get("IsPrimordial")]
    pool = next((p for p in pools if str(p.get("FriendlyName")).casefold() == args["pool"].casefold()), None)
    space = next(
        (
            s
            for s in observed.get("spaces")
            if str(s.get("FriendlyName")).casefold() == args["name"].casefold()
        ),
        None,
    )
    before = _space_state(space, pool, args)
    if space is not None:
        _compare_space(space, args, resiliency)
        return Plan(changes=(), before=before, after=before)
    if pool is not None and pool.get("IsClustered") and args["provisioning"] != "fixed":
        raise PlanError(
            f"provisioning: pool {args['pool']!r} is clustered, and a clustered pool takes only fixed "
            "provisioning; set provisioning: fixed"
        )
    changes: list[Pipeline] = []
    members = len(args.get("physical_disks") or [])
    if pool is None:
        chosen = _pool_disks(args, observed.get("physical disks"))
        members = len(chosen)
        ids = tuple(str(d.get("UniqueId")) for d in chosen)
        changes += [
            # The disks, as objects: New-StoragePool -PhysicalDisks takes them, never their ids.
            read_back(
                "pool disks",
                Step("Get-PhysicalDisk", {"CanPool": True}),
                Step("Where-Object", {"Property": "UniqueId", "In": SWITCH, "Value": ids}),
                select=("UniqueId",),
            ),
            change(
                "pool",
                Step(
                    "New-StoragePool",
                    {
                        "FriendlyName": args["pool"],
                        "StorageSubSystemFriendlyName": ("Windows Storage*",),
                        "PhysicalDisks": OutputOf("pool disks"),
                    },
                ),
                select=POOL_FIELDS,
            ),
        ]
    if members and members < MINIMUM_DISKS[resiliency]:
        raise PlanError(
            f"resiliency: {resiliency} needs at least {MINIMUM_DISKS[resiliency]} disks; "
            f"the pool has {members}"
        )
    space_parameters: dict[str, Any] = {
        "StoragePoolFriendlyName": args["pool"],
        "FriendlyName": args["name"],
        "ResiliencySettingName": resiliency,
        "ProvisioningType": args["provisioning"].title(),
    }
    if args.get("columns") is not None:
        space_parameters["NumberOfColumns"] = args["columns"]
    if args.get("size") is not None:
        space_parameters["Size"] = args["size"]
    else:
        space_parameters["UseMaximumSize"] = SWITCH
    changes.append(change("space", Step("New-VirtualDisk", space_parameters), select=SPACE_FIELDS))
    predicted = {
        "FriendlyName": args["name"],
        "UniqueId": None,
        "ResiliencySettingName": resiliency,
        "NumberOfColumns": args.get("columns"),
        "ProvisioningType": args["provisioning"].title(),
        "Size": args.get("size"),
    }
    after = _space_state(predicted, pool or {"IsClustered": False}, args)

    def reported(applied: Observed) -> Mapping[str, Any]:
        made_pool = applied.get("pool")
        return _space_state(applied.get("space")[0], made_pool[0] if made_pool else pool, args)

    return Plan(changes=tuple(changes), before=before, after=after, reported=reported)

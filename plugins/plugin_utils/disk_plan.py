# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure planner of ``pbxops.wsfc.disk``: one disk, found by unique id, made online, writable,
GPT, with one partition holding an NTFS (or ReFS) volume with a label and a drive letter.

The sequence is StorageDsc's (wsfc-behaviour 2.2): online, writable, initialise only a RAW disk,
one partition over the whole disk, format. Whatever would destroy data is refused unless
``force``: the error names the disk's unique id and what it holds. A partition without a file
system holds nothing readable, so it is formatted without ``force``; that is also how a run that
stopped between New-Partition and Format-Volume converges.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import SWITCH, Pipeline, Step, change, read
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan, PlanError, read_back

__all__ = ["checked_arguments", "disk_state", "plan_disk", "read_disks"]

DISK_FIELDS = (
    "Number",
    "UniqueId",
    "FriendlyName",
    "BusType",
    "Size",
    "PartitionStyle",
    "IsOffline",
    "IsReadOnly",
    "IsClustered",
    "IsBoot",
    "IsSystem",
)
PARTITION_FIELDS = ("DiskNumber", "PartitionNumber", "DriveLetter", "Size", "Type", "AccessPaths")
VOLUME_FIELDS = (
    "UniqueId",
    "DriveLetter",
    "FileSystem",
    "FileSystemLabel",
    "AllocationUnitSize",
    "Size",
    "SizeRemaining",
)
# Partitions Windows makes for its own use; they hold no data of ours.
HOUSEKEEPING = frozenset({"Reserved", "System", "Recovery"})
NO_LETTER = "\u0000"


def read_disks() -> list[Pipeline]:
    """Every disk, partition and volume of the host: a disk's number may change, so it is found
    by unique id in Python, and a missing one is reported with the ids that exist."""
    return [
        read("disks", Step("Get-Disk"), select=DISK_FIELDS),
        read("partitions", Step("Get-Partition"), select=PARTITION_FIELDS),
        read("volumes", Step("Get-Volume"), select=VOLUME_FIELDS),
    ]


def _letter(value: Any) -> str | None:
    return str(value).upper() if value and value != NO_LETTER else None


def _gib(size: Any) -> str:
    return f"{int(size or 0) / 2**30:.1f} GiB"


def disk_state(
    disk: Mapping[str, Any], partitions: Sequence[Mapping[str, Any]], volume: Mapping[str, Any] | None
) -> dict[str, Any]:
    data = [p for p in partitions if p.get("Type") not in HOUSEKEEPING]
    return {
        "unique_id": disk.get("UniqueId"),
        "number": disk.get("Number"),
        "size": disk.get("Size"),
        "online": not disk.get("IsOffline"),
        "read_only": bool(disk.get("IsReadOnly")),
        "partition_style": disk.get("PartitionStyle"),
        "partitions": len(data),
        "drive_letter": _letter(volume.get("DriveLetter"))
        if volume
        else (_letter(data[0].get("DriveLetter")) if data else None),
        "file_system": (volume or {}).get("FileSystem") or None,
        "label": (volume or {}).get("FileSystemLabel") if volume else None,
        "allocation_unit_size": (volume or {}).get("AllocationUnitSize") or None,
    }


def _volume_of(
    partition: Mapping[str, Any], volumes: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    paths = set(partition.get("AccessPaths") or [])
    return next((v for v in volumes if v.get("UniqueId") in paths), None)


def _holds(
    disk: Mapping[str, Any], data: Sequence[Mapping[str, Any]], volumes: Sequence[Mapping[str, Any]]
) -> str:
    """What a disk holds, in words, for the refusal message."""
    parts = []
    for partition in data:
        volume = _volume_of(partition, volumes)
        what = f"partition {partition.get('PartitionNumber')} ({_gib(partition.get('Size'))}"
        if volume and volume.get("FileSystem"):
            used = int(volume.get("Size") or 0) - int(volume.get("SizeRemaining") or 0)
            what += f", {volume['FileSystem']} volume {volume.get('FileSystemLabel')!r}, {_gib(used)} used"
        parts.append(what + ")")
    return f"disk {disk.get('UniqueId')} ({disk.get('PartitionStyle')}) holds " + ", ".join(parts)


def _check_target(args: Mapping[str, Any], observed: Observed) -> dict[str, Any]:
    wanted = args["unique_id"].upper()
    disks = observed.get("disks")
    disk: dict[str, Any] | None = next(
        (d for d in disks if str(d.get("UniqueId", "")).upper() == wanted), None
    )
    if disk is None:
        known = ", ".join(f"{d.get('UniqueId')} ({d.get('BusType')}, {_gib(d.get('Size'))})" for d in disks)
        raise PlanError(
            f"unique_id: no disk of this host has the unique id {args['unique_id']!r}; its disks are "
            f"{known or 'none'}. A shared disk shows only once its iSCSI or SAS path is connected "
            "(pbxops.wsfc.iscsi_target); pbxops.wsfc.node_info lists the disks of each node"
        )
    if disk.get("IsBoot") or disk.get("IsSystem"):
        raise PlanError(
            f"unique_id: {disk['UniqueId']} is the boot or system disk of this host; "
            "choose a data disk (pbxops.wsfc.node_info lists them)",
            disk=disk["UniqueId"],
        )
    letter = args.get("drive_letter")
    if letter:
        others = [
            p
            for p in observed.get("partitions")
            if p.get("DiskNumber") != disk.get("Number") and _letter(p.get("DriveLetter")) == letter
        ]
        if others:
            raise PlanError(
                f"drive_letter: {letter} is already used by partition {others[0].get('PartitionNumber')} of "
                f"disk {others[0].get('DiskNumber')} on this host; choose a free letter",
                disk=disk["UniqueId"],
            )
    return disk


def checked_arguments(args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments with the drive letter in upper case; values Windows would refuse are refused here."""
    checked = dict(args)
    letter = args.get("drive_letter")
    if letter is not None:
        if not re.fullmatch(r"[D-Zd-z]:?", letter):
            raise PlanError(
                f"drive_letter: {letter!r} is not a drive letter for data; expected one letter from D to Z"
            )
        checked["drive_letter"] = letter[0].upper()
    unit = args.get("allocation_unit_size")
    if unit is not None and (unit < 512 or unit > 2**21 or unit & (unit - 1)):
        raise PlanError(
            f"allocation_unit_size: {unit} is not a cluster size NTFS or ReFS take; expected a power of two "
            "from 512 to 2097152 bytes (4096 is the NTFS default, 65536 suits large database files)"
        )
    label = args.get("label")
    limit = 32 if args["file_system"] == "ntfs" else 255
    if label is not None and len(label) > limit:
        raise PlanError(
            f"label: {label!r} has {len(label)} characters; a {args['file_system']} label has at most {limit}"
        )
    return checked


def plan_disk(args: Mapping[str, Any], observed: Observed) -> Plan:
    """``args`` as ``checked_arguments`` returns them."""
    disk = _check_target(args, observed)
    uid = str(disk["UniqueId"])
    partitions = [p for p in observed.get("partitions") if p.get("DiskNumber") == disk.get("Number")]
    data = [p for p in partitions if p.get("Type") not in HOUSEKEEPING]
    volumes = observed.get("volumes")
    volume = _volume_of(data[0], volumes) if len(data) == 1 else None
    style = args["partition_style"].upper()
    file_system = {"ntfs": "NTFS", "refs": "ReFS"}[args["file_system"]]
    by_id = {"UniqueId": uid}
    before = disk_state(disk, partitions, volume)

    if disk.get("IsClustered"):
        return _clustered(args, before, file_system)

    changes: list[Pipeline] = []
    if disk.get("IsOffline"):
        changes.append(change("online", Step("Set-Disk", {**by_id, "IsOffline": False})))
    if disk.get("IsReadOnly"):
        changes.append(change("writable", Step("Set-Disk", {**by_id, "IsReadOnly": False})))

    holds = _holds(disk, data, volumes)
    if disk.get("PartitionStyle") == "RAW":
        changes.append(change("initialize", Step("Initialize-Disk", {**by_id, "PartitionStyle": style})))
    elif disk.get("PartitionStyle") != style:
        if data:
            raise PlanError(
                f"partition_style: {holds}, and is {disk.get('PartitionStyle')}, not {style}. It is never "
                "repartitioned, even with force: true; if its data is not needed, clear it (Clear-Disk "
                "-RemoveData) and run the task again",
                disk=uid,
            )
        if not args["force"]:
            raise PlanError(
                f"partition_style: disk {uid} is initialised as {disk.get('PartitionStyle')}, not {style}; "
                "it has no partitions. Set force: true to convert it",
                disk=uid,
            )
        changes.append(change("convert", Step("Set-Disk", {**by_id, "PartitionStyle": style})))

    if disk.get("IsOffline") and data:
        # Windows shows no volume of an offline disk: whether its partition holds a file system is
        # known only once it is online, so that is all this run does before it looks.
        return _online_then_check(args, before, changes, file_system)
    volume_steps = _volume_plan(args, uid, data=data, volume=volume, holds=holds, file_system=file_system)
    changes.extend(volume_steps)
    after = {
        **before,
        "online": True,
        "read_only": False,
        "partition_style": style,
        "partitions": 1,
        "drive_letter": args.get("drive_letter") or before["drive_letter"],
        "file_system": file_system,
        "label": args["label"] if args.get("label") is not None else before["label"],
        "allocation_unit_size": args.get("allocation_unit_size") or before["allocation_unit_size"] or 4096,
    }
    if not changes:
        return Plan(changes=(), before=before, after=before)
    changes += _read_backs(uid)

    def reported(applied: Observed) -> Mapping[str, Any]:
        now, parts, vols = _after(applied)
        data_now = [p for p in parts if p.get("Type") not in HOUSEKEEPING]
        return disk_state(now, parts, _volume_of(data_now[0], vols) if len(data_now) == 1 else None)

    return Plan(changes=tuple(changes), before=before, after=after, reported=reported)


def _read_backs(uid: str) -> list[Pipeline]:
    by_id = {"UniqueId": uid}
    return [
        read_back("disk after", Step("Get-Disk", by_id), select=DISK_FIELDS),
        read_back(
            "partitions after", Step("Get-Disk", by_id), Step("Get-Partition"), select=PARTITION_FIELDS
        ),
        read_back(
            "volumes after",
            Step("Get-Disk", by_id),
            Step("Get-Partition"),
            Step("Get-Volume"),
            select=VOLUME_FIELDS,
        ),
    ]


def _after(applied: Observed) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    return applied.get("disk after")[0], applied.get("partitions after"), applied.get("volumes after")


def _online_then_check(
    args: Mapping[str, Any], before: Mapping[str, Any], changes: list[Pipeline], file_system: str
) -> Plan:
    """An offline disk with partitions: bring it online, then check its volume against the task.
    A volume that matches is the end; any other is refused as it would be on an online disk, or,
    when it needs formatting (force, or no file system yet), left to the next run, which sees it."""
    uid = str(before["unique_id"])
    after = {
        **before,
        "online": True,
        "read_only": False,
        "drive_letter": args.get("drive_letter") or before["drive_letter"],
        "file_system": file_system,
        "label": args["label"] if args.get("label") is not None else before["label"],
        "allocation_unit_size": args.get("allocation_unit_size") or before["allocation_unit_size"],
    }

    def reported(applied: Observed) -> Mapping[str, Any]:
        now, parts, vols = _after(applied)
        data_now = [p for p in parts if p.get("Type") not in HOUSEKEEPING]
        volume = _volume_of(data_now[0], vols) if len(data_now) == 1 else None
        pending = _volume_plan(
            args,
            uid,
            data=data_now,
            volume=volume,
            holds=_holds(now, data_now, vols),
            file_system=file_system,
        )
        if pending:
            reason = "force: true" if args["force"] else "it has no file system"
            raise PlanError(
                f"disk {uid} was offline, so its volume could not be read; it is online now, and its "
                f"partition needs formatting ({reason}). Run the task again to format it",
                disk=uid,
            )
        return disk_state(now, parts, volume)

    return Plan(changes=(*changes, *_read_backs(uid)), before=before, after=after, reported=reported)


def _format(args: Mapping[str, Any], file_system: str, *, force: bool) -> Step:
    parameters: dict[str, Any] = {"FileSystem": file_system}
    if args.get("label") is not None:
        parameters["NewFileSystemLabel"] = args["label"]
    if args.get("allocation_unit_size"):
        parameters["AllocationUnitSize"] = args["allocation_unit_size"]
    if force:
        parameters["Force"] = SWITCH
    return Step("Format-Volume", parameters)


def _volume_plan(
    args: Mapping[str, Any],
    uid: str,
    *,
    data: Sequence[Mapping[str, Any]],
    volume: Mapping[str, Any] | None,
    holds: str,
    file_system: str,
) -> list[Pipeline]:
    letter = args.get("drive_letter")
    if not data:
        partition: dict[str, Any] = {"UseMaximumSize": SWITCH}
        partition.update({"DriveLetter": letter} if letter else {"AssignDriveLetter": SWITCH})
        return [
            change(
                "partition and volume",
                Step("Get-Disk", {"UniqueId": uid}),
                Step("New-Partition", partition),
                _format(args, file_system, force=False),
                select=VOLUME_FIELDS,
            )
        ]
    if len(data) > 1:
        raise PlanError(
            f"{holds}; the module makes one partition and never removes partitions, even with force: true. "
            "Choose another disk, or clear this one (Clear-Disk -RemoveData) if its data is not needed",
            disk=uid,
        )
    only = data[0]
    found_letter = _letter(only.get("DriveLetter"))
    if letter and found_letter != letter:
        raise PlanError(
            f"drive_letter: {holds}, reached as {found_letter or 'no letter'}, not {letter}. The module does "
            "not move drive letters; change it with Set-Partition -NewDriveLetter, or leave drive_letter out",
            disk=uid,
        )
    formatted = bool(volume and volume.get("FileSystem"))
    differences = []
    if formatted and volume:
        if volume.get("FileSystem") != file_system:
            differences.append(f"file system {volume.get('FileSystem')}, not {file_system}")
        if args.get("label") is not None and volume.get("FileSystemLabel") != args["label"]:
            differences.append(f"label {volume.get('FileSystemLabel')!r}, not {args['label']!r}")
        wanted_unit = args.get("allocation_unit_size")
        if wanted_unit and volume.get("AllocationUnitSize") != wanted_unit:
            differences.append(f"allocation unit size {volume.get('AllocationUnitSize')}, not {wanted_unit}")
    if formatted and not differences:
        return []
    if formatted and not args["force"]:
        raise PlanError(
            f"{holds}: its volume has {', '.join(differences)}. Formatting would erase it: set force: true "
            "to format it, or change the task to match the volume",
            disk=uid,
            differences=differences,
        )
    return [
        change(
            "format",
            Step(
                "Get-Partition",
                {
                    "DiskNumber": (int(only["DiskNumber"]),),
                    "PartitionNumber": (int(only["PartitionNumber"]),),
                },
            ),
            _format(args, file_system, force=formatted),
            select=VOLUME_FIELDS,
        )
    ]


def _clustered(args: Mapping[str, Any], before: Mapping[str, Any], file_system: str) -> Plan:
    """A cluster disk belongs to the cluster: it is left alone, and must already match."""
    mismatched = [
        name
        for name, wanted in (
            ("file_system", file_system),
            ("label", args.get("label")),
            ("drive_letter", args.get("drive_letter")),
        )
        if wanted is not None and before["online"] and before[name] != wanted
    ]
    if mismatched:
        raise PlanError(
            f"disk {before['unique_id']} is a cluster disk, which only the cluster may change, and its "
            f"{', '.join(mismatched)} differ from the task. Prepare disks before they join the cluster, "
            "or take the disk out of the cluster first",
            disk=before["unique_id"],
        )
    return Plan(changes=(), before=before, after=before)

"""The Storage cmdlets of partitions: Get-Partition, New-Partition."""

from __future__ import annotations

import shutil

from wsfclab.cmdlets.base import Call, CimObject, cmdlet, filter_by, storage_error
from wsfclab.cmdlets.disks import disk_for, select_disks, writable
from wsfclab.disks import ALIGNMENT, GPT_BASIC, is_boot, largest_free_extent, letters_in_use, visible_disks
from wsfclab.ids import guid
from wsfclab.state import DiskState, DiskView, LabState, Partition, Volume


def partition_object(
    state: LabState, disk: DiskState, view: DiskView, part: Partition, node: str
) -> CimObject:
    letter = part.drive_letter
    access = [f"{letter}:\\"] if letter and not view.is_offline else []
    if part.volume is not None and not view.is_offline:
        access.append(f"\\\\?\\Volume{part.volume.object_id}\\")
    return CimObject(
        "MSFT_Partition",
        {
            "DiskNumber": view.number,
            "PartitionNumber": part.number,
            "DriveLetter": letter or "\u0000",
            "Offset": part.offset,
            "Size": part.size,
            "Type": part.type_name,
            "GptType": part.gpt_type if disk.partition_style == "GPT" else None,
            "MbrType": 7 if disk.partition_style == "MBR" else None,
            "Guid": part.guid if disk.partition_style == "GPT" else None,
            "IsActive": False,
            "IsBoot": is_boot(disk, part),
            "IsSystem": part.type_name == "System",
            "IsHidden": False,
            "IsReadOnly": view.is_read_only,
            "IsOffline": view.is_offline,
            "IsShadowCopy": False,
            "IsDAX": False,
            "NoDefaultDriveLetter": part.type_name in ("System", "Reserved"),
            "OperationalStatus": "Offline" if view.is_offline else "Online",
            "AccessPaths": access,
            "DiskId": f"\\\\?\\disk#{disk.key.lower()}#{{53f56307-b6bf-11d0-94f2-00a0c91efb8b}}",
            "DiskPath": f"\\\\?\\disk#{disk.key.lower()}#{{53f56307-b6bf-11d0-94f2-00a0c91efb8b}}",
            "UniqueId": f"{{00000000-0000-0000-0000-{part.number:012d}}}{disk.unique_id}",
        },
        ref=f"{disk.key}#{part.number}",
    )


def _partition_objects(call: Call, disks: list[tuple[DiskState, DiskView]] | None = None) -> list[CimObject]:
    pairs = disks if disks is not None else visible_disks(call.state, call.node.name)
    return [partition_object(call.state, d, v, p, call.node.name) for d, v in pairs for p in d.partitions]


@cmdlet("Get-Partition", inputs={"MSFT_Disk": "Disk", "MSFT_Volume": "Volume"})
def get_partition(call: Call) -> list[CimObject]:
    parts = _partition_objects(call)
    if call.input is not None and call.input.class_name == "MSFT_Disk":
        return [p for p in parts if str(p.ref).split("#")[0] == call.input.ref]
    if call.input is not None:
        return [p for p in parts if p.ref == call.input.ref]
    parts = filter_by(call, parts, "DiskNumber", "DiskNumber", "MSFT_Partition", wildcards=False)
    parts = filter_by(call, parts, "PartitionNumber", "PartitionNumber", "MSFT_Partition", wildcards=False)
    parts = filter_by(call, parts, "DriveLetter", "DriveLetter", "MSFT_Partition", wildcards=False)
    parts = filter_by(call, parts, "DiskId", "DiskId", "MSFT_Partition", wildcards=False)
    return filter_by(call, parts, "UniqueId", "UniqueId", "MSFT_Partition", wildcards=False)


@cmdlet("New-Partition", inputs={"MSFT_Disk": "InputObject"}, changes=True)
def new_partition(call: Call) -> list[CimObject]:
    created = []
    for obj in select_disks(call, number_param="DiskNumber"):
        disk, view = disk_for(call, str(obj.ref))
        if disk.partition_style == "RAW":
            raise storage_error(call, 41000)
        writable(call, view)
        if call.has("Size") == bool(call.get("UseMaximumSize")):
            raise storage_error(call, 40005)
        free = largest_free_extent(disk)
        size = free if call.get("UseMaximumSize") else int(call.get("Size"))
        if size <= 0 or size > free:
            raise storage_error(call, 40000)
        end = max((p.offset + p.size for p in disk.partitions), default=ALIGNMENT)
        number = max((p.number for p in disk.partitions), default=0) + 1
        part = Partition(
            number=number,
            offset=-(-end // ALIGNMENT) * ALIGNMENT,
            size=size,
            guid=guid(disk.key, "partition", str(call.state.next_id())),
            gpt_type=GPT_BASIC,
            type_name="Basic" if disk.partition_style == "GPT" else "IFS",
            drive_letter=None,
            folder=f"{disk.folder}/{number}",
            volume=Volume(
                object_id=guid(disk.key, "volume", str(call.state.next_id())),
                unique_id="",
                file_system="",
                label="",
                allocation_unit_size=0,
            ),
        )
        part.volume.unique_id = f"\\\\?\\Volume{part.volume.object_id}\\"  # type: ignore[union-attr]
        disk.partitions.append(part)
        folder = call.lab.local(part.folder)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        wanted = call.get("DriveLetter")
        used = letters_in_use(call.state, call.node.name)
        if wanted is not None:
            if str(wanted).upper() in used:
                # Windows creates the partition and then reports that the letter is taken.
                raise storage_error(call, 42002)
            part.drive_letter = str(wanted).upper()
        elif call.get("AssignDriveLetter"):
            part.drive_letter = next((c for c in "DEFGHIJKLMNOPQRSTUVWXYZ" if c not in used), None)
        created.append(partition_object(call.state, disk, view, part, call.node.name))
    return created

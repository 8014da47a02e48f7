"""The Storage cmdlets of volumes: Get-Volume, Format-Volume.

A volume's files live in its partition's folder, which ``paths`` maps to the drive letter on the
nodes that have the disk online.
"""

from __future__ import annotations

import os
import shutil

from wsfclab.cmdlets.base import Call, CimObject, cmdlet, filter_by, storage_error
from wsfclab.cmdlets.disks import disk_for, storage_object_id
from wsfclab.disks import MB, is_boot, visible_disks
from wsfclab.state import DiskState, Partition


def _folder_usage(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def volume_object(call: Call, disk: DiskState, part: Partition) -> CimObject:
    volume = part.volume
    assert volume is not None
    formatted = bool(volume.file_system)
    size = part.size if formatted else 0
    used = _folder_usage(str(call.lab.local(part.folder))) if formatted and part.folder else 0
    return CimObject(
        "MSFT_Volume",
        {
            "DriveLetter": part.drive_letter or "\u0000",
            "DriveType": "Fixed",
            "FileSystem": volume.file_system,
            "FileSystemType": volume.file_system or "Unknown",
            "FileSystemLabel": volume.label,
            "FriendlyName": volume.label,
            "HealthStatus": "Healthy",
            "OperationalStatus": "OK",
            "Size": size,
            "SizeRemaining": max(0, size - used - (64 * MB if formatted else 0)),
            "AllocationUnitSize": volume.allocation_unit_size,
            "DedupMode": "NotAvailable",
            "ObjectId": storage_object_id(call.node.name, "MSFT_Volume", volume.unique_id),
            "UniqueId": volume.unique_id,
            "Path": volume.unique_id,
        },
        ref=f"{disk.key}#{part.number}",
    )


def _volume_objects(call: Call) -> list[CimObject]:
    """Volumes the node can reach: on disks it sees online (an offline disk's volumes are not mounted)."""
    objects = []
    for disk, view in visible_disks(call.state, call.node.name):
        if view.is_offline:
            continue
        objects += [volume_object(call, disk, p) for p in disk.partitions if p.volume is not None]
    return objects


@cmdlet("Get-Volume", inputs={"MSFT_Partition": "Partition"})
def get_volume(call: Call) -> list[CimObject]:
    volumes = _volume_objects(call)
    if call.input is not None:
        return [v for v in volumes if v.ref == call.input.ref]
    volumes = filter_by(call, volumes, "DriveLetter", "DriveLetter", "MSFT_Volume", wildcards=False)
    volumes = filter_by(call, volumes, "FileSystemLabel", "FileSystemLabel", "MSFT_Volume")
    volumes = filter_by(call, volumes, "UniqueId", "UniqueId", "MSFT_Volume", wildcards=False)
    volumes = filter_by(call, volumes, "Path", "Path", "MSFT_Volume", wildcards=False)
    return filter_by(call, volumes, "ObjectId", "ObjectId", "MSFT_Volume", wildcards=False)


@cmdlet("Format-Volume", inputs={"MSFT_Partition": "Partition", "MSFT_Volume": "InputObject"}, changes=True)
def format_volume(call: Call) -> list[CimObject]:
    if call.input is not None:
        targets = [v for v in _volume_objects(call) if v.ref == call.input.ref]
    else:
        targets = _volume_objects(call)
        for param in ("DriveLetter", "ObjectId", "Path", "FileSystemLabel"):
            targets = filter_by(
                call, targets, param, param, "MSFT_Volume", wildcards=param == "FileSystemLabel"
            )
    formatted = []
    for obj in targets:
        key, number = str(obj.ref).split("#")
        disk, view = disk_for(call, key)
        part = next(p for p in disk.partitions if p.number == int(number))
        if part.type_name == "System" or is_boot(disk, part):
            raise storage_error(call, 42010)
        if view.is_read_only:
            raise storage_error(call, 43006)
        volume = part.volume
        assert volume is not None
        file_system = str(call.get("FileSystem", "NTFS"))
        folder = call.lab.local(part.folder)
        shutil.rmtree(folder, ignore_errors=True)  # formatting erases the volume
        folder.mkdir(parents=True)
        volume.file_system = {"fat": "FAT", "fat32": "FAT32", "exfat": "exFAT", "refs": "ReFS"}.get(
            file_system.lower(), "NTFS"
        )
        volume.label = str(call.get("NewFileSystemLabel", ""))
        volume.allocation_unit_size = int(
            call.get("AllocationUnitSize", 4096 if volume.file_system != "ReFS" else 65536)
        )
        formatted.append(volume_object(call, disk, part))
    return formatted

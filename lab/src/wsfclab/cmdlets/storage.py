"""The Storage module cmdlets: disks, partitions, volumes, and Storage Spaces (pools, virtual disks).

A disk's partition table and volumes live on the disk (``DiskState``), shared by every node that
sees it; number, online and read-only state are per node (``DiskView``). A volume's files live in
its partition's folder, which ``paths`` maps to the drive letter on the nodes that have the disk
online.
"""

from __future__ import annotations

import os
import shutil

from wsfclab.build import GPT_BASIC, GPT_MSR, add_view, guid
from wsfclab.cmdlets.base import Call, CimObject, cmdlet, filter_by, not_found, storage_error
from wsfclab.errors import ErrorCategory
from wsfclab.state import DiskState, DiskView, LabState, Partition, StoragePool, VirtualDisk, Volume
from wsfclab.world import stable_hex

MB = 1024**2
GB = 1024**3
GPT_MSR_OFFSET = 17408  # Initialize-Disk puts the Microsoft Reserved partition right after the GPT
GPT_MSR_SIZE = 16 * MB - GPT_MSR_OFFSET
ALIGNMENT = MB
TAIL = MB  # space Windows leaves unallocated at the end of a disk
POOL_METADATA = 256 * MB  # Storage Spaces keeps metadata on every pool member
SLAB = 256 * MB  # Storage Spaces allocates in 256 MB slabs


# -- disks --------------------------------------------------------------------------------


def visible_disks(state: LabState, node: str) -> list[tuple[DiskState, DiskView]]:
    """Disks Get-Disk shows on the node: visible ones, except pool members (Storage Spaces hides them)."""
    pairs = [(d, d.views[node]) for d in state.disks.values() if node in d.views and d.pool is None]
    return sorted(pairs, key=lambda pair: pair[1].number)


def largest_free_extent(disk: DiskState) -> int:
    if disk.partition_style == "RAW":
        return 0
    end = max((p.offset + p.size for p in disk.partitions), default=ALIGNMENT)
    start = -(-end // ALIGNMENT) * ALIGNMENT
    return max(0, disk.size - TAIL - start)


def disk_object(state: LabState, disk: DiskState, view: DiskView, node: str) -> CimObject:
    allocated = sum(p.size for p in disk.partitions)
    return CimObject(
        "MSFT_Disk",
        {
            "Number": view.number,
            "FriendlyName": disk.friendly_name,
            "SerialNumber": disk.serial_number,
            "UniqueId": disk.unique_id,
            "UniqueIdFormat": "Vendor Specific",
            "Manufacturer": disk.manufacturer,
            "Model": disk.model,
            "Path": f"\\\\?\\disk#{disk.key.lower()}#{{53f56307-b6bf-11d0-94f2-00a0c91efb8b}}",
            "Location": _location(disk),
            "Size": disk.size,
            "AllocatedSize": allocated,
            "LargestFreeExtent": largest_free_extent(disk),
            "NumberOfPartitions": len(disk.partitions),
            "PartitionStyle": disk.partition_style,
            "OperationalStatus": "Offline" if view.is_offline else "Online",
            "HealthStatus": "Healthy",
            "BusType": disk.bus_type,
            "IsOffline": view.is_offline,
            "OfflineReason": view.offline_reason if view.is_offline else None,
            "IsReadOnly": view.is_read_only,
            "IsSystem": disk.kind == "system",
            "IsBoot": disk.kind == "system",
            "BootFromDisk": disk.kind == "system",
            "IsClustered": disk.is_clustered,
            "IsHighlyAvailable": disk.is_clustered,
            "IsScaleOut": False,
            "Signature": disk.signature,
            "Guid": disk.guid,
            "LogicalSectorSize": 512,
            "PhysicalSectorSize": 4096,
            "ProvisioningType": "Fixed",
            "ObjectId": _object_id(state, node, "MSFT_Disk", disk.unique_id),
        },
        ref=disk.key,
    )


def _location(disk: DiskState) -> str:
    if disk.kind == "iscsi":
        return f"Integrated : Adapter 2 : Port 0 : Target 0 : LUN {disk.lun}"
    return "Integrated : Adapter 0 : Port 0 : Target 0 : LUN 0"


def _object_id(state: LabState, node: str, cls: str, unique_id: str) -> str:
    return (
        f'{{1}}\\\\{node}\\root/Microsoft/Windows/Storage/Providers_v2\\WSP_{cls[5:]}.ObjectId="{unique_id}"'
    )


def _disk_for(call: Call, key: str) -> tuple[DiskState, DiskView]:
    disk = call.state.disks[key]
    view = disk.views.get(call.node.name)
    if view is None:
        raise call.fail(
            "The requested object could not be found.",
            "StorageWMI 8",
            ErrorCategory.NotSpecified,
            target="StorageWMI",
        )
    return disk, view


def _disk_objects(call: Call) -> list[CimObject]:
    return [
        disk_object(call.state, d, v, call.node.name) for d, v in visible_disks(call.state, call.node.name)
    ]


def _select_disks(call: Call, *, number_param: str = "Number") -> list[CimObject]:
    """The disks a Storage cmdlet addresses: piped in, or by number, unique id, name or path."""
    disks = _disk_objects(call)
    if call.input is not None:
        return [d for d in disks if d.ref == call.input.ref]
    disks = filter_by(call, disks, number_param, "Number", "MSFT_Disk", wildcards=False)
    disks = filter_by(call, disks, "UniqueId", "UniqueId", "MSFT_Disk", wildcards=False)
    disks = filter_by(call, disks, "FriendlyName", "FriendlyName", "MSFT_Disk")
    disks = filter_by(call, disks, "SerialNumber", "SerialNumber", "MSFT_Disk")
    return filter_by(call, disks, "Path", "Path", "MSFT_Disk", wildcards=False)


@cmdlet(
    "Get-Disk",
    inputs={
        "MSFT_iSCSISession": "iSCSISession",
        "MSFT_Partition": "Partition",
        "MSFT_VirtualDisk": "VirtualDisk",
        "MSFT_StorageSubSystem": "StorageSubSystem",
    },
)
def get_disk(call: Call) -> list[CimObject]:
    disks = _disk_objects(call)
    if call.input is None:
        return _select_disks(call)
    source = call.input
    if source.class_name == "MSFT_iSCSISession":
        session = next(s for s in call.node.iscsi_sessions if s.session_id == source.ref)
        keys = set(call.state.iscsi_targets[session.target_iqn].luns)
        return [d for d in disks if d.ref in keys]
    if source.class_name == "MSFT_Partition":
        return [d for d in disks if d.ref == str(source.ref).split("#")[0]]
    if source.class_name == "MSFT_VirtualDisk":
        space = call.state.virtual_disks[str(source.ref)]
        return [d for d in disks if d.ref == space.disk]
    return disks


@cmdlet("Set-Disk", inputs={"MSFT_Disk": "InputObject"}, changes=True)
def set_disk(call: Call) -> list[CimObject]:
    for obj in _select_disks(call):
        disk, view = _disk_for(call, str(obj.ref))
        if disk.is_clustered and (call.has("IsOffline") or call.has("IsReadOnly")):
            raise storage_error(call, 40018)
        if call.get("IsOffline") is not None:
            if disk.kind == "system" and call.get("IsOffline"):
                raise storage_error(call, 41009)
            view.is_offline = bool(call.get("IsOffline"))
            view.offline_reason = "Policy" if view.is_offline else None
        if call.get("IsReadOnly") is not None:
            if disk.kind == "system" and call.get("IsReadOnly"):
                raise storage_error(call, 41009)
            view.is_read_only = bool(call.get("IsReadOnly"))
        if call.get("PartitionStyle") is not None:
            style = str(call.get("PartitionStyle")).upper()
            if disk.partitions:
                raise storage_error(call, 41013)
            _set_style(disk, style)
        if call.get("Signature") is not None:
            disk.signature = int(call.get("Signature"))
        if call.get("Guid") is not None:
            disk.guid = str(call.get("Guid"))
    return []


def _writable(call: Call, view: DiskView) -> None:
    if view.is_offline:
        raise storage_error(call, 41003)
    if view.is_read_only:
        raise storage_error(call, 41002)


def _set_style(disk: DiskState, style: str) -> None:
    disk.partition_style = style
    if style == "GPT":
        disk.guid = guid(disk.key, "disk", str(len(disk.partitions)))
        disk.signature = None
        disk.partitions = [
            Partition(1, GPT_MSR_OFFSET, GPT_MSR_SIZE, guid(disk.key, "msr"), GPT_MSR, "Reserved", None, "")
        ]
    else:
        disk.signature = int(stable_hex(disk.key, "signature", length=8), 16)
        disk.guid = None
        disk.partitions = []


@cmdlet(
    "Initialize-Disk", inputs={"MSFT_Disk": "InputObject", "MSFT_VirtualDisk": "VirtualDisk"}, changes=True
)
def initialize_disk(call: Call) -> list[CimObject]:
    if call.input is not None and call.input.class_name == "MSFT_VirtualDisk":
        space = call.state.virtual_disks[str(call.input.ref)]
        targets = [o for o in _disk_objects(call) if o.ref == space.disk]
    else:
        targets = _select_disks(call)
    done = []
    for obj in targets:
        disk, view = _disk_for(call, str(obj.ref))
        if disk.is_clustered:
            raise storage_error(call, 40018)
        if disk.partition_style != "RAW":
            raise storage_error(call, 41001)
        _writable(call, view)
        _set_style(disk, str(call.get("PartitionStyle", "GPT")).upper())
        done.append(disk_object(call.state, disk, view, call.node.name))
    return done if call.get("PassThru") else []


# -- partitions -------------------------------------------------------------------------


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
            "IsBoot": _is_boot(disk, part),
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


def _is_boot(disk: DiskState, part: Partition) -> bool:
    """The partition Windows runs from (C: on the system disk): critical, like the EFI partition."""
    return disk.kind == "system" and part.drive_letter == "C"


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


def letters_in_use(state: LabState, node: str) -> set[str]:
    used = {"A", "B"}  # reserved for floppy drives, never assigned automatically
    for disk in state.disks.values():
        if node in disk.views:
            used |= {p.drive_letter.upper() for p in disk.partitions if p.drive_letter}
    return used


@cmdlet("New-Partition", inputs={"MSFT_Disk": "InputObject"}, changes=True)
def new_partition(call: Call) -> list[CimObject]:
    created = []
    for obj in _select_disks(call, number_param="DiskNumber"):
        disk, view = _disk_for(call, str(obj.ref))
        if disk.partition_style == "RAW":
            raise storage_error(call, 41000)
        _writable(call, view)
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


# -- volumes ---------------------------------------------------------------------------


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
            "ObjectId": _object_id(call.state, call.node.name, "MSFT_Volume", volume.unique_id),
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
        disk, view = _disk_for(call, key)
        part = next(p for p in disk.partitions if p.number == int(number))
        if part.type_name == "System" or _is_boot(disk, part):
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


# -- Storage Spaces ------------------------------------------------------------------------


def subsystem_object(call: Call) -> CimObject:
    return CimObject(
        "MSFT_StorageSubSystem",
        {
            "FriendlyName": f"Windows Storage on {call.node.name}",
            "Name": f"Windows Storage on {call.node.name}",
            "HealthStatus": "Healthy",
            "OperationalStatus": "OK",
            "Manufacturer": "Microsoft Corporation",
            "Model": "Windows Storage",
            "AutomaticClusteringEnabled": True,
            "SupportsStoragePoolCreation": True,
            "SupportsVirtualDiskCreation": False,
            "UniqueId": f"{{{stable_hex(call.node.name, 'subsystem').lower()}}}:SS",
            "ObjectId": _object_id(call.state, call.node.name, "MSFT_StorageSubSystem", call.node.name),
        },
        ref=call.node.name,
    )


@cmdlet("Get-StorageSubSystem")
def get_storage_subsystem(call: Call) -> list[CimObject]:
    subsystems = [subsystem_object(call)]
    subsystems = filter_by(call, subsystems, "FriendlyName", "FriendlyName", "MSFT_StorageSubSystem")
    subsystems = filter_by(call, subsystems, "Name", "Name", "MSFT_StorageSubSystem")
    return filter_by(call, subsystems, "UniqueId", "UniqueId", "MSFT_StorageSubSystem", wildcards=False)


def cannot_pool_reasons(state: LabState, disk: DiskState) -> list[str]:
    reasons = []
    if disk.pool is not None:
        reasons.append("In a Pool")
    if disk.is_clustered:
        reasons.append("In Use by Cluster")
    if disk.kind in ("iscsi", "space"):
        # Storage Spaces does not support iSCSI- or FC-attached disks (nor spaces inside spaces).
        reasons.append("Other")
    if disk.kind == "system" or disk.partitions:
        reasons.append("Insufficient Capacity")
    return reasons


def physical_disk_object(call: Call, disk: DiskState, view: DiskView) -> CimObject:
    reasons = cannot_pool_reasons(call.state, disk)
    return CimObject(
        "MSFT_PhysicalDisk",
        {
            "FriendlyName": disk.friendly_name,
            "DeviceId": str(view.number),
            "SerialNumber": disk.serial_number,
            "UniqueId": disk.unique_id,
            "Manufacturer": disk.manufacturer,
            "Model": disk.model,
            "MediaType": "HDD" if disk.kind == "sas" else "Unspecified",
            "BusType": disk.bus_type,
            "CanPool": not reasons,
            "CannotPoolReason": reasons or None,
            "HealthStatus": "Healthy",
            "OperationalStatus": "OK",
            "Usage": "Auto-Select",
            "Size": disk.size,
            "AllocatedSize": _pool_allocated(call.state, disk) if disk.pool else disk.size if reasons else 0,
            "PhysicalLocation": _location(disk),
            "SpindleSpeed": 7200 if disk.kind == "sas" else 0,
            "IsPartial": disk.pool is not None,
            "LogicalSectorSize": 512,
            "PhysicalSectorSize": 4096,
            "ObjectId": _object_id(call.state, call.node.name, "MSFT_PhysicalDisk", disk.unique_id),
        },
        ref=disk.key,
    )


def _pool_allocated(state: LabState, disk: DiskState) -> int:
    pool = state.pools[str(disk.pool)]
    used = sum(v.footprint for v in state.virtual_disks.values() if v.pool == pool.unique_id)
    return POOL_METADATA + used // max(1, len(pool.physical_disks))


def _physical_disks(call: Call) -> list[CimObject]:
    pairs = [(d, d.views[call.node.name]) for d in call.state.disks.values() if call.node.name in d.views]
    pairs = [(d, v) for d, v in pairs if d.kind != "space"]
    return [physical_disk_object(call, d, v) for d, v in sorted(pairs, key=lambda p: p[1].number)]


@cmdlet(
    "Get-PhysicalDisk",
    inputs={
        "MSFT_StoragePool": "StoragePool",
        "MSFT_VirtualDisk": "VirtualDisk",
        "MSFT_StorageSubSystem": "StorageSubsystem",
    },
)
def get_physical_disk(call: Call) -> list[CimObject]:
    disks = _physical_disks(call)
    if call.input is not None and call.input.class_name == "MSFT_StoragePool":
        members = _pool_members(call, str(call.input.ref))
        disks = [d for d in disks if d.ref in members]
    elif call.input is not None and call.input.class_name == "MSFT_VirtualDisk":
        members = _pool_members(call, call.state.virtual_disks[str(call.input.ref)].pool)
        disks = [d for d in disks if d.ref in members]
    for param in (
        "FriendlyName",
        "SerialNumber",
        "UniqueId",
        "ObjectId",
        "Manufacturer",
        "Model",
        "Description",
    ):
        disks = filter_by(call, disks, param, param, "MSFT_PhysicalDisk", wildcards=param != "UniqueId")
    if call.get("CanPool") is not None:
        disks = [d for d in disks if d.props["CanPool"] == call.get("CanPool")]
    if call.get("HealthStatus") is not None:
        disks = [
            d for d in disks if str(d.props["HealthStatus"]).lower() == str(call.get("HealthStatus")).lower()
        ]
    return disks


def _pool_members(call: Call, pool_id: str) -> set[str]:
    if pool_id == _primordial_id(call):
        return {str(d.ref) for d in _physical_disks(call) if d.props["CanPool"]}
    return set(call.state.pools[pool_id].physical_disks)


def _primordial_id(call: Call) -> str:
    return f"{{{stable_hex(call.node.name, 'primordial').lower()}}}"


def pool_object(call: Call, pool: StoragePool | None) -> CimObject:
    if pool is None:  # the primordial pool: every disk that could be pooled
        members = [call.state.disks[k] for k in _pool_members(call, _primordial_id(call))]
        size = sum(d.size for d in members)
        return CimObject(
            "MSFT_StoragePool",
            {
                "FriendlyName": "Primordial",
                "IsPrimordial": True,
                "IsReadOnly": False,
                "IsClustered": False,
                "HealthStatus": "Healthy",
                "OperationalStatus": "OK",
                "Size": size,
                "AllocatedSize": 0,
                "UniqueId": _primordial_id(call),
                "ProvisioningTypeDefault": "Unknown",
                "ResiliencySettingNameDefault": None,
                "LogicalSectorSize": 512,
                "PhysicalSectorSize": 4096,
                "Version": None,
                "ObjectId": _object_id(call.state, call.node.name, "MSFT_StoragePool", _primordial_id(call)),
            },
            ref=_primordial_id(call),
        )
    size = sum(call.state.disks[k].size - POOL_METADATA for k in pool.physical_disks)
    allocated = sum(v.footprint for v in call.state.virtual_disks.values() if v.pool == pool.unique_id)
    return CimObject(
        "MSFT_StoragePool",
        {
            "FriendlyName": pool.friendly_name,
            "IsPrimordial": False,
            "IsReadOnly": pool.is_read_only,
            "IsClustered": pool.is_clustered,
            "HealthStatus": "Healthy",
            "OperationalStatus": "OK",
            "Size": size,
            "AllocatedSize": allocated,
            "UniqueId": pool.unique_id,
            "ProvisioningTypeDefault": pool.provisioning_type_default,
            "ResiliencySettingNameDefault": pool.resiliency_setting_name_default,
            "LogicalSectorSize": 512,
            "PhysicalSectorSize": 4096,
            "Version": "Windows Server 2022",
            "ObjectId": _object_id(call.state, call.node.name, "MSFT_StoragePool", pool.unique_id),
        },
        ref=pool.unique_id,
    )


def visible_pools(call: Call) -> list[StoragePool]:
    """A pool shows on every node that sees all its disks."""
    return [
        p
        for p in call.state.pools.values()
        if all(call.node.name in call.state.disks[k].views for k in p.physical_disks)
    ]


@cmdlet(
    "Get-StoragePool",
    inputs={
        "MSFT_PhysicalDisk": "PhysicalDisk",
        "MSFT_VirtualDisk": "VirtualDisk",
        "MSFT_StorageSubSystem": "StorageSubSystem",
    },
)
def get_storage_pool(call: Call) -> list[CimObject]:
    pools = [pool_object(call, None)] + [pool_object(call, p) for p in visible_pools(call)]
    if call.input is not None and call.input.class_name == "MSFT_PhysicalDisk":
        pool_id = call.state.disks[str(call.input.ref)].pool
        pools = [p for p in pools if p.ref == (pool_id or _primordial_id(call))]
    elif call.input is not None and call.input.class_name == "MSFT_VirtualDisk":
        pools = [p for p in pools if p.ref == call.state.virtual_disks[str(call.input.ref)].pool]
    pools = filter_by(call, pools, "FriendlyName", "FriendlyName", "MSFT_StoragePool")
    pools = filter_by(call, pools, "UniqueId", "UniqueId", "MSFT_StoragePool", wildcards=False)
    if call.get("IsPrimordial") is not None:
        wanted = call.as_list("IsPrimordial") or []
        pools = [p for p in pools if p.props["IsPrimordial"] in wanted]
    return pools


@cmdlet("New-StoragePool", inputs={"MSFT_StorageSubSystem": "InputObject"}, changes=True)
def new_storage_pool(call: Call) -> list[CimObject]:
    """``-PhysicalDisks`` takes MSFT_PhysicalDisk objects: only callers inside the lab can give them,
    since objects never travel as plain JSON values."""
    subsystem = subsystem_object(call)
    name_filter = call.as_list("StorageSubSystemFriendlyName")
    if call.input is None and name_filter is not None:
        filter_by(call, [subsystem], "StorageSubSystemFriendlyName", "FriendlyName", "MSFT_StorageSubSystem")
    given = call.get("PhysicalDisks") or []
    disks = []
    for obj in given if isinstance(given, list) else [given]:
        if not isinstance(obj, CimObject) or obj.class_name != "MSFT_PhysicalDisk":
            raise call.fail(
                "Cannot bind parameter 'PhysicalDisks'. Cannot convert the value to type CimInstance.",
                "CannotConvertArgumentNoMessage",
                ErrorCategory.InvalidArgument,
            )
        disk = call.state.disks[str(obj.ref)]
        if call.node.name not in disk.views:
            raise storage_error(call, 51000)
        disks.append(disk)
    if not disks:
        raise storage_error(call, 51001)
    for disk in disks:
        reasons = cannot_pool_reasons(call.state, disk)
        if "In a Pool" in reasons:
            raise storage_error(call, 51002)
        if reasons:
            raise storage_error(call, 51000)
    pool = StoragePool(
        unique_id="{"
        + stable_hex("pool", str(call.get("FriendlyName")), str(call.state.next_id())).lower()
        + "}",
        friendly_name=str(call.get("FriendlyName")),
        physical_disks=[d.key for d in disks],
        created_on=call.node.name,
        provisioning_type_default=str(call.get("ProvisioningTypeDefault", "Fixed")),
        resiliency_setting_name_default=str(call.get("ResiliencySettingNameDefault", "Mirror")),
    )
    call.state.pools[pool.unique_id] = pool
    for disk in disks:
        disk.pool = pool.unique_id
    return [pool_object(call, pool)]


RESILIENCY = {"simple": "Simple", "mirror": "Mirror", "parity": "Parity"}


def _min_disks(resiliency: str, copies: int, redundancy: int) -> int:
    if resiliency == "Simple":
        return 1
    if resiliency == "Mirror":
        return 5 if copies >= 3 else 2
    return 7 if redundancy >= 2 else 3


def virtual_disk_object(call: Call, space: VirtualDisk) -> CimObject:
    pool = call.state.pools[space.pool]
    return CimObject(
        "MSFT_VirtualDisk",
        {
            "FriendlyName": space.friendly_name,
            "ResiliencySettingName": space.resiliency_setting_name,
            "Size": space.size,
            "AllocatedSize": space.size,
            "FootprintOnPool": space.footprint,
            "ProvisioningType": space.provisioning_type,
            "NumberOfDataCopies": space.number_of_data_copies,
            "PhysicalDiskRedundancy": space.physical_disk_redundancy,
            "NumberOfColumns": space.number_of_columns,
            "NumberOfAvailableCopies": None,
            "Interleave": 262144,
            "OperationalStatus": "OK",
            "HealthStatus": "Healthy",
            "IsClustered": pool.is_clustered,
            "IsSnapshot": False,
            "IsEnclosureAware": False,
            "IsManualAttach": False,
            "IsDeduplicationEnabled": False,
            "LogicalSectorSize": 512,
            "PhysicalSectorSize": 4096,
            "UniqueId": space.unique_id,
            "ObjectId": _object_id(call.state, call.node.name, "MSFT_VirtualDisk", space.unique_id),
            "Usage": "Other",
        },
        ref=space.unique_id,
    )


def _find_pool(call: Call) -> StoragePool:
    if call.input is not None:
        if call.input.ref == _primordial_id(call):
            raise storage_error(call, 48000)
        return call.state.pools[str(call.input.ref)]
    names = call.as_list("StoragePoolFriendlyName")
    param, prop = ("StoragePoolFriendlyName", "FriendlyName")
    if names is None:
        names, param, prop = call.as_list("StoragePoolUniqueId") or [], "StoragePoolUniqueId", "UniqueId"
    pools = [pool_object(call, None)] + [pool_object(call, p) for p in visible_pools(call)]
    found = filter_by(call, pools, param, prop, "MSFT_StoragePool", wildcards=param != "StoragePoolUniqueId")
    if not found:
        raise not_found(call, "MSFT_StoragePool", prop, names[0] if names else "")
    if found[0].props["IsPrimordial"]:
        raise storage_error(call, 48000)
    return call.state.pools[str(found[0].ref)]


@cmdlet("New-VirtualDisk", inputs={"MSFT_StoragePool": "InputObject"}, changes=True)
def new_virtual_disk(call: Call) -> list[CimObject]:
    pool = _find_pool(call)
    resiliency = RESILIENCY.get(
        str(call.get("ResiliencySettingName", pool.resiliency_setting_name_default)).lower()
    )
    if resiliency is None:
        raise storage_error(call, 49000)
    provisioning = str(call.get("ProvisioningType", pool.provisioning_type_default))
    if pool.is_clustered and provisioning.lower() != "fixed":
        raise storage_error(call, 47001)
    members = len(pool.physical_disks)
    copies = int(call.get("NumberOfDataCopies", 2 if resiliency == "Mirror" else 1))
    redundancy = int(
        call.get("PhysicalDiskRedundancy", {"Simple": 0, "Mirror": copies - 1, "Parity": 1}[resiliency])
    )
    if resiliency == "Mirror" and copies not in (2, 3):
        raise storage_error(call, 49003)
    if resiliency == "Parity" and redundancy not in (1, 2):
        raise storage_error(call, 49002)
    if members < _min_disks(resiliency, copies, redundancy):
        raise storage_error(call, 48004)
    if call.has("Size") == bool(call.get("UseMaximumSize")):
        raise storage_error(call, 40005)
    columns = int(call.get("NumberOfColumns", _default_columns(resiliency, members, copies)))
    factor = _footprint_factor(resiliency, copies, redundancy, columns)
    free = sum(call.state.disks[k].size - POOL_METADATA for k in pool.physical_disks) - sum(
        v.footprint for v in call.state.virtual_disks.values() if v.pool == pool.unique_id
    )
    size = int(free / factor) // SLAB * SLAB if call.get("UseMaximumSize") else int(call.get("Size"))
    size = -(-size // SLAB) * SLAB  # rounded up to whole slabs
    footprint = int(size * factor)
    if size <= 0 or footprint > free:
        raise storage_error(call, 40000)
    name = str(call.get("FriendlyName"))
    unique_id = stable_hex("space", pool.unique_id, name, str(call.state.next_id()))
    key = f"space-{unique_id[:12].lower()}"
    disk = DiskState(
        key=key,
        unique_id=unique_id,
        serial_number=unique_id[:20],
        friendly_name=name,
        manufacturer="Msft",
        model="Storage Space",
        size=size,
        bus_type="Spaces",
        kind="space",
        folder=f"disks/{key}",
    )
    call.state.disks[key] = disk
    call.lab.local(disk.folder).mkdir(parents=True, exist_ok=True)
    nodes = {n for n in call.state.nodes if all(n in call.state.disks[k].views for k in pool.physical_disks)}
    for node in sorted(nodes):
        view = add_view(call.state, disk, node)
        if node == call.node.name:  # the space arrives online (and writable) where it was created
            view.is_offline, view.is_read_only, view.offline_reason = False, False, None
    space = VirtualDisk(
        unique_id=unique_id,
        friendly_name=name,
        pool=pool.unique_id,
        disk=key,
        resiliency_setting_name=resiliency,
        size=size,
        footprint=footprint,
        provisioning_type="Fixed" if provisioning.lower() == "fixed" else "Thin",
        number_of_data_copies=copies if resiliency == "Mirror" else 1,
        physical_disk_redundancy=redundancy,
        number_of_columns=columns,
    )
    call.state.virtual_disks[unique_id] = space
    return [virtual_disk_object(call, space)]


def _default_columns(resiliency: str, members: int, copies: int) -> int:
    if resiliency == "Mirror":
        return max(1, min(8, members // copies))
    return min(8, members)


def _footprint_factor(resiliency: str, copies: int, redundancy: int, columns: int) -> float:
    if resiliency == "Simple":
        return 1.0
    if resiliency == "Mirror":
        return float(copies)
    return columns / max(1, columns - redundancy)


@cmdlet(
    "Get-VirtualDisk",
    inputs={"MSFT_StoragePool": "StoragePool", "MSFT_Disk": "Disk", "MSFT_PhysicalDisk": "PhysicalDisk"},
)
def get_virtual_disk(call: Call) -> list[CimObject]:
    visible = {p.unique_id for p in visible_pools(call)}
    spaces = [virtual_disk_object(call, v) for v in call.state.virtual_disks.values() if v.pool in visible]
    if call.input is not None:
        source = call.input
        if source.class_name == "MSFT_StoragePool":
            return [s for s in spaces if call.state.virtual_disks[str(s.ref)].pool == source.ref]
        if source.class_name == "MSFT_Disk":
            return [s for s in spaces if call.state.virtual_disks[str(s.ref)].disk == source.ref]
        pool_id = call.state.disks[str(source.ref)].pool
        return [s for s in spaces if call.state.virtual_disks[str(s.ref)].pool == pool_id]
    spaces = filter_by(call, spaces, "FriendlyName", "FriendlyName", "MSFT_VirtualDisk")
    return filter_by(call, spaces, "UniqueId", "UniqueId", "MSFT_VirtualDisk", wildcards=False)

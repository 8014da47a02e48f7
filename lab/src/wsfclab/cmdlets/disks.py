"""The Storage cmdlets of disks: Get-Disk, Set-Disk, Initialize-Disk.

A disk's partition table and volumes live on the disk (``DiskState``), shared by every node that
sees it; number, online and read-only state are per node (``DiskView``, see ``wsfclab.disks``).
"""

from __future__ import annotations

from wsfclab.cmdlets.base import Call, CimObject, cmdlet, filter_by, storage_error
from wsfclab.disks import largest_free_extent, set_partition_style, visible_disks
from wsfclab.errors import ErrorCategory
from wsfclab.state import DiskState, DiskView, LabState


def storage_object_id(node: str, cls: str, unique_id: str) -> str:
    """The ObjectId the Storage Management provider gives an object of class ``cls`` on ``node``."""
    return (
        f'{{1}}\\\\{node}\\root/Microsoft/Windows/Storage/Providers_v2\\WSP_{cls[5:]}.ObjectId="{unique_id}"'
    )


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
            "Location": disk_location(disk),
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
            "ObjectId": storage_object_id(node, "MSFT_Disk", disk.unique_id),
        },
        ref=disk.key,
    )


def disk_location(disk: DiskState) -> str:
    if disk.kind == "iscsi":
        return f"Integrated : Adapter 2 : Port 0 : Target 0 : LUN {disk.lun}"
    return "Integrated : Adapter 0 : Port 0 : Target 0 : LUN 0"


def disk_for(call: Call, key: str) -> tuple[DiskState, DiskView]:
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


def select_disks(call: Call, *, number_param: str = "Number") -> list[CimObject]:
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
        return select_disks(call)
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
    for obj in select_disks(call):
        disk, view = disk_for(call, str(obj.ref))
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
            set_partition_style(disk, style)
        if call.get("Signature") is not None:
            disk.signature = int(call.get("Signature"))
        if call.get("Guid") is not None:
            disk.guid = str(call.get("Guid"))
    return []


def writable(call: Call, view: DiskView) -> None:
    if view.is_offline:
        raise storage_error(call, 41003)
    if view.is_read_only:
        raise storage_error(call, 41002)


@cmdlet(
    "Initialize-Disk", inputs={"MSFT_Disk": "InputObject", "MSFT_VirtualDisk": "VirtualDisk"}, changes=True
)
def initialize_disk(call: Call) -> list[CimObject]:
    if call.input is not None and call.input.class_name == "MSFT_VirtualDisk":
        space = call.state.virtual_disks[str(call.input.ref)]
        targets = [o for o in _disk_objects(call) if o.ref == space.disk]
    else:
        targets = select_disks(call)
    done = []
    for obj in targets:
        disk, view = disk_for(call, str(obj.ref))
        if disk.is_clustered:
            raise storage_error(call, 40018)
        if disk.partition_style != "RAW":
            raise storage_error(call, 41001)
        writable(call, view)
        set_partition_style(disk, str(call.get("PartitionStyle", "GPT")).upper())
        done.append(disk_object(call.state, disk, view, call.node.name))
    return done if call.get("PassThru") else []

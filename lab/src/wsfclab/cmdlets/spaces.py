"""The Storage Spaces cmdlets: subsystems, physical disks, pools and virtual disks (spaces)."""

from __future__ import annotations

from wsfclab.cmdlets.base import Call, CimObject, cmdlet, filter_by, not_found, storage_error
from wsfclab.cmdlets.disks import disk_location, storage_object_id
from wsfclab.disks import MB, add_view
from wsfclab.errors import ErrorCategory
from wsfclab.ids import stable_hex
from wsfclab.state import DiskState, DiskView, LabState, StoragePool, VirtualDisk

GB = 1024**3
POOL_METADATA = 256 * MB  # Storage Spaces keeps metadata on every pool member
SLAB = 256 * MB  # Storage Spaces allocates in 256 MB slabs


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
            "ObjectId": storage_object_id(call.node.name, "MSFT_StorageSubSystem", call.node.name),
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
            "PhysicalLocation": disk_location(disk),
            "SpindleSpeed": 7200 if disk.kind == "sas" else 0,
            "IsPartial": disk.pool is not None,
            "LogicalSectorSize": 512,
            "PhysicalSectorSize": 4096,
            "ObjectId": storage_object_id(call.node.name, "MSFT_PhysicalDisk", disk.unique_id),
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
                "ObjectId": storage_object_id(call.node.name, "MSFT_StoragePool", _primordial_id(call)),
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
            "ObjectId": storage_object_id(call.node.name, "MSFT_StoragePool", pool.unique_id),
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
    """``-PhysicalDisks`` takes MSFT_PhysicalDisk objects, which reach it as ``{output_of: name}``
    (the output of an earlier pipeline of the same call), never as plain JSON values."""
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
            "ObjectId": storage_object_id(call.node.name, "MSFT_VirtualDisk", space.unique_id),
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

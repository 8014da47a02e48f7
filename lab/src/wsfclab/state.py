"""The lab's persistent state: plain dataclasses that round-trip through JSON.

One ``LabState`` holds everything that changes while playbooks run: per node its OS facts, NICs,
features, services (with the PIDs of real processes), iSCSI initiator configuration; the disks
(each with a per-node view, because Windows numbers disks and keeps them online or offline per
node, while partitions and volumes live on the disk itself); iSCSI targets; Storage Spaces pools
and virtual disks.

How the failover-cluster simulation fits: a clustered disk is a ``DiskState`` with
``is_clustered`` set and an ``owner_node``; only the owner's view is online, which is what makes its
volumes (and their drive letters) resolve on the owner alone. Cluster objects (nodes, groups,
resources, quorum) live in ``LabState.cluster`` (``wsfclab.cluster.database``).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from wsfclab.cluster.database import ClusterDatabase

VERSION = 3  # 2: the cluster database (LabState.cluster); 3: accounts and the services pipe timeout


@dataclass
class OsInfo:
    caption: str
    version: str
    build_number: str
    os_architecture: str
    product_type: int
    sku: int
    edition: str
    install_date: str
    serial_number: str


@dataclass
class CpuInfo:
    name: str
    cores: int
    logical_processors: int


@dataclass
class IpAddress:
    ip: str
    prefix_length: int


@dataclass
class Nic:
    name: str
    description: str
    mac: str
    status: str  # "Up" | "Disconnected"
    if_index: int
    interface_guid: str
    addresses: list[IpAddress]
    gateway: str | None
    dns_servers: list[str]
    link_speed_bps: int = 10_000_000_000


@dataclass
class Feature:
    name: str
    display_name: str
    installed: bool


@dataclass
class Service:
    name: str
    display_name: str
    path: str  # binary path with arguments, as Win32_Service.PathName
    start_mode: str  # "Automatic" | "Manual" | "Disabled" | "AutomaticDelayedStart"
    state: str  # "Running" | "Stopped"
    pid: int | None = None
    username: str = "LocalSystem"
    description: str = ""
    dependencies: list[str] = field(default_factory=list)
    emulated: bool = False  # an OS service the lab emulates without a process (WinRM, MSiSCSI, ...)
    process_start: int | None = None  # /proc start time of ``pid``: guards against PID reuse
    log: str | None = None  # the process log, relative to the state dir


@dataclass
class IscsiPortal:
    address: str
    port: int
    initiator_portal_address: str | None
    authentication_type: str
    is_header_digest: bool = False
    is_data_digest: bool = False


@dataclass
class IscsiSession:
    session_id: str
    target_iqn: str
    target_portal_address: str
    target_portal_port: int
    initiator_portal_address: str | None
    is_persistent: bool
    is_multipath_enabled: bool
    authentication_type: str


@dataclass
class Account:
    """A user account as the lab checks logons against it: the password is kept salted and hashed."""

    name: str
    salt: str  # hex
    digest: str  # hex PBKDF2-HMAC-SHA256 of the password


@dataclass
class NodeState:
    name: str
    fqdn: str
    running: bool
    boot_time: str  # ISO 8601
    os: OsInfo
    cpu: CpuInfo
    memory_mb: int
    manufacturer: str
    model: str
    domain: str  # the DNS domain when joined, else the workgroup name (as Win32_ComputerSystem.Domain)
    part_of_domain: bool
    nics: list[Nic]
    features: dict[str, Feature]
    services: dict[str, Service]
    iscsi_portals: list[IscsiPortal] = field(default_factory=list)
    iscsi_sessions: list[IscsiSession] = field(default_factory=list)
    initiator_iqn: str = ""
    local_accounts: list[Account] = field(default_factory=list)  # the node's SAM
    services_pipe_timeout_ms: int = 30000  # how long the SCM waits for a service to report running


@dataclass
class Volume:
    object_id: str
    unique_id: str
    file_system: str  # "NTFS", "ReFS", "FAT32"
    label: str
    allocation_unit_size: int


@dataclass
class Partition:
    number: int
    offset: int
    size: int
    guid: str
    gpt_type: str
    type_name: str  # "Basic", "System", "Reserved", "IFS"
    drive_letter: str | None
    folder: str  # where the partition's files live, relative to the state dir
    volume: Volume | None = None


@dataclass
class DiskView:
    """How one node sees a disk: Windows keeps number, online and read-only state per host."""

    number: int
    is_offline: bool
    is_read_only: bool
    offline_reason: str | None = None  # "Policy", "Redundant Path", "Collision", ...


@dataclass
class DiskState:
    key: str  # the lab's own name for the disk, e.g. "NODE1-disk0", "iscsi-san1-lun1", "sas-sas1"
    unique_id: str
    serial_number: str
    friendly_name: str
    manufacturer: str
    model: str
    size: int
    bus_type: str  # "SAS", "iSCSI", "Spaces", "SCSI"
    kind: str  # "system" | "local" | "iscsi" | "sas" | "space"
    folder: str  # the disk's folder, relative to the state dir
    partition_style: str = "RAW"  # "RAW" | "MBR" | "GPT"
    guid: str | None = None
    signature: int | None = None
    partitions: list[Partition] = field(default_factory=list)
    views: dict[str, DiskView] = field(default_factory=dict)  # node name -> view; present = visible
    absent_views: dict[str, DiskView] = field(default_factory=dict)  # remembered while not visible
    is_clustered: bool = False
    owner_node: str | None = None
    pool: str | None = None  # unique id of the storage pool this physical disk belongs to
    target_iqn: str | None = None  # iSCSI LUNs: the target that exposes them
    lun: int | None = None


@dataclass
class IscsiTargetState:
    name: str
    iqn: str
    portal_address: str
    portal_port: int
    initiators: list[str]
    luns: list[str]  # disk keys


@dataclass
class StoragePool:
    unique_id: str
    friendly_name: str
    physical_disks: list[str]  # disk keys
    created_on: str  # the node that created it
    provisioning_type_default: str = "Fixed"
    resiliency_setting_name_default: str = "Mirror"
    is_clustered: bool = False
    is_read_only: bool = False


@dataclass
class VirtualDisk:
    unique_id: str
    friendly_name: str
    pool: str
    disk: str  # the key of the DiskState that the space presents
    resiliency_setting_name: str
    size: int
    footprint: int
    provisioning_type: str
    number_of_data_copies: int
    physical_disk_redundancy: int
    number_of_columns: int


@dataclass
class DomainInfo:
    domain_name: str
    netbios_name: str
    computer_ou: str
    deploying_account: str
    may_create_computer_objects: bool
    accounts: list[Account] = field(default_factory=list)  # the domain's user accounts


@dataclass
class LabState:
    version: int
    world_name: str
    world_digest: str
    world_file: str
    nodes: dict[str, NodeState]
    disks: dict[str, DiskState]
    iscsi_targets: dict[str, IscsiTargetState]  # by IQN
    pools: dict[str, StoragePool] = field(default_factory=dict)
    virtual_disks: dict[str, VirtualDisk] = field(default_factory=dict)
    domain: DomainInfo | None = None
    cluster: ClusterDatabase | None = None  # the failover cluster the nodes form, if any
    counter: int = 0  # source of unique numbers (session ids, volume ids)

    def next_id(self) -> int:
        self.counter += 1
        return self.counter


def to_json(state: LabState) -> dict[str, Any]:
    return dataclasses.asdict(state)


def from_json[T](cls: type[T], data: Any) -> T:
    """Rebuild a dataclass tree from ``to_json`` output, using the field type hints."""
    return typing.cast(T, _convert(cls, data))


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner[0], value)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v) for v in value]
    if origin is dict:
        _key, item = typing.get_args(hint)
        return {k: _convert(item, v) for k, v in value.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _field_hints(hint)
        return hint(**{k: _convert(hints[k], v) for k, v in value.items() if k in hints})
    return value


@functools.cache
def _field_hints(cls: type) -> dict[str, Any]:
    """The resolved type hint of each field (resolving them is most of the cost of a load)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}

"""Build the initial lab state from a validated world: what the machines look like after installation.

Pure: no files are touched here (``Lab`` creates the folders the state names).
"""

from __future__ import annotations

from wsfclab.accounts import new_account
from wsfclab.catalog import BUILTIN_SERVICES, FEATURES
from wsfclab.disks import GPT_BASIC, GPT_EFI, GPT_MSR, add_view
from wsfclab.ids import guid, now_iso, stable_hex
from wsfclab.state import (
    VERSION,
    CpuInfo,
    DiskState,
    DiskView,
    DomainInfo,
    Feature,
    IpAddress,
    IscsiTargetState,
    LabState,
    Nic,
    NodeState,
    OsInfo,
    Partition,
    Service,
    Volume,
)
from wsfclab.world import NodeSpec, World

MB = 1024**2
EFI_SIZE = 100 * MB
MSR_SIZE = 16 * MB
FIRST_OFFSET = 1 * MB  # Windows aligns the first partition at 1 MiB


def node_folder(node: str) -> str:
    """The node's C:\\ folder, relative to the state dir (the contract fixes nodes/<NODE>/C)."""
    return f"nodes/{node}/C"


def initial_state(world: World, world_file: str) -> LabState:
    state = LabState(
        version=VERSION,
        world_name=world.name,
        world_digest=world.digest,
        world_file=world_file,
        nodes={},
        disks={},
        iscsi_targets={},
    )
    if world.directory is not None:
        d = world.directory
        state.domain = DomainInfo(
            d.domain_name,
            d.netbios_name,
            d.computer_ou,
            d.deploying_account,
            d.may_create_computer_objects,
            accounts=[new_account(a.name, a.password) for a in d.accounts],
        )
    for spec in world.nodes:
        state.nodes[spec.name] = _node(spec, world)
        for index, local in enumerate(spec.local_disks):
            key = f"{spec.name}-disk{index}"
            state.disks[key] = _local_disk(spec.name, key, index, local.size, local.friendly_name)
    for sas in world.sas_disks:
        key = f"sas-{sas.name.lower()}"
        disk = DiskState(
            key=key,
            unique_id=stable_hex("sas", sas.name),
            serial_number=stable_hex("serial", sas.name, length=8),
            friendly_name=sas.friendly_name,
            manufacturer=sas.friendly_name.split()[0],
            model=" ".join(sas.friendly_name.split()[1:]) or sas.friendly_name,
            size=sas.size,
            bus_type="SAS",
            kind="sas",
            folder=f"disks/{key}",
        )
        state.disks[key] = disk
        for node in sas.nodes:
            add_view(state, disk, node)
    for target in world.iscsi_targets:
        keys = []
        for lun_index, lun in enumerate(target.luns):
            key = f"iscsi-{target.name.lower()}-{lun.name.lower()}"
            keys.append(key)
            state.disks[key] = DiskState(
                key=key,
                unique_id=stable_hex("iscsi", target.iqn, lun.name),
                serial_number=stable_hex("serial", target.iqn, lun.name, length=8),
                friendly_name="MSFT Virtual HD",
                manufacturer="MSFT",
                model="Virtual HD",
                size=lun.size,
                bus_type="iSCSI",
                kind="iscsi",
                folder=f"disks/{key}",
                target_iqn=target.iqn,
                lun=lun_index,
            )
        state.iscsi_targets[target.iqn] = IscsiTargetState(
            name=target.name,
            iqn=target.iqn,
            portal_address=target.portal_address,
            portal_port=target.portal_port,
            initiators=list(target.initiators),
            luns=keys,
        )
    return state


def _node(spec: NodeSpec, world: World) -> NodeState:
    directory = world.directory
    joined = spec.domain_member and directory is not None
    domain = directory.domain_name if joined and directory else spec.workgroup
    fqdn = f"{spec.name.lower()}.{domain}" if joined else spec.name.lower()
    descriptions = _numbered([n.description for n in spec.nics])
    nics = [
        Nic(
            name=n.name,
            description=descriptions[i],
            mac=n.mac,
            status=n.status,
            if_index=4 + 3 * i,
            interface_guid=guid(spec.name, "nic", n.name).upper(),
            addresses=[IpAddress(ip, prefix) for ip, prefix in n.addresses],
            gateway=n.gateway,
            dns_servers=list(n.dns_servers),
        )
        for i, n in enumerate(spec.nics)
    ]
    services = {
        s.name: Service(
            name=s.name,
            display_name=s.display_name,
            path=s.path,
            start_mode=s.start_mode,
            state="Running" if s.running else "Stopped",
            username=s.username,
            description=s.description,
            emulated=True,
        )
        for s in BUILTIN_SERVICES
    }
    return NodeState(
        name=spec.name,
        fqdn=fqdn,
        running=True,
        boot_time=now_iso(),
        os=OsInfo(
            caption=spec.os.caption,
            version=spec.os.version,
            build_number=spec.os.build_number,
            os_architecture=spec.os.architecture,
            product_type=spec.os.product_type,
            sku=spec.os.sku,
            edition=spec.os.edition,
            install_date="2026-01-05T09:00:00+00:00",
            serial_number="00454-60000-00001-AA" + stable_hex(spec.name, length=3),
        ),
        cpu=CpuInfo(spec.cpu_name, spec.cpu_cores, spec.logical_processors),
        memory_mb=spec.memory_mb,
        manufacturer=spec.manufacturer,
        model=spec.model,
        domain=domain,
        part_of_domain=joined,
        nics=nics,
        features={
            name: Feature(name, info.display_name, name in spec.features) for name, info in FEATURES.items()
        },
        services=services,
        initiator_iqn=f"iqn.1991-05.com.microsoft:{fqdn}",
        local_accounts=[new_account(a.name, a.password) for a in spec.local_accounts],
        services_pipe_timeout_ms=spec.services_pipe_timeout_ms,
    )


def _numbered(descriptions: list[str]) -> list[str]:
    """Windows names the second adapter of a model "<description> #2", the third "#3", ..."""
    seen: dict[str, int] = {}
    numbered = []
    for description in descriptions:
        seen[description] = seen.get(description, 0) + 1
        count = seen[description]
        numbered.append(description if count == 1 else f"{description} #{count}")
    return numbered


def _local_disk(node: str, key: str, index: int, size: int, friendly_name: str) -> DiskState:
    disk = DiskState(
        key=key,
        unique_id=stable_hex("local", node, str(index)),
        serial_number=stable_hex("serial", node, str(index), length=8),
        friendly_name=friendly_name,
        manufacturer="Msft",
        model="Virtual Disk",
        size=size,
        bus_type="SCSI",
        kind="system" if index == 0 else "local",
        folder=node_folder(node) if index == 0 else f"disks/{key}",
        views={node: DiskView(number=index, is_offline=False, is_read_only=False)},
    )
    if index == 0:
        # The system disk as Windows Setup leaves it on UEFI: EFI system partition, MSR, then C:.
        disk.partition_style = "GPT"
        disk.guid = guid(key, "disk")
        c_offset = FIRST_OFFSET + EFI_SIZE + MSR_SIZE
        disk.partitions = [
            Partition(
                1,
                FIRST_OFFSET,
                EFI_SIZE,
                guid(key, "p1"),
                GPT_EFI,
                "System",
                None,
                f"nodes/{node}/EFI",
                Volume(guid(key, "v1"), guid(key, "u1"), "FAT32", "", 4096),
            ),
            Partition(2, FIRST_OFFSET + EFI_SIZE, MSR_SIZE, guid(key, "p2"), GPT_MSR, "Reserved", None, ""),
            Partition(
                3,
                c_offset,
                size - c_offset - FIRST_OFFSET,
                guid(key, "p3"),
                GPT_BASIC,
                "Basic",
                "C",
                disk.folder,
                Volume(guid(key, "v3"), guid(key, "u3"), "NTFS", "", 4096),
            ),
        ]
    return disk

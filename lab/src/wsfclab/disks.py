"""Disks as each node's operating system sees them: per-node views, the partition layout rules.

A ``DiskState`` is shared by every node that sees it (its partition table and volumes); each node
has its own ``DiskView`` (number, online, read-only), as Windows keeps them per host. These are
runtime rules, used by the build, the Storage cmdlets, the iSCSI initiator and the cluster's disk
arbitration alike.
"""

from __future__ import annotations

from wsfclab.ids import guid, stable_hex
from wsfclab.state import DiskState, DiskView, LabState, Partition

MB = 1024**2
ALIGNMENT = MB  # Windows aligns partitions at 1 MiB
TAIL = MB  # space Windows leaves unallocated at the end of a disk
GPT_MSR_OFFSET = 17408  # Initialize-Disk puts the Microsoft Reserved partition right after the GPT
GPT_MSR_SIZE = 16 * MB - GPT_MSR_OFFSET

# GPT partition type GUIDs, as Get-Partition reports them in GptType.
GPT_EFI = "{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}"
GPT_MSR = "{e3c9e316-0b5c-4db8-817d-f92df00215ae}"
GPT_BASIC = "{ebd0a0a2-b9e5-4433-87c0-68b6b72699c7}"


def add_view(state: LabState, disk: DiskState, node: str) -> DiskView:
    """Make ``disk`` visible on ``node``. A shared disk arrives offline (the "Offline Shared" SAN
    policy of Windows Server) and read-only; a disk seen before keeps its remembered attributes."""
    used = {d.views[node].number for d in state.disks.values() if node in d.views}
    number = next(n for n in range(len(used) + 1) if n not in used)
    remembered = disk.absent_views.pop(node, None)
    if remembered is not None:
        view = DiskView(number, remembered.is_offline, remembered.is_read_only, remembered.offline_reason)
    else:
        shared = disk.kind in ("sas", "iscsi", "space")
        view = DiskView(
            number, is_offline=shared, is_read_only=shared, offline_reason="Policy" if shared else None
        )
    disk.views[node] = view
    return view


def remove_view(disk: DiskState, node: str) -> None:
    """The disk leaves ``node`` (session logged out, node down); Windows remembers its attributes."""
    view = disk.views.pop(node, None)
    if view is not None:
        disk.absent_views[node] = view


def visible_disks(state: LabState, node: str) -> list[tuple[DiskState, DiskView]]:
    """Disks Get-Disk shows on the node: visible ones, except pool members (Storage Spaces hides them)."""
    pairs = [(d, d.views[node]) for d in state.disks.values() if node in d.views and d.pool is None]
    return sorted(pairs, key=lambda pair: pair[1].number)


def largest_free_extent(disk: DiskState) -> int:
    """The bytes a new partition can have: from the end of the last one, aligned, to the tail."""
    if disk.partition_style == "RAW":
        return 0
    end = max((p.offset + p.size for p in disk.partitions), default=ALIGNMENT)
    start = -(-end // ALIGNMENT) * ALIGNMENT
    return max(0, disk.size - TAIL - start)


def set_partition_style(disk: DiskState, style: str) -> None:
    """Initialize (or convert) ``disk`` to ``style``: GPT gets the Microsoft Reserved partition
    Initialize-Disk creates; MBR gets a signature."""
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


def is_boot(disk: DiskState, part: Partition) -> bool:
    """The partition Windows runs from (C: on the system disk): critical, like the EFI partition."""
    return disk.kind == "system" and part.drive_letter == "C"


def letters_in_use(state: LabState, node: str) -> set[str]:
    used = {"A", "B"}  # reserved for floppy drives, never assigned automatically
    for disk in state.disks.values():
        if node in disk.views:
            used |= {p.drive_letter.upper() for p in disk.partitions if p.drive_letter}
    return used

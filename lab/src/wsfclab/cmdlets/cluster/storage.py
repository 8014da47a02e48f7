"""Get-ClusterAvailableDisk and Add-ClusterDisk.

A disk is available when every node of the cluster sees it, it is shared (iSCSI, SAS, a Storage
Space), partitioned, not in a pool and not clustered yet ([WSD] deploy-two-node; the cluster API
decides). Add-ClusterDisk takes what Get-ClusterAvailableDisk or Get-Disk outputs; the disk becomes
"Cluster Disk N" in "Available Storage" and shows ``IsClustered`` from then on.
"""

from __future__ import annotations

from wsfclab.cluster import api
from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import common, render, settable
from wsfclab.errors import Unsupported
from wsfclab.state import DiskState

MSFT_DISK = "MSFT_Disk"


def disk_info(call: Call, disk: DiskState, number: int, cluster_name: str) -> CimObject:
    view = disk.views.get(call.node.name)
    return CimObject(
        render.DISK_INFO,
        {
            "Cluster": cluster_name,
            "Id": disk.unique_id,
            "Name": f"Cluster Disk {number}",
            "Number": view.number if view is not None else None,
            "Size": disk.size,
            "Partitions": [
                {"Number": p.number, "Size": p.size, "DriveLetter": p.drive_letter} for p in disk.partitions
            ],
        },
        ref=disk.key,
    )


@cmdlet("Get-ClusterAvailableDisk", inputs={render.CLUSTER: "InputObject", MSFT_DISK: "Disk"})
def get_cluster_available_disk(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.get("All"):
        raise Unsupported("Get-ClusterAvailableDisk -All (disks that are not suitable are not listed)")
    cdb = common.target_cluster(call)
    disks = common.run(call, None, lambda: api.available_disks(call.state))
    if call.input is not None and call.input.class_name == MSFT_DISK:
        disks = [d for d in disks if d.key == call.input.ref]
    return [disk_info(call, d, cdb.next_disk_number + i, cdb.name) for i, d in enumerate(disks)]


@cmdlet("Add-ClusterDisk", inputs={render.DISK_INFO: "InputObject", MSFT_DISK: "InputObject"}, changes=True)
def add_cluster_disk(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    sources = [call.input] if call.input is not None else list(call.get("InputObject") or [])
    added = []
    for source in sources:
        key = str(getattr(source, "ref", ""))
        wrapper = f"An error occurred while adding the disk to cluster '{cdb.name}'."
        res = common.run(call, wrapper, api.add_disk, call.lab, call.state, key)
        added.append(render.resource(cdb, res))
    return settable.attach(call.state, added)

"""Get-ClusterQuorum and Set-ClusterQuorum.

The witness rules are the cluster API's ([WSD] manage-cluster-quorum): a disk witness is a Physical
Disk resource of at least 512 MB from Available Storage; a file share witness must not be hosted
on a node of the cluster (event 1559). The lab has no file servers, so it refuses other shares as
unsupported, and it has no cloud.
"""

from __future__ import annotations

from wsfclab.cluster import api
from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import common, render
from wsfclab.errors import ErrorCategory, Unsupported


@cmdlet("Get-ClusterQuorum", inputs={render.CLUSTER: "InputObject"})
def get_cluster_quorum(call: Call) -> list[CimObject]:
    common.require_module(call)
    return [render.quorum(common.target_cluster(call))]


@cmdlet("Set-ClusterQuorum", inputs={render.CLUSTER: "InputObject"}, changes=True)
def set_cluster_quorum(call: Call) -> list[CimObject]:
    common.require_module(call)
    for unsupported in ("CloudWitness", "DiskOnly", "AccountName", "AccessKey", "Endpoint"):
        if call.has(unsupported):
            raise Unsupported(f"Set-ClusterQuorum -{unsupported} (the lab has no cloud and keeps node votes)")
    cdb = common.target_cluster(call)
    given = [p for p in ("NoWitness", "DiskWitness", "FileShareWitness") if call.has(p)]
    if len(given) != 1:
        raise common.fail(
            call,
            "Specify exactly one of -NoWitness, -DiskWitness or -FileShareWitness.",
            "Set-ClusterQuorum",
            ErrorCategory.InvalidArgument,
        )
    disk = call.get("DiskWitness")
    share = call.get("FileShareWitness")
    common.run(
        call,
        f"An error occurred while configuring the quorum of cluster '{cdb.name}'.",
        lambda: api.set_quorum(
            call.lab,
            call.state,
            no_witness=bool(call.get("NoWitness")),
            disk_witness=str(disk) if disk is not None else None,
            file_share_witness=str(share) if share is not None else None,
        ),
    )
    return [render.quorum(cdb)]

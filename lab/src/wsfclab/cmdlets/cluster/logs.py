"""Get-ClusterLog: writes ``<node>_cluster.log`` for each node from the events the lab's cluster
services recorded, and returns the files (System.IO.FileInfo), as Windows does.

Without ``-Destination`` each node's log is written in its own ``C:\\Windows\\Cluster\\Reports``;
with it, every log is copied to that folder of the local node, which reaches the other nodes (a
second hop for a remote session).
"""

from __future__ import annotations

import time

from wsfclab.cluster import api
from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import common, render
from wsfclab.errors import Unsupported


@cmdlet("Get-ClusterLog", inputs={render.CLUSTER: "InputObject"}, changes=True)
def get_cluster_log(call: Call) -> list[CimObject]:
    common.require_module(call)
    for unsupported in ("Health", "SkipClusterState"):
        if call.get(unsupported):
            raise Unsupported(f"Get-ClusterLog -{unsupported}")
    cdb = common.target_cluster(call)
    nodes = [str(n) for n in call.as_list("Node") or []] or None
    chosen = nodes or common.hosts_of(cdb)
    destination = call.get("Destination")
    if destination is not None:
        common.require_second_hop(call, chosen)
    span = call.get("TimeSpan")
    paths = common.run(
        call,
        None,
        lambda: api.write_cluster_log(
            call.lab,
            call.state,
            nodes=nodes,
            destination=str(destination) if destination is not None else None,
            timespan_minutes=int(span) if span is not None else None,
            use_local_time=bool(call.get("UseLocalTime")),
        ),
    )
    now = time.time()
    files = []
    for path in paths:
        owner = call.node.name if destination is not None else path_node(path, chosen)
        local = call.lab.resolve_path(call.state, owner, path)
        files.append(render.file_info(path, local.stat().st_size, now))
    return files


def path_node(path: str, nodes: list[str]) -> str:
    """The node whose log ``...\\<NODE>_cluster.log`` is."""
    name = path.rsplit("\\", 1)[-1].removesuffix("_cluster.log").upper()
    return next(n for n in nodes if n.upper() == name)

"""Get-ClusterLog: each node writes its cluster log from the events the lab's cluster services
recorded, and the cmdlet returns the files (System.IO.FileInfo), as Windows does.

Without ``-Destination`` each node writes ``Cluster.log`` in its own ``C:\\Windows\\Cluster\\Reports``
(the page's example 1; "The Cluster.log files can be found in the ... directory (usually
c:\\windows\\cluster\\Reports) on each node", Failover Clustering team blog, "Windows Server 2016
Failover Cluster Troubleshooting Enhancements - Cluster Log", 2015). With it, every log is copied
to that folder of the local node "with the Server's name appended" (``<NODE>_cluster.log``, the same
post). The cmdlet "cannot be run remotely without CredSSP" (the page's note): logging a node other
than the local one is a second hop, with or without ``-Destination``.
"""

from __future__ import annotations

import ntpath
import time

from wsfclab.cluster import api, events
from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import common, render
from wsfclab.errors import Unsupported

REPORTS = "C:\\Windows\\Cluster\\Reports"
NODE_LOG = "Cluster.log"


@cmdlet("Get-ClusterLog", inputs={render.CLUSTER: "InputObject"}, changes=True)
def get_cluster_log(call: Call) -> list[CimObject]:
    common.require_module(call)
    for unsupported in ("Health", "SkipClusterState"):
        if call.get(unsupported):
            raise Unsupported(f"Get-ClusterLog -{unsupported}")
    cdb = common.target_cluster(call)
    named = [str(n) for n in call.as_list("Node") or []]
    # Without -Node, the members whose cluster service runs ("each server that is a member of the
    # cluster and is currently running", the same post).
    running = [n for n in common.hosts_of(cdb) if cdb.nodes[n].state != "Down"]
    chosen = [common.run(call, None, api.node, cdb, n).name for n in named] or running
    common.require_second_hop(call, chosen)
    destination = call.get("Destination")
    span = call.get("TimeSpan")
    since = time.time() - int(span) * 60 if span is not None else None
    now = time.time()
    files = []
    for name in chosen:
        text = events.render_log(call.lab, name, since=since, local_time=bool(call.get("UseLocalTime")))
        if destination is None:
            owner, path = name, ntpath.join(REPORTS, NODE_LOG)
        else:
            owner, path = call.node.name, ntpath.join(str(destination), f"{name}_cluster.log")
        local = call.lab.resolve_path(call.state, owner, path)
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text, encoding="utf-8")
        files.append(render.file_info(path, local.stat().st_size, now))
    return files

"""Waiting for nodes to join, as New-Cluster and Add-ClusterNode do on Windows.

Both cmdlets start the cluster service of each node and return once the node is a member: the
Add Node wizard's last step is "Waiting for notification that the node <Node> is a fully functional
member of the cluster", and when that notification does not come it fails with "An error occurred
while adding node ... This operation returned because the timeout period expired" (ERROR_TIMEOUT,
1460; Microsoft TechNet wiki article 3829, "adding a new failover cluster node fails with time-out
error"). Start-ClusterNode does not wait: its node comes back Joining.

A node's own cluster service decides that it has joined (it hears its peers, or has waited a
heartbeat timeout for them), and it writes that under the lab's lock: the cmdlet releases the lock
while it waits, so the state it holds afterwards is the state the services left.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from wsfclab.cluster import runtime
from wsfclab.cluster.database import ClusterDatabase
from wsfclab.cluster.errors import ClusterError
from wsfclab.cmdlets.base import Call
from wsfclab.cmdlets.cluster import common
from wsfclab.state import LabState

JOIN_TIMEOUT = 60.0  # seconds; Windows does not document its own bound (see the guide's departures)
POLL_INTERVAL = 0.05  # seconds between looks at the stored state
JOINED = ("Up", "Paused")


def wait_until_joined(call: Call, names: Iterable[str], wrapper: str) -> ClusterDatabase:
    """The cluster once every node of ``names`` is Up (or Paused) in it, as its nodes' cluster
    services left it (objects taken from ``call.state`` before are stale); else fail as Windows
    does after ``JOIN_TIMEOUT`` with the cmdlet's ``wrapper`` line."""
    wanted = list(names)
    if not _pending(call.state, wanted):
        return _cluster(call)
    for name in wanted:
        runtime.poke(call.lab, name)
    deadline = time.monotonic() + JOIN_TIMEOUT
    with call.lab.released():
        while _pending(call.lab.peek(), wanted) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
    call.node = call.state.nodes[call.node.name]  # the reloaded state's own object
    late = _pending(call.state, wanted)
    if late:
        raise common.error(
            call, ClusterError("PENDING_TIMEOUT", f"(node '{late[0]}' did not join)", target=late[0]), wrapper
        )
    return _cluster(call)


def _cluster(call: Call) -> ClusterDatabase:
    cdb = call.state.cluster
    if cdb is None:  # removed while the lock was free (Remove-Cluster from another session)
        raise common.error(call, ClusterError("CLUSTER_NOT_FOUND"))
    return cdb


def _pending(state: LabState, names: list[str]) -> list[str]:
    cdb = state.cluster
    return [
        n for n in names if cdb is None or (node := cdb.node_by_name(n)) is None or node.state not in JOINED
    ]

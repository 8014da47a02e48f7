"""The node cmdlets: Get-, Add-, Remove-, Suspend-, Resume-, Start- and Stop-ClusterNode.

Add-ClusterNode and Remove-ClusterNode reach the node they add or evict, so they need credentials
that travel ("cannot be run remotely without CredSSP", [PS]); the others ask the local cluster
service. Add-ClusterNode returns once the node has joined (``joining``); Start-ClusterNode returns
it Joining, as on Windows. Without ``-Name`` the node cmdlets act on the local node, as on Windows.
"""

from __future__ import annotations

from wsfclab.cluster import api
from wsfclab.cluster import database as db
from wsfclab.cluster.errors import ClusterError
from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import common, joining, render
from wsfclab.errors import Unsupported


def _chosen(call: Call, cdb: db.ClusterDatabase, *, default_local: bool) -> list[db.ClusterNode]:
    """The nodes named by ``-Name`` (wildcards allowed) or piped in; else the local node or all."""
    if call.input is not None and call.input.class_name == render.NODE:
        return [common.run(call, None, lambda: api.node(cdb, str(call.input.ref if call.input else "")))]
    values = call.as_list("Name")
    if values is None and default_local:
        return [common.run(call, None, lambda: api.node(cdb, call.node.name))]
    picked = common.pick([str(v) for v in values] if values is not None else None, common.hosts_of(cdb))
    if isinstance(picked, str):
        missing = picked
        raise common.error(call, ClusterError("NODE_NOT_FOUND", f"(node '{missing}')", target=missing))
    return [cdb.nodes[n] for n in picked]


@cmdlet("Get-ClusterNode", inputs={render.CLUSTER: "InputObject"})
def get_cluster_node(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    return [render.node(cdb, n) for n in _chosen(call, cdb, default_local=False)]


@cmdlet("Add-ClusterNode", inputs={render.CLUSTER: "InputObject"}, changes=True)
def add_cluster_node(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    names = [str(n) for n in call.as_list("Name") or [call.node.name]]
    for name in names:
        host = common.lab_node(call, name)
        if host is None:
            raise common.error(
                call,
                ClusterError(
                    "HOST_NODE_NOT_AVAILABLE", f"(the computer '{name}' could not be reached)", target=name
                ),
            )
    common.require_second_hop(call, names)
    added: list[str] = []
    for name in names:
        wrapper = f"An error occurred while adding node '{name}' to cluster '{cdb.name}'."
        node = common.run(
            call,
            wrapper,
            api.add_node,
            call.lab,
            call.state,
            name,
            no_storage=bool(call.get("NoStorage")),
        )
        added.append(node.name)
    joined = cdb
    for name in added:
        wrapper = f"An error occurred while adding node '{name}' to cluster '{cdb.name}'."
        joined = joining.wait_until_joined(call, [name], wrapper)
    return [render.node(joined, joined.nodes[name]) for name in added]


@cmdlet("Remove-ClusterNode", inputs={render.NODE: "InputObject"}, changes=True)
def remove_cluster_node(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.has("IgnoreStorageConnectivityLoss"):
        raise Unsupported("Remove-ClusterNode -IgnoreStorageConnectivityLoss")
    cdb = common.target_cluster(call)
    chosen = _chosen(call, cdb, default_local=True)
    common.require_second_hop(call, [n.name for n in chosen])
    if call.get("WhatIf"):
        return []
    for node in chosen:
        wrapper = f"An error occurred while evicting node '{node.name}' from cluster '{cdb.name}'."
        common.run(
            call,
            wrapper,
            api.remove_node,
            call.lab,
            call.state,
            node.name,
            cleanup_disks=bool(call.get("CleanupDisks")),
        )
    return []


@cmdlet(
    "Suspend-ClusterNode", inputs={render.NODE: "InputObject", render.CLUSTER: "InputObject"}, changes=True
)
def suspend_cluster_node(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.has("TargetNode"):
        raise Unsupported("Suspend-ClusterNode -TargetNode (the lab drains to the cluster's choice of node)")
    cdb = common.target_cluster(call)
    chosen = _chosen(call, cdb, default_local=call.input is None or call.input.class_name != render.CLUSTER)
    if call.get("WhatIf"):
        return []
    paused = []
    for node in chosen:
        wrapper = f"An error occurred while pausing node '{node.name}'."
        done = common.run(
            call,
            wrapper,
            api.suspend_node,
            call.lab,
            call.state,
            node.name,
            drain=bool(call.get("Drain")),
            force_drain=bool(call.get("ForceDrain")),
            wait=bool(call.get("Wait")) or not call.get("Drain"),
        )
        paused.append(render.node(cdb, done))
    return paused


@cmdlet("Resume-ClusterNode", inputs={render.NODE: "InputObject"}, changes=True)
def resume_cluster_node(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    failback = str(call.get("Failback", "NoFailback"))
    failback = next(f for f in api.FAILBACK_CHOICES if f.lower() == failback.lower())
    resumed = []
    for node in _chosen(call, cdb, default_local=True):
        wrapper = f"An error occurred while resuming node '{node.name}'."
        done = common.run(call, wrapper, api.resume_node, call.lab, call.state, node.name, failback=failback)
        resumed.append(render.node(cdb, done))
    return resumed


@cmdlet("Start-ClusterNode", inputs={render.NODE: "InputObject"}, changes=True)
def start_cluster_node(call: Call) -> list[CimObject]:
    common.require_module(call)
    for unsupported in ("ClearQuarantine", "IgnorePersistentState", "PreventQuorum"):
        if call.has(unsupported):
            raise Unsupported(f"Start-ClusterNode -{unsupported}")
    cdb = _any_cluster(call)
    started = []
    for node in _chosen(call, cdb, default_local=True):
        wrapper = f"An error occurred while starting node '{node.name}'."
        done = common.run(
            call,
            wrapper,
            api.start_node,
            call.lab,
            call.state,
            node.name,
            force_quorum=bool(call.get("ForceQuorum")),
        )
        started.append(render.node(cdb, done))
    return started


def _any_cluster(call: Call) -> db.ClusterDatabase:
    """Start-ClusterNode runs where the cluster service is stopped (that is what it starts): it
    needs the node to be a member, not its service to run."""
    cdb = call.state.cluster
    if cdb is None or (call.get("Cluster") is None and cdb.node_by_name(call.node.name) is None):
        raise common.error(call, ClusterError("SERVICE_NOT_RUNNING", target=call.node.name))
    if call.get("Cluster") is not None:
        return common.target_cluster(call)
    return cdb


@cmdlet("Stop-ClusterNode", inputs={render.NODE: "InputObject"}, changes=True)
def stop_cluster_node(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    chosen = _chosen(call, cdb, default_local=True)
    if call.get("WhatIf"):
        return []
    stopped = []
    for node in chosen:
        wrapper = f"An error occurred while stopping node '{node.name}'."
        done = common.run(call, wrapper, api.stop_node, call.lab, call.state, node.name)
        stopped.append(render.node(cdb, done))
    return stopped

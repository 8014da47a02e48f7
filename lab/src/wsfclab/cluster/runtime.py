"""The cluster's edge: bringing resources online and offline on a node, for real.

What "online" means per resource type, on the group's owner node:
- Physical Disk: the owner's cluster service holds the disk's reservation lock; the disk is online
  in the owner's view only, so its volumes and drive letters resolve there alone;
- IP Address: the address is added to the owner's NIC on that cluster network (Get-NetIPAddress
  shows it there) and removed when it goes offline;
- Network Name: online once its IP dependency is (the lab keeps no DNS);
- Generic Service: the registry checkpoints are written to the owner, then the node's Windows
  service is started by the service controller as a real process; it is online while it runs.

A resource is brought online only while the owner's cluster service holds the group's ownership
lock (``locks``). These functions run in whichever process acts: a cmdlet (the caller holds the
lab's lock, and asks the nodes' cluster services for locks over their sockets) or the node's own
cluster service (which holds its locks itself: it registers its ``LockTable`` here as ``LOCAL``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from typing import TYPE_CHECKING

from wsfclab import processes, services
from wsfclab.cluster import dependencies, events, failover, locks, registry
from wsfclab.cluster.database import (
    GENERIC_SERVICE,
    IP_ADDRESS,
    NETWORK_NAME,
    PHYSICAL_DISK,
    ClusterDatabase,
    ClusterGroup,
    ClusterResource,
)
from wsfclab.cluster.errors import ClusterError
from wsfclab.errors import LabError
from wsfclab.state import DiskState, IpAddress, LabState

if TYPE_CHECKING:
    from wsfclab.lab import Lab

CLUSTER_SERVICE = "ClusSvc"
SERVICE_ANSWER_TIMEOUT = 10.0  # seconds for a freshly started cluster service to open its socket


class LocalLocks:
    """Set by a cluster service process: its node name and the locks it holds itself."""

    def __init__(self, node: str, table: locks.LockTable) -> None:
        self.node = node
        self.table = table


LOCAL: LocalLocks | None = None


# -- locks, on whichever process holds them -----------------------------------------------------


def acquire(lab: Lab, node: str, name: str) -> bool:
    if LOCAL is not None and LOCAL.node == node:
        return LOCAL.table.acquire(name)
    answer = locks.call(lab.state_dir, node, {"op": "acquire", "lock": name})
    return bool(answer and answer.get("ok"))


def release(lab: Lab, node: str, name: str) -> None:
    if LOCAL is not None and LOCAL.node == node:
        LOCAL.table.release(name)
        return
    locks.call(lab.state_dir, node, {"op": "release", "lock": name})  # no answer: nothing is held


def held(lab: Lab, node: str) -> set[str]:
    if LOCAL is not None and LOCAL.node == node:
        return LOCAL.table.held()
    answer = locks.call(lab.state_dir, node, {"op": "held"})
    return set(answer.get("held", [])) if answer else set()


def poke(lab: Lab, node: str) -> None:
    """Wake the node's cluster service so that it looks at the database now."""
    if LOCAL is None or LOCAL.node != node:
        locks.notify(lab.state_dir, node, {"op": "poke"})


# -- the cluster service ---------------------------------------------------------------------


def start_cluster_service(lab: Lab, state: LabState, node: str) -> None:
    """Set ClusSvc to start with the node and start it (a real process, ``wsfclab.cluster.service``)."""
    host = services.node_of(state, node)
    clussvc = services.get_service(host, CLUSTER_SERVICE)
    clussvc.start_mode = "Automatic"
    clussvc.emulated = False  # from now on a real process, started with the node
    services.start_service(lab, state, host.name, CLUSTER_SERVICE)
    deadline = time.monotonic() + SERVICE_ANSWER_TIMEOUT
    while locks.call(lab.state_dir, host.name, {"op": "held"}, timeout=0.2) is None:
        if time.monotonic() > deadline:
            raise LabError(
                f"the cluster service of {host.name} started but does not answer; see its log "
                f"{lab.state_dir / 'logs' / host.name / 'ClusSvc.log'}"
            )
        time.sleep(0.02)


def stop_cluster_service(lab: Lab, state: LabState, node: str, *, disable: bool) -> None:
    """Stop the node's cluster service (its locks go with it) and mark the node Down."""
    host = services.node_of(state, node)
    clussvc = services.find_service(host, CLUSTER_SERVICE)
    db = state.cluster
    if db is not None:
        for grp in db.groups.values():
            if grp.owner_node == host.name:
                _local_offline(lab, state, db, grp, host.name)
        member = db.node_by_name(host.name)
        if member is not None:
            member.state = "Down"  # its vote: the remaining members' leader recomputes the weights
        db.touch()
    if clussvc is not None and host.running and clussvc.state == "Running":
        services.stop_service(lab, state, host.name, CLUSTER_SERVICE, stop_dependents=True)
    if clussvc is not None and disable:
        clussvc.start_mode = "Disabled"
    if db is not None:
        for other in db.nodes:
            if other != host.name:
                poke(lab, other)


def before_shutdown(lab: Lab, state: LabState, node: str) -> None:
    """A graceful shutdown of a cluster node drains it first (DrainOnShutdown, Windows Server 2016
    and later), then it leaves the membership cleanly, so its peers log no 1135."""
    db = state.cluster
    host = state.nodes.get(node)
    if db is None or node not in db.nodes or host is None or not host.running:
        return
    if db.nodes[node].state in ("Up", "Paused"):
        drain_node(lab, state, node, wait=60.0)
    for grp in db.groups.values():
        if grp.owner_node == node:
            _local_offline(lab, state, db, grp, node)
            refresh_group_state(db, grp)
    db.nodes[node].state = "Down"
    db.touch()
    for other in db.nodes:
        if other != node:
            poke(lab, other)


def require_quorum(db: ClusterDatabase) -> None:
    """Operations need a running cluster: at least one node Up."""
    if not any(n.state in ("Up", "Paused") for n in db.nodes.values()):
        raise ClusterError("SERVICE_NOT_RUNNING")


def up_nodes(db: ClusterDatabase) -> set[str]:
    return {n for n, v in db.nodes.items() if v.state == "Up"}


def placement_for(db: ClusterDatabase, group: ClusterGroup, *, exclude: set[str]) -> str | None:
    return failover.first_owner(db, group, up_nodes(db), exclude)


def can_host(db: ClusterDatabase, group: ClusterGroup, node: str) -> bool:
    return failover.can_host(db, group, node)


# -- groups ----------------------------------------------------------------------------------


def bring_group_online(lab: Lab, state: LabState, group: ClusterGroup, *, wait: float) -> None:
    """Every resource of ``group`` online on its owner, bottom-up. With ``wait`` 0 the owner's
    cluster service does it and the group is Pending meanwhile."""
    db = _db(state)
    group.persistent_state = 1
    owner = group.owner_node
    if owner is None:
        group.state = "Failed"
        return
    if wait <= 0:
        group.state = "Pending"
        for res in db.resources_of(group.name):
            if res.state != "Online":
                res.state = "OnlinePending"
        db.touch()
        poke(lab, owner)
        return
    online_group_here(lab, state, db, group, owner)


def online_group_here(lab: Lab, state: LabState, db: ClusterDatabase, group: ClusterGroup, node: str) -> bool:
    """Bring the group's resources online on ``node`` now; True when all are online. A group whose
    ownership lock another node still holds stays Pending (its cluster service retries)."""
    if not acquire(lab, node, locks.group_lock(group.id)):
        group.state = "Pending"
        db.touch()
        return False
    events.record(lab, node, 1200, group=group.name)
    online: set[str] = {r.name.lower() for r in db.resources_of(group.name) if r.state == "Online"}
    failed = False
    for name in dependencies.online_order(db, group.name):
        res = db.resources[name]
        if res.state == "Online" or res.restart_at is not None:
            continue
        if not dependencies.satisfied(res.dependency_expression, online):
            res.state = "Offline"
            failed = True
            continue
        if online_resource(lab, state, db, res, node):
            online.add(res.name.lower())
        else:
            failed = True
    refresh_group_state(db, group)
    if failed:
        events.record(lab, node, 1205, group=group.name)
    elif group.state == "Online":
        events.record(lab, node, 1201, group=group.name)
    db.touch()
    return not failed


def take_group_offline(lab: Lab, state: LabState, group: ClusterGroup, *, wait: float) -> None:
    """Every resource offline, top-down, on the owner; the group's lock is released."""
    db = _db(state)
    del wait  # offline is immediate in the lab: stopping a process waits for it to exit
    if group.owner_node is not None:
        events.record(lab, group.owner_node, 1203, group=group.name)
        _local_offline(lab, state, db, group, group.owner_node)
        events.record(lab, group.owner_node, 1204, group=group.name)
    refresh_group_state(db, group)
    db.touch()


def _local_offline(lab: Lab, state: LabState, db: ClusterDatabase, group: ClusterGroup, node: str) -> None:
    for name in dependencies.offline_order(db, group.name):
        res = db.resources[name]
        offline_resource(lab, state, res, node)
        if res.state != "Failed":
            res.state = "Offline"
        res.restart_at = None
    release(lab, node, locks.group_lock(group.id))


def move_group(lab: Lab, state: LabState, group: ClusterGroup, target: str, *, wait: float) -> None:
    """Offline on the owner, online on ``target`` (event 1641)."""
    db = _db(state)
    source = group.owner_node
    keep_online = group.persistent_state == 1 or group.state in ("Online", "PartialOnline", "Pending")
    if source is not None:
        events.record(lab, source, 1641, group=group.name, source=source, target=target)
        take_group_offline(lab, state, group, wait=wait)
    group.owner_node = target
    for res in db.resources_of(group.name):
        if res.state == "Failed":
            res.state = "Offline"
    if keep_online:
        bring_group_online(lab, state, group, wait=wait)
    db.touch()


def drain_node(lab: Lab, state: LabState, node: str, *, wait: float, force: bool = False) -> bool:
    """Move every group off ``node`` to the best other node; True when each found a new home."""
    db = _db(state)
    moved_all = True
    for grp in list(db.groups.values()):
        if grp.owner_node != node:
            continue
        target = placement_for(db, grp, exclude={node})
        if target is None:
            moved_all = False
            if force:
                take_group_offline(lab, state, grp, wait=wait)
            continue
        grp.drained_from = node
        move_group(lab, state, grp, target, wait=wait)
    return moved_all


def refresh_group_state(db: ClusterDatabase, group: ClusterGroup) -> None:
    """The group's State from its resources' states (a group left Failed by policy stays Failed)."""
    states = [r.state for r in db.resources_of(group.name)]
    if group.state == "Failed" and group.persistent_state == 1 and "Online" not in states:
        return
    if not states:
        group.state = "Online" if group.persistent_state == 1 else "Offline"
    elif all(s == "Online" for s in states):
        group.state = "Online"
    elif any(s in ("OnlinePending", "OfflinePending", "Pending") for s in states):
        group.state = "Pending"
    elif all(s == "Offline" for s in states):
        group.state = "Offline"
    elif "Online" in states:
        group.state = "PartialOnline"
    else:
        group.state = "Failed" if "Failed" in states else "Offline"


# -- resources -------------------------------------------------------------------------------


def bring_resource_online(lab: Lab, state: LabState, res: ClusterResource, *, wait: float) -> None:
    """Start-ClusterResource: its providers first, then the resource, on the group's owner."""
    db = _db(state)
    group = db.groups[res.owner_group]
    if group.owner_node is None:
        raise ClusterError("HOST_NODE_NOT_AVAILABLE", f"(role {group.name} has no owner)", target=res.name)
    if wait <= 0:
        res.state = "OnlinePending"
        group.persistent_state = 1
        db.touch()
        poke(lab, group.owner_node)
        return
    node = group.owner_node
    if not acquire(lab, node, locks.group_lock(group.id)):
        res.state = "OnlinePending"
        return
    online = {r.name.lower() for r in db.resources_of(group.name) if r.state == "Online"}
    for name in _providers_first(db, res):
        provider = db.resources[name]
        ready = provider.state != "Online" and dependencies.satisfied(provider.dependency_expression, online)
        if ready and online_resource(lab, state, db, provider, node):
            online.add(provider.name.lower())
    if res.state != "Online":
        if not dependencies.satisfied(res.dependency_expression, online):
            raise ClusterError(
                "DEPENDENCY_NOT_FOUND", f"({res.name}: {res.dependency_expression})", target=res.name
            )
        online_resource(lab, state, db, res, node)
    refresh_group_state(db, group)
    db.touch()


def take_resource_offline(lab: Lab, state: LabState, res: ClusterResource, *, wait: float) -> None:
    """Stop-ClusterResource: its dependents go offline first, then the resource."""
    db = _db(state)
    del wait
    group = db.groups[res.owner_group]
    node = group.owner_node
    for name in [*dependencies.dependents_of(db, res.name), res.name]:
        dependent = db.resources[name]
        if node is not None:
            offline_resource(lab, state, dependent, node)
        dependent.state = "Offline"
        dependent.restart_at = None
    refresh_group_state(db, group)
    db.touch()


def _providers_first(db: ClusterDatabase, res: ClusterResource) -> list[str]:
    order = dependencies.online_order(db, res.owner_group)
    needed: set[str] = set()
    frontier = [res.name]
    while frontier:
        current = db.resources[frontier.pop()]
        for provider in dependencies.names(current.dependency_expression):
            found = db.resource_by_name(provider)
            if found is not None and found.name not in needed:
                needed.add(found.name)
                frontier.append(found.name)
    return [n for n in order if n in needed]


def online_resource(lab: Lab, state: LabState, db: ClusterDatabase, res: ClusterResource, node: str) -> bool:
    """One resource online on ``node``; on failure it is Failed, the event logged, and the owner's
    cluster service applies the failure policy (``pending_failure``)."""
    group = db.groups[res.owner_group]
    if res.possible_owners and node not in res.possible_owners:
        res.state = "Failed"
        return False
    res.state = "OnlinePending"
    ok = True
    if res.resource_type == PHYSICAL_DISK:
        ok = _disk_online(lab, state, res, node)
        if not ok:
            res.state = "OnlinePending"  # another node still holds the reservation: retried
            return False
    elif res.resource_type == IP_ADDRESS:
        ok = _ip_online(lab, state, db, res, node)
    elif res.resource_type == NETWORK_NAME:
        ok = _name_online(lab, state, db, res, node)
    elif res.resource_type == GENERIC_SERVICE:
        ok = _service_online(lab, state, res, node)
    if ok:
        res.state = "Online"
        res.pending_failure = False
        return True
    res.state = "Failed"
    res.pending_failure = True
    events.record(lab, node, 1069, resource=res.name, type=res.resource_type, group=group.name)
    poke(lab, node)
    return False


def offline_resource(lab: Lab, state: LabState, res: ClusterResource, node: str) -> None:
    if res.resource_type == GENERIC_SERVICE:
        _service_offline(lab, state, res, node)
    elif res.resource_type == IP_ADDRESS:
        _ip_offline(state, res, node)
    elif res.resource_type == PHYSICAL_DISK:
        with contextlib.suppress(LabError):
            disk = _disk(state, res)
            view = disk.views.get(node)
            if view is not None:
                view.is_offline = True
            release(lab, node, locks.disk_lock(disk.key))


def simulate_failure(lab: Lab, state: LabState, res: ClusterResource) -> None:
    """Test-ClusterResourceFailure: the owner's cluster service sees the resource failed."""
    db = _db(state)
    res.pending_failure = True
    db.touch()
    owner = db.groups[res.owner_group].owner_node
    if owner is not None:
        poke(lab, owner)


def move_resource_to_group(lab: Lab, state: LabState, res: ClusterResource, group: ClusterGroup) -> None:
    """Move a resource (a disk) into another group: offline where it was, then part of ``group``,
    online with it when that group is online."""
    db = _db(state)
    old = db.groups[res.owner_group]
    if old.owner_node is not None:
        offline_resource(lab, state, res, old.owner_node)
    res.state = "Offline"
    res.owner_group = group.name
    for other in db.resources_of(old.name):
        other.dependency_expression = dependencies.without(other.dependency_expression, {res.name})
    refresh_group_state(db, old)
    if group.owner_node is not None and group.state in ("Online", "PartialOnline"):
        online_group_here(lab, state, db, group, group.owner_node)
    db.touch()


def release_disk(lab: Lab, state: LabState, disk: DiskState) -> None:
    if disk.owner_node is not None:
        release(lab, disk.owner_node, locks.disk_lock(disk.key))


# -- per type --------------------------------------------------------------------------------


def _disk(state: LabState, res: ClusterResource) -> DiskState:
    key = str(res.private.get("DiskPath", ""))
    disk = state.disks.get(key)
    if disk is None:
        raise LabError(f"cluster disk resource {res.name} names disk {key!r}, which this lab does not have")
    return disk


def _disk_online(lab: Lab, state: LabState, res: ClusterResource, node: str) -> bool:
    disk = _disk(state, res)
    if node not in disk.views:
        return False
    if not acquire(lab, node, locks.disk_lock(disk.key)):
        return False
    disk.owner_node = node
    for name, view in disk.views.items():
        view.is_offline = name != node
        view.is_read_only = False
    return True


def _ip_online(lab: Lab, state: LabState, db: ClusterDatabase, res: ClusterResource, node: str) -> bool:
    address = str(res.private.get("Address", ""))
    net = db.networks.get(str(res.private.get("Network", "")))
    if net is None or not address:
        return False
    if net.role not in ("ClusterAndClient", "Client"):
        events.record(lab, node, 1223, resource=res.name, network=net.name)
        return False
    subnet = ipaddress.IPv4Network(f"{net.address}/{net.prefix_length}")
    for name, host in state.nodes.items():
        for nic in host.nics:
            nic.addresses = [a for a in nic.addresses if not (a.ip == address and name != node)]
    host = state.nodes[node]
    for nic in host.nics:
        if any(ipaddress.ip_address(a.ip) in subnet for a in nic.addresses if ":" not in a.ip):
            if not any(a.ip == address for a in nic.addresses):
                nic.addresses.append(IpAddress(ip=address, prefix_length=net.prefix_length))
            return True
    return False


def _name_online(lab: Lab, state: LabState, db: ClusterDatabase, res: ClusterResource, node: str) -> bool:
    """A role's network name needs its computer object (a VCO, created by the cluster's CNO); where
    the domain no longer lets the CNO create computer objects it fails with event 1194."""
    if res.is_core_resource or db.administrative_access_point == "Dns" or state.domain is None:
        return True
    if state.domain.may_create_computer_objects:
        return True
    events.record(
        lab, node, 1194, resource=res.name, domain=state.domain.domain_name, during="Resource online"
    )
    return False


def _ip_offline(state: LabState, res: ClusterResource, node: str) -> None:
    address = str(res.private.get("Address", ""))
    host = state.nodes.get(node)
    if host is None:
        return
    for nic in host.nics:
        nic.addresses = [a for a in nic.addresses if a.ip != address]


def _service_online(lab: Lab, state: LabState, res: ClusterResource, node: str) -> bool:
    name = str(res.private.get("ServiceName", ""))
    host = state.nodes[node]
    service = services.find_service(host, name)
    if service is None:
        events.record(lab, node, 1040, resource=res.name, error="1060")
        return False
    for checkpoint in res.checkpoints:
        try:
            registry.write_tree(lab, node, checkpoint.key, checkpoint.values)
        except OSError:
            events.record(lab, node, 1024, resource=res.name, key=checkpoint.key)
    try:
        services.start_service(lab, state, node, service.name)
    except LabError as exc:
        code = getattr(exc, "code", 1067)
        events.record(lab, node, 1041, resource=res.name, error=str(code))
        return False
    return True


def _service_offline(lab: Lab, state: LabState, res: ClusterResource, node: str) -> None:
    save_checkpoints(lab, res, node)
    host = state.nodes.get(node)
    if host is None or not host.running:
        return
    service = services.find_service(host, str(res.private.get("ServiceName", "")))
    if service is None or service.state != "Running":
        return
    services.stop_service(lab, state, node, service.name, stop_dependents=True)


def save_checkpoints(lab: Lab, res: ClusterResource, node: str) -> bool:
    """Copy the checkpointed keys off ``node`` into the database; True when something changed."""
    changed = False
    for checkpoint in res.checkpoints:
        tree = registry.read_tree(lab, node, checkpoint.key)
        if tree != checkpoint.values:
            checkpoint.values = tree
            checkpoint.saved_at = time.time()
            changed = True
    return changed


def service_alive(state: LabState, res: ClusterResource, node: str) -> bool:
    """Whether the Generic Service resource's process runs on ``node`` (as the resource monitor
    polls the service controller)."""
    host = state.nodes.get(node)
    if host is None or not host.running:
        return False
    service = services.find_service(host, str(res.private.get("ServiceName", "")))
    return (
        service is not None
        and service.state == "Running"
        and processes.is_alive(service.pid, service.process_start)
    )


def _db(state: LabState) -> ClusterDatabase:
    if state.cluster is None:
        raise ClusterError("CLUSTER_NOT_FOUND")
    return state.cluster

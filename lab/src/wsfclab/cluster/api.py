"""The failover cluster's operations, as the FailoverClusters cmdlets call them.

Every function takes the lab and the ``LabState`` of the caller's session (the cmdlet's
``call.lab`` and ``call.state``): the caller holds the lab's lock, so a change made here is atomic
with respect to every other ansible fork. Configuration changes (properties, owners,
dependencies, checkpoints) are written to the cluster database at once. Operations that move a
role (start, stop, move, fail) run here, in the caller's process, step by step, exactly as the
cluster service would: resources go offline top-down, the disk reservations are handed over by the
two nodes' cluster services (the only processes that hold them), and resources come online
bottom-up. With ``wait=0`` the operation is left to the owner's cluster service and the objects come
back Pending, as ``-Wait 0`` returns on Windows.

Errors are ``ClusterError`` (``wsfclab.cluster.errors``): Windows' code and text; a cmdlet renders
it with ``for_cmdlet``. Input is checked before anything changes.
"""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from typing import TYPE_CHECKING

from wsfclab.cluster import dependencies, events, quorum, runtime
from wsfclab.cluster.database import (
    AVAILABLE_STORAGE,
    CLUSTER_GROUP,
    CLUSTER_IP,
    CLUSTER_NAME,
    GENERIC_SERVICE,
    IP_ADDRESS,
    NETWORK_NAME,
    NETWORK_ROLE_VALUES,
    PHYSICAL_DISK,
    PRIVATE_DEFAULTS,
    RESOURCE_TYPES,
    SETTABLE_CLUSTER_PROPERTIES,
    SETTABLE_GROUP_PROPERTIES,
    SETTABLE_RESOURCE_PROPERTIES,
    Checkpoint,
    ClusterDatabase,
    ClusterGroup,
    ClusterNetwork,
    ClusterNode,
    ClusterResource,
    Isolation,
    NetworkInterface,
    QuorumConfig,
    Settable,
)
from wsfclab.cluster.errors import ClusterError, invalid
from wsfclab.errors import Unsupported
from wsfclab.state import DiskState, LabState, NodeState

if TYPE_CHECKING:
    from wsfclab.lab import Lab

DEFAULT_WAIT = 120.0  # seconds; the cmdlets' -Wait default is "until done" (bounded by PendingTimeout)
MIN_WITNESS_SIZE = 512 * 1024**2  # [WSD] manage-cluster-quorum
_NETBIOS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,14}$")
FAILBACK_CHOICES = ("NoFailback", "Immediate", "Policy")


# -- reading ---------------------------------------------------------------------------------


def get_cluster(state: LabState, node: str | None = None) -> ClusterDatabase:
    """The cluster, as Get-Cluster reaches it from ``node`` (the local node): fails as Windows does
    when there is no cluster, or when the node's cluster service is not running."""
    db = state.cluster
    if db is None:
        raise ClusterError("CLUSTER_NOT_FOUND", target=node)
    if node is not None:
        member = db.node_by_name(node)
        if member is None:
            raise ClusterError("CLUSTER_NOT_FOUND", f"({node} is not a node of a cluster)", target=node)
        clussvc = state.nodes[member.name].services.get("ClusSvc")
        if clussvc is None or clussvc.state != "Running":
            raise ClusterError("SERVICE_NOT_RUNNING", target=node)
    return db


def node(db: ClusterDatabase, name: str) -> ClusterNode:
    found = db.node_by_name(name)
    if found is None:
        raise ClusterError("NODE_NOT_FOUND", f"(node {name!r})", target=name)
    return found


def group(db: ClusterDatabase, name: str) -> ClusterGroup:
    found = db.group_by_name(name)
    if found is None:
        raise ClusterError("GROUP_NOT_FOUND", f"(group {name!r})", target=name)
    return found


def resource(db: ClusterDatabase, name: str) -> ClusterResource:
    found = db.resource_by_name(name)
    if found is None:
        raise ClusterError("RESOURCE_NOT_FOUND", f"(resource {name!r})", target=name)
    return found


def network(db: ClusterDatabase, name: str) -> ClusterNetwork:
    found = db.network_by_name(name)
    if found is None:
        raise ClusterError("NETWORK_NOT_FOUND", f"(network {name!r})", target=name)
    return found


def group_owners(db: ClusterDatabase, name: str) -> list[str]:
    """Get-ClusterOwnerNode -Group: the preferred owners, in order (empty by default)."""
    return list(group(db, name).preferred_owners)


def resource_owners(db: ClusterDatabase, name: str) -> list[str]:
    """Get-ClusterOwnerNode -Resource: the possible owners (every node by default)."""
    found = resource(db, name)
    return (
        list(found.possible_owners)
        if found.possible_owners
        else sorted(db.nodes, key=lambda n: int(db.nodes[n].id))
    )


def dependency_expression(db: ClusterDatabase, name: str) -> str:
    return resource(db, name).dependency_expression


def available_disks(state: LabState) -> list[DiskState]:
    """Get-ClusterAvailableDisk: disks every node of the cluster sees, not clustered, not system or
    local, partitioned (MBR or GPT) and not in a storage pool."""
    db = get_cluster(state)
    return [d for d in state.disks.values() if _disk_eligible(db, d)]


def _disk_eligible(db: ClusterDatabase, disk: DiskState) -> bool:
    return (
        not disk.is_clustered
        and disk.kind in ("iscsi", "sas", "space")
        and disk.pool is None
        and disk.partition_style in ("MBR", "GPT")
        and all(n in disk.views for n in db.nodes)
    )


# -- the cluster -----------------------------------------------------------------------------


def create_cluster(
    lab: Lab,
    state: LabState,
    *,
    name: str,
    nodes: list[str],
    static_addresses: list[str] | None = None,
    ignore_networks: list[str] | None = None,
    no_storage: bool = False,
    administrative_access_point: str = "ActiveDirectoryAndDns",
) -> ClusterDatabase:
    """New-Cluster: validate, then build the database (one network per subnet, "Cluster Group" with
    "Cluster IP Address" and "Cluster Name", "Available Storage" with every eligible disk unless
    ``no_storage``), start the cluster service on every node and bring the Cluster Group online on
    the first node. ``static_addresses`` are plain addresses ("127.0.1.20"); ``ignore_networks``
    are "address/prefix" strings as -IgnoreNetwork takes them."""
    if state.cluster is not None:
        raise ClusterError(
            "OBJECT_ALREADY_EXISTS", f"(the nodes already form cluster {state.cluster.name!r})"
        )
    if not _NETBIOS.match(name) or name.isdigit():
        raise ClusterError(
            "INVALID_CLUSTER_NAME",
            f"(Name={name!r}: expected 1 to 15 letters, digits or hyphens, not only digits)",
            target=name,
        )
    members = [_lab_node(state, n) for n in (nodes or [])]
    if not members:
        raise invalid("Node", nodes, "at least one node")
    if len({m.name for m in members}) != len(members):
        raise invalid("Node", nodes, "each node once")
    for member in members:
        _check_can_join(member)
    plan = plan_networks(members, static_addresses or [], ignore_networks or [])
    now = time.time()
    domain = state.domain.domain_name if state.domain else members[0].domain
    db = ClusterDatabase(
        name=name.upper() if name.islower() else name,
        id=str(uuid.uuid4()),
        domain=domain,
        fqdn=f"{name}.{domain}".lower(),
        created=now,
        administrative_access_point=administrative_access_point,
    )
    db.networks = {n.name: n for n in plan.networks}
    for index, member in enumerate(members, start=1):
        db.nodes[member.name] = ClusterNode(name=member.name, id=str(index), state="Joining")
        db.interfaces += interfaces_of(member, plan.networks)
    core = ClusterGroup(name=CLUSTER_GROUP, id=str(uuid.uuid4()), group_type="Cluster", persistent_state=1)
    storage = ClusterGroup(
        name=AVAILABLE_STORAGE, id=str(uuid.uuid4()), group_type="AvailableStorage", persistent_state=1
    )
    db.groups = {core.name: core, storage.name: storage}
    ip_names: list[str] = []
    for address, net in plan.addresses:
        ip_name = CLUSTER_IP if not ip_names else f"{CLUSTER_IP} {address}"
        ip_names.append(ip_name)
        _new_resource(
            db,
            ip_name,
            IP_ADDRESS,
            CLUSTER_GROUP,
            core=True,
            private={
                "Address": address,
                "SubnetMask": net.address_mask,
                "Network": net.name,
            },
        )
    name_res = _new_resource(
        db,
        CLUSTER_NAME,
        NETWORK_NAME,
        CLUSTER_GROUP,
        core=True,
        private={
            "Name": db.name,
            "DnsName": db.name.lower(),
        },
    )
    name_res.dependency_expression = " or ".join(f"[{n}]" for n in ip_names)
    state.cluster = db
    quorum.recompute_weights(db, set(db.nodes))
    if not no_storage:
        for disk in [d for d in state.disks.values() if _disk_eligible(db, d)]:
            _cluster_disk(db, disk)
    core.owner_node = storage.owner_node = members[0].name
    db.touch()
    for member in members:
        runtime.start_cluster_service(lab, state, member.name)
    runtime.bring_group_online(lab, state, core, wait=DEFAULT_WAIT)
    runtime.bring_group_online(lab, state, storage, wait=DEFAULT_WAIT)
    return db


def destroy_cluster(lab: Lab, state: LabState, *, cleanup_ad: bool = False) -> None:
    """Remove-Cluster: every role offline, the cluster service stopped and disabled on every node,
    disks released (no longer clustered), the database gone."""
    db = get_cluster(state)
    del cleanup_ad  # the lab keeps no computer objects of its own (see the guide)
    for grp in list(db.groups.values()):
        runtime.take_group_offline(lab, state, grp, wait=DEFAULT_WAIT)
    for name in list(db.nodes):
        runtime.stop_cluster_service(lab, state, name, disable=True)
    for disk in state.disks.values():
        if disk.is_clustered:
            disk.is_clustered = False
            disk.owner_node = None
    state.cluster = None


def set_cluster_property(state: LabState, name: str, value: int) -> None:
    """(Get-Cluster).Name = value, for the common properties in SETTABLE_CLUSTER_PROPERTIES. The
    cluster services pick up heartbeat settings at their next heartbeat."""
    db = get_cluster(state)
    spec = _settable(SETTABLE_CLUSTER_PROPERTIES, name, value, "cluster")
    setattr(db.properties, spec.field, int(value))
    db.touch()


def set_network_property(state: LabState, network_name: str, name: str, value: str | int) -> ClusterNetwork:
    """(Get-ClusterNetwork N).Name / .Role / .Description / .Metric = value. Role takes the number or
    the enum name (None, Cluster, ClusterAndClient; Client is refused as on Windows)."""
    db = get_cluster(state)
    net = network(db, network_name)
    if name == "Role":
        role = _network_role(value)
        if role == "Client":
            raise invalid("Role", value, "0 (None), 1 (Cluster) or 3 (ClusterAndClient); 2 is not supported")
        net.role = role
    elif name == "Name":
        new = str(value)
        if not new or (db.network_by_name(new) not in (None, net)):
            raise ClusterError("OBJECT_ALREADY_EXISTS", f"(network {new!r})", target=new)
        for interface in db.interfaces:
            if interface.network == net.name:
                interface.network = new
        for res in db.resources.values():
            if res.private.get("Network") == net.name:
                res.private["Network"] = new
        del db.networks[net.name]
        net.name = new
        db.networks[new] = net
    elif name == "Description":
        net.description = str(value)
    elif name == "Metric":
        if not isinstance(value, int) or value < 0:
            raise invalid("Metric", value, "a non-negative integer")
        net.metric = value
    else:
        raise invalid("property", name, "one of Name, Role, Description, Metric")
    db.touch()
    return net


# -- nodes -----------------------------------------------------------------------------------


def add_node(lab: Lab, state: LabState, name: str, *, no_storage: bool = True) -> ClusterNode:
    """Add-ClusterNode: the node joins; its cluster service starts and it comes Up."""
    db = get_cluster(state)
    member = _lab_node(state, name)
    if member.name in db.nodes:
        raise ClusterError("NODE_ALREADY_MEMBER", f"(node {member.name})", target=member.name)
    _check_can_join(member)
    next_id = max((int(n.id) for n in db.nodes.values()), default=0) + 1
    added = ClusterNode(name=member.name, id=str(next_id), state="Joining")
    db.nodes[member.name] = added
    db.interfaces += interfaces_of(member, list(db.networks.values()))
    if not no_storage:
        for disk in [d for d in state.disks.values() if _disk_eligible(db, d)]:
            _cluster_disk(db, disk)
    db.touch()
    runtime.start_cluster_service(lab, state, member.name)
    return added


def remove_node(lab: Lab, state: LabState, name: str, *, cleanup_disks: bool = False) -> None:
    """Remove-ClusterNode (after confirmation, which the cmdlet checks): its roles move away, its
    cluster service stops and is disabled, it leaves every owner list."""
    db = get_cluster(state)
    gone = node(db, name)
    if len(db.nodes) == 1:
        raise ClusterError("LAST_NODE", f"(node {gone.name})", target=gone.name)
    if gone.state in ("Up", "Paused"):
        runtime.drain_node(lab, state, gone.name, wait=DEFAULT_WAIT)
    runtime.stop_cluster_service(lab, state, gone.name, disable=True)
    del db.nodes[gone.name]
    db.interfaces = [i for i in db.interfaces if i.node != gone.name]
    db.isolations = [i for i in db.isolations if i.node != gone.name]
    for grp in db.groups.values():
        grp.preferred_owners = [o for o in grp.preferred_owners if o != gone.name]
        if grp.owner_node == gone.name:
            grp.owner_node = None
    for res in db.resources.values():
        res.possible_owners = [o for o in res.possible_owners if o != gone.name]
    if cleanup_disks:
        for disk in state.disks.values():
            if disk.is_clustered and disk.owner_node == gone.name:
                disk.owner_node = None
    quorum.recompute_weights(db, {n for n, v in db.nodes.items() if v.state in ("Up", "Paused")})
    db.touch()


def start_node(lab: Lab, state: LabState, name: str, *, force_quorum: bool = False) -> ClusterNode:
    """Start-ClusterNode [-ForceQuorum]: start the node's cluster service; it joins (State Joining,
    then Up). With ``force_quorum`` it forms the cluster even without a majority of votes."""
    db = get_cluster(state)
    member = node(db, name)
    host = _lab_node(state, member.name)
    if not host.running:
        raise ClusterError(
            "HOST_NODE_NOT_AVAILABLE", f"(node {member.name} is not running)", target=member.name
        )
    if force_quorum:
        member.force_quorum = True
    db.touch()
    runtime.start_cluster_service(lab, state, member.name)
    if member.state == "Down":
        member.state = "Joining"
    runtime.poke(lab, member.name)
    return member


def stop_node(lab: Lab, state: LabState, name: str) -> ClusterNode:
    """Stop-ClusterNode: its roles are moved to other nodes first, then its cluster service stops."""
    db = get_cluster(state)
    member = node(db, name)
    if member.state in ("Up", "Paused"):
        runtime.drain_node(lab, state, member.name, wait=DEFAULT_WAIT)
    runtime.stop_cluster_service(lab, state, member.name, disable=False)
    return member


def suspend_node(
    lab: Lab, state: LabState, name: str, *, drain: bool = False, force_drain: bool = False, wait: bool = True
) -> ClusterNode:
    """Suspend-ClusterNode [-Drain [-ForceDrain]] [-Wait]: the node is Paused (no role moves to it);
    with ``drain`` its roles move to other nodes (DrainStatus InProgress, then Completed or Failed).
    ``force_drain`` moves them even when a move fails (the role is left where the cluster puts it)."""
    db = get_cluster(state)
    member = node(db, name)
    if member.state == "Down":
        raise ClusterError("NODE_DOWN", f"(node {member.name})", target=member.name)
    member.state = "Paused"
    db.touch()
    if drain:
        member.drain_status = "InProgress"
        moved_all = runtime.drain_node(
            lab, state, member.name, wait=DEFAULT_WAIT if wait else 0, force=force_drain
        )
        member.drain_status = "Completed" if moved_all else "Failed"
    return member


def resume_node(lab: Lab, state: LabState, name: str, *, failback: str = "NoFailback") -> ClusterNode:
    """Resume-ClusterNode [-Failback Immediate|Policy|NoFailback]: the node is Up again; Immediate
    moves back the roles a drain took off it, Policy moves those whose AutoFailbackType allows it."""
    db = get_cluster(state)
    member = node(db, name)
    if failback not in FAILBACK_CHOICES:
        raise invalid("Failback", failback, "one of " + ", ".join(FAILBACK_CHOICES))
    if member.state != "Paused":
        raise ClusterError("NODE_NOT_PAUSED", f"(node {member.name})", target=member.name)
    member.state = "Up"
    member.drain_status = "NotInitiated"
    db.touch()
    for grp in db.groups.values():
        if grp.drained_from != member.name:
            continue
        if failback == "Immediate" or (failback == "Policy" and grp.auto_failback_type == 1):
            runtime.move_group(lab, state, grp, member.name, wait=DEFAULT_WAIT)
        grp.drained_from = None
    return member


# -- storage and quorum ----------------------------------------------------------------------


def add_disk(lab: Lab, state: LabState, disk_key: str) -> ClusterResource:
    """Add-ClusterDisk: the disk becomes "Cluster Disk N" in Available Storage, clustered, and comes
    back OnlinePending ([PS16]): the owner of Available Storage reserves it and brings it online."""
    db = get_cluster(state)
    disk = state.disks.get(disk_key)
    if disk is None:
        raise ClusterError("DISK_NOT_ELIGIBLE", f"(disk {disk_key!r} is not in this lab)", target=disk_key)
    if disk.is_clustered:
        raise ClusterError(
            "OBJECT_ALREADY_EXISTS", f"(disk {disk.friendly_name} is already clustered)", target=disk_key
        )
    if not _disk_eligible(db, disk):
        raise ClusterError(
            "DISK_NOT_ELIGIBLE",
            f"(disk {disk.friendly_name}: it must be shared with every node, partitioned and not in a pool)",
            target=disk_key,
        )
    res = _cluster_disk(db, disk)
    storage = db.groups[AVAILABLE_STORAGE]
    if storage.owner_node is not None and storage.persistent_state == 1:
        res.state = "OnlinePending"
        runtime.poke(lab, storage.owner_node)
    db.touch()
    return res


def set_quorum(
    lab: Lab,
    state: LabState,
    *,
    no_witness: bool = False,
    disk_witness: str | None = None,
    file_share_witness: str | None = None,
) -> QuorumConfig:
    """Set-ClusterQuorum -NoWitness | -DiskWitness "Cluster Disk N" | -FileShareWitness \\\\srv\\share.
    A disk witness must be a Physical Disk resource of at least 512 MB, in Available Storage or
    already the witness; it moves into the Cluster Group. A file share witness must not be on a node
    of the cluster; the lab has no file servers, so any other share is refused as unsupported."""
    db = get_cluster(state)
    chosen = [x for x in (no_witness, disk_witness is not None, file_share_witness is not None) if x]
    if len(chosen) != 1:
        raise invalid("witness", "", "exactly one of NoWitness, DiskWitness, FileShareWitness")
    if file_share_witness is not None:
        host = file_share_witness.lstrip("\\").split("\\")[0].upper()
        if host in db.nodes:
            raise ClusterError(
                "INVALID_PARAMETER",
                f"(the file share witness {file_share_witness} is hosted on cluster node {host}; event 1559)",
                target=file_share_witness,
            )
        raise Unsupported(
            f"file share witness {file_share_witness}: the lab has no file servers; use a disk witness"
        )
    old = db.quorum.witness_resource
    if disk_witness is not None:
        res = resource(db, disk_witness)
        if res.resource_type != PHYSICAL_DISK:
            raise invalid("DiskWitness", disk_witness, "a Physical Disk resource")
        disk = disk_of(state, res)
        if disk.size < MIN_WITNESS_SIZE:
            raise ClusterError(
                "WITNESS_TOO_SMALL", f"({res.name} has {disk.size // 1024**2} MB)", target=res.name
            )
        if res.owner_group not in (AVAILABLE_STORAGE, CLUSTER_GROUP):
            raise ClusterError(
                "INVALID_STATE", f"({res.name} belongs to role {res.owner_group!r})", target=res.name
            )
        core = db.groups[CLUSTER_GROUP]
        if res.owner_group != CLUSTER_GROUP:
            runtime.move_resource_to_group(lab, state, res, core)
        db.quorum.witness_resource = res.name
    else:
        db.quorum.witness_resource = None
    if old and old != db.quorum.witness_resource and old in db.resources:
        runtime.move_resource_to_group(lab, state, db.resources[old], db.groups[AVAILABLE_STORAGE])
    quorum.recompute_weights(db, {n for n, v in db.nodes.items() if v.state in ("Up", "Paused")})
    db.touch()
    return db.quorum


def disk_of(state: LabState, res: ClusterResource) -> DiskState:
    key = str(res.private.get("DiskPath", ""))
    disk = state.disks.get(key)
    if disk is None:
        raise ClusterError("RESOURCE_NOT_AVAILABLE", f"({res.name} has no disk {key!r})", target=res.name)
    return disk


# -- roles, groups, resources ----------------------------------------------------------------


def add_generic_service_role(
    lab: Lab,
    state: LabState,
    *,
    service_name: str,
    name: str | None = None,
    static_addresses: list[str] | None = None,
    storage: list[str] | None = None,
    checkpoint_keys: list[str] | None = None,
    startup_parameters: str = "",
    wait: float = DEFAULT_WAIT,
) -> ClusterGroup:
    """Add-ClusterGenericServiceRole: a GenericService group named ``name`` (default
    "<cluster>GenSvc") with a Network Name of that name depending on its IP Address resources
    ("IP Address <addr>", one per static address, each on a client network), the ``storage`` disks
    moved out of Available Storage, and a Generic Service resource named after the service's display
    name, depending on the network name and every disk, carrying the checkpoint keys. The role comes
    online on the first possible node unless ``wait`` is 0 (then Pending)."""
    db = get_cluster(state)
    role = name or f"{db.name}GenSvc"
    if not _NETBIOS.match(role):
        raise ClusterError(
            "INVALID_CLUSTER_NAME",
            f"(Name={role!r}: expected 1 to 15 letters, digits or hyphens)",
            target=role,
        )
    if db.group_by_name(role) is not None or db.resource_by_name(role) is not None:
        raise ClusterError("OBJECT_ALREADY_EXISTS", f"(role {role!r})", target=role)
    nodes_with_service = [
        n
        for n in db.nodes
        if any(s.name.lower() == service_name.lower() for s in state.nodes[n].services.values())
    ]
    if not nodes_with_service:
        raise ClusterError(
            "RESOURCE_NOT_AVAILABLE",
            f"(service {service_name!r} is installed on no node of the cluster)",
            target=service_name,
        )
    service = next(
        s
        for s in state.nodes[nodes_with_service[0]].services.values()
        if s.name.lower() == service_name.lower()
    )
    addresses = [(a, client_network_for(db, a)) for a in (static_addresses or [])]
    if not addresses:
        raise invalid(
            "StaticAddress", static_addresses, "an address on a client network (the lab has no DHCP)"
        )
    disks = [resource(db, s) for s in (storage or [])]
    for disk_res in disks:
        if disk_res.resource_type != PHYSICAL_DISK or disk_res.owner_group != AVAILABLE_STORAGE:
            raise ClusterError(
                "INVALID_STATE",
                f"({disk_res.name} is not an available disk in Available Storage)",
                target=disk_res.name,
            )
    keys = [_checkpoint_key(k) for k in (checkpoint_keys or [])]
    display = service.display_name
    if db.resource_by_name(display) is not None:
        raise ClusterError("OBJECT_ALREADY_EXISTS", f"(resource {display!r})", target=display)
    grp = ClusterGroup(name=role, id=str(uuid.uuid4()), group_type="GenericService")
    db.groups[role] = grp
    ip_names = []
    for address, net in addresses:
        ip = _new_resource(
            db,
            f"IP Address {address}",
            IP_ADDRESS,
            role,
            private={
                "Address": address,
                "SubnetMask": net.address_mask,
                "Network": net.name,
            },
        )
        ip_names.append(ip.name)
    net_name = _new_resource(db, role, NETWORK_NAME, role, private={"Name": role, "DnsName": role.lower()})
    net_name.dependency_expression = " or ".join(f"[{n}]" for n in ip_names)
    for disk_res in disks:
        runtime.move_resource_to_group(lab, state, disk_res, grp)
    svc = _new_resource(
        db,
        display,
        GENERIC_SERVICE,
        role,
        private={
            "ServiceName": service.name,
            "StartupParameters": startup_parameters,
            "UseNetworkName": 1,
        },
    )
    svc.dependency_expression = " and ".join([f"[{role}]", *(f"[{d.name}]" for d in disks)])
    svc.checkpoints = [Checkpoint(key=k) for k in keys]
    grp.persistent_state = 1
    db.touch()
    target = runtime.placement_for(db, grp, exclude=set())
    if target is None:
        grp.state = "Failed"
        return grp
    grp.owner_node = target
    runtime.bring_group_online(lab, state, grp, wait=wait)
    return grp


def add_group(state: LabState, name: str, *, group_type: str = "GenericService") -> ClusterGroup:
    """Add-ClusterGroup: an empty group, Offline, owned by the first Up node."""
    db = get_cluster(state)
    if not name or db.group_by_name(name) is not None:
        raise ClusterError("OBJECT_ALREADY_EXISTS", f"(group {name!r})", target=name)
    grp = ClusterGroup(name=name, id=str(uuid.uuid4()), group_type=group_type)
    grp.owner_node = runtime.placement_for(db, grp, exclude=set())
    db.groups[name] = grp
    db.touch()
    return grp


def remove_group(lab: Lab, state: LabState, name: str, *, remove_resources: bool = False) -> None:
    """Remove-ClusterGroup [-RemoveResources]: the group goes offline and is deleted; without
    ``remove_resources`` it must be empty. Disks go back to Available Storage."""
    db = get_cluster(state)
    grp = group(db, name)
    if grp.group_type in ("Cluster", "AvailableStorage"):
        raise ClusterError("CORE_RESOURCE", f"(group {grp.name} belongs to the cluster)", target=grp.name)
    members = db.resources_of(grp.name)
    if members and not remove_resources:
        raise ClusterError(
            "INVALID_STATE", f"(group {grp.name} still has resources; use -RemoveResources)", target=grp.name
        )
    runtime.take_group_offline(lab, state, grp, wait=DEFAULT_WAIT)
    storage = db.groups[AVAILABLE_STORAGE]
    for res in members:
        if res.resource_type == PHYSICAL_DISK:
            runtime.move_resource_to_group(lab, state, res, storage)
        else:
            del db.resources[res.name]
    for res in db.resources.values():
        if res.owner_group == storage.name:
            res.dependency_expression = dependencies.without(
                res.dependency_expression, {r.name for r in members}
            )
    del db.groups[grp.name]
    db.touch()


def add_resource(state: LabState, name: str, resource_type: str, group_name: str) -> ClusterResource:
    """Add-ClusterResource -Name -ResourceType -Group: a new resource, Offline."""
    db = get_cluster(state)
    if resource_type not in RESOURCE_TYPES:
        raise ClusterError(
            "RESOURCE_TYPE_NOT_FOUND",
            f"(ResourceType={resource_type!r}; the lab runs {', '.join(RESOURCE_TYPES)})",
            target=resource_type,
        )
    grp = group(db, group_name)
    if not name or db.resource_by_name(name) is not None:
        raise ClusterError("OBJECT_ALREADY_EXISTS", f"(resource {name!r})", target=name)
    res = _new_resource(db, name, resource_type, grp.name)
    db.touch()
    return res


def remove_resource(lab: Lab, state: LabState, name: str) -> None:
    """Remove-ClusterResource (after confirmation): it goes offline and is deleted; a core resource
    or the witness cannot be removed, and dependents lose their dependency on it."""
    db = get_cluster(state)
    res = resource(db, name)
    if res.is_core_resource:
        raise ClusterError("CORE_RESOURCE", f"(resource {res.name})", target=res.name)
    if db.quorum.witness_resource == res.name:
        raise ClusterError("QUORUM_RESOURCE", f"(resource {res.name})", target=res.name)
    runtime.take_resource_offline(lab, state, res, wait=DEFAULT_WAIT)
    if res.resource_type == PHYSICAL_DISK:
        disk = disk_of(state, res)
        runtime.release_disk(lab, state, disk)
        disk.is_clustered = False
        disk.owner_node = None
    del db.resources[res.name]
    for other in db.resources.values():
        other.dependency_expression = dependencies.without(other.dependency_expression, {res.name})
    db.touch()


def set_dependency(state: LabState, name: str, expression: str) -> ClusterResource:
    """Set-ClusterResourceDependency: replace the expression ("" clears it). Every named resource
    must exist in the same group, and no cycle may form."""
    db = get_cluster(state)
    res = resource(db, name)
    canonical = dependencies.canonical(expression) if expression.strip() else ""
    for provider in dependencies.names(canonical):
        other = db.resource_by_name(provider)
        if other is None:
            raise ClusterError("RESOURCE_NOT_FOUND", f"(resource {provider!r})", target=provider)
        if other.owner_group != res.owner_group:
            raise ClusterError(
                "INVALID_STATE",
                f"({other.name} is in group {other.owner_group!r}, not {res.owner_group!r})",
                target=other.name,
            )
    if dependencies.creates_cycle(db, res.name, dependencies.names(canonical)):
        raise ClusterError("CIRCULAR_DEPENDENCY", f"({res.name} -> {canonical})", target=res.name)
    res.dependency_expression = canonical
    db.touch()
    return res


def add_dependency(state: LabState, name: str, provider: str) -> ClusterResource:
    """Add-ClusterResourceDependency -Resource -Provider: AND the provider to the expression."""
    db = get_cluster(state)
    res = resource(db, name)
    other = resource(db, provider)
    if other.name.lower() in (n.lower() for n in dependencies.names(res.dependency_expression)):
        raise ClusterError("DEPENDENCY_ALREADY_EXISTS", f"({res.name} -> {other.name})", target=res.name)
    expression = (
        f"[{other.name}]"
        if not res.dependency_expression
        else f"({res.dependency_expression}) and [{other.name}]"
    )
    return set_dependency(state, res.name, expression)


def set_group_owners(state: LabState, name: str, owners: list[str]) -> None:
    """Set-ClusterOwnerNode -Group: the preferred owners, in order (nodes of the cluster)."""
    db = get_cluster(state)
    grp = group(db, name)
    grp.preferred_owners = _owner_list(db, owners)
    db.touch()


def set_resource_owners(state: LabState, name: str, owners: list[str]) -> None:
    """Set-ClusterOwnerNode -Resource: the possible owners (a non-empty set of nodes)."""
    db = get_cluster(state)
    res = resource(db, name)
    chosen = _owner_list(db, owners)
    if not chosen:
        raise invalid("Owners", owners, "at least one node of the cluster")
    res.possible_owners = chosen
    db.touch()


def set_private_parameter(state: LabState, name: str, parameter: str, value: str | int) -> ClusterResource:
    """Set-ClusterParameter: a private property of the resource's type. Changes take effect the next
    time the resource comes online (Windows warns so; the cmdlet writes that warning)."""
    db = get_cluster(state)
    res = resource(db, name)
    known = PRIVATE_DEFAULTS[res.resource_type]
    match = next((k for k in known if k.lower() == parameter.lower()), None)
    if match is None:
        raise invalid("Name", parameter, f"a private property of {res.resource_type}: {', '.join(known)}")
    if isinstance(known[match], int) and not isinstance(value, int):
        raise invalid(match, value, "an integer")
    if res.resource_type == IP_ADDRESS and match == "Address":
        net = client_network_for(db, str(value))
        res.private["Network"] = net.name
        res.private["SubnetMask"] = net.address_mask
    res.private[match] = value
    db.touch()
    return res


def private_parameters(db: ClusterDatabase, name: str) -> dict[str, str | int]:
    """Get-ClusterParameter: every private property of the resource, defaults filled in."""
    res = resource(db, name)
    return {**PRIVATE_DEFAULTS[res.resource_type], **res.private}


def set_group_property(state: LabState, name: str, prop: str, value: int) -> ClusterGroup:
    """(Get-ClusterGroup G).FailoverThreshold = v, and the other SETTABLE_GROUP_PROPERTIES."""
    db = get_cluster(state)
    grp = group(db, name)
    spec = _settable(SETTABLE_GROUP_PROPERTIES, prop, value, "group")
    setattr(grp, spec.field, int(value))
    db.touch()
    return grp


def set_resource_property(state: LabState, name: str, prop: str, value: int) -> ClusterResource:
    """(Get-ClusterResource R).RestartThreshold = v, and the other SETTABLE_RESOURCE_PROPERTIES."""
    db = get_cluster(state)
    res = resource(db, name)
    spec = _settable(SETTABLE_RESOURCE_PROPERTIES, prop, value, "resource")
    setattr(res, spec.field, int(value))
    db.touch()
    return res


def add_checkpoint(state: LabState, name: str, key: str) -> Checkpoint:
    """Add-ClusterCheckpoint -ResourceName -RegistryCheckpoint (relative to HKLM)."""
    db = get_cluster(state)
    res = resource(db, name)
    canonical = _checkpoint_key(key)
    if any(c.key.lower() == canonical.lower() for c in res.checkpoints):
        raise ClusterError(
            "OBJECT_ALREADY_EXISTS", f"(checkpoint {canonical!r} on {res.name})", target=canonical
        )
    added = Checkpoint(key=canonical)
    res.checkpoints.append(added)
    db.touch()
    return added


def remove_checkpoint(state: LabState, name: str, key: str) -> None:
    """Remove-ClusterCheckpoint -ResourceName -RegistryCheckpoint."""
    db = get_cluster(state)
    res = resource(db, name)
    kept = [c for c in res.checkpoints if c.key.lower() != _checkpoint_key(key).lower()]
    if len(kept) == len(res.checkpoints):
        raise ClusterError("RESOURCE_NOT_FOUND", f"(checkpoint {key!r} on {res.name})", target=key)
    res.checkpoints = kept
    db.touch()


def checkpoints(db: ClusterDatabase, resource_name: str | None = None) -> list[tuple[str, Checkpoint]]:
    """Get-ClusterCheckpoint: (resource name, checkpoint) pairs."""
    chosen = [resource(db, resource_name)] if resource_name else list(db.resources.values())
    return [(r.name, c) for r in chosen for c in r.checkpoints]


# -- operations ------------------------------------------------------------------------------


def start_group(lab: Lab, state: LabState, name: str, *, wait: float = DEFAULT_WAIT) -> ClusterGroup:
    """Start-ClusterGroup [-Wait]: every resource online, bottom-up, on the owner (or the first
    possible node when the owner is down). Returns the group Online, Failed, or Pending (wait 0)."""
    db = get_cluster(state)
    grp = group(db, name)
    runtime.require_quorum(db)
    grp.persistent_state = 1
    if grp.state == "Failed":
        grp.failovers.clear()
    if grp.owner_node is None or db.nodes[grp.owner_node].state not in ("Up", "Paused"):
        target = runtime.placement_for(db, grp, exclude=set())
        if target is None:
            raise ClusterError("HOST_NODE_NOT_AVAILABLE", f"(role {grp.name})", target=grp.name)
        grp.owner_node = target
    runtime.bring_group_online(lab, state, grp, wait=wait)
    return grp


def stop_group(lab: Lab, state: LabState, name: str, *, wait: float = DEFAULT_WAIT) -> ClusterGroup:
    """Stop-ClusterGroup [-Wait]: every resource offline, top-down; the cluster keeps it offline."""
    db = get_cluster(state)
    grp = group(db, name)
    runtime.require_quorum(db)
    grp.persistent_state = 0
    runtime.take_group_offline(lab, state, grp, wait=wait)
    return grp


def move_group(
    lab: Lab, state: LabState, name: str, *, node_name: str | None = None, wait: float = DEFAULT_WAIT
) -> ClusterGroup:
    """Move-ClusterGroup [-Node] [-Wait]: offline here, online on ``node_name`` (default: the best
    other node by preferred owners). The target must be Up and a possible owner of every resource."""
    db = get_cluster(state)
    grp = group(db, name)
    runtime.require_quorum(db)
    if node_name is None:
        target = runtime.placement_for(db, grp, exclude={grp.owner_node} if grp.owner_node else set())
        if target is None:
            raise ClusterError("HOST_NODE_NOT_AVAILABLE", f"(role {grp.name})", target=grp.name)
    else:
        target = node(db, node_name).name
        if db.nodes[target].state != "Up" or not runtime.can_host(db, grp, target):
            raise ClusterError(
                "HOST_NODE_NOT_GROUP_OWNER", f"(role {grp.name}, node {target})", target=grp.name
            )
    runtime.move_group(lab, state, grp, target, wait=wait)
    return grp


def start_resource(lab: Lab, state: LabState, name: str, *, wait: float = DEFAULT_WAIT) -> ClusterResource:
    """Start-ClusterResource [-Wait]: the resource and, first, what it depends on come online on
    the group's owner."""
    db = get_cluster(state)
    res = resource(db, name)
    runtime.require_quorum(db)
    runtime.bring_resource_online(lab, state, res, wait=wait)
    return res


def stop_resource(lab: Lab, state: LabState, name: str, *, wait: float = DEFAULT_WAIT) -> ClusterResource:
    """Stop-ClusterResource [-Wait]: its dependents go offline first, then the resource."""
    db = get_cluster(state)
    res = resource(db, name)
    runtime.require_quorum(db)
    if res.is_core_resource:
        raise ClusterError("CORE_RESOURCE", f"(resource {res.name})", target=res.name)
    runtime.take_resource_offline(lab, state, res, wait=wait)
    return res


def fail_resource(lab: Lab, state: LabState, name: str) -> ClusterResource:
    """Test-ClusterResourceFailure: the resource is reported failed, and the owner's cluster
    service applies its restart and failover policies as for a real failure."""
    db = get_cluster(state)
    res = resource(db, name)
    runtime.require_quorum(db)
    if res.state != "Online":
        raise ClusterError("RESOURCE_NOT_ONLINE", f"(resource {res.name} is {res.state})", target=res.name)
    runtime.simulate_failure(lab, state, res)
    return res


# -- faults (the wsfclab command) --------------------------------------------------------------


def isolate(state: LabState, node_name: str, network_name: str | None = None) -> Isolation:
    """Cut ``node_name`` off from its peers on one cluster network (or all of them)."""
    db = get_cluster(state)
    member = node(db, node_name)
    net = network(db, network_name).name if network_name else None
    cut = Isolation(node=member.name, network=net)
    if not any(i.node == cut.node and i.network == cut.network for i in db.isolations):
        db.isolations.append(cut)
    db.touch()
    return cut


def heal(state: LabState, node_name: str, network_name: str | None = None) -> list[Isolation]:
    """Undo ``isolate`` for the node on that network (all of its cuts when ``network_name`` is None)."""
    db = get_cluster(state)
    member = node(db, node_name)
    net = network(db, network_name).name if network_name else None
    healed = [i for i in db.isolations if i.node == member.name and (net is None or i.network == net)]
    db.isolations = [i for i in db.isolations if i not in healed]
    db.touch()
    return healed


# -- events and the cluster log --------------------------------------------------------------


def cluster_events(
    lab: Lab, *, node_name: str | None = None, since: float | None = None
) -> list[events.Event]:
    """The events the cluster services recorded (System log, source FailoverClustering), oldest first."""
    return events.read(lab, node=node_name, since=since)


# -- planning helpers (pure) -----------------------------------------------------------------


class NetworkPlan:
    def __init__(self, networks: list[ClusterNetwork], addresses: list[tuple[str, ClusterNetwork]]) -> None:
        self.networks = networks
        self.addresses = addresses


def plan_networks(members: list[NodeState], static: list[str], ignore: list[str]) -> NetworkPlan:
    """One cluster network per IPv4 subnet of the nodes' connected NICs. A subnet with a default
    gateway is a client network (ClusterAndClient) and needs a static address or -IgnoreNetwork; one
    without a gateway is cluster-only (Cluster) and gets no address ([WSD] the lab guide cites the
    rule). Each static address must fall in a client network."""
    subnets: dict[ipaddress.IPv4Network, bool] = {}
    for member in members:
        for nic in member.nics:
            if nic.status != "Up":
                continue
            for addr in nic.addresses:
                interface = ipaddress.ip_interface(f"{addr.ip}/{addr.prefix_length}")
                if interface.version != 4 or interface.ip.is_link_local:
                    continue
                subnet = ipaddress.IPv4Network(interface.network)
                subnets[subnet] = subnets.get(subnet, False) or nic.gateway is not None
    ignored = set()
    for text in ignore:
        try:
            ignored.add(ipaddress.IPv4Network(text, strict=False))
        except ValueError:
            raise invalid("IgnoreNetwork", text, "an IPv4 network as address/prefix (10.0.9.0/24)") from None
    networks = []
    for index, (subnet, has_gateway) in enumerate(subnets.items(), start=1):
        networks.append(
            ClusterNetwork(
                name=f"Cluster Network {index}",
                id=str(uuid.uuid4()),
                address=str(subnet.network_address),
                address_mask=str(subnet.netmask),
                prefix_length=subnet.prefixlen,
                role="ClusterAndClient" if has_gateway else "Cluster",
            )
        )
    addresses: list[tuple[str, ClusterNetwork]] = []
    for text in static:
        try:
            ip = ipaddress.IPv4Address(text.split("/")[0])
        except ValueError:
            raise invalid("StaticAddress", text, "an IPv4 address") from None
        net = next((n for n in networks if ip in _subnet(n) and n.role == "ClusterAndClient"), None)
        if net is None:
            raise ClusterError(
                "NETWORK_NOT_FOUND_FOR_IP",
                f"(StaticAddress {text}: the client networks are {_client_networks(networks)})",
                target=text,
            )
        addresses.append((str(ip), net))
    for net in networks:
        if net.role != "ClusterAndClient":
            continue
        covered = any(a[1] is net for a in addresses) or _subnet(net) in ignored
        if not covered:
            raise invalid(
                "StaticAddress",
                static,
                f"an address for client network {net.address}/{net.prefix_length}, "
                "or that network in -IgnoreNetwork",
            )
    if not addresses:
        raise invalid("StaticAddress", static, "an address on at least one client network")
    return NetworkPlan(networks, addresses)


def interfaces_of(member: NodeState, networks: list[ClusterNetwork]) -> list[NetworkInterface]:
    found = []
    for nic in member.nics:
        for addr in nic.addresses:
            ip = ipaddress.ip_address(addr.ip)
            net = next((n for n in networks if ip.version == 4 and ip in _subnet(n)), None)
            if net is not None:
                found.append(
                    NetworkInterface(
                        name=f"{member.name} - {nic.name}",
                        node=member.name,
                        network=net.name,
                        adapter=nic.name,
                        address=addr.ip,
                    )
                )
    return found


def client_network_for(db: ClusterDatabase, address: str) -> ClusterNetwork:
    """The client network an IP Address resource's address falls in (event 1223 on Windows)."""
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        raise invalid("Address", address, "an IPv4 address") from None
    for net in db.networks.values():
        if ip in _subnet(net) and NETWORK_ROLE_VALUES[net.role] & 2:
            return net
    raise ClusterError(
        "NETWORK_NOT_FOUND_FOR_IP",
        f"({address} is on no client network; client networks: "
        f"{_client_networks(list(db.networks.values()))})",
        target=address,
    )


def _client_networks(networks: list[ClusterNetwork]) -> str:
    found = [f"{n.address}/{n.prefix_length}" for n in networks if NETWORK_ROLE_VALUES[n.role] & 2]
    return ", ".join(found) or "none"


def _subnet(net: ClusterNetwork) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{net.address}/{net.prefix_length}")


def _network_role(value: str | int) -> str:
    by_number = {v: k for k, v in NETWORK_ROLE_VALUES.items()}
    if isinstance(value, int) and value in by_number:
        return by_number[value]
    if isinstance(value, str):
        match = next((k for k in NETWORK_ROLE_VALUES if k.lower() == value.lower()), None)
        if match is not None:
            return match
        if value.isdigit() and int(value) in by_number:
            return by_number[int(value)]
    raise invalid("Role", value, "0 (None), 1 (Cluster) or 3 (ClusterAndClient)")


def _settable(table: dict[str, Settable], name: str, value: object, what: str) -> Settable:
    spec = table.get(name)
    if spec is None:
        raise invalid("property", name, f"a settable {what} property: {', '.join(table)}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(name, value, "an integer")
    if not spec.minimum <= value <= spec.maximum:
        raise invalid(name, value, f"a value from {spec.minimum} to {spec.maximum}")
    return spec


def _owner_list(db: ClusterDatabase, owners: list[str]) -> list[str]:
    chosen: list[str] = []
    for name in owners:
        member = node(db, name)
        if member.name not in chosen:
            chosen.append(member.name)
    return chosen


def _checkpoint_key(key: str) -> str:
    text = key.strip().strip("\\")
    for prefix in ("HKEY_LOCAL_MACHINE\\", "HKLM:\\", "HKLM\\"):
        if text.upper().startswith(prefix):
            raise invalid(
                "RegistryCheckpoint", key, "a key relative to HKEY_LOCAL_MACHINE (SOFTWARE\\Vendor\\App)"
            )
    if not text:
        raise invalid(
            "RegistryCheckpoint", key, "a key relative to HKEY_LOCAL_MACHINE (SOFTWARE\\Vendor\\App)"
        )
    return text


def _lab_node(state: LabState, name: str) -> NodeState:
    host = state.nodes.get(name.split(".", maxsplit=1)[0].upper())
    if host is None:
        raise ClusterError(
            "NODE_NOT_FOUND",
            f"(no computer {name!r}; the lab's nodes are {', '.join(sorted(state.nodes))})",
            target=name,
        )
    return host


def _check_can_join(host: NodeState) -> None:
    if not host.running:
        raise ClusterError("HOST_NODE_NOT_AVAILABLE", f"({host.name} is not running)", target=host.name)
    feature = host.features.get("Failover-Clustering")
    if feature is None or not feature.installed or "ClusSvc" not in host.services:
        raise ClusterError(
            "SERVICE_NOT_RUNNING",
            f"({host.name}: the Failover-Clustering feature is not installed; install it first)",
            target=host.name,
        )


def _new_resource(
    db: ClusterDatabase,
    name: str,
    resource_type: str,
    group_name: str,
    *,
    core: bool = False,
    private: dict[str, str | int] | None = None,
) -> ClusterResource:
    res = ClusterResource(
        name=name,
        id=str(uuid.uuid4()),
        resource_type=resource_type,
        owner_group=group_name,
        is_core_resource=core,
        private=dict(private or {}),
    )
    db.resources[name] = res
    return res


def _cluster_disk(db: ClusterDatabase, disk: DiskState) -> ClusterResource:
    number = db.next_disk_number
    db.next_disk_number += 1
    res = _new_resource(
        db,
        f"Cluster Disk {number}",
        PHYSICAL_DISK,
        AVAILABLE_STORAGE,
        private={
            "DiskIdGuid": disk.guid or "",
            "DiskSignature": disk.signature or 0,
            "DiskPath": disk.key,
        },
    )
    disk.is_clustered = True
    return res

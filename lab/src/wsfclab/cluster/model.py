"""What one node's cluster service decides at each step (pure): ``decide(db, observation) -> effects``.

The cluster service (``wsfclab.cluster.service``) observes: which peers it heard within the
detection interval (SameSubnetDelay x SameSubnetThreshold), whether the witness vote is in its
partition (its own reservation or a reachable peer's), which of its Generic Service processes have
died. ``decide`` updates the cluster database (node states, dynamic weights, group owners, failure
and failover counts) and returns the effects the service must carry out: events to log, groups to
bring online or take offline here, peers to wake. It never touches a process, a file or a socket,
so every rule is tested without them.

The rules, in order ([WSD] understand-quorum, [MSCS] failover, [EVT]):
1. Quorum. The partition is this node and the peers it hears. Without a majority of votes the node
   logs 1177, takes every role it runs offline and stays out of the cluster (State Down) until its
   partition has quorum again; ``Start-ClusterNode -ForceQuorum`` overrides the count once.
2. Membership (the partition's leader, the member with the lowest id): a node that fell silent is
   removed (State Down, event 1135), dynamic weights are recomputed, and its roles fail over to the
   next preferred possible owner, within FailoverThreshold, else they are left Failed (1254).
   Peers that have missed all but one heartbeat are removed in the same regroup, so nodes lost at
   the same moment count as one simultaneous loss.
3. Roles this node owns: a failed resource restarts here after RestartDelay while RestartThreshold
   allows, then the group fails over (RestartAction 2) or stays failed; a group the cluster keeps
   online whose resources are not online is brought online (after a failover, a move with -Wait 0,
   a restart).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wsfclab.cluster import failover, quorum
from wsfclab.cluster.database import GENERIC_SERVICE, ClusterDatabase, ClusterGroup


@dataclass(frozen=True)
class Observation:
    node: str
    now: float  # wall-clock seconds, as the database's times
    reachable: frozenset[str]  # peers heard within the detection interval
    fading: frozenset[str] = frozenset()  # reachable peers silent for all but the last heartbeat
    joining: bool = False  # the service has not yet listened for a whole detection interval
    witness_held: bool = False  # the witness vote is in this node's partition
    dead_services: frozenset[str] = frozenset()  # Generic Service resources online here whose process died
    active: bool = True  # the node was part of the cluster (with quorum) at its previous step
    heard_on: dict[str, frozenset[str]] | None = None  # network -> peers heard on it (None: not observed)


@dataclass(frozen=True)
class Log:
    event_id: int
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OnlineGroup:
    group: str


@dataclass(frozen=True)
class OfflineGroup:
    group: str


@dataclass(frozen=True)
class TerminateResource:
    """A failed resource (and what depends on it) is taken offline here, keeping its Failed state."""

    resource: str


@dataclass(frozen=True)
class OfflineEverything:
    """Quorum lost: every role this node runs goes offline and every reservation is dropped."""


@dataclass(frozen=True)
class Poke:
    node: str


@dataclass(frozen=True)
class SetActive:
    active: bool


type Effect = Log | OnlineGroup | OfflineGroup | TerminateResource | OfflineEverything | Poke | SetActive

LIVE_STATES = ("Up", "Paused", "Joining")  # a node in these states is expected to be heard
MEMBER_STATES = ("Up", "Paused")  # a node in these states is removed when it falls silent


def partition_of(db: ClusterDatabase, obs: Observation) -> set[str]:
    """This node and the peers it hears; when someone is being lost, the fading peers go with them."""
    members = set(obs.reachable) & set(db.nodes)
    losing = any(n not in members and n != obs.node and db.nodes[n].state in MEMBER_STATES for n in db.nodes)
    if losing:
        members -= set(obs.fading)
    return members | {obs.node}


def decide(db: ClusterDatabase, obs: Observation) -> list[Effect]:
    me = db.nodes.get(obs.node)
    if me is None or obs.joining:
        return []
    partition = partition_of(db, obs)
    if not (me.force_quorum or quorum.has_quorum(db, partition, obs.witness_held)):
        return _lose_quorum(db, obs)
    effects: list[Effect] = []
    if not obs.active:
        effects.append(SetActive(True))
    if me.force_quorum:
        quorum.force(db, partition)
        me.force_quorum = False
        db.touch()
    if me.state in ("Down", "Joining"):
        me.state = "Up"
        db.touch()
    leader = min(partition, key=lambda n: int(db.nodes[n].id))
    if leader == obs.node:
        effects += _regroup(db, obs, partition)
    effects += _own_roles(db, obs, partition)
    return effects


def _lose_quorum(db: ClusterDatabase, obs: Observation) -> list[Effect]:
    me = db.nodes[obs.node]
    effects: list[Effect] = []
    if obs.active:
        effects += [Log(1177), OfflineEverything(), SetActive(False)]
    if me.state != "Down":
        me.state = "Down"
        db.touch()
    return effects


def _regroup(db: ClusterDatabase, obs: Observation, partition: set[str]) -> list[Effect]:
    effects: list[Effect] = []
    lost = [n for n, v in db.nodes.items() if n not in partition and v.state in MEMBER_STATES]
    for name in lost:
        db.nodes[name].state = "Down"
        effects.append(Log(1135, {"node": name}))
    before = [(n.dynamic_weight) for n in db.nodes.values()] + [db.quorum.witness_dynamic_weight]
    quorum.recompute_weights(db, partition)
    after = [(n.dynamic_weight) for n in db.nodes.values()] + [db.quorum.witness_dynamic_weight]
    if lost or before != after:
        db.touch()
    up = {n for n in partition if db.nodes[n].state == "Up"}
    for group in db.groups.values():
        owner = group.owner_node
        if owner is not None and owner in partition:
            continue
        effects += _rehome(db, obs, group, up)
    if obs.heard_on is not None:
        _network_states(db, obs, partition, obs.heard_on)
    return effects


def _network_states(
    db: ClusterDatabase, obs: Observation, partition: set[str], heard_on: dict[str, frozenset[str]]
) -> None:
    """Network and interface states as the leader sees them: a network on which some members cannot
    hear each other is Partitioned and their interfaces Unreachable; a network everyone hears on is Up."""
    for network in db.networks.values():
        if network.role == "None":
            continue
        attached = [i for i in db.interfaces if i.network == network.name and i.node in partition]
        peers = {i.node for i in attached} - {obs.node}
        heard = set(heard_on.get(network.name, frozenset())) & peers
        whole = heard == peers
        wanted_network = "Up" if whole else "Partitioned"
        if network.state != wanted_network:
            network.state = wanted_network
            db.touch()
        for interface in attached:
            reachable = whole or (interface.node in heard if interface.node != obs.node else bool(heard))
            wanted = "Up" if reachable else "Unreachable"
            if interface.state != wanted:
                interface.state = wanted
                db.touch()


def _rehome(db: ClusterDatabase, obs: Observation, group: ClusterGroup, up: set[str]) -> list[Effect]:
    """A group whose owner left the cluster (or that has none): fail it over if the cluster keeps it
    online and the policy allows, else give it an owner and leave it offline."""
    leaving = group.owner_node
    for res in db.resources_of(group.name):
        if res.state != "Failed":
            res.state = "Offline"
        res.restart_at = None
    db.touch()
    if group.persistent_state != 1 or group.state == "Failed":
        group.owner_node = failover.first_owner(db, group, up, set()) or leaving
        if group.state != "Failed":
            group.state = "Offline"
        return []
    target = (
        failover.next_owner(db, group, leaving, up) if leaving else failover.first_owner(db, group, up, set())
    )
    if target is None:
        group.state = "Failed"
        return [Log(1205, {"group": group.name})]
    if leaving is not None and not failover.may_fail_over(db, group, obs.now):
        group.state = "Failed"
        return [Log(1254, {"group": group.name})]
    group.owner_node = target
    group.state = "Pending"
    for res in db.resources_of(group.name):
        if res.state != "Failed":
            res.state = "OnlinePending"
    effects: list[Effect] = []
    if leaving is not None:
        effects.append(Log(1641, {"group": group.name, "source": leaving, "target": target}))
    if target == obs.node:
        effects.append(OnlineGroup(group.name))
    else:
        effects.append(Poke(target))
    return effects


def _own_roles(db: ClusterDatabase, obs: Observation, partition: set[str]) -> list[Effect]:
    effects: list[Effect] = []
    up = {n for n in partition if db.nodes[n].state == "Up"}
    for group in list(db.groups.values()):
        if group.owner_node != obs.node:
            continue
        failed = [
            r
            for r in db.resources_of(group.name)
            if r.pending_failure or (r.name in obs.dead_services and r.state == "Online")
        ]
        moved = False
        for res in failed:
            effects += _resource_failed(db, obs, group, res.name, up)
            if group.owner_node != obs.node or group.state == "Failed":
                moved = True
                break
        if moved:
            continue
        members = db.resources_of(group.name)
        effects += _retry_or_fail_back(db, obs, group, up)
        if group.owner_node != obs.node:
            continue
        due = [r for r in members if r.restart_at is not None and obs.now >= r.restart_at]
        for res in due:
            res.restart_at = None
            res.state = "Offline"
            db.touch()
        waiting = any(r.restart_at is not None for r in members)
        wants_online = group.persistent_state == 1 and group.state != "Failed"
        if wants_online and not waiting and any(r.state in ("Offline", "OnlinePending") for r in members):
            effects.append(OnlineGroup(group.name))
    return effects


def _retry_or_fail_back(
    db: ClusterDatabase, obs: Observation, group: ClusterGroup, up: set[str]
) -> list[Effect]:
    """A role left Failed gets one more attempt after RetryPeriodOnFailure; an Online role whose
    AutoFailbackType allows it goes back to a more preferred node that is Up again, within the
    failback window ([MSCS] failover, retryperiodonfailure, autofailbacktype)."""
    members = db.resources_of(group.name)
    if group.state == "Failed" and group.persistent_state == 1:
        failed = [r for r in members if r.state == "Failed" and r.failures]
        if failed and all(obs.now - max(r.failures) >= r.retry_period_on_failure / 1000 for r in failed):
            for res in members:
                res.state = "Offline"
                res.failures = []
            group.state = "Pending"
            db.touch()
            return [OnlineGroup(group.name)]
        return []
    if group.auto_failback_type != 1 or group.state != "Online" or not group.preferred_owners:
        return []
    if group.failback_window_start >= 0 and group.failback_window_end >= 0:
        hour = int(obs.now // 3600 % 24)
        start, end = group.failback_window_start, group.failback_window_end
        if not (start <= hour <= end if start <= end else hour >= start or hour <= end):
            return []
    order = failover.preference_order(db, group)
    better = next(
        (n for n in group.preferred_owners if n == obs.node or failover.qualifies(db, group, n, up)), None
    )
    if better is None or better == obs.node or order.index(better) > order.index(obs.node):
        return []
    group.owner_node = better
    group.state = "Pending"
    for res in members:
        res.state = "OnlinePending"
    db.touch()
    return [
        OfflineGroup(group.name),
        Log(1641, {"group": group.name, "source": obs.node, "target": better}),
        Poke(better),
    ]


def _resource_failed(
    db: ClusterDatabase, obs: Observation, group: ClusterGroup, name: str, up: set[str]
) -> list[Effect]:
    res = db.resources[name]
    died = name in obs.dead_services and not res.pending_failure
    reported = res.pending_failure and res.state == "Online"  # Test-ClusterResourceFailure
    res.pending_failure = False
    res.state = "Failed"
    db.touch()
    effects: list[Effect] = []
    if died or reported:
        effects.append(Log(1069, {"resource": res.name, "type": res.resource_type, "group": group.name}))
    if died and res.resource_type == GENERIC_SERVICE:
        effects.append(Log(1042, {"resource": res.name, "error": "1067"}))
    effects.append(TerminateResource(res.name))
    reaction = failover.on_resource_failure(res, obs.now)
    if reaction is failover.Reaction.RESTART:
        res.restart_at = obs.now + res.restart_delay / 1000
        return effects
    if reaction is failover.Reaction.STAY_FAILED:
        return [*effects, Log(1205, {"group": group.name})]
    target = failover.next_owner(db, group, obs.node, up)
    if target is None:
        return [*effects, Log(1205, {"group": group.name})]
    if not failover.may_fail_over(db, group, obs.now):
        group.state = "Failed"
        return [*effects, Log(1254, {"group": group.name}), OfflineGroup(group.name)]
    res.failures = []  # the count starts again on the next node
    effects += [
        OfflineGroup(group.name),
        Log(1641, {"group": group.name, "source": obs.node, "target": target}),
    ]
    group.owner_node = target
    group.state = "Pending"
    for member in db.resources_of(group.name):
        member.state = "OnlinePending"
        member.restart_at = None
    effects.append(Poke(target))
    return effects

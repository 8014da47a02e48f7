"""Where a role goes and whether it may go (pure): owner choice and the restart/failover policies.

Owner choice ([MSCS] failover; the Clustering blog "Preferred Owners in a Cluster", 2008): the
preferred owners come first in their order, then every other node by id; a node qualifies when it
is Up (not Paused, Down or Joining) and a possible owner of every resource in the group. A failover
goes to the first qualifying node *after* the node it leaves in that list, wrapping around.

Policies ([MSCS] resource-failure, failover; the reference table in the guide):
- a failed resource restarts on the same node while fewer than RestartThreshold failures happened
  within RestartPeriod; RestartAction 0 never restarts, 1 restarts but never fails the group over,
  2 fails the group over once the threshold is passed;
- a group may fail over while fewer than FailoverThreshold failovers happened within FailoverPeriod
  (hours); 0xFFFFFFFF means "nodes - 1". Past it the group is left Failed (event 1254).
"""

from __future__ import annotations

from enum import StrEnum

from wsfclab.cluster.database import FAILOVER_THRESHOLD_AUTO, ClusterDatabase, ClusterGroup, ClusterResource


def preference_order(db: ClusterDatabase, group: ClusterGroup) -> list[str]:
    listed = [n for n in group.preferred_owners if n in db.nodes]
    rest = sorted((n for n in db.nodes if n not in listed), key=lambda n: int(db.nodes[n].id))
    return listed + rest


def can_host(db: ClusterDatabase, group: ClusterGroup, node: str) -> bool:
    return all(not r.possible_owners or node in r.possible_owners for r in db.resources_of(group.name))


def qualifies(db: ClusterDatabase, group: ClusterGroup, node: str, up: set[str]) -> bool:
    member = db.nodes.get(node)
    return member is not None and node in up and member.state == "Up" and can_host(db, group, node)


def first_owner(db: ClusterDatabase, group: ClusterGroup, up: set[str], exclude: set[str]) -> str | None:
    """The most preferred qualifying node (starting a role, draining a node)."""
    return next(
        (n for n in preference_order(db, group) if n not in exclude and qualifies(db, group, n, up)), None
    )


def next_owner(db: ClusterDatabase, group: ClusterGroup, leaving: str, up: set[str]) -> str | None:
    """The failover target: the first qualifying node after ``leaving`` in preference order."""
    order = preference_order(db, group)
    start = order.index(leaving) + 1 if leaving in order else 0
    rotated = order[start:] + order[:start]
    return next((n for n in rotated if n != leaving and qualifies(db, group, n, up)), None)


class Reaction(StrEnum):
    RESTART = "restart"  # restart on the same node after RestartDelay
    FAILOVER = "failover"  # fail the group over
    STAY_FAILED = "stay-failed"  # leave the resource failed where it is


def on_resource_failure(resource: ClusterResource, now: float) -> Reaction:
    """Record a failure of ``resource`` at ``now`` and decide the reaction."""
    period = resource.restart_period / 1000
    recent = [t for t in resource.failures if now - t < period]
    recent.append(now)
    resource.failures = recent
    if resource.restart_action == 0:
        return Reaction.STAY_FAILED
    if len(recent) <= resource.restart_threshold:
        return Reaction.RESTART
    return Reaction.FAILOVER if resource.restart_action == 2 else Reaction.STAY_FAILED


def failover_threshold(db: ClusterDatabase, group: ClusterGroup) -> int:
    if group.failover_threshold == FAILOVER_THRESHOLD_AUTO:
        return max(len(db.nodes) - 1, 0)
    return group.failover_threshold


def may_fail_over(db: ClusterDatabase, group: ClusterGroup, now: float) -> bool:
    """Count a failover of ``group`` at ``now`` if the policy allows it; False means the group has
    exceeded its failover threshold."""
    period = group.failover_period * 3600
    recent = [t for t in group.failovers if now - t < period]
    if len(recent) >= failover_threshold(db, group):
        group.failovers = recent
        return False
    group.failovers = [*recent, now]
    return True

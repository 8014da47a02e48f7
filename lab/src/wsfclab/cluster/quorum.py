"""Quorum arithmetic (pure): node votes, dynamic weights and the witness vote.

[WSD] understand-quorum:
- the cluster runs while the nodes that can talk to each other hold a majority of the votes;
- ``NodeWeight`` is the configured vote, ``DynamicWeight`` the vote the cluster gives it now;
  dynamic quorum removes the votes of nodes that have left (after a *sequential* failure, once the
  survivors have regrouped with quorum) and gives them back when the nodes join again;
- the witness votes only while the node votes are even (``WitnessDynamicWeight``);
- with two nodes and no witness one node's vote is removed, so the cluster survives only the loss
  of the node without a vote. Which node keeps its vote is the cluster's choice on Windows
  (LowerQuorumPriorityNodeID); the lab removes the vote of the node with the highest id.
"""

from __future__ import annotations

from wsfclab.cluster.database import ClusterDatabase


def has_witness(db: ClusterDatabase) -> bool:
    return db.quorum.witness_resource is not None or db.quorum.file_share_witness is not None


def total_votes(db: ClusterDatabase) -> int:
    return sum(n.dynamic_weight for n in db.nodes.values()) + db.quorum.witness_dynamic_weight


def votes_of(db: ClusterDatabase, partition: set[str], witness_held: bool) -> int:
    node_votes = sum(n.dynamic_weight for name, n in db.nodes.items() if name in partition)
    return node_votes + (db.quorum.witness_dynamic_weight if witness_held else 0)


def has_quorum(db: ClusterDatabase, partition: set[str], witness_held: bool) -> bool:
    """Whether the nodes in ``partition`` (which can all talk to each other) hold a majority; the
    witness counts for them when ``witness_held`` (one of them holds its reservation)."""
    if db.quorum.quorum_type == "DiskOnly":
        return witness_held
    total = total_votes(db)
    return total > 0 and 2 * votes_of(db, partition, witness_held) > total


def recompute_weights(db: ClusterDatabase, members: set[str]) -> None:
    """Give votes to the members (the nodes now in the cluster) and take them from the others, as
    dynamic quorum does once the members have regrouped; then decide the witness vote."""
    dynamic = db.properties.dynamic_quorum == 1
    for name, node in db.nodes.items():
        node.dynamic_weight = node.node_weight if (name in members or not dynamic) else 0
    node_votes = sum(n.dynamic_weight for n in db.nodes.values())
    if has_witness(db):
        db.quorum.witness_dynamic_weight = 1 if (node_votes % 2 == 0 or not dynamic) else 0
        return
    db.quorum.witness_dynamic_weight = 0
    if dynamic and node_votes > 0 and node_votes % 2 == 0:
        voters = [n for n in db.nodes.values() if n.dynamic_weight > 0]
        max(voters, key=lambda n: int(n.id)).dynamic_weight = 0


def force(db: ClusterDatabase, members: set[str]) -> None:
    """Start-ClusterNode -ForceQuorum: the members form the cluster whatever their votes; the nodes
    outside lose theirs, so the members hold quorum from now on ([EVT] 1177, ForceQuorum)."""
    dynamic = db.properties.dynamic_quorum
    db.properties.dynamic_quorum = 1
    recompute_weights(db, members)
    db.properties.dynamic_quorum = dynamic
